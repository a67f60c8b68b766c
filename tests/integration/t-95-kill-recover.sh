#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-95-kill-recover.sh - the sender, then the receiver, dies by SIGKILL at
# every phase boundary and right after GO (XLMIG_FAULT, a test hook that
# makes the process kill itself there, after its journal is written);
# then `xlmig recover` runs on B and on A (and once more on each, which
# must find nothing to do). Each time: exactly one running copy of the
# domain, on A or B, its guest counting on; no NAME--incoming or
# NAME--migratedaway; no job record, slot, lock or journal left. A stray
# NAME--incoming that no journal explains is reported and left alone; a
# corrupt journal is an error naming the file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-95-kill-recover 300
it_setup 2

# where_is NAME: the host that runs NAME (exactly one must).
where_is() {
	local h
	h=$(sim_where "$1")
	[ -n "$h" ] || it_fail "$1 exists nowhere"
	echo "$h"
}

n=0
for fault in send:connect send:transfer send:switchover send:go send:commit \
	recv:transfer recv:go recv:switchover; do
	n=$((n + 1))
	vm=vm$n
	it_on A xlmig sim-create --memory 64 --rate 1000 "$vm" >/dev/null
	c0=$(sim_wait_counter A "$vm" 3 10)
	rc=0
	case $fault in
	send:*)
		XLMIG_FAULT=$fault it_on A xlmig migrate -s "$IT_SSH" "$vm" \
			"$(it_ip B)" >"$IT_DIR/$vm.out" 2>&1 || rc=$?
		;;
	recv:*)
		# B's sshd accepts XLMIG_FAULT from the client (lib.sh).
		it_on A xlmig migrate -s "$IT_SSH -o SetEnv=XLMIG_FAULT=$fault" \
			"$vm" "$(it_ip B)" >"$IT_DIR/$vm.out" 2>&1 || rc=$?
		;;
	esac
	it_log "$fault: migrate exit $rc: $(tail -n 1 "$IT_DIR/$vm.out")"
	# Let the surviving side notice and finish what it does on its own.
	sleep 1
	if [ "$fault" = recv:go ]; then
		# The sender lost its receiver after GO: its journal stays, with
		# the phase and the error, for recover.
		j=$(cat "$(it_host_dir A)"/state/*.json 2>/dev/null)
		python3 -c 'import json, sys
j = json.loads(sys.argv[1])
assert j["role"] == "send" and j["go"] is True, j
assert j["error"].startswith(("switchover:", "commit:")), j["error"]' "$j" ||
			it_fail "recv:go: the sender's journal is not as expected: $j"
	fi
	for h in B A B A; do
		rrc=0
		it_on "$h" xlmig recover -s "$IT_SSH" >"$IT_DIR/$vm.rec.$h" 2>&1 || rrc=$?
		it_log "$fault: recover on $h: exit $rrc: $(tr '\n' ' ' <"$IT_DIR/$vm.rec.$h")"
		[ "$rrc" -eq 0 ] || it_fail "$fault: recover on $h exited $rrc: $(cat "$IT_DIR/$vm.rec.$h")"
	done
	grep -q 'no interrupted migration' "$IT_DIR/$vm.rec.A" ||
		it_fail "$fault: a second recover on A still found work"
	h=$(where_is "$vm")
	sim_expect_only "$h" "$vm"
	c1=$(sim_info "$h" "$vm" counter)
	[ "$c1" -gt "$c0" ] || it_fail "$fault: counter of $vm went from $c0 to $c1"
	for x in A B; do
		[ "$(sim_jobs "$x")" = 0 ] || it_fail "$fault: jobs left on $x"
		[ -z "$(ls -A "$(it_host_dir "$x")/state" 2>/dev/null)" ] ||
			it_fail "$fault: journals left on $x: $(ls "$(it_host_dir "$x")/state")"
	done
	it_log "$fault: $vm runs on $h only (counter $c0 -> $c1)"
	it_on "$h" xlmig destroy "$vm"
done
sim_expect_procs B "sshd xenstored "

# A leftover that no journal explains (say, of an xl migration) is named
# and left alone.
it_on B xlmig sim-create --memory 16 stray--incoming >/dev/null
it_on B xlmig recover -s "$IT_SSH" >"$IT_DIR/stray.rec" 2>&1 ||
	it_fail "recover with a stray domain failed: $(cat "$IT_DIR/stray.rec")"
grep -q 'stray--incoming.*no journal explains it' "$IT_DIR/stray.rec" ||
	it_fail "recover does not name the stray domain: $(cat "$IT_DIR/stray.rec")"
sim_expect_running B stray--incoming
it_on B xlmig destroy stray--incoming

# A corrupt journal: a one-line error naming the file, exit 1, no crash,
# and the file is left for inspection.
mkdir -p "$(it_host_dir B)/state"
printf '{"version": 1, "id": "x' >"$(it_host_dir B)/state/deadbeef-1.json"
rc=0
it_on B xlmig recover -s "$IT_SSH" >"$IT_DIR/bad.rec" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || it_fail "recover with a corrupt journal: exit $rc, not 1"
grep -q 'deadbeef-1.json: unreadable journal' "$IT_DIR/bad.rec" ||
	it_fail "recover does not name the corrupt journal: $(cat "$IT_DIR/bad.rec")"
[ -f "$(it_host_dir B)/state/deadbeef-1.json" ] || it_fail "the corrupt journal was removed"
rm "$(it_host_dir B)/state/deadbeef-1.json"
