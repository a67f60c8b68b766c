# shellcheck shell=bash
# t-xlmig-60-stream-info.sh - `xlmig stream-info` on real `xl save` images.
# A PVH and a PV guest on A (the PV one is lab_guest_cfg's template with
# type=pv: Debian's kernel boots as a PV domU) are saved, one at a time,
# to /tmp in A's dom0 (a 446 MB tmpfs; / is too small for an image).
# stream-info must report the guest type, a single round (xl save is not
# live: one ascending pass over the pfns), as many data pages as Xen said
# the guest owned just before the save, a well-formed end, no trailing
# bytes and the file's size. The PV image is then restored and must
# count on, with the same boot id.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

# Pages that may separate the stream's data pages from Xen's count of the
# guest's pages (xentop MEM(k) / 4, i.e. tot_pages): Xen-heap frames that
# Xen maps into an HVM/PVH guest's physmap (shared info, grant table; 2
# here) are in the p2m but not in tot_pages. Ballooned-out or never
# populated pfns are in neither: libxc sends them as XTAB, without data.
# On this lab both guest types measured an exact match.
SI_SLACK_PAGES=64
# libxl sets maxmem to max_memkb + LIBXL_MAXMEM_CONSTANT (1 MiB): the
# guest cannot own more, so neither can its image hold more data.
SI_MAXMEM_SLACK_PAGES=256

# si_get JSON EXPR: EXPR (Python, over the parsed object j) of a
# stream-info --json output, parsed here on the lab's host: dom0 has no
# python.
si_get() {
	python3 -c 'import json, sys
j = json.loads(sys.argv[1])
print(eval(sys.argv[2]))' "$1" "$2"
}

# si_check NAME TYPE: save guest NAME (running on A) to /tmp/NAME.save and
# check what stream-info says about it.
si_check() {
	local name=$1 type=$2 f=/tmp/$1.save
	local pages maxkb size json data pfns
	pages=$(lab_sh A "xentop -b -i 1 | awk '\$1 == \"$name\" { printf \"%d\\n\", \$5 / 4 }'" 30)
	maxkb=$(lab_sh A "xl list -l '$name' | sed -n 's/^ *\"max_memkb\": \\([0-9]*\\),*\$/\\1/p' | head -n1" 30)
	[ -n "$pages" ] && [ -n "$maxkb" ] ||
		lab_fail "no page count ('$pages') or max_memkb ('$maxkb') for $name"
	lab_timed A "xl save '$name' $f" 600 || lab_fail "xl save $name failed"
	lab_log "xl save $name: $(xlmig_secs "$LAB_ELAPSED_MS") s"
	lab_sh A "xlmig stream-info $f" 60 || lab_fail "stream-info $name failed"
	json=$(lab_sh A "xlmig stream-info --json $f" 60) ||
		lab_fail "stream-info --json $name failed"
	printf '%s\n' "$json"
	si_get "$json" 'j["end"]' >/dev/null || lab_fail "$name: invalid JSON"
	size=$(lab_sh A "stat -c %s $f" 30)
	data=$(si_get "$json" 'j["data_pages"]')
	pfns=$(si_get "$json" 'j["pfns"]')
	lab_log "$name: $data data pages, $pfns pfns; Xen's count $pages pages, max_memkb $maxkb; image $size bytes"
	# The same through a pipe.
	lab_sh A "cat $f | xlmig stream-info --json - | grep -q '\"data_pages\": $data,'" 60 ||
		lab_fail "stream-info - (stdin) disagrees on $name"
	[ "$(si_get "$json" 'j["guest_type"]')" = "$type" ] ||
		lab_fail "$name: guest type $(si_get "$json" 'j["guest_type"]'), expected $type"
	[ "$(si_get "$json" 'j["domain"]["name"]')" = "$name" ] ||
		lab_fail "$name: stream-info names the domain $(si_get "$json" 'j["domain"]')"
	[ "$(si_get "$json" 'j["end"]')" = True ] ||
		lab_fail "$name: no well-formed end"
	[ "$(si_get "$json" 'j["trailing_bytes"]')" = 0 ] ||
		lab_fail "$name: $(si_get "$json" 'j["trailing_bytes"]') trailing bytes"
	[ "$(si_get "$json" 'j["total_bytes"]')" = "$size" ] ||
		lab_fail "$name: total_bytes $(si_get "$json" 'j["total_bytes"]'), the file has $size"
	[ "$(si_get "$json" 'j["rounds"]')" = 1 ] ||
		lab_fail "$name: $(si_get "$json" 'j["rounds"]') rounds in a non-live save"
	[ "$data" -ge $((pages - SI_SLACK_PAGES)) ] &&
		[ "$data" -le $((pages + SI_SLACK_PAGES)) ] ||
		lab_fail "$name: $data data pages, Xen counted $pages (+-$SI_SLACK_PAGES)"
	[ "$data" -le $((maxkb / 4 + SI_MAXMEM_SLACK_PAGES)) ] ||
		lab_fail "$name: $data data pages, over max_memkb $maxkb + 1 MiB"
	[ "$pfns" -ge "$data" ] || lab_fail "$name: fewer pfns than data pages"
}

lab_guest_create A si-pvh
lab_guest_create A si-pv type=pv
xlmig_expect_counting A si-pvh -1 >/dev/null
c0=$(xlmig_expect_counting A si-pv -1)
boot=$(lab_guest_boot A si-pv)

si_check si-pvh PVH
lab_sh A "rm -f /tmp/si-pvh.save" 30
si_check si-pv PV
last=$(lab_counter A si-pv)

lab_timed A "xl restore /tmp/si-pv.save" 600 || lab_fail "xl restore failed"
lab_log "xl restore si-pv: $(xlmig_secs "$LAB_ELAPSED_MS") s"
lab_sh A "rm -f /tmp/si-pv.save" 30
xlmig_wait_running A si-pv 60
c1=$(xlmig_expect_counting A si-pv "$last")
[ "$(lab_guest_boot A si-pv)" = "$boot" ] ||
	lab_fail "si-pv rebooted instead of resuming from its image"
lab_log "si-pv counted $c0..$last before the save, $c1 after the restore"
