# shellcheck shell=bash
# t-xlmig-40-killed-mid-stream.sh - (d) the receiver is killed in the middle
# of the stream: `xlmig migrate` fails with status 1 and says the guest
# still runs here; the guest runs on A, unpaused and unrenamed, and keeps
# counting; B has no leftover domain. Then the same with the sender's
# transport (its ssh) killed mid-stream.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

# xlmig_kill_mid_stream HOST PATTERN: start a migration A -> B, wait until
# B is receiving memory, kill PATTERN's processes on HOST, then check that
# everything is as before on A and nothing is left on B.
xlmig_kill_mid_stream() {
	local h=$1 pattern=$2 c0 c1 rc=0 out
	c0=$(xlmig_expect_counting A lab1 -1)
	lab_bg A mig "xlmig migrate lab1 $(lab_ip B)"
	lab_wait_output A mig 'transfer: live memory copy' 120 ||
		lab_fail "migration never reached the transfer phase"
	xlmig_wait_domain B lab1--incoming 120
	lab_sh "$h" "pkill -TERM -f '$pattern'" 30 ||
		lab_fail "nothing matched '$pattern' on $h"
	lab_wait A mig 300 || rc=$?
	out=$(lab_bg_output A mig)
	[ "$rc" -eq 1 ] || lab_fail "xlmig migrate exited with $rc, not 1"
	grep -q 'lab1 still runs on this host' <<<"$out" ||
		lab_fail "no 'still runs on this host' in: $(echo "$out" | tail -n 3)"
	xlmig_expect_running A lab1
	xlmig_expect_only A lab1
	c1=$(xlmig_expect_counting A lab1 "$c0")
	xlmig_expect_no_domains B 60
	lab_log "killed $pattern on $h: lab1 still runs on A (counter $c0 -> $c1), B is empty"
}

lab_guest_create A lab1
# [e] keeps pkill from matching the shell that runs it.
xlmig_kill_mid_stream B 'xlmig migrate-receiv[e]'
xlmig_kill_mid_stream A "ssh $(lab_ip B) xlmig migrate-receiv[e]"
