# shellcheck shell=bash
# t-xlmig-10-migrate.sh - (a) xlmig -> xlmig live migration of a PVH guest,
# timed against stock xl in the same run on the same guest and hosts:
# `xl migrate` A -> B, then `xlmig migrate --progress=json` B -> A. After
# xlmig the guest runs on A only, unpaused, under its own name, its
# counter going on past the last value B showed, with an xlmig monitor
# watching it; its JSON events (written to B's share) show the phases,
# progress with growing bytes, a rate and the guest's size, and the result.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

lab_guest_create A lab1
c0=$(xlmig_expect_counting A lab1 -1)

lab_timed A "xl migrate lab1 $(lab_ip B)" 600 || lab_fail "xl migrate failed"
t_xl=$LAB_ELAPSED_MS
xlmig_expect_no_domains A 30
xlmig_expect_running B lab1
c1=$(xlmig_expect_counting B lab1 "$c0")

lab_timed B "xlmig migrate --progress=json lab1 $(lab_ip A) >/share/m10.json" 600 ||
	lab_fail "xlmig migrate failed"
t_xlmig=$LAB_ELAPSED_MS
xlmig_expect_no_domains B 30
xlmig_expect_running A lab1
xlmig_expect_only A lab1
last_b=$(lab_counter B lab1)
[ "$last_b" -ge "$c1" ] || lab_fail "B's last counter $last_b is below $c1"
c2=$(xlmig_expect_counting A lab1 "$last_b")
lab_log "lab1 counted $c0 on A, $c1..$last_b on B, then $c2 on A again"
lab_sh A "pgrep -af 'xlmig monitor'" 30 ||
	lab_fail "no xlmig monitor watches lab1 on A"

why=$(python3 - "$LAB_RUN_DIR/B/share/m10.json" "$LAB_GUEST_MEM" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
prog = [e for e in ev if e["event"] == "progress"]
phases = [e["phase"] for e in ev if e["event"] == "phase"]
res = ev[-1]
bad = []
if res["event"] != "result" or not res["ok"]: bad.append("result %r" % res)
for p in ("preflight", "transfer", "switchover", "done"):
    if p not in phases: bad.append("no %s phase" % p)
if len(prog) < 3: bad.append("%d progress events" % len(prog))
b = [e["bytes"] for e in prog]
if b != sorted(b): bad.append("bytes go down")
if not any(e["rate"] > 0 for e in prog): bad.append("no rate")
pages = int(sys.argv[2]) * 256            # MiB in 4 KiB pages
tp = set(e["total_pages"] for e in prog)  # what Xen counts: a little more
if len(tp) != 1 or not pages <= tp.pop() <= pages * 1.03:
    bad.append("total_pages %r for a %s MiB guest" % (tp, sys.argv[2]))
print("; ".join(bad) if bad else
      "ok: %d progress events, %d rounds, %.1f MB at up to %.1f MB/s" %
      (len(prog), res["rounds"], res["bytes"] / 1e6,
       max(e["rate"] for e in prog) / 1e6))
PY
) || lab_fail "cannot read the progress events: $why"
case $why in ok:*) lab_log "progress events $why" ;;
*) lab_fail "progress events: $why" ;; esac

lab_log "RESULT: xl migrate $(xlmig_secs "$t_xl") s, xlmig migrate $(xlmig_secs "$t_xlmig") s, ratio xlmig/xl $((t_xlmig * 100 / t_xl)) %"
