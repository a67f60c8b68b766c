#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-26-bandwidth.sh - --bandwidth RATE holds the stream to RATE (a token
# bucket in the pump), and `xlmig job-set ID bandwidth=RATE` changes it
# while the migration runs; malformed rates and keys are usage errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-26-bandwidth 120
it_setup 2

# rate_of FILE: the result's bytes / transfer_s, in MB/s, and its time.
rate_of() {
	python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])][-1]
assert r["event"] == "result" and r["ok"], r
print("%.2f %.2f" % (r["bytes"] / r["transfer_s"] / 1e6, r["transfer_s"]))' "$1"
}

# 1. A fixed limit: 128 MiB of a quiet guest at 20 MB/s, about 7 s.
it_on A xlmig sim-create --memory 128 --fill random vm1 >/dev/null
it_on A xlmig migrate --progress=json --bandwidth 20M -s "$IT_SSH" vm1 \
	"$(it_ip B)" >"$IT_DIR/e1" 2>"$IT_DIR/m1.err" ||
	it_fail "migrate with --bandwidth 20M: $(tail -n 3 "$IT_DIR/m1.err")"
read -r r1 t1 < <(rate_of "$IT_DIR/e1") || it_fail "no result in $IT_DIR/e1"
it_log "--bandwidth 20M: $r1 MB/s over $t1 s"
python3 -c 'import sys; r = float(sys.argv[1]); sys.exit(not 18.4 <= r <= 21.6)' "$r1" ||
	it_fail "--bandwidth 20M moved $r1 MB/s, not within 8 % of 20"
sim_expect_only B vm1

# 2. Changed while running: 10 MB/s, then 40 MB/s after 3 s.
it_on B xlmig migrate --progress=json --bandwidth 80Mbit -s "$IT_SSH" vm1 \
	"$(it_ip A)" >"$IT_DIR/e2" 2>"$IT_DIR/m2.err" &
m=$!
job=
for _ in $(seq 1 40); do
	job=$(it_on B xlmig jobs --json | python3 -c '
import json, sys
for j in json.load(sys.stdin)["jobs"]:
    if j["domain"] == "vm1" and j["phase"] == "transfer":
        print(j["id"])')
	[ -n "$job" ] && break
	sleep 0.25
done
[ -n "$job" ] || it_fail "the migration never reached transfer"
sleep 3
it_on B xlmig job-set "$job" bandwidth=40M || it_fail "job-set bandwidth=40M failed"
wait "$m" || it_fail "migrate after job-set: $(tail -n 3 "$IT_DIR/m2.err")"
read -r r2 t2 < <(rate_of "$IT_DIR/e2") || it_fail "no result in $IT_DIR/e2"
it_log "10 MB/s then 40 MB/s: $r2 MB/s over $t2 s"
python3 - "$IT_DIR/e2" <<'PY' || it_fail "after job-set: $(cat "$IT_DIR/why")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
why = open(sys.argv[1].rsplit("/", 1)[0] + "/why", "w")
info = [e["detail"] for e in ev if e["event"] == "info"]
if "bandwidth limit now 40.0 MB/s" not in info:
    why.write("no word of the new limit in %r" % info); sys.exit(1)
k = [n for n, e in enumerate(ev) if e["event"] == "info" and
     e["detail"] == "bandwidth limit now 40.0 MB/s"][0]
before = [e["rate"] for e in ev[:k] if e["event"] == "progress" and e["rate"] > 0]
after = [e["rate"] for e in ev[k:] if e["event"] == "progress"][-3:]
if not before or not 8e6 <= max(before) <= 12e6:
    why.write("rates before the change %r are not near 10 MB/s" % before)
    sys.exit(1)
if not after or max(after) < 25e6:
    why.write("rates after the change %r are not near 40 MB/s" % after)
    sys.exit(1)
PY
# At 10 MB/s alone it would take over 13 s.
python3 -c 'import sys; sys.exit(not float(sys.argv[1]) < 9.5)' "$t2" ||
	it_fail "the raised limit did not speed the transfer up ($t2 s)"
sim_expect_only A vm1

# 3. Bad input.
rc=0
it_on A xlmig migrate --bandwidth fast -s "$IT_SSH" vm1 "$(it_ip B)" \
	>"$IT_DIR/u.out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -q "'fast' is not a rate" "$IT_DIR/u.out" ||
	it_fail "--bandwidth fast: exit $rc: $(cat "$IT_DIR/u.out")"
rc=0
it_on A xlmig job-set 6b0e0000-1 bandwidth=1M >"$IT_DIR/u.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || it_fail "job-set of no job: exit $rc: $(cat "$IT_DIR/u.out")"
rc=0
it_on A xlmig job-set 6b0e0000-1 speed=1M >"$IT_DIR/u.out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || it_fail "job-set speed=: exit $rc: $(cat "$IT_DIR/u.out")"
sim_expect_only A vm1
sim_expect_no_domains B
