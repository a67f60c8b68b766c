# shellcheck shell=bash
# t-xlmig-85-downtime.sh - downtime on request: a guest that dirties
# memory faster than the lab link carries it (domu/dirtier.c: 8 MiB/s over
# a 16 MiB working set, taking half its vCPU, incompressible pages) with an
# original scheduler cap of 95, its downtime measured inside the guest
# (its CLOCK_BOOTTIME gap across the migration, the two hosts' clocks set
# to agree first: lab_sync_clocks):
#  - `xl migrate` A -> B: libxc's policy (5 rounds) stops with the working
#    set dirty; its downtime is over the 300 ms xlmig is asked for;
#  - `xlmig migrate --max-downtime 300 --converge=throttle` B -> A: xlmig
#    throttles the guest with its scheduler cap until it converges; the
#    downtime is within the limit and well under xl's; the cap is 95 again
#    on A (the cap journaled and restored, the config read before the
#    throttle), the guest counts on;
#  - `xlmig migrate --converge=abort` A -> B, asking for 20 ms in 3
#    rounds: it fails before the guest is paused, naming the rates, and
#    the guest runs on at A with its cap;
#  - `xlmig migrate --no-live` A -> B: the guest counts on there, cap 95.
# The limit is XLMIG_LAB_DOWNTIME_MS (2500): under QEMU/TCG the lab's
# suspend, last records, restore and unpause alone take 1-1.5 s of the
# guest's time whatever the policy (measured: 1.3-3 s for an idle guest
# with xl on a loaded machine), so 300 ms cannot be met here; the test
# asks for 300 and checks what throttling can be held to: the limit, and
# at most 2/3 of xl's downtime (measured: 0.9-2.0 s against xl's 4.5-4.8 s;
# the test takes 4.5-6 min).  The figures go to the log as RESULT
# lines (total wall time, downtime, the guest-side freeze in it, noise).
# shellcheck source=xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

: "${XLMIG_LAB_DOWNTIME_MS:=2500}"
RATE=8 WSS=16 CPU=50 CAP=95

offset=$(lab_sync_clocks)
lab_log "B's clock set to A's: $offset us apart"
lab_guest_create A lab1 "$(lab_dirty_cmdline "$RATE" "$WSS" "$CPU")" cap="$CAP"
c0=$(xlmig_expect_counting A lab1 -1)
cap=$(xlmig_sched_cap A lab1)
[ "$cap" = "$CAP" ] || lab_fail "lab1's cap on A is '$cap', not $CAP as configured"

# result LABEL: log the figures of the last xlmig_timed_gap.
result() {
	lab_log "RESULT: $1: total $(xlmig_secs "$XLMIG_TOTAL_MS") s, downtime $XLMIG_GAP_MS ms (guest freeze and thaw $XLMIG_GAP_MONO ms), noise before $XLMIG_NOISE_MS ms${2:+, $2}"
}

xlmig_timed_gap A B lab1 "xl migrate lab1 $(lab_ip B)" /share/m85-xl.log ||
	lab_fail "xl migrate failed: $(tail -n 2 "$LAB_RUN_DIR/A/share/m85-xl.log")"
result "xl migrate ($RATE MiB/s over $WSS MiB)"
t_xl=$XLMIG_GAP_MS
# xl must miss what xlmig is asked for, or nothing tells them apart (on a
# quiet machine xl's is 1.9 s, on a loaded one 4.5-4.8 s).
[ "$t_xl" -gt 300 ] ||
	lab_fail "xl's downtime $t_xl ms meets the 300 ms asked of xlmig: the guest does not dirty enough to tell the policies apart"
xlmig_expect_no_domains A 30
c1=$(xlmig_expect_counting B lab1 "$(lab_counter A lab1)")

log=$LAB_RUN_DIR/B/share/m85-xlmig.log
xlmig_timed_gap B A lab1 \
	"xlmig migrate --max-downtime 300 --converge=throttle lab1 $(lab_ip A)" \
	/share/m85-xlmig.log || lab_fail "xlmig migrate failed: $(xlmig_why "$log")"
said=$(grep -ao 'migrated lab1 .*' "$log") || said=
result "xlmig migrate --max-downtime 300 --converge=throttle" "xlmig: ${said:-?}"
t_xlmig=$XLMIG_GAP_MS
grep -q 'throttled' "$log" ||
	lab_fail "xlmig never throttled lab1: $(grep -v 'progress' "$log" | tail -n 3)"
[ "$t_xlmig" -le "$XLMIG_LAB_DOWNTIME_MS" ] ||
	lab_fail "xlmig's downtime $t_xlmig ms (guest freeze $XLMIG_GAP_MONO ms) is over $XLMIG_LAB_DOWNTIME_MS ms (xl: $t_xl ms)"
[ $((t_xlmig * 3)) -le $((t_xl * 2)) ] ||
	lab_fail "xlmig's downtime $t_xlmig ms is not under 2/3 of xl's $t_xl ms"
xlmig_expect_no_domains B 30
xlmig_expect_only A lab1
cap=$(xlmig_sched_cap A lab1)
[ "$cap" = "$CAP" ] || lab_fail "lab1's cap on A after xlmig is '$cap', not its original $CAP"
c2=$(xlmig_expect_counting A lab1 "$(lab_counter B lab1)")

# converge=abort: 20 ms cannot be had in 3 rounds; the migration fails
# before the guest is paused, naming the rates (or the fixed cost), and
# libxl's after-effects of the helper's abort ("domain did not respond
# to suspend request") stay out of what the admin reads; lab1 runs on
# here with its own cap, B has nothing.
rc=0
lab_sh A "xlmig migrate --max-downtime 20 --converge=abort --max-rounds 3 lab1 $(lab_ip B) >/share/m85-abort.log 2>&1" 600 || rc=$?
log=$LAB_RUN_DIR/A/share/m85-abort.log
[ "$rc" -ne 0 ] || lab_fail "converge=abort: the migration succeeded: $(tail -n 2 "$log")"
grep -Eq 'does not converge.*(dirties [0-9.]+ MB/s, the link carries|alone exceeds the 20 ms)' "$log" ||
	lab_fail "converge=abort: no E_CONVERGE naming the rates: $(tail -n 3 "$log")"
! grep -q 'did not respond to suspend' "$log" ||
	lab_fail "converge=abort: libxl's after-effect shown: $(grep 'did not respond' "$log")"
lab_log "RESULT: converge=abort: $(grep -m1 'does not converge' "$log")"
xlmig_expect_no_domains B 30
xlmig_expect_only A lab1
cap=$(xlmig_sched_cap A lab1)
[ "$cap" = "$CAP" ] || lab_fail "lab1's cap on A after the abort is '$cap', not $CAP"
c2=$(xlmig_expect_counting A lab1 "$c2")

xlmig_timed_gap A B lab1 "xlmig migrate --no-live lab1 $(lab_ip B)" \
	/share/m85-nolive.log ||
	lab_fail "xlmig migrate --no-live failed: $(xlmig_why "$LAB_RUN_DIR/A/share/m85-nolive.log")"
said=$(grep -ao 'migrated lab1 .*' "$LAB_RUN_DIR/A/share/m85-nolive.log") || said=
result "xlmig migrate --no-live" "xlmig: ${said:-?}"
xlmig_expect_no_domains A 30
xlmig_expect_only B lab1
c3=$(xlmig_expect_counting B lab1 "$(lab_counter A lab1)")
cap=$(xlmig_sched_cap B lab1)
[ "$cap" = "$CAP" ] || lab_fail "lab1's cap on B after --no-live is '$cap', not $CAP"
lab_log "lab1 counted $c0 on A, $c1 on B, $c2 on A, $c3 on B; cap $CAP throughout"
