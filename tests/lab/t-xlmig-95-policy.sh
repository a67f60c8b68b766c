# shellcheck shell=bash
# t-xlmig-95-policy.sh - the receiver's incoming policy on real Xen, with
# B's default /etc/xen/xlmig.conf (none): disks only as files under
# /var/lib/xen/images or /srv/xen or as LVs of incoming_disk_vgs. A PVH
# guest on A gets a second disk that is one of A's dom0 block devices (a
# loop device). B must refuse it, before anything is created:
#  (a) `xlmig migrate` A -> B exits 1 in pre-flight with the error
#      incoming-policy naming disks[N].pdev_path;
#  (b) `xlmig migrate --force=incoming-policy` is refused the same way,
#      also with every other error of (a) forced, so that incoming-policy
#      alone stops it, and `xlmig check --json` shows it unforced;
#  (c) a stock `xl migrate` sender to `xlmig migrate-receive` fails, and
#      xl resumes the guest.
# After each: the guest runs on A exactly once (same domid, unpaused, not
# renamed), its counter going on; B has no domain; neither host lists a
# job; B's /var/log/xen/xlmig-incoming.log has a new refusal line naming
# the guest and the field (a `check` only asks: it logs nothing). (d) The lab's normal guest (kernel and
# initramfs in /var/lib/xen/boot) meets the default policy: `xlmig
# migrate` A -> B succeeds.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

B_IP=$(lab_ip B)
G=pol1
IMG=/tmp/xlmig-lab-pol1-disk.img
INLOG=/var/log/xen/xlmig-incoming.log

# pol_get JSON EXPR: as chk_get of t-xlmig-80 (dom0 has no python).
pol_get() {
	python3 -c 'import json, sys
j = json.loads(sys.argv[1])
print(eval(sys.argv[2]))' "$1" "$2"
}

# pol_log_lines: how many lines B's refusal log has (0 if none).
pol_log_lines() {
	lab_sh B "if [ -e $INLOG ]; then wc -l <$INLOG; else echo 0; fi" 30
}

# pol_expect_logged WHAT: B's refusal log has gained a line since
# $log_mark refusing $G for its disk; the new lines go to our log.
pol_expect_logged() {
	local new
	new=$(lab_sh B "tail -n +$((log_mark + 1)) $INLOG" 30) ||
		lab_fail "after $1, B has no $INLOG"
	printf '%s\n' "$new" | sed "s|^|  B $INLOG: |" >&2
	grep -qE "refused $G .*disks\[[0-9]+\]\.pdev_path: $LOOP is outside the allowed disk locations" <<<"$new" ||
		lab_fail "after $1, B's $INLOG has no new refusal of $G's disk (new lines: $(echo "$new" | wc -l))"
	log_mark=$(pol_log_lines)
}

# pol_expect_not_logged WHAT: B's refusal log has no new line since the
# last mark (a check is no refusal).
pol_expect_not_logged() {
	local n
	n=$(pol_log_lines)
	[ "$n" = "$log_mark" ] ||
		lab_fail "after $1, B's $INLOG has $((n - log_mark)) new line(s): $(lab_sh B "tail -n 1 $INLOG" 30)"
}

# pol_unchanged WHAT [quiet]: after WHAT, $G still runs on A (same domid,
# only domain there), counts on past $last, B has no domain, no host
# lists a job, and B logged the refusal (quiet: logged nothing).
pol_unchanged() {
	local id c h json n
	xlmig_expect_running A "$G"
	xlmig_expect_only A "$G"
	id=$(lab_domid A "$G")
	[ "$id" = "$domid" ] || lab_fail "after $1, $G has domid $id on A, it had $domid"
	xlmig_expect_no_domains B 10
	c=$(xlmig_expect_counting A "$G" "$last")
	for h in A B; do
		json=$(lab_sh "$h" "xlmig jobs --json" 30) || lab_fail "xlmig jobs --json failed on $h"
		n=$(pol_get "$json" 'len(j["jobs"])')
		[ "$n" = 0 ] || lab_fail "after $1, $h lists $n job(s)"
	done
	if [ "${2:-}" = quiet ]; then
		pol_expect_not_logged "$1"
	else
		pol_expect_logged "$1"
	fi
	lab_log "after $1: $G still runs on A (domid $id), counter $last -> $c; B empty, refusal ${2:-logged}"
	last=$c
}

# pol_expect_refused OUT RC WHAT: `xlmig migrate`'s status and output say
# that B's incoming policy refused $G's disk in pre-flight.
pol_expect_refused() {
	local out=$1 rc=$2
	[ "$rc" -eq 1 ] || lab_fail "$3 exited with $rc, not 1"
	grep -qE "^ *error +incoming-policy: .*disks\[[0-9]+\]\.pdev_path: $LOOP " <<<"$out" ||
		lab_fail "$3: no 'error incoming-policy: ... disks[N].pdev_path: $LOOP' line: $(echo "$out" | tail -n 3)"
	grep -qE "pre-flight checks? failed: .*incoming-policy" <<<"$out" ||
		lab_fail "$3 does not fail on the pre-flight check incoming-policy: $(echo "$out" | tail -n 3)"
	grep -q "$G still runs on this host" <<<"$out" ||
		lab_fail "$3 does not say that $G still runs on A: $(echo "$out" | tail -n 2)"
}

# --- A block device of A's dom0, and the guest using it as a disk.
LOOP=$(lab_sh A "for d in \$(losetup -j $IMG -O NAME -n 2>/dev/null); do losetup -d \$d; done
rm -f $IMG && truncate -s 16M $IMG && losetup -f --show $IMG" 60) ||
	lab_fail "cannot make a loop device on A"
case $LOOP in /dev/loop[0-9]*) ;; *) lab_fail "losetup printed '$LOOP'" ;; esac
lab_log "dom0 block device on A: $LOOP (16 MB file $IMG)"
lab_guest_create A "$G" "disk=['phy:$LOOP,xvdb,w']"
lab_sh A "xl block-list $G" 30
domid=$(lab_domid A "$G")
last=$(xlmig_expect_counting A "$G" -1)
log_mark=$(pol_log_lines)

# --- (a) xlmig -> xlmig: refused in pre-flight.
rc=0
lab_timed A "xlmig migrate $G $B_IP" 300 >"$LAB_RUN_DIR/pol-a.out" || rc=$?
out=$(cat "$LAB_RUN_DIR/pol-a.out")
printf '%s\n' "$out"
pol_expect_refused "$out" "$rc" "xlmig migrate"
lab_log "RESULT: (a) xlmig migrate refused by B's policy, exit $rc in $(xlmig_secs "$LAB_ELAPSED_MS") s"
# The other errors of (a) (disk-storage: B's $LOOP is another device).
others=$(grep -oE '^ *error +[A-Za-z0-9:_-]+:' <<<"$out" | awk '{ sub(/:$/, "", $2); print $2 }' |
	grep -vx incoming-policy | sort -u | paste -sd, -) || others=
lab_log "other pre-flight errors of (a): ${others:-none}"
pol_unchanged "(a) xlmig migrate"

# --- (b) the sender cannot waive the destination's policy.
rc=0
lab_timed A "xlmig migrate --force=incoming-policy $G $B_IP" 300 >"$LAB_RUN_DIR/pol-b1.out" || rc=$?
out=$(cat "$LAB_RUN_DIR/pol-b1.out")
printf '%s\n' "$out"
pol_expect_refused "$out" "$rc" "xlmig migrate --force=incoming-policy"
if grep -qE "^ *error +incoming-policy: .*\(forced\)" <<<"$out"; then
	lab_fail "--force=incoming-policy: the error is shown as forced"
fi
lab_log "RESULT: (b) xlmig migrate --force=incoming-policy refused, exit $rc in $(xlmig_secs "$LAB_ELAPSED_MS") s"
pol_unchanged "(b) --force=incoming-policy"

if [ -n "$others" ]; then
	rc=0
	lab_timed A "xlmig migrate --force=incoming-policy,$others $G $B_IP" 300 >"$LAB_RUN_DIR/pol-b2.out" || rc=$?
	out=$(cat "$LAB_RUN_DIR/pol-b2.out")
	printf '%s\n' "$out"
	pol_expect_refused "$out" "$rc" "xlmig migrate --force=incoming-policy,$others"
	grep -qE "pre-flight checks? failed: incoming-policy\$" <<<"$out" ||
		lab_fail "with $others forced, incoming-policy is not the only failed check: $(grep 'pre-flight check' <<<"$out" | tail -n 1)"
	lab_log "RESULT: (b) xlmig migrate --force=incoming-policy,$others refused on incoming-policy alone, exit $rc in $(xlmig_secs "$LAB_ELAPSED_MS") s"
	pol_unchanged "(b) --force=incoming-policy,$others"
fi

rc=0
json=$(lab_sh A "xlmig check --json --force=incoming-policy $G $B_IP 2>/share/pol-check.err" 120) || rc=$?
sed 's/^/  check stderr: /' "$LAB_RUN_DIR/A/share/pol-check.err" >&2
printf '%s\n' "$json"
[ "$rc" -eq 1 ] || lab_fail "xlmig check --json --force=incoming-policy exited with $rc, not 1"
r=$(pol_get "$json" '[(r["severity"], r["side"], r["forced"]) for r in j["results"] if r["id"] == "incoming-policy"]')
[ "$r" = "[('error', 'destination', False)]" ] ||
	lab_fail "incoming-policy results (severity, side, forced) under --force: $r"
msg=$(pol_get "$json" '[r for r in j["results"] if r["id"] == "incoming-policy"][0]["message"]')
grep -qE "disks\[[0-9]+\]\.pdev_path: $LOOP " <<<"$msg" ||
	lab_fail "the incoming-policy message does not name the disk: $msg"
lab_log "xlmig check --json: incoming-policy error from the destination, not forced: $msg"
# A check only asks: B logs no refusal for it.
pol_unchanged "xlmig check --force=incoming-policy" quiet

# --- (c) stock xl sender -> xlmig migrate-receive.
rc=0
lab_timed A "xl migrate -s '' $G 'ssh $B_IP xlmig migrate-receive'" 300 >"$LAB_RUN_DIR/pol-c.out" || rc=$?
out=$(cat "$LAB_RUN_DIR/pol-c.out")
printf '%s\n' "$out"
[ "$rc" -ne 0 ] || lab_fail "xl migrate of $G to a refusing receiver exited with 0"
grep -qE "refused $G: incoming policy: disks\[[0-9]+\]\.pdev_path: $LOOP is outside" <<<"$out" ||
	lab_fail "the receiver's refusal line is not in xl's output: $(echo "$out" | grep -i refus | head -n 2)"
grep -q 'resuming at sender' <<<"$out" ||
	lab_fail "xl does not say it resumes $G: $(echo "$out" | tail -n 2)"
if grep -q 'xc_domain_resume failed' <<<"$out"; then
	# The receiver closed before xl suspended the guest: nothing to resume.
	lab_log "NOTE: xl's resume of the never-suspended guest failed (harmless): $(grep 'xc_domain_resume failed' <<<"$out" | head -n 1)"
fi
lab_log "RESULT: (c) xl migrate -> xlmig migrate-receive refused, xl exit $rc in $(xlmig_secs "$LAB_ELAPSED_MS") s"
pol_unchanged "(c) xl migrate"

# --- (d) the lab's normal guest passes the default policy.
lab_sh A "xl destroy $G" 60 || lab_fail "could not destroy $G"
xlmig_expect_no_domains A 30
lab_sh A "losetup -d $LOOP && rm -f $IMG" 30 || lab_fail "could not detach $LOOP"
log_mark=$(pol_log_lines)
xlmig_move_a_to_b "xlmig migrate lab1 $B_IP" "(d) xlmig migrate of the normal lab guest"
n=$(pol_log_lines)
[ "$n" = "$log_mark" ] ||
	lab_fail "B logged a refusal for the normal guest: $(lab_sh B "tail -n +$((log_mark + 1)) $INLOG" 30)"
lab_sh B "xl destroy lab1" 60 || lab_fail "could not destroy lab1 on B"
xlmig_expect_no_domains B 30
