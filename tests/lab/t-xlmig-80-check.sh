# shellcheck shell=bash
# t-xlmig-80-check.sh - `xlmig check`, the pre-flight checks alone, and
# `xlmig migrate` stopping on one of them before it touches the domain.
# Debian's Xen 4.17 is built without shadow paging (xl info's virt_caps
# lacks "shadow"; see tests/data/lab-xl-info.txt), so a PV guest cannot be
# live-migrated from A: log-dirty mode needs shadow paging for PV. The
# check "paging-source" must say so as an error, on the source side, in
# the human and the --json output, while the destination's checks (xlmig/1
# peer, over ssh) run too. `xlmig migrate` of that guest must exit 1 naming
# the check, and leave everything as it was: the guest runs on A with the
# same domid, unpaused, unrenamed, counting on; B has no domain; no host
# lists a job. A PVH guest (HAP, which the lab's emulated SVM+NPT gives)
# passes the checks: exit status 0.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

B_IP=$(lab_ip B)
PV=chk-pv
PVH=chk-pvh
# Ids of destination-side checks that must be among the results.
CHK_DEST_IDS="memory name-free"

# chk_get JSON EXPR: EXPR (Python, over the parsed object j) of a --json
# output, parsed here on the lab's host: dom0 has no python.
chk_get() {
	python3 -c 'import json, sys
j = json.loads(sys.argv[1])
print(eval(sys.argv[2]))' "$1" "$2"
}

# chk_json NAME: run `xlmig check --json NAME B` on A; print its stdout
# (the JSON object: stderr goes to the log of the test) and return its
# exit status.
chk_json() {
	local err=chk-json-$1.err rc=0
	lab_sh A "xlmig check --json '$1' $B_IP 2>/share/$err" 120 || rc=$?
	if [ -s "$LAB_RUN_DIR/A/share/$err" ]; then
		sed 's/^/  check stderr: /' "$LAB_RUN_DIR/A/share/$err" >&2
	fi
	return "$rc"
}

# chk_unchanged WHAT: after WHAT, the PV guest still runs on A under its
# own name with the same domid, both guests are the only domains on A, B
# has none, and the PV guest counts on past its last value before WHAT.
chk_unchanged() {
	local id left c
	xlmig_expect_running A "$PV"
	id=$(lab_domid A "$PV")
	[ "$id" = "$pv_domid" ] ||
		lab_fail "after $1, $PV has domid $id on A, it had $pv_domid"
	left=$(lab_domains A | sort | tr '\n' ' ')
	[ "$left" = "$PV $PVH " ] ||
		lab_fail "after $1, the domains on A are: $left"
	xlmig_expect_no_domains B 10
	c=$(xlmig_expect_counting A "$PV" "$pv_last")
	lab_log "after $1: $PV still runs on A (domid $id), counter $pv_last -> $c"
	pv_last=$c
}

lab_guest_create A "$PV" type=pv
lab_guest_create A "$PVH"
pv_domid=$(lab_domid A "$PV")
pv_last=$(xlmig_expect_counting A "$PV" -1)
# The guest kernel has written control/feature-suspend by now (the
# checks may look at it; see tests/data/lab-feature-suspend.txt).

# --- xlmig check, human output: an error, exit status 1.
rc=0
out=$(lab_sh A "xlmig check '$PV' $B_IP" 120) || rc=$?
printf '%s\n' "$out"
[ "$rc" -eq 1 ] || lab_fail "xlmig check $PV exited with $rc, not 1"
grep -q 'paging-source' <<<"$out" ||
	lab_fail "xlmig check $PV does not mention paging-source: $(echo "$out" | tail -n 3)"
line=$(echo "$out" | grep -E '^ *error +paging-source: ') ||
	lab_fail "no 'error paging-source: ...' line from xlmig check $PV"
grep -qi 'shadow' <<<"$line" ||
	lab_fail "the paging-source error does not mention shadow paging: $line"
grep -qE '^ +remedy: ' <<<"$out" || lab_fail "xlmig check $PV gives no remedy line"

# --- xlmig check --json: the same error, and the destination's checks.
rc=0
json=$(chk_json "$PV") || rc=$?
printf '%s\n' "$json"
[ "$rc" -eq 1 ] || lab_fail "xlmig check --json $PV exited with $rc, not 1"
chk_get "$json" 'j["results"]' >/dev/null || lab_fail "xlmig check --json $PV: invalid JSON"
[ "$(chk_get "$json" 'j["domain"]')" = "$PV" ] ||
	lab_fail "domain is $(chk_get "$json" 'j["domain"]'), not $PV"
[ "$(chk_get "$json" 'j["host"]')" = "$B_IP" ] ||
	lab_fail "host is $(chk_get "$json" 'j["host"]'), not $B_IP"
[ "$(chk_get "$json" 'j["ok"]')" = False ] || lab_fail "ok is not false"
[ "$(chk_get "$json" 'j["destination_checked"]')" = True ] ||
	lab_fail "destination_checked is not true"
[ "$(chk_get "$json" 'j["peer"]')" = xlmig/1 ] ||
	lab_fail "peer is $(chk_get "$json" 'j["peer"]'), not xlmig/1"
r=$(chk_get "$json" '[(r["severity"], r["side"], r["forced"]) for r in j["results"] if r["id"] == "paging-source"]')
[ "$r" = "[('error', 'source', False)]" ] ||
	lab_fail "paging-source results (severity, side, forced): $r"
msg=$(chk_get "$json" '[r for r in j["results"] if r["id"] == "paging-source"][0]["message"]')
grep -qi 'shadow' <<<"$msg" || lab_fail "the paging-source message does not mention shadow paging"
dest=$(chk_get "$json" '" ".join(sorted(set(r["id"] for r in j["results"] if r["side"] == "destination")))')
[ -n "$dest" ] || lab_fail "no result from the destination side"
for id in $CHK_DEST_IDS; do
	case " $dest " in *" $id "*) ;; *) lab_fail "no destination result '$id' (destination ids: $dest)" ;; esac
done
lab_log "xlmig check $PV: paging-source error; destination checks: $dest"
chk_unchanged "xlmig check"

# --- xlmig migrate runs the same checks first and stops on the error.
rc=0
lab_timed A "xlmig migrate '$PV' $B_IP" 300 >"$LAB_RUN_DIR/chk-migrate.out" || rc=$?
out=$(cat "$LAB_RUN_DIR/chk-migrate.out")
printf '%s\n' "$out"
[ "$rc" -eq 1 ] || lab_fail "xlmig migrate $PV exited with $rc, not 1"
grep -q 'paging-source' <<<"$out" ||
	lab_fail "xlmig migrate $PV does not name paging-source: $(echo "$out" | tail -n 3)"
lab_log "xlmig migrate $PV refused in $(xlmig_secs "$LAB_ELAPSED_MS") s"
chk_unchanged "xlmig migrate"
for h in A B; do
	json=$(lab_sh "$h" "xlmig jobs --json" 30) || lab_fail "xlmig jobs --json failed on $h"
	n=$(chk_get "$json" 'len(j["jobs"])')
	[ "$n" = 0 ] || lab_fail "$h lists $n job(s) after the refused migration"
done

# --- a PVH guest passes: HAP is there.
rc=0
out=$(lab_sh A "xlmig check '$PVH' $B_IP" 120) || rc=$?
printf '%s\n' "$out"
[ "$rc" -eq 0 ] || lab_fail "xlmig check $PVH exited with $rc, not 0: $(echo "$out" | grep -E '^ *error ' | head -n 3)"
if grep -qE '^ *error +paging-source' <<<"$out"; then
	lab_fail "xlmig check $PVH reports a paging-source error"
fi

lab_sh A "xl destroy '$PV' && xl destroy '$PVH'" 60 || lab_fail "could not destroy the guests"
xlmig_expect_no_domains A 30
