#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-27-datach.sh - the stream session of xlmig/1: frames over ssh (zero
# pages left out) and over a direct TCP data connection keyed over ssh
# (the defaults, the fallback and the migration network: t-28),
# with each codec and with encryption; each time B's memory of the guest
# must equal A's at suspend, byte for byte, and the result must carry the
# measured downtime and the receiver's progress. Then what must fail
# cleanly, with the guest still running once on A and nothing left on B:
# a sender without the key, a corrupted frame, a port already taken, a
# stalled link, an older receiver asked for a data connection, bad options.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-27-datach 240
it_setup 2
B=$(it_ip B)

# check_result FILE CODEC-EXPECTED: the JSON result of --progress=json.
check_result() {
	python3 - "$1" "$2" <<'PY' || it_fail "$(cat "$IT_DIR/why" 2>/dev/null)"
import json, sys
def fail(why):
    open(sys.argv[1].rsplit("/", 1)[0] + "/why", "w").write(why)
    sys.exit(1)
ev = [json.loads(l) for l in open(sys.argv[1])]
r = ev[-1]
if r["event"] != "result" or not r["ok"]:
    fail("result: %r" % r)
if not r["downtime_measured"] or not 0 < r["downtime_ms"] < 20000:
    fail("downtime not measured: %r" % r)
if not 0 < r["zero_pages"] or not r["wire_bytes"] < r["bytes"]:
    fail("no zero pages left out: %r" % r)
if sys.argv[2] != "none" and not r["wire_bytes"] * 1.3 < r["bytes"]:
    fail("%s did not compress: %r" % (sys.argv[2], r))
prog = [e for e in ev if e["event"] == "progress"]
if not any(e["peer_bytes"] > 0 for e in prog):
    fail("no progress from the receiver in %d events" % len(prog))
PY
}

# migrate_p NAME OPTS...: A -> B paused, B's memory compared with A's.
migrate_p() {
	local name=$1
	shift
	rm -rf "$IT_DIR/freeze"
	mkdir -p "$IT_DIR/freeze"
	XLMIG_SIM_FREEZE_DIR=$IT_DIR/freeze it_on A xlmig migrate -p \
		--progress=json -s "$IT_SSH" "$@" "$name" "$B" \
		>"$IT_DIR/$name.json" 2>"$IT_DIR/$name.err" ||
		it_fail "migrate $* $name: $(grep -v "^\[" "$IT_DIR/$name.err")"
	it_log "$name ($*): $(tail -n 1 "$IT_DIR/$name.json")"
	cmp -s "$IT_DIR/freeze/$name.mem" "$(sim_info B "$name" image)" ||
		it_fail "$name ($*): B's memory differs from A's at suspend"
	it_on B xlmig destroy "$name" >/dev/null
}

# fails_cleanly NAME EXPECT OPTS...: the migration fails with a line
# matching EXPECT; NAME still runs on A only; B is empty.
fails_cleanly() {
	local name=$1 expect=$2 rc=0
	shift 2
	it_on A xlmig migrate --timeout 8 -s "$IT_SSH" "$@" "$name" "$B" \
		>"$IT_DIR/f.out" 2>&1 || rc=$?
	it_log "expected failure ($*): rc $rc:"; it_log "$(cat "$IT_DIR/f.out")"
	[ "$rc" -eq 1 ] || it_fail "($*) exit $rc, not 1: $(cat "$IT_DIR/f.out")"
	grep -Eq -- "$expect" "$IT_DIR/f.out" ||
		it_fail "($*) no '$expect' in: $(cat "$IT_DIR/f.out")"
	grep -q "still runs on this host" "$IT_DIR/f.out" ||
		grep -q "nothing was changed" "$IT_DIR/f.out" ||
		it_fail "($*) the error does not say where $name is"
	sim_expect_only A "$name"
	sim_expect_no_domains B
	sim_expect_procs B "${B_PROCS:-sshd xenstored }"
}

it_on A xlmig sim-create --memory 128 --rate 2000 --wss 16 --shape hot vm1 >/dev/null
sim_wait_counter A vm1 3 10 >/dev/null

# 1. Frames inside ssh (the default is a data connection: t-28).
migrate_p vm1 --data ssh --compress none
check_result "$IT_DIR/vm1.json" none
it_on A xlmig sim-create --memory 128 --rate 2000 --wss 16 --shape hot vm1 >/dev/null

# 2. A data connection with each codec, and encrypted.
for opts in "--data tcp" "--data tcp --compress lz4" \
	"--data tcp:47001 --compress zstd --encrypt" "--data tcp --compress auto" \
	"--compress zstd"; do
	# shellcheck disable=SC2086
	migrate_p vm1 $opts
	codec=none
	case $opts in *lz4*) codec=lz4 ;; *zstd*) codec=zstd ;; esac
	check_result "$IT_DIR/vm1.json" "$codec"
	case $opts in *47001*)
		grep -q 'data connection to 192.0.2.2 port 47001, encrypted' \
			"$IT_DIR/vm1.json" || it_fail "no info event of the data connection" ;;
	esac
	it_on A xlmig sim-create --memory 128 --rate 2000 --wss 16 --shape hot vm1 >/dev/null
done
sim_wait_counter A vm1 3 10 >/dev/null

# 2b. Junk on B's data port all through a migration (random bytes, then
#     closed, from four connectors on A as fast as they can; B listens
#     from the stream offer to the transfer): the sender still gets
#     through, and B names the junk's address once, then counts.
rm -f "$IT_DIR/junk.stop" "$IT_DIR"/junk.n.*
junk=
for j in 1 2 3 4; do
	ip netns exec "$(it_ns A)" python3 -c '
import os, socket, sys, time
n, end = 0, time.monotonic() + 60
while time.monotonic() < end and not os.path.exists(sys.argv[1]):
    try:
        s = socket.create_connection(("192.0.2.2", 47003), timeout=1)
        s.sendall(os.urandom(64))
        s.close()
        n += 1
    except OSError:
        time.sleep(0.001)
open(sys.argv[2], "w").write("%d\n" % n)' "$IT_DIR/junk.stop" "$IT_DIR/junk.n.$j" &
	junk="$junk $!"
done
migrate_p vm1 --data tcp:47003
touch "$IT_DIR/junk.stop"
# shellcheck disable=SC2086
wait $junk
n=$(grep -c "refused a data connection from 192.0.2.1 " "$IT_DIR/vm1.err") || true
it_log "junk: $(cat "$IT_DIR"/junk.n.* | paste -sd+) connections got in;" \
	"B named the address in $n line(s)"
[ "$n" -eq 1 ] || it_fail "junk refused with $n lines, not 1"
grep -q "data connections in all" "$IT_DIR/vm1.err" ||
	it_fail "B did not count the junk it refused"
it_on A xlmig sim-create --memory 128 --rate 2000 --wss 16 --shape hot vm1 >/dev/null
sim_wait_counter A vm1 3 10 >/dev/null

# 3. Without the key: B refuses the connection, nothing is restored.
XLMIG_FAULT_STREAM=badkey fails_cleanly vm1 "data connection|peer" --data tcp
grep -q "refused a data connection from 192.0.2.1 .*did not prove the session key" \
	"$IT_DIR/f.out" || it_fail "B did not say why it refused: $(cat "$IT_DIR/f.out")"

# 4. A corrupted frame, over the data connection and inside ssh.
XLMIG_FAULT_STREAM=corrupt:5 fails_cleanly vm1 "peer|stream|authentic" --data tcp
XLMIG_FAULT_STREAM=corrupt:3 fails_cleanly vm1 "peer|stream|authentic|receiver" \
	--data ssh

# 5. The port is taken on B.
ip netns exec "$(it_ns B)" python3 -c '
import socket, time
s = socket.socket(); s.bind(("192.0.2.2", 47002)); s.listen(1); time.sleep(30)' &
holder=$!
sleep 0.5
B_PROCS="python3 sshd xenstored " \
	fails_cleanly vm1 "cannot listen on 192.0.2.2 port 47002" --data tcp:47002
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null || true

# 6. An older xlmig on B: no stream session; asking for one is an error
#    (in pre-flight), without it the raw stream still works, announced.
fails_cleanly vm1 "needs an xlmig receiver that speaks the xlmig/1 stream" \
	--data tcp -s "$IT_SSH -o SetEnv=XLMIG_FAULT_NOSTREAM=1"
it_on A xlmig migrate -s "$IT_SSH -o SetEnv=XLMIG_FAULT_NOSTREAM=1" vm1 "$B" \
	>"$IT_DIR/old.out" 2>&1 || it_fail "raw stream to an older xlmig: $(cat "$IT_DIR/old.out")"
grep -q "the stream goes as xl's, inside ssh" "$IT_DIR/old.out" ||
	it_fail "the raw stream was not announced: $(cat "$IT_DIR/old.out")"
sim_expect_only B vm1
it_on B xlmig migrate -s "$IT_SSH" vm1 "$(it_ip A)" >/dev/null 2>&1 ||
	it_fail "migrate back B -> A failed"
sim_expect_only A vm1

# 6b. A receiver that answers with a version of xlmig/1 we do not speak.
fails_cleanly vm1 "names no xlmig/1 version we speak" \
	-s "$IT_SSH -o SetEnv=XLMIG_FAULT_HELLO_VERSION=9"

# 7. A stalled peer, each way, on a guest that takes a while to send.
#    The receiver stops mid-stream: the sender gives up after its timeout
#    and keeps the guest; the receiver, let go on, finds it gone and cleans
#    up. Then the sender stops: the receiver gives up after the same
#    timeout (the sender passes it on) and cleans up; the sender, let go
#    on, finds it gone and keeps the guest.
it_on A xlmig sim-create --memory 128 --rate 500 --fill random vm2 >/dev/null
sim_shape A 40mbit
b_empty() { [ -z "$(sim_names B)" ]; }
for stop in B A; do
	it_on A xlmig migrate --timeout 4 --data tcp -s "$IT_SSH" vm2 "$B" \
		>"$IT_DIR/stall.out" 2>&1 &
	m=$!
	it_wait_until 20 "the transfer to start" grep -q "transfer:" "$IT_DIR/stall.out"
	sleep 0.5
	if [ "$stop" = B ]; then
		sim_kill B STOP "migrate-receive"
	else
		sim_kill A STOP "xlmig migrate .*vm2"
		it_wait_until 20 "B to give up ($(cat "$IT_DIR/stall.out"))" b_empty
		sim_kill A CONT "xlmig migrate .*vm2"
	fi
	rc=0
	wait "$m" || rc=$?
	[ "$stop" = B ] && sim_kill B CONT "migrate-receive"
	it_log "stalled $stop: rc $rc: $(grep -v '^\[\|^migration target' "$IT_DIR/stall.out")"
	[ "$rc" -eq 1 ] || it_fail "stalled $stop: exit $rc: $(cat "$IT_DIR/stall.out")"
	grep -q "timed out" "$IT_DIR/stall.out" ||
		it_fail "stalled $stop: no one says it timed out: $(cat "$IT_DIR/stall.out")"
	sim_expect_running A vm2
	it_wait_until 30 "B to clean up after the stall" b_empty
	sim_expect_procs B "sshd xenstored "
done
ip netns exec "$(it_ns A)" tc qdisc del dev eth0 root
it_on A xlmig destroy vm2 >/dev/null

# 8. Bad options: usage errors, nothing done.
for bad in "--data udp" "--data tcp:0" "--data tcp:99999" "--compress gzip"; do
	rc=0
	# shellcheck disable=SC2086
	it_on A xlmig migrate $bad -s "$IT_SSH" vm1 "$B" >"$IT_DIR/u.out" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || it_fail "'$bad': exit $rc, not 2"
	[ "$(wc -l <"$IT_DIR/u.out")" -eq 1 ] || it_fail "'$bad': not one line: $(cat "$IT_DIR/u.out")"
done
sim_expect_only A vm1
