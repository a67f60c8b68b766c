# shellcheck shell=bash
# lab-migrate.sh - benchmark on real Xen (tests/lab): total time and
# downtime of stock `xl migrate`, `xlmig migrate` with its defaults and
# `xlmig migrate $BENCH_BEST` (default --data tcp --no-encrypt --compress
# auto), on the same PVH guest between the same two hosts in the same
# run, at each dirty rate of BENCH_RATES.
#
# For each rate (MiB/s; default "0 2 8"), a fresh guest dirties that much
# over a BENCH_WSS MiB working set (default 16; the pages incompressible,
# the rate taking about BENCH_CPU % of its vCPU, default 50: see
# tests/lab/domu/dirtier.c) and is moved back and forth in ABBA order,
# BENCH_PAIRS times (default 1): xl A->B, xlmig B->A, best A->B, best
# B->A, xlmig A->B, xl B->A, so each mode moves it once each way.  The
# downtime is the guest's own: its largest pause across the migration
# (CLOCK_BOOTTIME, the two hosts' clocks set to agree first); xlmig's own
# figure is printed beside it.  Per rate and mode the medians are printed,
# with their ratio to xl's, as RESULT lines.  The lab (TCG) is noisy:
# single migrations of the same guest vary by about 30 %, more when the
# machine is loaded.
#
#   bench/run-lab-migrate           (builds, installs into the lab, runs)
#
# Sourced by tests/lab/run-lab.sh like a test.
# lab-timeout: 5400
# shellcheck source=../tests/lab/xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

: "${BENCH_PAIRS:=1}" "${BENCH_RATES:=0 2 8}" "${BENCH_WSS:=16}" "${BENCH_CPU:=50}"
: "${BENCH_BEST:=--data tcp --no-encrypt --compress auto}"
BENCH_MODES="xl xlmig best"

# bench_median N...: the median of the arguments.
bench_median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# bench_cmd MODE TO: the command line of MODE moving lab1 to host TO.
bench_cmd() {
	case $1 in
	xl) echo "xl migrate lab1 $(lab_ip "$2")" ;;
	xlmig) echo "xlmig migrate lab1 $(lab_ip "$2")" ;;
	best) echo "xlmig migrate $BENCH_BEST lab1 $(lab_ip "$2")" ;;
	esac
}

# bench_pct A B: A as a percentage of B.
bench_pct() {
	if [ "${2:-0}" -gt 0 ]; then echo "$(($1 * 100 / $2)) %"; else echo "- %"; fi
}

lab_log "B's clock set to A's: $(lab_sync_clocks) us apart"
lab_log "modes: xl = xl migrate; xlmig = xlmig migrate; best = xlmig migrate $BENCH_BEST"
declare -A tot gap own
summary=()
for rate in $BENCH_RATES; do
	lab_reset >/dev/null
	lab_guest_create A lab1 "$(lab_dirty_cmdline "$rate" "$BENCH_WSS" "$BENCH_CPU")"
	xlmig_expect_counting A lab1 -1 >/dev/null
	for m in $BENCH_MODES; do tot[$m]='' gap[$m]='' own[$m]=''; done
	from=A
	to=B
	for ((i = 1; i <= BENCH_PAIRS; i++)); do
		for m in $BENCH_MODES $(echo "$BENCH_MODES" | tr ' ' '\n' | tac); do
			log=/share/bench-$rate-$m-$i-$from.log
			xlmig_timed_gap "$from" "$to" lab1 "$(bench_cmd "$m" "$to")" "$log" ||
				lab_fail "$m $from -> $to at $rate MiB/s failed: $(xlmig_why "$LAB_RUN_DIR/$from/share/${log#/share/}")"
			said=$(grep -aoE 'downtime [0-9]+ ms' "$LAB_RUN_DIR/$from/share/${log#/share/}" | grep -oE '[0-9]+') || said=
			lab_log "rate $rate pair $i: $m $from -> $to: total $(xlmig_secs "$XLMIG_TOTAL_MS") s, downtime $XLMIG_GAP_MS ms (freeze and thaw $XLMIG_GAP_MONO, noise $XLMIG_NOISE_MS${said:+, xlmig says $said})"
			tot[$m]+=" $XLMIG_TOTAL_MS"
			gap[$m]+=" $XLMIG_GAP_MS"
			[ -z "$said" ] || own[$m]+=" $said"
			tmp=$from
			from=$to
			to=$tmp
		done
	done
	line="rate $rate MiB/s:"
	for m in $BENCH_MODES; do
		# shellcheck disable=SC2086 # lists of numbers
		t=$(bench_median ${tot[$m]}) d=$(bench_median ${gap[$m]})
		[ "$m" != xl ] || { t_xl=$t d_xl=$d; }
		lab_log "RESULT: rate $rate MiB/s: $m runs: total (ms)${tot[$m]}; downtime (ms)${gap[$m]}${own[$m]:+; downtime xlmig reported (ms)${own[$m]}}"
		line+=" $m $(xlmig_secs "$t") s / $d ms"
		[ "$m" = xl ] || line+=" ($(bench_pct "$t" "$t_xl") / $(bench_pct "$d" "$d_xl") of xl)"
		line+=";"
	done
	summary+=("${line%;}")
done
for line in "${summary[@]}"; do lab_log "RESULT: median total / downtime: $line"; done
