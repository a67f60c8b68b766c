# shellcheck shell=bash
# t-xlmig-94-xendomains.sh - the admin's way in (issue 16) on real Xen:
# xlmig-hookd runs on both hosts, started by its init script (lab_up);
# Debian's own `/etc/init.d/xendomains stop`, with A's
# /etc/default/xendomains naming B in XENDOMAINS_MIGRATE plus the one
# documented line PATH=<pkglibexecdir>/xl-path:$PATH, migrates A's two
# guests to B through xlmig (its `xen migrate ID B` finds xlmig as xl).
# A recording hook on both hosts logs each run: A's pre-migrate and
# post-migrate and B's pre-incoming and incoming-done of each guest ran
# once, under xlmig-hookd, and `xlmig events` shows them decided.  Then
# stock xl sends one guest back (xl migrate on B, plain xl
# migrate-receive on A): A's hookd makes an incoming-done for it with an
# empty job id, and the hook ran for it.  Nothing is left behind: no job,
# no hook, A's xendomains defaults as they were, the guests destroyed.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

XD_HOOK=10-record
XD_LOG=/root/xd-hooks.log
XD_EVENTS="pre-migrate post-migrate pre-incoming incoming-done"
REAL_XL=/usr/lib/xen-4.17/bin/xl

# shellcheck disable=SC2329,SC2317 # the EXIT trap
xd_cleanup() {
	local h
	for h in A B; do
		lab_sh "$h" "for g in xd1 xd2; do xl destroy \$g 2>/dev/null; done
for ev in $XD_EVENTS; do rm -f /etc/xen/xlmig/hooks.d/\$ev/$XD_HOOK; done
rm -f /root/xd-record $XD_LOG /var/lib/xen/save/xd1 /var/lib/xen/save/xd2
[ ! -e /root/xendomains.orig ] || mv /root/xendomains.orig /etc/default/xendomains
true" 60 >/dev/null 2>&1 || true
	done
}
trap xd_cleanup EXIT

# xd_events HOST FILE: HOST's `xlmig events --json` into FILE (here).
xd_events() {
	lab_sh "$1" "xlmig events --json" 60 >"$2" ||
		lab_fail "xlmig events --json failed on $1: $(cat "$2")"
}

# xd_check HOST BASE SPEC...: check HOST's events after seq BASE and its
# recording hook's lines against SPEC "EVENT,DOMAIN,ROLE,JOB" (JOB: + a
# job id, - none), exactly one each, nothing else for xd1/xd2.  Prints
# "ok: ..." or what is wrong (events still running are wrong).
xd_check() {
	local h=$1 base=$2 d
	shift 2
	d=$LAB_RUN_DIR/$h/share
	xd_events "$h" "$d/xd-events.json"
	lab_sh "$h" "cat $XD_LOG 2>/dev/null" 30 >"$d/xd-hooks.log" || true
	python3 - "$d/xd-events.json" "$d/xd-hooks.log" "$base" "$XD_HOOK" "$@" <<'PY'
import json, sys
evf, logf, base, hook = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
specs = [s.split(",") for s in sys.argv[5:]]
j = json.load(open(evf))
bad = []
if not j.get("hookd_pid"):
    bad.append("hookd_pid is %r" % j.get("hookd_pid"))
evs = [e for e in j["events"] if e["seq"] > base and e["domain"] in ("xd1", "xd2")]
lines = []
for l in open(logf):
    l = l.split()
    if l:
        lines.append(dict(kv.split("=", 1) for kv in l))
want = sorted((s[0], s[1]) for s in specs)
got = sorted((e["event"], e["domain"]) for e in evs)
if got != want:
    bad.append("events %s, expected %s" % (got, want))
got = sorted((r["event"], r["domain"]) for r in lines)
if got != want:
    bad.append("hook lines %s, expected %s" % (got, want))
uuids = {}
for ev, dom, role, job in specs:
    e = [e for e in evs if e["event"] == ev and e["domain"] == dom]
    r = [r for r in lines if r["event"] == ev and r["domain"] == dom]
    if len(e) != 1 or len(r) != 1:
        continue
    e, r = e[0], r[0]
    what = "%s %s" % (ev, dom)
    if e["state"] != "done" or e["verdict"] != "go":
        bad.append("%s: state %s verdict %s %s" % (what, e["state"], e["verdict"], e["why"]))
    if e["role"] != role:
        bad.append("%s: role %s" % (what, e["role"]))
    if (job == "+") != bool(e["job"]):
        bad.append("%s: job %r" % (what, e["job"]))
    runs = [x for x in e["runs"] if x["hook"] == hook]
    if len(runs) != 1 or runs[0]["status"] != "exit 0" or "recorded " + ev not in runs[0]["output"]:
        bad.append("%s: runs of %s: %s" % (what, hook, runs))
    # the hook's own view: argv, environment, who ran it
    if r["argv"] != "%s,%s,%s" % (ev, dom, role):
        bad.append("%s: hook argv %s" % (what, r["argv"]))
    if r["hook"] != hook or r["role"] != role or r["job"] != e["job"] or r["seq"] != str(e["seq"]):
        bad.append("%s: hook env hook=%s role=%s job=%s seq=%s, event job=%s seq=%s"
                   % (what, r["hook"], r["role"], r["job"], r["seq"], e["job"], e["seq"]))
    if not r["runner"].endswith("/xlmig-hookd"):
        bad.append("%s: run by %r, not xlmig-hookd" % (what, r["runner"]))
    if job == "+" and r["stdin"] in ("", "0"):
        bad.append("%s: no config on stdin" % what)
    if job == "-" and (r["job"] or r["peer"]):
        bad.append("%s: job %r peer %r for stock xl" % (what, r["job"], r["peer"]))
    if ev == "pre-incoming" and r["domid"]:
        bad.append("%s: XLMIG_DOMID %s before the domain exists" % (what, r["domid"]))
    if not r["uuid"] or uuids.setdefault(dom, r["uuid"]) != r["uuid"]:
        bad.append("%s: uuid %r" % (what, r["uuid"]))
print("; ".join(bad) if bad else "ok: hookd pid %d, %d events, %d hook lines (%s)" % (
    j["hookd_pid"], len(evs), len(lines), ", ".join("%s %s seq %d job %s" % (
        e["event"], e["domain"], e["seq"], e["job"] or "''") for e in evs)))
PY
}

# xd_wait_check HOST BASE WITHIN_S SPEC...: xd_check until it is ok
# (post-migrate and incoming-done hooks run after the migration ends).
xd_wait_check() {
	local h=$1 base=$2 limit=$((SECONDS + $3)) why
	shift 3
	while :; do
		why=$(xd_check "$h" "$base" "$@") || lab_fail "cannot check $h's events: $why"
		case $why in ok:*) lab_log "$h: $why" && return 0 ;; esac
		[ "$SECONDS" -lt "$limit" ] || lab_fail "$h: $why"
		sleep 2
	done
}

# xd_last_seq HOST: the newest event number on HOST (0: none).
xd_last_seq() {
	local f=$LAB_RUN_DIR/$1/share/xd-events0.json
	xd_events "$1" "$f"
	python3 -c 'import json, sys
print(max([e["seq"] for e in json.load(open(sys.argv[1]))["events"]] or [0]))' "$f"
}

# 1. xlmig-hookd runs on both hosts, as its init script started it.
for h in A B; do
	# shellcheck disable=SC2016 # expanded in dom0
	out=$(lab_sh "$h" '/etc/init.d/xlmig-hookd status; echo "pidfile $(cat /run/xlmig-hookd.pid)"
xlmig events | head -n 1' 60) || lab_fail "xlmig-hookd does not run on $h: $out"
	pid=$(sed -n 's/^pidfile //p' <<<"$out")
	grep -qx "xlmig-hookd runs (pid $pid)" <<<"$out" ||
		lab_fail "$h: xlmig events does not see the init script's xlmig-hookd (pid $pid): $out"
	lab_log "$h: $(tr '\n' '|' <<<"$out")"
done

# The recording hook, in the four events' directories of both hosts.
for h in A B; do
	lab_sh "$h" "cat >/root/xd-record <<'EOF'
#!/bin/sh
# xd-record EVENT DOMAIN ROLE: one line per run into $XD_LOG
bytes=\$(wc -c)
runner=\$(readlink /proc/\$PPID/exe)
echo \"hook=\${0##*/} argv=\$1,\$2,\$3 event=\$XLMIG_EVENT seq=\$XLMIG_SEQ job=\$XLMIG_JOB domain=\$XLMIG_DOMAIN uuid=\$XLMIG_UUID domid=\$XLMIG_DOMID peer=\$XLMIG_PEER role=\$XLMIG_ROLE result=\$XLMIG_RESULT stdin=\$bytes runner=\$runner\" >>$XD_LOG
echo \"recorded \$1 \$2\"
EOF
chmod 755 /root/xd-record && rm -f $XD_LOG
for ev in $XD_EVENTS; do ln -sfn /root/xd-record /etc/xen/xlmig/hooks.d/\$ev/$XD_HOOK; done" 60 ||
		lab_fail "cannot install the recording hook on $h"
done
base_a=$(xd_last_seq A)
base_b=$(xd_last_seq B)

# 2. Debian's xendomains stop migrates A's guests to B through xlmig.
lab_guest_create A xd1
lab_guest_create A xd2
c1=$(xlmig_expect_counting A xd1 -1)
c2=$(xlmig_expect_counting A xd2 -1)
# shellcheck disable=SC2016 # expanded in dom0
lab_sh A 'for f in /etc/init.d/xendomains /lib/init/vars.sh /lib/lsb/init-functions \
	/usr/lib/xen-common/bin/xen-init-list; do [ -e $f ] || { echo "no $f"; exit 1; }; done
xl=$(readlink -f "$(command -v xlmig)")
dir=${xl%/bin/xlmig}/libexec/xlmig/xl-path
[ "$(readlink -f $dir/xl)" = "$xl" ] || { echo "no xl link in $dir"; exit 1; }
cp -p /etc/default/xendomains /root/xendomains.orig
printf "%s\n" "XENDOMAINS_MIGRATE=\"'"$(lab_ip B)"'\"" "PATH=$dir:\$PATH" >>/etc/default/xendomains
tail -n 2 /etc/default/xendomains' 60 || lab_fail "cannot set up xendomains on A"
# As rc runs it at shutdown: its environment, its PATH.
lab_timed A "env -i PATH=/sbin:/usr/sbin:/bin:/usr/bin /etc/init.d/xendomains stop >/share/xd-stop.out 2>&1" 900 ||
	lab_fail "xendomains stop exited with $?: $(tr '\n' '|' <"$LAB_RUN_DIR/A/share/xd-stop.out")"
lab_log "xendomains stop in $(xlmig_secs "$LAB_ELAPSED_MS") s: $(tr -s '.\n' '.|' <"$LAB_RUN_DIR/A/share/xd-stop.out")"
for g in xd1 xd2; do
	grep -q "Migrating Xen domain $g " "$LAB_RUN_DIR/A/share/xd-stop.out" ||
		lab_fail "xendomains did not migrate $g: $(cat "$LAB_RUN_DIR/A/share/xd-stop.out")"
done
saved=$(lab_sh A "ls /var/lib/xen/save 2>/dev/null" 30) || true
[ -z "$saved" ] || lab_fail "xendomains saved guests instead of migrating them: $saved"
xlmig_expect_no_domains A 30
xlmig_expect_running B xd1
xlmig_expect_running B xd2
xlmig_expect_counting B xd1 "$c1" >/dev/null
xlmig_expect_counting B xd2 "$c2" >/dev/null
xd_wait_check A "$base_a" 90 pre-migrate,xd1,source,+ pre-migrate,xd2,source,+ \
	post-migrate,xd1,source,+ post-migrate,xd2,source,+
xd_wait_check B "$base_b" 90 pre-incoming,xd1,destination,+ pre-incoming,xd2,destination,+ \
	incoming-done,xd1,destination,+ incoming-done,xd2,destination,+
for h in A B; do
	n=$(lab_sh "$h" "xlmig jobs --json" 30 | python3 -c 'import json, sys
print(len(json.load(sys.stdin)["jobs"]))') || lab_fail "xlmig jobs --json failed on $h"
	[ "$n" -eq 0 ] || lab_fail "$n xlmig job(s) left on $h: $(lab_sh "$h" "xlmig jobs" 30)"
done

# 3. Stock xl sends xd1 back: its rune's plain `xl migrate-receive` on A
# is the real xl (the xl-path line is only in xendomains' defaults).
out=$(lab_sh B "ssh $(lab_ip A) 'readlink -f \$(command -v xl)'" 60) ||
	lab_fail "cannot resolve xl in an ssh session on A: $out"
case $out in *xlmig*) lab_fail "xl in A's ssh sessions is xlmig: $out" ;; esac
last_b=$(lab_counter B xd1)
lab_timed B "$REAL_XL migrate xd1 $(lab_ip A) >/share/xd-back.out 2>&1" 600 ||
	lab_fail "stock xl migrate xd1 B -> A failed: $(xlmig_why "$LAB_RUN_DIR/B/share/xd-back.out")"
lab_log "stock xl migrate xd1 B -> A in $(xlmig_secs "$LAB_ELAPSED_MS") s"
xlmig_expect_running A xd1
xlmig_expect_only A xd1
xlmig_expect_only B xd2
xlmig_expect_counting A xd1 "$last_b" >/dev/null
xd_wait_check A "$base_a" 90 pre-migrate,xd1,source,+ pre-migrate,xd2,source,+ \
	post-migrate,xd1,source,+ post-migrate,xd2,source,+ incoming-done,xd1,destination,-
# B's hookd makes nothing of a guest leaving by stock xl.
xd_wait_check B "$base_b" 0 pre-incoming,xd1,destination,+ pre-incoming,xd2,destination,+ \
	incoming-done,xd1,destination,+ incoming-done,xd2,destination,+

# 4. Tidy: the guests destroyed, hooks and defaults removed (xd_cleanup).
xd_cleanup
trap - EXIT
xlmig_expect_no_domains A 30
xlmig_expect_no_domains B 30
lab_log "RESULT: xendomains stop migrated 2 guests A -> B through xlmig with hooks run by xlmig-hookd; stock xl incoming seen by hookd"
