#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-disk-prepare.sh - "xlmig disk-prepare" on xl.cfg files: a plain
# blkback disk gets its stable link and script=block-xlmig, a qdisk its
# link and xlmig's QMP monitor (device_model_args_pv; _hvm for an HVM
# guest), every other byte of the file and its mode kept; a second run
# changes nothing; refused, the file untouched: libxl JSON, another
# hotplug script, a qcow2 image on blkback, device model arguments of the
# admin's own, a link of that name naming another image, a missing image.
set -eu
build=${top_builddir:-.}
xlmig=$build/tools/xlmig
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0

fail() {
    echo "test-disk-prepare: FAIL: $*" >&2
    exit 1
}

# prep CFG VDEV: runs disk-prepare (links in $tmp/links); status in st.
prep() {
    st=0
    "$xlmig" disk-prepare --link-dir "$tmp/links" "$@" >"$tmp/out" \
        2>"$tmp/err" || st=$?
}

# refused CFG VDEV WORDS: disk-prepare fails saying WORDS, CFG unchanged.
refused() {
    local before
    before=$(sha256sum <"$1")
    prep "$1" "$2"
    [ "$st" -ne 0 ] || fail "$1 $2: accepted: $(cat "$tmp/out")"
    grep -q "$3" "$tmp/err" || fail "$1 $2: no '$3' in: $(cat "$tmp/err")"
    [ "$(sha256sum <"$1")" = "$before" ] || fail "$1 $2: changed though refused"
    n=$((n + 1))
}

truncate -s 4M "$tmp/a.img" "$tmp/b.img" "$tmp/c.qcow2"
cat >"$tmp/g.cfg" <<CFG
# guest g
name = "g"
type = "pvh"
memory = 64
disk = [ 'format=raw, vdev=xvda, access=rw, target=$tmp/a.img',
         '$tmp/b.img,raw,xvdb,rw,backendtype=qdisk' ]
on_crash = "destroy"
CFG
chmod 0640 "$tmp/g.cfg"
cp "$tmp/g.cfg" "$tmp/g.orig"

prep "$tmp/g.cfg" xvda
[ "$st" -eq 0 ] || fail "xvda: $(cat "$tmp/err")"
grep -q "block-xlmig" "$tmp/out" || fail "xvda: $(cat "$tmp/out")"
[ "$(readlink "$tmp/links/g-xvda")" = "$tmp/a.img" ] || fail "xvda: link $(readlink "$tmp/links/g-xvda")"
prep "$tmp/g.cfg" xvdb
[ "$st" -eq 0 ] || fail "xvdb: $(cat "$tmp/err")"
[ "$(readlink "$tmp/links/g-xvdb")" = "$tmp/b.img" ] || fail "xvdb: no link"
[ "$(stat -c %a "$tmp/g.cfg")" = 640 ] || fail "the mode changed"
diff "$tmp/g.orig" "$tmp/g.cfg" >"$tmp/diff" && fail "nothing changed"
cat >"$tmp/want" <<DIFF
5,6c5,6
< disk = [ 'format=raw, vdev=xvda, access=rw, target=$tmp/a.img',
<          '$tmp/b.img,raw,xvdb,rw,backendtype=qdisk' ]
---
> disk = [ 'script=block-xlmig, format=raw, vdev=xvda, access=rw, target=$tmp/links/g-xvda',
>          '$tmp/links/g-xvdb,raw,xvdb,rw,backendtype=qdisk' ]
7a8
> device_model_args_pv = [ "-qmp", "unix:/run/xen/xlmig-qmp-g.sock,server=on,wait=off" ]
DIFF
diff "$tmp/want" "$tmp/diff" >&2 || fail "the file is not as expected"
n=$((n + 1))
cp "$tmp/g.cfg" "$tmp/g.done"
for v in xvda xvdb; do
    prep "$tmp/g.cfg" $v
    [ "$st" -eq 0 ] && grep -q "prepared already" "$tmp/out" || fail "$v again: $(cat "$tmp/out" "$tmp/err")"
done
cmp -s "$tmp/g.cfg" "$tmp/g.done" || fail "a second run changed the file"
n=$((n + 1))

# HVM: the monitor goes to device_model_args_hvm.
cat >"$tmp/h.cfg" <<CFG
name = "h"
type = "hvm"
disk = [ 'format=raw, vdev=hda, access=rw, backendtype=qdisk, target=$tmp/a.img' ]
CFG
prep "$tmp/h.cfg" hda
[ "$st" -eq 0 ] || fail "hvm: $(cat "$tmp/err")"
grep -q '^device_model_args_hvm = \[ "-qmp", "unix:/run/xen/xlmig-qmp-h.sock' "$tmp/h.cfg" ||
    fail "hvm: $(cat "$tmp/h.cfg")"
n=$((n + 1))

# Refusals.
printf '{ "c_info": { "name": "j" } }\n' >"$tmp/j.cfg"
refused "$tmp/j.cfg" xvda "libxl JSON"
cat >"$tmp/s.cfg" <<CFG
name = "s"
disk = [ 'format=raw, vdev=xvda, script=block-iscsi, target=iqn.x' ]
CFG
refused "$tmp/s.cfg" xvda "block-iscsi"
cat >"$tmp/q.cfg" <<CFG
name = "q"
disk = [ 'format=qcow2, vdev=xvda, target=$tmp/c.qcow2' ]
CFG
refused "$tmp/q.cfg" xvda "raw images only"
cat >"$tmp/d.cfg" <<CFG
name = "d"
disk = [ 'format=raw, vdev=xvda, backendtype=qdisk, target=$tmp/a.img' ]
device_model_args_pv = [ "-trace", "none" ]
CFG
refused "$tmp/d.cfg" xvda "by hand"
cat >"$tmp/l.cfg" <<CFG
name = "g"
disk = [ 'format=raw, vdev=xvda, target=$tmp/b.img' ]
CFG
refused "$tmp/l.cfg" xvda "not $tmp/b.img"
cat >"$tmp/m.cfg" <<CFG
name = "m"
disk = [ 'format=raw, vdev=xvda, target=$tmp/missing.img' ]
CFG
refused "$tmp/m.cfg" xvda "No such file"
refused "$tmp/g.orig" xvdz "xvdz"
[ ! -e "$tmp/links/m-xvda" ] || fail "a link for a missing image"
echo "test-disk-prepare: $n checks passed"
