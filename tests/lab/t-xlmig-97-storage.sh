# shellcheck shell=bash
# t-xlmig-97-storage.sh - storage repositories (SRs) and storage relocation
# on real Xen.
# The shared storage is a per-run directory D of the 9p shares: made in
# A's share and bind-mounted (on this machine) onto the same name in B's,
# so that /share/D is one directory in both dom0s (proven by a file
# written on B and read on A).  A file-backed disk there is a loop device
# over a 9p file in dom0, served by blkback (checked: xl block-list, the
# backend's params, physical-device-path and hotplug-status, losetup).
#  (a) Both hosts declare sr1 and sr2 in /share/D; sr3 and sr4 are
#      declared under the same names on both hosts, but only A's are in
#      the share: B's sr3 is a local directory without identity, B's sr4 a
#      local directory with an identity of its own.  Before sr-create, A
#      reports sr1 unavailable (no identity); `xlmig sr-create` on A of
#      sr1..sr4 (a second one is refused); `sr-list --json` on B shows sr1
#      and sr2 ok with A's uuids, sr3 unavailable, sr4 with another uuid;
#      `sr-show sr1` on B names A's uuid.
#  (b) A PVH guest whose xvdb is a raw file in sr1 (4 MiB of data, 8 MiB
#      with a hole) is moved with `xlmig storage-move --offline --yes
#      --save-dir /tmp GUEST xvdb sr2`: it runs again on A, once, under its name, with the
#      same boot (memory restored, no reboot), counting on past its last
#      value; xvdb is a blkback disk on a file in sr2 with the sha256 the
#      source had; sr1 holds no disk any more, sr2 nothing but the disk
#      (no partial copy), /tmp no save image; A's sr-list names the disk
#      in sr2.
#  (c) A halted guest (an xl.cfg on A, its xvdb a raw file in sr2) is cold
#      migrated with `xlmig migrate --config CFG --storage xvdb=sr1 GUEST
#      B`: the disk moves to sr1 (same sha256, source gone), the config to
#      B's /etc/xen/GUEST.cfg (naming the disk in sr1), A's config file is
#      gone, no domain is started on either host; then `xl create` of that
#      file on B starts the guest, which counts, with the disk attached.
# The test restores both hosts' /etc/xen/xlmig.conf and removes the bind
# mount when it ends.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

B_IP=$(lab_ip B)
D=xlmig-sr-${LAB_RUN_DIR##*.}
SHARED=/share/$D
SR1=$SHARED/sr1
SR2=$SHARED/sr2
SR3_A=$SHARED/sr3
SR4_A=$SHARED/sr4
SR3_B=/tmp/xlmig-t97-sr3 # B's local sr3 and sr4 (dom0's tmpfs)
SR4_B=/tmp/xlmig-t97-sr4
G1=st1
G2=st2
# The save image of the offline move: not in the target SR (the default),
# since the share is 9p: xc writes the guest's pages to the file straight
# from their foreign mappings, and 9p's zero-copy write fails on those
# with EFAULT (stock `xl save` to /share fails the same way).
SAVE_DIR=/tmp
XVDB=51728 # xl block-list's Vdev of xvdb (202 << 8 | 16)
CONF=/etc/xen/xlmig.conf
CONF_SAVED=/root/xlmig-t97.conf.orig
BIND=$LAB_RUN_DIR/B/share/$D

# st_cleanup: at exit, pass or fail: both hosts' xlmig.conf as they were,
# B's received config gone, the bind mount removed.
st_cleanup() {
	local h
	trap - EXIT
	for h in A B; do
		LAB_SH_TIMEOUT=30 lab_sh "$h" "if [ -e $CONF_SAVED ]; then mv -f $CONF_SAVED $CONF; else rm -f $CONF; fi
rm -rf $SR3_B $SR4_B /etc/xen/$G2.cfg" >/dev/null 2>&1 || true
	done
	if mountpoint -q "$BIND" 2>/dev/null; then
		umount "$BIND" 2>/dev/null || umount -l "$BIND" 2>/dev/null || true
	fi
}

# st_disk HOST DOMAIN: print the file behind DOMAIN's xvdb on HOST after
# checking that xvdb is a blkback disk there: listed by xl block-list,
# its backend a loop device over that file, hotplug connected.
st_disk() {
	local h=$1 dom=$2 out be params node hp back
	out=$(lab_sh "$h" "xl block-list $dom" 30) || lab_fail "xl block-list $dom failed on $h"
	printf '%s\n' "$out" >&2
	be=$(awk -v v=$XVDB '$1 == v { print $NF }' <<<"$out")
	[ -n "$be" ] || lab_fail "xl block-list $dom on $h shows no xvdb ($XVDB)"
	out=$(lab_sh "$h" "for k in params physical-device-path hotplug-status type; do
	echo \"\$k=\$(xenstore-read $be/\$k)\"
done" 30) || lab_fail "cannot read $dom's xvdb backend $be on $h"
	params=$(sed -n 's/^params=//p' <<<"$out")
	node=$(sed -n 's/^physical-device-path=//p' <<<"$out")
	hp=$(sed -n 's/^hotplug-status=//p' <<<"$out")
	[ "$hp" = connected ] || lab_fail "$dom's xvdb on $h: hotplug-status '$hp'"
	case $node in /dev/loop[0-9]*) ;; *) lab_fail "$dom's xvdb on $h: backend device '$node', not a loop device" ;; esac
	back=$(lab_sh "$h" "losetup -n -O BACK-FILE $node" 30) || lab_fail "losetup $node failed on $h"
	back=${back%%[[:space:]]*}
	[ "$back" = "$params" ] ||
		lab_fail "$dom's xvdb on $h: $node is over '$back', the backend's params are '$params'"
	lab_log "$dom's xvdb on $h: blkback on $node over $params"
	echo "$params"
}

# st_sum HOST FILE: sha256 of FILE read in HOST's dom0.
st_sum() {
	local s
	s=$(lab_sh "$1" "sha256sum <'$2'" 60) || lab_fail "cannot read $2 on $1"
	echo "${s%% *}"
}

# st_ls HOST DIR: the names in DIR on HOST (with dot files), one line.
st_ls() {
	lab_sh "$1" "ls -A '$2' | sort | paste -sd ' ' -" 30
}

# st_make_disk HOST FILE MIB: FILE of MIB MiB random data followed by as
# much hole; print its sha256.
st_make_disk() {
	lab_sh "$1" "head -c ${3}M /dev/urandom >'$2' && truncate -s $(($3 * 2))M '$2'" 60 ||
		lab_fail "cannot write $2 on $1"
	st_sum "$1" "$2"
}

# --- the shared directory --------------------------------------------------
trap st_cleanup EXIT
mkdir -p "$LAB_RUN_DIR/A/share/$D" "$BIND"
mount --bind "$LAB_RUN_DIR/A/share/$D" "$BIND" || lab_fail "cannot bind-mount A's $D onto B's share"
token=$RANDOM$RANDOM
lab_sh B "echo $token >$SHARED/from-b" 30 || lab_fail "B cannot write $SHARED"
got=$(lab_sh A "cat $SHARED/from-b && rm $SHARED/from-b" 30) || lab_fail "A does not see B's file in $SHARED"
[ "$got" = "$token" ] || lab_fail "A reads '$got' from B's file in $SHARED, B wrote $token"
lab_log "$SHARED is one directory in both dom0s"

# --- (a) the SRs -------------------------------------------------------------
for h in A B; do
	if [ "$h" = A ]; then s3=$SR3_A s4=$SR4_A; else s3=$SR3_B s4=$SR4_B; fi
	lab_sh "$h" "set -e
if [ -e $CONF ]; then cp -a $CONF $CONF_SAVED; fi
mkdir -p $SR1 $SR2 $s3 $s4
cat >$CONF <<'EOF'
# t-xlmig-97-storage
sr = [ \"sr1:dir:$SR1\", \"sr2:dir:$SR2\", \"sr3:dir:$s3\", \"sr4:dir:$s4\" ]
EOF
cat $CONF" 30 || lab_fail "cannot write $CONF on $h"
done

json=$(xlmig_sr_list A st-srlist) || lab_fail "xlmig sr-list --json failed on A"
printf '%s\n' "$json"
st=$(xlmig_sr_field "$json" sr1 state)
case $st in unavailable:*) ;; *) lab_fail "before sr-create, A's sr1 is '$st', not unavailable" ;; esac
lab_log "before sr-create, A's sr1: $st"

for s in sr1 sr2 sr3 sr4; do
	lab_sh A "xlmig sr-create $s dir $SHARED/$s" 60 || lab_fail "xlmig sr-create $s failed on A"
done
lab_sh A "test -s $SR1/.xlmig-sr" 30 || lab_fail "sr-create sr1 wrote no $SR1/.xlmig-sr"
rc=0
out=$(lab_sh A "xlmig sr-create sr1 dir $SR1" 60) || rc=$?
printf '%s\n' "$out"
[ "$rc" -ne 0 ] || lab_fail "a second sr-create of sr1 succeeded"
lab_sh B "xlmig sr-create sr4 dir $SR4_B" 60 || lab_fail "xlmig sr-create sr4 (B's local one) failed on B"

json_a=$(xlmig_sr_list A st-srlist) || lab_fail "xlmig sr-list --json failed on A"
json_b=$(xlmig_sr_list B st-srlist) || lab_fail "xlmig sr-list --json failed on B"
printf 'A: %s\nB: %s\n' "$json_a" "$json_b"
for s in sr1 sr2 sr3 sr4; do
	st=$(xlmig_sr_field "$json_a" $s state)
	[ "$st" = ok ] || lab_fail "A's $s is '$st' after sr-create"
done
for s in sr1 sr2; do
	ua=$(xlmig_sr_field "$json_a" $s uuid)
	ub=$(xlmig_sr_field "$json_b" $s uuid)
	st=$(xlmig_sr_field "$json_b" $s state)
	[ -n "$ua" ] || lab_fail "A's $s has no uuid"
	[ "$st" = ok ] || lab_fail "B's $s is '$st'"
	[ "$ua" = "$ub" ] || lab_fail "$s has uuid $ua on A but $ub on B"
	lab_log "$s: the same identity $ua on A and B"
done
uuid1=$(xlmig_sr_field "$json_a" sr1 uuid)
st=$(xlmig_sr_field "$json_b" sr3 state)
ub=$(xlmig_sr_field "$json_b" sr3 uuid)
case $st in unavailable:*'no identity'*) ;; *) lab_fail "B's sr3 (a local directory without identity) is '$st'" ;; esac
[ -z "$ub" ] || lab_fail "B's sr3 has uuid '$ub' without identity"
lab_log "B's sr3 (local, no identity): $st"
ua=$(xlmig_sr_field "$json_a" sr4 uuid)
ub=$(xlmig_sr_field "$json_b" sr4 uuid)
if [ -z "$ub" ] || [ "$ua" = "$ub" ]; then
	lab_fail "sr4 (another SR on each host) has uuid '$ua' on A and '$ub' on B"
fi
lab_log "sr4: uuid $ua on A, $ub on B: not the same SR"
out=$(lab_sh B "xlmig sr-show sr1" 30) || lab_fail "xlmig sr-show sr1 failed on B"
printf '%s\n' "$out"
grep -qF "$uuid1" <<<"$out" || lab_fail "B's sr-show sr1 does not name the uuid $uuid1"
out=$(lab_sh B "xlmig sr-list" 30) || lab_fail "xlmig sr-list failed on B"
printf '%s\n' "$out"
grep -qE "^sr3 " <<<"$out" || lab_fail "B's sr-list has no sr3 line"
grep -qE "^ +unavailable: .*no identity" <<<"$out" || lab_fail "B's sr-list does not say that sr3 is unavailable"
lab_log "RESULT: (a) sr1, sr2 the same on A and B; sr3 unavailable and sr4 another SR on B"

# --- (b) storage-move --offline of a running guest ---------------------------
sum1=$(st_make_disk A "$SR1/$G1-xvdb.img" 4)
lab_guest_create A "$G1" "disk=['format=raw,vdev=xvdb,access=rw,target=$SR1/$G1-xvdb.img']"
p=$(st_disk A "$G1")
[ "$p" = "$SR1/$G1-xvdb.img" ] || lab_fail "$G1's xvdb is $p"
json=$(xlmig_sr_list A st-srlist) || lab_fail "xlmig sr-list --json failed on A"
d=$(xlmig_json_get "$json" "[(x['domain'], x['vdev'], x['path']) for s in j if s['name'] == 'sr1' for x in s['disks']]")
[ "$d" = "[('$G1', 'xvdb', '$SR1/$G1-xvdb.img')]" ] || lab_fail "A's sr-list: the disks in sr1 are $d"
domid=$(lab_domid A "$G1")
boot=$(lab_guest_boot A "$G1")
xlmig_expect_counting A "$G1" -1 >/dev/null
last=$(lab_counter A "$G1")

xlmig_offline_move A "$G1" "--save-dir $SAVE_DIR $G1 xvdb sr2" "$LAB_RUN_DIR/st-move.out"
t_move=$LAB_ELAPSED_MS
p=$(st_disk A "$G1")
case $p in "$SR2"/*) ;; *) lab_fail "after storage-move, $G1's xvdb is $p, not in sr2 ($SR2)" ;; esac
sum2=$(st_sum A "$p")
[ "$sum2" = "$sum1" ] || lab_fail "the disk in sr2 has sha256 $sum2, the source had $sum1"
l1=$(lab_sh A "ls -A $SAVE_DIR | grep '^\\.xlmig-save' | paste -sd ' ' -" 30)
[ -z "$l1" ] || lab_fail "after storage-move, $SAVE_DIR on A holds $l1"
l1=$(st_ls A "$SR1")
[ "$l1" = .xlmig-sr ] || lab_fail "after storage-move, sr1 holds: $l1"
l2=$(st_ls A "$SR2")
sr2_after_b=$(printf '%s\n' .xlmig-sr "${p##*/}" | sort | paste -sd ' ' -)
[ "$l2" = "$sr2_after_b" ] || lab_fail "after storage-move, sr2 holds: $l2"
b2=$(lab_guest_boot A "$G1")
[ "$b2" = "$boot" ] || lab_fail "$G1 booted again (boot $boot -> $b2): not restored"
c=$(xlmig_expect_counting A "$G1" "$last")
json=$(xlmig_sr_list A st-srlist) || lab_fail "xlmig sr-list --json failed on A"
d=$(xlmig_json_get "$json" "[(s['name'], x['domain'], x['vdev'], x['path']) for s in j for x in s['disks']]")
[ "$d" = "[('sr2', '$G1', 'xvdb', '$p')]" ] || lab_fail "A's sr-list after the move: disks $d"
lab_log "$G1: domid $domid -> $(lab_domid A "$G1"), counter $last -> $c, same boot $boot"
lab_log "RESULT: (b) storage-move --offline of $G1's 8 MiB xvdb sr1 -> sr2 $(xlmig_secs "$t_move") s"

# --- (c) cold migration of a halted guest, its disk moved first ---------------
sum3=$(st_make_disk A "$SR2/$G2-xvdb.img" 3)
cfg=$(lab_guest_cfg "$G2" "disk=['format=raw,vdev=xvdb,access=rw,target=$SR2/$G2-xvdb.img']")
lab_sh A "cat >/root/guest/$G2.cfg <<'LAB_EOF'
$cfg
LAB_EOF" 30 || lab_fail "cannot write /root/guest/$G2.cfg on A"
lab_sh B "test ! -e /etc/xen/$G2.cfg" 30 || lab_fail "B has a /etc/xen/$G2.cfg already"
rc=0
lab_timed A "xlmig migrate --config /root/guest/$G2.cfg --storage xvdb=sr1 $G2 $B_IP" 600 \
	>"$LAB_RUN_DIR/st-cold.out" || rc=$?
cat "$LAB_RUN_DIR/st-cold.out"
[ "$rc" -eq 0 ] || lab_fail "xlmig migrate --config --storage xvdb=sr1 $G2 exited with $rc: $(xlmig_why "$LAB_RUN_DIR/st-cold.out")"
t_cold=$LAB_ELAPSED_MS
lab_sh A "test ! -e /root/guest/$G2.cfg" 30 || lab_fail "A still has /root/guest/$G2.cfg after the cold migration"
for h in A B; do
	if lab_domain_exists "$h" "$G2"; then lab_fail "the cold migration started $G2 on $h"; fi
done
out=$(lab_sh B "cat /etc/xen/$G2.cfg" 30) || lab_fail "B has no /etc/xen/$G2.cfg after the cold migration"
printf '%s\n' "$out"
grep -qE "^disk *=.*$SR1/" <<<"$out" || lab_fail "B's /etc/xen/$G2.cfg does not name a disk in sr1"
lab_sh B "test ! -e '$SR2/$G2-xvdb.img'" 30 || lab_fail "the source of $G2's disk is still in sr2"
lab_sh B "xl create /etc/xen/$G2.cfg" 120 || lab_fail "xl create /etc/xen/$G2.cfg failed on B"
xlmig_wait_running B "$G2" 60
xlmig_expect_only B "$G2"
if lab_domain_exists A "$G2"; then lab_fail "$G2 runs on A too"; fi
c=$(xlmig_expect_counting B "$G2" -1)
p=$(st_disk B "$G2")
case $p in "$SR1"/*) ;; *) lab_fail "$G2's xvdb on B is $p, not in sr1 ($SR1)" ;; esac
sum4=$(st_sum B "$p")
[ "$sum4" = "$sum3" ] || lab_fail "$G2's disk in sr1 has sha256 $sum4, the source had $sum3"
l2=$(st_ls B "$SR2")
[ "$l2" = "$sr2_after_b" ] || lab_fail "after the cold migration, sr2 holds: $l2 (was: $sr2_after_b)"
lab_log "$G2 counts on B ($c) on its disk $p"
lab_log "RESULT: (c) cold migration of $G2 with its 6 MiB xvdb sr2 -> sr1 $(xlmig_secs "$t_cold") s"
