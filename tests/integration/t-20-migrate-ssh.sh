#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-20-migrate-ssh.sh - live migration between two sim hosts over real ssh,
# exactly as in production (`xlmig migrate vm1 HOSTB` runs `ssh HOSTB xlmig
# migrate-receive`). A -> B paused (-p), so that B's memory image can be
# compared byte for byte with A's image frozen at suspend; then B -> A with
# a monitor on A: vm1 runs only on A, its counter went on all along, and
# the processes on each host are exactly what should be there.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-20-migrate-ssh 120
it_setup 2

it_on A xlmig sim-create --memory 128 --rate 5000 --wss 32 --shape hot vm1 >/dev/null
c0=$(sim_wait_counter A vm1 10 10)
mkdir -p "$IT_DIR/freeze"
XLMIG_SIM_FREEZE_DIR=$IT_DIR/freeze it_on A xlmig migrate -p -s "$IT_SSH" vm1 "$(it_ip B)" \
	>"$IT_DIR/m1.out" 2>&1 || it_fail "migrate A -> B: $(tail -n 3 "$IT_DIR/m1.out")"
it_log "A -> B: $(tail -n 1 "$IT_DIR/m1.out")"
grep -q '^migrated vm1 to 192.0.2.2' "$IT_DIR/m1.out" || it_fail "no summary line"
[ "$(sim_info B vm1 state)" = paused ] || it_fail "vm1 is not paused on B after -p"
cmp -s "$IT_DIR/freeze/vm1.mem" "$(sim_info B vm1 image)" ||
	it_fail "B's memory of vm1 differs from A's at suspend"
c1=$(sim_info B vm1 counter)
[ "$c1" -gt "$c0" ] || it_fail "counter went back: $c1 after $c0"
sim_expect_no_domains A
sim_expect_procs A "sshd xenstored "
it_on B xlmig unpause vm1
sim_wait_counter B vm1 "$c1" 10 >/dev/null
sim_expect_only B vm1

# Back, the default way: a monitor process takes care of vm1 on A.
it_on B xlmig migrate -s "$IT_SSH" vm1 "$(it_ip A)" >"$IT_DIR/m2.out" 2>&1 ||
	it_fail "migrate B -> A: $(tail -n 3 "$IT_DIR/m2.out")"
it_log "B -> A: $(tail -n 1 "$IT_DIR/m2.out")"
sim_expect_only A vm1
[ "$(sim_info A vm1 resumes)" -ge 2 ] || it_fail "vm1 was not resumed twice"
sim_expect_procs A "sshd xenstored xlmig xlmig-simguest "
sim_expect_procs B "sshd xenstored "
