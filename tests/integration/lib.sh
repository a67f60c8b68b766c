# shellcheck shell=bash
# lib.sh - scaffolding of the xlmig integration tests: sim hosts A, B (and
# C), each in its own network namespace behind one bridge, each with its
# own real sshd, so that `xlmig migrate` runs `ssh HOST xlmig
# migrate-receive` as it would between real hosts. Sourced by the test
# cases (t-*.sh) and by bench/lib-net.sh.
#
# A case:
#   . "$(dirname "$0")/lib.sh"
#   it_begin NAME LIMIT_S         # result line, teardown, time limit
#   it_setup 2                    # hosts A and B
#   it_on A xlmig sim-create --memory 64 vm1 >/dev/null
#   it_on A xlmig migrate -s "$IT_SSH" vm1 "$(it_ip B)"
#   ...                           # it_fail REASON; a failing command fails
#
# A case prints exactly one line on stdout: "PASS: NAME (T s)",
# "FAIL: NAME: REASON" or "SKIP: NAME: REASON", and exits 0, 1 or 77
# (skip: only without root or network namespaces, and never under CI=true).
# Its log (it_log) goes to $IT_DIR/log, and to stderr as well if
# IT_VERBOSE=1; a failing case prints it, and the sshd logs, on stderr.
#
# Per run (IT_DIR, a mktemp -d whose suffix is the run id IT_ID):
#   log, reason            the case's log, the first failure's reason
#   id_ed25519[.pub]       root's key, authorized on every host
#   known_hosts            the hosts' keys by address
#   ssh_config             the client's config (IT_SSHCFG, IT_SSH)
#   A/, B/, C/             per host: sim/ (XLMIG_SIM_HOST), home/ (HOME of
#                          ssh sessions), sshd_config, host_ed25519_key,
#                          authorized_keys, sshd.pid, sshd.log
# Network: namespaces xlmig-it-ID-a, -b, -c, each with lo and eth0
# (192.0.2.1, .2, .3/24), whose veth peers are ports of the bridge br0 in
# the namespace xlmig-it-ID-sw. Nothing is made in the root namespace.
#
# Environment of a host (it_on locally, SetEnv in its sshd's sessions):
# XLMIG_BACKEND=sim, XLMIG_SIM_HOST, XLMIG_SIMGUEST, XLMIG_XSSHIM,
# XLMIG_STATE_DIR (journals), XLMIG_LOG_DIR (monitors, refusals, hookd),
# XLMIG_CHECKS_DIR, XLMIG_HOOKS_DIR (checks.d/, hooks.d/: absent unless a
# case makes them) and
# XLMIG_CONF (A/xlmig.conf, absent unless a case writes it) in A/, and PATH
# with the build tree's tools/ first; sessions also get HOME=A/home (see
# _it_sshd_config).
#
# Public: it_begin, it_setup, it_on, it_ip, it_ns, it_host_dir, it_sim_dir,
# it_on_teardown,
# it_sshd_stop, it_sshd_start, it_wait_until, it_log, it_print, it_fail,
# it_skip, it_teardown, it_check_clean; variables IT_DIR, IT_ID, IT_HOSTS,
# IT_SSHCFG, IT_SSH, IT_SRCDIR, IT_BUILDDIR.
# Tunables: IT_SIM (1: sim-host-create/-destroy each host), IT_CMD_TIMEOUT
# (60 s, it_on), IT_TERM_WAIT (3 s, SIGTERM to SIGKILL in teardown),
# IT_VERBOSE (0).

: "${IT_SIM:=1}" "${IT_CMD_TIMEOUT:=60}" "${IT_TERM_WAIT:=3}" "${IT_VERBOSE:=0}"
# shellcheck disable=SC2034 # for the cases
IT_SRCDIR=$(cd "${top_srcdir:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)
IT_BUILDDIR=$(cd "${top_builddir:-.}" && pwd)
IT_HOSTS=
IT_DIR=
IT_ID=
IT_NAME=
IT_SSHCFG=
IT_SSH=
IT_ROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
declare -gA _it_sshd_bg=()

# --- log and result -----------------------------------------------------------

# it_log MSG...: add MSG to the case's log, prefixed with the seconds
# since it_begin.
it_log() {
	local us=$((${EPOCHREALTIME/./} - ${_it_t0_us:-${EPOCHREALTIME/./}}))
	local line
	line=$(printf '[%3d.%ds] %s' $((us / 1000000)) $((us / 100000 % 10)) "$*")
	if [ -n "$IT_DIR" ] && [ -d "$IT_DIR" ]; then
		printf '%s\n' "$line" >>"$IT_DIR/log"
		[ "$IT_VERBOSE" != 1 ] || printf '%s\n' "$line" >&2
	else
		printf '%s\n' "$line" >&2
	fi
}

# it_print MSG...: print MSG on the case's stdout (benchmarks; a test
# case prints nothing there but its result line).
it_print() {
	printf '%s\n' "$*" >&"${_it_out:-1}"
}

# _it_pid_gone PID: PID has exited. A zombie counts as gone: detached
# processes (sshd, the watchdog) are reaped by PID 1, which may take its
# time (about 1.5 s on the project machines).
_it_pid_gone() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
	stat=${stat##*) }
	[ "${stat%% *}" = Z ]
}

# _it_children PID: the PIDs of PID's children, one a line.
_it_children() {
	local f stat
	for f in /proc/[0-9]*/stat; do
		{ read -r stat <"$f"; } 2>/dev/null || continue
		stat=${stat##*) }
		stat=${stat#* }
		[ "${stat%% *}" != "$1" ] || { f=${f%/stat}; echo "${f#/proc/}"; }
	done
}

# Remember REASON as the case's failure unless one is known already
# (a file, so that it also works from $(...) subshells).
_it_note_reason() {
	[ -n "${_it_reason:-}" ] || _it_reason="$*"
	if [ -n "$IT_DIR" ] && [ -d "$IT_DIR" ] && [ ! -s "$IT_DIR/reason" ]; then
		printf '%s\n' "$*" >"$IT_DIR/reason"
	fi
}

# it_fail REASON...: end the case as failed with REASON.
it_fail() {
	_it_note_reason "$*"
	it_log "FAILED: $*"
	exit 1
}

# it_skip REASON...: end the case as skipped (exit 77). Under CI=true a
# skip is a failure: CI runs as root with network namespaces, so a skip
# there means lost coverage.
it_skip() {
	if [ "${CI:-}" = true ]; then
		it_fail "would skip under CI: $*"
	fi
	_it_skip_reason="$*"
	exit 77
}

# ERR trap: note the case file's line that failed (the innermost frame
# in the case file) as the reason, unless it_fail gave one.
_it_err_trap() {
	local status=$1 i line=${BASH_LINENO[0]} text
	for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
		if [ "${BASH_SOURCE[i]}" = "$0" ]; then
			line=${BASH_LINENO[i - 1]}
			break
		fi
	done
	text=$(sed -n "${line}{s/^[[:space:]]*//;p}" "$0" 2>/dev/null) || text=
	_it_note_reason "line $line: ${text:-$BASH_COMMAND} (status $status)"
}

_it_on_signal() {
	if [ -n "$IT_DIR" ] && [ -e "$IT_DIR/timed-out" ]; then
		_it_note_reason "timed out after $IT_LIMIT s"
	else
		_it_note_reason "interrupted by SIG$1"
	fi
	exit 1
}

# it_begin NAME LIMIT_S: start case NAME: strict mode, the run directory,
# and an EXIT trap that tears everything down, checks that nothing is
# left and prints the result line. After LIMIT_S seconds a watchdog stops
# the case (FAIL: timed out). Stdin becomes /dev/null, stdout stderr.
it_begin() {
	IT_NAME=$1
	IT_LIMIT=${2:-120}
	_it_t0_us=${EPOCHREALTIME/./}
	set -eEuo pipefail
	shopt -s inherit_errexit
	exec </dev/null {_it_out}>&1 1>&2
	trap _it_exit EXIT
	trap '_it_err_trap $?' ERR
	trap '_it_on_signal INT' INT
	trap '_it_on_signal TERM' TERM
	trap '_it_on_signal HUP' HUP
	IT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/xlmig-it.XXXXXX")
	IT_ID=${IT_DIR##*.}
	# Paths go unquoted into sshd_config, ssh_config and `xlmig migrate -s`.
	case $IT_DIR$IT_BUILDDIR in
	*[[:space:]\"\'\\]*)
		it_fail "paths with blanks or quotes are not supported: $IT_DIR, $IT_BUILDDIR"
		;;
	esac
	it_log "case $IT_NAME: run $IT_ID in $IT_DIR, build tree $IT_BUILDDIR"
	# Not a job of ours (a bare `wait` in a case must not wait for it);
	# $BASHPID in the arguments of `f &` would be the child's.
	local main=$BASHPID
	_it_watchdog_pid=$(_it_watchdog "$IT_LIMIT" "$main" >&2 & echo $!)
}

# Print the result line and exit with the case's status, after tearing
# down and checking that nothing is left.
_it_exit() {
	local status=$? reason='' dt line i
	trap - ERR EXIT INT TERM HUP
	set +eE
	if [ -n "${_it_watchdog_pid:-}" ] && kill -TERM "$_it_watchdog_pid" 2>/dev/null; then
		# Its trap runs at once only if its `wait` returns: end its sleep.
		# shellcheck disable=SC2046 # PIDs
		kill -TERM $(_it_children "$_it_watchdog_pid") 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			_it_pid_gone "$_it_watchdog_pid" && break
			sleep 0.02
		done
	fi
	if [ -n "$IT_DIR" ] && [ -s "$IT_DIR/reason" ]; then
		reason=$(cat "$IT_DIR/reason")
	else
		reason=${_it_reason:-}
	fi
	case $status in
	0 | 77) ;;
	*) [ -n "$reason" ] || reason="exited with status $status" ;;
	esac
	[ "$status" -eq 0 ] || [ "$status" -eq 77 ] || _it_failed=1
	if ! it_teardown; then
		status=1
		reason="${reason:+$reason; }teardown: $_it_teardown_err"
	fi
	if ! it_check_clean; then
		status=1
		reason="${reason:+$reason; }left behind: $_it_leftovers"
	fi
	dt=$(((${EPOCHREALTIME/./} - _it_t0_us) / 100000))
	case $status in
	0) line="PASS: $IT_NAME ($((dt / 10)).$((dt % 10))s)" ;;
	77) line="SKIP: $IT_NAME: ${_it_skip_reason:-skipped}" ;;
	*)
		line="FAIL: $IT_NAME: $reason"
		status=1
		;;
	esac
	printf '%s\n' "$line" >&"${_it_out:-1}"
	exit "$status"
}

# _it_watchdog LIMIT_S MAIN_PID (in the background): after LIMIT_S, stop
# the case: SIGTERM to it (its trap fails it), and, since a shell runs
# its trap only once its foreground command has returned, to its other
# children and to everything in our namespaces. A case still alive 30 s
# later is killed and torn down from here.
_it_watchdog() {
	local limit=$1 main=$2 sleeper i kids
	trap - ERR
	set +eE
	trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
	sleep "$limit" &
	sleeper=$!
	wait "$sleeper"
	[ ! -d "$IT_DIR" ] || : >"$IT_DIR/timed-out"
	it_log "time limit of $limit s reached: stopping the case"
	kill -TERM "$main" 2>/dev/null
	kids=$(_it_children "$main" | grep -vx "$BASHPID")
	# shellcheck disable=SC2086
	[ -z "$kids" ] || kill -TERM $kids 2>/dev/null
	_it_kill_ns_procs >/dev/null 2>&1
	for ((i = 0; i < 300; i++)); do
		! _it_pid_gone "$main" || exit 0
		sleep 0.1
	done
	kill -KILL "$main" 2>/dev/null
	it_teardown
	printf 'FAIL: %s: timed out after %s s and killed\n' "$IT_NAME" "$limit" >&"${_it_out:-1}"
}

# it_wait_until SECONDS WHAT CMD...: run CMD every 0.05 s until it
# succeeds; fail the case after SECONDS ("timed out waiting for WHAT").
it_wait_until() {
	local secs=$1 what=$2 limit
	limit=$((${EPOCHREALTIME/./} + secs * 1000000))
	shift 2
	until "$@"; do
		[ "${EPOCHREALTIME/./}" -lt "$limit" ] ||
			it_fail "timed out after $secs s waiting for $what"
		sleep 0.05
	done
}

# --- hosts --------------------------------------------------------------------

_it_check_host() {
	case " $IT_HOSTS " in
	*" $1 "*) return 0 ;;
	*) it_fail "unknown host '$1' (hosts: $IT_HOSTS)" ;;
	esac
}

# it_ip HOST: HOST's address (A 192.0.2.1, B .2, C .3).
it_ip() {
	case $1 in
	A) echo 192.0.2.1 ;;
	B) echo 192.0.2.2 ;;
	C) echo 192.0.2.3 ;;
	*) it_fail "unknown host '$1'" ;;
	esac
}

# it_ns HOST: the network namespace of HOST (SW: the switch's).
it_ns() {
	local h=${1,,}
	echo "xlmig-it-$IT_ID-$h"
}

# it_host_dir HOST: HOST's directory in IT_DIR.
it_host_dir() { echo "$IT_DIR/$1"; }

# it_sim_dir HOST: HOST's sim host directory (its XLMIG_SIM_HOST).
it_sim_dir() { echo "$IT_DIR/$1/sim"; }

# Set _it_vars to HOST's variables (NAME=VALUE), PATH excepted.
_it_host_vars() {
	_it_vars=(
		XLMIG_BACKEND=sim
		"XLMIG_SIM_HOST=$(it_sim_dir "$1")"
		"XLMIG_SIMGUEST=$IT_BUILDDIR/tools/xlmig-simguest"
		"XLMIG_XSSHIM=$IT_BUILDDIR/tools/.libs/xlmig-xsshim.so"
		"XLMIG_STATE_DIR=$(it_host_dir "$1")/state"
		"XLMIG_LOG_DIR=$(it_host_dir "$1")/log"
		"XLMIG_CHECKS_DIR=$(it_host_dir "$1")/checks.d"
		"XLMIG_HOOKS_DIR=$(it_host_dir "$1")/hooks.d"
		"XLMIG_CONF=$(it_host_dir "$1")/xlmig.conf"
		"XLMIG_DISK_LINK_DIR=$(it_host_dir "$1")/links"
	)
}

# it_on HOST CMD...: run the program CMD (not a shell function) in HOST's
# namespace with HOST's environment on top of ours (so VAR=x it_on ...
# passes VAR), PATH starting with the build tree's tools/. Killed after
# IT_CMD_TIMEOUT seconds (status 124). Returns CMD's status.
it_on() {
	local h=$1 rc=0
	shift
	_it_check_host "$h"
	_it_host_vars "$h"
	timeout -k 5 "$IT_CMD_TIMEOUT" ip netns exec "$(it_ns "$h")" \
		env "${_it_vars[@]}" "PATH=$IT_BUILDDIR/tools:$PATH" "$@" || rc=$?
	[ "$rc" -ne 124 ] || it_log "it_on $h: '$*' timed out after $IT_CMD_TIMEOUT s"
	return "$rc"
}

# --- setup --------------------------------------------------------------------

# Skip without root or network namespaces; fail without the tools that
# scripts/install-deps installs.
_it_check_system() {
	local tool probe
	[ "$(id -u)" -eq 0 ] || it_skip "needs root (network namespaces)"
	probe=xlmig-it-$IT_ID-probe
	if ! ip netns add "$probe" 2>/dev/null; then
		it_skip "no network namespace support (ip netns add failed)"
	fi
	ip netns del "$probe"
	for tool in /usr/sbin/sshd ssh ssh-keygen ip timeout ping; do
		command -v "$tool" >/dev/null ||
			it_fail "$tool not found (scripts/install-deps installs it)"
	done
	[ -x "$IT_BUILDDIR/tools/xlmig" ] ||
		it_fail "no $IT_BUILDDIR/tools/xlmig: run from the build tree or set top_builddir"
	# Debian's sshd needs its privilege separation directory.
	[ -d /run/sshd ] || mkdir -m 0755 /run/sshd
}

# Root's key, and one host key per host, listed in known_hosts.
_it_keys() {
	local h d
	timeout 10 ssh-keygen -q -t ed25519 -N '' -C "xlmig-it-$IT_ID root" -f "$IT_DIR/id_ed25519"
	: >"$IT_DIR/known_hosts"
	for h in $IT_HOSTS; do
		d=$(it_host_dir "$h")
		mkdir -p "$d/home"
		timeout 10 ssh-keygen -q -t ed25519 -N '' -C "xlmig-it-$IT_ID host $h" \
			-f "$d/host_ed25519_key"
		printf '%s %s\n' "$(it_ip "$h")" "$(cut -d' ' -f1,2 <"$d/host_ed25519_key.pub")" \
			>>"$IT_DIR/known_hosts"
		cp "$IT_DIR/id_ed25519.pub" "$d/authorized_keys"
	done
}

# The client side: everything from files in IT_DIR (-F skips
# /etc/ssh/ssh_config and ~/.ssh/config), nothing asked, nothing learnt.
_it_ssh_config() {
	IT_SSHCFG=$IT_DIR/ssh_config
	# shellcheck disable=SC2034
	IT_SSH="ssh -F $IT_SSHCFG"
	cat >"$IT_SSHCFG" <<EOF
# client config of xlmig integration run $IT_ID (tests/integration/lib.sh)
Host *
	User root
	IdentityFile $IT_DIR/id_ed25519
	IdentitiesOnly yes
	UserKnownHostsFile $IT_DIR/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	CheckHostIP no
	UpdateHostKeys no
	BatchMode yes
	ConnectTimeout 5
	ServerAliveInterval 5
	ServerAliveCountMax 3
	ForwardAgent no
	ForwardX11 no
	ControlMaster no
	ControlPath none
	LogLevel ERROR
EOF
}

# HOST's sshd_config. The session environment comes from SetEnv, which
# sshd applies last, over its own PATH and HOME. HOME is an empty
# directory of ours because Debian's bash sources ~/.bashrc for commands
# run by sshd, and root's ~/.bashrc may rewrite PATH (or print).
_it_sshd_config() {
	local h=$1 d v setenv=
	d=$(it_host_dir "$h")
	_it_host_vars "$h"
	for v in "${_it_vars[@]}" "PATH=$IT_BUILDDIR/tools:$IT_ROOT_PATH" "HOME=$d/home"; do
		setenv="$setenv \"$v\""
	done
	cat >"$d/sshd_config" <<EOF
# sshd of sim host $h, xlmig integration run $IT_ID (tests/integration/lib.sh)
ListenAddress $(it_ip "$h"):22
HostKey $d/host_ed25519_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitUserRC no
PrintMotd no
PrintLastLog no
X11Forwarding no
UseDNS no
LogLevel INFO
AcceptEnv XLMIG_FAULT* XLMIG_CONFIG_DIR
SetEnv$setenv
EOF
}

# The namespaces, the bridge and one veth pair per host.
_it_net_up() {
	local sw h ns
	sw=$(it_ns SW)
	ip netns add "$sw"
	ip -n "$sw" link add br0 type bridge
	ip -n "$sw" link set br0 up
	for h in $IT_HOSTS; do
		ns=$(it_ns "$h")
		ip netns add "$ns"
		ip -n "$sw" link add "p${h,,}" type veth peer name eth0 netns "$ns"
		ip -n "$sw" link set "p${h,,}" master br0 up
		ip -n "$ns" link set lo up
		ip -n "$ns" addr add "$(it_ip "$h")/24" dev eth0
		ip -n "$ns" link set eth0 up
	done
}

_it_sshd_pid() {
	local f pid
	f=$(it_host_dir "$1")/sshd.pid
	[ -s "$f" ] || return 1
	pid=$(cat "$f")
	# A recycled PID would not have our config on its command line.
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
		grep -qF "$(it_host_dir "$1")/sshd_config" || return 1
	echo "$pid"
}

# Start HOST's sshd from a subshell, so that it is no job of the case's
# shell (a bare `wait` in a case must not wait for it).
_it_sshd_launch() {
	local h=$1 d
	d=$(it_host_dir "$h")
	rm -f "$d/sshd.pid"
	_it_sshd_bg[$h]=$(
		ip netns exec "$(it_ns "$h")" /usr/sbin/sshd -D -e -f "$d/sshd_config" \
			</dev/null >>"$d/sshd.log" 2>&1 {_it_out}>&- &
		echo $!
	)
}

# sshd writes its PID file once it listens.
_it_sshd_listening() {
	! _it_pid_gone "${_it_sshd_bg[$1]}" ||
		it_fail "sshd of $1 exited: $(tail -n 3 "$(it_host_dir "$1")/sshd.log" | tr '\n' ' ')"
	_it_sshd_pid "$1" >/dev/null
}

# it_sshd_start HOST: (re)start HOST's sshd; returns once it listens.
it_sshd_start() {
	_it_check_host "$1"
	_it_sshd_launch "$1"
	it_wait_until 10 "sshd of $1 to listen" _it_sshd_listening "$1"
}


# it_sshd_stop HOST: stop HOST's sshd listener (sessions go on): its
# address then refuses connections.
it_sshd_stop() {
	local pid
	_it_check_host "$1"
	pid=$(_it_sshd_pid "$1") || it_fail "sshd of $1 is not running"
	kill -TERM "$pid"
	it_wait_until 10 "sshd of $1 to exit" _it_pid_gone "$pid"
	rm -f "$(it_host_dir "$1")/sshd.pid"
	it_log "sshd of $1 stopped"
}

# it_setup N: make hosts A and B (N=2) or A, B and C (N=3): namespaces,
# network, keys, one sshd each, and (IT_SIM=1) a sim host each.
it_setup() {
	local t0=${EPOCHREALTIME/./} h
	[ -n "$IT_DIR" ] || it_fail "it_setup: call it_begin first"
	case $1 in
	2) IT_HOSTS="A B" ;;
	3) IT_HOSTS="A B C" ;;
	*) it_fail "it_setup: N must be 2 or 3, not '$1'" ;;
	esac
	_it_check_system
	_it_net_up
	_it_keys
	_it_ssh_config
	for h in $IT_HOSTS; do
		_it_sshd_config "$h"
		_it_sshd_launch "$h"
	done
	for h in $IT_HOSTS; do
		it_wait_until 10 "sshd of $h to listen" _it_sshd_listening "$h"
	done
	for h in $IT_HOSTS; do
		if [ "$IT_SIM" = 1 ]; then
			# Output to the log: the detached xenstored must not hold a pipe.
			it_on "$h" xlmig sim-host-create "$(it_sim_dir "$h")" >>"$IT_DIR/log" 2>&1 ||
				it_fail "xlmig sim-host-create on $h failed"
		else
			mkdir -p "$(it_sim_dir "$h")"
		fi
	done
	it_log "hosts $IT_HOSTS up in $(((${EPOCHREALTIME/./} - t0) / 1000)) ms (IT_SIM=$IT_SIM)"
}

# --- teardown -----------------------------------------------------------------

# Our namespaces, one a line.
_it_our_ns() {
	[ -n "$IT_ID" ] || return 0
	ip netns list 2>/dev/null | awk -v p="xlmig-it-$IT_ID-" 'index($1, p) == 1 { print $1 }'
}

_it_ns_pids() {
	local ns
	for ns in $(_it_our_ns); do ip netns pids "$ns" 2>/dev/null; done
}

# "PID(COMM)" for each PID.
_it_describe_pids() {
	local p out=
	for p in "$@"; do out="$out $p($(cat "/proc/$p/comm" 2>/dev/null || echo gone))"; done
	echo "${out# }"
}

# Kill every process in our namespaces: SIGTERM (again to newcomers)
# for IT_TERM_WAIT s, then SIGKILL for 5 s. Prints what survives that
# and fails.
_it_kill_ns_procs() {
	local pids sig=TERM limit
	pids=$(_it_ns_pids)
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	it_log "stopping processes in our namespaces: $(_it_describe_pids $pids)"
	limit=$((${EPOCHREALTIME/./} + IT_TERM_WAIT * 1000000))
	while [ -n "$pids" ]; do
		if [ "${EPOCHREALTIME/./}" -ge "$limit" ]; then
			# shellcheck disable=SC2086
			if [ "$sig" = KILL ]; then
				echo "processes survive SIGKILL: $(_it_describe_pids $pids)"
				return 1
			fi
			# shellcheck disable=SC2086
			it_log "still running after SIGTERM, killing: $(_it_describe_pids $pids)"
			sig=KILL
			limit=$((${EPOCHREALTIME/./} + 5000000))
		fi
		# shellcheck disable=SC2086
		kill -"$sig" $pids 2>/dev/null
		sleep 0.05
		pids=$(_it_ns_pids)
	done
}

# On failure, the case's log and the end of each sshd log, on stderr.
_it_dump_logs() {
	local f
	[ -d "$IT_DIR" ] || return 0
	{
		echo "--- log of $IT_NAME (run $IT_ID):"
		cat "$IT_DIR/log" 2>/dev/null
		for f in "$IT_DIR"/*/sshd.log; do
			[ -s "$f" ] || continue
			echo "--- end of ${f#"$IT_DIR"/}:"
			tail -n 20 "$f"
		done
	} >&2
}

# it_teardown: destroy the sim hosts (IT_SIM=1), kill what runs in our
# namespaces, delete them, remove IT_DIR. Idempotent; also fine after a
# partial it_setup. Fails (reasons in _it_teardown_err) if something
# could not be removed.
it_teardown() {
	local h ns err c errs=()
	for c in "${_it_teardown_cmds[@]}"; do
		eval "$c" >>"$IT_DIR/log" 2>&1 || errs+=("teardown command '$c' failed")
	done
	_it_teardown_cmds=()
	if [ "$IT_SIM" = 1 ] && [ -n "$IT_DIR" ]; then
		for h in $IT_HOSTS; do
			[ -d "$(it_sim_dir "$h")" ] || continue
			IT_CMD_TIMEOUT=20 it_on "$h" xlmig sim-host-destroy "$(it_sim_dir "$h")" \
				>>"$IT_DIR/log" 2>&1 || errs+=("xlmig sim-host-destroy on $h failed")
		done
	fi
	err=$(_it_kill_ns_procs) || errs+=("$err")
	for ns in $(_it_our_ns); do
		ip netns del "$ns" 2>/dev/null || errs+=("cannot delete namespace $ns")
	done
	_it_teardown_err=$(IFS=';'; echo "${errs[*]}")
	for err in "${errs[@]}"; do it_log "teardown: $err"; done
	if [ "${_it_failed:-0}" = 1 ] || [ "${#errs[@]}" -gt 0 ]; then
		_it_dump_logs
	fi
	[ -z "$IT_DIR" ] || rm -rf "$IT_DIR"
	[ "${#errs[@]}" -eq 0 ]
}

# it_on_teardown CMD: run the shell command CMD at teardown, before the
# hosts go (in the order given); a failure fails the case.
_it_teardown_cmds=()
it_on_teardown() { _it_teardown_cmds+=("$1"); }

# PIDs of processes (other than us) whose command line or environment
# names IT_DIR. The pattern goes through stdin: on grep's own command
# line it would find grep.
_it_dir_pids() {
	# shellcheck disable=SC2062 # the globs are files; -f - has the pattern
	printf '%s' "$IT_DIR" |
		grep -lsFf - /proc/[0-9]*/cmdline /proc/[0-9]*/environ |
		awk -F/ -v me=$$ '$3 != me { print $3 }' | sort -un
}

# it_check_clean: fail (return 1, what is left in _it_leftovers) if any
# of our namespaces, processes (in them, or naming IT_DIR), or IT_DIR
# remains.
it_check_clean() {
	local left=() nss pids
	_it_leftovers=
	[ -n "$IT_ID" ] || return 0
	nss=$(_it_our_ns)
	[ -z "$nss" ] || left+=("namespaces $(echo "$nss" | tr '\n' ' ')")
	pids=$( (_it_ns_pids; _it_dir_pids) | sort -un)
	# shellcheck disable=SC2086
	[ -z "$pids" ] || left+=("processes $(_it_describe_pids $pids)")
	[ ! -e "$IT_DIR" ] || left+=("directory $IT_DIR")
	[ "${#left[@]}" -eq 0 ] && return 0
	_it_leftovers=$(IFS=';'; echo "${left[*]}")
	echo "it_check_clean: left behind: $_it_leftovers" >&2
	return 1
}
