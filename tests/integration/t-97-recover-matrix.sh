#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-97-recover-matrix.sh - exactly one running copy after anything that
# can go wrong around the point of no return, on top of t-95:
#  1. kill points t-95 lacks: the sender after its GO journal and before
#     GO (send:journaled), in preflight; the receiver in preflight,
#     between "ready" and GO, between rename and unpause (recv:renamed),
#     after its done journal (recv:done)
#  2. the guest powered off, rebooted or crashed on B after the sender
#     died past GO, before anyone recovers: A never resumes its stale
#     copy (B's kept journal says "taken")
#  3. the journal's disk full or read-only at each phase, on either end:
#     a clean rollback before GO, a hand-back after it on B, completion
#     once A's GO journal is down
#  4. a refusal from the receiver at each phase before GO: policy file
#     broken, policy refusal, maintenance, no slot, a cancel between
#     "ready" and GO
#  5. SIGINT before the point of no return cancels; SIGTERM and
#     job-cancel after it are refused with the reason, on both ends
#  6. recover with a hostile name or peer in a journal runs nothing
#  7. a fresh host: the state directory and its parents are made
# Each ends with the guest running once (or, for 2, where the guest put
# itself), counting on, no --incoming or --migratedaway copy, and no
# journal, job or stray process left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-97-recover-matrix 400
it_setup 2

B_IP=$(it_ip B)
RESUME=$IT_DIR/resume
n=0

# clean: no job, journal or leftover on either host.
clean() {
	local x
	for x in A B; do
		[ "$(sim_jobs "$x")" = 0 ] || it_fail "$CASE: jobs left on $x"
		[ -z "$(ls -A "$(it_host_dir "$x")/state" 2>/dev/null)" ] ||
			it_fail "$CASE: journals left on $x: $(ls "$(it_host_dir "$x")/state")"
	done
}

# settle: recover B, A, B, A; each must exit 0. rec.H has the last
# output on H, rec.all.H all of this case's.
settle() {
	local h rrc
	rm -f "$IT_DIR"/rec.all.*
	for h in B A B A; do
		rrc=0
		it_on "$h" xlmig recover -s "$IT_SSH" >"$IT_DIR/rec.$h" 2>&1 || rrc=$?
		cat "$IT_DIR/rec.$h" >>"$IT_DIR/rec.all.$h"
		it_log "$CASE: recover on $h: exit $rrc: $(tr '\n' ' ' <"$IT_DIR/rec.$h")"
		[ "$rrc" -eq 0 ] || it_fail "$CASE: recover on $h exited $rrc: $(cat "$IT_DIR/rec.$h")"
	done
}

# one_copy VM C0 [HOST]: VM runs on exactly one host (HOST if given), its
# counter past C0; prints the host.
one_copy() {
	local h c
	h=$(sim_where "$1")
	[ -n "$h" ] || it_fail "$CASE: $1 runs nowhere"
	[ -z "${3:-}" ] || [ "$h" = "$3" ] || it_fail "$CASE: $1 runs on $h, not $3"
	sim_expect_only "$h" "$1"
	c=$(sim_info "$h" "$1" counter)
	[ "$c" -gt "$2" ] || it_fail "$CASE: counter of $1 went from $2 to $c"
	echo "$h"
}

new_vm() {    # new_vm: a fresh guest on A; sets VM and C0
	n=$((n + 1))
	VM=vm$n
	it_on A xlmig sim-create --memory 64 --rate 1000 "$VM" >/dev/null
	C0=$(sim_wait_counter A "$VM" 3 10)
}

finish() {    # finish: destroy VM wherever it runs
	local h
	h=$(sim_where "$VM")
	[ -z "$h" ] || it_on "$h" xlmig destroy "$VM"
}

# wait_mark FILE: the fault point (":wait") has been reached.
wait_mark() {
	it_wait_until 20 "the fault point in $1" grep -q 'waiting for' "$1"
}

# pid_of HOST REGEX: the one process on HOST whose command line matches.
pid_of() {
	local p
	for p in $(ip netns pids "$(it_ns "$1")"); do
		if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -Eq -- "$2"; then
			echo "$p"
			return 0
		fi
	done
	for p in $(ip netns pids "$(it_ns "$1")"); do
		it_log "  on $1: $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done
	it_log "  output so far: $(tr '\n' '|' <"$IT_DIR/m.out")"
	it_fail "no process on $1 matches '$2'"
}

# --- 1. kill points --------------------------------------------------------------
for fault in send:preflight send:journaled recv:preflight recv:ready \
	recv:renamed recv:done; do
	CASE=$fault
	new_vm
	rc=0
	case $fault in
	send:*) XLMIG_FAULT=$fault it_on A xlmig migrate -s "$IT_SSH" "$VM" "$B_IP" \
		>"$IT_DIR/m.out" 2>&1 || rc=$? ;;
	recv:*) it_on A xlmig migrate -s "$IT_SSH -o SetEnv=XLMIG_FAULT=$fault" \
		"$VM" "$B_IP" >"$IT_DIR/m.out" 2>&1 || rc=$? ;;
	esac
	it_log "$CASE: migrate exit $rc: $(tail -n 1 "$IT_DIR/m.out")"
	sleep 1
	settle
	grep -q 'no interrupted migration' "$IT_DIR/rec.A" ||
		it_fail "$CASE: a second recover on A still found work"
	h=$(one_copy "$VM" "$C0")
	clean
	it_log "$CASE: $VM runs on $h only"
	finish
done

# --- 2. the guest stops on B before anyone recovers -------------------------------
for how in poweroff reboot crash; do
	CASE=stopped-$how
	new_vm
	rc=0
	XLMIG_FAULT=send:go it_on A xlmig migrate -s "$IT_SSH" "$VM" "$B_IP" \
		>"$IT_DIR/m.out" 2>&1 || rc=$?
	it_wait_until 20 "$VM to run on B" eval '[ "$(sim_info B "$VM" state)" = running ]'
	it_on B xlmig sim-shutdown "$VM" "$how"
	if [ "$how" = reboot ]; then
		# B's monitor restarts it (its policy allows the config).
		it_wait_until 20 "$VM to boot again on B" eval '[ "$(sim_info B "$VM" boots)" = 2 ]'
	else
		it_wait_until 20 "$VM to be gone from B" eval '! sim_names B | grep -qx "$VM"'
	fi
	settle
	# A asked B, which answered from its kept journal, not its domains.
	grep -q "$VM was handed over to $B_IP (taken there)" "$IT_DIR/rec.all.A" ||
		it_fail "$CASE: A did not learn from B's journal: $(cat "$IT_DIR/rec.all.A")"
	h=$(sim_where "$VM")
	if [ "$how" = reboot ]; then
		[ "$h" = B ] || it_fail "$CASE: $VM runs on '${h:-nowhere}', not B"
		sim_expect_only B "$VM"
	else
		[ -z "$h" ] || it_fail "$CASE: $VM was stopped on B but runs on $h"
	fi
	clean
	it_log "$CASE: ${h:-no host} has $VM"
	finish
done

# A reboot on B goes through B's policy again (its monitor checks the
# config before it creates the domain anew): refused, it stays down.
CASE=reboot-refused
new_vm
it_on A xlmig migrate -s "$IT_SSH" "$VM" "$B_IP" >"$IT_DIR/m.out" 2>&1 ||
	it_fail "$CASE: migrate: $(tail -n 3 "$IT_DIR/m.out")"
printf 'incoming_max_memory_mb = 32\n' >"$(it_host_dir B)/xlmig.conf"
it_on B xlmig sim-shutdown "$VM" reboot
it_wait_until 20 "$VM to be gone from B" eval '! sim_names B | grep -qx "$VM"'
grep -q "refused by this host's incoming policy: b_info.max_memkb" \
	"$(it_host_dir B)/log/xlmig-$VM.log" ||
	it_fail "$CASE: the monitor's log does not say why: $(tail -n 3 "$(it_host_dir B)/log/xlmig-$VM.log")"
[ -z "$(sim_where "$VM")" ] || it_fail "$CASE: $VM runs on $(sim_where "$VM")"
rm "$(it_host_dir B)/xlmig.conf"
clean

# --- 3. the journal's disk full or read-only -----------------------------------------
# The sender runs in a mount namespace of its own whose state directory
# is a small tmpfs; at the fault point it is filled (or made read-only).
mkdir -p "$IT_DIR/wrap"
cat >"$IT_DIR/wrap/xlmig" <<'EOF'
#!/bin/sh
# A receiver whose state directory is a small tmpfs of its own.
exec unshare --mount sh -c 'mount -t tmpfs -o size=64k,mode=0700 xlmig-it "$XLMIG_STATE_DIR" && exec xlmig "$@"' sh "$@"
EOF
chmod +x "$IT_DIR/wrap/xlmig"

# spoil HOST PID HOW: fill or remount read-only PID's state directory.
spoil() {
	local st
	st=$(it_host_dir "$1")/state
	case $3 in
	full) nsenter --mount="/proc/$2/ns/mnt" sh -c 'dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null; true' sh "$st" ;;
	ro) nsenter --mount="/proc/$2/ns/mnt" mount -o remount,ro "$st" ;;
	esac
}

for spec in send:connect:full send:transfer:full send:switchover:full \
	send:switchover:ro send:journaled:full recv:preflight:full \
	recv:transfer:ro recv:ready:full; do
	CASE=journal-$spec
	role=${spec%%:*}
	rest=${spec#*:}
	point=${rest%%:*}
	how=${rest#*:}
	new_vm
	# No stale output: wait_mark must see this case's fault point.
	rm -f "$RESUME" "$IT_DIR/m.out"
	if [ "$role" = send ]; then
		it_on A env XLMIG_FAULT="$role:$point:wait" XLMIG_FAULT_RESUME="$RESUME" \
			unshare --mount sh -c 'mount -t tmpfs -o size=64k,mode=0700 xlmig-it "$XLMIG_STATE_DIR" && exec xlmig migrate -s "$1" "$2" "$3"' \
			sh "$IT_SSH" "$VM" "$B_IP" >"$IT_DIR/m.out" 2>&1 &
		m=$!
		wait_mark "$IT_DIR/m.out"
		spoil A "$(pid_of A 'xlmig migrate -s')" "$how"
	else
		it_on A xlmig migrate --receiver "$IT_DIR/wrap/xlmig" \
			-s "$IT_SSH -o 'SetEnv=XLMIG_FAULT=$role:$point:wait XLMIG_FAULT_RESUME=$RESUME'" \
			"$VM" "$B_IP" >"$IT_DIR/m.out" 2>&1 &
		m=$!
		wait_mark "$IT_DIR/m.out"
		spoil B "$(pid_of B 'xlmig migrate-receive')" "$how"
	fi
	touch "$RESUME"
	rc=0
	wait "$m" || rc=$?
	it_log "$CASE: migrate exit $rc: $(tail -n 2 "$IT_DIR/m.out" | tr '\n' ' ')"
	if [ "$spec" = send:journaled:full ]; then
		# The GO journal is down: past the point of no return, it goes on.
		[ "$rc" -eq 0 ] || it_fail "$CASE: exit $rc, not 0: $(tail -n 3 "$IT_DIR/m.out")"
		one_copy "$VM" "$C0" B >/dev/null
	else
		[ "$rc" -eq 1 ] || it_fail "$CASE: exit $rc, not 1: $(tail -n 3 "$IT_DIR/m.out")"
		grep -q 'journal' "$IT_DIR/m.out" ||
			it_fail "$CASE: no word of the journal: $(tail -n 5 "$IT_DIR/m.out")"
		it_wait_until 10 "B to be empty" eval '[ -z "$(sim_names B)" ]'
		one_copy "$VM" "$C0" A >/dev/null
	fi
	clean
	finish
done

# --- 4. refusals from the receiver before GO ------------------------------------------
# refused WHAT [MIGRATE OPTION...]: the migration of a new VM fails with
# exit 1 naming WHAT; the guest stays on A; nothing is left.
refused() {
	local what=$1 rc=0
	shift
	new_vm
	it_on A xlmig migrate -s "$IT_SSH" "$@" "$VM" "$B_IP" >"$IT_DIR/m.out" 2>&1 || rc=$?
	it_log "$CASE: migrate exit $rc: $(tail -n 1 "$IT_DIR/m.out")"
	[ "$rc" -eq 1 ] || it_fail "$CASE: exit $rc, not 1: $(tail -n 3 "$IT_DIR/m.out")"
	grep -q -- "$what" "$IT_DIR/m.out" || it_fail "$CASE: '$what' not said: $(cat "$IT_DIR/m.out")"
	it_wait_until 10 "B to be empty" eval '[ -z "$(sim_names B)" ]'
	one_copy "$VM" "$C0" A >/dev/null
	clean
	finish
}
CASE=refused-conf
printf 'incoming_disk_paths = [ "/srv\n' >"$(it_host_dir B)/xlmig.conf"
refused "incoming policy cannot be read"
CASE=refused-policy
printf 'incoming_max_memory_mb = 32\n' >"$(it_host_dir B)/xlmig.conf"
# B's log of refusals: a check is no refusal, a migration stopped is.
reflog=$(it_host_dir B)/log/xlmig-incoming.log
before=$(cat "$reflog" 2>/dev/null | wc -l)
new_vm
rc=0
it_on A xlmig check -s "$IT_SSH" "$VM" "$B_IP" >"$IT_DIR/c.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q 'incoming-policy' "$IT_DIR/c.out" ||
	it_fail "$CASE: check: exit $rc: $(cat "$IT_DIR/c.out")"
[ "$(cat "$reflog" 2>/dev/null | wc -l)" = "$before" ] ||
	it_fail "$CASE: xlmig check was logged as a refusal: $(tail -n 1 "$reflog")"
finish
refused "incoming-policy"
grep -q "refused vm[0-9]* from 192.0.2.1 (job -): incoming policy: b_info.max_memkb" "$reflog" ||
	it_fail "$CASE: B did not log the refusal: $(cat "$reflog" 2>/dev/null)"
CASE=refused-policy-forced
refused "only the destination's admin can waive" --force=incoming-policy
rm "$(it_host_dir B)/xlmig.conf"
CASE=refused-maintenance
it_on B xlmig maintenance on "test 97" >/dev/null
refused "maintenance" --force=maintenance
it_on B xlmig maintenance off >/dev/null
CASE=refused-no-slot
it_on B xlmig set-limit in 0
refused "admission slot" --timeout 4
# A receiver queued for a slot notices its sender going away at once
# (not at its timeout): the sender and its ssh die, as with its host.
CASE=queued-peer-gone
new_vm
it_on A xlmig migrate -s "$IT_SSH" --timeout 60 "$VM" "$B_IP" >"$IT_DIR/m.out" 2>&1 &
m=$!
it_wait_until 20 "B's job to queue" eval '[ "$(sim_jobs B)" = 1 ]'
sim_kill A KILL 'xlmig migrate -s|^ssh -F'
wait "$m" || true
it_wait_until 10 "B's receiver to notice" eval '[ "$(sim_jobs B)" = 0 ]'
it_wait_until 10 "B's receiver to end" eval '! ip netns pids "$(it_ns B)" | xargs -r -I{} cat /proc/{}/cmdline 2>/dev/null | tr "\0" " " | grep -q migrate-receive'
settle
one_copy "$VM" "$C0" A >/dev/null
clean
finish
it_on B xlmig set-limit in 2
CASE=refused-stock-sender
printf 'incoming_require_xlmig = 1\n' >"$(it_host_dir B)/xlmig.conf"
new_vm
rc=0
it_on A xlmig migrate -s '' "$VM" "$IT_SSH $B_IP xlmig migrate-receive" \
	>"$IT_DIR/m.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q 'only from xlmig senders' "$IT_DIR/m.out" ||
	it_fail "$CASE: exit $rc: $(tail -n 3 "$IT_DIR/m.out")"
one_copy "$VM" "$C0" A >/dev/null
clean
finish
CASE=refused-clear-data
printf 'incoming_require_encrypt = 1\n' >"$(it_host_dir B)/xlmig.conf"
refused "only encrypted" --data tcp --no-encrypt
new_vm
it_on A xlmig migrate -s "$IT_SSH" --data tcp --encrypt "$VM" "$B_IP" >"$IT_DIR/m.out" 2>&1 ||
	it_fail "$CASE: --data tcp --encrypt: $(tail -n 3 "$IT_DIR/m.out")"
one_copy "$VM" "$C0" B >/dev/null
clean
finish
rm "$(it_host_dir B)/xlmig.conf"
# A cancel on B between its "ready" and GO: B hands the domain back
# (RESULT not ok, xl's report, GO back); A resumes it.
CASE=refused-after-ready
new_vm
rm -f "$IT_DIR/m.out"
it_on A xlmig migrate -s "$IT_SSH -o SetEnv=XLMIG_FAULT=recv:ready:hold" "$VM" "$B_IP" \
	>"$IT_DIR/m.out" 2>&1 &
m=$!
it_wait_until 20 "B's job in transfer" eval '[ "$(it_on B xlmig jobs --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"jobs\"]))")" = 1 ]'
it_wait_until 20 "B's hold" grep -q 'holding until cancelled' "$IT_DIR/m.out"
id=$(it_on B xlmig jobs --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["jobs"][0]["id"])')
it_on B xlmig job-cancel "$id"
rc=0
wait "$m" || rc=$?
it_log "$CASE: migrate exit $rc: $(tail -n 2 "$IT_DIR/m.out" | tr '\n' ' ')"
[ "$rc" -eq 1 ] || it_fail "$CASE: exit $rc, not 1: $(tail -n 3 "$IT_DIR/m.out")"
it_wait_until 10 "B to be empty" eval '[ -z "$(sim_names B)" ]'
one_copy "$VM" "$C0" A >/dev/null
clean
finish

# --- 5. signals and cancels around the point of no return ---------------------------------
CASE=sigint-before
new_vm
rm -f "$IT_DIR/m.out"
XLMIG_FAULT=send:transfer:hold it_on A xlmig migrate -s "$IT_SSH" "$VM" "$B_IP" \
	>"$IT_DIR/m.out" 2>&1 &
m=$!
it_wait_until 20 "the hold" grep -q 'holding until cancelled' "$IT_DIR/m.out"
sim_kill A INT 'xlmig migrate -s'
rc=0
wait "$m" || rc=$?
[ "$rc" -eq 1 ] || it_fail "$CASE: exit $rc, not 1: $(tail -n 3 "$IT_DIR/m.out")"
grep -qi 'cancel' "$IT_DIR/m.out" || it_fail "$CASE: no word of the cancel"
one_copy "$VM" "$C0" A >/dev/null
clean
finish

CASE=sigterm-after
new_vm
rm -f "$RESUME" "$IT_DIR/m.out"
XLMIG_FAULT=send:journaled:wait XLMIG_FAULT_RESUME=$RESUME \
	it_on A xlmig migrate -s "$IT_SSH" "$VM" "$B_IP" >"$IT_DIR/m.out" 2>&1 &
m=$!
wait_mark "$IT_DIR/m.out"
id=$(it_on A xlmig jobs --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["jobs"][0]["id"])')
rc=0
it_on A xlmig job-cancel "$id" >"$IT_DIR/c.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q 'point of no return' "$IT_DIR/c.out" ||
	it_fail "$CASE: job-cancel after the point of no return: exit $rc: $(cat "$IT_DIR/c.out")"
sim_kill A TERM 'xlmig migrate -s'
it_wait_until 10 "the refusal" grep -q 'not cancelling: past the point of no return' "$IT_DIR/m.out"
touch "$RESUME"
rc=0
wait "$m" || rc=$?
[ "$rc" -eq 0 ] || it_fail "$CASE: exit $rc, not 0: $(tail -n 3 "$IT_DIR/m.out")"
one_copy "$VM" "$C0" B >/dev/null
clean
finish

CASE=sigterm-receiver-after-go
new_vm
rm -f "$RESUME" "$IT_DIR/m.out"
it_on A xlmig migrate -s "$IT_SSH -o 'SetEnv=XLMIG_FAULT=recv:renamed:wait XLMIG_FAULT_RESUME=$RESUME'" \
	"$VM" "$B_IP" >"$IT_DIR/m.out" 2>&1 &
m=$!
wait_mark "$IT_DIR/m.out"
sim_kill B TERM 'xlmig migrate-receive'
it_wait_until 10 "the receiver's refusal" grep -q 'migrate-receive: not cancelling' "$IT_DIR/m.out"
touch "$RESUME"
rc=0
wait "$m" || rc=$?
[ "$rc" -eq 0 ] || it_fail "$CASE: exit $rc, not 0: $(tail -n 3 "$IT_DIR/m.out")"
one_copy "$VM" "$C0" B >/dev/null
clean
finish

# --- 6. hostile journals --------------------------------------------------------------
# A journal that names a domain "x;touch PWNED" with GO, and one whose
# peer would be an ssh option: recover asks by uuid only, and refuses a
# peer that is not a host name.
CASE=hostile-journal
new_vm
uuid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["c_info"]["uuid"])' \
	"$(it_sim_dir A)/dom/$(sim_info A "$VM" domid)/config.json")
mkdir -p "$(it_host_dir A)/state"
now=$(date +%s)
for j in "x;touch $IT_DIR/pwned:$B_IP" "$VM:-oProxyCommand=sh"; do
	name=${j%%:*}
	peer=${j#*:}
	python3 - "$(it_host_dir A)/state" "$name" "$uuid" "$peer" "$now" <<'PY'
import json, sys, os
d, name, uuid, peer, now = sys.argv[1:]
jid = "deadbeef-%d" % (len(os.listdir(d)) + 1)
json.dump({"version": 1, "id": jid, "role": "send", "kind": "migrate",
           "phase": "switchover", "name": name, "uuid": uuid, "peer": peer,
           "error": "", "domid": 1, "go": True, "suspended": False,
           "paused": False, "started": float(now), "updated": float(now)},
          open(os.path.join(d, jid + ".json"), "w"))
PY
done
rc=0
it_on A xlmig recover -s "$IT_SSH" >"$IT_DIR/rec.h" 2>&1 || rc=$?
it_log "$CASE: recover exit $rc: $(tr '\n' ' ' <"$IT_DIR/rec.h")"
[ ! -e "$IT_DIR/pwned" ] || it_fail "$CASE: a journal's name ran a command"
grep -q "peer '-oProxyCommand=sh' or uuid .* is not one recover can ask" "$IT_DIR/rec.h" ||
	it_fail "$CASE: the hostile peer was not refused: $(cat "$IT_DIR/rec.h")"
rm -f "$(it_host_dir A)"/state/deadbeef-*.json
one_copy "$VM" "$C0" A >/dev/null
clean
finish

# --- 7. a fresh host ----------------------------------------------------------------------
# The state directory and its parents do not exist: the journal is made
# all the same (the sender dies after GO; recover finds it there).
CASE=fresh-host
new_vm
fresh=$(it_host_dir A)/fresh/var/lib/xlmig
rc=0
XLMIG_FAULT=send:go it_on A env XLMIG_STATE_DIR="$fresh" xlmig migrate -s "$IT_SSH" "$VM" "$B_IP" >"$IT_DIR/m.out" 2>&1 || rc=$?
[ -n "$(ls -A "$fresh" 2>/dev/null)" ] || it_fail "$CASE: no journal in the fresh $fresh"
[ "$(stat -c %a "$fresh")" = 700 ] || it_fail "$CASE: $fresh is not 0700"
sleep 1
it_on B xlmig recover -s "$IT_SSH" >/dev/null 2>&1
it_on A env XLMIG_STATE_DIR="$fresh" xlmig recover -s "$IT_SSH" >"$IT_DIR/rec.A" 2>&1 ||
	it_fail "$CASE: recover on A: $(cat "$IT_DIR/rec.A")"
[ -z "$(ls -A "$fresh")" ] || it_fail "$CASE: journal left in $fresh"
one_copy "$VM" "$C0" B >/dev/null
clean
finish
sim_expect_procs B "sshd xenstored "
