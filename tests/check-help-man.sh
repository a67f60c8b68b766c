#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# check-help-man.sh - "xlmig help COMMAND" (the command table) and the
# command pages say the same. xlmig(1) describes xlmig and names, in its
# COMMANDS section, the page of each command group (xlmig-migrate(1),
# xlmig-storage(1), ...); each group page's COMMANDS section has the
# commands' entries. For every command "xlmig help" lists, exactly one
# docs/xlmig*.1 page has an entry whose heading is the command's usage,
# that entry names every option of the usage and of the option list that
# "xlmig help COMMAND" prints, and xlmig(1)'s table names the command
# once, under that page; the table names no command xlmig does not have.
# The pages are compared as groff renders them (plain text, no line
# breaks within a paragraph), so roff escapes and fonts do not matter;
# placeholders compare without case or <> (<domain>, DOMAIN and an italic
# domain are the same).
set -u
src=${top_srcdir:-.}
build=${top_builddir:-.}
xlmig=$build/tools/xlmig
main=$src/docs/xlmig.1
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
[ -f "$main" ] || {
    bad "no $main"
    exit 1
}
# Each xlmig page of section 1, rendered, and its COMMANDS section in
# $tmp/NAME.commands (NAME: xlmig, xlmig-migrate, ...).
pages=
npages=0
for page in "$src"/docs/xlmig*.1; do
    [ -f "$page" ] || continue
    name=${page##*/}
    name=${name%.1}
    pages="$pages $name"
    npages=$((npages + 1))
    # A line length no paragraph reaches: nothing wraps or is hyphenated.
    LC_ALL=C groff -man -Tascii -rLL=5000n -P-cbou "$page" \
        >"$tmp/$name.page" 2>"$tmp/groff.err" || {
        bad "groff cannot render $page: $(cat "$tmp/groff.err")"
        exit 1
    }
    # COMMANDS: from its heading to the next one; an entry's heading is a
    # line at the section's indent (7 columns), its text is indented more.
    sed -n '/^COMMANDS$/,/^[A-Z]/p' "$tmp/$name.page" | sed '1d;$d' \
        >"$tmp/$name.commands"
    [ -s "$tmp/$name.commands" ] || {
        bad "no COMMANDS section in $page"
        exit 1
    }
done

# xlmig(1)'s command table: an entry per group, headed by its page
# ("xlmig-migrate(1)"), its text the group's commands up to a colon
# ("migrate, check, ...: what they do"). As "COMMAND PAGE" lines.
awk '
    /^       [^ ]/ {
        page = ""
        if ($0 ~ /^       xlmig-[a-z]+\(1\)$/) {
            page = $1; sub(/\(1\)$/, "", page)
        }
        text = 0
        next
    }
    page != "" && !text && /^              [^ ]/ {
        text = 1
        s = $0; sub(/^ +/, "", s)
        if (index(s, ":") == 0) { print "- " page; next }
        sub(/:.*/, "", s)
        k = split(s, c, /, */)
        for (i = 1; i <= k; i++) print c[i], page
    }
' "$tmp/xlmig.commands" >"$tmp/table"
[ -s "$tmp/table" ] || bad "xlmig(1)'s COMMANDS has no command table" \
    "(a page, then its commands before a colon)"
while read -r c p; do
    case $c in
    -) bad "xlmig(1)'s table: $p(1) has no commands before a colon" ;;
    *) grep -q "^  $c " "$tmp/help" ||
        bad "xlmig(1)'s table names $c, which xlmig help does not list" ;;
    esac
    case " $pages " in
    *" $p "*) ;;
    *) bad "xlmig(1)'s table names $p(1), which is not in docs/" ;;
    esac
done <"$tmp/table"

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

# entry SYNOPSIS FILE: the COMMANDS entry of FILE whose heading holds
# SYNOPSIS (as norm made it) where a command starts: at its beginning or
# after " / ".
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
    ' "$2"
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
    # The one page with the command's entry.
    found=
    for name in $pages; do
        entry "$synopsis" "$tmp/$name.commands" >"$tmp/e"
        [ -s "$tmp/e" ] || continue
        found="$found $name(1)"
        cp "$tmp/e" "$tmp/entry"
        home=$name
    done
    case $found in
    "")
        bad "$cmd: no docs/xlmig*.1 page has an entry headed" \
            "'$cmd $usage' in COMMANDS"
        continue ;;
    " "*" "*)
        bad "$cmd: entries headed '$cmd $usage' in more than one page:$found"
        continue ;;
    esac
    # xlmig(1)'s table names the command once, under that page.
    listed=$(awk -v c="$cmd" '$1 == c { print $2 "(1)" }' "$tmp/table" |
             tr '\n' ' ')
    case $listed in
    "$home(1) ") ;;
    "") bad "$cmd: xlmig(1)'s table does not name it (its entry is in" \
            "$home(1))" ;;
    *) bad "$cmd: xlmig(1)'s table names it under ${listed% }, its" \
           "entry is in $home(1)" ;;
    esac
    # The options of the usage, and of the option list: lines of
    # "xlmig help CMD" that start with two spaces and an option, up to
    # the two spaces before its description ("  -C, --config CONFIG  ...").
    list=$(sed -n 's/^  \(-[^ ].*\)/\1/p' "$tmp/cmd" | sed 's/  .*//' |
           tr ',' '\n' | sed 's/^ *//; s/[ =].*//')
    for opt in $(options "$usage") $list; do
        case $opt in -?*) ;; *) continue ;; esac
        grep -qE -- "(^|[^A-Za-z0-9_-])$opt([^A-Za-z0-9_-]|\$)" \
            "$tmp/entry" ||
            bad "$cmd: $home(1)'s entry for $cmd does not name $opt"
    done
done
[ "$n" -gt 0 ] || bad "xlmig help lists no commands"

# The global options of "Usage: xlmig [-v...] [-T] <command> [args]".
for opt in $(options "$(sed -n 1p "$tmp/help")"); do
    sed -n '/^SYNOPSIS$/,/^[A-Z]/p' "$tmp/xlmig.page" |
        grep -qE -- "(^|[^A-Za-z0-9_-])$opt([^A-Za-z0-9_-]|\$)" ||
        bad "global option $opt is not in xlmig(1)'s SYNOPSIS"
done
[ "$fail" = 0 ] || exit 1
echo "check-help-man: $n commands, their synopses and options in" \
    "$npages pages, each named by xlmig(1)'s table"
