# shellcheck shell=bash
# capture-image.sh - captures a real guest's save image for the transport
# benchmark (bench/transport, row d): the standard PVH guest is started
# on A, runs for about CAPTURE_RUN_S seconds (its counter passes that
# value), is saved with `xl save` to /tmp in A's dom0 and copied out
# through the share. xl's save header (48 bytes + the config) is cut
# off, so the file holds the raw libxl stream, starting at "LibxlFmt",
# as a migration carries it:
#
#   bash tests/lab/run-lab.sh capture-image
#
# Output: $XLMIG_LAB_CACHE/guest-save.stream (default
# /var/cache/xlmig-lab), replaced atomically. Run by name only, like
# demo-migrate. Tunables: CAPTURE_RUN_S (20), CAPTURE_OUT (the output).
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

: "${CAPTURE_RUN_S:=20}"
: "${CAPTURE_OUT:=${XLMIG_LAB_CACHE:-/var/cache/xlmig-lab}/guest-save.stream}"
CAPTURE_NAME=cap1
CAPTURE_SHARE=$LAB_RUN_DIR/A/share

# capture_u32le FILE OFFSET: the little-endian u32 at OFFSET of FILE.
capture_u32le() {
	od -An -t u4 --endian=little -j "$2" -N 4 "$1" | tr -d ' '
}

lab_guest_create A "$CAPTURE_NAME"
c=$(lab_wait_counter A "$CAPTURE_NAME" "$CAPTURE_RUN_S" $((CAPTURE_RUN_S + 60))) ||
	lab_fail "$CAPTURE_NAME did not count past $CAPTURE_RUN_S"
lab_log "$CAPTURE_NAME counted to $c; saving it"
lab_timed A "xl save $CAPTURE_NAME /tmp/$CAPTURE_NAME.save" 600 ||
	lab_fail "xl save $CAPTURE_NAME failed"
lab_log "xl save $CAPTURE_NAME: $(xlmig_secs "$LAB_ELAPSED_MS") s"
lab_sh A "cp /tmp/$CAPTURE_NAME.save /share/$CAPTURE_NAME.save &&
	rm -f /tmp/$CAPTURE_NAME.save" 600 ||
	lab_fail "cannot copy the image to the share"

save=$CAPTURE_SHARE/$CAPTURE_NAME.save
[ "$(head -c 27 "$save")" = "Xen saved domain, xl format" ] ||
	lab_fail "$save does not start with xl's save header"
[ "$(capture_u32le "$save" 32)" = $((0x01020304)) ] ||
	lab_fail "$save: not a little-endian save header"
# 48-byte header (magic, byte order, mandatory and optional flags,
# optional data length), then the optional data (the config), then the
# libxl stream (libxlmig/proto.h).
optlen=$(capture_u32le "$save" 44)
off=$((48 + optlen))
[ "$(dd if="$save" bs=1 skip="$off" count=8 status=none)" = LibxlFmt ] ||
	lab_fail "$save: no LibxlFmt at offset $off (optional data $optlen bytes)"
mkdir -p "$(dirname "$CAPTURE_OUT")"
tail -c "+$((off + 1))" "$save" >"$CAPTURE_OUT.tmp"
mv "$CAPTURE_OUT.tmp" "$CAPTURE_OUT"
rm -f "$save"
lab_log "RESULT: $CAPTURE_OUT: $(stat -c %s "$CAPTURE_OUT") bytes of libxl stream (save file header $off bytes cut off)"
