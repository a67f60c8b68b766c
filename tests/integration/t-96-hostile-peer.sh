#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-96-hostile-peer.sh - the receiver as a trust boundary (issue 12), and
# the sender against a hostile receiver. hostile-peer.py plays the other
# end byte for byte:
#  1. as a sender, to B's real `xlmig migrate-receive` over ssh: a config
#     with each attack on the incoming policy (dom0's disks, files, links
#     and device nodes planted in an allowed directory, a qcow2 backing
#     file, hotplug scripts, bridges, PCI, I/O memory, ports and IRQs, the
#     device model, 9p, serial, boot files, names that are paths or shell,
#     memory, vCPUs, unknown and doubled keys, parser bombs), as a stock xl
#     sender does (no --xlmig) and in xlmig/1 (PREFLIGHT, then PROCEED
#     anyway). Each time B refuses in one line naming the field, logs the
#     refusal, exits 1, and has nothing new: no domain, job, journal, file;
#  2. xlmig/1 out of order: PROCEED first, two PREFLIGHTs, PROCEED forcing
#     B's own errors (policy, maintenance), a stream config other than
#     the one checked, bombs, a 5 MB body, unknown types: each ends B's
#     receiver cleanly (exit 1), nothing changed;
#  3. B still takes a domain from a real sender afterwards, and back;
#  4. as a receiver (B's "xlmig", started by the real sender on A): bombs
#     in HELLO, RESULTS and PROGRESS, terminal escapes in RESULTS, a clean
#     hand-back after GO. The sender exits 1 with one line, the guest runs
#     on A alone, unrenamed and counting, no job or journal is left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-96-hostile-peer 200
it_setup 2

B=$(it_ip B)
HP=$IT_SRCDIR/tests/integration/hostile-peer.py
# The interpreter itself: a wrapper (pyenv's shim) may take longer to
# start than python does.
PY=$(python3 -c 'import sys; print(sys.executable)')
command -v qemu-img >/dev/null || it_fail "qemu-img not found (scripts/install-deps)"
B_DIR=$(it_host_dir B)
B_LOG=$B_DIR/log/xlmig-incoming.log
# Where B takes disks from: hostile things are planted there.
IMG=$IT_DIR/images
mkdir -p "$IMG" "$B_DIR/log" "$B_DIR/state"
printf 'incoming_disk_paths = [ "%s" ]\n' "$IMG" >"$B_DIR/xlmig.conf"
head -c 65536 /dev/zero >"$IMG/ok.img"
ln -s /etc/shadow "$IMG/link.img"
mknod "$IMG/node.img" b 8 0             # dom0's /dev/sda
qemu-img create -q -f qcow2 -F raw -b /etc/shadow "$IMG/evil.qcow2" 1M

# Files an attack would make outside its place: none may appear.
BAIT="/tmp/pwned /etc/cron.d/x /tmp/x /tmp/evil-qemu /tmp/qmp"
bait_before=
for f in $BAIT; do [ ! -e "$f" ] || bait_before="$bait_before $f"; done

# --- helpers ------------------------------------------------------------------

# case_begin NAME: the failure reasons and the log say which case.
case_begin() {
	CASE=$1
	it_log "--- case $CASE"
}

# b_tree: every name in B's directory and the image directory (B's sshd
# and xenstored logs, and its log of refusals, grow: left out).
b_tree() {
	find "$B_DIR" "$IMG" \( -path "$B_DIR/home" -o -name sshd.log -o \
		-path "$B_DIR/sim/xenstored" -o -name xlmig-incoming.log \) -prune -o -print |
		sort
}

log_lines() {
	if [ -f "$B_LOG" ]; then wc -l <"$B_LOG"; else echo 0; fi
}

# njobs HOST: how many jobs HOST lists.
njobs() {
	it_on "$1" xlmig jobs --json |
		"$PY" -S -c 'import json, sys; print(len(json.load(sys.stdin)["jobs"]))'
}

# journals HOST: HOST's journal files.
journals() {
	find "$(it_host_dir "$1")/state" -name '*.json' 2>/dev/null || true
}

# expect_b_untouched: B has no domain, job, journal or new file, runs no
# receiver, and no bait file appeared.
expect_b_untouched() {
	local f tree
	sim_expect_no_domains B
	[ "$(njobs B)" = 0 ] || it_fail "[$CASE] B has a job: $(it_on B xlmig jobs)"
	[ -z "$(journals B)" ] || it_fail "[$CASE] B has journals: $(journals B)"
	tree=$(b_tree)
	[ "$tree" = "$B_TREE" ] ||
		it_fail "[$CASE] new files on B: $(diff <(echo "$B_TREE") <(echo "$tree") | grep '^[<>]' | tr '\n' ' ')"
	for f in $BAIT; do
		case " $bait_before " in *" $f "*) continue ;; esac
		[ ! -e "$f" ] || it_fail "[$CASE] $f appeared"
	done
	sim_expect_procs B "sshd xenstored "
}

# hostile MODE ARG...: hostile-peer.py's sender on A against B's receiver,
# as a stock xl (MODE raw: `xlmig migrate-receive`, xl's protocol only) or
# an xlmig (x1: --xlmig 1). Its report in h.out, the receiver's exit
# status in HRC, its stderr in h.err.
hostile() {
	local mode=$1 offer=() x1=()
	shift
	[ "$mode" = raw ] || { offer=(--xlmig 1 --timeout 10); x1=(--x1); }
	: >"$IT_DIR/h.err"
	# shellcheck disable=SC2086 # IT_SSH is words
	it_on A "$PY" -S "$HP" sender "${x1[@]}" "$@" --err "$IT_DIR/h.err" -- \
		$IT_SSH "$B" xlmig migrate-receive "${offer[@]}" >"$IT_DIR/h.out" ||
		it_fail "[$CASE] hostile sender $mode $*: $(tail -n 3 "$IT_DIR/h.out")"
	HRC=$(sed -n 's/^exit //p' "$IT_DIR/h.out")
	it_log "[$CASE] $mode $*: receiver exit $HRC:" \
		"$(grep -v '^migration target' "$IT_DIR/h.err" | cut -c 1-300 | tr '\n' '|')"
}

# expect_exit1: the receiver ended cleanly, refusing (1: not a signal,
# which ssh reports as 255).
expect_exit1() {
	[ "$HRC" = 1 ] ||
		it_fail "[$CASE] receiver exit ${HRC:-none}, not 1: $(tail -n 3 "$IT_DIR/h.err")"
}

# expect_err TEXT...: the receiver's stderr has each TEXT.
expect_err() {
	local t
	for t in "$@"; do
		grep -qF -- "$t" "$IT_DIR/h.err" ||
			it_fail "[$CASE] receiver's stderr lacks '$t': $(grep -v '^migration target' "$IT_DIR/h.err" | tr '\n' '|')"
	done
}

# expect_logged: B's log of refusals gained a line since the last call.
expect_logged() {
	local n
	n=$(log_lines)
	[ "$n" -gt "$LOG_N" ] || it_fail "[$CASE] nothing added to B's $B_LOG"
	LOG_N=$n
}

# expect_clean: B's stderr and its log of refusals hold no control
# character but newline (a sender's key or name comes escaped: no
# terminal escape reaches a screen, no line is forged in the log).
expect_clean() {
	local f
	for f in "$IT_DIR/h.err" "$B_LOG"; do
		! LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$f" ||
			it_fail "[$CASE] $f has a control character: $(LC_ALL=C grep -n $'[\x01-\x09\x0b-\x1f\x7f]' "$f" | head -n 1 | cat -v)"
	done
	! grep -q '^2026-01-01T00:00:00Z' "$B_LOG" ||
		it_fail "[$CASE] a forged line in $B_LOG"
}

# expect_refused FIELD: one line of B's stderr refuses, naming FIELD (as
# it is: see expect_results_error); the refusal is logged, on one line;
# B is untouched.
expect_refused() {
	expect_exit1
	F="$1" awk 'index($0, ENVIRON["F"]) && /refused/ { ok = 1 } END { exit !ok }' \
		"$IT_DIR/h.err" ||
		it_fail "[$CASE] no refusal naming $1: $(grep -v '^migration target' "$IT_DIR/h.err" | tr '\n' '|')"
	expect_logged
	expect_clean
	expect_b_untouched
}

# expect_results_error ID TEXT: B's RESULTS had an error ID naming TEXT
# (TEXT as it is: through the environment, awk -v would unescape it).
expect_results_error() {
	T="$2" awk -v id="$1" '$1 == "result" && $2 == id && $3 == "error" &&
		index($0, ENVIRON["T"]) { ok = 1 } END { exit !ok }' "$IT_DIR/h.out" ||
		it_fail "[$CASE] no $1 error naming '$2' in the RESULTS: $(grep '^result.* error ' "$IT_DIR/h.out" | tr '\n' '|')"
}

it_on B xlmig list >/dev/null
njobs B >/dev/null
B_TREE=$(b_tree)
LOG_N=$(log_lines)

# --- 1. the incoming policy, raw and in xlmig/1 ---------------------------------
ATTACKS="dom0-sda dom0-xvda shadow dotdot symlink devnode qcow2 script-sh
	script-dotdot bridge pci iomem ioports irqs device-model extra p9s serial
	kernel ramdisk name-path name-shell name-semicolon name-newline memory
	vcpus unknown key-escape dup-key comment-bomb deep"
for a in $ATTACKS; do
	field=$("$PY" -S "$HP" field "$a")
	for mode in raw x1; do
		case_begin "$mode $a"
		hostile "$mode" --attack "$a" --dir "$IMG"
		expect_refused "$field"
		[ "$mode" = x1 ] || continue
		# A config B cannot read at all is refused before any RESULTS.
		case $a in
		name-path | name-shell | name-newline | comment-bomb | deep)
			! grep -q '^result ' "$IT_DIR/h.out" ||
				it_fail "[$CASE] RESULTS for a config B cannot read"
			;;
		*) expect_results_error incoming-policy "$field" ;;
		esac
	done
done

# --- 2. xlmig/1 out of turn -------------------------------------------------------
# seq SEQ [ARG...]: one protocol abuse; the receiver ends cleanly.
seq_run() {
	case_begin "seq $1"
	hostile x1 --seq "$@"
	expect_exit1
}
seq_run proceed-first
expect_err "proceed before any pre-flight request"
expect_b_untouched
seq_run stream-first
expect_err "stream request before any pre-flight request"
expect_b_untouched
seq_run preflight-twice
expect_err "pre-flight request twice"
expect_b_untouched
seq_run unknown-type
expect_err "unknown message type 77"
expect_b_untouched
seq_run comment-bomb
expect_err "comments are not enabled"
expect_b_untouched
seq_run deep
expect_err "nested deeper than"
expect_b_untouched
seq_run big
expect_err "body of 5242880 bytes is over 4194304"
expect_b_untouched
# The same inside a request: the config, refused as in a header.
seq_run config-bomb
expect_err "refused" "comments are not enabled"
expect_logged
expect_b_untouched
seq_run config-deep
expect_err "refused" "nested deeper than 32"
expect_logged
expect_b_untouched
# PROCEED forcing B's own policy: refused, naming what.
seq_run force-policy --attack pci --dir "$IMG"
expect_results_error incoming-policy "pcidevs[0]"
expect_err "refused" "(incoming-policy)" "pcidevs[0]"
expect_logged
expect_b_untouched
# A clean config checked, another in the stream: a hostile one, bombs.
for a in dom0-sda comment-bomb deep; do
	seq_run switch-config --attack "$a" --dir "$IMG"
	! grep -q '^result .* error ' "$IT_DIR/h.out" ||
		it_fail "[$CASE] the checked config had errors: $(grep '^result .* error ' "$IT_DIR/h.out")"
	case $a in
	dom0-sda) expect_err "refused" "not the one checked in pre-flight" ;;
	comment-bomb) expect_err "refused" "comments are not enabled" ;;
	deep) expect_err "refused" "nested deeper than 32" ;;
	esac
	expect_logged
	expect_b_untouched
done
# Maintenance: B's own, whatever the sender forces.
it_on B xlmig maintenance on "hostile peers" >/dev/null
seq_run force-maintenance
expect_results_error maintenance "hostile peers"
expect_err "refused" "(maintenance)"
expect_logged
it_on B xlmig maintenance off >/dev/null
expect_b_untouched

# --- 3. B still serves a real sender, both ways --------------------------------------
case_begin serves
it_on A xlmig sim-create --memory 32 --rate 200 vm1 >/dev/null
sim_wait_counter A vm1 3 10 >/dev/null
it_on A xlmig migrate -s "$IT_SSH" vm1 "$B" >"$IT_DIR/m.out" 2>&1 ||
	it_fail "[$CASE] migrate A -> B: $(tail -n 3 "$IT_DIR/m.out")"
sim_expect_only B vm1
it_on B xlmig migrate -s "$IT_SSH" vm1 "$(it_ip A)" >"$IT_DIR/m.out" 2>&1 ||
	it_fail "[$CASE] migrate B -> A: $(tail -n 3 "$IT_DIR/m.out")"
sim_expect_only A vm1
sim_expect_no_domains B

# --- 4. a hostile receiver ------------------------------------------------------------
# receiver MODE EXPECT...: `xlmig migrate` of vm1 to B, where the fake
# "xlmig" of MODE answers; the sender exits 1 with one line, its output
# has each EXPECT; vm1 runs on A alone, counting, and A has no job.
receiver() {
	local mode=$1 fake=$IT_DIR/fake/$1 rc=0 t
	shift
	case_begin "receiver $mode"
	mkdir -p "$fake"
	printf '#!/bin/sh\nexec %s -S %s receiver %s\n' "$PY" "$HP" "$mode" >"$fake/xlmig"
	chmod +x "$fake/xlmig"
	it_on A xlmig migrate --timeout 10 -s "$IT_SSH" --receiver "$fake/xlmig" vm1 "$B" \
		>"$IT_DIR/r.out" 2>&1 || rc=$?
	it_log "[$CASE] exit $rc: $(tr '\n' '|' <"$IT_DIR/r.out")"
	[ "$rc" = 1 ] || it_fail "[$CASE] sender exit $rc, not 1: $(tail -n 3 "$IT_DIR/r.out")"
	awk '/^xlmig migrate:/ { n++; last = NR; line = $0 } END {
		exit !(n == 1 && last == NR &&
		       index(line, "xlmig migrate: migration of vm1 failed") == 1) }' \
		"$IT_DIR/r.out" ||
		it_fail "[$CASE] not one line of error at the end: $(tail -n 3 "$IT_DIR/r.out")"
	for t in "$@"; do
		grep -qF -- "$t" "$IT_DIR/r.out" || it_fail "[$CASE] no '$t' in: $(tail -n 3 "$IT_DIR/r.out")"
	done
	sim_expect_only A vm1
	[ "$(njobs A)" = 0 ] || it_fail "[$CASE] A has a job: $(it_on A xlmig jobs)"
	[ -z "$(journals A)" ] || it_fail "[$CASE] A has journals: $(journals A)"
	sim_expect_no_domains B
	sim_expect_procs B "sshd xenstored "
}
receiver hello-bomb "hello" "over 65536 bytes" "nothing was changed"
receiver hello-deep "hello" "nested deeper than" "nothing was changed"
receiver results-bomb "results" "comments are not enabled" "still runs on this host"
receiver results-deep "results" "nested deeper than" "still runs on this host"
receiver results-escapes 'memory: \x1b[31mred\x1b[0m \x1b]0;owned\x07' \
	'\xc2\x9b31m csi \x0d\x0aforged: line' 'remedy: \x1b[5mblink' \
	"cannot migrate: pre-flight check failed: memory"
# Not a byte of it raw: ESC, BEL, CR, C1 CSI.
! LC_ALL=C grep -q $'\x1b\|\x07\|\r\|\xc2\x9b' "$IT_DIR/r.out" ||
	it_fail "[$CASE] the sender printed the receiver's control characters raw"
receiver progress-bomb "malformed progress" "still runs on this host"
receiver progress-deep "malformed progress" "nested deeper than" "still runs on this host"
receiver hand-back "receiver failed to start the domain (status 1)" \
	"receiver destroyed its copy and gave vm1 back" "resumed vm1 here" \
	"still runs on this host"

# --- the source's key, restricted -------------------------------------------------------
# With `command="xlmig ssh-serve",restrict` on A's key in B's
# authorized_keys, the key runs migrate-receive and recover --query or
# --release, and nothing else: not a shell, not a command smuggled after
# one, not a full recover. A migration still works through it.
case_begin ssh-serve
ak=$(it_host_dir B)/authorized_keys
cp "$ak" "$IT_DIR/authorized_keys.orig"
sed -i 's/^/command="xlmig ssh-serve",restrict /' "$ak"
for cmd in "touch $IT_DIR/pwned" "xlmig migrate-receive; touch $IT_DIR/pwned" \
	"xlmig recover" "xlmig destroy vm1" "sh -c id" "xlmig recover --query \$(id)" \
	"/tmp/evil migrate-receive"; do
	rc=0
	it_on A $IT_SSH "$(it_ip B)" "$cmd" >"$IT_DIR/s.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && grep -q 'ssh-serve: refused' "$IT_DIR/s.out" ||
		it_fail "[$CASE] '$cmd' was not refused: exit $rc: $(cat "$IT_DIR/s.out")"
done
[ ! -e "$IT_DIR/pwned" ] || it_fail "[$CASE] a refused command ran"
# A path ending in xlmig runs this host's own xlmig, not that path.
rc=0
it_on A $IT_SSH "$(it_ip B)" "$IT_DIR/nowhere/xlmig migrate-receive" \
	</dev/null >"$IT_DIR/s.out" 2>&1 || rc=$?
grep -q 'xl migration receiver ready' "$IT_DIR/s.out" ||
	it_fail "[$CASE] a path ending in xlmig did not run this host's: $(cat "$IT_DIR/s.out")"
out=$(it_on A $IT_SSH "$(it_ip B)" xlmig recover --query 85850000-0000-4000-8000-000000000001)
[ "$out" = absent ] || it_fail "[$CASE] recover --query through ssh-serve: '$out'"
it_on A xlmig migrate -s "$IT_SSH" vm1 "$(it_ip B)" >"$IT_DIR/s.out" 2>&1 ||
	it_fail "[$CASE] a migration through ssh-serve failed: $(tail -n 3 "$IT_DIR/s.out")"
sim_expect_only B vm1
it_on B xlmig migrate -s "$IT_SSH" vm1 "$(it_ip A)" >"$IT_DIR/s.out" 2>&1 ||
	it_fail "[$CASE] back to A failed: $(tail -n 3 "$IT_DIR/s.out")"
cp "$IT_DIR/authorized_keys.orig" "$ak"

# --- the end --------------------------------------------------------------------------
case_begin end
it_on A xlmig destroy vm1 >/dev/null
it_log "$(log_lines) refusals in B's log"
