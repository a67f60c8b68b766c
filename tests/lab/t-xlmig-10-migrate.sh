# shellcheck shell=bash
# t-xlmig-10-migrate.sh - (a) xlmig -> xlmig live migration of a PVH guest,
# timed against stock xl in the same run on the same guest and hosts:
# `xl migrate` A -> B, then `xlmig migrate` B -> A. After xlmig the guest
# runs on A only, unpaused, under its own name, its counter going on past
# the last value B showed, with an xlmig monitor watching it.
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

lab_guest_create A lab1
c0=$(xlmig_expect_counting A lab1 -1)

lab_timed A "xl migrate lab1 $(lab_ip B)" 600 || lab_fail "xl migrate failed"
t_xl=$LAB_ELAPSED_MS
xlmig_expect_no_domains A 30
xlmig_expect_running B lab1
c1=$(xlmig_expect_counting B lab1 "$c0")

lab_timed B "xlmig migrate lab1 $(lab_ip A)" 600 ||
	lab_fail "xlmig migrate failed"
t_xlmig=$LAB_ELAPSED_MS
xlmig_expect_no_domains B 30
xlmig_expect_running A lab1
xlmig_expect_only A lab1
last_b=$(lab_counter B lab1)
[ "$last_b" -ge "$c1" ] || lab_fail "B's last counter $last_b is below $c1"
c2=$(xlmig_expect_counting A lab1 "$last_b")
lab_log "lab1 counted $c0 on A, $c1..$last_b on B, then $c2 on A again"
lab_sh A "pgrep -af 'xlmig monitor'" 30 ||
	lab_fail "no xlmig monitor watches lab1 on A"

lab_log "RESULT: xl migrate $(xlmig_secs "$t_xl") s, xlmig migrate $(xlmig_secs "$t_xlmig") s, ratio xlmig/xl $((t_xlmig * 100 / t_xl)) %"
