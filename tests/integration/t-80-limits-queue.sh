#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-80-limits-queue.sh - admission limits, the FIFO queue and the domain
# lock, on xenstore (/libxlmig): five migrations start at once from A with
# A's outgoing limit at 2; never more than 2 hold a slot, the others wait
# with their queue position shown in `xlmig jobs`, and all five arrive.
# Meanwhile: --no-wait fails at once naming the limit, and a second
# migration of a domain that is already moving is refused naming the job;
# the config file seeds the limits.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-80-limits-queue 180
it_setup 2

[ "$(it_on A xlmig jobs --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["limits"]["out"])')" = 2 ] ||
	it_fail "the default outgoing limit is not 2"
# The config file seeds B's limits (its xenstore has none yet).
printf 'limit_in = 3\nlimit_storage = 1\n' >"$(it_host_dir B)/xlmig.conf"
lim=$(it_on B xlmig jobs --json | python3 -c '
import json, sys
l = json.load(sys.stdin)["limits"]
print(l["out"], l["in"], l["storage"])')
[ "$lim" = "2 3 1" ] || it_fail "limits from xlmig.conf: $lim, not 2 3 1"
it_on B xlmig set-limit in 2
for i in 1 2 3 4 5 6; do
	it_on A xlmig sim-create --memory 128 --rate 1000 --fill random "vm$i" >/dev/null
done
sim_shape A 300mbit
pids=()
for i in 1 2 3 4 5; do
	it_on A xlmig migrate -s "$IT_SSH" "vm$i" "$(it_ip B)" >"$IT_DIR/m$i.out" 2>&1 &
	pids+=($!)
done

# Watch the jobs while they run: slots held and queue positions.
max_held=0
seen_queue=0
it_wait_until 20 "five jobs on A" eval \
	'[ "$(it_on A xlmig jobs --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"jobs\"]))")" -ge 5 ]'
rc=0
it_on A xlmig migrate --no-wait -s "$IT_SSH" vm6 "$(it_ip B)" >"$IT_DIR/nowait.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || it_fail "--no-wait at the limit: exit $rc, not 1"
grep -q 'limit' "$IT_DIR/nowait.out" || it_fail "--no-wait does not name the limit: $(cat "$IT_DIR/nowait.out")"
sim_expect_running A vm6
busy_id=$(it_on A xlmig jobs --json | python3 -c '
import json, sys
for j in json.load(sys.stdin)["jobs"]:
    if j["domain"] == "vm5":
        print(j["id"])')
rc=0
it_on A xlmig migrate -s "$IT_SSH" vm5 "$(it_ip B)" >"$IT_DIR/dup.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || it_fail "second migration of vm5: exit $rc, not 1"
grep -q "busy.*$busy_id" "$IT_DIR/dup.out" ||
	it_fail "the refusal does not name job $busy_id: $(cat "$IT_DIR/dup.out")"
while :; do
	js=$(it_on A xlmig jobs --json) || break
	read -r held queued n <<<"$(python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"]
print(sum(1 for x in j if x["slot"] == "out"),
      ",".join(str(x["queue_position"]) for x in j if x["queue_position"]) or "-",
      len(j))' <<<"$js")"
	[ "$held" -le "$max_held" ] || max_held=$held
	[ "$held" -le 2 ] || it_fail "$held outgoing slots held with a limit of 2"
	[ "$queued" = "-" ] || seen_queue=1
	[ "$n" -gt 0 ] || break
	sleep 0.2
done
for p in "${pids[@]}"; do
	wait "$p" || it_fail "a queued migration failed: $(cat "$IT_DIR"/m*.out | grep -i error | head -n 3)"
done
[ "$max_held" -eq 2 ] || it_fail "at most $max_held slots were in use, not 2"
[ "$seen_queue" = 1 ] || it_fail "no job was ever seen queued"
grep -q 'position 3 in the queue' "$IT_DIR"/m*.out || it_fail "no job reported queue position 3"
for i in 1 2 3 4 5; do sim_expect_only B "vm$i"; done
sim_expect_running A vm6
[ "$(it_on A xlmig jobs --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')" = 0 ] ||
	it_fail "jobs left on A"
[ "$(it_on B xlmig jobs --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')" = 0 ] ||
	it_fail "jobs left on B"
