# shellcheck shell=bash
# t-xlmig-90-datach.sh - the stream session on real Xen: a PVH guest goes
# A -> B with `xlmig migrate --data tcp --compress zstd --progress=json`
# (frames on a direct TCP connection keyed over ssh, zero pages left out,
# zstd), then back B -> A with --data tcp --encrypt. Each time the guest
# runs on the destination only, counting on, and the JSON events show the
# receiver's progress, fewer bytes on the wire than in the stream, and a
# measured downtime.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

# check_events HOST FILE: the events of one migration, from HOST's share.
check_events() {
	python3 - "$LAB_RUN_DIR/$1/share/$2" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
prog = [e for e in ev if e["event"] == "progress"]
info = " ".join(e.get("detail", "") for e in ev if e["event"] == "info")
res = ev[-1]
bad = []
if res["event"] != "result" or not res["ok"]: bad.append("result %r" % res)
if "data connection to" not in info: bad.append("no data connection")
if not res["downtime_measured"]: bad.append("downtime not measured")
if not res["zero_pages"] > 0: bad.append("no zero page left out")
if not res["wire_bytes"] < res["bytes"]: bad.append("wire not below stream")
if not any(e["peer_bytes"] > 0 for e in prog): bad.append("no receiver progress")
b = [e["bytes"] for e in prog]
if b != sorted(b): bad.append("bytes go down")
print("; ".join(bad) if bad else
      "ok: %d progress events, %.1f MB stream, %.1f MB sent, %d zero "
      "pages, downtime %.0f ms" % (len(prog), res["bytes"] / 1e6,
      res["wire_bytes"] / 1e6, res["zero_pages"], res["downtime_ms"]))
PY
}

# move FROM TO COUNTER OPTS: migrate lab1 with OPTS, check where it runs
# and the events; MOVED_C is the counter then seen on TO. (Not called in
# $(...): lab_fail must end the test, not a subshell.)
move() {
	local from=$1 to=$2 c=$3 opts=$4 why
	lab_sh "$from" "xlmig migrate --progress=json $opts lab1 $(lab_ip "$to") >/share/m90.json" 600 ||
		lab_fail "xlmig migrate $opts failed"
	xlmig_expect_no_domains "$from" 30
	xlmig_expect_only "$to" lab1
	c=$(xlmig_expect_counting "$to" lab1 "$c")
	why=$(check_events "$from" m90.json) || lab_fail "cannot read the events: $why"
	case $why in ok:*) lab_log "$from -> $to ($opts): $why" ;;
	*) lab_fail "$from -> $to events: $why" ;; esac
	MOVED_C=$c
}

lab_guest_create A lab1
c0=$(xlmig_expect_counting A lab1 -1)
move A B "$c0" "--data tcp --compress zstd"
c1=$MOVED_C
move B A "$c1" "--data tcp --encrypt"
lab_log "lab1 counted $c0 on A, $c1 on B, $MOVED_C on A again"
