# shellcheck shell=bash
# xlmig-lib.sh - checks shared by the xlmig lab tests (t-xlmig-*.sh):
# where a guest runs, that it is neither paused nor renamed, that its
# counter goes on. Sourced by those tests after lab.sh.

# xlmig_state HOST NAME: print the xl state flags of NAME ("-b----").
xlmig_state() {
	lab_sh "$1" "xl list '$2' | awk 'NR == 2 { print \$5 }'" 60
}

# xlmig_expect_running HOST NAME: NAME exists on HOST under exactly that
# name and is not paused, shut down or dying.
xlmig_expect_running() {
	local state
	lab_domain_exists "$1" "$2" || lab_fail "$2 does not exist on $1"
	state=$(xlmig_state "$1" "$2")
	case $state in
	??p* | ???s* | ????c* | *d*) lab_fail "$2 on $1 is in state $state" ;;
	esac
}

# xlmig_wait_running HOST NAME WITHIN_S: wait until NAME exists on HOST and
# is no longer paused (a domain being built is paused until libxl is done).
xlmig_wait_running() {
	local limit=$((SECONDS + $3)) state
	while :; do
		state=$(xlmig_state "$1" "$2" 2>/dev/null) || state=
		case $state in
		'' | ??p* | ???s* | ????c* | *d*) ;;
		*) return 0 ;;
		esac
		[ "$SECONDS" -lt "$limit" ] ||
			lab_fail "$2 on $1 is not running within $3 s (state ${state:-none})"
		sleep 1
	done
}

# xlmig_expect_no_domains HOST WITHIN_S: HOST has no guest domain, waiting
# up to WITHIN_S seconds for a destroy in progress to finish.
xlmig_expect_no_domains() {
	local h=$1 limit=$((SECONDS + $2)) left
	while :; do
		left=$(lab_domains "$h")
		[ -z "$left" ] && return 0
		[ "$SECONDS" -lt "$limit" ] ||
			lab_fail "domains left on $h: $(echo "$left" | tr '\n' ' ')"
		sleep 1
	done
}

# xlmig_expect_only HOST NAME: the only guest domain on HOST is NAME.
xlmig_expect_only() {
	local left
	left=$(lab_domains "$1")
	[ "$left" = "$2" ] ||
		lab_fail "expected only $2 on $1, found: $(echo "$left" | tr '\n' ' ')"
}

# xlmig_expect_counting HOST NAME ABOVE: NAME's counter on HOST passes
# ABOVE and then keeps going; prints the last value seen.
xlmig_expect_counting() {
	local c1 c2
	c1=$(lab_wait_counter "$1" "$2" "$3" 60) ||
		lab_fail "$2's counter on $1 did not pass $3"
	c2=$(lab_wait_counter "$1" "$2" "$c1" 30) ||
		lab_fail "$2's counter on $1 stopped at $c1"
	echo "$c2"
}

# xlmig_wait_domain HOST NAME WITHIN_S: wait until NAME exists on HOST.
xlmig_wait_domain() {
	local limit=$((SECONDS + $3))
	until lab_domain_exists "$1" "$2"; do
		[ "$SECONDS" -lt "$limit" ] ||
			lab_fail "$2 did not appear on $1 within $3 s"
		sleep 1
	done
}

# xlmig_secs MS: milliseconds as seconds with one decimal.
xlmig_secs() {
	printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100))
}

# xlmig_move_a_to_b CMD WHAT: create lab1 on A, run CMD on A (timed) to
# move it to B, then check that it runs on B only and counts on past the
# last value A showed. Logs WHAT's wall time as a RESULT.
xlmig_move_a_to_b() {
	local c0 last_a c1
	lab_guest_create A lab1
	c0=$(xlmig_expect_counting A lab1 -1)
	lab_timed A "$1" 600 || lab_fail "$2 failed"
	xlmig_expect_no_domains A 30
	xlmig_expect_running B lab1
	xlmig_expect_only B lab1
	last_a=$(lab_counter A lab1)
	c1=$(xlmig_expect_counting B lab1 "$last_a")
	lab_log "lab1 counted $c0..$last_a on A, then $c1 on B"
	lab_log "RESULT: $2 $(xlmig_secs "$LAB_ELAPSED_MS") s"
}

# xlmig_json_get JSON EXPR: EXPR (Python, over the parsed JSON as j) of
# JSON, printed.
xlmig_json_get() {
	python3 -c 'import json, sys
j = json.loads(sys.argv[1])
print(eval(sys.argv[2]))' "$1" "$2"
}

# xlmig_sr_list HOST TAG: `xlmig sr-list --json` on HOST; its stderr goes
# to our log (through the share, as TAG.err).
xlmig_sr_list() {
	local err=$2.err rc=0
	lab_sh "$1" "xlmig sr-list --json 2>/share/$err" 60 || rc=$?
	if [ -s "$LAB_RUN_DIR/$1/share/$err" ]; then
		sed "s/^/  $1 sr-list stderr: /" "$LAB_RUN_DIR/$1/share/$err" >&2
	fi
	return "$rc"
}

# xlmig_sr_field JSON NAME FIELD: FIELD of SR NAME in an sr-list --json.
xlmig_sr_field() {
	xlmig_json_get "$1" "[s['$3'] for s in j if s['name'] == '$2'][0]"
}

# xlmig_why FILE: one line saying why a command failed, from its output
# FILE: its first error line, else its last line.
xlmig_why() {
	local l
	l=$(grep -m1 -E '(^| )error' "$1") || l=$(tail -n 1 "$1")
	echo "${l:0:300}"
}

# xlmig_offline_move HOST GUEST ARGS OUT: `xlmig storage-move --offline
# --yes ARGS` on HOST (timed, output to OUT without libxc's progress
# lines, also on stderr); then GUEST runs on HOST only, nowhere else.
xlmig_offline_move() {
	local rc=0
	lab_timed "$1" "xlmig storage-move --offline --yes $3" 600 >"$4" || rc=$?
	grep -v '^xc: progress: ' "$4"
	[ "$rc" -eq 0 ] || lab_fail "xlmig storage-move --offline --yes $3 exited with $rc: $(xlmig_why "$4")"
	xlmig_wait_running "$1" "$2" 60
	xlmig_expect_only "$1" "$2"
	xlmig_expect_no_domains B 10
}

# xlmig_guest_disk HOST GUEST: the last "xlmig-disk K" record number
# GUEST's disk writer printed on HOST (domu/init), 0 if none yet.
xlmig_guest_disk() {
	lab_sh "$1" "f=/var/log/xen/console/guest-$2--incoming.log
[ -e \$f ] || f=/var/log/xen/console/guest-$2.log
grep -a '^xlmig-disk [0-9]' \$f | tail -n 1 | tr -d '\\r' | cut -d' ' -f2" 30 | tail -n 1 | sed 's/^$/0/'
}

# xlmig_wait_guest_disk HOST GUEST ABOVE TIMEOUT_S: wait until GUEST's
# disk writer is past record ABOVE; print its last record number.
xlmig_wait_guest_disk() {
	local limit=$((SECONDS + $4)) k
	while :; do
		k=$(xlmig_guest_disk "$1" "$2") || k=0
		if [ "$k" -gt "$3" ]; then
			echo "$k"
			return 0
		fi
		[ "$SECONDS" -lt "$limit" ] || lab_fail "$2's disk writer on $1 did not pass record $3 within $4 s (at $k)"
		sleep 2
	done
}

# xlmig_guest_disk_errors HOST GUEST: fail if GUEST's console on HOST
# shows a failed disk write or read (the writer's own report, or the
# guest kernel's I/O errors).
xlmig_guest_disk_errors() {
	local e
	e=$(lab_sh "$1" "cat /var/log/xen/console/guest-$2*.log 2>/dev/null |
grep -a -E 'xlmig-disk-error|I/O error|blk_update_request|Buffer I/O|blkfront.*(error|fail)' | head -n 3" 30) || true
	[ -z "$e" ] || lab_fail "$2's console on $1 shows disk errors: $(paste -sd ' ' <<<"$e")"
}

# xlmig_disk_log_check HOST GUEST IMAGE: with GUEST paused on HOST, check
# its disk log in IMAGE (a file or device, read in HOST's dom0): every
# record of the last 4096 the writer made is in its block, none is torn,
# and the newest is at least the last one the guest printed.  A record
# is a line padded with NULs to its 4 KiB block: with the NULs gone, line
# N is block N-1 as long as no block of the log is empty, and an empty
# one (a lost write) shifts the lines after it, which the checks catch.
# Prints
# "N records, newest K".  GUEST is unpaused again.
xlmig_disk_log_check() {
	local out printed n newest bad blocks
	printed=$(xlmig_guest_disk "$1" "$2")
	# Only the blocks written so far (all 4096 once the ring has wrapped),
	# with room for the records made after the last print: TCG is slow.
	blocks=$((printed + 1024))
	[ "$blocks" -le 4096 ] || blocks=4096
	out=$(lab_sh "$1" "xl pause $2 && sync && sleep 1
head -c $((blocks * 4096)) '$3' | tr -d '\\000' | awk '
{ if (\$1 == \"xlmig-rec\") { if (\$2 % 4096 != NR - 1) bad++; k[NR - 1] = \$2; if (\$2 > m) m = \$2; n++ } }
END {
	lo = m - 4095; if (lo < 0) lo = 0
	for (r = lo; r <= m; r++) if (k[r % 4096] != r) miss++
	print n + 0, m + 0, bad + 0, miss + 0
}'
rc=\$?; xl unpause $2; exit \$rc" 120) || lab_fail "cannot read $3 on $1"
	read -r n newest bad miss <<<"$out"
	[ "$bad" -eq 0 ] || lab_fail "$3: $bad records of $2's disk log are in the wrong block"
	[ "$miss" -eq 0 ] || lab_fail "$3: $miss of $2's last 4096 disk records (up to $newest) are missing: writes lost"
	[ "$newest" -ge "$printed" ] || lab_fail "$3: newest record $newest, but $2 printed $printed: writes lost"
	[ "$blocks" -eq 4096 ] || [ "$newest" -lt $((blocks - 1)) ] ||
		lab_fail "$3: $2 wrote past the $blocks blocks read (newest $newest): read more"
	echo "$n records, newest $newest"
}

# xlmig_sched_cap HOST NAME: print NAME's scheduler cap on HOST (credit2,
# else credit: `xl sched-credit2 -d` / `xl sched-credit -d`; 0 = none).
xlmig_sched_cap() {
	lab_sh "$1" "xl sched-credit2 -d '$2' 2>/dev/null | awk 'NR == 2 { print \$NF }' | grep . ||
	xl sched-credit -d '$2' | awk 'NR == 2 { print \$NF }' | grep ." 60
}

# xlmig_timed_gap FROM TO NAME CMD LOG: run CMD on FROM (timed; output to
# LOG, a path in FROM's dom0, e.g. /share/x.log), which moves guest NAME,
# a dirtier guest (lab_dirty_cmdline), to TO; wait until it runs there and
# its dirtier printed on TO again; then set XLMIG_TOTAL_MS (CMD's wall
# time), XLMIG_GAP_MS (the guest's largest pause since just before CMD:
# the downtime, suspended time included), XLMIG_GAP_MONO (the part of it
# the guest was not suspended: its own freeze and thaw) and XLMIG_NOISE_MS
# (its largest ordinary step gap in the 3 s before CMD: scheduling noise).
# Call it directly, not in $(...).  Returns CMD's status (the rest is then
# not measured).
xlmig_timed_gap() {
	local from=$1 to=$2 name=$3 cmd=$4 log=$5 n0 na g rc=0 limit
	# shellcheck disable=SC2034 # read by the callers
	XLMIG_TOTAL_MS='' XLMIG_GAP_MS='' XLMIG_GAP_MONO='' XLMIG_NOISE_MS=''
	na=$(lab_gap_now "$from" "$name") || lab_fail "no dirtier output of $name on $from"
	sleep 3
	n0=$(lab_gap_now "$from" "$name")
	# shellcheck disable=SC2034 # read by the callers
	XLMIG_NOISE_MS=$(lab_gap_noise "$from" "$name" "$na" "$n0")
	lab_timed "$from" "$cmd >$log 2>&1" 900 || rc=$?
	# shellcheck disable=SC2034 # read by the callers
	XLMIG_TOTAL_MS=$LAB_ELAPSED_MS
	[ "$rc" -eq 0 ] || return "$rc"
	xlmig_wait_running "$to" "$name" 60
	limit=$((SECONDS + 30))
	until [ "$(lab_gap_now "$to" "$name" 2>/dev/null || echo 0)" -gt "$n0" ]; do
		[ "$SECONDS" -lt "$limit" ] || lab_fail "$name's dirtier printed nothing on $to within 30 s"
		sleep 1
	done
	sleep 2
	g=$(lab_gap "$to" "$name" "$n0")
	# "MS counter=N mono=M boot=B"
	# shellcheck disable=SC2034 # read by the callers
	read -r XLMIG_GAP_MS _ g <<<"$g"
	g=${g#mono=}
	# shellcheck disable=SC2034 # read by the callers
	XLMIG_GAP_MONO=${g%% *}
}
