# shellcheck shell=bash
# t-xlmig-50-monitor.sh - after an xlmig migration the guest's lifecycle
# actions work on the destination as under xl: on_reboot "restart" brings
# it back as a new domain that boots and counts; on_crash "destroy"
# removes it, and the monitor then ends.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

lab_guest_create A lab1 on_reboot=restart on_crash=destroy
xlmig_expect_counting A lab1 -1 >/dev/null
lab_sh A "xlmig migrate lab1 $(lab_ip B)" 600 || lab_fail "xlmig migrate failed"
xlmig_expect_running B lab1
lab_sh B "pgrep -af 'xlmig monitor'" 30 || lab_fail "no xlmig monitor on B"

d1=$(lab_domid B lab1)
boot1=$(lab_guest_boot B lab1)
lab_sh B "xl sysrq lab1 b" 30 || lab_fail "xl sysrq b failed"
limit=$((SECONDS + 90))
while :; do
	d2=$(lab_domid B lab1 2>/dev/null) || d2=
	[ -n "$d2" ] && [ "$d2" != "$d1" ] && break
	[ "$SECONDS" -lt "$limit" ] ||
		lab_fail "lab1 was not restarted after a reboot (domid ${d2:-none})"
	sleep 1
done
xlmig_wait_running B lab1 90
xlmig_expect_running B lab1
limit=$((SECONDS + 90))
until boot2=$(lab_guest_boot B lab1 2>/dev/null) && [ -n "$boot2" ] &&
	[ "$boot2" != "$boot1" ]; do
	[ "$SECONDS" -lt "$limit" ] || lab_fail "lab1 did not boot again"
	sleep 1
done
xlmig_expect_counting B lab1 "$(lab_counter B lab1)" >/dev/null
lab_sh B "grep -a 'restarted lab1' /var/log/xen/xlmig-lab1.log" 30 ||
	lab_fail "the monitor log does not show the restart"
lab_log "reboot: lab1 restarted by the monitor as domain $d2 (was $d1)"

lab_sh B "xl sysrq lab1 c" 30 || lab_fail "xl sysrq c failed"
xlmig_expect_no_domains B 90
limit=$((SECONDS + 30))
while lab_sh B "pgrep -f 'xlmig monito[r]'" 30 >/dev/null; do
	[ "$SECONDS" -lt "$limit" ] || lab_fail "the monitor did not end"
	sleep 1
done
lab_log "crash: lab1 destroyed by the monitor, which then ended"
