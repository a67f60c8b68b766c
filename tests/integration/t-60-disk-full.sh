#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-60-disk-full.sh - the destination's disk fills up while the memory image
# is written (B's domain directory is a 24 MiB tmpfs; the guest has 60 MiB
# of non-zero memory): the receiver fails naming the full disk, removes its
# partial domain, and vm1 goes on running on A.
#
# The tmpfs is mounted in the mount namespace of B's sshd (`ip netns exec`
# gives each host its own), where B's receivers run; it goes away with
# that namespace at teardown.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-60-disk-full 90
it_setup 2

dom=$(it_sim_dir B)/dom
sshd_b=$(_it_sshd_pid B) || it_fail "no sshd on B"
on_b_mnt() { nsenter --mount="/proc/$sshd_b/ns/mnt" "$@"; }
on_b_mnt mount -t tmpfs -o size=24m xlmig-it-full "$dom" ||
	it_fail "cannot mount a tmpfs on $dom"

# A sweeping guest writes every page of its 60 MiB working set quickly.
it_on A xlmig sim-create --memory 64 --wss 60 --rate 40000 --shape sweep vm1 >/dev/null
it_wait_until 20 "vm1 to touch its working set" \
	eval '[ "$(sim_info A vm1 writes)" -gt 16000 ]'
rc=0
it_on A xlmig migrate -s "$IT_SSH" vm1 "$(it_ip B)" >"$IT_DIR/m.out" 2>&1 || rc=$?
it_log "sender: exit $rc: $(cat "$IT_DIR/m.out")"
[ "$rc" -eq 1 ] || it_fail "exit status $rc, not 1"
grep -qi 'no space left' "$IT_DIR/m.out" ||
	it_fail "the error does not name the full disk: $(tail -n 2 "$IT_DIR/m.out")"
sim_expect_only A vm1
sim_expect_no_domains B
left=$(on_b_mnt ls -A "$dom")
[ -z "$left" ] || it_fail "B's domain directory is not empty: $left"
sim_expect_procs B "sshd xenstored "
