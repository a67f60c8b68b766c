# shellcheck shell=bash
# lab-timeout: 1200
# t-xlmig-99-live-storage.sh - live storage moves on real Xen: a running
# guest's disk moves between SRs while the guest writes to it.
# The SRs sr1 and sr2 are directories of A's 9p share.  Each guest's xvdb
# is a 16 MiB raw image (the writer's ring) named in its config by a stable name, the symlink
# /var/lib/xlmig/disk/GUEST-xvdb; the guest's disk writer (domu/init)
# appends 4 KiB records to it without pause and reads each back.
#  Both guests' configs name their images in sr1; `xlmig disk-prepare`
#  rewrites them before `xl create` (the link, lq's QMP monitor, ld's
#  block script), which the test reads back.
#  (a) qdisk: guest lq's xvdb is served by its QEMU (backendtype=qdisk),
#      started with a QMP monitor of xlmig's (device_model_args_pv
#      -qmp unix:/run/xen/xlmig-qmp-lq.sock).  `xlmig storage-move lq xvdb
#      sr2` moves it live: the link names sr2's image, sr1's is gone, no
#      partial copy is left, QEMU holds no descriptor of the old image and
#      runs no block job; the guest never stopped (same boot, counting on,
#      its disk writer on past the move) and its log in the new image is
#      whole (no write lost, none torn), with no I/O error in its console.
#  (b) dm: guest ld's xvdb is attached through block-xlmig
#      (script=block-xlmig): blkback on /dev/mapper/xlmig-DOMID-51728, a
#      linear table on a loop device over the image.  The same live move:
#      afterwards the table is linear on a loop over sr2's image, the old
#      loop device is released, the rest as in (a).
#  (c) cancel: lq moved back towards sr1 with --bandwidth 512K; once the
#      job shows progress, `xlmig job-cancel` stops it: the command fails
#      saying the domain uses its source, the link is unchanged, sr1 holds
#      nothing, QEMU runs no job and has no target node; the guest writes
#      on without an I/O error.
#  (d) kill -9 of xlmig mid-mirror (lq, slowed by --bandwidth), then
#      `xlmig recover`: the mirror ended, the disk on its source, the
#      partial copy removed, no journal left, the guest writing on.
#  (e) `xlmig migrate --storage xvdb=sr1` of both guests to B: each disk
#      mirrored into sr1 while the guest writes, the copy stopped while
#      libxc has the guest suspended, B restoring onto it: the guest runs
#      on B alone (same boot), its xvdb there is its stable name on B
#      (made by B's receiver) naming sr1's image (B's QEMU for lq; for ld,
#      B's block-xlmig dm device over a loop on it), sr2's
#      image is gone, A has no dm device, loop device or leftover; the
#      guest's disk log in sr1's image, read on B, is whole across every
#      move of this test (no write lost, none torn), no I/O error.
# Intermediate steps check that the guest runs and reports no disk error;
# the log's completeness is read once, at the end: the ring holds every
# record written since the guest booted.
# The SR directory D is made in A's share and bind-mounted onto the same
# name in B's (as in t-xlmig-97); both hosts' xlmig.conf are restored and
# the bind mount removed at the end.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

B_IP=$(lab_ip B)
D=xlmig-live-${LAB_RUN_DIR##*.}
BIND=$LAB_RUN_DIR/B/share/$D
SHARED=/share/$D
SR1=$SHARED/sr1
SR2=$SHARED/sr2
LINKS=/var/lib/xlmig/disk
CONF=/etc/xen/xlmig.conf
CONF_SAVED=/root/xlmig-t99.conf.orig
GQ=lq
GD=ld
DEVID=51728 # xvdb
DISKLOG='console=hvc0 quiet xlmig_disklog' # the guest's disk writer on

lv_cleanup() {
	local h
	trap - EXIT
	for h in A B; do
		LAB_SH_TIMEOUT=30 lab_sh $h "xl destroy $GQ; xl destroy $GD
if [ -e $CONF_SAVED ]; then mv -f $CONF_SAVED $CONF; else rm -f $CONF; fi
rm -f $LINKS/$GQ-xvdb $LINKS/$GD-xvdb" >/dev/null 2>&1 || true
	done
	if mountpoint -q "$BIND" 2>/dev/null; then
		umount "$BIND" 2>/dev/null || umount -l "$BIND" 2>/dev/null || true
	fi
}
trap lv_cleanup EXIT

# lv_link GUEST: the image GUEST's stable name points at.
lv_link() {
	lab_sh A "readlink $LINKS/$1-xvdb" 30
}

# lv_qmp GUEST CMD: one QMP command to GUEST's QEMU (through the same
# monitor xlmig uses), its answer.
lv_qmp() {
	lab_sh A "(printf '%s\n' '{\"execute\":\"qmp_capabilities\"}' '$2'; sleep 1) |
socat - UNIX-CONNECT:/run/xen/xlmig-qmp-$1.sock | tr -d '\\r' | grep '\"return\"' | tail -n 1" 30
}

# lv_qemu_clean GUEST OLD: GUEST's QEMU runs no block job, has one format
# node (the disk's: no target left beside it) and holds no descriptor of
# image OLD.
lv_qemu_clean() {
	local out pid n
	out=$(lv_qmp "$1" '{"execute":"query-jobs"}')
	[ "$out" = '{"return": []}' ] || lab_fail "$1's QEMU still runs jobs: $out"
	out=$(lv_qmp "$1" '{"execute":"query-named-block-nodes","arguments":{"flat":true}}')
	n=$(grep -o '"drv": "raw"' <<<"$out" | wc -l)
	[ "$n" -eq 1 ] || lab_fail "$1's QEMU has $n raw nodes (a target left?): ${out:0:400}"
	pid=$(lab_sh A "xenstore-read /local/domain/\$(xl domid $1)/image/device-model-pid" 30)
	out=$(lab_sh A "ls -l /proc/$pid/fd | grep -F '$2' || true" 30)
	[ -z "$out" ] || lab_fail "$1's QEMU still holds $2: $out"
}

# lv_dm GUEST [HOST]: "TABLE|INODE" of GUEST's xvdb dm device (on A,
# or HOST): its table and the inode of the file behind the loop device it
# names (a loop shows the name its file had when set up: 9p keeps it
# across a rename).
lv_dm() {
	lab_sh "${2:-A}" "n=xlmig-\$(xl domid $1)-$DEVID
t=\$(dmsetup table \$n) || exit 1
dev=\$(echo \"\$t\" | awk '\$3 == \"linear\" { print \$4 }')
ino=\$(losetup -l -n --raw -O MAJ:MIN,BACK-INO | sed 's/\\\\x20//g' | awk -v d=\"\$dev\" '\$1 == d { print \$2 }')
echo \"\$t|\$ino\"" 30
}

# lv_ino IMAGE: IMAGE's inode.
lv_ino() {
	lab_sh A "stat -c %i '$1'" 30
}

# lv_dm_on GUEST IMAGE [HOST]: GUEST's dm device (on A, or HOST) is a
# linear table on a loop device over IMAGE.
lv_dm_on() {
	local out
	out=$(lv_dm "$1" "${3:-A}") || lab_fail "$1's dm device is gone"
	case $out in *" linear "*) ;; *) lab_fail "$1's dm table is not linear: $out" ;; esac
	[ "${out#*|}" = "$(lv_ino "$2")" ] || lab_fail "$1's dm device: $out, not over $2 (inode $(lv_ino "$2"))"
	lab_log "$1's xvdb on ${3:-A}: ${out%|*} over $2"
}

# lv_loops INODE: the loop devices over the file of INODE.
lv_loops() {
	lab_sh A "losetup -l -n --raw -O NAME,BACK-INO | sed 's/\\\\x20//g' | awk -v i='$1' '\$2 == i { print \$1 }' | paste -sd ' ' -" 30
}

# lv_move GUEST SR OUT [ARGS]: `xlmig storage-move ARGS GUEST xvdb SR`
# on A, which must succeed (timed).
lv_move() {
	local rc=0
	lab_timed A "xlmig storage-move ${4:-} $1 xvdb $2" 600 >"$3" 2>&1 || rc=$?
	cat "$3"
	[ "$rc" -eq 0 ] || lab_fail "xlmig storage-move ${4:-} $1 xvdb $2 exited with $rc: $(xlmig_why "$3")"
}

# lv_bg_job NAME: once background move NAME on A reports progress (it
# mirrors), the id of its job, from xlmig jobs --json.
lv_bg_job() {
	local j
	lab_wait_output A "$1" '"event": "progress"' 120 || lab_fail "move $1 never reported progress: $(lab_bg_output A "$1" | tail -n 3)"
	j=$(lab_sh A "xlmig jobs --json" 30) || lab_fail "xlmig jobs --json failed"
	xlmig_json_get "$j" '[x["id"] for x in j["jobs"] if x["kind"] == "storage"][0]'
}

# lv_alive GUEST BOOT [HOST]: GUEST runs on A (or HOST) with boot BOOT,
# no I/O error in its console.
lv_alive() {
	local b
	xlmig_expect_running "${3:-A}" "$1"
	b=$(lab_guest_boot "${3:-A}" "$1")
	[ "$b" = "$2" ] || lab_fail "$1 booted again ($2 -> $b)"
	xlmig_guest_disk_errors "${3:-A}" "$1"
}

# lv_after GUEST BOOT DISK0 IMAGE HOST: lv_alive on HOST, the disk writer
# past DISK0, its log in IMAGE (read on HOST) whole.
lv_after() {
	local k log
	lv_alive "$1" "$2" "$5"
	k=$(xlmig_wait_guest_disk "$5" "$1" "$(($3 + 16))" 120)
	log=$(xlmig_disk_log_check "$5" "$1" "$4")
	lab_log "$1 on $5: same boot $2, disk writer at $k (was $3), $4: $log"
}

# lv_no_leftovers: no partial copy in either SR, no job journal.
lv_no_leftovers() {
	local l
	l=$(lab_sh A "ls -A $SR1 $SR2 | grep '^\\.xlmig-part' || true; ls /var/lib/xlmig/*.json 2>/dev/null || true" 30)
	[ -z "$l" ] || lab_fail "left behind: $(paste -sd ' ' <<<"$l")"
}

# --- the SRs and the guests ------------------------------------------------
mkdir -p "$LAB_RUN_DIR/A/share/$D" "$BIND"
mount --bind "$LAB_RUN_DIR/A/share/$D" "$BIND" || lab_fail "cannot bind-mount A's $D onto B's share"
lab_sh A "set -e
if [ -e $CONF ]; then cp -a $CONF $CONF_SAVED; fi
rm -rf $SR1 $SR2
mkdir -p $SR1 $SR2 $LINKS
echo 'sr = [ \"sr1:dir:$SR1\", \"sr2:dir:$SR2\" ]' >$CONF
xlmig sr-create sr1 dir $SR1 && xlmig sr-create sr2 dir $SR2
test -x /etc/xen/scripts/block-xlmig
truncate -s 16M $SR1/$GQ.img $SR1/$GD.img
rm -f $LINKS/$GQ-xvdb $LINKS/$GD-xvdb" 60 || lab_fail "cannot set up the SRs on A"
lab_sh B "set -e
if [ -e $CONF ]; then cp -a $CONF $CONF_SAVED; fi
echo 'sr = [ \"sr1:dir:$SR1\", \"sr2:dir:$SR2\" ]' >$CONF
test -x /etc/xen/scripts/block-xlmig
test -e $SR1/.xlmig-sr" 60 || lab_fail "cannot declare the SRs on B (is $SHARED shared?)"

# Each guest's config names its image; xlmig disk-prepare makes it
# movable before the guest is created (the link, the QMP monitor, the
# block script).
export LAB_GUEST_BEFORE="xlmig disk-prepare @CFG@ xvdb"
lab_guest_create A "$GQ" "cmdline=$DISKLOG" \
	"disk=['format=raw,vdev=xvdb,access=rw,backendtype=qdisk,target=$SR1/$GQ.img']"
lab_guest_create A "$GD" "cmdline=$DISKLOG" \
	"disk=['format=raw,vdev=xvdb,access=rw,target=$SR1/$GD.img']"
unset LAB_GUEST_BEFORE
out=$(lab_sh A "cat /root/guest/$GQ.cfg /root/guest/$GD.cfg" 30)
grep -qF "device_model_args_pv = [ \"-qmp\", \"unix:/run/xen/xlmig-qmp-$GQ.sock,server=on,wait=off\" ]" <<<"$out" ||
	lab_fail "disk-prepare gave $GQ no QMP monitor: $out"
grep -qF "script=block-xlmig, format=raw,vdev=xvdb,access=rw,target=$LINKS/$GD-xvdb" <<<"$out" ||
	lab_fail "disk-prepare did not attach $GD's xvdb through block-xlmig: $out"
[ "$(lv_link "$GQ")" = "$SR1/$GQ.img" ] && [ "$(lv_link "$GD")" = "$SR1/$GD.img" ] ||
	lab_fail "disk-prepare's links: $(lv_link "$GQ"), $(lv_link "$GD")"
lv_dm_on "$GD" "$SR1/$GD.img"
bq=$(lab_guest_boot A "$GQ")
bd=$(lab_guest_boot A "$GD")

# --- (a) qdisk, live --------------------------------------------------------
k=$(xlmig_wait_guest_disk A "$GQ" 16 120)
lv_move "$GQ" sr2 "$LAB_RUN_DIR/lq-move.out"
t_q=$LAB_ELAPSED_MS
[ "$(lv_link "$GQ")" = "$SR2/$GQ.img" ] || lab_fail "after the move $LINKS/$GQ-xvdb names $(lv_link "$GQ")"
lab_sh A "test ! -e $SR1/$GQ.img" 30 || lab_fail "$SR1/$GQ.img is still there"
lv_qemu_clean "$GQ" "$SR1/$GQ.img"
lv_no_leftovers
lv_alive "$GQ" "$bq"
xlmig_wait_guest_disk A "$GQ" "$((k + 16))" 120 >/dev/null
lab_log "RESULT: (a) qdisk xvdb of $GQ moved live sr1 -> sr2 in $(xlmig_secs "$t_q") s, guest writing throughout"

# --- (b) dm, live -------------------------------------------------------------
k=$(xlmig_wait_guest_disk A "$GD" 16 120)
ino=$(lv_ino "$SR1/$GD.img")
old=$(lv_loops "$ino")
lv_move "$GD" sr2 "$LAB_RUN_DIR/ld-move.out"
t_d=$LAB_ELAPSED_MS
[ "$(lv_link "$GD")" = "$SR2/$GD.img" ] || lab_fail "after the move $LINKS/$GD-xvdb names $(lv_link "$GD")"
lv_dm_on "$GD" "$SR2/$GD.img"
l=$(lv_loops "$ino")
[ -z "$l" ] || lab_fail "the old loop device(s) $l over $SR1/$GD.img remain (before: $old)"
lab_sh A "test ! -e $SR1/$GD.img" 30 || lab_fail "$SR1/$GD.img is still there"
lv_no_leftovers
lv_alive "$GD" "$bd"
xlmig_wait_guest_disk A "$GD" "$((k + 16))" 120 >/dev/null
lab_log "RESULT: (b) dm xvdb of $GD moved live sr1 -> sr2 in $(xlmig_secs "$t_d") s, guest writing throughout"

# --- (c) cancel mid-mirror ------------------------------------------------------
k=$(xlmig_guest_disk A "$GQ")
lab_bg A cancel "xlmig storage-move --bandwidth 512K --progress json $GQ xvdb sr1"
job=$(lv_bg_job cancel)
lab_sh A "xlmig job-cancel $job" 30 || lab_fail "xlmig job-cancel $job failed"
rc=0
out=$(lab_wait A cancel 120) || rc=$?
printf '%s\n' "$out"
[ "$rc" -ne 0 ] || lab_fail "the cancelled move exited 0"
grep -q 'uses its source' <<<"$out" || lab_fail "the cancelled move does not say the domain uses its source"
[ "$(lv_link "$GQ")" = "$SR2/$GQ.img" ] || lab_fail "after cancel $LINKS/$GQ-xvdb names $(lv_link "$GQ")"
l=$(lab_sh A "ls -A $SR1 | grep -vx .xlmig-sr || true" 30)
[ -z "$l" ] || lab_fail "after cancel sr1 holds $l"
lv_qemu_clean "$GQ" "$SR1/"
lv_no_leftovers
xlmig_expect_running A "$GQ"
xlmig_wait_guest_disk A "$GQ" "$((k + 16))" 120 >/dev/null
xlmig_guest_disk_errors A "$GQ"
lab_log "RESULT: (c) job-cancel mid-mirror: $GQ stays on sr2, writing on, nothing left"

# --- (d) kill -9 mid-mirror, recover --------------------------------------------
k=$(xlmig_guest_disk A "$GQ")
lab_bg A kill "exec xlmig storage-move --bandwidth 1M --progress json $GQ xvdb sr1"
job=$(lv_bg_job kill)
lab_sh A "pkill -9 -f 'xlmig storage-move .*$GQ xvdb sr1'" 30 || lab_fail "no xlmig storage-move of $GQ to kill"
lab_wait A kill 60 >/dev/null || true
lab_log "killed the move $job of $GQ mid-mirror"
out=$(lab_sh A "xlmig recover 2>&1" 120) || lab_fail "xlmig recover failed after killing the move of $GQ: $out"
printf '%s\n' "$out"
[ "$(lv_link "$GQ")" = "$SR2/$GQ.img" ] || lab_fail "after recover $LINKS/$GQ-xvdb names $(lv_link "$GQ")"
l=$(lab_sh A "ls -A $SR1 | grep -vx .xlmig-sr || true" 30)
[ -z "$l" ] || lab_fail "after recover sr1 holds $l"
lv_no_leftovers
lv_qemu_clean "$GQ" "$SR1/"
lv_alive "$GQ" "$bq"
xlmig_wait_guest_disk A "$GQ" "$((k + 16))" 120 >/dev/null
lab_log "RESULT: (d) kill -9 mid-mirror + recover: $GQ on sr2, writing on, nothing left"

# --- (e) migrate to B with the disks back to sr1 ----------------------------------
# lv_b_disk GUEST: the image B's backend of GUEST's xvdb names (its
# params, less a qdisk's "FORMAT:"), which must be GUEST's stable name on
# B, made by B's receiver: the image behind it.
lv_b_disk() {
	local p
	p=$(lab_sh B "xenstore-read \$(xenstore-read /local/domain/\$(xl domid $1)/device/vbd/$DEVID/backend)/params" 30)
	case $p in /*) ;; *) p=${p#*:} ;; esac
	[ "$p" = "$LINKS/$1-xvdb" ] || lab_fail "$1's xvdb on B is $p, not its stable name $LINKS/$1-xvdb"
	lab_sh B "readlink -f '$p'" 30
}
for g in "$GQ" "$GD"; do
	if [ "$g" = "$GQ" ]; then b=$bq; else b=$bd; fi
	k=$(xlmig_guest_disk A "$g")
	rc=0
	lab_timed A "xlmig migrate --progress=none --storage xvdb=sr1 $g $B_IP" 600 \
		>"$LAB_RUN_DIR/$g-mig.out" 2>&1 || rc=$?
	grep -v '^xc: ' "$LAB_RUN_DIR/$g-mig.out"
	[ "$rc" -eq 0 ] || lab_fail "xlmig migrate --storage xvdb=sr1 $g exited with $rc: $(xlmig_why "$LAB_RUN_DIR/$g-mig.out")"
	t=$LAB_ELAPSED_MS
	summary=$(grep "^migrated $g" "$LAB_RUN_DIR/$g-mig.out") || lab_fail "no summary line for $g"
	[ "$(lv_b_disk "$g")" = "$SR1/$g.img" ] || lab_fail "$g's xvdb on B is $(lv_b_disk "$g"), not $SR1/$g.img"
	[ "$g" = "$GQ" ] || lv_dm_on "$g" "$SR1/$g.img" B
	lab_sh A "test ! -e $SR2/$g.img" 30 || lab_fail "$SR2/$g.img (the source) is still there"
	lab_sh A "xl domid $g" 30 >/dev/null 2>&1 && lab_fail "$g still exists on A"
	lv_no_leftovers
	lv_after "$g" "$b" "$k" "$SR1/$g.img" B
	lab_log "RESULT: (e) $g to B with its xvdb sr2 -> sr1 ($([ "$g" = "$GQ" ] && echo qdisk || echo dm)) in $(xlmig_secs "$t") s: $summary"
done
l=$(lab_sh A "dmsetup ls | grep xlmig || true; losetup -l -n" 30)
[ -z "$l" ] || lab_fail "left on A: $(paste -sd ' ' <<<"$l")"
