#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-25-progress.sh - what a migration tells while it runs: with
# --progress=json every event is one JSON object on stdout (phases,
# progress with bytes, pages, rounds, the pages of the round before, the
# guest's size, rate and the time left in the round, then the result);
# bytes only grow, the rate is near the link's, and the job's record in
# xenstore changes at least once a second during the transfer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-25-progress 90
it_setup 2

# 256 MiB over a 200 Mbit/s link: about 12 s of transfer; the guest
# dirties pages, so there are several rounds.
sim_shape A 200mbit
it_on A xlmig sim-create --memory 256 --rate 3000 --shape hot --fill random vm1 >/dev/null
sim_wait_counter A vm1 3 10 >/dev/null
it_on A xlmig migrate --progress=json -s "$IT_SSH" vm1 "$(it_ip B)" \
	>"$IT_DIR/events" 2>"$IT_DIR/m.err" &
m=$!
# Sample the job's record every 0.25 s while it is in transfer.
: >"$IT_DIR/records"
for _ in $(seq 1 240); do
	kill -0 "$m" 2>/dev/null || break
	it_on A xlmig jobs --json 2>/dev/null | python3 -c '
import json, sys, time
for j in json.load(sys.stdin)["jobs"]:
    if j["domain"] == "vm1" and j["phase"] == "transfer":
        print("%.2f\t%s" % (time.time(), j["progress"]))' >>"$IT_DIR/records" || true
	sleep 0.25
done
rc=0
wait "$m" || rc=$?
it_log "migrate exit $rc: $(cat "$IT_DIR/m.err")"
[ "$rc" -eq 0 ] || it_fail "migrate failed: $(tail -n 3 "$IT_DIR/m.err")"

python3 - "$IT_DIR/events" "$IT_DIR/records" <<'PY' || it_fail "$(cat "$IT_DIR/why" 2>/dev/null)"
import json, sys

def fail(why):
    open(sys.argv[1].rsplit("/", 1)[0] + "/why", "w").write(why)
    sys.exit(1)

events = []
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        e = json.loads(line)
    except ValueError as x:
        fail("line %d is not JSON: %s: %r" % (n, x, line[:200]))
    if not isinstance(e, dict) or "event" not in e:
        fail("line %d has no event: %r" % (n, line[:200]))
    events.append(e)
kinds = [e["event"] for e in events]
if kinds[-1] != "result":
    fail("the last event is %s, not the result" % kinds[-1])
r = events[-1]
if not r["ok"] or r["where"] != "destination" or r["bytes"] < 256 << 20:
    fail("result: %r" % r)
phases = [e["phase"] for e in events if e["event"] == "phase"]
for want in ("admit", "connect", "preflight", "transfer", "switchover",
             "commit", "done"):
    if want not in phases:
        fail("no %s phase event in %r" % (want, phases))
prog = [e for e in events if e["event"] == "progress"]
if len(prog) < 4:
    fail("only %d progress events" % len(prog))
keys = {"bytes", "pages", "round", "round_pages", "last_round_pages",
        "total_pages", "rate", "eta", "suspended", "elapsed"}
for e in prog:
    if not keys <= set(e):
        fail("progress event lacks %r" % (keys - set(e)))
    if e["total_pages"] != 65536:
        fail("total_pages %r, not 65536" % e["total_pages"])
b = [e["bytes"] for e in prog]
if b != sorted(b):
    fail("bytes go down: %r" % b)
rates = [e["rate"] for e in prog if e["rate"] > 0]
if not rates:
    fail("no rate in any progress event")
# 200 Mbit/s is 25 MB/s: the rate is of that order in the first round.
r1 = [e["rate"] for e in prog if e["round"] == 1 and e["rate"] > 0]
if r1 and not 10e6 < max(r1) < 30e6:
    fail("first-round rates %r are not near 25 MB/s" % r1)
if not [e for e in prog if e["round"] == 1 and e["eta"] > 0]:
    fail("no time left given in the first round")
if r["rounds"] < 2:
    fail("only %d rounds" % r["rounds"])
if not [e for e in prog if e["round"] >= 2 and e["last_round_pages"] > 0]:
    later = [(e["round"], e["last_round_pages"]) for e in prog]
    fail("no pages of the round before in later rounds: %r" % later)
checks = [e for e in events if e["event"] == "check"]
if not checks or any(c["severity"] == "error" for c in checks):
    fail("check events: %r" % checks[:3])
# The job's record: a new progress value at least once a second. Each
# value is seen over a run of samples; however slow the sampling, no run
# may span much more than a second.
recs = [l.rstrip("\n").split("\t", 1) for l in open(sys.argv[2]) if l.strip()]
if len(recs) < 8:
    fail("only %d samples of the record in transfer" % len(recs))
spans, first, last, value = [], None, None, None
for t, v in recs:
    t = float(t)
    if v != value:
        if first is not None:
            spans.append(last - first)
        first, value = t, v
    last = t
if not spans or max(spans) > 1.5:
    fail("one value of the record stayed for %r s" % spans)
if "MB/s" not in recs[-1][1]:
    fail("the record has no rate: %r" % recs[-1][1])
PY
sim_expect_only B vm1
sim_expect_no_domains A
