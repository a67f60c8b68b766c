#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-50-name-clash.sh - the destination already has a domain of that name:
# the receiver refuses before anything moves; both domains named vm1 go on
# running, each on its host, untouched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-50-name-clash 60
it_setup 2

it_on A xlmig sim-create --memory 64 --rate 1000 vm1 >/dev/null
it_on B xlmig sim-create --memory 32 --rate 1000 vm1 >/dev/null
sim_wait_counter A vm1 3 10 >/dev/null
rc=0
it_on A xlmig migrate -s "$IT_SSH" vm1 "$(it_ip B)" >"$IT_DIR/m.out" 2>&1 || rc=$?
it_log "sender: exit $rc: $(cat "$IT_DIR/m.out")"
[ "$rc" -eq 1 ] || it_fail "exit status $rc, not 1"
grep -qi 'vm1.*already\|already.*vm1\|exists' "$IT_DIR/m.out" ||
	it_fail "the error does not name the clash: $(tail -n 2 "$IT_DIR/m.out")"
sim_expect_running A vm1
sim_expect_running B vm1
[ "$(sim_info A vm1 memory_mb)" = 64 ] || it_fail "A's vm1 changed"
[ "$(sim_info B vm1 memory_mb)" = 32 ] || it_fail "B's vm1 changed"
[ "$(sim_info A vm1 resumes)" = 0 ] || it_fail "A's vm1 was suspended"
[ "$(sim_names B | tr '\n' ' ')" = "vm1 " ] || it_fail "B has $(sim_names B)"
sim_expect_procs B "sshd xenstored xlmig-simguest "
