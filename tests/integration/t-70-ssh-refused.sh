#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-70-ssh-refused.sh - B's sshd is down (connection refused): migrate fails
# at once in the connect phase with a one-line error; vm1 never stopped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-70-ssh-refused 60
it_setup 2

it_on A xlmig sim-create --memory 64 --rate 1000 vm1 >/dev/null
sim_wait_counter A vm1 3 10 >/dev/null
it_sshd_stop B
t0=$SECONDS
rc=0
it_on A xlmig migrate -s "$IT_SSH" vm1 "$(it_ip B)" >"$IT_DIR/m.out" 2>&1 || rc=$?
it_log "sender: exit $rc after $((SECONDS - t0)) s: $(cat "$IT_DIR/m.out")"
[ "$rc" -eq 1 ] || it_fail "exit status $rc, not 1"
[ $((SECONDS - t0)) -lt 15 ] || it_fail "took $((SECONDS - t0)) s to give up"
grep -q 'connect' "$IT_DIR/m.out" || it_fail "the error does not name the connect phase"
sim_expect_only A vm1
[ "$(sim_info A vm1 resumes)" = 0 ] || it_fail "vm1 was suspended"
sim_expect_procs A "sshd xenstored xlmig-simguest "
sim_expect_no_domains B
