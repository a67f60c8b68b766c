#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-98-storage.sh - storage repositories and storage moves on sim hosts A
# and B, which share the directories $IT_DIR/srs/{sr1,sr2} (one
# filesystem: what both see is shared storage):
#  ident    sr-create writes an identity that B reads too; B declaring sr1
#           at a local directory of its own sees it unavailable, or, once
#           made an SR, as another identity; `xlmig check` then calls a
#           disk in A's sr1 not shared, and by identity shared once B
#           declares the real sr1
#  cold     a halted domain's raw (sparse) and qcow2 disks moved by
#           --config: content equal, the copy no more allocated than the
#           source, the source gone (or kept), the config file changed in
#           its disk line only
#  offline  a running domain moved --offline: its guest counts on, its disk
#           content is the same, sr-list shows it in sr2
#  refused  a live move of a running sim domain's disk (no mover); a qcow2 whose backing file
#           is outside its SR; the disk's own SR; an unknown SR
#  enospc   the target fills up mid-copy: the error names it, the partial
#           copy is gone, the config unchanged
#  cancel   job-cancel mid-copy: exit 1, the source in use, nothing left
#  kill     SIGKILL at every phase of cold and offline moves, then recover:
#           exactly one usable disk, the config never naming a partial
#           copy, the domain running once
#  limit    the storage limit 1 queues a second move (and --no-wait fails)
#  coldmig  migrate --config of a halted domain (with --storage) puts its
#           config in B's config dir and removes A's; B refuses a config
#           whose disk it cannot see
# Throughout: no journal, job, part or save file left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-98-storage 420
it_setup 2

SRS=$IT_DIR/srs
mkdir -p "$SRS/sr1" "$SRS/sr2" "$SRS/far"
for h in A B; do
	mkdir -p "$(it_host_dir "$h")/etc-xen"
	printf 'sr = [ "sr1:dir:%s", "sr2:dir:%s" ]\n' "$SRS/sr1" "$SRS/sr2" \
		>"$(it_host_dir "$h")/xlmig.conf"
done

py() { python3 -c "$@"; }

# sr_uuid HOST SR: the identity HOST's sr-list shows for SR.
sr_uuid() {
	it_on "$1" xlmig sr-list --json | py 'import json, sys
for s in json.load(sys.stdin):
    if s["name"] == sys.argv[1]: print(s["uuid"])' "$2"
}

# mkcfg FILE NAME [DISK [FORMAT]]: a libxl JSON config of a 64 MiB PVH
# domain with disk xvda (and xvdb: a second, never moved).
mkcfg() {
	py 'import json, sys, uuid
f, name = sys.argv[1], sys.argv[2]
disks = []
if len(sys.argv) > 3:
    disks.append({"pdev_path": sys.argv[3], "vdev": "xvda",
                  "format": sys.argv[4] if len(sys.argv) > 4 else "raw",
                  "readwrite": 1})
cfg = {"c_info": {"type": "pvh", "name": name, "uuid": str(uuid.uuid4())},
       "b_info": {"max_memkb": 65536, "target_memkb": 65536,
                  "max_vcpus": 1, "type.pvh": {}},
       "disks": disks}
open(f, "w").write(json.dumps(cfg, indent=4) + "\n")' "$@"
}

# cfg_disk FILE: the path of xvda in config FILE.
cfg_disk() {
	py 'import json, sys
for d in json.load(open(sys.argv[1]))["disks"]:
    if d["vdev"] == "xvda": print(d["pdev_path"])' "$1"
}

# mkimg PATH MB: a sparse raw image with 4 MiB of data at 0, 1/3, the end.
mkimg() {
	truncate -s "${2}M" "$1"
	dd if=/dev/urandom of="$1" bs=1M count=4 conv=notrunc status=none
	dd if=/dev/urandom of="$1" bs=1M count=4 seek=$(($2 / 3)) conv=notrunc status=none
	dd if=/dev/urandom of="$1" bs=1M count=4 seek=$(($2 - 4)) conv=notrunc status=none
}

blocks() { stat -c %b "$1"; }

# expect_tidy WHAT: no journal, job, part or save file on either host.
expect_tidy() {
	local h left
	for h in A B; do
		[ "$(sim_jobs "$h")" = 0 ] || it_fail "$1: jobs left on $h"
		left=$(ls -A "$(it_host_dir "$h")/state" 2>/dev/null || true)
		[ -z "$left" ] || it_fail "$1: journals left on $h: $left"
	done
	left=$(ls -A "$SRS/sr1" "$SRS/sr2" | grep -E '^\.xlmig-(part|save)-' || true)
	[ -z "$left" ] || it_fail "$1: leftovers in the SRs: $left"
}

smove() { it_on A xlmig storage-move --progress=none "$@"; }
bg_smove() { # NAME ARGS...: a move in the background; NAME.rc its status
	local n=$1 rc=0
	shift
	smove "$@" >"$IT_DIR/$n.out" 2>&1 || rc=$?
	echo "$rc" >"$IT_DIR/$n.rc"
}

# ---- ident ------------------------------------------------------------------
u1=$(it_on A xlmig sr-create sr1 dir "$SRS/sr1") || it_fail "sr-create sr1"
it_on A xlmig sr-create sr2 dir "$SRS/sr2" >/dev/null || it_fail "sr-create sr2"
rc=0
it_on B xlmig sr-create sr1 dir "$SRS/sr1" >"$IT_DIR/again.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q 'is an SR already' "$IT_DIR/again.out" ||
	it_fail "a second sr-create of sr1 was not refused: $(cat "$IT_DIR/again.out")"
[ "$(sr_uuid B sr1)" = "$u1" ] || it_fail "B sees sr1 as '$(sr_uuid B sr1)', A made $u1"
it_on B xlmig sr-show sr1 | grep -q "identity:  $u1" || it_fail "sr-show on B"

# B's "sr1" at a local directory: unavailable, then another SR.
mkdir -p "$(it_host_dir B)/local-sr1"
printf 'sr = [ "sr1:dir:%s", "sr2:dir:%s" ]\n' "$(it_host_dir B)/local-sr1" \
	"$SRS/sr2" >"$(it_host_dir B)/xlmig.conf"
it_on B xlmig sr-list | grep -q 'unavailable: .* has no identity' ||
	it_fail "B's local sr1 is not reported unavailable: $(it_on B xlmig sr-list)"
mkimg "$SRS/sr1/chk.img" 32
mkcfg "$IT_DIR/chk.cfg" chk "$SRS/sr1/chk.img"
it_on A xlmig sim-create --rate 100 --config "$IT_DIR/chk.cfg" chk >/dev/null
rc=0
it_on A xlmig check -s "$IT_SSH" chk "$(it_ip B)" >"$IT_DIR/check1" 2>&1 || rc=$?
grep -q "disk-storage.*source's SR $u1, which this host does not declare" "$IT_DIR/check1" ||
	it_fail "check with B's local sr1 (exit $rc): $(cat "$IT_DIR/check1")"
# B's "sr1" an SR of its own that holds the disk's path (as a different
# filesystem mounted over the path would)
printf 'sr = [ "sr1:dir:%s", "sr2:dir:%s" ]\n' "$SRS" "$SRS/sr2" \
	>"$(it_host_dir B)/xlmig.conf"
it_on B xlmig sr-create sr1 dir "$SRS" >/dev/null
[ "$(sr_uuid B sr1)" != "$u1" ] || it_fail "B's other sr1 has A's identity"
rc=0
it_on A xlmig check -s "$IT_SSH" chk "$(it_ip B)" >"$IT_DIR/check2" 2>&1 || rc=$?
grep -q "disk-storage.*sees as another SR" "$IT_DIR/check2" ||
	it_fail "check with B's other sr1 (exit $rc): $(cat "$IT_DIR/check2")"
rm "$SRS/.xlmig-sr"
printf 'sr = [ "sr1:dir:%s", "sr2:dir:%s" ]\n' "$SRS/sr1" "$SRS/sr2" \
	>"$(it_host_dir B)/xlmig.conf"
it_on A xlmig check --json -s "$IT_SSH" chk "$(it_ip B)" >"$IT_DIR/check3" 2>&1 ||
	it_fail "check with the shared sr1 failed: $(cat "$IT_DIR/check3")"
grep -q "is in SR sr1, the source's (identity $u1)" "$IT_DIR/check3" ||
	it_fail "check does not say sr1 is shared by identity: $(cat "$IT_DIR/check3")"
it_on A xlmig sr-list --json | py 'import json, sys
s = {x["name"]: x for x in json.load(sys.stdin)}
d = s["sr1"]["disks"]
assert len(d) == 1 and d[0]["domain"] == "chk" and d[0]["vdev"] == "xvda", d
assert s["sr1"]["free"] > 0 and s["sr1"]["size"] >= s["sr1"]["free"], s' ||
	it_fail "sr-list does not show chk's disk in sr1"
it_on A xlmig destroy chk
it_log "ident: sr1 is $u1 on both; a local sr1 refused"

# ---- cold -------------------------------------------------------------------
mkimg "$SRS/sr1/c1.img" 64
sum0=$(sha256sum <"$SRS/sr1/c1.img")
mkcfg "$IT_DIR/c1.cfg" c1 "$SRS/sr1/c1.img"
cp "$IT_DIR/c1.cfg" "$IT_DIR/c1.cfg.orig"
b0=$(blocks "$SRS/sr1/c1.img")
smove --config "$IT_DIR/c1.cfg" xvda sr2 >"$IT_DIR/c1.out" 2>&1 ||
	it_fail "cold move of c1: $(cat "$IT_DIR/c1.out")"
[ ! -e "$SRS/sr1/c1.img" ] || it_fail "c1: the source is still there"
[ "$(cfg_disk "$IT_DIR/c1.cfg")" = "$SRS/sr2/c1.img" ] || it_fail "c1: config names $(cfg_disk "$IT_DIR/c1.cfg")"
[ "$(sha256sum <"$SRS/sr2/c1.img")" = "$sum0" ] || it_fail "c1: the copy differs"
b1=$(blocks "$SRS/sr2/c1.img")
[ "$b1" -le "$b0" ] || it_fail "c1: the copy has $b1 blocks, the source had $b0"
changed=$(diff "$IT_DIR/c1.cfg.orig" "$IT_DIR/c1.cfg" | grep -c '^[<>]' || true)
[ "$changed" = 2 ] ||
	it_fail "c1: the config changed beyond its disk line: $(diff "$IT_DIR/c1.cfg.orig" "$IT_DIR/c1.cfg")"
# and back, keeping the source
smove --keep-source --config "$IT_DIR/c1.cfg" xvda sr1 >"$IT_DIR/c1b.out" 2>&1 ||
	it_fail "c1 back: $(cat "$IT_DIR/c1b.out")"
[ -e "$SRS/sr2/c1.img" ] && [ -e "$SRS/sr1/c1.img" ] || it_fail "c1 back: --keep-source"
rm -f "$SRS/sr2/c1.img"
it_log "cold raw: $b0 -> $b1 blocks"

# qcow2, to qcow2 and to raw
qemu-img create -q -f qcow2 "$SRS/sr1/q1.qcow2" 64M
qemu-io -f qcow2 -c 'write -P 0x5a 1M 3M' -c 'write -P 0xa5 40M 1M' "$SRS/sr1/q1.qcow2" >/dev/null
cp "$SRS/sr1/q1.qcow2" "$IT_DIR/q1.ref"
mkcfg "$IT_DIR/q1.cfg" q1 "$SRS/sr1/q1.qcow2" qcow2
smove --config "$IT_DIR/q1.cfg" xvda sr2 >"$IT_DIR/q1.out" 2>&1 || it_fail "qcow2 move: $(cat "$IT_DIR/q1.out")"
qemu-img compare -q -f qcow2 -F qcow2 "$IT_DIR/q1.ref" "$SRS/sr2/q1.qcow2" || it_fail "qcow2 copy differs"
smove --format raw --config "$IT_DIR/q1.cfg" xvda sr1 >"$IT_DIR/q2.out" 2>&1 || it_fail "qcow2 to raw: $(cat "$IT_DIR/q2.out")"
[ "$(cfg_disk "$IT_DIR/q1.cfg")" = "$SRS/sr1/q1.img" ] || it_fail "q1: config names $(cfg_disk "$IT_DIR/q1.cfg")"
py 'import json, sys
d = [d for d in json.load(open(sys.argv[1]))["disks"] if d["vdev"] == "xvda"][0]
assert d["format"] == "raw", d' "$IT_DIR/q1.cfg" || it_fail "q1: format not raw in the config"
qemu-img compare -q -f qcow2 -F raw "$IT_DIR/q1.ref" "$SRS/sr1/q1.img" || it_fail "qcow2 -> raw differs"
expect_tidy cold

# ---- refused ----------------------------------------------------------------
mkimg "$SRS/sr1/r1.img" 16
mkcfg "$IT_DIR/r1.cfg" r1 "$SRS/sr1/r1.img"
it_on A xlmig sim-create --rate 100 --config "$IT_DIR/r1.cfg" r1 >/dev/null
rc=0
smove r1 xvda sr2 >"$IT_DIR/r1.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q -- 'cannot move while the guest runs: a simulated' "$IT_DIR/r1.out" &&
	grep -q -- 'remedy: give --offline, or make it movable' "$IT_DIR/r1.out" ||
	it_fail "a live move of a sim disk (exit $rc): $(cat "$IT_DIR/r1.out")"
rc=0
smove --config "$IT_DIR/r1.cfg" xvda sr2 >"$IT_DIR/r1b.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q 'is running' "$IT_DIR/r1b.out" ||
	it_fail "--config of a running domain (exit $rc): $(cat "$IT_DIR/r1b.out")"
rc=0
smove --offline r1 xvda sr2 </dev/null >"$IT_DIR/r1c.out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -q -- '--yes' "$IT_DIR/r1c.out" ||
	it_fail "--offline without --yes off a terminal (exit $rc): $(cat "$IT_DIR/r1c.out")"
sim_expect_running A r1
it_on A xlmig destroy r1
qemu-img create -q -f qcow2 "$SRS/far/base.qcow2" 16M
qemu-img create -q -f qcow2 -F qcow2 -b "$SRS/far/base.qcow2" "$SRS/sr1/r2.qcow2"
mkcfg "$IT_DIR/r2.cfg" r2 "$SRS/sr1/r2.qcow2" qcow2
for args in "xvda sr2|outside" "xvda sr1|in SR sr1 already" "xvda nosuch|no SR nosuch"; do
	rc=0
	case ${args%%|*} in
	*sr1 | *nosuch) smove --config "$IT_DIR/r1.cfg" ${args%%|*} >"$IT_DIR/r.out" 2>&1 || rc=$? ;;
	*) smove --config "$IT_DIR/r2.cfg" ${args%%|*} >"$IT_DIR/r.out" 2>&1 || rc=$? ;;
	esac
	[ "$rc" -eq 1 ] && grep -q "${args#*|}" "$IT_DIR/r.out" ||
		it_fail "refusal '${args#*|}' (exit $rc): $(cat "$IT_DIR/r.out")"
done
[ "$(cfg_disk "$IT_DIR/r2.cfg")" = "$SRS/sr1/r2.qcow2" ] || it_fail "r2's config changed"
expect_tidy refused

# ---- offline ----------------------------------------------------------------
mkimg "$SRS/sr1/o1.img" 48
sum0=$(sha256sum <"$SRS/sr1/o1.img")
mkcfg "$IT_DIR/o1.cfg" o1 "$SRS/sr1/o1.img"
it_on A xlmig sim-create --rate 1000 --config "$IT_DIR/o1.cfg" o1 >/dev/null
c0=$(sim_wait_counter A o1 3 10)
smove --offline --yes --config "$IT_DIR/o1.cfg" o1 xvda sr2 >"$IT_DIR/o1.out" 2>&1 ||
	it_fail "offline move of o1: $(cat "$IT_DIR/o1.out")"
sim_expect_only A o1
c1=$(sim_info A o1 counter)
[ "$c1" -gt "$c0" ] || it_fail "o1's counter went from $c0 to $c1"
[ "$(sha256sum <"$SRS/sr2/o1.img")" = "$sum0" ] || it_fail "o1: the copy differs"
[ ! -e "$SRS/sr1/o1.img" ] || it_fail "o1: the source is still there"
[ "$(cfg_disk "$IT_DIR/o1.cfg")" = "$SRS/sr2/o1.img" ] || it_fail "o1: its config file was not rewritten"
it_on A xlmig sr-list --json | py 'import json, sys
s = {x["name"]: x for x in json.load(sys.stdin)}
assert [d["domain"] for d in s["sr2"]["disks"]] == ["o1"], s["sr2"]
assert s["sr1"]["disks"] == [], s["sr1"]' || it_fail "sr-list does not show o1 in sr2"
it_on A xlmig destroy o1
# a paused domain stays paused
mkimg "$SRS/sr1/p1.img" 8
mkcfg "$IT_DIR/p1.cfg" p1 "$SRS/sr1/p1.img"
it_on A xlmig sim-create --rate 100 --config "$IT_DIR/p1.cfg" p1 >/dev/null
it_on A xlmig pause p1
smove --offline --yes p1 xvda sr2 >"$IT_DIR/p1.out" 2>&1 ||
	it_fail "offline move of paused p1: $(cat "$IT_DIR/p1.out")"
[ "$(sim_info A p1 state)" = paused ] || it_fail "p1 is $(sim_info A p1 state) after its move, not paused"
it_on A xlmig destroy p1
expect_tidy offline
it_log "offline: o1 counted $c0 -> $c1 across the move"

# ---- enospc -----------------------------------------------------------------
# sr3 is a 64 MiB tmpfs in the mount namespace of one shell; the move
# waits after its checks until the test has filled the tmpfs.
mkimg "$SRS/sr1/e1.img" 64
sum0=$(sha256sum <"$SRS/sr1/e1.img")
mkcfg "$IT_DIR/e1.cfg" e1 "$SRS/sr1/e1.img"
cp "$IT_DIR/e1.cfg" "$IT_DIR/e1.cfg.orig"
mkdir -p "$IT_DIR/sr3"
printf 'sr = [ "sr1:dir:%s", "sr2:dir:%s", "sr3:dir:%s" ]\n' "$SRS/sr1" \
	"$SRS/sr2" "$IT_DIR/sr3" >"$(it_host_dir A)/xlmig.conf"
rc=0
XLMIG_FAULT=move:transfer:wait XLMIG_FAULT_RESUME="$IT_DIR/e1.go" \
	it_on A sh -c 'mount -t tmpfs -o size=64m xlmig-it-sr3 "$1" &&
xlmig sr-create sr3 dir "$1" >/dev/null &&
{ xlmig storage-move --progress=none --config "$2" xvda sr3 & } &&
for i in $(seq 100); do [ -z "$(xlmig jobs --json | grep transfer)" ] || break; sleep 0.1; done &&
dd if=/dev/zero of="$1/fill" bs=1M count=56 status=none &&
touch "$3" && wait $!; rc=$?; ls -A "$1" >"$4"; exit $rc' \
	sh "$IT_DIR/sr3" "$IT_DIR/e1.cfg" "$IT_DIR/e1.go" "$IT_DIR/e1.left" \
	>"$IT_DIR/e1.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -qi 'no space left' "$IT_DIR/e1.out" ||
	it_fail "enospc (exit $rc): $(cat "$IT_DIR/e1.out")"
[ "$(tr '\n' ' ' <"$IT_DIR/e1.left")" = ".xlmig-sr fill " ] ||
	it_fail "enospc: left in sr3: $(cat "$IT_DIR/e1.left")"
cmp -s "$IT_DIR/e1.cfg" "$IT_DIR/e1.cfg.orig" || it_fail "enospc: the config changed"
[ "$(sha256sum <"$SRS/sr1/e1.img")" = "$sum0" ] || it_fail "enospc: the source changed"
printf 'sr = [ "sr1:dir:%s", "sr2:dir:%s" ]\n' "$SRS/sr1" "$SRS/sr2" \
	>"$(it_host_dir A)/xlmig.conf"
expect_tidy enospc

# ---- cancel -----------------------------------------------------------------
mkcfg "$IT_DIR/k1.cfg" k1 "$SRS/sr1/e1.img"
cp "$IT_DIR/k1.cfg" "$IT_DIR/k1.cfg.orig"
bg_smove k1 --bandwidth 4M --config "$IT_DIR/k1.cfg" xvda sr2 &
mover=$!
job=
for _ in $(seq 50); do
	job=$(it_on A xlmig jobs --json | py 'import json, sys
j = [j for j in json.load(sys.stdin)["jobs"] if j["kind"] == "storage" and j["phase"] == "transfer"]
print(j[0]["id"] if j else "")')
	[ -z "$job" ] || break
	sleep 0.1
done
[ -n "$job" ] || it_fail "cancel: the move never reached transfer: $(cat "$IT_DIR/k1.out")"
sleep 1
it_on A xlmig job-cancel "$job" >/dev/null || it_fail "job-cancel $job"
wait "$mover"
rc=$(cat "$IT_DIR/k1.rc")
[ "$rc" -eq 1 ] && grep -qi cancel "$IT_DIR/k1.out" || it_fail "cancel (exit $rc): $(cat "$IT_DIR/k1.out")"
cmp -s "$IT_DIR/k1.cfg" "$IT_DIR/k1.cfg.orig" || it_fail "cancel: the config changed"
[ ! -e "$SRS/sr2/e1.img" ] || it_fail "cancel: a copy was left in sr2"
[ "$(sha256sum <"$SRS/sr1/e1.img")" = "$sum0" ] || it_fail "cancel: the source changed"
expect_tidy cancel

# ---- kill -------------------------------------------------------------------
# where: the config and domain must name one complete image.
check_one() { # NAME CFG SUM
	local d
	d=$(cfg_disk "$2")
	[ -e "$d" ] || it_fail "$1: the config names $d, which is gone"
	[ "$(sha256sum <"$d")" = "$3" ] || it_fail "$1: $d is not the disk"
	case $d in
	"$SRS/sr1/"*) [ ! -e "$SRS/sr2/${d##*/}" ] || it_fail "$1: both copies left" ;;
	"$SRS/sr2/"*) [ ! -e "$SRS/sr1/${d##*/}" ] || it_fail "$1: both copies left" ;;
	esac
	echo "${d%/*}"
}
n=0
for mode in cold offline; do
	points="admit transfer copied go commit-files"
	[ "$mode" = cold ] || points="admit transfer saved copied go commit-files"
	for p in $points; do
		n=$((n + 1))
		vm=x$n
		mkimg "$SRS/sr1/$vm.img" 24
		sum0=$(sha256sum <"$SRS/sr1/$vm.img")
		mkcfg "$IT_DIR/$vm.cfg" "$vm" "$SRS/sr1/$vm.img"
		args=(--config "$IT_DIR/$vm.cfg" xvda sr2)
		if [ "$mode" = offline ]; then
			it_on A xlmig sim-create --rate 1000 --config "$IT_DIR/$vm.cfg" "$vm" >/dev/null
			c0=$(sim_wait_counter A "$vm" 3 10)
			args=(--offline --yes --config "$IT_DIR/$vm.cfg" "$vm" xvda sr2)
		fi
		rc=0
		XLMIG_FAULT=move:$p smove "${args[@]}" >"$IT_DIR/$vm.out" 2>&1 || rc=$?
		[ "$rc" -ne 0 ] || it_fail "$mode:$p: the move did not die"
		for _ in 1 2; do
			it_on A xlmig recover >"$IT_DIR/$vm.rec" 2>&1 ||
				it_fail "$mode:$p: recover: $(cat "$IT_DIR/$vm.rec")"
		done
		grep -q 'no interrupted migration' "$IT_DIR/$vm.rec" ||
			it_fail "$mode:$p: a second recover found work: $(cat "$IT_DIR/$vm.rec")"
		where=$(check_one "$mode:$p" "$IT_DIR/$vm.cfg" "$sum0")
		if [ "$mode" = offline ]; then
			sim_expect_only A "$vm"
			c1=$(sim_info A "$vm" counter)
			[ "$c1" -gt "$c0" ] || it_fail "$mode:$p: counter $c0 -> $c1"
			it_on A xlmig sr-list --json >"$IT_DIR/$vm.srs"
			py 'import json, sys
s = {x["name"]: x for x in json.load(open(sys.argv[3]))}
want = "sr2" if sys.argv[2].endswith("sr2") else "sr1"
assert [d["domain"] for d in s[want]["disks"]] == [sys.argv[1]], s' "$vm" "$where" "$IT_DIR/$vm.srs" ||
				it_fail "$mode:$p: the domain does not use the disk its config names ($where): $(cat "$IT_DIR/$vm.srs") recover: $(cat "$IT_DIR/$vm.rec")"
			it_on A xlmig destroy "$vm"
		fi
		expect_tidy "$mode:$p"
		it_log "kill $mode:$p: the disk is in ${where##*/}"
	done
done

# ---- limit ------------------------------------------------------------------
it_on A xlmig set-limit storage 1 >/dev/null
mkimg "$SRS/sr1/l1.img" 16
mkimg "$SRS/sr1/l2.img" 16
mkcfg "$IT_DIR/l1.cfg" l1 "$SRS/sr1/l1.img"
mkcfg "$IT_DIR/l2.cfg" l2 "$SRS/sr1/l2.img"
bg_smove l1 --bandwidth 4M --config "$IT_DIR/l1.cfg" xvda sr2 &
m1=$!
it_wait_until 10 "l1 to hold the storage slot" \
	eval '[ "$(it_on A xlmig jobs --json | grep -c "\"slot\": \"storage\"")" = 1 ]'
rc=0
smove --no-wait --config "$IT_DIR/l2.cfg" xvda sr2 >"$IT_DIR/l2.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q 'limit of storage' "$IT_DIR/l2.out" ||
	it_fail "--no-wait at the limit (exit $rc): $(cat "$IT_DIR/l2.out")"
bg_smove l2 --config "$IT_DIR/l2.cfg" xvda sr2 &
m2=$!
it_wait_until 10 "l2 to queue" \
	eval 'it_on A xlmig jobs --json | grep -q "\"queue_position\": 1"'
wait "$m1" "$m2"
[ "$(cat "$IT_DIR/l1.rc")" = 0 ] || it_fail "l1: $(cat "$IT_DIR/l1.out")"
[ "$(cat "$IT_DIR/l2.rc")" = 0 ] || it_fail "l2: $(cat "$IT_DIR/l2.out")"
[ -e "$SRS/sr2/l1.img" ] && [ -e "$SRS/sr2/l2.img" ] || it_fail "limit: the moves did not land"
it_on A xlmig set-limit storage 2 >/dev/null
expect_tidy limit

# ---- coldmig ----------------------------------------------------------------
# B writes received configs into its etc-xen (XLMIG_CONFIG_DIR, passed
# through B's sshd like XLMIG_FAULT).
mkimg "$SRS/sr2/m1.img" 16
mkcfg "$IT_DIR/m1.cfg" m1 "$SRS/sr2/m1.img"
ssh_b="$IT_SSH -o SetEnv=XLMIG_CONFIG_DIR=$(it_host_dir B)/etc-xen"
it_on A xlmig migrate -s "$ssh_b" --config "$IT_DIR/m1.cfg" --storage xvda=sr1 \
	m1 "$(it_ip B)" >"$IT_DIR/m1.out" 2>&1 || it_fail "cold migration: $(cat "$IT_DIR/m1.out")"
got=$(it_host_dir B)/etc-xen/m1.cfg
[ -e "$got" ] && [ ! -e "$IT_DIR/m1.cfg" ] || it_fail "cold migration: the config did not move"
[ "$(cfg_disk "$got")" = "$SRS/sr1/m1.img" ] || it_fail "cold migration: B's config names $(cfg_disk "$got")"
it_on B xlmig sim-create --rate 100 --config "$got" m1 >/dev/null || it_fail "B cannot create m1"
sim_expect_only B m1
it_on B xlmig destroy m1 >"$IT_DIR/d.out" 2>&1 || it_fail "destroy m1 on B: $(cat "$IT_DIR/d.out")"
# a disk B cannot see, a config B has already
mkdir -p "$IT_DIR/again.d" || it_fail "mkdir again: $(ls -la "$IT_DIR")"
mkcfg "$IT_DIR/m2.cfg" m2 "$SRS/sr1/nosuch.img"
mkcfg "$IT_DIR/again.d/m1.cfg" m1 "$SRS/sr1/m1.img"
for c in "m2.cfg|m2|not visible here" "again.d/m1.cfg|m1|exists here already"; do
	f=${c%%|*} rest=${c#*|}
	rc=0
	it_on A xlmig migrate -s "$ssh_b" --config "$IT_DIR/$f" "${rest%%|*}" \
		"$(it_ip B)" >"$IT_DIR/m.out" 2>&1 || rc=$?
	[ "$rc" -eq 1 ] && grep -q "${rest#*|}" "$IT_DIR/m.out" ||
		it_fail "cold migration refusal '${rest#*|}' (exit $rc): $(cat "$IT_DIR/m.out")"
	[ -e "$IT_DIR/$f" ] || it_fail "a refused cold migration removed A's $f"
done
# a hostile sender, straight to B's receiver: every header, size and
# name abuse is one "error" line, and B writes nothing
good=$(cat "$IT_DIR/m2.cfg")
hostile() { # EXPECT INPUT-PRINTF-FORMAT [ARGS...]
	local want=$1 out rc=0
	shift
	# shellcheck disable=SC2059
	out=$(printf "$@" | it_on A $ssh_b "$(it_ip B)" xlmig migrate-receive \
		--cold --timeout 5 2>/dev/null) || rc=$?
	[ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
		grep -q "^error .*$want" <<<"$out" ||
		it_fail "hostile cold sender ($want): exit $rc, reply '$out'"
}
hostile "malformed header" 'xlmig-cold 2 10 a.cfg\n0123456789'
hostile "malformed header" 'xlmig-cold 1 10 ../x.cfg\n0123456789'
hostile "malformed header" 'xlmig-cold 1 10 .x.cfg\n0123456789'
hostile "malformed header" 'xlmig-cold 1 10 x.sh\n0123456789'
hostile "malformed header" 'xlmig-cold 1 99999999 x.cfg\n'
hostile "malformed header" 'xlmig-cold 1 10 x.cfg extra\n0123456789'
hostile "malformed header" '%02000d\n' 0
hostile "NUL" 'xlmig-cold 1 4 x.cfg\n{\0}\n'
hostile "cannot be read" 'xlmig-cold 1 9 x.cfg\n{"c_info"'
hostile "incoming-policy" 'xlmig-cold 1 %d x.cfg\n%s' "$(printf '%s' "${good//$SRS\/sr1\/nosuch.img//etc/shadow}" | wc -c)" "${good//$SRS\/sr1\/nosuch.img//etc/shadow}"
rc=0
printf 'xlmig-cold 1 100 x.cfg\n{"c_' | it_on A $ssh_b "$(it_ip B)" xlmig \
	migrate-receive --cold --timeout 5 >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || it_fail "a truncated config was taken"
# a hostile receiver: a reply that is not "ok PATH" keeps the config here
mkcfg "$IT_DIR/m4.cfg" m4 "$SRS/sr1/m1.img"
for reply in 'ok\033[2J' 'error \033]0;pwned\007' '' "$(printf '%0600d' 0)"; do
	rc=0
	it_on A xlmig migrate -s "" --config "$IT_DIR/m4.cfg" m4 \
		"cat >/dev/null & printf '$reply\\n'" >"$IT_DIR/m4.out" 2>&1 || rc=$?
	[ "$rc" -eq 1 ] && [ -e "$IT_DIR/m4.cfg" ] ||
		it_fail "hostile receiver reply '$reply': exit $rc, $(cat "$IT_DIR/m4.out")"
	! grep -q "$(printf '\033')" "$IT_DIR/m4.out" ||
		it_fail "the receiver's control characters reached the terminal"
done
[ "$(ls "$(it_host_dir B)/etc-xen")" = m1.cfg ] || it_fail "B's config dir: $(ls -A "$(it_host_dir B)/etc-xen")"
expect_tidy coldmig

# ---- lvm --------------------------------------------------------------------
# A VG on a loop device of this run: made an SR, its identity the VG's
# uuid; a move into it succeeds where device-mapper is there, and
# elsewhere (this kernel may have none) fails at lvcreate leaving no LV.
vg=xlmigit$IT_ID
truncate -s 64M "$IT_DIR/pv.img"
loop=$(losetup -f --show "$IT_DIR/pv.img") || it_fail "losetup"
it_on_teardown "vgremove -f -q $vg 2>/dev/null; pvremove -q $loop 2>/dev/null; losetup -d $loop"
export LVM_SUPPRESS_FD_WARNINGS=1
pvcreate -q "$loop" >/dev/null && vgcreate -q "$vg" "$loop" >/dev/null || it_fail "vgcreate"
printf 'sr = [ "sr1:dir:%s", "sr2:dir:%s", "lv1:lvm:%s" ]\n' "$SRS/sr1" \
	"$SRS/sr2" "$vg" >"$(it_host_dir A)/xlmig.conf"
it_on A xlmig sr-show lv1 | grep -q "state: *unavailable: VG $vg is not an SR" ||
	it_fail "an untagged VG is not unavailable: $(it_on A xlmig sr-show lv1)"
ul=$(it_on A xlmig sr-create lv1 lvm "$vg") || it_fail "sr-create lv1"
[ "$ul" = "$(vgs --noheadings -o vg_uuid "$vg" | tr -d ' ')" ] || it_fail "lv1's identity $ul is not the VG's uuid"
vgs --noheadings -o vg_tags "$vg" | grep -qw xlmig_sr || it_fail "the VG is not tagged"
[ "$(sr_uuid A lv1)" = "$ul" ] || it_fail "sr-list shows lv1 as '$(sr_uuid A lv1)'"
rc=0
it_on A xlmig sr-create lv1 lvm "$vg" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || it_fail "a second sr-create of lv1 was not refused"
mkimg "$SRS/sr1/v1.img" 16
sum0=$(sha256sum <"$SRS/sr1/v1.img")
mkcfg "$IT_DIR/v1.cfg" v1 "$SRS/sr1/v1.img"
cp "$IT_DIR/v1.cfg" "$IT_DIR/v1.cfg.orig"
rc=0
smove --format qcow2 --config "$IT_DIR/v1.cfg" xvda lv1 >"$IT_DIR/v1.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q 'holds raw volumes only' "$IT_DIR/v1.out" ||
	it_fail "qcow2 into an LVM SR (exit $rc): $(cat "$IT_DIR/v1.out")"
rc=0
smove --config "$IT_DIR/v1.cfg" xvda lv1 >"$IT_DIR/v1.out" 2>&1 || rc=$?
if grep -qw device-mapper /proc/misc; then
	[ "$rc" -eq 0 ] || it_fail "move into lv1 (exit $rc): $(cat "$IT_DIR/v1.out")"
	[ "$(cfg_disk "$IT_DIR/v1.cfg")" = "/dev/$vg/v1" ] || it_fail "v1: config names $(cfg_disk "$IT_DIR/v1.cfg")"
	[ "$(head -c 16M "/dev/$vg/v1" | sha256sum)" = "$sum0" ] || it_fail "v1: the LV differs"
	lvs --noheadings -o lv_tags "$vg" | grep -q xlmig_job_ && it_fail "v1: the LV keeps its job tag"
	lvremove -f -q "$vg/v1" >/dev/null
else
	[ "$rc" -eq 1 ] && grep -qi 'lvchange -aey\|lvcreate' "$IT_DIR/v1.out" ||
		it_fail "move into lv1 without device-mapper (exit $rc): $(cat "$IT_DIR/v1.out")"
	cmp -s "$IT_DIR/v1.cfg" "$IT_DIR/v1.cfg.orig" || it_fail "v1: the config changed"
	[ "$(sha256sum <"$SRS/sr1/v1.img")" = "$sum0" ] || it_fail "v1: the source changed"
	it_log "lvm: no device-mapper here: the move failed cleanly"
fi
[ -z "$(lvs --noheadings -o lv_name "$vg")" ] || it_fail "LVs left in $vg: $(lvs --noheadings -o lv_name "$vg")"
expect_tidy lvm

sim_expect_procs B "sshd xenstored "
