# shellcheck shell=bash
# t-xlmig-70-job-cancel.sh - a real migration is cancelled mid-transfer
# with `xlmig job-cancel` (a xenstore write the job watches; libxl's save
# is aborted with libxl_ao_abort): `xlmig migrate` exits 1 saying the
# guest still runs here, the guest runs on A, unpaused and unrenamed, and
# keeps counting; B has no leftover domain; neither host lists a job.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

lab_guest_create A lab1
c0=$(xlmig_expect_counting A lab1 -1)
lab_bg A mig "xlmig migrate lab1 $(lab_ip B)"
lab_wait_output A mig 'transfer: live memory copy' 120 ||
	lab_fail "migration never reached the transfer phase"
xlmig_wait_domain B lab1--incoming 120
# jobs_get HOST CMD EXPR: EXPR (Python over the parsed JSON j) of CMD's
# --json output on HOST, parsed here: dom0 has no python.
jobs_get() {
	local json
	json=$(lab_sh "$1" "$2" 30) || return 1
	python3 -c 'import json, sys
j = json.loads(sys.argv[1])
print(eval(sys.argv[2]))' "$json" "$3"
}

id=$(jobs_get A "xlmig jobs --json" 'j["jobs"][0]["id"]') ||
	lab_fail "no job listed on A"
phase=$(jobs_get A "xlmig job-show --json $id" 'j["phase"]')
[ "$phase" = transfer ] || lab_fail "job $id is in phase '$phase', not transfer"
lab_sh A "xlmig job-cancel $id" 30 || lab_fail "xlmig job-cancel $id failed"
rc=0
lab_wait A mig 300 || rc=$?
out=$(lab_bg_output A mig)
[ "$rc" -eq 1 ] || lab_fail "xlmig migrate exited with $rc, not 1"
grep -q 'lab1 still runs on this host' <<<"$out" ||
	lab_fail "no 'still runs on this host' in: $(echo "$out" | tail -n 3)"
grep -qi 'cancel' <<<"$out" || lab_fail "no word of the cancel in: $(echo "$out" | tail -n 3)"
xlmig_expect_running A lab1
xlmig_expect_only A lab1
c1=$(xlmig_expect_counting A lab1 "$c0")
xlmig_expect_no_domains B 60
for h in A B; do
	n=$(jobs_get "$h" "xlmig jobs --json" 'len(j["jobs"])')
	[ "$n" = 0 ] || lab_fail "$h still lists $n job(s)"
done
lab_log "job $id cancelled in transfer: lab1 still runs on A (counter $c0 -> $c1), B is empty"
