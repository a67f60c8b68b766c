#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# check-help-man.sh - "xlmig help COMMAND" (the command table) and
# xlmig(1) say the same: for every command "xlmig help" lists, the page's
# COMMANDS section has an entry whose heading is the command's usage, and
# that entry names every option of the usage and of the option list that
# "xlmig help COMMAND" prints. The page is compared as groff renders it
# (plain text, no line breaks within a paragraph), so roff escapes and
# fonts do not matter; placeholders compare without case or <>
# (<domain>, DOMAIN and an italic domain are the same).
set -u
src=${top_srcdir:-.}
build=${top_builddir:-.}
xlmig=$build/tools/xlmig
page=$src/docs/xlmig.1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0

bad() {
    echo "check-help-man: $*" >&2
    fail=1
}

command -v groff >/dev/null 2>&1 || {
    bad "groff is not installed (Debian package groff-base)"
    exit 1
}
"$xlmig" help >"$tmp/help" 2>&1 || {
    bad "$xlmig help failed: $(cat "$tmp/help")"
    exit 1
}
# A line length no paragraph reaches: nothing wraps or is hyphenated.
LC_ALL=C groff -man -Tascii -rLL=5000n -P-cbou "$page" >"$tmp/page" \
    2>"$tmp/groff.err" || {
    bad "groff cannot render $page: $(cat "$tmp/groff.err")"
    exit 1
}
# COMMANDS: from its heading to the next one; an entry's heading is a
# line at the section's indent (7 columns), its text is indented more.
sed -n '/^COMMANDS$/,/^[A-Z]/p' "$tmp/page" | sed '1d;$d' >"$tmp/commands"
[ -s "$tmp/commands" ] || {
    bad "no COMMANDS section in $page"
    exit 1
}

# norm: stdin as one line, lower case, without <>, spaces squeezed.
norm() {
    tr 'A-Z\n\t' 'a-z  ' | tr -d '<>' | tr -s ' ' | sed 's/^ //; s/ $//'
}

# options TEXT: each option TEXT names (-x or --long), one a line.
options() {
    printf '%s\n' "$1" |
        grep -oE -- '(^|[^A-Za-z0-9_-])--?[A-Za-z][A-Za-z0-9-]*' |
        sed 's/^[^-]*//'
}

# entry SYNOPSIS: the COMMANDS entry whose heading holds SYNOPSIS (as
# norm made it) where a command starts: at its beginning or after " / ".
entry() {
    awk -v want="$1" '
        function norm(s) {
            s = tolower(s); gsub(/[<>]/, "", s); gsub(/[ \t]+/, " ", s)
            sub(/^ /, "", s); sub(/ $/, "", s); return s
        }
        /^       [^ ]/ {
            h = " / " norm($0) " "
            found = index(h, " / " want " ") > 0
        }
        found { print }
    ' "$tmp/commands"
}

for cmd in $(sed -n '/^Commands:/,$s/^  \([a-z][a-z0-9-]*\) .*/\1/p' \
             "$tmp/help"); do
    n=$((n + 1))
    "$xlmig" help "$cmd" >"$tmp/cmd" 2>&1 || {
        bad "$cmd: xlmig help $cmd failed: $(cat "$tmp/cmd")"
        continue
    }
    usage=$(sed -n "1s/^Usage: xlmig $cmd *//p" "$tmp/cmd")
    synopsis=$(printf '%s %s' "$cmd" "$usage" | norm)
    entry "$synopsis" >"$tmp/entry"
    if [ ! -s "$tmp/entry" ]; then
        bad "$cmd: xlmig(1) has no entry headed '$cmd $usage' in COMMANDS"
        continue
    fi
    # The options of the usage, and of the option list: lines of
    # "xlmig help CMD" that start with two spaces and an option, up to
    # the two spaces before its description ("  -C, --config CONFIG  ...").
    list=$(sed -n 's/^  \(-[^ ].*\)/\1/p' "$tmp/cmd" | sed 's/  .*//' |
           tr ',' '\n' | sed 's/^ *//; s/[ =].*//')
    for opt in $(options "$usage") $list; do
        case $opt in -?*) ;; *) continue ;; esac
        grep -qE -- "(^|[^A-Za-z0-9_-])$opt([^A-Za-z0-9_-]|\$)" \
            "$tmp/entry" ||
            bad "$cmd: xlmig(1)'s entry for $cmd does not name $opt"
    done
done
[ "$n" -gt 0 ] || bad "xlmig help lists no commands"

# The global options of "Usage: xlmig [-v...] [-T] <command> [args]".
for opt in $(options "$(sed -n 1p "$tmp/help")"); do
    sed -n '/^SYNOPSIS$/,/^[A-Z]/p' "$tmp/page" |
        grep -qE -- "(^|[^A-Za-z0-9_-])$opt([^A-Za-z0-9_-]|\$)" ||
        bad "global option $opt is not in xlmig(1)'s SYNOPSIS"
done
[ "$fail" = 0 ] || exit 1
echo "check-help-man: $n commands, their synopses and options in xlmig(1)"
