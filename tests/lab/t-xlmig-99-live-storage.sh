# shellcheck shell=bash
# t-xlmig-99-live-storage.sh - live storage moves on real Xen: a running
# guest's disk moves between SRs while the guest writes to it.
# The SRs sr1 and sr2 are directories of A's 9p share.  Each guest's xvdb
# is a 16 MiB raw image (the writer's ring) named in its config by a stable name, the symlink
# /var/lib/xlmig/disk/GUEST-xvdb; the guest's disk writer (domu/init)
# appends 4 KiB records to it without pause and reads each back.
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
#  (c) cancel: lq moved back towards sr1 with --bandwidth 1M; once the
#      job shows progress, `xlmig job-cancel` stops it: the command fails
#      saying the domain uses its source, the link is unchanged, sr1 holds
#      nothing, QEMU runs no job and has no target node; the guest writes
#      on without an I/O error.
#  (d) kill -9 of xlmig mid-mirror, then `xlmig recover`: for lq (the
#      mirror slowed by --bandwidth) and for ld (dm mirrors every
#      region, holes too, through direct-I/O loops on 9p: about 1 MiB/s
#      here): recover ends the mirror, the disk stays
#      on its source, the partial copy is removed, no journal is left, the
#      guest writes on with its log whole.  Then both move live to sr1
#      again, which proves nothing of the killed moves is in the way.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

D=xlmig-live-${LAB_RUN_DIR##*.}
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
	trap - EXIT
	LAB_SH_TIMEOUT=30 lab_sh A "if [ -e $CONF_SAVED ]; then mv -f $CONF_SAVED $CONF; else rm -f $CONF; fi
rm -f $LINKS/$GQ-xvdb $LINKS/$GD-xvdb" >/dev/null 2>&1 || true
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

# lv_dm GUEST: "TABLE|INODE" of GUEST's xvdb dm device: its table and the
# inode of the file behind the loop device it names (a loop shows the
# name its file had when set up: 9p keeps it across a rename).
lv_dm() {
	lab_sh A "n=xlmig-\$(xl domid $1)-$DEVID
t=\$(dmsetup table \$n) || exit 1
dev=\$(echo \"\$t\" | awk '\$3 == \"linear\" { print \$4 }')
ino=\$(losetup -l -n --raw -O MAJ:MIN,BACK-INO | sed 's/\\\\x20//g' | awk -v d=\"\$dev\" '\$1 == d { print \$2 }')
echo \"\$t|\$ino\"" 30
}

# lv_ino IMAGE: IMAGE's inode.
lv_ino() {
	lab_sh A "stat -c %i '$1'" 30
}

# lv_dm_on GUEST IMAGE: GUEST's dm device is a linear table on a loop
# device over IMAGE.
lv_dm_on() {
	local out
	out=$(lv_dm "$1") || lab_fail "$1's dm device is gone"
	case $out in *" linear "*) ;; *) lab_fail "$1's dm table is not linear: $out" ;; esac
	[ "${out#*|}" = "$(lv_ino "$2")" ] || lab_fail "$1's dm device: $out, not over $2 (inode $(lv_ino "$2"))"
	lab_log "$1's xvdb: ${out%|*} over $2"
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

# lv_after GUEST BOOT DISK0 IMAGE: GUEST runs once on A with boot BOOT,
# its disk writer past DISK0, its log in IMAGE whole, no I/O error.
lv_after() {
	local b k log
	xlmig_expect_running A "$1"
	b=$(lab_guest_boot A "$1")
	[ "$b" = "$2" ] || lab_fail "$1 booted again ($2 -> $b)"
	k=$(xlmig_wait_guest_disk A "$1" "$(($3 + 16))" 120)
	log=$(xlmig_disk_log_check A "$1" "$4")
	xlmig_guest_disk_errors A "$1"
	lab_log "$1: same boot $b, disk writer at $k (was $3), $4: $log"
}

# lv_no_leftovers: no partial copy in either SR, no job journal.
lv_no_leftovers() {
	local l
	l=$(lab_sh A "ls -A $SR1 $SR2 | grep '^\\.xlmig-part' || true; ls /var/lib/xlmig/*.json 2>/dev/null || true" 30)
	[ -z "$l" ] || lab_fail "left behind: $(paste -sd ' ' <<<"$l")"
}

# --- the SRs and the guests ------------------------------------------------
mkdir -p "$LAB_RUN_DIR/A/share/$D"
lab_sh A "set -e
if [ -e $CONF ]; then cp -a $CONF $CONF_SAVED; fi
rm -rf $SHARED
mkdir -p $SR1 $SR2 $LINKS
echo 'sr = [ \"sr1:dir:$SR1\", \"sr2:dir:$SR2\" ]' >$CONF
xlmig sr-create sr1 dir $SR1 && xlmig sr-create sr2 dir $SR2
test -x /etc/xen/scripts/block-xlmig
truncate -s 16M $SR1/$GQ.img $SR1/$GD.img
ln -sfn $SR1/$GQ.img $LINKS/$GQ-xvdb
ln -sfn $SR1/$GD.img $LINKS/$GD-xvdb" 60 || lab_fail "cannot set up the SRs on A"

lab_guest_create A "$GQ" "cmdline=$DISKLOG" \
	"disk=['format=raw,vdev=xvdb,access=rw,backendtype=qdisk,target=$LINKS/$GQ-xvdb']" \
	"device_model_args_pv=['-qmp','unix:/run/xen/xlmig-qmp-$GQ.sock,server=on,wait=off']"
lab_guest_create A "$GD" "cmdline=$DISKLOG" \
	"disk=['format=raw,vdev=xvdb,access=rw,script=block-xlmig,target=$LINKS/$GD-xvdb']"
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
lv_after "$GQ" "$bq" "$k" "$SR2/$GQ.img"
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
lv_after "$GD" "$bd" "$k" "$SR2/$GD.img"
lab_log "RESULT: (b) dm xvdb of $GD moved live sr1 -> sr2 in $(xlmig_secs "$t_d") s, guest writing throughout"

# --- (c) cancel mid-mirror ------------------------------------------------------
k=$(xlmig_guest_disk A "$GQ")
lab_bg A cancel "xlmig storage-move --bandwidth 1M --progress json $GQ xvdb sr1"
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
for g in "$GQ" "$GD"; do
	k=$(xlmig_guest_disk A "$g")
	bw=
	[ "$g" != "$GQ" ] || bw="--bandwidth 1M"
	lab_bg A "kill-$g" "exec xlmig storage-move $bw --progress json $g xvdb sr1"
	job=$(lv_bg_job "kill-$g")
	lab_sh A "pkill -9 -f 'xlmig storage-move .*$g xvdb sr1'" 30 || lab_fail "no xlmig storage-move of $g to kill"
	lab_wait A "kill-$g" 60 >/dev/null || true
	lab_log "killed the move $job of $g mid-mirror"
	out=$(lab_sh A "xlmig recover 2>&1" 120) || lab_fail "xlmig recover failed after killing the move of $g: $out"
	printf '%s\n' "$out"
	[ "$(lv_link "$g")" = "$SR2/$g.img" ] || lab_fail "after recover $LINKS/$g-xvdb names $(lv_link "$g")"
	l=$(lab_sh A "ls -A $SR1 | grep -vx .xlmig-sr || true" 30)
	[ -z "$l" ] || lab_fail "after recover sr1 holds $l"
	lv_no_leftovers
	if [ "$g" = "$GQ" ]; then
		lv_qemu_clean "$g" "$SR1/"
	else
		lv_dm_on "$g" "$SR2/$g.img"
		[ "$(lab_sh A "losetup -l -n | wc -l" 30)" -eq 1 ] ||
			lab_fail "loop devices left: $(lab_sh A "losetup -l -n" 30)"
	fi
	if [ "$g" = "$GQ" ]; then b=$bq; else b=$bd; fi
	lv_after "$g" "$b" "$k" "$SR2/$g.img"
	lab_log "killed mid-mirror and recovered: $g on sr2"
done
for g in "$GQ" "$GD"; do
	lv_move "$g" sr1 "$LAB_RUN_DIR/$g-back.out"
	[ "$(lv_link "$g")" = "$SR1/$g.img" ] || lab_fail "$LINKS/$g-xvdb names $(lv_link "$g")"
	xlmig_expect_running A "$g"
	xlmig_guest_disk_errors A "$g"
done
lv_no_leftovers
lab_log "RESULT: (d) kill -9 mid-mirror + recover (qdisk, dm): source kept, nothing left; both moved back live"
