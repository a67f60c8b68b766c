# shellcheck shell=bash
# t-xlmig-96-jobs.sh - a job file evacuates host A on real Xen: two PVH
# guests on A, `xlmig job-run` of an <evacuate> to B (at most one at a
# time), after a --dry-run that places both and changes nothing. Then
# both guests run on B alone, unpaused, counting on past what A showed;
# A is in maintenance mode (a migration to A is refused) until asked;
# the report says both are done, with phase times and downtime.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

lab_guest_create A job1
lab_guest_create A job2
c1=$(xlmig_expect_counting A job1 -1)
c2=$(xlmig_expect_counting A job2 -1)

cat >"$LAB_RUN_DIR/A/share/evac.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<jobs xmlns="urn:xlmig:jobs:1" version="1">
  <limits per-destination="1"/>
  <host name="B" address="$(lab_ip B)"/>
  <evacuate id="evac" to="B"/>
</jobs>
XML
lab_sh A "xlmig job-validate /share/evac.xml" 60 || lab_fail "evac.xml is not valid"
lab_sh A "xlmig job-run --dry-run /share/evac.xml >/share/dry.out 2>&1" 300 ||
	lab_fail "dry run failed: $(cat "$LAB_RUN_DIR/A/share/dry.out")"
for g in job1 job2; do
	grep -q "evac:$g .*migrate $g to B (needs" "$LAB_RUN_DIR/A/share/dry.out" ||
		lab_fail "the dry run does not place $g on B: $(cat "$LAB_RUN_DIR/A/share/dry.out")"
done
[ "$(lab_sh A "xlmig maintenance status" 60)" = off ] ||
	lab_fail "the dry run changed the maintenance mode"
xlmig_expect_running A job1
xlmig_expect_running A job2

lab_timed A "xlmig job-run --report /share/evac.json /share/evac.xml >/share/evac.out 2>&1" 900 ||
	lab_fail "job-run failed: $(cat "$LAB_RUN_DIR/A/share/evac.out")"
lab_log "job-run: $(tr '\n' '|' <"$LAB_RUN_DIR/A/share/evac.out")"
xlmig_expect_no_domains A 30
xlmig_expect_running B job1
xlmig_expect_running B job2
xlmig_expect_counting B job1 "$c1" >/dev/null
xlmig_expect_counting B job2 "$c2" >/dev/null
lab_log "job1 counted past $c1, job2 past $c2, both on B now"
lab_sh A "xlmig maintenance status" 60 | grep -q '^on' ||
	lab_fail "A is not in maintenance mode after the evacuation"

why=$(python3 - "$LAB_RUN_DIR/A/share/evac.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
if r["result"] != "done": bad.append("result " + r["result"])
jobs = {j["id"]: j for j in r["jobs"]}
for g in ("evac:job1", "evac:job2"):
    j = jobs.get(g)
    if not j: bad.append("no " + g); continue
    if j["result"] != "done" or j["to"] != "B": bad.append("%s %s to %s" % (g, j["result"], j["to"]))
    if "transfer" not in j["phases"]: bad.append(g + ": no transfer phase")
    if "downtime_ms" not in j: bad.append(g + ": no downtime")
a, b = jobs.get("evac:job1"), jobs.get("evac:job2")
if a and b and (a["started"] < b["ended"] and b["started"] < a["ended"]):
    bad.append("both ran at once (limit 1)")
print("; ".join(bad) if bad else "ok: " + ", ".join(
    "%s %.1f s, downtime %.0f ms" % (k, j["ended"] - j["started"], j["downtime_ms"])
    for k, j in sorted(jobs.items())))
PY
) || lab_fail "cannot read the report: $why"
case $why in ok:*) lab_log "report $why" ;; *) lab_fail "report: $why" ;; esac

# B cannot send one back while A is in maintenance mode; then it can.
lab_sh B "xlmig migrate job1 $(lab_ip A) >/share/back.out 2>&1" 300 &&
	lab_fail "a migration into A in maintenance mode succeeded"
grep -q maintenance "$LAB_RUN_DIR/B/share/back.out" ||
	lab_fail "the refusal does not name maintenance: $(cat "$LAB_RUN_DIR/B/share/back.out")"
xlmig_expect_running B job1
lab_sh A "xlmig maintenance off" 60 || lab_fail "maintenance off failed"
lab_log "RESULT: evacuation of 2 PVH guests A -> B by a job file in $(xlmig_secs "$LAB_ELAPSED_MS") s"
