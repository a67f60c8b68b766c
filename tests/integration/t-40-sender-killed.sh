#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-40-sender-killed.sh - the sender is killed with SIGKILL in the middle of
# the memory stream (nothing of it can clean up): the guest was never
# suspended, so vm1 goes on running on A; the receiver sees the stream end
# early, destroys its copy and exits; B ends up empty.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-40-sender-killed 120
it_setup 2

it_on A xlmig sim-create --memory 256 --rate 2000 --fill random vm1 >/dev/null
sim_wait_counter A vm1 5 10 >/dev/null
sim_shape A 200mbit
it_on A xlmig migrate -s "$IT_SSH" vm1 "$(it_ip B)" >"$IT_DIR/m.out" 2>&1 &
mig=$!
it_wait_until 20 "vm1--incoming on B" eval 'sim_names B | grep -qx vm1--incoming'
sleep 1
sim_kill A KILL 'xlmig migrate .*vm1'
wait "$mig" || true
it_wait_until 20 "B to drop vm1--incoming" eval '[ -z "$(sim_names B)" ]'
sim_expect_only A vm1
sim_expect_procs B "sshd xenstored "
sim_expect_procs A "sshd xenstored xlmig-simguest "
