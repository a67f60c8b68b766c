#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-block-xlmig.sh - scripts/block-xlmig with fake dmsetup, losetup,
# blockdev and xenstore (tests/unit/fake-dm): add writes physical-device,
# physical-device-path and hotplug-status on a dm linear device over the
# image's loop (or the block device itself), read-only for mode r; add
# twice is harmless; writable sharing with another VM is refused, with
# the same VM (localhost migration) allowed; remove releases the loop
# devices its table names (a mirror's too), retries a busy remove and is
# idempotent; a failed create leaves nothing and reports the error.
set -eu
src=${top_srcdir:-.}
script=$src/scripts/block-xlmig
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export FAKE_DM_DIR=$tmp/state
export BLOCK_XLMIG_LOCK=$tmp/lock
PATH=$src/tests/unit/fake-dm:$PATH
mkdir "$FAKE_DM_DIR"
n=0

fail() {
    echo "test-block-xlmig: FAIL: $*" >&2
    echo "--- fake log:" >&2
    cat "$FAKE_DM_DIR/log" >&2 || true
    exit 1
}

ok() {
    n=$((n + 1))
}

# xs KEY [VALUE]: reads (prints) or writes a fake xenstore key.
xs() {
    if [ $# = 2 ]; then
        xenstore-write "$1" "$2"
    else
        xenstore-read "$1" 2>/dev/null
    fi
}

# expect KEY VALUE: the fake xenstore key has VALUE.
expect() {
    local v
    v=$(xs "$1") || fail "$1: not written"
    [ "$v" = "$2" ] || fail "$1: '$v', expected '$2'"
}

# disk DOMID VM MODE IMAGE: a backend node as libxl writes it.
disk() {
    xs "/local/domain/$1/vm" "$2"
    xs "backend/vbd/$1/51712/params" "$4"
    xs "backend/vbd/$1/51712/mode" "$3"
}

# run DOMID add|remove: the script as libxl runs it; status in $st,
# stderr in $tmp/err.
run() {
    st=0
    XENBUS_PATH=backend/vbd/$1/51712 XENBUS_TYPE=vbd \
        XENBUS_BASE_PATH=backend "$script" "$2" 2>"$tmp/err" || st=$?
}

loops() {
    cat "$FAKE_DM_DIR/loops"
}

table() {
    cat "$FAKE_DM_DIR/dm/$1/table"
}

truncate -s 4M "$tmp/d.img"
ln -s d.img "$tmp/link.img"

# add, through a symlink: a loop with direct I/O, a linear table on it.
disk 1 /vm/aaaa w "$tmp/link.img"
run 1 add
[ "$st" = 0 ] || fail "add: status $st: $(cat "$tmp/err")"
expect backend/vbd/1/51712/physical-device fd:0
expect backend/vbd/1/51712/physical-device-path /dev/mapper/xlmig-1-51712
expect backend/vbd/1/51712/hotplug-status connected
[ "$(table xlmig-1-51712)" = "0 8192 linear 7:0 0" ] ||
    fail "table: $(table xlmig-1-51712)"
grep -qx "losetup --find --show --direct-io=on $tmp/d.img" \
    "$FAKE_DM_DIR/log" || fail "no loop with direct I/O over the real path"
[ ! -e "$FAKE_DM_DIR/dm/xlmig-1-51712/readonly" ] || fail "read-only"
ok

# add again (libxl may): nothing new.
: >"$FAKE_DM_DIR/log"
run 1 add
[ "$st" = 0 ] || fail "second add: status $st"
! grep -q "^dmsetup\|^losetup" "$FAKE_DM_DIR/log" || fail "second add acted"
ok

# another VM, writable: refused, busy, nothing left.
disk 2 /vm/bbbb w "$tmp/d.img"
run 2 add
[ "$st" = 1 ] || fail "shared add: status $st"
expect backend/vbd/2/51712/hotplug-status busy
grep -q "in use by domain 1" "$tmp/err" || fail "why: $(cat "$tmp/err")"
xs backend/vbd/2/51712/hotplug-error | grep -q "in use by domain 1" ||
    fail "hotplug-error: $(xs backend/vbd/2/51712/hotplug-error)"
[ ! -e "$FAKE_DM_DIR/dm/xlmig-2-51712" ] || fail "shared add made a device"
[ "$(loops | wc -l)" = 1 ] || fail "shared add left a loop: $(loops)"
ok

# another VM, read-only, while domain 1 writes: refused too.
disk 4 /vm/dddd r "$tmp/d.img"
run 4 add
[ "$st" = 1 ] || fail "read-only shared add: status $st"
expect backend/vbd/4/51712/hotplug-status busy
ok

# the same VM (a localhost migration's incoming domain): allowed.
disk 3 /vm/aaaa w "$tmp/d.img"
run 3 add
[ "$st" = 0 ] || fail "same-VM add: status $st: $(cat "$tmp/err")"
[ "$(table xlmig-3-51712)" = "0 8192 linear 7:1 0" ] ||
    fail "same-VM table: $(table xlmig-3-51712)"
run 3 remove
[ "$st" = 0 ] || fail "same-VM remove: status $st: $(cat "$tmp/err")"
ok

# remove, with blkback still holding the device for a moment.
echo 1 >"$FAKE_DM_DIR/remove-busy"
: >"$FAKE_DM_DIR/log"
run 1 remove
[ "$st" = 0 ] || fail "remove: status $st: $(cat "$tmp/err")"
[ ! -e "$FAKE_DM_DIR/dm/xlmig-1-51712" ] || fail "device left"
[ -z "$(loops)" ] || fail "loop left: $(loops)"
[ "$(grep -c "^dmsetup remove xlmig-1-51712$" "$FAKE_DM_DIR/log")" = 2 ] ||
    fail "busy remove not retried once"
grep -qx "losetup -d /dev/loop0" "$FAKE_DM_DIR/log" || fail "loop not released"
ok

# remove again: nothing there, fine.
run 1 remove
[ "$st" = 0 ] || fail "second remove: status $st: $(cat "$tmp/err")"
ok

# read-only: loop and table read-only.
xs backend/vbd/4/51712/hotplug-status ''
run 4 add
[ "$st" = 0 ] || fail "read-only add: status $st: $(cat "$tmp/err")"
grep -qx "losetup --find --show --direct-io=on -r $tmp/d.img" \
    "$FAKE_DM_DIR/log" || fail "read-only: no losetup -r"
[ -e "$FAKE_DM_DIR/dm/xlmig-4-51712/readonly" ] || fail "table writable"
run 4 remove
[ "$st" = 0 ] || fail "read-only remove: status $st"
ok

# a filesystem without direct I/O (tmpfs): a buffered loop instead; the
# dm node made (no udev in a minimal dom0).
: >"$FAKE_DM_DIR/no-dio"
: >"$FAKE_DM_DIR/log"
disk 9 /vm/dddd w "$tmp/d.img"
run 9 add
[ "$st" = 0 ] || fail "add without direct I/O: status $st: $(cat "$tmp/err")"
grep -qx "losetup --find --show $tmp/d.img" "$FAKE_DM_DIR/log" ||
    fail "no buffered loop after direct I/O was refused"
grep -qx "dmsetup mknodes xlmig-9-51712" "$FAKE_DM_DIR/log" ||
    fail "no dmsetup mknodes"
expect backend/vbd/9/51712/hotplug-status connected
run 9 remove
[ "$st" = 0 ] || fail "remove of the buffered one: status $st"
rm -f "$FAKE_DM_DIR/no-dio"
ok

# remove mid-mirror (xlmig's dm mover): both legs' loops released.
disk 5 /vm/eeee w "$tmp/d.img"
run 5 add
[ "$st" = 0 ] || fail "add 5: status $st: $(cat "$tmp/err")"
truncate -s 4M "$tmp/t.img"
losetup --find --show --direct-io=on "$tmp/t.img" >/dev/null
dmsetup load xlmig-5-51712 --table \
    "0 8192 mirror core 1 1024 2 7:0 0 7:1 0 1 handle_errors"
dmsetup resume xlmig-5-51712
run 5 remove
[ "$st" = 0 ] || fail "mirror remove: status $st: $(cat "$tmp/err")"
[ -z "$(loops)" ] || fail "mirror remove left: $(loops)"
ok

# dmsetup create fails: the loop released, the error reported.
touch "$FAKE_DM_DIR/fail-create"
disk 6 /vm/ffff w "$tmp/d.img"
run 6 add
rm "$FAKE_DM_DIR/fail-create"
[ "$st" = 1 ] || fail "failed add: status $st"
expect backend/vbd/6/51712/hotplug-status error
xs backend/vbd/6/51712/hotplug-error | grep -q "dmsetup create failed" ||
    fail "hotplug-error: $(xs backend/vbd/6/51712/hotplug-error)"
[ -z "$(loops)" ] || fail "failed add left a loop: $(loops)"
[ ! -e "$FAKE_DM_DIR/dm/xlmig-6-51712" ] || fail "failed add left a device"
ok

# neither a file nor a block device: refused.
mkdir "$tmp/dir"
disk 7 /vm/gggg w "$tmp/dir"
run 7 add
[ "$st" = 1 ] || fail "directory add: status $st"
xs backend/vbd/7/51712/hotplug-error | grep -q "neither a file nor" ||
    fail "directory: $(xs backend/vbd/7/51712/hotplug-error)"
ok

# a block device (a node only: nothing opens it): used as it is.
if mknod "$tmp/blk" b 240 77 2>/dev/null; then
    echo "240:77 4096 $tmp/blk" >"$FAKE_DM_DIR/blockdevs"
    disk 8 /vm/hhhh w "$tmp/blk"
    : >"$FAKE_DM_DIR/log"
    run 8 add
    [ "$st" = 0 ] || fail "block device add: status $st: $(cat "$tmp/err")"
    [ "$(table xlmig-8-51712)" = "0 4096 linear 240:77 0" ] ||
        fail "block device table: $(table xlmig-8-51712)"
    ! grep -q "^losetup --find" "$FAKE_DM_DIR/log" || fail "a loop for a bdev"
    run 8 remove
    [ "$st" = 0 ] || fail "block device remove: status $st"
    [ ! -e "$FAKE_DM_DIR/dm/xlmig-8-51712" ] || fail "bdev device left"
    ok
fi

# not a vbd backend path: refused.
st=0
XENBUS_PATH=backend/vif/1/0 "$script" add 2>"$tmp/err" || st=$?
[ "$st" = 1 ] || fail "vif path: status $st"
ok

[ -z "$(ls "$FAKE_DM_DIR/dm")" ] || fail "devices left: $(ls "$FAKE_DM_DIR/dm")"
echo "test-block-xlmig: $n checks passed"
