# shellcheck shell=bash
# demo-migrate.sh - the README's quick-start demo (make demo): a PVH guest
# starts on host A and is live-migrated to host B with `xlmig migrate`,
# which prints each phase and the total time; then the guest is shown
# counting on B. Run by run-lab.sh like a test (run-lab.sh demo-migrate).
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

lab_log "demo: creating guest lab1 on host A ($(lab_ip A))"
lab_guest_create A lab1
c0=$(xlmig_expect_counting A lab1 -1)
lab_log "demo: lab1 counts on A (counter $c0); migrating it to B ($(lab_ip B))"
lab_sh A "xl list"
lab_timed A "xlmig migrate lab1 $(lab_ip B)" 600 ||
	lab_fail "xlmig migrate failed"
lab_sh B "xl list"
last_a=$(lab_counter A lab1)
c1=$(xlmig_expect_counting B lab1 "$last_a")
lab_log "demo: lab1 runs on B and counts on (last on A $last_a, now $c1)"
lab_log "demo: xlmig migrate took $(xlmig_secs "$LAB_ELAPSED_MS") s in total"
