#!/bin/bash
# run-lab.sh - entry point of the xlmig real-Xen lab tests (make check-lab).
#
# Usage: run-lab.sh [--logdir DIR] [--keep] [TEST...]
#   TEST       t-NN-name, t-NN-name.sh or a path; default: every t-*.sh in
#              this directory, in name order
#   --logdir   where the logs of a failed run go (XLMIG_LAB_LOGDIR,
#              default ./lab-logs)
#   --keep     keep the run directory (XLMIG_LAB_KEEP=1)
# Environment: XLMIG_LAB_CACHE, XLMIG_LAB_KEEP, XLMIG_LAB_LOGDIR,
# LAB_DEBS (xlmig's .debs, make deb, installed into both dom0s with dpkg -i),
# LAB_INSTALL_TREE (instead: a make install DESTDIR tree copied into both),
# LAB_TEST_TIMEOUT (per test, default 900 s; a test's own "# lab-timeout: N"
# line wins); see lab.sh for the rest.
#
# Steps: mkimages.sh (cache), lab_up (boot host A and B), the tests,
# lab_down, a summary.  Exit status 0 only if every test passed.
#
# Test script conventions (t-*.sh, written against lab.sh):
#  - Each test runs in its own bash process with `set -eEuo pipefail` and
#    `shopt -s inherit_errexit`, lab.sh sourced, LAB_RUN_DIR exported and
#    the cwd this directory.
#  - Before each test run-lab.sh calls lab_reset: both dom0s are up, no
#    guest domain exists on either host, no job of an earlier test runs,
#    and old guest console logs are moved away.  A test creates the guests
#    it needs itself (usually `lab_guest_create A lab1`) and may leave
#    anything behind: the next lab_reset clears the domains.
#  - A test passes when it exits 0.  `lab_fail REASON` ends it with that
#    reason; any other failing command ends it too, and its line, text and
#    the last lab.sh error become the reason.
#  - A test prints no PASS:/FAIL: line itself: run-lab.sh prints exactly
#    one per test, `PASS: NAME (Ns)` or `FAIL: NAME: REASON`.
#  - A test has LAB_TEST_TIMEOUT seconds; its output goes to our stdout
#    and to logs/tests/NAME.log of the run.
set -euo pipefail

LAB_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_T0_US=${EPOCHREALTIME/./} # lab_log's time origin, shared with the tests
export LAB_T0_US
# shellcheck source=lab.sh
. "$LAB_TESTS_DIR/lab.sh"

: "${LAB_TEST_TIMEOUT:=900}"
TESTS=()
RESULTS=()
FAILED=0
TEST_PID=
MKIMAGES_PID=

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

parse_args() {
	local a
	while [ $# -gt 0 ]; do
		case $1 in
		--logdir)
			[ $# -ge 2 ] || { echo "run-lab: --logdir needs a directory" >&2 && exit 2; }
			XLMIG_LAB_LOGDIR=$(realpath -m "$2")
			export XLMIG_LAB_LOGDIR
			shift 2
			;;
		--keep)
			export XLMIG_LAB_KEEP=1
			shift
			;;
		-h | --help)
			usage
			exit 0
			;;
		-*)
			echo "run-lab: unknown option $1" >&2
			exit 2
			;;
		*)
			a=$1
			case $a in */*) ;; *) a=$LAB_TESTS_DIR/$a ;; esac
			case $a in *.sh) ;; *) a=$a.sh ;; esac
			[ -f "$a" ] || { echo "run-lab: no test $1 ($a)" >&2 && exit 2; }
			TESTS+=("$(realpath "$a")")
			shift
			;;
		esac
	done
	if [ ${#TESTS[@]} -eq 0 ]; then
		for a in "$LAB_TESTS_DIR"/t-*.sh; do
			[ -e "$a" ] && TESTS+=("$a")
		done
	fi
	[ ${#TESTS[@]} -gt 0 ] || { echo "run-lab: no tests found" >&2 && exit 2; }
}

test_name() {
	local n=${1##*/}
	echo "${n%.sh}"
}

record() {
	RESULTS+=("$1")
	echo "$1"
	case $1 in FAIL:*) FAILED=1 ;; esac
}

# fail_remaining REASON: a FAIL line for each test without a result yet
# (results are recorded in test order).
fail_remaining() {
	local i
	for ((i = ${#RESULTS[@]}; i < ${#TESTS[@]}; i++)); do
		record "FAIL: $(test_name "${TESTS[i]}"): $1"
	done
}

# stop_group PID: end the process group led by PID (a test under
# `timeout`, or mkimages.sh under setsid), whatever is left of it.
# shellcheck disable=SC2317 # reached from the traps
stop_group() {
	[ -n "$1" ] || return 0
	kill -TERM -- "-$1" 2>/dev/null || return 0
	wait "$1" 2>/dev/null || true
	sleep 1
	kill -KILL -- "-$1" 2>/dev/null || true
}

# Runs on any exit: stop the test still running, the QEMUs, and clean up.
# shellcheck disable=SC2317 # reached from the traps
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_group "$MKIMAGES_PID"
	stop_group "$TEST_PID"
	[ "$rc" -eq 0 ] || FAILED=1
	lab_down || true
	# A mount a killed test left in the run directory (t-xlmig-97 binds
	# a directory of A's share into B's), before the directory goes.
	findmnt -rn -o TARGET | grep -F "$LAB_RUN_DIR/" | sort -r |
		while read -r m; do umount -l "$m" || true; done || true
	lab_run_cleanup "$FAILED"
	exit "$rc"
}

# shellcheck disable=SC2317 # reached from the traps
interrupted() {
	lab_log "interrupted"
	fail_remaining "interrupted"
	summary
	FAILED=1
	exit 130
}

# test_timeout FILE: its limit in seconds: a "# lab-timeout: N" line of
# its own (a long test says so), else LAB_TEST_TIMEOUT.
test_timeout() {
	local n
	n=$(sed -n 's/^# lab-timeout: \([0-9][0-9]*\)$/\1/p' "$1" | head -n 1)
	echo "${n:-$LAB_TEST_TIMEOUT}"
}

# run_test FILE: one test, in its own bash process under `timeout`.
run_test() {
	local t=$1 name rc=0 t0 secs reason log limit
	name=$(test_name "$t")
	limit=$(test_timeout "$t")
	log=$LAB_RUN_DIR/logs/tests/$name.log
	mkdir -p "${log%/*}"
	rm -f "$LAB_RUN_DIR/test.reason" "$LAB_RUN_DIR/test.lasterror"
	lab_log "=== $name"
	if ! lab_reset >>"$log" 2>&1; then
		record "FAIL: $name: lab_reset failed before the test ($(cat "$LAB_RUN_DIR/test.lasterror" 2>/dev/null))"
		return 0
	fi
	rm -f "$LAB_RUN_DIR/test.lasterror"
	t0=${EPOCHREALTIME/./}
	# shellcheck disable=SC2016 # expanded by the test's bash
	timeout -k 10 "$limit" bash -c '
		set -eEuo pipefail
		shopt -s inherit_errexit
		. "$1"
		LAB_TEST_FILE=$2
		trap '\''_lab_err_trap $?'\'' ERR
		cd "$LAB_DIR"
		. "$2"' run-lab "$LAB_TESTS_DIR/lab.sh" "$t" > >(tee -a "$log") 2>&1 &
	TEST_PID=$!
	wait "$TEST_PID" || rc=$?
	# Whatever the test left running on this machine goes too.
	kill -KILL -- "-$TEST_PID" 2>/dev/null || true
	TEST_PID=
	secs=$(((${EPOCHREALTIME/./} - t0) / 1000000))
	if [ "$rc" -eq 0 ]; then
		record "PASS: $name (${secs}s)"
		return 0
	fi
	reason=$(head -n1 "$LAB_RUN_DIR/test.reason" 2>/dev/null) || reason=
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		reason="timed out after ${limit} s${reason:+ ($reason)}"
	elif [ -z "$reason" ]; then
		reason="exited with status $rc"
		if [ -s "$LAB_RUN_DIR/test.lasterror" ]; then
			reason="$reason: $(cat "$LAB_RUN_DIR/test.lasterror")"
		fi
	fi
	record "FAIL: $name: $reason"
}

summary() {
	local r pass=0 fail=0
	echo "=== lab summary"
	for r in "${RESULTS[@]}"; do
		echo "  $r"
		case $r in PASS:*) pass=$((pass + 1)) ;; *) fail=$((fail + 1)) ;; esac
	done
	echo "=== $pass passed, $fail failed"
}

main() {
	local t rc
	parse_args "$@"
	lab_run_init
	trap cleanup EXIT
	trap interrupted INT TERM
	lab_log "run directory $LAB_RUN_DIR"
	# In its own session, so that an interrupted run can stop all of it.
	setsid "$LAB_TESTS_DIR/mkimages.sh" --env-out "$LAB_RUN_DIR/images.env" &
	MKIMAGES_PID=$!
	rc=0
	wait "$MKIMAGES_PID" || rc=$?
	MKIMAGES_PID=
	if [ "$rc" -ne 0 ]; then
		fail_remaining "image build failed"
		summary
		exit 1
	fi
	if ! lab_up; then
		fail_remaining "lab did not come up ($(cat "$LAB_RUN_DIR/test.lasterror" 2>/dev/null))"
		summary
		exit 1
	fi
	for t in "${TESTS[@]}"; do run_test "$t"; done
	summary
	[ "$FAILED" -eq 0 ]
}

# One compound command: bash reads no further, even if this file is edited
# while it runs.
{
	main "$@"
	exit "$?"
}
