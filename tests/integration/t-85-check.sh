#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-85-check.sh - `xlmig check`: sim hosts crafted to fail each pre-flight
# check in turn (the facts file of a sim host, domain configs, xenstore,
# maintenance mode, admission limits, checks.d scripts), each result
# asserted by id, severity and side in the --json report, which is
# validated as a whole every time. `xlmig migrate` obeys the same checks
# (--force), a stock xl receiver gets the source checks only, a broken
# xlmig/1 peer fails the check cleanly, usage errors exit 2. One setup of
# two hosts; each case puts back what it changed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-85-check 150
it_setup 2

B_IP=$(it_ip B)
FACTS_A=$(it_sim_dir A)/facts
FACTS_B=$(it_sim_dir B)/facts
SHARED=$IT_DIR/shared
for f in "$FACTS_A" "$FACTS_B"; do
	[ -s "$f" ] || it_fail "sim-host-create made no facts file $f"
done
cp "$FACTS_A" "$IT_DIR/facts.A"
cp "$FACTS_B" "$IT_DIR/facts.B"
# The check scripts' config files that exist now are not ours.
ls -d /tmp/xlmig-check-* 2>/dev/null | sort >"$IT_DIR/tmp-before" || true

# --- the report's checker -----------------------------------------------------

cat >"$IT_DIR/ck.py" <<'EOF'
"""Validates `xlmig check --json` reports and flattens them for the shell;
writes libxl JSON domain configs for the cases of t-85-check.sh."""
import hashlib, json, sys

IDS = {"domain-busy", "migrate-disabled", "pci-passthrough",
       "usb-passthrough", "dt-passthrough", "vnuma", "vtpm", "paging-source",
       "guest-suspend", "name-away", "destination-checks", "xen-version",
       "stream-version", "guest-type", "paging", "cpu-features", "memory",
       "vcpu-affinity", "cpupool", "disk-visible", "disk-storage",
       "disk-backend", "nic-bridge", "nic-script", "name-free", "uuid-free",
       "maintenance", "admission", "incoming-policy", "data-connection"}
TOP = {"domain": str, "host": str, "peer": str, "destination_checked": bool,
       "ok": bool, "errors": int, "results": list}
RES = {"id": str, "severity": str, "side": str, "message": str,
       "remedy": str, "forced": bool}


def load(path):
    with open(path) as f:
        text = f.read()
    try:
        return json.loads(text)
    except ValueError as e:
        sys.exit("not JSON (%s): %r" % (e, text[:300]))


def problems(d, domain, host):
    if not isinstance(d, dict):
        return ["not an object"]
    p = []
    for k, t in TOP.items():
        if k not in d:
            p.append("no key %s" % k)
        elif type(d[k]) is not t:
            p.append("%s is %r, not a %s" % (k, d[k], t.__name__))
    if p:
        return p
    if d["domain"] != domain:
        p.append("domain %r, not %r" % (d["domain"], domain))
    if d["host"] != host:
        p.append("host %r, not %r" % (d["host"], host))
    if d["peer"] not in ("xlmig/1", "xl"):
        p.append("peer %r" % d["peer"])
    if not d["results"]:
        p.append("no results")
    errors = 0
    dest = False
    for i, r in enumerate(d["results"]):
        where = "results[%d]" % i
        if not isinstance(r, dict):
            p.append(where + " not an object")
            continue
        bad = [k for k, t in RES.items() if type(r.get(k)) is not t]
        if bad:
            p.append("%s: %s missing or of the wrong type: %r" % (where, bad, r))
            continue
        if r["id"] not in IDS and not (r["id"].startswith("script:") and
                                       len(r["id"]) > 7):
            p.append("%s: unknown id %r" % (where, r["id"]))
        if r["severity"] not in ("info", "warning", "error"):
            p.append("%s: severity %r" % (where, r["severity"]))
        if r["side"] not in ("source", "destination"):
            p.append("%s: side %r" % (where, r["side"]))
        if not r["message"].strip() or "\n" in r["message"]:
            p.append("%s: message %r" % (where, r["message"]))
        if "\n" in r["remedy"]:
            p.append("%s: remedy %r" % (where, r["remedy"]))
        if r["forced"] and r["severity"] != "error":
            p.append("%s: forced %s" % (where, r["severity"]))
        if r["severity"] == "error" and not r["forced"]:
            errors += 1
        if r["side"] == "destination" and r["id"] != "destination-checks":
            dest = True
    if d["errors"] != errors:
        p.append("errors is %d, but %d unforced errors are listed" %
                 (d["errors"], errors))
    if d["ok"] != (d["errors"] == 0):
        p.append("ok is %s with %d errors" % (d["ok"], d["errors"]))
    if d["destination_checked"] != dest:
        p.append("destination_checked is %s, destination results: %s" %
                 (d["destination_checked"], dest))
    return p


def config(out, name, gtype, mb, sets):
    """A libxl JSON config as `xl list -l` shows one (the inner config
    object); sets are PATH=JSON, PATH a dotted path."""
    c = {
        "c_info": {"type": gtype, "name": name,
                   "uuid": "85850000-0000-4000-8000-" +
                   hashlib.md5(name.encode()).hexdigest()[:12],
                   "run_hotplug_scripts": "True"},
        "b_info": {"max_vcpus": 1, "avail_vcpus": [0], "tsc_mode": "native",
                   "max_memkb": mb * 1024, "target_memkb": mb * 1024,
                   "video_memkb": 0,
                   "sched_params": {"sched": "credit2", "weight": 256, "cap": 0},
                   "claim_mode": "True", "kernel": "/var/lib/xen/boot/vmlinuz",
                   "cmdline": "console=hvc0 quiet",
                   "type." + gtype: {}, "arch_arm": {},
                   "arch_x86": {"msr_relaxed": "False"}},
        "on_reboot": "restart", "on_soft_reset": "soft_reset",
    }
    for s in sets:
        path, _, val = s.partition("=")
        keys = path.split(".")
        o = c
        for k in keys[:-1]:
            o = o.setdefault(k, {})
        o[keys[-1]] = json.loads(val)
    with open(out, "w") as f:
        json.dump(c, f, indent=1)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "config":         # OUT NAME TYPE MB [PATH=JSON...]
        config(args[0], args[1], args[2], int(args[3]), args[4:])
        return 0
    if cmd == "jobs":           # FILE...: `xlmig jobs --json` outputs
        n = [len(load(f)["jobs"]) for f in args]
        print(" ".join(map(str, n)))
        return 0
    if cmd == "uuid":           # CONFIG: its c_info.uuid
        print(load(args[0])["c_info"]["uuid"])
        return 0
    if cmd == "report":         # FILE DOMAIN HOST: validate, then flatten
        d = load(args[0])
        p = problems(d, args[1], args[2])
        if p:
            print("; ".join(p))
            return 1
        # FILE.top: KEY=JSON; FILE.tsv: side severity id forced message
        # remedy, tab-separated (only the remedy may be empty).
        with open(args[0] + ".top", "w") as f:
            for k in TOP:
                if k != "results":
                    f.write("%s=%s\n" % (k, json.dumps(d[k])))
        with open(args[0] + ".tsv", "w") as f:
            for r in d["results"]:
                f.write("\t".join([r["side"], r["severity"], r["id"],
                                   "forced" if r["forced"] else "-"] +
                                  [r[k].replace("\t", " ")
                                   for k in ("message", "remedy")]) + "\n")
        return 0
    sys.exit("unknown command " + cmd)


sys.exit(main())
EOF
# The interpreter itself: a wrapper (pyenv's shim) may take longer to
# start than python does.
PY=$(python3 -c 'import sys; print(sys.executable)')
ck() { "$PY" -S "$IT_DIR/ck.py" "$@"; }

# --- helpers ------------------------------------------------------------------

# case_begin NAME: the failure reasons and the log say which case.
case_begin() {
	CASE=$1
	it_log "--- case $CASE"
}

# run_check DOMAIN [OPTION...]: `xlmig check --json` of A's DOMAIN to B;
# its exit status in CK_RC, the report in $IT_DIR/c.json, validated and
# flattened (c.json.tsv, c.json.top) for the expect* helpers, and logged;
# stderr in c.err. The checks.d script 05-env (case 17 on) must have
# passed wherever it ran.
run_check() {
	local dom=$1 why sev
	shift
	CK_RC=0
	rm -f "$IT_DIR/c.json.tsv" "$IT_DIR/c.json.top"
	it_on A xlmig check --json -s "$IT_SSH" "$@" "$dom" "$B_IP" \
		>"$IT_DIR/c.json" 2>"$IT_DIR/c.err" || CK_RC=$?
	it_log "[$CASE] xlmig check $* $dom: exit $CK_RC"
	if [ "$CK_RC" -gt 128 ]; then
		it_fail "[$CASE] check $dom: killed by signal $((CK_RC - 128)): $(head -c 500 "$IT_DIR/c.err")"
	elif [ "$CK_RC" -gt 1 ] || [ ! -s "$IT_DIR/c.json" ]; then
		it_fail "[$CASE] check $dom: exit $CK_RC, no report: $(head -c 500 "$IT_DIR/c.err")"
	fi
	why=$(ck report "$IT_DIR/c.json" "$dom" "$B_IP") ||
		it_fail "[$CASE] check $dom: invalid report: $why"
	{ cat "$IT_DIR/c.json.top"; sed 's/^/    /' "$IT_DIR/c.json.tsv"; } |
		tr '\t' ' ' >>"$IT_DIR/log"
	for sev in $(results script:05-env source) $(results script:05-env destination); do
		[ "$sev" = info ] ||
			it_fail "[$CASE] the check scripts' environment: $(grep -F script:05-env "$IT_DIR/c.json.tsv" | tr '\t\n' '  ')"
	done
}

# results ID SIDE [SUBSTR...]: the severity (and "forced" if so) of each
# result ID on SIDE of the last report whose message contains each
# SUBSTR (in any case), one a line.
results() {
	local id=$1 side=$2 s sev rid forced msg sub ok
	shift 2
	while IFS=$'\t' read -r s sev rid forced msg _; do
		[ "$rid" = "$id" ] && [ "$s" = "$side" ] || continue
		ok=1
		for sub in "$@"; do
			[[ ${msg,,} == *"${sub,,}"* ]] || { ok=0; break; }
		done
		[ "$ok" = 0 ] || echo "$sev${forced/-/}"
	done <"$IT_DIR/c.json.tsv"
}

# show ID: the last report's results ID, for a reason.
show() {
	local out
	out=$(awk -F'\t' -v id="$1" '$3 == id { printf "%s %s %s: %s; ", $1, $2, $3, $5 }' \
		"$IT_DIR/c.json.tsv")
	echo "${out:-no result $1}"
}

# error_ids: the ids of the last report's unforced errors, sorted, once.
error_ids() {
	awk -F'\t' '$2 == "error" && $4 == "-" { print $3 }' "$IT_DIR/c.json.tsv" |
		sort -u | tr '\n' ' ' | sed 's/ $//'
}

# ids SIDE: the ids of the last report's results on SIDE, sorted, once.
ids() {
	awk -F'\t' -v side="$1" '$1 == side { print $3 }' "$IT_DIR/c.json.tsv" |
		sort -u | tr '\n' ' ' | sed 's/ $//'
}

# remedy ID SIDE: the remedies of ID on SIDE.
remedy() {
	awk -F'\t' -v id="$1" -v side="$2" '$3 == id && $1 == side { print $6 }' \
		"$IT_DIR/c.json.tsv"
}

# expect_rc N: the last check exited N.
expect_rc() {
	[ "$CK_RC" -eq "$1" ] ||
		it_fail "[$CASE] check: exit $CK_RC, not $1 (errors: $(error_ids))"
}

# expect ID SIDE SEVERITY [SUBSTR...]: the last report has a result ID on
# SIDE of SEVERITY whose message contains each SUBSTR (in any case).
expect() {
	local got nl=$'\n'
	got=$(results "$1" "$2" "${@:4}")
	[[ $nl$got$nl == *"$nl$3$nl"* ]] ||
		it_fail "[$CASE] expected $3 $1 on the $2 side${4:+ naming '${*:4}'}, got: $(show "$1")"
}

# expect_errors ID...: the last report's unforced errors are exactly these.
expect_errors() {
	local want got
	want=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ' | sed 's/ $//')
	got=$(error_ids)
	[ "$got" = "$want" ] || it_fail "[$CASE] errors '$got', expected '$want'"
}

# expect_field KEY JSON: a top-level field of the last report.
expect_field() {
	local got
	got=$(sed -n "s/^$1=//p" "$IT_DIR/c.json.top")
	[ "$got" = "$2" ] || it_fail "[$CASE] $1 is $got, not $2"
}

# facts HOST [LINE...]: HOST's facts file, rewritten: its defaults, then LINEs.
facts() {
	local h=$1
	shift
	{
		cat "$IT_DIR/facts.$h"
		[ "$#" -eq 0 ] || printf '%s\n' "$@"
	} >"$(it_sim_dir "$h")/facts"
}

# config FILE NAME TYPE MB [PATH=JSON...]: write a libxl JSON config.
config() { ck config "$@"; }

# create HOST NAME CONFIG: a sim domain from CONFIG, counting.
create() {
	it_on "$1" xlmig sim-create --rate 100 --config "$3" "$2" >/dev/null ||
		it_fail "[$CASE] sim-create --config $3 $2 on $1 failed"
}

destroy() { it_on "$1" xlmig destroy "$2" >/dev/null; }

# no_jobs: neither host lists a job.
no_jobs() {
	local n
	it_on A xlmig jobs --json >"$IT_DIR/jobs.A"
	it_on B xlmig jobs --json >"$IT_DIR/jobs.B"
	n=$(ck jobs "$IT_DIR/jobs.A" "$IT_DIR/jobs.B")
	[ "$n" = "0 0" ] || it_fail "[$CASE] jobs on A and B: $n"
}

# expect_untouched: ck-base runs on A only, counting, unrenamed; B has no
# domain; neither host has a job.
expect_untouched() {
	sim_expect_only A ck-base
	sim_expect_no_domains B
	no_jobs
}

it_on A xlmig sim-create --memory 32 --rate 100 ck-base >/dev/null
sim_wait_counter A ck-base 0 10 >/dev/null

# --- 1. baseline ----------------------------------------------------------------
case_begin baseline
run_check ck-base
expect_rc 0
expect_field peer '"xlmig/1"'
expect_field destination_checked true
expect_field ok true
expect_field errors 0
for id in migrate-disabled pci-passthrough paging-source guest-suspend name-away \
	domain-busy; do
	expect "$id" source info
done
for id in xen-version guest-type paging cpu-features memory vcpu-affinity cpupool \
	name-free uuid-free maintenance admission; do
	expect "$id" destination info
done
[ -z "$(results destination-checks destination)" ] ||
	it_fail "[$CASE] destination-checks reported against an xlmig peer"
# The text form says the same.
rc=0
it_on A xlmig check -s "$IT_SSH" ck-base "$B_IP" >"$IT_DIR/t.out" 2>&1 || rc=$?
[ "$rc" = 0 ] && grep -q "ck-base can migrate to $B_IP: 0 errors" "$IT_DIR/t.out" ||
	it_fail "[$CASE] text check: exit $rc: $(tail -n 3 "$IT_DIR/t.out")"

# --- 2. paging-source, and migrate obeys it ---------------------------------------
case_begin paging-source
facts A "caps = pv hvm hap"
it_on A xlmig sim-create --type pv --memory 32 --rate 100 ck-pv >/dev/null
run_check ck-pv
expect_rc 1
expect_errors paging-source
expect paging-source source error "ck-pv" "shadow paging"
expect_field ok false
expect_field errors 1
rc=0
it_on A xlmig migrate -s "$IT_SSH" ck-pv "$B_IP" >"$IT_DIR/m.out" 2>&1 || rc=$?
it_log "[$CASE] migrate: exit $rc: $(cat "$IT_DIR/m.out")"
[ "$rc" = 1 ] || it_fail "[$CASE] migrate: exit $rc, not 1"
grep -q paging-source "$IT_DIR/m.out" ||
	it_fail "[$CASE] migrate does not name paging-source: $(tail -n 3 "$IT_DIR/m.out")"
sim_expect_only A ck-pv
sim_expect_no_domains B
no_jobs
# The forced check: the error stays, marked forced, and no longer counts.
run_check ck-pv --force=paging-source
expect_rc 0
expect_field errors 0
[ "$(results paging-source source)" = errorforced ] ||
	it_fail "[$CASE] --force: paging-source is not a forced error: $(show paging-source)"
rc=0
it_on A xlmig migrate -s "$IT_SSH" --force=paging-source ck-pv "$B_IP" >"$IT_DIR/m.out" 2>&1 || rc=$?
it_log "[$CASE] migrate --force: exit $rc: $(cat "$IT_DIR/m.out")"
[ "$rc" = 0 ] || it_fail "[$CASE] migrate --force=paging-source: exit $rc: $(tail -n 3 "$IT_DIR/m.out")"
grep -q 'paging-source.*(forced)' "$IT_DIR/m.out" ||
	it_fail "[$CASE] migrate --force does not show the forced error: $(cat "$IT_DIR/m.out")"
sim_expect_only B ck-pv
destroy B ck-pv
facts A

# --- 3. memory --------------------------------------------------------------------
# ck-base (32 MiB, PVH) needs 36 MiB with libxl's overheads; B is given
# 26 MiB free (memory_mb less dom0_mb), then 512 MiB dom0 may balloon.
case_begin memory
facts B "memory_mb = 1050" "dom0_mb = 1024"
run_check ck-base
expect_rc 1
expect_errors memory
expect memory destination error ck-base "26 MiB free"
facts B "memory_mb = 1050" "dom0_mb = 1024" "autoballoon = 1" "dom0_min_mb = 512"
run_check ck-base
expect_rc 0
expect memory destination warning ck-base balloon
facts B

# --- 4. cpu-features --------------------------------------------------------------
case_begin cpu-features
facts B "cpu_remove = sse2 fpu"
run_check ck-base
expect_rc 1
expect_errors cpu-features
expect cpu-features destination error ck-base sse2 fpu
facts B

# --- 5. guest-type, paging ----------------------------------------------------------
case_begin guest-type
facts B "caps = pv"
run_check ck-base
expect_rc 1
expect guest-type destination error ck-base pvh
case_begin paging
facts B "caps = pv hvm shadow"
run_check ck-base
expect_rc 0
expect paging destination warning ck-base shadow
config "$IT_DIR/hap.json" ck-hap pvh 16 'c_info.hap="True"'
create A ck-hap "$IT_DIR/hap.json"
run_check ck-hap
expect_rc 1
expect_errors paging
expect paging destination error ck-hap "no HAP"
facts B
run_check ck-hap
expect_rc 0
expect paging destination info ck-hap HAP
destroy A ck-hap

# --- 6. xen-version ---------------------------------------------------------------
case_begin xen-version
facts B "xen_version = 4.16.2"
run_check ck-base
expect_rc 1
expect_errors xen-version
expect xen-version destination error 4.16.2 4.17.5
facts B

# --- 7. vcpu-affinity -------------------------------------------------------------
case_begin vcpu-affinity
config "$IT_DIR/pin.json" ck-pin pvh 16 'b_info.vcpu_hard_affinity=[[12,13]]'
create A ck-pin "$IT_DIR/pin.json"
run_check ck-pin
expect_rc 1
expect_errors vcpu-affinity
expect vcpu-affinity destination error "vCPU 0 of domain ck-pin" "0-7"
facts B "cpus = 16"
run_check ck-pin
expect_rc 0
expect vcpu-affinity destination info ck-pin
facts B
destroy A ck-pin

# --- 8. cpupool ---------------------------------------------------------------------
case_begin cpupool
config "$IT_DIR/pool.json" ck-pool pvh 16 'c_info.pool_name="fast"'
create A ck-pool "$IT_DIR/pool.json"
run_check ck-pool
expect_rc 1
expect_errors cpupool
expect cpupool destination error ck-pool fast
destroy A ck-pool

# --- 9. disks -------------------------------------------------------------------------
# xvda is a file on storage both hosts share; xvdb is nowhere; xvdc uses
# the tap backend; xvdd's hotplug script (iscsi) is not on B.
case_begin disks
mkdir -p "$SHARED/s1"
head -c 1048576 /dev/urandom >"$SHARED/s1/d1.img"
head -c 65536 /dev/urandom >"$SHARED/d3.img"
head -c 65536 /dev/urandom >"$SHARED/d4.img"
disk() {    # disk VDEV PATH [KEY=VALUE...]: a libxl disk as JSON
	local vdev=$1 path=$2 kv extra=
	shift 2
	for kv in "$@"; do extra="$extra, \"${kv%%=*}\": \"${kv#*=}\""; done
	printf '{"pdev_path": "%s", "vdev": "%s", "backend": "qdisk", "format": "raw", "removable": 0, "readwrite": 1, "is_cdrom": 0%s}' \
		"$path" "$vdev" "$extra"
}
config "$IT_DIR/disks.json" ck-disk pvh 16 "disks=[$(disk xvda "$SHARED/s1/d1.img"),
	$(disk xvdb "$SHARED/missing.img"), $(disk xvdc "$SHARED/d3.img" backend=tap),
	$(disk xvdd "$SHARED/d4.img" backend=phy script=iscsi)]"
create A ck-disk "$IT_DIR/disks.json"
# Without B's word, storage outside its default disk locations is refused.
run_check ck-disk
expect_rc 1
expect incoming-policy destination error "disks[0].pdev_path" "outside the allowed disk locations"
printf 'incoming_disk_paths = [ "%s" ]\n' "$SHARED" >"$(it_host_dir B)/xlmig.conf"
run_check ck-disk
expect_rc 1
expect_errors disk-visible disk-backend
expect disk-visible destination info "disk xvda of ck-disk" "$SHARED/s1/d1.img"
expect disk-storage destination info "disk xvda of ck-disk" "same storage"
expect disk-backend destination info "disk xvda of ck-disk"
[ "$(results disk-visible destination xvda)" = info ] &&
	[ "$(results disk-storage destination xvda)" = info ] &&
	[ "$(results disk-backend destination xvda)" = info ] ||
	it_fail "[$CASE] xvda is not all fine: $(grep xvda "$IT_DIR/c.json.tsv" | tr '\t\n' '  ')"
expect disk-visible destination error "disk xvdb of ck-disk" "$SHARED/missing.img"
expect disk-backend destination error "disk xvdc of ck-disk" tap
expect disk-backend destination error "disk xvdd of ck-disk" iscsi
[ "$(results disk-visible destination xvdd)" = info ] ||
	it_fail "[$CASE] xvdd is not visible on B"
# B sees another file of the same size at xvda's path: a tmpfs over
# s1 in the mount namespace of B's sshd, where B's side of a check runs.
sshd_b=$(_it_sshd_pid B) || it_fail "no sshd on B"
on_b_mnt() { nsenter --mount="/proc/$sshd_b/ns/mnt" "$@"; }
on_b_mnt mount -t tmpfs -o size=4m xlmig-it-check "$SHARED/s1" ||
	it_fail "cannot mount a tmpfs on $SHARED/s1 for B"
on_b_mnt sh -c "head -c 1048576 /dev/urandom >'$SHARED/s1/d1.img'"
run_check ck-disk
on_b_mnt umount "$SHARED/s1"
expect_rc 1
expect disk-visible destination info "disk xvda of ck-disk"
expect disk-storage destination error "disk xvda of ck-disk" "$SHARED/s1/d1.img" "not the source's disk"
destroy A ck-disk
rm "$(it_host_dir B)/xlmig.conf"

# --- 10. nics -----------------------------------------------------------------------
case_begin nics
config "$IT_DIR/nics.json" ck-nic pvh 16 'nics=[
	{"devid": 0, "mac": "00:16:3e:85:00:01", "bridge": "xenbr7", "script": "vif-bridge", "nictype": "vif"},
	{"devid": 1, "mac": "00:16:3e:85:00:02", "bridge": "xenbr0", "script": "vif-custom", "nictype": "vif"}]'
create A ck-nic "$IT_DIR/nics.json"
run_check ck-nic
expect_rc 1
expect_errors incoming-policy nic-bridge nic-script
expect incoming-policy destination error "nics[0].bridge" "no bridge xenbr7"
expect nic-bridge destination error "vif 0 of ck-nic" xenbr7
expect nic-script destination info "vif 0 of ck-nic" vif-bridge
expect nic-script destination error "vif 1 of ck-nic" vif-custom
expect nic-bridge destination info "vif 1 of ck-nic" xenbr0
destroy A ck-nic

# --- 11. name-free, uuid-free -----------------------------------------------------------
case_begin name-free
it_on B xlmig sim-create --memory 16 ck-base >/dev/null
run_check ck-base
expect_rc 1
expect_errors name-free
expect name-free destination error ck-base
destroy B ck-base
case_begin uuid-free
config "$IT_DIR/uuid.json" ck-uuid pvh 16
uuid=$(ck uuid "$IT_DIR/uuid.json")
create A ck-uuid "$IT_DIR/uuid.json"
create B ck-twin "$IT_DIR/uuid.json"
run_check ck-uuid
expect_rc 1
expect_errors uuid-free
expect uuid-free destination error ck-twin "$uuid"
expect name-free destination info ck-uuid
destroy B ck-twin
destroy A ck-uuid

# --- 12. maintenance ------------------------------------------------------------------
case_begin maintenance
it_on B xlmig maintenance on "firmware upgrade" >"$IT_DIR/mt.out" 2>&1 ||
	it_fail "[$CASE] xlmig maintenance on failed: $(cat "$IT_DIR/mt.out")"
st=$(it_on B xlmig maintenance status 2>&1) || true
[ "$st" = "on: firmware upgrade" ] || it_fail "[$CASE] status: $st"
run_check ck-base
expect_rc 1
expect_errors maintenance
expect maintenance destination error "firmware upgrade"
rc=0
it_on A xlmig migrate -s "$IT_SSH" ck-base "$B_IP" >"$IT_DIR/m.out" 2>&1 || rc=$?
it_log "[$CASE] migrate: exit $rc: $(cat "$IT_DIR/m.out")"
[ "$rc" = 1 ] || it_fail "[$CASE] migrate to a host in maintenance: exit $rc, not 1"
grep -q maintenance "$IT_DIR/m.out" ||
	it_fail "[$CASE] migrate does not name maintenance: $(tail -n 3 "$IT_DIR/m.out")"
expect_untouched
it_on B xlmig maintenance off >"$IT_DIR/mt.out" 2>&1 ||
	it_fail "[$CASE] xlmig maintenance off failed: $(cat "$IT_DIR/mt.out")"
st=$(it_on B xlmig maintenance status 2>&1) || true
[ "$st" = off ] || it_fail "[$CASE] status after off: $st"
run_check ck-base
expect_rc 0
expect maintenance destination info

# --- 13. admission ------------------------------------------------------------------------
case_begin admission
it_on B xlmig set-limit in 0
run_check ck-base
expect_rc 0
expect admission destination warning "0 incoming"
it_on B xlmig set-limit in 2
run_check ck-base
expect admission destination info "of 2 incoming"

# --- 14. guest-suspend: only a warning (the node does not survive a migration)
case_begin guest-suspend
it_on A xlmig sim-create --memory 16 --rate 100 ck-nosusp >/dev/null
domid=$(sim_info A ck-nosusp domid)
XENSTORED_PATH=$(it_sim_dir A)/xenstored/socket \
	xenstore-rm "/local/domain/$domid/control/feature-suspend"
run_check ck-nosusp
expect_rc 0
expect_errors
expect guest-suspend source warning ck-nosusp feature-suspend
destroy A ck-nosusp

# --- 15. devices that cannot migrate --------------------------------------------------------
case_begin blockers
config "$IT_DIR/blockers.json" ck-blk pvh 16 \
	'pcidevs=[{"domain": 0, "bus": 3, "dev": 0, "func": 0}]' \
	'usbdevs=[{"ctrl": 0, "port": 1, "type": "hostdev", "u": {"hostbus": 1, "hostaddr": 2}}]' \
	'vtpms=[{"backend_domname": "vtpmmgr", "devid": 0, "uuid": "85850000-0000-4000-8000-00000000abcd"}]' \
	'b_info.vnuma_nodes=[{"memkb": 16384, "distances": [10], "pnode": 0, "vcpus": [0]}]' \
	'b_info.disable_migrate="True"'
create A ck-blk "$IT_DIR/blockers.json"
run_check ck-blk
expect_rc 1
expect_errors pci-passthrough usb-passthrough vtpm vnuma migrate-disabled \
	incoming-policy
# B's incoming policy refuses what would hand it its own hardware.
expect incoming-policy destination error "pcidevs[0]" '"pci"'
expect incoming-policy destination error "usbdevs[0]" '"usb"'
expect incoming-policy destination error "vtpms[0]" '"vtpm"'
expect pci-passthrough source error 0000:03:00.0 ck-blk
expect usb-passthrough source error ck-blk
expect vtpm source error ck-blk
expect vnuma source error ck-blk
expect migrate-disabled source error ck-blk
expect dt-passthrough source info ck-blk
destroy A ck-blk

# --- 16. name-away --------------------------------------------------------------------------
case_begin name-away
it_on A xlmig sim-create --memory 16 ck-base--migratedaway >/dev/null
run_check ck-base
expect_rc 1
expect_errors name-away
expect name-away source error ck-base--migratedaway
destroy A ck-base--migratedaway

# --- 16b. domain-busy: a migration of the domain holds it ----------------------------------
case_begin domain-busy
XLMIG_FAULT=send:connect:hold it_on A xlmig migrate -s "$IT_SSH" ck-base \
	"$B_IP" >"$IT_DIR/busy.out" 2>&1 &
busy=$!
busy_job() {
	it_on A xlmig jobs --json | python3 -c '
import json, sys
for j in json.load(sys.stdin)["jobs"]:
    if j["domain"] == "ck-base":
        print(j["id"])'
}
it_wait_until 20 "ck-base's migration to hold its lock" eval '[ -n "$(busy_job)" ]'
id=$(busy_job)
run_check ck-base
expect_rc 1
expect_errors domain-busy
expect domain-busy source error ck-base "$id"
it_on A xlmig job-cancel "$id" >/dev/null
rc=0
wait "$busy" || rc=$?
[ "$rc" -eq 1 ] || it_fail "[$CASE] the held migration: exit $rc, not 1"
run_check ck-base
expect_rc 0
expect domain-busy source info

# --- 17. checks.d ---------------------------------------------------------------------------
case_begin checks.d
# On both hosts, 05-env checks the scripts' interface (its environment
# holds exactly the documented variables, nothing of ours) and notes
# where the domain config was (it must be gone after each check); it
# stays to the end. 50-linger leaves a `sleep 1000` behind, which must
# be killed with the script's process group.
for h in A B; do
	side=source
	[ "$h" = A ] || side=destination
	mkdir -p "$(it_host_dir "$h")/checks.d"
	cat >"$(it_host_dir "$h")/checks.d/05-env" <<EOF
#!/bin/sh
echo "\$XLMIG_DOMAIN_CONFIG" >>"$IT_DIR/check-configs"
bad=
[ "\$1" = $side ] || bad="\$bad argv[1]=\$1"
[ "\$XLMIG_CHECK_SIDE" = $side ] || bad="\$bad XLMIG_CHECK_SIDE=\$XLMIG_CHECK_SIDE"
[ -n "\$XLMIG_DOMAIN" ] || bad="\$bad no XLMIG_DOMAIN"
if [ -f "\$XLMIG_DOMAIN_CONFIG" ] && [ -r "\$XLMIG_DOMAIN_CONFIG" ]; then
	grep -qF "\"\$XLMIG_DOMAIN\"" "\$XLMIG_DOMAIN_CONFIG" ||
		bad="\$bad the config does not name \$XLMIG_DOMAIN"
	grep -qF "\"\$XLMIG_DOMAIN_UUID\"" "\$XLMIG_DOMAIN_CONFIG" ||
		bad="\$bad the config lacks uuid '\$XLMIG_DOMAIN_UUID'"
else
	bad="\$bad XLMIG_DOMAIN_CONFIG '\$XLMIG_DOMAIN_CONFIG' unreadable"
fi
case \$XLMIG_DOMAIN_TYPE in pv | pvh | hvm) ;; *) bad="\$bad XLMIG_DOMAIN_TYPE=\$XLMIG_DOMAIN_TYPE" ;; esac
case \$XLMIG_DOMAIN_MEMKB in '' | *[!0-9]*) bad="\$bad XLMIG_DOMAIN_MEMKB=\$XLMIG_DOMAIN_MEMKB" ;; esac
[ -n "\$XLMIG_PEER" ] || bad="\$bad no XLMIG_PEER"
[ "\$PATH" = /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ] || bad="\$bad PATH=\$PATH"
names=\$(tr '\\000' '\\n' </proc/\$\$/environ | sed 's/=.*//' | LC_ALL=C sort | tr '\\n' ' ')
[ "\$names" = "PATH XLMIG_CHECK_SIDE XLMIG_DOMAIN XLMIG_DOMAIN_CONFIG XLMIG_DOMAIN_MEMKB XLMIG_DOMAIN_TYPE XLMIG_DOMAIN_UUID XLMIG_PEER " ] ||
	bad="\$bad environment: \$names"
if [ -n "\$bad" ]; then
	echo "fail env:\$bad"
else
	echo "pass env of \$XLMIG_DOMAIN (\$XLMIG_DOMAIN_TYPE, \$XLMIG_DOMAIN_MEMKB KiB, peer \$XLMIG_PEER)"
fi
EOF
	chmod +x "$(it_host_dir "$h")/checks.d/05-env"
done

cd_a=$(it_host_dir A)/checks.d
cd_b=$(it_host_dir B)/checks.d
printf '#!/bin/sh\necho "fail storage array degraded"\necho "remedy fix the array first"\n' >"$cd_b/10-array"
printf '#!/bin/sh\necho "warn backup running"\n' >"$cd_a/20-backup"
printf '#!/bin/sh\nexit 3\n' >"$cd_b/30-silent"
printf '#!/bin/sh\necho "fail I must not run"\n' >"$cd_a/40-noexec"
cp "$cd_a/40-noexec" "$cd_a/x.dpkg-old"
cp "$cd_a/40-noexec" "$cd_b/x.dpkg-old"
printf '#!/bin/sh\nsleep 1000 &\necho $! >>"%s"\necho "pass lingering"\n' "$IT_DIR/linger-pids" >"$cd_a/50-linger"
cp "$cd_a/50-linger" "$cd_b/50-linger"
chmod +x "$cd_b/10-array" "$cd_a/20-backup" "$cd_b/30-silent" "$cd_a/x.dpkg-old" "$cd_b/x.dpkg-old" \
	"$cd_a/50-linger" "$cd_b/50-linger"
chmod 644 "$cd_a/40-noexec"
run_check ck-base
expect_rc 1
expect_errors script:10-array script:30-silent
expect script:10-array destination error "storage array degraded"
[ "$(remedy script:10-array destination)" = "fix the array first" ] ||
	it_fail "[$CASE] remedy of script:10-array: $(remedy script:10-array destination)"
expect script:20-backup source warning "backup running"
expect script:30-silent destination error "status 3"
expect script:05-env source info "env of ck-base (pvh, 32768 KiB"
expect script:05-env destination info "env of ck-base (pvh, 32768 KiB"
expect script:50-linger source info lingering
expect script:50-linger destination info lingering
[ "$(wc -l <"$IT_DIR/linger-pids")" = 2 ] || it_fail "[$CASE] 50-linger ran $(wc -l <"$IT_DIR/linger-pids") times"
# Each sleep ends (a zombie waiting for init counts) within 5 s.
for p in $(cat "$IT_DIR/linger-pids"); do
	t=0
	while st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) && [ "${st%% *}" != Z ]; do
		t=$((t + 1))
		[ "$t" -lt 50 ] || it_fail "[$CASE] the sleep 50-linger left ($p) survives it"
		sleep 0.1
	done
done
for side in source destination; do
	case " $(ids "$side") " in
	*noexec* | *dpkg*) it_fail "[$CASE] an ignored file ran: $(ids "$side")" ;;
	esac
done
rm -f "$cd_b/10-array" "$cd_a/20-backup" "$cd_b/30-silent" "$cd_a/40-noexec" \
	"$cd_a/x.dpkg-old" "$cd_b/x.dpkg-old" "$cd_a/50-linger" "$cd_b/50-linger"

# --- 18. a stock xl receiver ---------------------------------------------------------------
case_begin xl-peer
mkdir -p "$IT_DIR/bin"
# The sender runs "PROG migrate-receive [-e -d -p]", as xl does, without
# offering xlmig/1 to a PROG not named xlmig; behind it is our receiver.
printf '#!/bin/sh\nexec xlmig "$@"\n' >"$IT_DIR/bin/xl-migrate-receive-wrapper"
chmod +x "$IT_DIR/bin/xl-migrate-receive-wrapper"
run_check ck-base --receiver "$IT_DIR/bin/xl-migrate-receive-wrapper"
expect_rc 0
expect_field peer '"xl"'
expect_field destination_checked false
expect destination-checks destination warning "not run"
[ "$(ids destination)" = destination-checks ] ||
	it_fail "[$CASE] destination results from an xl peer: $(ids destination)"
expect paging-source source info
expect_untouched
sim_expect_procs B "sshd xenstored "
# Without xlmig/1 no destination check runs, but the receiver itself
# still refuses a domain while its host is in maintenance mode.
it_on B xlmig maintenance on "disk swap" || it_fail "[$CASE] maintenance on"
rc=0
it_on A xlmig migrate -s "$IT_SSH" --receiver "$IT_DIR/bin/xl-migrate-receive-wrapper" \
	ck-base "$B_IP" >"$IT_DIR/mm.out" 2>&1 || rc=$?
it_log "[$CASE] migrate to a host in maintenance: exit $rc: $(cat "$IT_DIR/mm.out")"
[ "$rc" -eq 1 ] || it_fail "[$CASE] migrate to a host in maintenance: exit $rc, not 1"
grep -q 'maintenance mode (disk swap)' "$IT_DIR/mm.out" ||
	it_fail "[$CASE] the receiver's refusal does not name maintenance: $(tail -n 3 "$IT_DIR/mm.out")"
it_on B xlmig maintenance off || it_fail "[$CASE] maintenance off"
expect_untouched
sim_expect_procs B "sshd xenstored "

# --- 19. a broken xlmig/1 peer --------------------------------------------------------------
case_begin broken-peer
mkdir -p "$IT_DIR/bad"
cat >"$IT_DIR/bad/xlmig" <<'EOF'
#!/bin/sh
printf 'xl migration receiver ready, send binary domain data.\n'
printf 'this is no xlmig/1 hello but garbage, garbage, garbage and garbage\n'
EOF
chmod +x "$IT_DIR/bad/xlmig"
rc=0
it_on A xlmig check --json -s "$IT_SSH" --receiver "$IT_DIR/bad/xlmig" ck-base "$B_IP" \
	>"$IT_DIR/c.json" 2>"$IT_DIR/c.err" || rc=$?
it_log "[$CASE] check: exit $rc: $(cat "$IT_DIR/c.err")"
[ "$rc" = 1 ] || it_fail "[$CASE] check against a broken peer: exit $rc, not 1"
[ ! -s "$IT_DIR/c.json" ] || it_fail "[$CASE] a report on stdout: $(head -c 300 "$IT_DIR/c.json")"
grep -q 'expected an xlmig/1 message' "$IT_DIR/c.err" ||
	it_fail "[$CASE] the error does not name the xlmig/1 message: $(cat "$IT_DIR/c.err")"
# The cause (a log line) and the command's one-line verdict, no cascade.
[[ $(tail -n 1 "$IT_DIR/c.err") == *"cannot check ck-base against $B_IP"* ]] &&
	[ "$(grep -cv '^xlmig: info:' "$IT_DIR/c.err")" -le 2 ] ||
	it_fail "[$CASE] not a short error: $(cat "$IT_DIR/c.err")"
expect_untouched
sim_expect_procs B "sshd xenstored "

# --- 20. usage ------------------------------------------------------------------------------
case_begin usage
rc=0
it_on A xlmig check --force=nonsense vm x >"$IT_DIR/u.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "'nonsense'" "$IT_DIR/u.out" ||
	it_fail "[$CASE] --force=nonsense: exit $rc: $(cat "$IT_DIR/u.out")"
rc=0
it_on A xlmig check --json -s "$IT_SSH" nosuchdomain "$B_IP" >"$IT_DIR/u.out" 2>"$IT_DIR/u.err" || rc=$?
[ "$rc" = 1 ] && grep -q nosuchdomain "$IT_DIR/u.err" ||
	it_fail "[$CASE] unknown domain: exit $rc: $(cat "$IT_DIR/u.err")"
[ ! -s "$IT_DIR/u.out" ] || it_fail "[$CASE] unknown domain: a report on stdout: $(cat "$IT_DIR/u.out")"

# --- the end ----------------------------------------------------------------------------------
case_begin end
[ "$(sim_names A | tr '\n' ' ')" = "ck-base " ] || it_fail "A has domains: $(sim_names A | tr '\n' ' ')"
expect_untouched
# Each check script's copy of the domain config is gone.
[ -s "$IT_DIR/check-configs" ] || it_fail "the env check script never ran"
while read -r f; do
	case $f in
	/tmp/xlmig-check-*) [ ! -e "$f" ] || it_fail "check config $f left behind" ;;
	*) it_fail "XLMIG_DOMAIN_CONFIG is '$f'" ;;
	esac
done <"$IT_DIR/check-configs"
ls -d /tmp/xlmig-check-* 2>/dev/null | sort | comm -13 "$IT_DIR/tmp-before" - >"$IT_DIR/tmp-new" || true
while read -r f; do
	! grep -qs '"ck-' "$f" || it_fail "check config $f left behind"
done <"$IT_DIR/tmp-new"
it_log "$(wc -l <"$IT_DIR/check-configs") check script runs, every config file removed"
