#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-91-announce.sh - the announce hook (xenstore-hooks/announce.c) on a
# real Linux bridge, run as xlmig-hookd runs it after a guest arrived (no
# migration needed). Namespaces of this run: "host" holds bridge br-x with
# an uplink veth up0 (its peer far0 in "far", the switch's side) and a
# guest port named like a Xen vif, vif5.0 (its peer eth0 in "guest", with
# the guest's MAC and IP). The far side must see the RARP and the
# gratuitous ARP, byte for byte; the guest side nothing (frames sent on an
# uplink leave through it and never enter the bridge, so they are not
# flooded back); the bridge must still map the guest's MAC to vif5.0, and
# the guest must still answer. Then: an uplink-less bridge (exit 0,
# nothing sent) and a malformed config (exit 2, one line).
. "$(dirname "$0")/lib.sh"
it_begin t-91-announce 30

HOOK=$IT_BUILDDIR/xenstore-hooks/announce
MAC=00:16:3e:00:00:05
IP=192.0.2.5
FAR_IP=192.0.2.100
HOST=xlmig-it-$IT_ID-host
FAR=xlmig-it-$IT_ID-far
GUEST=xlmig-it-$IT_ID-guest
# The frames of announce-frame.c for MAC and IP, as hex.
PAD=$(printf '00%.0s' $(seq 18))
RARP=ffffffffffff00163e0000058035000108000604000300163e00000500000000
RARP=${RARP}00163e00000500000000$PAD
GARP=ffffffffffff00163e0000050806000108000604000100163e000005c0000205
GARP=${GARP}000000000000c0000205$PAD

[ "$(id -u)" -eq 0 ] || it_skip "needs root (network namespaces)"
for tool in ip bridge ping python3 timeout; do
	command -v "$tool" >/dev/null ||
		it_fail "$tool not found (scripts/install-deps installs it)"
done
[ -x "$HOOK" ] || it_fail "no $HOOK: run from the build tree or set top_builddir"
PY=$(python3 -c 'import sys; print(sys.executable)')

# pkt.py capture IFACE OUT READY SECS: write each Ethernet frame received
# on IFACE (not sent by us) with ethertype RARP, ARP or 88b5 to OUT as hex,
# one a line; create READY once listening; exit 0 at the first 88b5 frame
# (the marker), 1 after SECS without one.
# pkt.py marker IFACE: send one marker frame (broadcast, ethertype 88b5).
cat >"$IT_DIR/pkt.py" <<'EOF'
import socket, sys, time
mode, iface = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
if mode == 'marker':
    s.bind((iface, 0))
    s.send(b'\xff' * 6 + bytes.fromhex('020000000001') + b'\x88\xb5' +
           bytes(46))
    sys.exit(0)
out, ready, end = sys.argv[3], sys.argv[4], time.monotonic() + float(sys.argv[5])
s.bind((iface, 0))
s.settimeout(0.1)
open(ready, 'w').close()
with open(out, 'w') as f:
    while time.monotonic() < end:
        try:
            frame, addr = s.recvfrom(65536)
        except socket.timeout:
            continue
        kind = frame[12:14].hex()
        if addr[0] != iface or addr[2] == socket.PACKET_OUTGOING or \
                kind not in ('8035', '0806', '88b5'):
            continue
        f.write(frame.hex() + '\n')
        f.flush()
        if kind == '88b5':
            sys.exit(0)
sys.exit(1)
EOF

# capture NS IFACE NAME: start a capture, wait until it listens; its PID
# in cap_pid[NAME], its frames in $IT_DIR/NAME.cap.
declare -A cap_pid=()
capture() {
	rm -f "$IT_DIR/$3.ready"
	ip netns exec "$1" "$PY" "$IT_DIR/pkt.py" capture "$2" "$IT_DIR/$3.cap" \
		"$IT_DIR/$3.ready" 10 &
	cap_pid[$3]=$!
	it_on_teardown "kill ${cap_pid[$3]} 2>/dev/null || :"
	it_wait_until 5 "capture $3 to listen" test -e "$IT_DIR/$3.ready"
}

# capture_end NAME: wait for capture NAME to see the marker and exit.
capture_end() {
	wait "${cap_pid[$1]}" || it_fail "capture $1 saw no marker within 10 s"
}

# frames NAME HEX: how many frames HEX capture NAME saw.
frames() { grep -cx "$2" "$IT_DIR/$1.cap" || :; }

# hook CONFIG...: run the hook in the host namespace as xlmig-hookd runs
# it for incoming-done: argv, environment only that of the spec, the
# config on stdin; stderr in $IT_DIR/hook.err. Returns its status.
hook() {
	local rc=0
	printf '%s' "$1" >"$IT_DIR/cfg.json"
	ip netns exec "$HOST" timeout -k 2 10 env -i "PATH=$IT_ROOT_PATH" \
		XLMIG_EVENT=incoming-done XLMIG_SEQ=7 XLMIG_JOB= XLMIG_DOMAIN=vm5 \
		XLMIG_UUID=6f2a4c1e-0b8d-4e7a-9c3f-1d2e3f4a5b6c XLMIG_DOMID=5 \
		XLMIG_PEER= XLMIG_ROLE=destination XLMIG_RESULT=ok XLMIG_ERROR= \
		XLMIG_HOOK=50-announce "${@:2}" \
		"$HOOK" incoming-done vm5 destination \
		<"$IT_DIR/cfg.json" >"$IT_DIR/hook.err" 2>&1 || rc=$?
	it_log "hook exited $rc: $(tr '\n' '|' <"$IT_DIR/hook.err")"
	return "$rc"
}

# The guest's MAC is learnt on its vif (and nowhere else).
fdb_on_vif() {
	local fdb
	# (awk's $1 = $1 drops the blank that bridge prints at the end)
	fdb=$(bridge -n "$HOST" fdb show br br-x |
		awk -v m="$MAC" '$1 == m { $1 = $1; print }')
	it_log "fdb: ${fdb//$'\n'/|}"
	[ "$fdb" = "$MAC dev vif5.0 master br-x" ]
}

forwarding() {
	bridge -n "$HOST" link show dev "$1" | grep -q 'state forwarding'
}

# --- the network --------------------------------------------------------------
ip netns add "$HOST" 2>/dev/null || it_skip "no network namespace support"
ip netns add "$FAR"
ip netns add "$GUEST"
for ns in "$HOST" "$FAR" "$GUEST"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
done
ip -n "$HOST" link add br-x type bridge forward_delay 0
ip -n "$HOST" link add up0 type veth peer name far0 netns "$FAR"
ip -n "$HOST" link add vif5.0 type veth peer name eth0 netns "$GUEST"
ip -n "$HOST" link set up0 master br-x up
ip -n "$HOST" link set vif5.0 master br-x up
ip -n "$HOST" link set br-x up
ip -n "$FAR" addr add "$FAR_IP/24" dev far0
ip -n "$FAR" link set far0 up
ip -n "$GUEST" link set eth0 address "$MAC"
ip -n "$GUEST" addr add "$IP/24" dev eth0
ip -n "$GUEST" link set eth0 up
it_wait_until 5 "up0 to forward" forwarding up0
it_wait_until 5 "vif5.0 to forward" forwarding vif5.0
ip netns exec "$FAR" ping -q -c 1 -W 5 "$IP" >/dev/null || it_fail "far side cannot ping the guest"
fdb_on_vif || it_fail "the bridge did not learn the guest's MAC on vif5.0"

CFG='{"c_info": {"type": "hvm", "name": "vm5"}, "nics": [{"devid": 0,
 "mac": "'$MAC'", "bridge": "br-x", "ip": "'$IP' 2001:db8::5",
 "script": "vif-bridge", "nictype": "vif_ioemu"}]}'

# --- announce out of the uplink only ------------------------------------------
capture "$FAR" far0 far
capture "$GUEST" eth0 guest
hook "$CFG" || it_fail "hook failed: $(tail -n 1 "$IT_DIR/hook.err")"
grep -q "out of up0\$" "$IT_DIR/hook.err" || it_fail "hook did not say it used up0"
far_has_all() { [ "$(frames far "$RARP")" -ge 3 ] && [ "$(frames far "$GARP")" -ge 3 ]; }
it_wait_until 5 "the far side to see 3 RARPs and 3 gratuitous ARPs" far_has_all
# Everything the hook sent has arrived: a marker through the bridge now
# ends both captures, and shows the guest side would have seen a flood.
ip netns exec "$HOST" "$PY" "$IT_DIR/pkt.py" marker br-x
capture_end far
capture_end guest
[ "$(frames far "$RARP")" -eq 3 ] || it_fail "far side: $(frames far "$RARP") RARPs, not 3"
[ "$(frames far "$GARP")" -eq 3 ] || it_fail "far side: $(frames far "$GARP") gratuitous ARPs, not 3"
if grep -q '^.\{24\}8035' "$IT_DIR/guest.cap" || [ "$(frames guest "$GARP")" -ne 0 ]; then
	it_fail "the guest's side saw the announcement: $(head -c 300 "$IT_DIR/guest.cap")"
fi
fdb_on_vif || it_fail "after the hook, the bridge no longer maps $MAC to vif5.0"
ip netns exec "$FAR" ping -q -c 1 -W 5 "$IP" >/dev/null || it_fail "after the hook, the far side cannot ping the guest"

# --- a bridge without an uplink: nothing to do ------------------------------------
ip -n "$HOST" link set up0 nomaster
capture "$FAR" far0 far
capture "$GUEST" eth0 guest
hook "$CFG" || it_fail "hook without an uplink exited $?, not 0"
[ "$(wc -l <"$IT_DIR/hook.err")" -eq 1 ] || it_fail "hook without an uplink: not one line"
grep -q '^announce: nics\[0\]: br-x has no uplink port' "$IT_DIR/hook.err" ||
	it_fail "hook without an uplink: $(cat "$IT_DIR/hook.err")"
ip netns exec "$HOST" "$PY" "$IT_DIR/pkt.py" marker up0
ip netns exec "$HOST" "$PY" "$IT_DIR/pkt.py" marker br-x
capture_end far
capture_end guest
for c in far guest; do
	[ "$(grep -vc '^.\{24\}88b5' "$IT_DIR/$c.cap")" -eq 0 ] ||
		it_fail "hook without an uplink sent on the $c side: $(head -c 300 "$IT_DIR/$c.cap")"
done

# The admin's list of uplinks names no port of br-x: nothing to do either.
ip -n "$HOST" link set up0 master br-x
it_wait_until 5 "up0 to forward again" forwarding up0
hook "$CFG" XLMIG_ANNOUNCE_UPLINKS="eth9 bond0" || it_fail "hook with other uplinks exited $?"
grep -q 'has no uplink port' "$IT_DIR/hook.err" || it_fail "XLMIG_ANNOUNCE_UPLINKS ignored"

# --- malformed input: exit 2, one line ----------------------------------------------
for bad in '{"c_info": {"type": "hvm", "name": "vm5"}, "nics": [' \
	'{"c_info": {"type": "hvm", "name": "vm5"}, "nics": [{"mac": "00:16:3e:00:00"}]}' \
	'{"c_info": {"type": "hvm", "name": "vm5"}, "nics": [{"mac": "'$MAC'", "ip": "192.0.2.300"}]}'; do
	rc=0
	hook "$bad" || rc=$?
	[ "$rc" -eq 2 ] || it_fail "malformed config: exit $rc, not 2"
	[ "$(wc -l <"$IT_DIR/hook.err")" -eq 1 ] || it_fail "malformed config: not one line"
	grep -q '^announce: ' "$IT_DIR/hook.err" || it_fail "malformed config: $(cat "$IT_DIR/hook.err")"
done
