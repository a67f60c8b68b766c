#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# check-completion.sh - completion/xlmig against the xlmig built: sourced
# here (a non-interactive bash), _xlmig run with COMP_WORDS/COMP_CWORD as
# bash sets them, COMPREPLY compared. Every command and every option of
# every command comes from the binary ("xlmig help --commands", "xlmig
# help --options CMD"), so a new command or an option taking a value
# without a rule in the completion fails here; then enumerated values,
# domains (an "xlmig" on PATH answering list, jobs and sr-list, the rest
# the built one's), hosts of a known_hosts in a HOME of our own, job
# files.
set -u
src=${top_srcdir:-.}
build=${top_builddir:-.}
xlmig=$(cd "$build/tools" 2>/dev/null && pwd)/xlmig
completion=$src/completion/xlmig
fail=0
n=0

# bad MESSAGE: said, the check fails; returns 1 (for subshells).
bad() {
    echo "check-completion: $*" >&2
    fail=1
    return 1
}

[ -x "$xlmig" ] || { bad "no $xlmig (build first)"; exit 1; }
[ -r "$completion" ] || { bad "no $completion"; exit 1; }
type complete >/dev/null 2>&1 || { bad "this bash has no complete"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# An xlmig with a host of known contents.
mkdir -p "$tmp/bin" "$tmp/home/.ssh" "$tmp/jobs/plans"
cat >"$tmp/bin/xlmig" <<EOF
#!/bin/sh
case \$1 in
list) printf '%-40s %5s %5s %5s     %s  %8s\n' \
  Name ID Mem VCPUs State 'Time(s)' \
  Domain-0 0 1024 2 r----- 10.0 \
  vm-alpha 3 128 1 -b---- 1.0 \
  vm-beta 7 128 1 -b---- 1.0 ;;
jobs) printf '%s\n' 'limits: out 2, in 2, storage 2' \
  'ID                   STATE        DOMAIN    PEER    AGE  PROGRESS' \
  'job-17               memory       vm-alpha  b       3s  12%' \
  'job-18               queued #1    vm-beta   b       1s  -' ;;
sr-list) printf '%s\n' 'NAME             TYPE LOCATION ...' \
  'fast             dir  /srv/fast ...' \
  'slow             lvm  vg0 ...' \
  '  unavailable here: no volume group vg0' ;;
*) exec '$xlmig' "\$@" ;;
esac
EOF
chmod +x "$tmp/bin/xlmig"
cat >"$tmp/home/.ssh/known_hosts" <<'EOF'
xlmigtest-alpha,192.0.2.10 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA
[xlmigtest-beta]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB
|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ssh-ed25519 AAAA
@cert-authority *.xlmigtest.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC
!xlmigtest-neg,xlmigtest-gamma ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAB
# xlmigtest-comment
EOF
: >"$tmp/jobs/evac.xml"
: >"$tmp/jobs/notes.txt"
PATH=$tmp/bin:$PATH
HOME=$tmp/home
export PATH HOME

# shellcheck source=completion/xlmig
. "$completion" || { bad "cannot source $completion"; exit 1; }
complete -p xlmig >/dev/null 2>&1 || bad "the completion does not register"

# comp WORD...: complete the last word of "WORD...", as bash splits it.
comp() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _xlmig xlmig "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]-}"
}

# got: COMPREPLY sorted, one line.
got() {
    if ((${#COMPREPLY[@]})); then
        printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | tr '\n' ' ' |
            sed 's/ $//'
    fi
}

# is "WORDS" WORD...: completing WORD... gives exactly WORDS (sorted).
is() {
    local want=$1 have
    shift
    n=$((n + 1))
    comp "$@"
    have=$(got)
    [ "$have" = "$want" ] ||
        bad "'$*': want '$want', got '$have'"
}

# has WORD WORDS...: completing WORDS... offers WORD (among others).
has() {
    local want=$1 w
    shift
    n=$((n + 1))
    comp "$@"
    for w in "${COMPREPLY[@]}"; do
        [ "$w" = "$want" ] && return 0
    done
    bad "'$*' does not offer $want (got: $(got))"
}

# ---- the binary's lists --------------------------------------------------
commands=$("$xlmig" help --commands) || bad "xlmig help --commands failed"
listed=$("$xlmig" help |
         sed -n '/^Commands:/,$s/^  \([a-z][a-z0-9-]*\) .*/\1/p')
[ -n "$listed" ] || bad "xlmig help lists no commands"
for c in $listed; do
    printf '%s\n' "$commands" | grep -qx -- "$c" ||
        bad "xlmig help --commands lacks $c (xlmig help lists it)"
done
"$xlmig" help --options >/dev/null 2>&1
[ $? = 2 ] || bad "xlmig help --options without a command: want exit 2"
"$xlmig" help --options no-such-command >/dev/null 2>&1
[ $? = 2 ] || bad "xlmig help --options no-such-command: want exit 2"
"$xlmig" help --commands migrate >/dev/null 2>&1
[ $? = 2 ] || bad "xlmig help --commands migrate: want exit 2"

# ---- commands and every option -------------------------------------------
is "$(printf '%s\n' "$commands" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')" \
    xlmig ""
is "job-cancel job-run job-set job-show job-validate" xlmig job-
is "-T -h -v" xlmig -
is "migrate migrate-receive" xlmig -v -T migr
is "storage-move" xlmig help storage-
nopts=0
for c in $commands; do
    opts=$("$xlmig" help --options "$c") || {
        bad "xlmig help --options $c failed"
        continue
    }
    kind=$(_xlmig_arg_kind "$c" 1 "") ||
        bad "no rule for the arguments of xlmig $c (_xlmig_arg_kind)"
    while read -r opt arg; do
        nopts=$((nopts + 1))
        has "$opt" xlmig "$c" "$opt"
        [ "$arg" = ARG ] || continue
        kind=$(_xlmig_value_kind "$c" "$opt") || {
            bad "no rule for the value of xlmig $c $opt (_xlmig_value_kind)"
            continue
        }
        case $kind in
        "words "* | command | file | dir | text) ;;
        *) bad "xlmig $c $opt: unknown kind '$kind'" ;;
        esac
    done <<EOF
$opts
EOF
done
[ "$nopts" -gt 100 ] || bad "only $nopts options in all (help --options?)"
has --converge xlmig migrate --
has --help xlmig migrate --he
is "--max-downtime --max-precopy-time --max-rounds" xlmig migrate --max-

# ---- enumerated values ---------------------------------------------------
is "abort force throttle" xlmig migrate --converge ""
is "throttle" xlmig migrate vm-alpha --converge th
is "abort force throttle" xlmig migrate --converge =        # --converge=
is "throttle" xlmig migrate --converge = th                 # --converge=th
(COMP_WORDBREAKS=' '; is "--converge=throttle" xlmig migrate --converge=th) ||
    fail=1
is "lz4" xlmig migrate --compress l
is "auto lz4 none zstd" xlmig migrate --compress ""
is "auto ssh tcp" xlmig check --data ""
is "json" xlmig migrate --progress j
is "json none tty" xlmig storage-move --progress ""
is "qcow2 raw" xlmig storage-move --format ""
is "pv pvh" xlmig sim-create --type p
is "hot sweep uniform" xlmig sim-create --shape ""
is "mixed random zero" xlmig sim-create --fill ""
is "crash poweroff reboot" xlmig sim-shutdown vm-alpha ""
is "in out storage" xlmig set-limit ""
is "off on" xlmig maintenance o
is "dir lvm" xlmig sr-create fast ""
is "bandwidth=" xlmig job-set job-17 b
is "" xlmig migrate --timeout ""

# ---- domains, jobs, SRs (this host's) -------------------------------------
is "Domain-0 vm-alpha vm-beta" xlmig migrate ""
is "vm-beta" xlmig migrate vm-b
is "vm-alpha" xlmig -v migrate --timeout 60 -s ssh -p vm-a
is "vm-alpha" xlmig migrate -ps ssh vm-a            # -s's value: ssh
is "vm-alpha" xlmig migrate -sssh --timeout=60 vm-a
is "vm-alpha vm-beta" xlmig pause vm
is "vm-alpha" xlmig list vm-a
is "" xlmig migrate -- -
is "" xlmig destroy vm-alpha ""
is "job-17 job-18" xlmig job-cancel ""
is "job-18" xlmig job-show --json job-18
is "fast slow" xlmig sr-show ""
is "fast slow" xlmig storage-move vm-alpha xvda ""
is "fast" xlmig storage-move --config "$tmp/vm.cfg" xvda f
is "" xlmig storage-move --config "$tmp/vm.cfg" ""
# No hypervisor, or no xlmig: nothing, and nothing said.
n=$((n + 1))
XLMIG_BACKEND=sim XLMIG_SIM_HOST=$tmp/no-host \
    comp "$xlmig" migrate "" 2>"$tmp/err"
if [ -n "$(got)" ] || [ -s "$tmp/err" ]; then
    bad "without a hypervisor: want nothing, got '$(got)' $(cat "$tmp/err")"
fi
n=$((n + 1))
comp "$tmp/no-such-xlmig" "" 2>"$tmp/err"
if [ -n "$(got)" ] || [ -s "$tmp/err" ]; then
    bad "without xlmig: want nothing, got '$(got)' $(cat "$tmp/err")"
fi
is "-v" "$xlmig" -v                # its own path, as typed
is "--converge" "$xlmig" migrate --conv

# ---- hosts (known_hosts) ---------------------------------------------------
is "xlmigtest-alpha xlmigtest-beta xlmigtest-gamma" \
    xlmig migrate vm-alpha xlmigtest-
has 192.0.2.10 xlmig check vm-alpha ""
n=$((n + 1))
comp xlmig check vm-alpha ""
for w in "${COMPREPLY[@]}"; do
    case $w in
    *'|'* | *'*'* | *'!'* | *'['* | '#'* | xlmigtest-neg | xlmigtest-comment)
        bad "a host that is not a name: '$w'" ;;
    esac
done
# bash keeps the '@' in the word readline replaces (rl_special_prefixes).
is "@xlmigtest-alpha" xlmig migrate vm-alpha root @ xlmigtest-al
(COMP_WORDBREAKS=' '; is "root@xlmigtest-alpha" \
    xlmig migrate vm-alpha root@xlmigtest-al) || fail=1

# ---- files -----------------------------------------------------------------
is "$tmp/jobs/evac.xml $tmp/jobs/plans" xlmig job-run "$tmp/jobs/"
is "$tmp/jobs/evac.xml $tmp/jobs/plans" xlmig job-validate -s ssh "$tmp/jobs/"
is "$tmp/jobs/evac.xml $tmp/jobs/notes.txt $tmp/jobs/plans" \
    xlmig stream-info "$tmp/jobs/"
is "$tmp/jobs/notes.txt" xlmig migrate -C "$tmp/jobs/n"
is "$tmp/jobs/notes.txt" xlmig migrate --config = "$tmp/jobs/n"
is "$tmp/jobs/plans" xlmig sim-host-create "$tmp/jobs/"
is "$tmp/jobs/plans" xlmig storage-move --save-dir "$tmp/jobs/"

[ "$fail" = 0 ] || exit 1
echo "check-completion: $n completions, $nopts options of" \
    "$(printf '%s\n' "$commands" | wc -l) commands"
