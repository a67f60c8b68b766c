#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-90-cancel.sh - `xlmig job-cancel` before the point of no return, in
# every phase: a sender waiting in the queue (admit), in the middle of its
# memory stream (transfer), held in connect and switchover, and a receiver
# held in transfer, each stop cleanly; the domain keeps running on A,
# unrenamed, and B has nothing; the command exits 1 saying it was
# cancelled. After GO a cancel is refused with the reason and the
# migration completes. A cancel of an unknown job fails with a clear
# message.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-90-cancel 120
it_setup 2

job_of() {    # job_of HOST DOMAIN: the id of DOMAIN's job on HOST
	it_on "$1" xlmig jobs --json | python3 -c '
import json, sys
for j in json.load(sys.stdin)["jobs"]:
    if j["domain"] == sys.argv[1]:
        print(j["id"])' "$2"
}
phase_of() {
	it_on "$1" xlmig job-show --json "$2" | python3 -c '
import json, sys
j = json.load(sys.stdin)
print("queued" if j["queue_position"] else j["phase"])'
}

it_on A xlmig sim-create --memory 256 --rate 1000 --fill random vm1 >/dev/null
it_on A xlmig sim-create --memory 64 --rate 1000 vm2 >/dev/null
rc=0
it_on A xlmig job-cancel nosuchjob >"$IT_DIR/c0.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q 'nosuchjob' "$IT_DIR/c0.out" ||
	it_fail "cancel of an unknown job: exit $rc: $(cat "$IT_DIR/c0.out")"

# 1. While queued: limit 0 admits nobody.
it_on A xlmig set-limit out 0
it_on A xlmig migrate -s "$IT_SSH" vm2 "$(it_ip B)" >"$IT_DIR/m2.out" 2>&1 &
m2=$!
it_wait_until 10 "vm2's job" eval '[ -n "$(job_of A vm2)" ]'
id=$(job_of A vm2)
it_wait_until 10 "vm2 queued" eval '[ "$(phase_of A "$id")" = queued ]'
it_on A xlmig job-cancel "$id"
rc=0
wait "$m2" || rc=$?
[ "$rc" -eq 1 ] || it_fail "queued job: exit $rc, not 1"
grep -qi 'cancel' "$IT_DIR/m2.out" || it_fail "queued job: no word of the cancel: $(cat "$IT_DIR/m2.out")"
sim_expect_only A vm2
it_on A xlmig set-limit out 2

# 2. In the middle of the memory stream.
sim_shape A 100mbit
it_on A xlmig migrate -s "$IT_SSH" vm1 "$(it_ip B)" >"$IT_DIR/m1.out" 2>&1 &
m1=$!
it_wait_until 10 "vm1's job" eval '[ -n "$(job_of A vm1)" ]'
id=$(job_of A vm1)
it_wait_until 20 "vm1 in transfer" eval '[ "$(phase_of A "$id")" = transfer ]'
sleep 1
it_on A xlmig job-cancel "$id"
rc=0
wait "$m1" || rc=$?
[ "$rc" -eq 1 ] || it_fail "transfer: exit $rc, not 1"
grep -qi 'cancel' "$IT_DIR/m1.out" || it_fail "transfer: no word of the cancel: $(cat "$IT_DIR/m1.out")"
sim_expect_only A vm1
it_wait_until 10 "B to be empty" eval '[ -z "$(sim_names B)" ]'
sim_expect_procs B "sshd xenstored "
[ -z "$(job_of A vm1)" ] || it_fail "the cancelled job is still listed"
sim_shape A 10gbit


# 3. In every other phase before GO: the job is held there (XLMIG_FAULT
# ROLE:PHASE:hold, a test hook) until the cancel comes. The receiver's
# job is cancelled on B; the sender then rolls back too.
for spec in send:connect send:switchover recv:transfer; do
	role=${spec%%:*}
	phase=${spec#*:}
	if [ "$role" = send ]; then
		h=A
		XLMIG_FAULT=$spec:hold it_on A xlmig migrate -s "$IT_SSH" vm2 \
			"$(it_ip B)" >"$IT_DIR/h.out" 2>&1 &
	else
		h=B
		it_on A xlmig migrate -s "$IT_SSH -o SetEnv=XLMIG_FAULT=$spec:hold" \
			vm2 "$(it_ip B)" >"$IT_DIR/h.out" 2>&1 &
	fi
	m=$!
	it_wait_until 20 "vm2's job on $h" eval '[ -n "$(job_of $h vm2)" ]'
	id=$(job_of "$h" vm2)
	it_wait_until 20 "job $id in $phase" eval '[ "$(phase_of $h "$id")" = "$phase" ]'
	it_on "$h" xlmig job-cancel "$id"
	rc=0
	wait "$m" || rc=$?
	it_log "$spec: migrate exit $rc: $(tail -n 1 "$IT_DIR/h.out")"
	[ "$rc" -eq 1 ] || it_fail "$spec: exit $rc, not 1: $(tail -n 3 "$IT_DIR/h.out")"
	it_wait_until 10 "B to be empty after $spec" eval '[ -z "$(sim_names B)" ]'
	sim_expect_only A vm2
	[ -z "$(job_of A vm2)" ] && [ -z "$(job_of B vm2)" ] ||
		it_fail "$spec: a job is still listed"
done

# 4. After GO (the receiver held in its switchover, which follows GO) the
# cancel is refused with the reason, and the migration completes.
# (ssh takes the first SetEnv option only: both variables go in one.)
it_on A xlmig migrate -s "$IT_SSH -o 'SetEnv=XLMIG_FAULT=recv:switchover:hold XLMIG_FAULT_HOLD_S=8'" \
	vm2 "$(it_ip B)" >"$IT_DIR/go.out" 2>&1 &
m=$!
it_wait_until 20 "vm2's job on B" eval '[ -n "$(job_of B vm2)" ]'
id=$(job_of B vm2)
it_wait_until 20 "job $id in switchover" eval '[ "$(phase_of B "$id")" = switchover ]'
rc=0
it_on B xlmig job-cancel "$id" >"$IT_DIR/c.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || it_fail "cancel after GO: exit $rc, not 1"
grep -q 'cannot cancel: .*GO' "$IT_DIR/c.out" ||
	it_fail "cancel after GO: no reason given: $(cat "$IT_DIR/c.out")"
wait "$m" || it_fail "the migration after a refused cancel failed: $(tail -n 3 "$IT_DIR/go.out")"
sim_expect_only B vm2
