# shellcheck shell=bash
# lab-migrate.sh - benchmark on real Xen (tests/lab): one PVH guest is
# migrated back and forth between the two lab hosts by stock `xl migrate`
# and `xlmig migrate` in ABBA order (BENCH_PAIRS pairs, default 4: xl
# A->B, xlmig B->A, xlmig A->B, xl B->A, ...), so each tool moves the same
# guest between the same hosts in both directions in the same run; the
# medians are printed with their ratio. The lab (TCG) is noisy: single
# migrations of the same guest vary by about 30 %.
#
#   bench/run-lab-migrate           (builds, installs into the lab, runs)
#
# Sourced by tests/lab/run-lab.sh like a test.
# shellcheck source=../tests/lab/xlmig-lib.sh
. "$LAB_DIR/xlmig-lib.sh"

: "${BENCH_PAIRS:=4}"

# bench_median MS...: the median of the arguments.
bench_median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

lab_guest_create A lab1
xlmig_expect_counting A lab1 -1 >/dev/null
from=A
to=B
t_xl=()
t_xlmig=()
for ((i = 1; i <= BENCH_PAIRS; i++)); do
	order="xl xlmig"
	[ $((i % 2)) -eq 1 ] || order="xlmig xl"
	for tool in $order; do
		lab_timed "$from" "$tool migrate lab1 $(lab_ip "$to")" 600 >/dev/null ||
			lab_fail "$tool migrate $from -> $to failed"
		xlmig_expect_running "$to" lab1
		lab_log "pair $i: $tool $from -> $to $(xlmig_secs "$LAB_ELAPSED_MS") s"
		if [ "$tool" = xl ]; then t_xl+=("$LAB_ELAPSED_MS"); else t_xlmig+=("$LAB_ELAPSED_MS"); fi
		tmp=$from
		from=$to
		to=$tmp
	done
done
m_xl=$(bench_median "${t_xl[@]}")
m_xlmig=$(bench_median "${t_xlmig[@]}")
lab_log "RESULT: xl migrate runs (ms): ${t_xl[*]}"
lab_log "RESULT: xlmig migrate runs (ms): ${t_xlmig[*]}"
lab_log "RESULT: median xl $(xlmig_secs "$m_xl") s, median xlmig $(xlmig_secs "$m_xlmig") s, xlmig/xl $((m_xlmig * 100 / m_xl)) %"
