#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-stream-info.sh - "xlmig stream-info" on streams and xl save files
# written by mkstream (stream.c's and proto.c's encoders): counts, guest
# types, trailing bytes, stdin, valid JSON; truncated and corrupt input
# fails with one line naming the offset.
set -eu
build=${top_builddir:-.}
xlmig=$build/tools/xlmig
mk=$build/tests/unit/mkstream
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0

fail() {
    echo "test-stream-info: FAIL: $*" >&2
    exit 1
}

ok() {
    n=$((n + 1))
}

# si ARGS...: run stream-info; output in $tmp/out and $tmp/err, status $st.
si() {
    st=0
    "$xlmig" stream-info "$@" >"$tmp/out" 2>"$tmp/err" || st=$?
}

# expect_line REGEX: $tmp/out has a line matching the extended REGEX.
expect_line() {
    grep -Eq -- "$1" "$tmp/out" || {
        cat "$tmp/out" >&2
        fail "no line /$1/ in the output of: $what"
    }
}

# expect_ok WHAT FILE: exit 0, nothing on stderr, the common counts.
expect_ok() {
    what=$1
    [ "$st" -eq 0 ] || fail "$what: exit $st: $(cat "$tmp/err")"
    [ ! -s "$tmp/err" ] || fail "$what: stderr: $(cat "$tmp/err")"
    expect_line '^pfns: +1283$'
    expect_line '^data pages: +1271 \(5\.0 MiB\)$'
    expect_line '^rounds: +2 \(heuristic\)$'
    expect_line '^  PAGE_DATA +3$'
    expect_line '^  LIBXC_CONTEXT +1$'
    expect_line '^xen version: +4\.17$'
    expect_line '^end: +well-formed'
    ok
}

# expect_fail WHAT REGEX: exit 1, nothing on stdout, one line on stderr
# matching "xlmig stream-info: REGEX".
expect_fail() {
    what=$1
    [ "$st" -eq 1 ] || fail "$what: exit $st, expected 1"
    [ ! -s "$tmp/out" ] || fail "$what: output on stdout"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] ||
        fail "$what: not one line on stderr: $(cat "$tmp/err")"
    grep -Eq -- "^xlmig stream-info: $2" "$tmp/err" ||
        fail "$what: stderr '$(cat "$tmp/err")' does not match /$2/"
    ok
}

# json_check WHAT PYTHON-EXPR: the JSON in $tmp/out is valid and EXPR
# (over the object j) is true.
json_check() {
    python3 -m json.tool "$tmp/out" >/dev/null ||
        fail "$1: invalid JSON: $(cat "$tmp/out")"
    python3 -c 'import json, sys
j = json.load(open(sys.argv[1], encoding="utf-8"))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$tmp/out" "$2" ||
        fail "$1: JSON does not satisfy $2: $(cat "$tmp/out")"
    ok
}

for k in pv hvm pvh save-pv save-hvm save-pvh save-odd; do
    "$mk" "$k" "$tmp/$k"
done

# Guest types: the libxc header says PV or HVM; the config or emulator
# records tell HVM from PVH.
for k in pv:PV hvm:HVM 'pvh:HVM or PVH' save-pv:PV save-hvm:HVM \
    save-pvh:PVH; do
    f=${k%%:*}
    si "$tmp/$f"
    expect_ok "$f"
    expect_line "^guest type: +${k#*:}\$"
    expect_line '^trailing bytes: +0$'
done
si "$tmp/pv"
expect_line '^format: +bare libxl stream, libxl stream at offset 0$'
expect_line '^  X86_PV_INFO +1$'
si "$tmp/hvm"
expect_line '^  EMULATOR_CONTEXT +1$'
si "$tmp/save-pvh"
expect_line '^format: +xl save file, libxl stream at offset [1-9][0-9]*$'
expect_line '^domain: +si-pvh \(config type pvh, memory 128 MiB\)$'
expect_line '^save header: +mandatory flags 0x3 '
si "$tmp/save-odd"
expect_line '^domain: +gu\\xc3\\xa9"st\\x01\\x5c \(config type pvh\)$'

# Standard input.
st=0
"$xlmig" stream-info - <"$tmp/save-pv" >"$tmp/out" 2>"$tmp/err" || st=$?
expect_ok "stdin"
expect_line '^file: +stdin$'
expect_line '^domain: +si-pv '
# shellcheck disable=SC2002 # a pipe, unlike a redirected file
cat "$tmp/hvm" | "$xlmig" stream-info --json - >"$tmp/out" 2>"$tmp/err"
json_check "stdin json" 'j["file"] == "stdin" and j["guest_type"] == "HVM"'

# JSON.
si --json "$tmp/save-pv"
json_check "json" 'j["format"] == "xl-save" and j["guest_type"] == "PV"
    and j["domain"]["name"] == "si-pv" and j["pfns"] == 1283
    and j["data_pages"] == 1271 and j["rounds"] == 2 and j["end"]
    and j["libxc_records"]["PAGE_DATA"] == 3
    and j["libxl_records"] == {"END": 1, "LIBXC_CONTEXT": 1}
    and j["trailing_bytes"] == 0 and j["xen_version"] == "4.17"
    and j["total_bytes"] == j["stream_offset"] + j["stream_bytes"]
    and j["domain"]["memory_kib"] == 131072'
si --json "$tmp/save-odd"
json_check "json escaping" 'j["domain"]["name"] == "gu\u00e9\"st\x01\\"'
si --json "$tmp/pvh"
json_check "json bare" 'j["save_header"] is None and j["domain"] is None
    and j["guest_type"] == "HVM or PVH" and j["stream_offset"] == 0'
# A file name that is not UTF-8 still gives valid JSON.
bad=$(printf '%s/bad-\377.si' "$tmp")
cp "$tmp/pv" "$bad"
si --json "$bad"
json_check "json non-UTF-8 name" 'j["file"].endswith("bad-\ufffd.si")'

# Trailing bytes are counted, not parsed.
cp "$tmp/save-pv" "$tmp/trail"
printf 'domain is yours\000garbage' >>"$tmp/trail"
si "$tmp/trail"
expect_ok "trailing"
expect_line '^trailing bytes: +23 \("domain is yours\\x00garbage"\)$'
si --json "$tmp/trail"
json_check "json trailing" 'j["trailing_bytes"] == 23
    and j["trailing_start"] == "domain is yours\\x00garbage"'

# Truncation: offsets are the file's, also in an xl save file.
size=$(wc -c <"$tmp/save-pv")
cut=$((size - 3000))
head -c "$cut" "$tmp/save-pv" >"$tmp/cut"
si "$tmp/cut"
expect_fail "truncated" "$tmp/cut: offset $cut: stream ends inside libxc \
PAGE_DATA record at offset [0-9]+\$"
head -c 1000000 "$tmp/pv" | "$xlmig" stream-info - >"$tmp/out" \
    2>"$tmp/err" && st=0 || st=$?
expect_fail "truncated stdin" \
    "stdin: offset 1000000: stream ends inside libxc PAGE_DATA record"
head -c 20 "$tmp/save-pv" >"$tmp/cut"
si "$tmp/cut"
expect_fail "cut save header" "$tmp/cut: offset 20: save header is 20 bytes"
head -c 60 "$tmp/save-pv" >"$tmp/cut"
si "$tmp/cut"
expect_fail "cut config" "$tmp/cut: offset 60: input ends inside the saved"
: >"$tmp/empty"
si "$tmp/empty"
expect_fail "empty" "$tmp/empty: offset 0: stream ends inside the libxl header"

# Corruption.
cp "$tmp/pv" "$tmp/bad"
printf 'X' | dd of="$tmp/bad" bs=1 seek=3 conv=notrunc 2>/dev/null
si "$tmp/bad"
expect_fail "bad ident" "$tmp/bad: offset 0: bad libxl stream ident"
cp "$tmp/save-pv" "$tmp/bad"
printf 'Q' | dd of="$tmp/bad" bs=1 seek=10 conv=notrunc 2>/dev/null
si "$tmp/bad"
expect_fail "bad save magic" "$tmp/bad: offset 0: bad save header magic"
cp "$tmp/pv" "$tmp/bad"
printf '\377' | dd of="$tmp/bad" bs=1 seek=64 conv=notrunc 2>/dev/null
si "$tmp/bad"
expect_fail "unknown record" \
    "$tmp/bad: offset 64: unknown mandatory libxc record"
si "$tmp/missing"
expect_fail "missing file" "$tmp/missing: No such file"

# Usage.
si
[ "$st" -eq 2 ] || fail "no argument: exit $st, expected 2"
ok

echo "test-stream-info: $n checks passed"
