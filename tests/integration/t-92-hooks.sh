#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-92-hooks.sh - hooks on migration events (xlmig-hooks(7)) between two
# sim hosts over ssh, with and without xlmig-hookd: each event's hooks
# run once, with the documented argv, environment and stdin; a vetoing
# pre-migrate (source) or pre-incoming (destination) hook stops the
# migration before anything changes, naming the hook and its reason; a
# hanging hook is killed at its deadline with its children; hookd killed
# and restarted mid-migration runs each post-event exactly once; hookd
# outlives a restart of its xenstored.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-92-hooks 150
it_setup 2

HOOKD=$IT_BUILDDIR/xenstore-hooks/xlmig-hookd
A_IP=$(it_ip A)
B_IP=$(it_ip B)

# hook_install HOST EVENT NAME BODY: an executable hook in HOST's hooks.d.
hook_install() {
	local d
	d=$(it_host_dir "$1")/hooks.d/$2
	mkdir -p "$d"
	printf '#!/bin/bash\n%s\n' "$4" >"$d/$3"
	chmod 755 "$d/$3"
}

# The recording hook: one line per run into HOST/hooks.log, with what it
# was given (argv, environment, whether stdin was the domain's config).
rec_body() {
	cat <<EOF
cfg=\$(cat)
case \$cfg in *'"c_info"'*) stdin=config ;; '') stdin=empty ;; *) stdin=other ;; esac
extra=\$(env | grep -Ev '^(XLMIG_[A-Z]+|PATH|XENSTORED_PATH|PWD|SHLVL|_)=' | tr '\n' ' ')
echo "\$XLMIG_HOOK \$1|\$2|\$3|job=\$XLMIG_JOB|uuid=\$XLMIG_UUID|domid=\$XLMIG_DOMID|peer=\$XLMIG_PEER|role=\$XLMIG_ROLE|result=\$XLMIG_RESULT|seq=\$XLMIG_SEQ|stdin=\$stdin|extra=\$extra" >>"$1/hooks.log"
EOF
}

for ev in pre-migrate post-migrate migrate-failed migrate-cancelled; do
	hook_install A "$ev" 10-rec "$(rec_body "$(it_host_dir A)")"
	hook_install B "$ev" 10-rec "$(rec_body "$(it_host_dir B)")"
done
for ev in pre-incoming incoming-done migrate-failed; do
	hook_install A "$ev" 10-rec "$(rec_body "$(it_host_dir A)")"
	hook_install B "$ev" 10-rec "$(rec_body "$(it_host_dir B)")"
done

# count HOST PATTERN: runs recorded on HOST whose line matches PATTERN.
count() {
	local f
	f=$(it_host_dir "$1")/hooks.log
	if [ -e "$f" ]; then grep -Ec -- "$2" "$f" || true; else echo 0; fi
}
expect_count() {
	local n
	n=$(count "$1" "$2")
	if [ "$n" != "$3" ]; then
		it_log "$1's hooks.log: $(cat "$(it_host_dir "$1")/hooks.log" 2>&1)"
		it_fail "$1: $n hook runs match '$2', expected $3 ($4)"
	fi
}
reset_logs() { rm -f "$(it_host_dir A)/hooks.log" "$(it_host_dir B)/hooks.log"; }

hookd_start() {
	IT_CMD_TIMEOUT=300 it_on "$1" "$HOOKD" </dev/null >/dev/null 2>&1 &
	it_wait_until 10 "hookd on $1 registered" hookd_up "$1"
}
hookd_up() {
	it_on "$1" xlmig events 2>/dev/null | grep -q '^xlmig-hookd runs'
}
hookd_stop() { sim_kill "$1" "${2:-TERM}" '^[^ ]*xlmig-hookd( |$)'; }
hookd_down() { ! hookd_up "$1"; }
it_on_teardown "pkill -KILL -f '^$HOOKD' || true"

# events_done HOST: every event HOST recorded is decided.
events_done() {
	it_on "$1" xlmig events --json | python3 -c '
import json, sys
ev = json.load(sys.stdin)["events"]
sys.exit(0 if ev and all(e["state"] == "done" for e in ev) else 1)'
}

it_on A xlmig sim-create --memory 32 vm1 >/dev/null
it_on A xlmig sim-create --memory 32 vm2 >/dev/null
uuid1=$(it_on A xlmig list --json | python3 -c '
import json, sys
print([d["uuid"] for d in json.load(sys.stdin)["domains"] if d["name"] == "vm1"][0])')
[ -n "$uuid1" ] || it_fail "no uuid for vm1"

# 1. No hookd: the jobs run the hooks themselves.
it_on A xlmig migrate -s "$IT_SSH" vm1 "$B_IP" >"$IT_DIR/m1.out" 2>&1 ||
	it_fail "migrate vm1 A -> B: $(tail -n 3 "$IT_DIR/m1.out")"
sim_expect_only B vm1
expect_count A "^10-rec pre-migrate\|vm1\|source\|job=[0-9a-f]+-[0-9a-f]+\|uuid=$uuid1\|domid=[0-9]+\|peer=$B_IP\|role=source\|result=\|seq=[0-9]+\|stdin=config\|extra=$" 1 "pre-migrate"
expect_count A "^10-rec post-migrate\|vm1\|source\|.*\|role=source\|result=ok\|.*stdin=config" 1 "post-migrate"
expect_count B "^10-rec pre-incoming\|vm1\|destination\|job=[0-9a-f]+-.*\|domid=\|peer=$A_IP\|role=destination\|result=\|.*stdin=config" 1 "pre-incoming"
expect_count B "^10-rec incoming-done\|vm1\|destination\|.*\|domid=[0-9]+\|.*result=ok\|.*stdin=config" 1 "incoming-done"
expect_count A "migrate-failed|migrate-cancelled" 0 "no failure events"
[ "$(wc -l <"$(it_host_dir A)/hooks.log")" = 2 ] || it_fail "A ran other hooks"
[ "$(wc -l <"$(it_host_dir B)/hooks.log")" = 2 ] || it_fail "B ran other hooks"
events_done A || it_fail "A has undecided events: $(it_on A xlmig events)"
it_on B xlmig events | grep -Eq 'incoming-done +vm1 .*done go' ||
	it_fail "xlmig events on B: $(it_on B xlmig events)"
it_on B xlmig events | grep -Eq 'hook 10-rec: exit 0 in' ||
	it_fail "xlmig events on B shows no run"

# 2. With hookd on both hosts: the same, run by hookd's workers.
reset_logs
hookd_start A
hookd_start B
it_on B xlmig migrate -s "$IT_SSH" vm1 "$A_IP" >"$IT_DIR/m2.out" 2>&1 ||
	it_fail "migrate vm1 B -> A: $(tail -n 3 "$IT_DIR/m2.out")"
sim_expect_only A vm1 vm2
it_wait_until 20 "hookd ran B's post-migrate" test "$(count B '^10-rec post-migrate\|vm1\|source\|.*result=ok')" = 1
it_wait_until 20 "hookd ran A's incoming-done" test "$(count A '^10-rec incoming-done\|vm1\|destination')" = 1
expect_count B "^10-rec pre-migrate\|vm1\|source\|.*peer=$A_IP\|.*stdin=config\|extra=$" 1 "pre-migrate by hookd"
expect_count A "^10-rec pre-incoming\|vm1\|destination\|.*peer=$B_IP\|" 1 "pre-incoming by hookd"
grep -q 'hook 10-rec exit 0' "$(it_host_dir A)/log/xlmig-hookd.log" ||
	it_fail "hookd's log on A shows no run"

# 3. A vetoing pre-migrate hook: nothing changes, the reason is named.
hook_install A pre-migrate 20-veto 'echo "checking $2"; echo "maintenance window closed" >&2; exit 3'
reset_logs
if it_on A xlmig migrate -s "$IT_SSH" vm2 "$B_IP" >"$IT_DIR/m3.out" 2>&1; then
	it_fail "migrate vm2 went on despite the veto"
fi
grep -q 'pre-migrate/20-veto exit 3' "$IT_DIR/m3.out" ||
	it_fail "the veto does not name the hook: $(tail -n 3 "$IT_DIR/m3.out")"
grep -q 'maintenance window closed' "$IT_DIR/m3.out" ||
	it_fail "the veto does not give the reason: $(tail -n 3 "$IT_DIR/m3.out")"
sim_expect_only A vm1 vm2
sim_expect_no_domains B
[ "$(sim_info A vm2 state)" = running ] || it_fail "vm2 is not running on A"
it_wait_until 20 "A's migrate-failed hook" test "$(count A '^10-rec migrate-failed\|vm2\|source\|.*result=failed')" = 1
expect_count B "vm2" 0 "B heard nothing of vm2"
rm "$(it_host_dir A)/hooks.d/pre-migrate/20-veto"

# 4. A vetoing pre-incoming hook on B (no hookd there: the job decides).
hookd_stop B
it_wait_until 10 "hookd stopped on B" hookd_down B
hook_install B pre-incoming 30-veto 'echo "B is full today"; exit 2'
reset_logs
if it_on A xlmig migrate -s "$IT_SSH" vm2 "$B_IP" >"$IT_DIR/m4.out" 2>&1; then
	it_fail "migrate vm2 went on despite B's veto"
fi
grep -q 'pre-incoming/30-veto exit 2' "$IT_DIR/m4.out" ||
	it_fail "B's veto is not named: $(tail -n 4 "$IT_DIR/m4.out")"
grep -q 'B is full today' "$IT_DIR/m4.out" ||
	it_fail "B's reason is not given: $(tail -n 4 "$IT_DIR/m4.out")"
sim_expect_only A vm1 vm2
sim_expect_no_domains B
expect_count B "^10-rec migrate-failed\|vm2\|destination" 1 "B's migrate-failed"
rm "$(it_host_dir B)/hooks.d/pre-incoming/30-veto"

# 5. A hanging hook, and what it started, are killed at its deadline.
echo "hook_timeout = 2" >"$(it_host_dir A)/xlmig.conf"
hook_install A pre-migrate 20-hang "sleep 1000 --xlmig-it-$IT_ID-child & sleep 1000"
t0=$(date +%s)
if it_on A xlmig migrate -s "$IT_SSH" vm2 "$B_IP" >"$IT_DIR/m5.out" 2>&1; then
	it_fail "migrate vm2 went on despite a hanging hook"
fi
[ $(($(date +%s) - t0)) -lt 20 ] || it_fail "the hanging hook was not cut short"
grep -q 'pre-migrate/20-hang killed at its deadline' "$IT_DIR/m5.out" ||
	it_fail "no deadline named: $(tail -n 3 "$IT_DIR/m5.out")"
if pgrep -f "xlmig-it-$IT_ID-child" >/dev/null; then
	it_fail "the hook's child outlived its deadline"
fi
sim_expect_only A vm1 vm2
rm "$(it_host_dir A)/hooks.d/pre-migrate/20-hang" "$(it_host_dir A)/xlmig.conf"

# 6. hookd killed mid-migration and restarted: each post-event once.
hook_install A post-migrate 20-slow "sleep 2; echo slow \$1 >>$(it_host_dir A)/slow.log"
reset_logs
XLMIG_FAULT=send:transfer:hold XLMIG_FAULT_HOLD_S=4 \
	it_on A xlmig migrate -s "$IT_SSH" vm2 "$B_IP" >"$IT_DIR/m6.out" 2>&1 &
mig=$!
in_transfer_of() {
	it_on A xlmig jobs --json | grep -q '"phase": "transfer"'
}
in_transfer() {
	kill -0 "$mig" 2>/dev/null ||
		it_fail "migrate vm2 ended early: $(tail -n 3 "$IT_DIR/m6.out")"
	it_on A xlmig jobs --json | grep -q '"phase": "transfer"'
}
it_wait_until 20 "vm2's migration under way" in_transfer
hookd_stop A KILL
hookd_start A
wait "$mig" || it_fail "migrate vm2 with hookd restarted: $(tail -n 3 "$IT_DIR/m6.out")"
sim_expect_only B vm2
# The worker runs the slow hook; hookd dies again meanwhile and returns.
hookd_stop A KILL
hookd_start A
it_wait_until 20 "A's post-migrate hooks" test -s "$(it_host_dir A)/slow.log"
it_wait_until 20 "A's events decided" events_done A
expect_count A "^10-rec post-migrate\|vm2" 1 "post-migrate once"
[ "$(grep -c 'slow post-migrate' "$(it_host_dir A)/slow.log")" = 1 ] ||
	it_fail "the slow post-migrate hook ran $(grep -c slow "$(it_host_dir A)/slow.log") times"
expect_count A "^10-rec pre-migrate\|vm2" 1 "pre-migrate once"

# 7. xenstored restarted under hookd: it connects again and goes on.
it_on B xlmig migrate -s "$IT_SSH" vm2 "$A_IP" >/dev/null 2>&1 ||
	it_fail "migrate vm2 back to A"
hookd_start B
sim_kill B KILL '^[^ ]*xenstored'
it_on B xlmig sim-host-create "$(it_sim_dir B)" >/dev/null 2>&1 ||
	it_fail "cannot restart B's xenstored"
it_wait_until 20 "hookd on B back on its xenstored" hookd_up B
grep -q 'lost xenstore' "$(it_host_dir B)/log/xlmig-hookd.log" ||
	it_fail "hookd on B did not notice its xenstored going"
reset_logs
it_on B xlmig sim-create --memory 32 vm3 >/dev/null
it_on B xlmig migrate -s "$IT_SSH" vm3 "$A_IP" >"$IT_DIR/m7.out" 2>&1 ||
	it_fail "migrate vm3 B -> A: $(tail -n 3 "$IT_DIR/m7.out")"
b_ran() {
	[ "$(count B '^10-rec post-migrate\|vm3')" = 1 ] && return 0
	it_log "B: $(it_on B xlmig events 2>&1 | tail -n 4)"
	it_log "B's hookd: $(tail -n 5 "$(it_host_dir B)/log/xlmig-hookd.log")"
	sleep 1
	return 1
}
it_wait_until 20 "B's hookd ran post-migrate" b_ran
grep -q 'event [0-9]* post-migrate of vm3: hook 10-rec exit 0' \
	"$(it_host_dir B)/log/xlmig-hookd.log" || it_fail "not run by B's hookd"

# 8. The other events: job-queued and migrate-cancelled (A, source),
# migrate-unsafe (A: its receiver died after GO), storage-move-begin/end.
hookd_stop A
hookd_stop B
it_wait_until 10 "hookd stopped on A" hookd_down A
it_wait_until 10 "hookd stopped on B" hookd_down B
for ev in job-queued migrate-unsafe storage-move-begin storage-move-end; do
	hook_install A "$ev" 10-rec "$(rec_body "$(it_host_dir A)")"
done
reset_logs
it_on A xlmig set-limit out 0
it_on A xlmig migrate -s "$IT_SSH" vm1 "$B_IP" >"$IT_DIR/m8.out" 2>&1 &
mig=$!
queued_ran() {
	[ "$(count A '^10-rec job-queued\|vm1\|source\|job=[0-9a-f]+-.*role=source\|result=\|')" = 1 ] && return 0
	kill -0 "$mig" 2>/dev/null ||
		it_fail "the queued migration ended: $(tail -n 3 "$IT_DIR/m8.out"); $(it_on A xlmig events | tail -n 3)"
	return 1
}
it_wait_until 20 "A's job-queued hook" queued_ran
job=$(it_on A xlmig jobs --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["jobs"][0]["id"])')
it_on A xlmig job-cancel "$job" >/dev/null || it_fail "job-cancel $job"
if wait "$mig"; then it_fail "the cancelled migration succeeded"; fi
it_on A xlmig set-limit out 2
# Queued, never admitted: no pre-migrate, so no end event either.
expect_count A "^10-rec (pre-migrate|migrate-cancelled)" 0 "cancelled in the queue"
XLMIG_FAULT=send:transfer:hold XLMIG_FAULT_HOLD_S=30 \
	it_on A xlmig migrate -s "$IT_SSH" vm1 "$B_IP" >"$IT_DIR/m9.out" 2>&1 &
mig=$!
pre_ran() {
	[ "$(count A '^10-rec pre-migrate\|vm1')" = 1 ] && return 0
	kill -0 "$mig" 2>/dev/null ||
		it_fail "the held migration ended: $(tail -n 3 "$IT_DIR/m9.out")"
	return 1
}
it_wait_until 20 "vm1's migration under way" pre_ran
it_wait_until 20 "vm1's job in transfer" in_transfer_of vm1
job=$(it_on A xlmig jobs --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["jobs"][0]["id"])')
it_on A xlmig job-cancel "$job" >/dev/null || it_fail "job-cancel $job in transfer"
if wait "$mig"; then it_fail "the cancelled migration succeeded"; fi
expect_count A "^10-rec migrate-cancelled\|vm1\|source\|job=$job\|.*result=cancelled\|" 1 "migrate-cancelled"
sim_expect_only A vm1 vm2
[ "$(sim_info A vm1 state)" = running ] || it_fail "vm1 is not running on A"

reset_logs
it_on A xlmig migrate -s "$IT_SSH -o SetEnv=XLMIG_FAULT=recv:go" vm1 "$B_IP" \
	>"$IT_DIR/m10.out" 2>&1 && it_fail "a migration whose receiver died after GO succeeded"
expect_count A "^10-rec migrate-unsafe\|vm1\|source\|.*result=unsafe\|" 1 "migrate-unsafe"
for h in B A; do
	it_on "$h" xlmig recover -s "$IT_SSH" >"$IT_DIR/rec.$h" 2>&1 ||
		it_fail "recover on $h: $(cat "$IT_DIR/rec.$h")"
done
[ -n "$(sim_where vm1)" ] || it_fail "vm1 is nowhere after recover"

SR=$IT_DIR/sr1
mkdir -p "$SR"
printf 'sr = [ "sr1:dir:%s" ]\n' "$SR" >"$(it_host_dir A)/xlmig.conf"
it_on A xlmig sr-create sr1 dir "$SR" >/dev/null || it_fail "sr-create sr1"
truncate -s 8M "$IT_DIR/d1.img"
python3 -c 'import json, sys, uuid
cfg = {"c_info": {"type": "pvh", "name": "d1", "uuid": str(uuid.uuid4())},
       "b_info": {"max_memkb": 32768, "target_memkb": 32768, "max_vcpus": 1,
                  "type.pvh": {}},
       "disks": [{"pdev_path": sys.argv[2], "vdev": "xvda", "format": "raw",
                  "readwrite": 1}]}
open(sys.argv[1], "w").write(json.dumps(cfg) + "\n")' "$IT_DIR/d1.cfg" "$IT_DIR/d1.img"
reset_logs
it_on A xlmig storage-move --progress=none --config "$IT_DIR/d1.cfg" xvda sr1 \
	>"$IT_DIR/s1.out" 2>&1 || it_fail "storage-move: $(tail -n 3 "$IT_DIR/s1.out")"
expect_count A "^10-rec storage-move-begin\|d1\|local\|.*role=local\|result=\|" 1 "storage-move-begin"
expect_count A "^10-rec storage-move-end\|d1\|local\|.*role=local\|result=ok\|" 1 "storage-move-end"
rm "$(it_host_dir A)/xlmig.conf"
