#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-99-jobs.sh - job files (xlmig-jobs(5)) run by `xlmig job-run` on A,
# three sim hosts over ssh:
#  dry-run  the evacuation's --dry-run prints the plan and exits 1 (one
#           domain cannot go): xenstore's /libxlmig, the domains and the
#           state directories of all hosts are the same after it
#  evacuate A's six domains (one excluded stays) to B and C with
#           per-destination 2: A enters maintenance mode; never more than
#           2 incoming on B or C at once (their slots watched, their own
#           limit raised to 4), and 2 reached; each domain on the host the
#           placement rule picks from the figures of `xlmig check --json`;
#           the domain with a PCI device is unplaced, names the check, and
#           runs on A; exit 1; the report says all that
#  chain    after= and on-error: a failed job skips its dependent, an
#           independent one runs; on-error=stop skips what had not started
#  retry    a failing migration tried again (retries=1): 2 attempts, then
#           failed, naming the check; a host that does not answer fails
#           its job naming why; --json gives one event a line;
#           job-validate --check-hosts names the host that does not
#           answer, and job-validate a domain that is not here
#  kill     the runner killed (SIGKILL) mid-migration: the migration goes
#           on; the same file run again adopts it, moves the rest, moves
#           nothing twice, exits 0 and leaves no state behind
#  timeout  a job's timeout cancels it before its point of no return
#  sigint   SIGINT mid-migration: cancelled before its point of no return
#           (the domain runs on A), nothing more started, exit 1, the
#           state kept; run again, it completes
#  from     a job with from=B runs on B over ssh: B's domain goes to C
#  hostile  a DOCTYPE (XXE) file: exit 2, nothing run
#  limits   per-source 1 (A's and B's migrations each one at a time, side
#           by side) and per-sr 1 (three disk moves into one SR in turn)
#  leave    an evacuation with leave-maintenance="yes" leaves it
#  state    a foreign state file (a task id with ../) is refused; a state
#           file that cannot be written (a full tmpfs) stops the run
#           before the migration starts: exit 1, the domain on A
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-99-jobs 600
it_setup 3

A=$(it_ip A)
B=$(it_ip B)
C=$(it_ip C)
J=$IT_DIR/jobs
mkdir -p "$J"
run() { it_on A xlmig job-run -s "$IT_SSH" "$@"; }

cat >"$J/py" <<'EOF'
import json, sys

def load(p):
    with open(p) as f:
        return json.load(f)

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "pci-config":         # OUT NAME: a PVH config with a PCI device
    c = {"c_info": {"type": "pvh", "name": args[1],
                    "uuid": "85850000-0000-4000-8000-00000000e006"},
         "b_info": {"max_vcpus": 1, "avail_vcpus": [0],
                    "max_memkb": 16384, "target_memkb": 16384,
                    "kernel": "/var/lib/xen/boot/vmlinuz", "type.pvh": {}},
         "pcidevs": [{"domain": 0, "bus": 3, "dev": 0, "func": 0}]}
    json.dump(c, open(args[0], "w"))
elif cmd == "place":            # CHECKS...: the placement the rule gives
    # args: files named DOMAIN.TARGET with `xlmig check --json` output
    fig, doms, tgts = {}, [], []
    for p in args:
        d, t = p.rsplit("/", 1)[1].rsplit(".", 1)
        r = load(p)
        if d not in doms: doms.append(d)
        if t not in tgts: tgts.append(t)
        fig[d, t] = r
    free = {t: fig[doms[0], t]["memory"]["free_kib"] for t in tgts}
    def need(d, t): return fig[d, t]["memory"]["need_kib"]
    def fits(d, t): return fig[d, t]["ok"]
    size = {d: max([need(d, t) for t in tgts if fits(d, t)] or [0]) for d in doms}
    order = sorted(range(len(doms)), key=lambda i: (-size[doms[i]], i))
    for i in order:
        d = doms[i]
        best = None
        for t in tgts:
            if fits(d, t) and need(d, t) <= free[t]:
                if best is None or free[t] - need(d, t) > free[best] - need(d, best):
                    best = t
        if best: free[best] -= need(d, best)
        print(d, best or "-")
elif cmd == "results":          # REPORT: "ID RESULT TO ATTEMPTS" lines
    for j in load(args[0])["jobs"]:
        print(j["id"], j["result"], j["to"] or "-", j["attempts"])
elif cmd == "field":            # REPORT ID KEY
    for j in load(args[0])["jobs"]:
        if j["id"] == args[1]:
            print(j[args[2]])
elif cmd == "incoming":         # `xlmig jobs --json`: slots "in" held
    print(sum(1 for j in load(args[0])["jobs"] if j["slot"] == "in"))
elif cmd == "overlap":          # REPORT FIELD VALUE: most such tasks at once
    ev = []
    want = None if args[2] == "-" else args[2]
    for j in load(args[0])["jobs"]:
        if j[args[1]] == want and j["result"] == "done" and j["started"]:
            ev += [(j["started"], 1), (j["ended"], -1)]
    n = m = 0
    for _, d in sorted(ev, key=lambda e: (e[0], e[1])):
        n += d
        m = max(m, n)
    print(m)
EOF
py() { python3 "$J/py" "$@"; }

# snapshot TAG: what a dry run must not change, on every host.
snapshot() {
	local h
	for h in A B C; do
		XENSTORED_PATH=$(it_sim_dir $h)/xenstored/socket xenstore-ls -f /libxlmig 2>&1 |
			sed "s/^/$h /"
		it_on $h xlmig list --json | python3 -c '
import json, sys
for d in json.load(sys.stdin)["domains"]:
    print(d["name"], d["domid"], d["uuid"])' | sed "s/^/$h /"
		(cd "$(it_host_dir $h)" && find state links -print 2>/dev/null || true) | sort | sed "s/^/$h /"
	done
}

# --- hosts and domains ------------------------------------------------------------------
# B has 800 MiB free, C 700 (dom0 takes 1024); their own incoming limit is
# 4, so the file's limit of 2 per destination is what holds.
sed -i 's/^memory_mb = .*/memory_mb = 1824/' "$(it_sim_dir B)/facts"
sed -i 's/^memory_mb = .*/memory_mb = 1724/' "$(it_sim_dir C)/facts"
for h in B C; do it_on $h xlmig set-limit in 4; done
it_on A xlmig set-limit out 8
i=0
for mb in 160 128 96 64 48; do
	i=$((i + 1))
	it_on A xlmig sim-create --memory $mb --rate 300 --fill random "ev$i" >/dev/null ||
		it_fail "sim-create ev$i"
done
py pci-config "$J/ev6.json" ev6
it_on A xlmig sim-create --rate 100 --config "$J/ev6.json" ev6 >/dev/null || it_fail "sim-create ev6"
it_on A xlmig sim-create --memory 16 --rate 100 keep1 >/dev/null
sim_shape A 300mbit

cat >"$J/evac.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<jobs xmlns="urn:xlmig:jobs:1" version="1">
  <limits per-destination="2" total="6"/>
  <host name="B" address="$B"/>
  <host name="C" address="$C"/>
  <evacuate id="evac" to="B C" compress="lz4" max-downtime="300"
            converge="force">
    <exclude name="keep*"/>
  </evacuate>
</jobs>
EOF
it_on A xlmig job-validate "$J/evac.xml" >/dev/null || it_fail "evac.xml is not valid"

# The placement the rule gives, from the hosts' own figures.
mkdir -p "$J/checks"
for d in ev1 ev2 ev3 ev4 ev5 ev6; do
	for t in B C; do
		it_on A xlmig check --json -s "$IT_SSH" $d "$(it_ip $t)" >"$J/checks/$d.$t" || true
	done
done
py place "$J"/checks/* >"$J/expected"
it_log "expected placement: $(tr '\n' ' ' <"$J/expected")"
grep -qx 'ev6 -' "$J/expected" || it_fail "ev6 fits somewhere: $(cat "$J/expected")"
[ "$(awk '$2 == "B"' "$J/expected" | wc -l)" -ge 2 ] &&
	[ "$(awk '$2 == "C"' "$J/expected" | wc -l)" -ge 2 ] ||
	it_fail "the figures do not spread the domains: $(tr '\n' ' ' <"$J/expected")"

# --- dry-run ----------------------------------------------------------------------------
snapshot >"$J/before"
rc=0
run --dry-run --report "$J/dry.json" "$J/evac.xml" >"$J/dry.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || it_fail "dry run: exit $rc, not 1: $(tr "\n" "|" <"$J/dry.out")"
snapshot >"$J/after"
diff "$J/before" "$J/after" >"$J/dry.diff" || it_fail "the dry run changed: $(head -n 5 "$J/dry.diff")"
grep -q 'evac:ev6 *unplaced' "$J/dry.out" || it_fail "dry run: ev6 not unplaced: $(tr "\n" "|" <"$J/dry.out")"
while read -r d t; do
	[ "$t" = - ] && continue
	grep -q "evac:$d *migrate $d to $t " "$J/dry.out" ||
		it_fail "dry run does not place $d on $t: $(tr "\n" "|" <"$J/dry.out")"
done <"$J/expected"
it_on A xlmig maintenance status | grep -qx off || it_fail "the dry run put A in maintenance mode"

# --- evacuate ---------------------------------------------------------------------------
run --report "$J/evac.json" "$J/evac.xml" >"$J/evac.out" 2>&1 &
runner=$!
max_b=0 max_c=0
while kill -0 $runner 2>/dev/null; do
	it_on B xlmig jobs --json >"$J/jobs.B" 2>/dev/null || true
	it_on C xlmig jobs --json >"$J/jobs.C" 2>/dev/null || true
	nb=$(py incoming "$J/jobs.B" 2>/dev/null || echo 0)
	nc=$(py incoming "$J/jobs.C" 2>/dev/null || echo 0)
	[ "$nb" -le 2 ] && [ "$nc" -le 2 ] || it_fail "incoming at once: B $nb, C $nc (limit 2)"
	[ "$nb" -le "$max_b" ] || max_b=$nb
	[ "$nc" -le "$max_c" ] || max_c=$nc
	sleep 0.2
done
rc=0
wait $runner || rc=$?
it_log "evacuation: $(tr "\n" "|" <"$J/evac.out")"
[ "$rc" = 1 ] || it_fail "evacuation: exit $rc, not 1 (ev6 cannot go)"
[ "$max_b" = 2 ] || [ "$max_c" = 2 ] || it_fail "the limit of 2 was never reached (B $max_b, C $max_c)"
for t in B C; do
	[ "$(py overlap "$J/evac.json" to $t)" -le 2 ] || it_fail "the report shows more than 2 to $t at once"
done
while read -r d t; do
	if [ "$t" = - ]; then
		sim_expect_only A "$d"
		[ "$(py field "$J/evac.json" "evac:$d" result)" = unplaced ] ||
			it_fail "$d is not reported unplaced"
		py field "$J/evac.json" "evac:$d" checks | grep -q 'B: pci-passthrough.*C: pci-passthrough' ||
			it_fail "$d: the failing checks are not named: $(py field "$J/evac.json" "evac:$d" checks)"
		continue
	fi
	sim_expect_only "$t" "$d"
	[ "$(py field "$J/evac.json" "evac:$d" result) $(py field "$J/evac.json" "evac:$d" to)" = "done $t" ] ||
		it_fail "$d: report says $(py results "$J/evac.json" | grep "evac:$d ")"
	[ "$(py field "$J/evac.json" "evac:$d" phases)" != "{}" ] || it_fail "$d: no phase times in the report"
	[ "$(py field "$J/evac.json" "evac:$d" wire_bytes)" -gt 0 ] || it_fail "$d: no wire bytes in the report"
done <"$J/expected"
sim_expect_only A keep1
it_on A xlmig maintenance status | grep -q '^on' || it_fail "A is not in maintenance mode after the evacuation"
grep -q 'pci-passthrough' "$J/evac.out" || it_fail "the run does not name ev6's failing check"
it_on A xlmig maintenance off

# --- chain ------------------------------------------------------------------------------
for d in ch1 ch2 ch3; do it_on A xlmig sim-create --memory 16 --rate 100 $d >/dev/null; done
cat >"$J/chain.xml" <<EOF
<?xml version="1.0"?>
<jobs xmlns="urn:xlmig:jobs:1" version="1">
  <host name="B" address="$B"/>
  <migrate id="bad" domain="ghost" to="B"/>
  <migrate id="dep" domain="ch1" to="B" after="bad"/>
  <migrate id="indep" domain="ch2" to="B"/>
  <migrate id="stopper" domain="ghost2" to="B" after="indep" on-error="stop"/>
  <wait id="slow" seconds="5"/>
  <migrate id="late" domain="ch3" to="B" after="slow"/>
</jobs>
EOF
rc=0
run --report "$J/chain.json" "$J/chain.xml" >"$J/chain.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || it_fail "chain: exit $rc, not 1: $(tr "\n" "|" <"$J/chain.out")"
py results "$J/chain.json" | awk '{ print $1, $2 }' | sort >"$J/chain.got"
printf '%s\n' "bad failed" "dep skipped" "indep done" "late skipped" "slow done" "stopper failed" >"$J/chain.want"
diff "$J/chain.want" "$J/chain.got" >/dev/null || it_fail "chain: $(tr '\n' ',' <"$J/chain.got")"
py field "$J/chain.json" dep error | grep -q 'bad' || it_fail "dep's reason does not name bad"
py field "$J/chain.json" late error | grep -q 'on-error=stop' || it_fail "late's reason is not the stop"
py field "$J/chain.json" bad error | grep -q 'ghost is not on' || it_fail "bad's error: $(py field "$J/chain.json" bad error)"
sim_expect_only A ch1
sim_expect_only B ch2
sim_expect_only A ch3

# --- retry, unreachable host, --json --------------------------------------------------
# ch4 exists on B too: each attempt fails its checks (name-free), the
# domain stays on A; one retry, then failed with 2 attempts. Host D does
# not answer: its job fails naming it. Events: one JSON object a line.
it_on A xlmig sim-create --memory 16 --rate 100 ch4 >/dev/null
it_on B xlmig sim-create --memory 16 --rate 100 ch4 >/dev/null
cat >"$J/retry.xml" <<EOF
<?xml version="1.0"?>
<jobs xmlns="urn:xlmig:jobs:1" version="1">
  <host name="B" address="$B"/>
  <host name="D" address="192.0.2.9"/>
  <migrate id="clash" domain="ch4" to="B" retries="1" retry-delay="1"/>
  <migrate id="far" from="D" domain="ch4" to="B"/>
</jobs>
EOF
rc=0
run --json --report "$J/retry.json" "$J/retry.xml" >"$J/retry.jsonl" 2>"$J/retry.err" || rc=$?
[ "$rc" = 1 ] || it_fail "retry: exit $rc, not 1"
[ "$(py results "$J/retry.json" | sort | tr '\n' ' ')" = "clash failed B 2 far failed B 1 " ] ||
	it_fail "retry: $(py results "$J/retry.json" | tr '\n' ' ')"
py field "$J/retry.json" clash checks | grep -q name-free || it_fail "clash does not name name-free"
py field "$J/retry.json" far error | grep -qi 'D\|192.0.2.9\|ssh\|connect' ||
	it_fail "far's error does not say why: $(py field "$J/retry.json" far error)"
python3 - "$J/retry.jsonl" <<'EOF' || it_fail "retry: the JSON events are wrong: $(tr '\n' '|' <"$J/retry.jsonl")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[0]["event"] == "run-start", ev[0]
assert ev[-1] == {"event": "run-end", "result": "failed", "done": 0, "failed": 2,
                  "skipped": 0, "cancelled": 0, "unplaced": 0}, ev[-1]
starts = [e["id"] for e in ev if e["event"] == "job-start"]
assert starts.count("clash") == 2, starts
ends = [(e["id"], e["result"]) for e in ev if e["event"] == "job-end"]
assert sorted(ends) == [("clash", "failed"), ("far", "failed")], ends
EOF
sim_expect_running A ch4
# job-validate: --check-hosts reaches each declared host (D does not
# answer), and a domain named for this host must be here.
rc=0
it_on A xlmig job-validate --check-hosts -s "$IT_SSH" "$J/retry.xml" >"$J/val.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || it_fail "job-validate --check-hosts with D away: exit $rc, not 1"
grep -q 'retry.xml:4: host D (192.0.2.9) does not answer' "$J/val.out" ||
	it_fail "job-validate --check-hosts: $(tr "\n" "|" <"$J/val.out")"
grep -q 'host B' "$J/val.out" && it_fail "job-validate says B does not answer: $(tr "\n" "|" <"$J/val.out")"
rc=0
it_on A xlmig job-validate "$J/chain.xml" >"$J/val2.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || it_fail "job-validate of jobs naming absent domains: exit $rc, not 1"
grep -q 'chain.xml:4: job bad: domain ghost is not on this host' "$J/val2.out" ||
	it_fail "job-validate: $(tr "\n" "|" <"$J/val2.out")"

# --- kill -------------------------------------------------------------------------------
for i in 1 2 3; do
	it_on A xlmig sim-create --memory 64 --rate 300 --fill random "rs$i" >/dev/null
done
sim_shape A 120mbit
cat >"$J/rs.xml" <<EOF
<?xml version="1.0"?>
<jobs xmlns="urn:xlmig:jobs:1" version="1">
  <limits per-destination="1"/>
  <host name="C" address="$C"/>
  <migrate id="rs" to="C"><select name="rs*"/></migrate>
</jobs>
EOF
run "$J/rs.xml" >"$J/rs1.out" 2>&1 &
runner=$!
# Killed once the state file says one is done and the next runs.
state_is() {
	python3 -c '
import glob, json, sys
f = glob.glob(sys.argv[1] + "/rs-*.json")
r = [j["result"] for j in json.load(open(f[0]))["jobs"]] if f else []
sys.exit(0 if r.count("done") == 1 and r.count("running") == 1 else 1)' "$(it_host_dir A)/state/runs" 2>/dev/null
}
it_wait_until 60 "one migration done and the next running" state_is
sim_kill A KILL '^[^ ]*xlmig job-run .*rs\.xml'
wait $runner 2>/dev/null || true
t_kill=$(date +%s.%N)
ls "$(it_host_dir A)/state/runs/"rs-*.json >/dev/null 2>&1 || it_fail "no state file after the kill"
# The migration the runner left goes on without it.
it_wait_until 60 "the orphaned migration to end" eval '[ "$(sim_jobs A)" = 0 ]'
rc=0
run --report "$J/rs.json" "$J/rs.xml" >"$J/rs2.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || it_fail "the run after the kill: exit $rc: $(tr "\n" "|" <"$J/rs2.out")"
for i in 1 2 3; do sim_expect_only C "rs$i"; done
py results "$J/rs.json" | while read -r id res to n; do
	[ "$res $to $n" = "done C 1" ] || it_fail "after the kill, $id: $res $to $n (want done C 1)"
done
# One done before the kill, one adopted (started before, ended after),
# the third started after: none ran twice (attempts 1, above).
when=$(python3 -c '
import json, sys
t = float(sys.argv[2])
for j in json.load(open(sys.argv[1]))["jobs"]:
    print("before" if j["ended"] < t else "across" if j["started"] < t else "after")' \
	"$J/rs.json" "$t_kill" | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
[ "$when" = "across=1 after=1 before=1 " ] || it_fail "after the kill ($t_kill), the tasks ran: $when: $(python3 -c '
import json, sys
for j in json.load(open(sys.argv[1]))["jobs"]:
    print(j["id"], j["started"], j["ended"], j["attempts"])' "$J/rs.json" | tr '\n' '|') $(tr '\n' '|' <"$J/rs2.out")"
grep -q 'still running from an earlier run' "$J/rs2.out" || it_fail "the second run adopted nothing"
ls "$(it_host_dir A)/state/runs/"rs-* >/dev/null 2>&1 && it_fail "state left after a complete run"

# --- sigint -----------------------------------------------------------------------------
for i in 1 2; do
	it_on A xlmig sim-create --memory 128 --rate 300 --fill random "si$i" >/dev/null
done
sim_shape A 60mbit
cat >"$J/si.xml" <<EOF
<?xml version="1.0"?>
<jobs xmlns="urn:xlmig:jobs:1" version="1">
  <limits total="1"/>
  <host name="B" address="$B"/>
  <migrate id="s1" domain="si1" to="B"/>
  <migrate id="s2" domain="si2" to="B"/>
</jobs>
EOF
# A job's timeout: si1 cannot move in 3 s at this rate: cancelled before
# its point of no return, failed "timed out", the domain on A.
cat >"$J/to.xml" <<EOF
<?xml version="1.0"?>
<jobs xmlns="urn:xlmig:jobs:1" version="1">
  <host name="B" address="$B"/>
  <migrate id="t" domain="si1" to="B" timeout="3"/>
</jobs>
EOF
rc=0
run --report "$J/to.json" "$J/to.xml" >"$J/to.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || it_fail "timeout: exit $rc, not 1"
[ "$(py results "$J/to.json")" = "t failed B 1" ] || it_fail "timeout: $(py results "$J/to.json")"
py field "$J/to.json" t error | grep -q 'timed out after 3 s' || it_fail "timeout: $(py field "$J/to.json" t error)"
sim_expect_only A si1
[ "$(sim_jobs A)" = 0 ] || it_fail "jobs left on A after the timeout"
run --report "$J/si.json" "$J/si.xml" >"$J/si1.out" 2>&1 &
runner=$!
it_wait_until 30 "si1 in transfer" eval \
	'it_on A xlmig jobs --json | grep -q "\"phase\": \"transfer\""'
sim_kill A INT '^[^ ]*xlmig job-run .*si\.xml'
rc=0
wait $runner || rc=$?
[ "$rc" = 1 ] || it_fail "SIGINT: exit $rc, not 1: $(tr "\n" "|" <"$J/si1.out")"
py results "$J/si.json" | awk '{ print $1, $2 }' | sort | tr '\n' ' ' >"$J/si.got"
[ "$(cat "$J/si.got")" = "s1 cancelled s2 skipped " ] || it_fail "SIGINT: $(cat "$J/si.got")"
sim_expect_only A si1
sim_expect_only A si2
[ "$(sim_jobs A)" = 0 ] || it_fail "jobs left on A after SIGINT"
ls "$(it_host_dir A)/state/runs/"si-*.json >/dev/null 2>&1 || it_fail "no state kept after SIGINT"
sim_shape A 1gbit
run "$J/si.xml" >"$J/si2.out" 2>&1 || it_fail "the run after SIGINT failed: $(tr "\n" "|" <"$J/si2.out")"
sim_expect_only B si1
sim_expect_only B si2

# --- from -------------------------------------------------------------------------------
on_b=$(awk '$2 == "B" { print $1; exit }' "$J/expected")
cat >"$J/from.xml" <<EOF
<?xml version="1.0"?>
<jobs xmlns="urn:xlmig:jobs:1" version="1">
  <host name="B" address="$B"/>
  <host name="C" address="$C"/>
  <migrate id="r" from="B" domain="$on_b" to="C"/>
</jobs>
EOF
run --report "$J/from.json" "$J/from.xml" >"$J/from.out" 2>&1 ||
	it_fail "from=B: $(tr "\n" "|" <"$J/from.out")"
sim_expect_only C "$on_b"

# --- hostile ----------------------------------------------------------------------------
cat >"$J/xxe.xml" <<EOF
<?xml version="1.0"?>
<!DOCTYPE jobs [ <!ENTITY x SYSTEM "file:///etc/shadow"> ]>
<jobs xmlns="urn:xlmig:jobs:1" version="1"><host name="B" address="$B"/>
  <migrate id="m" domain="keep1" to="B"/></jobs>
EOF
rc=0
run "$J/xxe.xml" >"$J/xxe.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || it_fail "a DOCTYPE file: exit $rc, not 2"
grep -q 'xxe.xml:2: a DOCTYPE is refused' "$J/xxe.out" || it_fail "xxe: $(tr "\n" "|" <"$J/xxe.out")"
sim_expect_only A keep1

# --- state: a state file that is not ours is refused, naming it; one that
# cannot be written stops the run before the migration starts.
cat >"$J/keep.xml" <<EOF
<?xml version="1.0"?>
<jobs xmlns="urn:xlmig:jobs:1" version="1"><host name="B" address="$B"/>
  <migrate id="k" domain="keep1" to="B"/></jobs>
EOF
printf '{"version": 1, "file": "x", "jobs": [{"id": "../../etc/k", "job": "k", "result": "running"}]}' \
	>"$J/bad-state.json"
rc=0
run --state "$J/bad-state.json" "$J/keep.xml" >"$J/badstate.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || it_fail "a foreign state file: exit $rc, not 1"
grep -q 'bad-state.json: entry 0 is not a task of' "$J/badstate.out" ||
	it_fail "foreign state: $(tr "\n" "|" <"$J/badstate.out")"
mkdir -p "$J/full"
mount -t tmpfs -o size=64k xlmig-it-full "$J/full" || it_fail "cannot mount a tmpfs"
it_on_teardown "umount '$J/full' 2>/dev/null || true"
dd if=/dev/zero of="$J/full/fill" bs=4k count=64 2>/dev/null || true
rc=0
run --state "$J/full/keep.json" "$J/keep.xml" >"$J/full.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || it_fail "a state file that cannot be written: exit $rc, not 1"
grep -q 'cannot write the state file' "$J/full.out" || it_fail "full: $(tr "\n" "|" <"$J/full.out")"
sim_expect_only A keep1
umount "$J/full"

# --- per-source and per-sr limits ------------------------------------------------------
# per-source 1: two migrations leave A one at a time, two leave B (from=B)
# one at a time, and the two sources run side by side.
for i in 1 2; do
	it_on A xlmig sim-create --memory 32 --rate 100 --fill random "pa$i" >/dev/null
	it_on B xlmig sim-create --memory 32 --rate 100 --fill random "pb$i" >/dev/null
done
sim_shape A 100mbit
sim_shape B 100mbit
cat >"$J/src.xml" <<EOF
<?xml version="1.0"?>
<jobs xmlns="urn:xlmig:jobs:1" version="1">
  <limits per-source="1"/>
  <host name="B" address="$B"/>
  <host name="C" address="$C"/>
  <migrate id="a" to="C"><select name="pa*"/></migrate>
  <migrate id="b" from="B" to="C"><select name="pb*"/></migrate>
</jobs>
EOF
run --report "$J/src.json" "$J/src.xml" >"$J/src.out" 2>&1 || it_fail "per-source: $(tr "\n" "|" <"$J/src.out")"
[ "$(py overlap "$J/src.json" from -)" = 1 ] || it_fail "per-source: A ran $(py overlap "$J/src.json" from -) at once"
[ "$(py overlap "$J/src.json" from B)" = 1 ] || it_fail "per-source: B ran $(py overlap "$J/src.json" from B) at once"
[ "$(py overlap "$J/src.json" kind migrate)" = 2 ] || it_fail "per-source: A and B did not run side by side"
for d in pa1 pa2 pb1 pb2; do sim_expect_only C $d; done
sim_shape A 1gbit
sim_shape B 1gbit

# per-sr 1: three disk moves into sr2 one at a time (A's own storage limit
# raised to 4, so the file's limit is what holds).
SRS=$J/srs
mkdir -p "$SRS/sr1" "$SRS/sr2"
printf 'sr = [ "sr1:dir:%s", "sr2:dir:%s" ]\n' "$SRS/sr1" "$SRS/sr2" >"$(it_host_dir A)/xlmig.conf"
it_on A xlmig sr-create sr1 dir "$SRS/sr1" >/dev/null || it_fail "sr-create sr1"
it_on A xlmig sr-create sr2 dir "$SRS/sr2" >/dev/null || it_fail "sr-create sr2"
it_on A xlmig set-limit storage 4
for i in 1 2 3; do
	dd if=/dev/urandom of="$SRS/sr1/d$i.img" bs=1M count=96 status=none
	python3 -c 'import json, sys
json.dump({"c_info": {"type": "pvh", "name": sys.argv[2],
                      "uuid": "85850000-0000-4000-8000-00000000d00" + sys.argv[3]},
           "b_info": {"max_memkb": 65536, "target_memkb": 65536,
                      "max_vcpus": 1, "type.pvh": {}},
           "disks": [{"pdev_path": sys.argv[4], "vdev": "xvda",
                      "format": "raw", "readwrite": 1}]},
          open(sys.argv[1], "w"))' "$J/d$i.json" "d$i" "$i" "$SRS/sr1/d$i.img"
done
cat >"$J/sr.xml" <<EOF
<?xml version="1.0"?>
<jobs xmlns="urn:xlmig:jobs:1" version="1">
  <limits per-sr="1"/>
  <storage-move id="s1" config="$J/d1.json" vdev="xvda" sr="sr2"/>
  <storage-move id="s2" config="$J/d2.json" vdev="xvda" sr="sr2"/>
  <storage-move id="s3" config="$J/d3.json" vdev="xvda" sr="sr2"/>
</jobs>
EOF
run --report "$J/sr.json" "$J/sr.xml" >"$J/sr.out" 2>&1 || it_fail "per-sr: $(tr "\n" "|" <"$J/sr.out")"
[ "$(py overlap "$J/sr.json" kind storage-move)" = 1 ] ||
	it_fail "per-sr: $(py overlap "$J/sr.json" kind storage-move) moves into sr2 at once"
for i in 1 2 3; do
	grep -q "$SRS/sr2/" "$J/d$i.json" || it_fail "d$i's config does not name sr2"
	[ ! -e "$SRS/sr1/d$i.img" ] || it_fail "d$i's source is left in sr1"
done

# --- leave-maintenance -----------------------------------------------------------------
# An evacuation that moved every domain it chose, asked to, leaves
# maintenance mode.
cat >"$J/leave.xml" <<EOF
<?xml version="1.0"?>
<jobs xmlns="urn:xlmig:jobs:1" version="1">
  <host name="B" address="$B"/>
  <evacuate id="e" to="B" leave-maintenance="yes"><select name="keep1"/></evacuate>
</jobs>
EOF
run "$J/leave.xml" >"$J/leave.out" 2>&1 || it_fail "leave: $(tr "\n" "|" <"$J/leave.out")"
sim_expect_only B keep1
it_on A xlmig maintenance status | grep -qx off || it_fail "A is still in maintenance mode"
grep -q 'left maintenance mode' "$J/leave.out" || it_fail "leave: $(tr "\n" "|" <"$J/leave.out")"

for h in A B C; do [ "$(sim_jobs $h)" = 0 ] || it_fail "jobs left on $h"; done
