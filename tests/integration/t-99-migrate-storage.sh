#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-99-migrate-storage.sh - `migrate --storage xvda=sr2` of a running sim
# domain whose disk a real QEMU serves (qemu-disk.sh): the disk is
# mirrored into sr2 on A while the guest writes, the copy stopped while
# the guest is suspended, and B restores from a config naming the copy.
# sr1 and sr2 are directories both hosts declare (one SR identity each).
#  move     writes during the mirror: exit 0, the domain on B alone, its
#           config there names sr2's image, which equals the source
#           (--keep-source) with every write in it; QEMU runs no job and
#           no longer holds the copy; then without --keep-source: the
#           source is gone
#  plain    a migration without --storage of a disk named by a stable
#           name (XLMIG_DISK_LINK_DIR): B gets the image's path
# Each domain that arrives on B runs there on its own stable name, made by
# B's receiver, naming the image (the copy); a domain that does not
# arrive leaves no link on B.
#  refused  a disk no mover serves (its QEMU gone), a copy that exists
#           already, an SR without room for it: refused, nothing changed
#  hold     the copy removed once in sync: the stop while the guest is
#           suspended fails (its fsync), so does the migration: as blind
#  blind    B does not declare sr2: its pre-flight refuses after the
#           mirror; the copy is removed, the guest runs on A, QEMU clean
#  cancel   job-cancel mid-mirror: exit 1, the same as blind
#  handed   B cancels between "ready" and GO, so hands the domain back
#           after GO: as blind
#  kill     SIGKILL mid-mirror, then recover on A: the same; SIGKILL just
#           after GO, then recover on B and A: the domain on B alone, the
#           copy its disk, the source removed on A
# Throughout: no journal, job or stray image left on either host.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-99-migrate-storage 300
it_setup 2

SRS=$IT_DIR/srs
LINKS=$(it_host_dir A)/links # A's XLMIG_DISK_LINK_DIR (lib.sh)
BLINKS=$(it_host_dir B)/links
QMPDIR=$(it_sim_dir A)/qmp
mkdir -p "$SRS/sr1" "$SRS/sr2" "$LINKS" "$QMPDIR"
for h in A B; do
	printf 'sr = [ "sr1:dir:%s", "sr2:dir:%s" ]\n' "$SRS/sr1" "$SRS/sr2" \
		>"$(it_host_dir $h)/xlmig.conf"
done
it_on A xlmig sr-create sr1 dir "$SRS/sr1" >/dev/null || it_fail "sr-create sr1"
it_on A xlmig sr-create sr2 dir "$SRS/sr2" >/dev/null || it_fail "sr-create sr2"
it_on_teardown 'for p in $(cat "$IT_DIR"/*.qemu-pid 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done'

. "$(dirname "$0")/qemu-disk.sh"

B=$(it_ip B)
mig() { it_on A xlmig migrate --progress=none -s "$IT_SSH" "$@"; }

expect_tidy() {
	local h left n
	for n in $(ls "$BLINKS" 2>/dev/null); do
		sim_names B | grep -qx "${n%-xvda}" || it_fail "$1: B has a link $n of no domain there"
	done
	for h in A B; do
		[ "$(sim_jobs $h)" = 0 ] || it_fail "$1: jobs left on $h"
		left=$(ls -A "$(it_host_dir $h)/state" 2>/dev/null || true)
		[ -z "$left" ] || it_fail "$1: journals left on $h: $left"
	done
	left=$(ls -A "$SRS/sr1" "$SRS/sr2" | grep -E '^\.xlmig-part-' || true)
	[ -z "$left" ] || it_fail "$1: leftovers in the SRs: $left"
}

# stays NAME DOMID CASE: NAME runs on A alone on its source, no copy in
# sr2, QEMU without job or target node.
stays() {
	sim_expect_only A "$1"
	[ -e "$SRS/sr1/$1.img" ] || it_fail "$3: $1's source is gone"
	[ ! -e "$SRS/sr2/$1.img" ] || it_fail "$3: $1's copy is left in sr2"
	qemu_clean "$1" "$2" "$SRS/sr2/"
	expect_tidy "$3"
}

# at IMG OFF: the first and last byte of the 64 KiB at OFF of IMG.
at() {
	dd if="$1" bs=64k count=1 skip=$(($(numfmt --from=iec "$2") / 65536)) \
		status=none | od -An -v -tx1 | tr -s ' \n' ' ' | awk '{ print $1, $NF }'
}

# on_b NAME IMAGE: B runs NAME on its stable name there, BLINKS/NAME-xvda
# (made by B's receiver), which names IMAGE.
on_b() {
	local d
	d=$(b_disk "$1")
	[ "$d" = "$BLINKS/$1-xvda" ] || it_fail "$1 on B runs on '$d', not its stable name"
	[ "$(readlink "$d")" = "$2" ] || it_fail "$1 on B: $d names '$(readlink "$d")', not $2"
}

# b_disk NAME: the disk B's copy of NAME was restored with.
b_disk() {
	python3 -c 'import json, sys
for d in json.load(open(sys.argv[1]))["disks"]:
    if d["vdev"] == "xvda": print(d["pdev_path"])' \
		"$(it_sim_dir B)/dom/$(sim_info B "$1" domid)/config.json"
}

# ---- move -------------------------------------------------------------------
d=$(vm g1)
guest_write "$d" 1M 0x5a
XLMIG_FAULT=send:mirror:wait XLMIG_FAULT_RESUME=$IT_DIR/g1.go \
	mig --storage xvda=sr2 --keep-source g1 "$B" >"$IT_DIR/g1.out" 2>&1 &
mp=$!
it_wait_until 30 "g1's mirror to start" grep -q 'waiting for' "$IT_DIR/g1.out"
guest_write "$d" 8M 0x6b
guest_write "$d" 30M 0x7c
touch "$IT_DIR/g1.go"
wait "$mp" || it_fail "migrate --storage g1: $(cat "$IT_DIR/g1.out")"
it_log "g1: $(grep -E 'in sync|migrated' "$IT_DIR/g1.out" | tr '\n' ' ')"
sim_expect_only B g1
on_b g1 "$SRS/sr2/g1.img"
cmp -s "$SRS/sr1/g1.img" "$SRS/sr2/g1.img" || it_fail "g1's copy differs from its source"
for w in "1M 5a" "8M 6b" "30M 7c"; do
	set -- $w
	[ "$(at "$SRS/sr2/g1.img" "$1")" = "$2 $2" ] || it_fail "g1's copy at $1 lacks the guest's write"
done
qemu_clean g1 "$d" "$SRS/sr2/g1.img"
expect_tidy move
# The same without --keep-source: the source goes once B runs g2.
# B has a link of g2's stable name already, naming something else: it
# stays, and g2 runs on B on the copy's own path.
d=$(vm g2)
mkdir -p "$BLINKS"
ln -s /nonexistent "$BLINKS/g2-xvda"
mig --storage xvda=sr2 g2 "$B" >"$IT_DIR/g2.out" 2>&1 || it_fail "migrate --storage g2: $(cat "$IT_DIR/g2.out")"
sim_expect_only B g2
[ ! -e "$SRS/sr1/g2.img" ] || it_fail "g2's source was kept"
[ -s "$SRS/sr2/g2.img" ] || it_fail "g2's copy is missing"
[ "$(readlink "$BLINKS/g2-xvda")" = /nonexistent ] || it_fail "B's own link g2-xvda was changed"
[ "$(b_disk g2)" = "$SRS/sr2/g2.img" ] || it_fail "g2 on B runs on '$(b_disk g2)'"
expect_tidy move-nokeep
# The source cannot be removed after B took g3 (immutable): the
# migration succeeded, says so, and keeps its journal; recover removes
# the source once it can.
d=$(vm g3)
chattr +i "$SRS/sr1/g3.img"
it_on_teardown "chattr -i '$SRS/sr1/g3.img' 2>/dev/null || true"
mig --storage xvda=sr2 g3 "$B" >"$IT_DIR/g3.out" 2>&1 || it_fail "migrate --storage g3: $(cat "$IT_DIR/g3.out")"
grep -q 'xlmig recover removes them' "$IT_DIR/g3.out" || it_fail "g3: $(cat "$IT_DIR/g3.out")"
sim_expect_only B g3
[ -n "$(ls -A "$(it_host_dir A)/state")" ] || it_fail "g3: no journal kept for its source"
chattr -i "$SRS/sr1/g3.img"
it_on A xlmig recover -s "$IT_SSH" >"$IT_DIR/g3.rec" 2>&1 || it_fail "g3: recover: $(cat "$IT_DIR/g3.rec")"
grep -q 'source .*sr1/g3.img removed' "$IT_DIR/g3.rec" || it_fail "g3: recover: $(cat "$IT_DIR/g3.rec")"
[ ! -e "$SRS/sr1/g3.img" ] || it_fail "g3's source is still there after recover"
expect_tidy move-source-stuck
it_log "move: g1, g2, g3 to B with their disks sr1 -> sr2, the guest's writes in the copy"

# ---- plain ------------------------------------------------------------------
# Without --storage: the disk named by its stable name (a link in the
# links directory, which B does not know) goes as the image behind it.
d=$(vm p1)
mig p1 "$B" >"$IT_DIR/p1.out" 2>&1 ||
	it_fail "migrate p1 (a stable name): $(grep -E 'error|refused' "$IT_DIR/p1.out")"
sim_expect_only B p1
on_b p1 "$SRS/sr1/p1.img"
expect_tidy plain
it_log "plain: p1's stable name went as its image, named $(b_disk p1) on B"

# ---- refused ----------------------------------------------------------------
d=$(vm r1)
kill -9 "$(cat "$IT_DIR/r1.qemu-pid")"
rm -f "$QMPDIR/$d-xvda.sock"
rc=0
mig --storage xvda=sr2 r1 "$B" >"$IT_DIR/r1.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q 'cannot move while the guest runs' "$IT_DIR/r1.out" &&
	grep -q 'block-xlmig' "$IT_DIR/r1.out" ||
	it_fail "a disk without a mover (exit $rc): $(cat "$IT_DIR/r1.out")"
sim_expect_only A r1
[ ! -e "$SRS/sr2/r1.img" ] || it_fail "r1: a copy was made"
expect_tidy refused-mover
d=$(vm r2)
echo precious >"$SRS/sr2/r2.img"
rc=0
mig --storage xvda=sr2 r2 "$B" >"$IT_DIR/r2.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q 'there already' "$IT_DIR/r2.out" ||
	it_fail "a copy over an image (exit $rc): $(cat "$IT_DIR/r2.out")"
[ "$(cat "$SRS/sr2/r2.img")" = precious ] || it_fail "r2: sr2's image was overwritten"
rm "$SRS/sr2/r2.img"
stays r2 "$d" refused-exists
# sr3, an 8 MiB tmpfs (in the mount namespace of one shell), has no room
# for a 32 MiB copy: refused before anything is made.
mkdir -p "$IT_DIR/sr3"
printf 'sr = [ "sr1:dir:%s", "sr2:dir:%s", "sr3:dir:%s" ]\n' "$SRS/sr1" \
	"$SRS/sr2" "$IT_DIR/sr3" >"$(it_host_dir A)/xlmig.conf"
d=$(vm r3)
rc=0
it_on A sh -c 'mount -t tmpfs -o size=8m xlmig-it-sr3 "$1" &&
xlmig sr-create sr3 dir "$1" >/dev/null &&
xlmig migrate --progress=none -s "$2" --storage xvda=sr3 r3 "$3"; rc=$?
ls -A "$1" >"$4"; exit $rc' sh "$IT_DIR/sr3" "$IT_SSH" "$B" "$IT_DIR/r3.left" \
	>"$IT_DIR/r3.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q 'MiB free, the copy needs 32 MiB' "$IT_DIR/r3.out" ||
	it_fail "no room in sr3 (exit $rc): $(cat "$IT_DIR/r3.out")"
[ "$(tr '\n' ' ' <"$IT_DIR/r3.left")" = ".xlmig-sr " ] ||
	it_fail "no room: left in sr3: $(cat "$IT_DIR/r3.left")"
printf 'sr = [ "sr1:dir:%s", "sr2:dir:%s" ]\n' "$SRS/sr1" "$SRS/sr2" \
	>"$(it_host_dir A)/xlmig.conf"
stays r3 "$d" refused-room

# ---- hold fails ---------------------------------------------------------------
# The copy vanishes once in sync (someone removed it): the stop while the
# guest is suspended cannot make it durable; the migration fails, the
# guest resumes on A, nothing is left.
d=$(vm f1)
XLMIG_FAULT=send:transfer:wait XLMIG_FAULT_RESUME=$IT_DIR/f1.go \
	mig --storage xvda=sr2 f1 "$B" >"$IT_DIR/f1.out" 2>&1 &
mp=$!
it_wait_until 30 "f1's memory copy to be due" grep -q 'waiting for' "$IT_DIR/f1.out"
rm "$SRS/sr2/f1.img"
touch "$IT_DIR/f1.go"
rc=0
wait "$mp" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'fsync' "$IT_DIR/f1.out" ||
	it_fail "f1, its copy gone before the stop: exit $rc: $(tail -n 3 "$IT_DIR/f1.out")"
stays f1 "$d" hold-fails

# ---- blind ------------------------------------------------------------------
printf 'sr = [ "sr1:dir:%s" ]\n' "$SRS/sr1" >"$(it_host_dir B)/xlmig.conf"
d=$(vm b1)
rc=0
mig --storage xvda=sr2 b1 "$B" >"$IT_DIR/b1.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q 'disk-storage' "$IT_DIR/b1.out" ||
	it_fail "a destination that does not see sr2 (exit $rc): $(cat "$IT_DIR/b1.out")"
stays b1 "$d" blind
printf 'sr = [ "sr1:dir:%s", "sr2:dir:%s" ]\n' "$SRS/sr1" "$SRS/sr2" \
	>"$(it_host_dir B)/xlmig.conf"

# ---- cancel -----------------------------------------------------------------
d=$(vm c1)
XLMIG_FAULT=send:mirror:hold mig --storage xvda=sr2 c1 "$B" >"$IT_DIR/c1.out" 2>&1 &
mp=$!
it_wait_until 30 "c1's mirror to start" grep -q 'XLMIG_FAULT' "$IT_DIR/c1.out"
job=$(it_on A xlmig jobs --json | python3 -c 'import json, sys
print(json.load(sys.stdin)["jobs"][0]["id"])')
it_on A xlmig job-cancel "$job" >/dev/null || it_fail "job-cancel $job"
rc=0
wait "$mp" || rc=$?
[ "$rc" -eq 1 ] || it_fail "cancelled c1 exited $rc: $(cat "$IT_DIR/c1.out")"
stays c1 "$d" cancel

# ---- handed back ------------------------------------------------------------
# B cancelled between its "ready" and GO: after GO it hands the domain
# back; A resumes it on its source and removes the copy.
d=$(vm h1)
mig -s "$IT_SSH -o SetEnv=XLMIG_FAULT=recv:ready:hold" --storage xvda=sr2 h1 "$B" \
	>"$IT_DIR/h1.out" 2>&1 &
mp=$!
it_wait_until 30 "B's hold" grep -q 'holding until cancelled' "$IT_DIR/h1.out"
job=$(it_on B xlmig jobs --json | python3 -c 'import json, sys
print(json.load(sys.stdin)["jobs"][0]["id"])')
it_on B xlmig job-cancel "$job" >/dev/null || it_fail "job-cancel $job on B"
rc=0
wait "$mp" || rc=$?
[ "$rc" -eq 1 ] || it_fail "h1 handed back: exit $rc: $(tail -n 3 "$IT_DIR/h1.out")"
it_wait_until 10 "h1 to be gone from B" eval '! sim_names B | grep -q "^h1"'
stays h1 "$d" handed-back

# ---- kill -------------------------------------------------------------------
d=$(vm k1)
rc=0
XLMIG_FAULT=send:mirror mig --storage xvda=sr2 k1 "$B" >"$IT_DIR/k1.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || it_fail "k1: the killed migration did not die"
it_on A xlmig recover -s "$IT_SSH" >"$IT_DIR/k1.rec" 2>&1 || it_fail "k1: recover: $(cat "$IT_DIR/k1.rec")"
grep -q 'copy .*sr2/k1.img removed' "$IT_DIR/k1.rec" || it_fail "k1: recover: $(cat "$IT_DIR/k1.rec")"
stays k1 "$d" kill-mirror
d=$(vm k2)
rc=0
XLMIG_FAULT=send:go mig --storage xvda=sr2 k2 "$B" >"$IT_DIR/k2.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || it_fail "k2: the killed migration did not die"
for h in B A; do
	it_on $h xlmig recover -s "$IT_SSH" >"$IT_DIR/k2.rec.$h" 2>&1 ||
		it_fail "k2: recover on $h: $(cat "$IT_DIR/k2.rec.$h")"
done
grep -q 'source .*sr1/k2.img removed' "$IT_DIR/k2.rec.A" || it_fail "k2: recover on A: $(cat "$IT_DIR/k2.rec.A")"
sim_expect_only B k2
on_b k2 "$SRS/sr2/k2.img"
[ ! -e "$SRS/sr1/k2.img" ] || it_fail "k2's source was kept"
expect_tidy kill-go
it_log "refused, blind, cancel, kill: the guest on its source alone, or on B on the copy"
