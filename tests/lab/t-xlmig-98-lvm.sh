# shellcheck shell=bash
# t-xlmig-98-lvm.sh - an LVM storage repository on a disk both hosts see.
# The lab's shared disk (lab.sh: one raw file, a virtio-blk disk in both
# QEMUs) is the same blocks in both dom0s (proven: a block written with
# O_DIRECT on A is read back on B).  Nothing coordinates the hosts (no
# lvmlockd): LVM's metadata is read from the disk by each command.
#  (a) A makes the VG xlmigvg on it; both hosts declare the SR lvsr on it.
#      Before sr-create A reports lvsr unavailable; `xlmig sr-create lvsr
#      lvm xlmigvg` tags the VG (a second one is refused); B sees the VG
#      without any rescan, and `sr-list --json` shows lvsr ok with the
#      VG's uuid on both hosts.
#  (b) A PVH guest on A whose xvdb is a raw file in /var/lib/xen/images
#      (6 MiB of data, 10 MiB with the hole: not a whole number of 4 MiB
#      extents) is moved with `xlmig storage-move --offline --yes
#      --save-dir /tmp GUEST xvdb lvsr`: it runs again on A, once, with
#      the same boot, counting on; xvdb is a blkback (phy) disk on
#      /dev/xlmigvg/lv1-xvdb, the VG's only LV, active, without an
#      xlmig_job_ tag, at least as large as the source, whose first
#      10 MiB have the source's sha256; the source file and the save
#      image are gone; A's sr-list names the disk in lvsr.
#  (c) The guest is halted (destroyed) and its config names the LV,
#      active on A; `xlmig migrate --config CFG GUEST B` cold-migrates it
#      and hands the LV over: deactivated on A first, activated
#      (exclusively) by B to check the config. The config moves to B's
#      /etc/xen (naming the LV), A's file is gone, the LV is inactive on
#      A and active on B, no domain starts; on B `xl create` starts the
#      guest, which counts on the LV with the same content.
# The test removes the VG (and restores both hosts' xlmig.conf) when it
# ends, so later tests see an empty shared disk.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

B_IP=$(lab_ip B)
VG=xlmigvg
SR=lvsr
G=lv1
SRC=/var/lib/xen/images/$G-xvdb.img
LV=$G-xvdb # the source's base name without .img
LVP=/dev/$VG/$LV
DATA_MIB=6
SIZE=$((10 << 20)) # the source's size: 10 MiB, 2.5 extents
XVDB=51728         # xl block-list's Vdev of xvdb
CONF=/etc/xen/xlmig.conf
CONF_SAVED=/root/xlmig-t98.conf.orig
# LVM warns about every fd it inherits (the lab agent's among them).
LVMENV='export LVM_SUPPRESS_FD_WARNINGS=1'
DA=

# lv_cleanup: at exit, pass or fail: no guest, the LV inactive on B, the
# VG gone from the shared disk, both hosts' xlmig.conf as they were.
lv_cleanup() {
	local h
	trap - EXIT
	LAB_SH_TIMEOUT=60 lab_sh B "$LVMENV
xl destroy $G 2>/dev/null
vgchange -an $VG 2>/dev/null
rm -f /etc/xen/$G.cfg" >/dev/null 2>&1 || true
	LAB_SH_TIMEOUT=60 lab_sh A "$LVMENV
xl destroy $G 2>/dev/null
vgchange -an $VG 2>/dev/null
vgremove -ff -y $VG 2>/dev/null
if [ -n '$DA' ]; then pvremove -ff -y '$DA' 2>/dev/null; wipefs -a -q '$DA' 2>/dev/null; fi
rm -f $SRC /root/guest/$G.cfg" >/dev/null 2>&1 || true
	for h in A B; do
		LAB_SH_TIMEOUT=30 lab_sh "$h" "if [ -e $CONF_SAVED ]; then mv -f $CONF_SAVED $CONF; else rm -f $CONF; fi" \
			>/dev/null 2>&1 || true
	done
}

# lv_lvs HOST: the VG's LVs on HOST, one "name|active|tags" line each.
lv_lvs() {
	lab_sh "$1" "$LVMENV
lvs --noheadings --separator '|' -o lv_name,lv_active,lv_tags $VG | sed 's/^ *//'" 30
}

# lv_head_sum HOST DEV: sha256 of the first SIZE bytes of DEV on HOST.
lv_head_sum() {
	local s
	s=$(lab_sh "$1" "set -o pipefail; head -c $SIZE '$2' | sha256sum" 60) || lab_fail "cannot read $2 on $1"
	echo "${s%% *}"
}

# lv_disk HOST DOMAIN: DOMAIN's xvdb on HOST is a connected blkback
# disk on the LV's device (params $LVP, physical-device its major:minor).
lv_disk() {
	local h=$1 dom=$2 out be params pdev hp want
	out=$(lab_sh "$h" "xl block-list $dom" 30) || lab_fail "xl block-list $dom failed on $h"
	printf '%s\n' "$out" >&2
	be=$(awk -v v=$XVDB '$1 == v { print $NF }' <<<"$out")
	[ -n "$be" ] || lab_fail "xl block-list $dom on $h shows no xvdb ($XVDB)"
	out=$(lab_sh "$h" "for k in params physical-device hotplug-status type; do
	echo \"\$k=\$(xenstore-read $be/\$k)\"
done
echo \"want=\$(stat -L -c '%t:%T' $LVP)\"" 30) || lab_fail "cannot read $dom's xvdb backend $be on $h"
	params=$(sed -n 's/^params=//p' <<<"$out")
	pdev=$(sed -n 's/^physical-device=//p' <<<"$out")
	hp=$(sed -n 's/^hotplug-status=//p' <<<"$out")
	want=$(sed -n 's/^want=//p' <<<"$out")
	[ "$params" = "$LVP" ] || lab_fail "$dom's xvdb on $h is '$params', not $LVP"
	[ "$hp" = connected ] || lab_fail "$dom's xvdb on $h: hotplug-status '$hp'"
	if [ -z "$want" ] || [ "$pdev" != "$want" ]; then
		lab_fail "$dom's xvdb on $h: backend device '$pdev', $LVP is '$want'"
	fi
	lab_log "$dom's xvdb on $h: blkback on $params ($pdev)"
}

trap lv_cleanup EXIT

# --- the shared disk ------------------------------------------------------------
DA=$(lab_shared_disk A)
DB=$(lab_shared_disk B)
for h in A B; do
	if [ "$h" = A ]; then d=$DA; else d=$DB; fi
	out=$(lab_sh "$h" "$LVMENV
grep -qw '^dm_mod' /proc/modules || { echo 'dm_mod not loaded'; exit 1; }
test -c /dev/mapper/control || { echo 'no /dev/mapper/control'; exit 1; }
lvm version >/dev/null || { echo 'no lvm'; exit 1; }
blockdev --getsize64 $d" 30) || lab_fail "host $h: no LVM on its shared disk $d: $out"
	lab_log "host $h: shared disk $d, $out bytes; dm_mod, /dev/mapper/control, lvm there"
done
token=t98-$RANDOM$RANDOM
off=$(((256 << 20) / 4096 - 1)) # the last 4 KiB (of 256 MiB)
lab_sh A "printf %s $token | dd of=$DA bs=4096 seek=$off oflag=direct conv=sync,notrunc status=none" 30 ||
	lab_fail "A cannot write its shared disk $DA"
got=$(lab_sh B "dd if=$DB bs=4096 skip=$off count=1 iflag=direct status=none | tr -d '\\000'" 30) ||
	lab_fail "B cannot read its shared disk $DB"
[ "$got" = "$token" ] || lab_fail "B reads '$got' from the shared disk, A wrote $token"
lab_log "A's $DA and B's $DB are the same blocks"

# --- (a) the VG and the SR --------------------------------------------------------
lab_sh A "$LVMENV
pvcreate -y $DA && vgcreate $VG $DA" 60 || lab_fail "pvcreate/vgcreate $VG on A's $DA failed"
for h in A B; do
	lab_sh "$h" "set -e
if [ -e $CONF ]; then cp -a $CONF $CONF_SAVED; fi
cat >$CONF <<'EOF'
# t-xlmig-98-lvm
sr = [ \"$SR:lvm:$VG\" ]
EOF" 30 || lab_fail "cannot write $CONF on $h"
done
json=$(xlmig_sr_list A lv-srlist) || lab_fail "xlmig sr-list --json failed on A"
printf '%s\n' "$json"
st=$(xlmig_sr_field "$json" "$SR" state)
case $st in unavailable:*) ;; *) lab_fail "before sr-create, A's $SR is '$st', not unavailable" ;; esac
lab_log "before sr-create, A's $SR: $st"
lab_sh A "xlmig sr-create $SR lvm $VG" 60 || lab_fail "xlmig sr-create $SR lvm $VG failed on A"
rc=0
out=$(lab_sh A "xlmig sr-create $SR lvm $VG" 60) || rc=$?
printf '%s\n' "$out"
[ "$rc" -ne 0 ] || lab_fail "a second sr-create of $SR succeeded"
uuid=
for h in A B; do
	# B: no pvscan --cache or vgscan: lvm reads the disk each time.
	out=$(lab_sh "$h" "$LVMENV
vgs --noheadings --separator '|' -o vg_uuid,vg_tags $VG | sed 's/^ *//'" 30) ||
		lab_fail "host $h does not see the VG $VG"
	u=${out%%|*}
	case ",${out#*|}," in *,xlmig_sr,*) ;; *) lab_fail "host $h: VG $VG has the tags '${out#*|}', no xlmig_sr" ;; esac
	json=$(xlmig_sr_list "$h" lv-srlist) || lab_fail "xlmig sr-list --json failed on $h"
	printf '%s: %s\n' "$h" "$json"
	st=$(xlmig_sr_field "$json" "$SR" state)
	su=$(xlmig_sr_field "$json" "$SR" uuid)
	[ "$st" = ok ] || lab_fail "$h's $SR is '$st' after sr-create"
	[ "$su" = "$u" ] || lab_fail "$h's $SR has uuid '$su', its VG $VG '$u'"
	[ -z "$uuid" ] || [ "$su" = "$uuid" ] || lab_fail "$SR has uuid $uuid on A but $su on B"
	uuid=$su
done
lab_log "RESULT: (a) $SR (VG $VG) is ok on A and B with the same identity $uuid"

# --- (b) storage-move --offline into the LVM SR -----------------------------------
sum=$(lab_sh A "mkdir -p ${SRC%/*} && head -c ${DATA_MIB}M /dev/urandom >$SRC && truncate -s $SIZE $SRC && sha256sum <$SRC" 60) ||
	lab_fail "cannot write $SRC on A"
sum=${sum%% *}
lab_guest_create A "$G" "disk=['format=raw,vdev=xvdb,access=rw,target=$SRC']"
out=$(lab_sh A "xl block-list $G" 30) || lab_fail "xl block-list $G failed on A"
awk -v v=$XVDB '$1 == v { f = 1 } END { exit !f }' <<<"$out" || lab_fail "$G has no xvdb on A: $out"
boot=$(lab_guest_boot A "$G")
xlmig_expect_counting A "$G" -1 >/dev/null
last=$(lab_counter A "$G")

xlmig_offline_move A "$G" "--save-dir /tmp $G xvdb $SR" "$LAB_RUN_DIR/lv-move.out"
t_move=$LAB_ELAPSED_MS
lv_disk A "$G"
lvs_a=$(lv_lvs A) || lab_fail "lvs $VG failed on A"
printf '%s\n' "$lvs_a"
[ "$(wc -l <<<"$lvs_a")" -eq 1 ] || lab_fail "after storage-move, VG $VG holds: $(paste -sd ' ' <<<"$lvs_a")"
IFS='|' read -r n act tags <<<"$lvs_a"
[ "$n" = "$LV" ] || lab_fail "after storage-move, the VG's LV is '$n', not $LV"
[ "$act" = active ] || lab_fail "after storage-move, $LV is '$act' on A, not active"
case ",$tags," in *,xlmig_job_*) lab_fail "$LV keeps the job tag(s) '$tags'" ;; esac
lvsize=$(lab_sh A "blockdev --getsize64 $LVP" 30) || lab_fail "blockdev $LVP failed on A"
[ "$lvsize" -ge "$SIZE" ] || lab_fail "$LVP has $lvsize bytes, the source $SIZE"
[ "$lvsize" -eq "$SIZE" ] ||
	lab_log "note: $LVP has $lvsize bytes for a $SIZE-byte source (extent rounding): $G's xvdb grew"
s=$(lv_head_sum A "$LVP")
[ "$s" = "$sum" ] || lab_fail "the first $SIZE bytes of $LVP have sha256 $s, the source had $sum"
lab_sh A "test ! -e $SRC" 30 || lab_fail "after storage-move, the source $SRC is still there"
l=$(lab_sh A "ls -A /tmp | grep '^\\.xlmig-save' | paste -sd ' ' -" 30)
[ -z "$l" ] || lab_fail "after storage-move, /tmp on A holds $l"
b2=$(lab_guest_boot A "$G")
[ "$b2" = "$boot" ] || lab_fail "$G booted again (boot $boot -> $b2): not restored"
c=$(xlmig_expect_counting A "$G" "$last")
json=$(xlmig_sr_list A lv-srlist) || lab_fail "xlmig sr-list --json failed on A"
d=$(xlmig_json_get "$json" "[(s['name'], x['domain'], x['vdev'], x['path']) for s in j for x in s['disks']]")
[ "$d" = "[('$SR', '$G', 'xvdb', '$LVP')]" ] || lab_fail "A's sr-list after the move: disks $d"
lab_log "$G: counter $last -> $c on $LVP, same boot $boot"
lab_log "RESULT: (b) storage-move --offline of $G's 10 MiB xvdb into $SR $(xlmig_secs "$t_move") s"

# --- (c) cold migration of the halted guest, its disk on the LV -------------------
lab_sh A "xl destroy $G" 60 || lab_fail "xl destroy $G failed on A"
xlmig_expect_no_domains A 30
cfg=$(lab_guest_cfg "$G" "disk=['format=raw,vdev=xvdb,access=rw,target=$LVP']")
lab_sh A "cat >/root/guest/$G.cfg <<'LAB_EOF'
$cfg
LAB_EOF" 30 || lab_fail "cannot write /root/guest/$G.cfg on A"
lab_sh B "test ! -e /etc/xen/$G.cfg" 30 || lab_fail "B has a /etc/xen/$G.cfg already"
# The LV is active here (the move left it so); xlmig hands it over:
# deactivated on A before B, which activates it to check the config.
lab_sh A "test -b $LVP" 30 || lab_fail "$LVP is not active on A before the cold migration"
rc=0
lab_timed A "xlmig migrate --config /root/guest/$G.cfg $G $B_IP" 600 >"$LAB_RUN_DIR/lv-cold.out" || rc=$?
cat "$LAB_RUN_DIR/lv-cold.out"
[ "$rc" -eq 0 ] || lab_fail "xlmig migrate --config of $G (its LV active on A) exited with $rc: $(xlmig_why "$LAB_RUN_DIR/lv-cold.out")"
t_cold=$LAB_ELAPSED_MS
lab_sh A "test ! -e /root/guest/$G.cfg" 30 || lab_fail "A still has /root/guest/$G.cfg after the cold migration"
for h in A B; do
	if lab_domain_exists "$h" "$G"; then lab_fail "the cold migration started $G on $h"; fi
done
out=$(lab_sh B "cat /etc/xen/$G.cfg" 30) || lab_fail "B has no /etc/xen/$G.cfg after the cold migration"
printf '%s\n' "$out"
grep -qE "^disk *=.*target=$LVP'" <<<"$out" || lab_fail "B's /etc/xen/$G.cfg does not name $LVP"
lvs_a=$(lv_lvs A) || lab_fail "lvs $VG failed on A"
IFS='|' read -r n act tags <<<"$lvs_a"
if [ "$n" != "$LV" ] || [ -n "$act" ]; then
	lab_fail "after the cold migration A's LVs are: $lvs_a (want $LV, inactive)"
fi
lab_sh B "test -b $LVP" 60 || lab_fail "$LVP is not active on B after the cold migration"
s=$(lv_head_sum B "$LVP")
[ "$s" = "$sum" ] || lab_fail "on B the first $SIZE bytes of $LVP have sha256 $s, the source had $sum"
lvs_b=$(lv_lvs B) || lab_fail "lvs $VG failed on B"
IFS='|' read -r n act tags <<<"$lvs_b"
if [ "$n" != "$LV" ] || [ "$act" != active ]; then
	lab_fail "on B the VG's LVs are: $lvs_b (want $LV, active)"
fi
case ",$tags," in *,xlmig_job_*) lab_fail "on B $LV has the job tag(s) '$tags'" ;; esac
lab_sh B "xl create /etc/xen/$G.cfg" 120 || lab_fail "xl create /etc/xen/$G.cfg failed on B"
xlmig_wait_running B "$G" 60
xlmig_expect_only B "$G"
if lab_domain_exists A "$G"; then lab_fail "$G runs on A too"; fi
c=$(xlmig_expect_counting B "$G" -1)
lv_disk B "$G"
lab_log "$G counts on B ($c) on $LVP"
lab_log "RESULT: (c) cold migration of $G (disk on $LVP) $(xlmig_secs "$t_cold") s"
