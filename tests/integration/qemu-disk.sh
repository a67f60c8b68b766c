# SPDX-License-Identifier: LGPL-2.1-or-later
# qemu-disk.sh - sourced by the integration tests of live storage moves: a
# sim domain on host A whose disk xvda is served by a real QEMU
# (qemu-system-x86_64 -M pc -S, a virtio-blk disk with serial xvda0, its
# image named by a symlink, the domain's stable name) with a monitor at
# QMPDIR/DOMID-xvda.sock, where the sim backend looks for the domain's
# QEMU; the test's own commands (the guest's writes, the checks) go to a
# second monitor at IT_DIR/qmp-test/DOMID.sock, which xlmig's connection
# to the first never blocks. The caller sets IT_DIR, SRS (its SRs sr1,
# sr2), LINKS, QMPDIR.

py() { python3 -c "$@"; }

# mkcfg FILE NAME DISK: a libxl JSON config of a PVH domain, xvda DISK.
mkcfg() {
	py 'import json, sys, uuid
f, name, disk = sys.argv[1:4]
cfg = {"c_info": {"type": "pvh", "name": name, "uuid": str(uuid.uuid4())},
       "b_info": {"max_memkb": 65536, "target_memkb": 65536,
                  "max_vcpus": 1, "type.pvh": {}},
       "disks": [{"pdev_path": disk, "vdev": "xvda", "format": "raw",
                  "backend": "qdisk", "readwrite": 1}]}
open(f, "w").write(json.dumps(cfg, indent=4) + "\n")' "$@"
}

# qmp DOMID CMD...: commands to the QEMU of DOMID; the last answer.
qmp() {
	local sock=$IT_DIR/qmp-test/$1.sock
	shift
	{
		printf '%s\n' '{"execute":"qmp_capabilities"}' "$@"
		sleep 0.5
	} | socat - "UNIX-CONNECT:$sock" | tr -d '\r' | grep '"return"' | tail -n 1
}

# guest_write DOMID OFF BYTE: the "guest" writes 64 KiB of BYTE at OFF.
guest_write() {
	local r
	r=$(qmp "$1" "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"qemu-io -d /machine/peripheral/vdisk/virtio-backend \\\"write -P $3 $2 64k\\\"\"}}")
	[ "$r" = '{"return": ""}' ] || it_fail "qemu-io write on domain $1: $r"
}

# vm NAME [MB]: a domain with a disk of MB MiB (32) in sr1 behind link
# LINKS/NAME, random data in its first 1/8 and from its 5/8 on for 1/16,
# served by its QEMU; prints its domid.
vm() {
	local img=$SRS/sr1/$1.img id sock pid mb=${2:-32}
	mkdir -p "$IT_DIR/qmp-test"
	truncate -s "${mb}M" "$img"
	dd if=/dev/urandom of="$img" bs=1M count=$((mb / 8)) conv=notrunc status=none
	dd if=/dev/urandom of="$img" bs=1M count=$((mb / 16)) seek=$((mb * 5 / 8)) \
		conv=notrunc status=none
	ln -s "$img" "$LINKS/$1"
	mkcfg "$IT_DIR/$1.cfg" "$1" "$LINKS/$1"
	id=$(it_on A xlmig sim-create --rate 100 --config "$IT_DIR/$1.cfg" "$1") ||
		it_fail "sim-create $1"
	sock=$QMPDIR/$id-xvda.sock
	qemu-system-x86_64 -M pc -m 16 -S -nodefaults -no-user-config \
		-display none -blockdev \
		"{\"driver\":\"raw\",\"node-name\":\"xvda-raw\",\"file\":{\"driver\":\"file\",\"filename\":\"$LINKS/$1\"}}" \
		-device virtio-blk-pci,drive=xvda-raw,id=vdisk,serial=xvda0 \
		-qmp "unix:$sock,server=on,wait=off" \
		-qmp "unix:$IT_DIR/qmp-test/$id.sock,server=on,wait=off" \
		>"$IT_DIR/$1.qemu" 2>&1 &
	pid=$!
	disown "$pid" 2>/dev/null || true
	echo "$pid" >"$IT_DIR/$1.qemu-pid"
	for _ in $(seq 100); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	[ -S "$sock" ] || it_fail "the QEMU of $1 did not start: $(cat "$IT_DIR/$1.qemu")"
	echo "$id"
}

# qemu_holds NAME IMAGE: NAME's QEMU has IMAGE open (its descriptors
# name a file by its current name, after a rename too).
qemu_holds() {
	ls -l "/proc/$(cat "$IT_DIR/$1.qemu-pid")/fd" | grep -qF " -> $2" ||
		it_fail "$1: QEMU does not hold $2: $(ls -l "/proc/$(cat "$IT_DIR/$1.qemu-pid")/fd" | grep -F "$SRS")"
}

# qemu_clean NAME DOMID OLD: no job, one format node, no fd on OLD.
qemu_clean() {
	local out n
	out=$(qmp "$2" '{"execute":"query-jobs"}')
	[ "$out" = '{"return": []}' ] || it_fail "$1: QEMU runs jobs: $out"
	out=$(qmp "$2" '{"execute":"query-named-block-nodes","arguments":{"flat":true}}')
	n=$(grep -o '"drv": "raw"' <<<"$out" | wc -l)
	[ "$n" -eq 1 ] || it_fail "$1: QEMU has $n raw nodes: ${out:0:300}"
	if [ -n "$3" ] && ls -l "/proc/$(cat "$IT_DIR/$1.qemu-pid")/fd" | grep -qF "$3"; then
		it_fail "$1: QEMU still holds $3"
	fi
}

