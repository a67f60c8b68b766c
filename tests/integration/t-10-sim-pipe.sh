#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-10-sim-pipe.sh - the sim backend end to end without a network: two sim
# hosts in one temp dir, a PVH and a PV guest migrated from A to B with
# `xlmig migrate -s ''` (the receiver is a local command, as `xl migrate -s`
# allows). Checks: the captured stream is a well-formed libxl/libxc stream
# of the guest's type with several rounds (stream-info); the destination
# image equals the source image frozen at suspend, byte for byte; the guest resumes on B and its counter goes on;
# nothing is left on A; list and destroy see the same domains.
set -u
name=t-10-sim-pipe
t0=$SECONDS
top_builddir=$(cd "${top_builddir:-.}" && pwd)
xlmig=$top_builddir/tools/xlmig
T=$(mktemp -d /tmp/xlmig-t10.XXXXXX)
export XLMIG_XSSHIM=$top_builddir/tools/.libs/xlmig-xsshim.so
export XLMIG_SIMGUEST=$top_builddir/tools/xlmig-simguest
export XLMIG_LOG_DIR=$T/log
export XLMIG_STATE_DIR=$T/state
export XLMIG_BACKEND=sim

fail() {
	echo "FAIL: $name: $*"
	exit 1
}

cleanup() {
	"$xlmig" sim-host-destroy "$T/a" >/dev/null 2>&1
	"$xlmig" sim-host-destroy "$T/b" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

on() {
	local h=$1
	shift
	XLMIG_SIM_HOST=$T/$h timeout 60 "$xlmig" "$@"
}

info() {    # info HOST DOMAIN KEY
	on "$1" sim-info "$2" | sed -n "s/^$3=//p"
}

wait_counter_above() {    # HOST DOMAIN VALUE
	local i v
	for ((i = 0; i < 100; i++)); do
		v=$(info "$1" "$2" counter)
		[ -n "$v" ] && [ "$v" -gt "$3" ] && return 0
		sleep 0.1
	done
	fail "counter of $2 on $1 stays at ${v:-?} (not above $3)"
}

"$xlmig" sim-host-create "$T/a" || fail "sim-host-create a"
"$xlmig" sim-host-create "$T/b" || fail "sim-host-create b"
mkdir -p "$T/freeze"

for type in pvh pv; do
	g=g-$type
	on a sim-create --type "$type" --memory 32 --rate 3000 --wss 8 "$g" \
		>/dev/null || fail "sim-create $g"
	wait_counter_above a "$g" 5
	# The receiver's input is captured for the stream parser.
	# Each host keeps its own journals, as real hosts do: job ids are
	# unique per host (xenstore), not across hosts.
	recv="tee $T/$g.cap | env XLMIG_SIM_HOST=$T/b XLMIG_STATE_DIR=$T/state-b $xlmig migrate-receive -e -p"
	XLMIG_SIM_FREEZE_DIR=$T/freeze on a migrate -s '' "$g" "$recv" \
		>"$T/$g.out" 2>&1 || { cat "$T/$g.out"; fail "migrate $g"; }
	grep -q "migrated $g" "$T/$g.out" || fail "no summary line for $g"
	on a sim-info "$g" >/dev/null 2>&1 && fail "$g is still on A"
	[ "$(info b "$g" state)" = paused ] || fail "$g is not paused on B (-p)"
	img=$(info b "$g" image)
	cmp "$T/freeze/$g.mem" "$img" ||
		fail "$g: memory on B differs from A's at suspend"
	frozen=$(info b "$g" counter)
	on b unpause "$g" || fail "unpause $g on B"
	wait_counter_above b "$g" "$frozen"
	[ "$(info b "$g" resumes)" -ge 1 ] || fail "$g did not resume on B"
	[ "$(info b "$g" type)" = "$type" ] || fail "$g changed type"
	"$xlmig" stream-info --json "$T/$g.cap" >"$T/$g.json" ||
		fail "stream-info rejects the stream of $g"
	python3 - "$T/$g.json" "$type" <<'PY' || fail "stream of $g: see above"
import json, sys
j = json.load(open(sys.argv[1]))
t = sys.argv[2]
x = j["libxc_records"]
want = {"STATIC_DATA_END": 1, "X86_CPUID_POLICY": 1, "X86_MSR_POLICY": 1,
        "X86_TSC_INFO": 1, "END": 1}
if t == "pv":
    want.update({"X86_PV_INFO": 1, "X86_PV_P2M_FRAMES": 1, "SHARED_INFO": 1,
                 "X86_PV_VCPU_BASIC": 1, "X86_PV_VCPU_EXTENDED": 1})
else:
    want.update({"HVM_CONTEXT": 1, "HVM_PARAMS": 1})
bad = [k for k in want if x.get(k) != want[k]]
pages = 32 * 256
checks = [
    (not bad, "record counts %s" % {k: x.get(k) for k in bad}),
    (j["guest_type"] == ("PV" if t == "pv" else "HVM or PVH") or
     j["guest_type"] in ("PVH", "HVM"), "guest type " + j["guest_type"]),
    (j["xen_version"] == "4.17", "xen version"),
    (j["end"], "no well-formed end"),
    (j["rounds"] >= 2, "only %d round(s) in a live migration" % j["rounds"]),
    (j["data_pages"] > pages, "%d data pages for %d" % (j["data_pages"], pages)),
    (x["PAGE_DATA"] >= pages // 1024, "PAGE_DATA records: %d" % x["PAGE_DATA"]),
    (j["trailing_bytes"] > 0, "no xl protocol after the stream"),
]
for ok, what in checks:
    if not ok:
        print("stream check failed: " + what)
        sys.exit(1)
PY
done

# The xl-like commands on the result.
on b list | grep -q 'g-pvh' || fail "list on B does not show g-pvh"
on b destroy g-pv || fail "destroy g-pv on B"
on b list | grep -q 'g-pv ' && fail "g-pv still listed after destroy"
echo "PASS: $name ($((SECONDS - t0))s)"
