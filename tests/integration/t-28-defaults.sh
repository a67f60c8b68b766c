#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-28-defaults.sh - the transport a plain `xlmig migrate vm host` gets:
# a direct data connection, encrypted, compression auto; a data port that
# a firewall drops (tc on A) gives way to frames inside ssh within
# migrate_connect_timeout, announced and decided before the receiver
# makes anything, while --data tcp asked for fails in pre-flight; older
# receivers get what they can take; xlmig.conf's per-host defaults under
# the command line; bad settings name file, line and key; a migration
# network carries the data connection (each end's address, checked by
# xlmig check), and one the hosts cannot reach is an error, not ssh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-28-defaults 150
it_setup 2
A_IP=$(it_ip A)
B_IP=$(it_ip B)
A_CONF=$(it_host_dir A)/xlmig.conf
B_CONF=$(it_host_dir B)/xlmig.conf

# ev FILE: the events of a --progress=json run, for python (one a line:
# EVENT PHASE ELAPSED TEXT).
ev() {
	python3 -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    t = e.get("detail") or e.get("message") or ""
    if e["event"] == "check":
        t = "%s %s %s: %s" % (e["severity"], e["id"], e["side"], t)
    print(e["event"], e.get("phase", "-"), e.get("elapsed", 0), t)' "$1"
}

# mig NAME OPTS...: A -> B with --progress=json; events in m.ev, stderr
# in m.err; must succeed. back NAME: B -> A, the default way.
mig() {
	local name=$1
	shift
	it_on A xlmig migrate --progress=json -s "$IT_SSH" "$@" "$name" "$B_IP" \
		>"$IT_DIR/m.json" 2>"$IT_DIR/m.err" ||
		it_fail "migrate $*: $(grep -v '^migration target' "$IT_DIR/m.err" | tail -n 3)"
	ev "$IT_DIR/m.json" >"$IT_DIR/m.ev"
	it_log "migrate $*: $(tail -n 1 "$IT_DIR/m.json")"
	grep -q '"ok": true' "$IT_DIR/m.json" || it_fail "migrate $*: no ok result"
}
back() {
	it_on B xlmig migrate -s "$IT_SSH" "$1" "$A_IP" >"$IT_DIR/b.out" 2>&1 ||
		it_fail "back: $(tail -n 3 "$IT_DIR/b.out")"
}
# has PATTERN: the last run's events have a line matching PATTERN.
has() {
	grep -Eq -- "$1" "$IT_DIR/m.ev" ||
		it_fail "no event matching '$1' in: $(tr '\n' '|' <"$IT_DIR/m.ev")"
}
hasnt() {
	! grep -Eq -- "$1" "$IT_DIR/m.ev" ||
		it_fail "an event matches '$1': $(grep -E -- "$1" "$IT_DIR/m.ev")"
}
# fails NAME EXPECT OPTS...: the migration fails (exit 1) with a line
# matching EXPECT; NAME still runs on A only, B has nothing of it.
fails() {
	local name=$1 expect=$2 rc=0
	shift 2
	it_on A xlmig migrate -s "$IT_SSH" "$@" "$name" "$B_IP" \
		>"$IT_DIR/f.out" 2>&1 || rc=$?
	it_log "expected failure ($*): rc $rc: $(cat "$IT_DIR/f.out")"
	[ "$rc" -eq 1 ] || it_fail "($*) exit $rc, not 1: $(cat "$IT_DIR/f.out")"
	grep -Eq -- "$expect" "$IT_DIR/f.out" ||
		it_fail "($*) no '$expect' in: $(cat "$IT_DIR/f.out")"
	# (sim_expect_only, without waiting for the counter: it runs on.)
	[ "$(sim_info A "$name" state)" = running ] &&
		[ "$(sim_names A | tr '\n' ' ')" = "$name " ] ||
		it_fail "($*) A has $(sim_names A | tr '\n' ' '), $name $(sim_info A "$name" state)"
	sim_expect_no_domains B
}

# A's packets to B's ephemeral ports (where B listens for data
# connections) vanish: a firewall that drops them (a tbf whose bucket no
# packet fits). ssh both ways (port 22 at either end) passes.
firewall_on() {
	ip netns exec "$(it_ns A)" sh -e -c "
tc qdisc add dev eth0 root handle 1: htb default 1
tc class add dev eth0 parent 1: classid 1:1 htb rate 10gbit
tc class add dev eth0 parent 1: classid 1:2 htb rate 10gbit
tc qdisc add dev eth0 parent 1:2 handle 20: tbf rate 1kbit burst 1 limit 1
tc filter add dev eth0 parent 1: protocol ip prio 1 u32 \
	match ip sport 22 0xffff flowid 1:1
tc filter add dev eth0 parent 1: protocol ip prio 2 u32 \
	match ip dst $B_IP/32 match ip dport 0x8000 0x8000 flowid 1:2" 2>/dev/null
}
firewall_off() { ip netns exec "$(it_ns A)" tc qdisc del dev eth0 root; }

it_on A xlmig sim-create --memory 64 --rate 2000 --wss 8 vm1 >/dev/null
sim_wait_counter A vm1 3 10 >/dev/null

# 1. The defaults: a data connection, encrypted, checked in pre-flight.
mig vm1
has '^info transfer .* data connection to 192\.0\.2\.2 port [0-9]+, encrypted$'
has '^check preflight .* info data-connection source: direct data connection to 192\.0\.2\.2 port [0-9]+ in [0-9]+ ms, encrypted'
sim_expect_only B vm1
back vm1

# 2. A firewall drops the data port: within the connect timeout the
#    stream goes inside ssh, said on the terminal, decided in pre-flight
#    (before B registered the job or made anything), and it works.
firewall_on
printf 'migrate_connect_timeout = 1\n' >"$A_CONF"
t0=${EPOCHREALTIME/./}
it_on A xlmig migrate -s "$IT_SSH" vm1 "$B_IP" >"$IT_DIR/fw.out" 2>&1 ||
	it_fail "fallback: $(cat "$IT_DIR/fw.out")"
dt=$(((${EPOCHREALTIME/./} - t0) / 1000))
it_log "fallback in $dt ms: $(cat "$IT_DIR/fw.out")"
grep -Eq '^\[ *[0-9.]+s\]   no direct data connection to 192\.0\.2\.2 port [0-9]+: no answer within 1 s .*; the stream goes in frames inside ssh' \
	"$IT_DIR/fw.out" || it_fail "no fallback line on the terminal: $(cat "$IT_DIR/fw.out")"
# B: the second stream answer before its job and its domain.
awk '/migration target: .*stream in frames over a data connection/ { d = NR }
	/migration target: .*stream in frames over ssh/ { s = NR }
	/migration target: .*preflight: job / { j = NR }
	/migration target: .*restoring / { r = NR }
	END { exit !(d && s && j && r && d < s && s < j && j < r) }' "$IT_DIR/fw.out" ||
	it_fail "B's steps are not data connection, ssh, job, restore: $(grep 'migration target' "$IT_DIR/fw.out")"
grep -q "^\[ *[0-9.]*s\] transfer:" "$IT_DIR/fw.out" || it_fail "no transfer phase"
[ "$(grep -m1 -n "no direct data connection" "$IT_DIR/fw.out" | cut -d: -f1)" -lt \
	"$(grep -m1 -n "^\[ *[0-9.]*s\] transfer:" "$IT_DIR/fw.out" | cut -d: -f1)" ] ||
	it_fail "the fallback was announced after the transfer began"
[ "$dt" -lt 10000 ] || it_fail "the fallback took $dt ms"
sim_expect_only B vm1
back vm1
# ... with --data tcp asked for (waiting as long as --timeout): a
# pre-flight error, a remedy, nothing done.
fails vm1 "pre-flight check failed: data-connection" --data tcp --timeout 2
grep -q "remedy: let this host reach TCP port" "$IT_DIR/f.out" ||
	it_fail "no remedy: $(cat "$IT_DIR/f.out")"
# ... and xlmig check says each.
rc=0
it_on A xlmig check --json -s "$IT_SSH" vm1 "$B_IP" >"$IT_DIR/c.json" 2>/dev/null || rc=$?
[ "$rc" -eq 0 ] || it_fail "check (auto): exit $rc"
grep -q '"id": "data-connection", "severity": "warning".*frames inside ssh' "$IT_DIR/c.json" ||
	it_fail "check (auto): $(grep data-connection "$IT_DIR/c.json")"
rc=0
it_on A xlmig check --data tcp --timeout 2 --json -s "$IT_SSH" vm1 "$B_IP" \
	>"$IT_DIR/c.json" 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] && grep -q '"id": "data-connection", "severity": "error"' "$IT_DIR/c.json" ||
	it_fail "check --data tcp: exit $rc: $(grep data-connection "$IT_DIR/c.json")"
firewall_off
rm "$A_CONF"

# 3. Older receivers: without the fallback, frames inside ssh (said);
#    without the stream session, xl's stream; --encrypt asked: an error.
mig vm1 -s "$IT_SSH -o SetEnv=XLMIG_FAULT_NORESTREAM=1"
has "^info preflight .*frames inside ssh: the destination's xlmig cannot fall back"
hasnt "data connection to"
back vm1
mig vm1 -s "$IT_SSH -o SetEnv=XLMIG_FAULT_NOSTREAM=1"
has "^info preflight .*the stream goes as xl's, inside ssh \(the receiver's xlmig is older\)"
back vm1
fails vm1 "--encrypt needs an xlmig receiver that speaks the xlmig/1 stream" \
	--encrypt -s "$IT_SSH -o SetEnv=XLMIG_FAULT_NOSTREAM=1"

# 4. This host's defaults in xlmig.conf, under the command line.
printf 'migrate_data = "ssh"\nmigrate_compress = "none"\n' >"$A_CONF"
mig vm1
hasnt "data connection to"
has "^check preflight .* info data-connection source: the stream goes in frames inside ssh$"
grep -q 'migration target: .*stream in frames over ssh$' "$IT_DIR/m.err" ||
	it_fail "B did not take frames inside ssh"
back vm1
mig vm1 --data tcp --compress lz4
has '^info transfer .* data connection to 192\.0\.2\.2 port [0-9]+, encrypted$'
back vm1
printf 'migrate_encrypt = 0\n' >"$A_CONF"
mig vm1
has '^info transfer .* data connection to 192\.0\.2\.2 port [0-9]+$'
back vm1
# B takes memory over a data connection only encrypted: refused in
# pre-flight, whoever asked for clear.
printf 'incoming_require_encrypt = 1\n' >"$B_CONF"
fails vm1 "the destination refused the stream: this host takes guest memory over a data connection only encrypted"
rm "$A_CONF" "$B_CONF"

# 5. Bad settings: the file, the line and the key, nothing done.
printf 'limit_out = 2\nmigrate_data = "udp"\n' >"$A_CONF"
fails vm1 "xlmig.conf:2: migrate_data: expected auto, ssh, tcp or tcp:PORT"
printf '\n\nmigration_address = "10.0.0.1; reboot"\n' >"$A_CONF"
fails vm1 "xlmig.conf:3: migration_address: not a numeric IPv4 or IPv6 address"
rm "$A_CONF"
# B's: refused in its stream answer, named there.
printf 'migration_address = "$(reboot)"\n' >"$B_CONF"
fails vm1 "refused the stream: this host's migration network: .*xlmig.conf:1: migration_address: not a numeric"

# 6. A migration network: each end's address on it, 10.88.0.0/24 on the
#    same wire. A names its address, B its network.
ip -n "$(it_ns A)" addr add 10.88.0.1/24 dev eth0
ip -n "$(it_ns B)" addr add 10.88.0.2/24 dev eth0
printf 'migration_address = "10.88.0.1"\n' >"$A_CONF"
printf 'migration_network = "10.88.0.0/24"\n' >"$B_CONF"
mig vm1
has '^info transfer .* data connection to 10\.88\.0\.2 port [0-9]+ from 10\.88\.0\.1, encrypted$'
back vm1
it_on A xlmig check --json -s "$IT_SSH" vm1 "$B_IP" >"$IT_DIR/c.json" 2>/dev/null ||
	it_fail "check on the migration network"
grep -q '"id": "data-connection", "severity": "info", "side": "source", "message": "direct data connection to 10.88.0.2 port [0-9]* from 10.88.0.1 in' \
	"$IT_DIR/c.json" || it_fail "check: $(grep data-connection "$IT_DIR/c.json")"
# B's network that A cannot reach: an error naming it, not ssh.
ip -n "$(it_ns B)" addr add 10.99.0.2/24 dev lo
printf 'migration_address = "10.99.0.2"\n' >"$B_CONF"
fails vm1 "no direct data connection to 10\.99\.0\.2 port [0-9]+ from 10\.88\.0\.1: "
grep -q "remedy: make the two hosts' migration networks" "$IT_DIR/f.out" ||
	it_fail "no remedy naming the migration networks: $(cat "$IT_DIR/f.out")"
rm "$A_CONF" "$B_CONF"
sim_expect_only A vm1
sim_expect_procs B "sshd xenstored "
