# shellcheck shell=bash
# sim.sh - checks on sim domains shared by the integration cases, on top of
# lib.sh: where a domain runs, that its guest counts on, that nothing of a
# failed migration is left (no NAME--incoming, no paused copy, no stray
# process). Sourced after lib.sh.

# sim_info HOST DOMAIN KEY: one value of `xlmig sim-info` (empty if none).
sim_info() {
	it_on "$1" xlmig sim-info "$2" 2>/dev/null | sed -n "s/^$3=//p"
}

# sim_names HOST: the names of HOST's domains, one a line.
sim_names() {
	it_on "$1" xlmig list | awk 'NR > 1 { print $1 }'
}

_sim_counter_above() {
	local v
	v=$(sim_info "$1" "$2" counter)
	[ -n "$v" ] && [ "$v" -gt "$3" ]
}

# sim_wait_counter HOST DOMAIN ABOVE SECS: wait until the guest's counter
# on HOST is above ABOVE; print it.
sim_wait_counter() {
	it_wait_until "$4" "the counter of $2 on $1 to pass $3" \
		_sim_counter_above "$1" "$2" "$3"
	sim_info "$1" "$2" counter
}

# sim_expect_running HOST DOMAIN: DOMAIN runs on HOST under that name, its
# guest process alive and its counter going on.
sim_expect_running() {
	local state c
	state=$(sim_info "$1" "$2" state)
	[ "$state" = running ] || it_fail "$2 on $1 is '${state:-absent}', not running"
	c=$(sim_info "$1" "$2" counter)
	sim_wait_counter "$1" "$2" "$c" 10 >/dev/null
}

# sim_expect_only HOST DOMAIN: DOMAIN runs on HOST and on no other host;
# no host has a renamed or half-made copy of it.
sim_expect_only() {
	local h names
	sim_expect_running "$1" "$2"
	for h in $IT_HOSTS; do
		names=$(sim_names "$h")
		case " $(echo $names) " in
		*" $2--incoming "* | *" $2--migratedaway "*)
			it_fail "$h has a leftover copy of $2: $(echo $names)" ;;
		esac
		[ "$h" = "$1" ] && continue
		if printf '%s\n' "$names" | grep -qx "$2"; then
			it_fail "$2 exists on $h as well as on $1"
		fi
	done
}

# sim_expect_no_domains HOST: HOST has no domain at all.
sim_expect_no_domains() {
	local names
	names=$(sim_names "$1")
	[ -z "$names" ] || it_fail "$1 has domains left: $(echo $names)"
}

# sim_procs HOST: "COMM" of each process in HOST's namespace, sorted.
sim_procs() {
	local p
	for p in $(ip netns pids "$(it_ns "$1")"); do
		cat "/proc/$p/comm" 2>/dev/null
	done | sort
}

_sim_procs_are() {
	[ "$(sim_procs "$1" | tr '\n' ' ')" = "$2" ]
}

# sim_expect_procs HOST "COMM COMM ": HOST's processes settle (within 10 s)
# to exactly that sorted list, e.g. "sshd xenstored " for an empty host.
sim_expect_procs() {
	_sim_procs_are "$1" "$2" && return 0
	sleep 0.2
	local t=0
	while ! _sim_procs_are "$1" "$2"; do
		t=$((t + 1))
		[ "$t" -lt 50 ] ||
			it_fail "processes on $1: '$(sim_procs "$1" | tr '\n' ' ')', expected '$2'"
		sleep 0.2
	done
}

# sim_kill HOST SIGNAL PATTERN: send SIGNAL to HOST's processes whose
# command line matches the extended regex PATTERN; fails if none did.
sim_kill() {
	local p n=0
	for p in $(ip netns pids "$(it_ns "$1")"); do
		if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -Eq -- "$3"; then
			kill -"$2" "$p" 2>/dev/null && n=$((n + 1))
		fi
	done
	[ "$n" -gt 0 ] || it_fail "no process on $1 matches '$3'"
	it_log "sent SIG$2 to $n process(es) on $1 matching '$3'"
}

# sim_shape HOST RATE: limit what HOST sends to RATE (tc syntax, "200mbit").
sim_shape() {
	ip netns exec "$(it_ns "$1")" tc qdisc replace dev eth0 root tbf \
		rate "$2" burst 256kb latency 100ms
}

# sim_jobs HOST: how many jobs HOST lists.
sim_jobs() {
	it_on "$1" xlmig jobs --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))'
}

# sim_where NAME: the host of IT_HOSTS that has NAME ("" if none); fails
# if more than one has it.
sim_where() {
	local h found=
	for h in $IT_HOSTS; do
		if sim_names "$h" | grep -qx "$1"; then
			[ -z "$found" ] || it_fail "$1 exists on both $found and $h"
			found=$h
		fi
	done
	echo "$found"
}
