#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-99-live-storage.sh - live storage moves (storage-live.c) on sim host
# A with a real QEMU serving each domain's disk: a sim domain's xvda is a
# symlink (its stable name) to a raw image in sr1, and a QEMU
# (qemu-system-x86_64 -M pc -S, a virtio-blk disk with serial xvda0)
# serves that image with a monitor at SIMDIR/qmp/DOMID-xvda.sock, where
# the sim backend looks for the domain's QEMU. The QMP mover is the one a
# Xen host runs; QEMU writes to the disk while it mirrors (qemu-io).
#  move     storage-move (live, the default) sr1 -> sr2: exit 0, the link
#           names sr2's image, equal to what the disk holds (the writes
#           during the mirror included), sr1's image gone, QEMU on the new
#           image alone; then back to sr1 (the next target node name)
#  refused  a disk whose config names the image itself (no link), and a
#           format change (the config would still say raw): refused in
#           pre-flight with a remedy, nothing changed
#  cancel   a move slowed by --bandwidth, job-cancel mid-mirror: exit 1,
#           "uses its source", the link unchanged, no copy, QEMU runs no
#           job and has no target node
#  kill     SIGKILL at each point of a live move (admit, transfer, mirror,
#           go, pivoted, commit-files), then recover (twice): the link
#           names one complete image (the source before the pivot, the
#           copy after it), which QEMU's disk uses; the other one is gone
# Throughout: no journal, job or part file left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-99-live-storage 300
it_setup 2

SRS=$IT_DIR/srs
LINKS=$IT_DIR/links
HOST=$(it_host_dir A)
QMPDIR=$(it_sim_dir A)/qmp
mkdir -p "$SRS/sr1" "$SRS/sr2" "$LINKS" "$QMPDIR"
printf 'sr = [ "sr1:dir:%s", "sr2:dir:%s" ]\n' "$SRS/sr1" "$SRS/sr2" \
	>"$HOST/xlmig.conf"
it_on A xlmig sr-create sr1 dir "$SRS/sr1" >/dev/null || it_fail "sr-create sr1"
it_on A xlmig sr-create sr2 dir "$SRS/sr2" >/dev/null || it_fail "sr-create sr2"
it_on_teardown 'for p in $(cat "$IT_DIR"/*.qemu-pid 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done'

. "$(dirname "$0")/qemu-disk.sh"

expect_tidy() {
	local left
	[ "$(sim_jobs A)" = 0 ] || it_fail "$1: jobs left"
	left=$(ls -A "$HOST/state" 2>/dev/null || true)
	[ -z "$left" ] || it_fail "$1: journals left: $left"
	left=$(ls -A "$SRS/sr1" "$SRS/sr2" | grep -E '^\.xlmig-part-' || true)
	[ -z "$left" ] || it_fail "$1: leftovers in the SRs: $left"
}

smove() { it_on A xlmig storage-move --progress=none "$@"; }

# ---- move -------------------------------------------------------------------
d=$(vm m1)
guest_write "$d" 1M 0x5a
smove m1 xvda sr2 >"$IT_DIR/m1.out" 2>&1 &
mp=$!
guest_write "$d" 8M 0x6b
guest_write "$d" 30M 0x7c
wait "$mp" || it_fail "live move of m1: $(cat "$IT_DIR/m1.out")"
grep -q 'moved .* live' "$IT_DIR/m1.out" || it_fail "m1: $(cat "$IT_DIR/m1.out")"
[ "$(readlink "$LINKS/m1")" = "$SRS/sr2/m1.img" ] || it_fail "m1's link names $(readlink "$LINKS/m1")"
[ ! -e "$SRS/sr1/m1.img" ] || it_fail "m1's source is still there"
qemu_holds m1 "$SRS/sr2/m1.img"
qemu_clean m1 "$d" "$SRS/sr1/m1.img"
# What the guest wrote is in the copy: read back through QEMU (qemu-io
# read -P fails loudly into QEMU's log on a mismatch) and from the file.
for w in "1M 0x5a" "8M 0x6b" "30M 0x7c"; do
	set -- $w
	b=$(dd if="$SRS/sr2/m1.img" bs=64k count=1 skip=$(($(numfmt --from=iec "$1") / 65536)) status=none | od -An -v -tx1 | tr -s ' \n' ' ' | awk '{ print $1, $NF }')
	[ "$b" = "${2#0x} ${2#0x}" ] || it_fail "m1's copy at $1: $b, the guest wrote $2"
done
expect_tidy move
smove m1 xvda sr1 >"$IT_DIR/m1b.out" 2>&1 || it_fail "m1 back to sr1: $(cat "$IT_DIR/m1b.out")"
[ "$(readlink "$LINKS/m1")" = "$SRS/sr1/m1.img" ] || it_fail "m1's link names $(readlink "$LINKS/m1")"
qemu_clean m1 "$d" "$SRS/sr2/m1.img"
expect_tidy move-back
# A format change live: refused (the config would still say raw).
rc=0
smove --format qcow2 m1 xvda sr2 >"$IT_DIR/m1q.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q 'keeps the format' "$IT_DIR/m1q.out" ||
	it_fail "a live format change (exit $rc): $(cat "$IT_DIR/m1q.out")"
[ "$(readlink "$LINKS/m1")" = "$SRS/sr1/m1.img" ] || it_fail "m1 moved by a refused move"
expect_tidy format
# Killed mid-mirror after two moves: QEMU still names the image by the
# first copy's part name (gone since its rename); recover goes back.
rc=0
XLMIG_FAULT=move:mirror smove m1 xvda sr2 >"$IT_DIR/m1k.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || it_fail "m1: the killed move did not die"
it_on A xlmig recover >"$IT_DIR/m1k.rec" 2>&1 || it_fail "m1: recover: $(cat "$IT_DIR/m1k.rec")"
grep -q 'qemu names its image .*xlmig-part-' "$IT_DIR/m1k.rec" ||
	it_fail "m1: QEMU no longer names the image by its first name? $(cat "$IT_DIR/m1k.rec")"
[ "$(readlink "$LINKS/m1")" = "$SRS/sr1/m1.img" ] || it_fail "m1's link names $(readlink "$LINKS/m1") after recover"
qemu_clean m1 "$d" "$SRS/sr2/"
expect_tidy move-killed
it_log "move: m1 sr1 -> sr2 -> sr1 live, the guest's writes in the copy"

# ---- refused ----------------------------------------------------------------
d=$(vm r1)
py 'import json, sys
c = json.load(open(sys.argv[1])); c["disks"][0]["pdev_path"] = sys.argv[2]
json.dump(c, open(sys.argv[1], "w"))' "$IT_DIR/r1.cfg" "$SRS/sr1/r1.img"
it_on A xlmig destroy r1
d2=$(it_on A xlmig sim-create --rate 100 --config "$IT_DIR/r1.cfg" r1) || it_fail "sim-create r1 again"
mv "$QMPDIR/$d-xvda.sock" "$QMPDIR/$d2-xvda.sock"
mv "$IT_DIR/qmp-test/$d.sock" "$IT_DIR/qmp-test/$d2.sock"
rc=0
smove r1 xvda sr2 >"$IT_DIR/r1.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q 'not a stable name' "$IT_DIR/r1.out" &&
	grep -q 'symlink' "$IT_DIR/r1.out" ||
	it_fail "a disk named by its image (exit $rc): $(cat "$IT_DIR/r1.out")"
[ -e "$SRS/sr1/r1.img" ] && [ ! -e "$SRS/sr2/r1.img" ] || it_fail "r1: images moved"
expect_tidy refused
it_on A xlmig destroy r1

# ---- cancel -----------------------------------------------------------------
d=$(vm c1)
sum0=$(sha256sum <"$SRS/sr1/c1.img")
smove --bandwidth 1M c1 xvda sr2 >"$IT_DIR/c1.out" 2>&1 &
mp=$!
job=
for _ in $(seq 100); do
	job=$(it_on A xlmig jobs --json | py 'import json, sys
print(next((x["id"] for x in json.load(sys.stdin)["jobs"] if x["progress"]), ""))')
	[ -z "$job" ] || break
	sleep 0.1
done
[ -n "$job" ] || it_fail "the slowed move of c1 shows no progress"
it_on A xlmig job-cancel "$job" >/dev/null || it_fail "job-cancel $job"
rc=0
wait "$mp" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'uses its source' "$IT_DIR/c1.out" ||
	it_fail "cancelled move (exit $rc): $(cat "$IT_DIR/c1.out")"
[ "$(readlink "$LINKS/c1")" = "$SRS/sr1/c1.img" ] || it_fail "c1's link names $(readlink "$LINKS/c1")"
[ "$(sha256sum <"$SRS/sr1/c1.img")" = "$sum0" ] || it_fail "c1's source changed"
[ ! -e "$SRS/sr2/c1.img" ] || it_fail "c1: a copy in sr2"
qemu_clean c1 "$d" ""
expect_tidy cancel
it_log "cancel: job-cancel mid-mirror, c1 stays on sr1"

# ---- kill -------------------------------------------------------------------
for p in admit transfer mirror go pivoted commit-files; do
	vmn=k-$p
	d=$(vm "$vmn")
	sum0=$(sha256sum <"$SRS/sr1/$vmn.img")
	rc=0
	XLMIG_FAULT=move:$p smove "$vmn" xvda sr2 >"$IT_DIR/$vmn.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || it_fail "kill:$p: the move did not die"
	for _ in 1 2; do
		it_on A xlmig recover >"$IT_DIR/$vmn.rec" 2>&1 ||
			it_fail "kill:$p: recover: $(cat "$IT_DIR/$vmn.rec")"
	done
	grep -q 'no interrupted migration' "$IT_DIR/$vmn.rec" ||
		it_fail "kill:$p: a second recover found work: $(cat "$IT_DIR/$vmn.rec")"
	img=$(readlink "$LINKS/$vmn")
	case $p in
	admit | transfer | mirror | go) want=$SRS/sr1/$vmn.img other=$SRS/sr2/$vmn.img ;;
	*) want=$SRS/sr2/$vmn.img other=$SRS/sr1/$vmn.img ;;
	esac
	[ "$img" = "$want" ] || it_fail "kill:$p: the link names $img, not $want"
	[ ! -e "$other" ] || it_fail "kill:$p: $other is still there"
	[ "$(sha256sum <"$img")" = "$sum0" ] || it_fail "kill:$p: $img differs from the disk"
	qemu_holds "$vmn" "$img"
	qemu_clean "$vmn" "$d" "$other"
	expect_tidy "kill:$p"
	it_log "kill:$p: recovered onto ${img#"$SRS"/}"
done

