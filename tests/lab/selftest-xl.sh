# shellcheck shell=bash
# selftest-xl.sh - proves the lab with stock xl: a PVH guest created
# on A keeps counting, `xl migrate lab1 192.0.2.2` (over the dom0s' ssh)
# moves it to B, where the counter goes on beyond what A last showed, and
# no copy of lab1 is left on A.  Prints the migration wall time, the
# reference for xlmig.  Sourced by run-lab.sh (see its conventions).

lab_guest_create A lab1
c0=$(lab_counter A lab1)
c1=$(lab_wait_counter A lab1 "$c0" 30)
lab_log "lab1 counts on A: $c0 -> $c1"

lab_log "xl migrate lab1 $(lab_ip B)"
lab_timed A "xl migrate lab1 $(lab_ip B)" 600 || lab_fail "xl migrate lab1 failed"
lab_log "RESULT: xl migrate wall time $((LAB_ELAPSED_MS / 1000)).$((LAB_ELAPSED_MS % 1000 / 100)) s"

left_on_a=$(lab_domains A)
[ -z "$left_on_a" ] || lab_fail "domains left on A after migration: $left_on_a"
lab_domain_exists B lab1 || lab_fail "lab1 does not exist on B"
last_a=$(lab_counter A lab1)
[ "$last_a" -ge "$c1" ] || lab_fail "A's last counter $last_a is below $c1"
b1=$(lab_wait_counter B lab1 "$last_a" 30) ||
	lab_fail "lab1's counter on B did not go beyond A's last value $last_a"
b2=$(lab_wait_counter B lab1 "$b1" 30) || lab_fail "lab1's counter stopped on B at $b1"
lab_log "lab1 counts on B: last on A $last_a, then $b1 -> $b2 on B"
