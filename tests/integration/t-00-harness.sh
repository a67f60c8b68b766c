#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-00-harness.sh - self-test of the integration scaffolding (lib.sh)
# without the sim backend: three hosts reach each other (ping, ssh with
# keys only), ssh sessions get the remote host's environment, a stopped
# sshd is refused at once, and teardown leaves nothing behind, even a
# process that ignores SIGTERM.
# shellcheck source-path=SCRIPTDIR disable=SC2034 # IT_SIM is lib.sh's
IT_SIM=0
. "$(dirname "$0")/lib.sh"

# expect_remote_env FROM TO: an ssh session from FROM to TO sees TO's
# sim host, the sim backend, and PATH with the build tree's tools first,
# so that `xlmig migrate-receive` on the wire runs this build.
expect_remote_env() {
	local out want
	# shellcheck disable=SC2016 # expanded remotely
	out=$(it_on "$1" ssh -F "$IT_SSHCFG" "$(it_ip "$2")" \
		'echo "$XLMIG_BACKEND|$XLMIG_SIM_HOST|${PATH%%:*}|$(command -v xlmig)"') ||
		it_fail "ssh $1 -> $2 failed"
	want="sim|$(it_sim_dir "$2")|$IT_BUILDDIR/tools|$IT_BUILDDIR/tools/xlmig"
	[ "$out" = "$want" ] || it_fail "ssh $1 -> $2: session sees '$out', expected '$want'"
	it_log "ssh $1 -> $2: $out"
}

# runs_sleep HOST: a sleep runs in HOST's namespace.
runs_sleep() {
	local p
	for p in $(ip netns pids "$(it_ns "$1")"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" != sleep ] || return 0
	done
	return 1
}

it_begin harness 60
it_setup 3

# Locally too, each host has its own namespace and environment.
for h in A B C; do
	# shellcheck disable=SC2016 # expanded by that sh
	out=$(it_on "$h" sh -c 'echo "$XLMIG_SIM_HOST"; ip -4 -o addr show dev eth0')
	case $out in
	"$(it_sim_dir "$h")"*" inet $(it_ip "$h")/24 "*) ;;
	*) it_fail "it_on $h: unexpected environment or address: $out" ;;
	esac
done

it_on A ping -q -c 1 -W 5 "$(it_ip B)" >/dev/null || it_fail "ping A -> B failed"
it_on A ping -q -c 1 -W 5 "$(it_ip C)" >/dev/null || it_fail "ping A -> C failed"
it_on C ping -q -c 1 -W 5 "$(it_ip B)" >/dev/null || it_fail "ping C -> B failed"

expect_remote_env A B
expect_remote_env A C
expect_remote_env B A

# Only the generated root key is accepted: not another key, no password.
ssh-keygen -q -t ed25519 -N '' -f "$IT_DIR/stranger"
if it_on A ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
	-o UserKnownHostsFile="$IT_DIR/known_hosts" -o StrictHostKeyChecking=yes \
	-i "$IT_DIR/stranger" "root@$(it_ip B)" true 2>/dev/null; then
	it_fail "B accepted a login with a key it does not know"
fi

# A host whose sshd is down refuses the connection at once.
it_sshd_stop C
t0=${EPOCHREALTIME/./}
rc=0
err=$(it_on A ssh -F "$IT_SSHCFG" "$(it_ip C)" true 2>&1) || rc=$?
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
[ "$rc" -eq 255 ] || it_fail "ssh to C with sshd stopped: status $rc, expected 255 ($err)"
case $err in
*"Connection refused"*) ;;
*) it_fail "ssh to C with sshd stopped: no 'Connection refused' in: $err" ;;
esac
[ "$ms" -lt 3000 ] || it_fail "ssh to C with sshd stopped took $ms ms, not refused at once"
it_log "ssh to C with sshd stopped: refused in $ms ms: $err"
it_sshd_start C
expect_remote_env B C

# Leftovers for teardown: a process that ignores SIGTERM, and a
# background ssh session whose remote command outlives nothing.
it_on B sh -c 'trap "" TERM; exec sleep 300' 2>/dev/null &
stubborn=$!
it_on A ssh -F "$IT_SSHCFG" "$(it_ip C)" 'exec sleep 300' 2>/dev/null &
session=$!
it_wait_until 10 "the leftover sleep on B" runs_sleep B
it_wait_until 10 "the leftover sleep on C" runs_sleep C

it_teardown || it_fail "teardown: $_it_teardown_err"
it_check_clean || it_fail "left behind after teardown: $_it_leftovers"
it_teardown || it_fail "second teardown: $_it_teardown_err"
wait "$stubborn" "$session" 2>/dev/null || true
