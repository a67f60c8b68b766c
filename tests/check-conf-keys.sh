#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fails unless the shipped etc/xlmig.conf (the packages' /etc/xen/xlmig.conf)
# and xlmig.conf(5) name the same keys: every key the page documents is in
# the file, once, commented out, and the file has no key the page lacks.
# Keys of the page: the tags (.TP, then .B or .BR) of its key sections,
# outside .RS/.RE (those are values, e.g. incoming_allow's). Keys of the
# file: lines "#key = value"; every other line is a "# " comment or blank.
set -eu
top=${top_srcdir:-$(dirname "$0")/..}
page=$top/docs/xlmig.conf.5
conf=$top/etc/xlmig.conf
for f in "$page" "$conf"; do
    [ -r "$f" ] || { echo "check-conf-keys: cannot read $f" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Sections whose .TP tags are not keys.
awk '
/^\.SH/ { sec = $0; sub(/^\.SH[ \t]*/, "", sec); gsub(/"/, "", sec)
          skip = (sec ~ /^(NAME|SYNOPSIS|DESCRIPTION|EXAMPLES?|FILES|ENVIRONMENT|SEE ALSO|NOTES|BUGS)$/)
          depth = 0; tag = 0; next }
/^\.RS/ { depth++; next }
/^\.RE/ { if (depth > 0) depth--; next }
/^\.TP/ { tag = (depth == 0 && !skip); next }
tag { tag = 0
      if ($0 !~ /^\.BR? /) { printf "BAD %d %s\n", NR, $0; next }
      line = $0; sub(/^\.BR? /, "", line); gsub(/"[^"]*"/, " ", line)
      n = split(line, w, " ")
      for (i = 1; i <= n; i++) print w[i] }
' "$page" >"$tmp/page.raw"
if grep -q '^BAD ' "$tmp/page.raw"; then
    sed -n 's/^BAD \([0-9]*\) \(.*\)/check-conf-keys: docs\/xlmig.conf.5:\1: a key tag that is not .B or .BR: \2/p' \
        "$tmp/page.raw" | head -n 1 >&2
    exit 1
fi
bad=$(grep -v '^[a-z][a-z0-9_]*$' "$tmp/page.raw" | head -n 1 || true)
if [ -n "$bad" ]; then
    echo "check-conf-keys: docs/xlmig.conf.5: \"$bad\" in a key tag is not a key name" >&2
    exit 1
fi
sort -u "$tmp/page.raw" >"$tmp/page"
[ -s "$tmp/page" ] || { echo "check-conf-keys: no key found in $page" >&2; exit 1; }

# The file: all commented out, one "#key = value" per key.
bad=$(grep -n -v -e '^$' -e '^# ' -e '^#$' -e '^#[a-z][a-z0-9_]* = ' "$conf" | head -n 1 || true)
if [ -n "$bad" ]; then
    echo "check-conf-keys: etc/xlmig.conf:${bad%%:*}: neither a \"# \" comment nor a commented \"#key = value\"" >&2
    exit 1
fi
sed -n 's/^#\([a-z][a-z0-9_]*\) = .*/\1/p' "$conf" >"$tmp/conf.raw"
dup=$(sort "$tmp/conf.raw" | uniq -d | head -n 1)
if [ -n "$dup" ]; then
    echo "check-conf-keys: etc/xlmig.conf sets $dup more than once" >&2
    exit 1
fi
sort -u "$tmp/conf.raw" >"$tmp/conf"
# Each key's one-line meaning and default, right above it.
while read -r k; do
    if ! grep -B1 "^#$k = " "$conf" | head -n 1 | grep -q "^# $k: .*(default"; then
        echo "check-conf-keys: etc/xlmig.conf: $k lacks a \"# $k: meaning (default ...)\" line above it" >&2
        exit 1
    fi
done <"$tmp/conf"

missing=$(comm -23 "$tmp/page" "$tmp/conf" | paste -sd ' ' -)
extra=$(comm -13 "$tmp/page" "$tmp/conf" | paste -sd ' ' -)
if [ -n "$missing" ] || [ -n "$extra" ]; then
    echo "check-conf-keys: etc/xlmig.conf and xlmig.conf(5) differ:${missing:+ not in etc/xlmig.conf: $missing}${extra:+ not in xlmig.conf(5): $extra}" >&2
    exit 1
fi
echo "check-conf-keys: $(wc -l <"$tmp/conf") keys, the same in etc/xlmig.conf and xlmig.conf(5)"
