#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# check-man.sh - every man page in docs/ renders without a warning, as a
# reader's "man -l" would show it: groff with every warning (at man's
# usual 80 columns), then mandoc's linter, which also knows what other
# formatters make of a page. Both are required (Debian: groff-base,
# mandoc; scripts/install-deps): a missing one fails this check rather
# than letting it pass without looking. Also: each page is installed
# (dist_man_MANS) and each xlmig page it refers to exists.
set -u
src=${top_srcdir:-.}
fail=0

bad() {
    echo "check-man: $*" >&2
    fail=1
}

command -v groff >/dev/null 2>&1 ||
    bad "groff is not installed (Debian package groff-base;" \
        "scripts/install-deps installs it)"
command -v mandoc >/dev/null 2>&1 ||
    bad "mandoc is not installed (Debian package mandoc;" \
        "scripts/install-deps installs it)"
[ "$fail" = 0 ] || exit 1

# The installed pages: dist_man_MANS with its continuation lines, as
# one line of words.
installed=" $(sed -n '/^dist_man_MANS/,/[^\\]$/p' "$src/Makefile.am" |
              tr -s '\\ \t\n' '    ') "

n=0
for page in "$src"/docs/*.[1-8]; do
    [ -f "$page" ] || continue
    n=$((n + 1))
    name=${page##*/}
    # groff names the file and line of each warning; -z: no output.
    out=$(LC_ALL=C.UTF-8 groff -Tutf8 -man -t -ww -z "$page" 2>&1) ||
        bad "$name: groff failed"
    [ -z "$out" ] || bad "$name: groff: $out"
    # mandoc: "mandoc: FILE:LINE:COL: WARNING: ..." (-W warning: warnings
    # and worse; its style hints are left out).
    out=$(mandoc -T lint -W warning "$page" 2>&1) || [ -n "$out" ] ||
        out="mandoc failed"
    [ -z "$out" ] || bad "$name: $out"
    case $installed in
    *" docs/$name "*) ;;
    *) bad "$name: not in dist_man_MANS of Makefile.am (not installed)" ;;
    esac
    # ".BR xlmig\-hooks (7)", ".RB ( xlmig\-jobs (5))" and the like: that
    # page must be here too.
    for ref in $(sed -n 's/^\.[BR][BR] \(.* \)\{0,1\}\(xlmig[-a-z.\\]*\) (\([1-8]\)).*/\2.\3/p' \
                 "$page" | tr -d '\134'); do
        [ -f "$src/docs/$ref" ] ||
            bad "$name: refers to $ref, which is not in docs/"
    done
done
[ "$n" -gt 0 ] || bad "no man pages in $src/docs"
[ "$fail" = 0 ] || exit 1
echo "check-man: $n pages, no warnings from groff or mandoc"
