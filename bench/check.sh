#!/usr/bin/env bash
# bench/check.sh - the regression gate: record a baseline, or check a build
# against it (make baseline, make bench-check).
#
#   bench/check.sh baseline    run the check profile, store it in BASELINE
#   bench/check.sh check       run it again, compare with BASELINE
#                              (bench/compare.sh); rerun the suspect points
#                              once and fail only on what the rerun confirms
#
# Environment: BASELINE (results/baseline), CHECK_RESULTS (results/check:
# where check runs go), BENCH (check), and everything bench/run.sh takes
# (MODELS, REPEATS, ...) and bench/compare.sh takes (THR_*). Each bench run
# takes /tmp/bench.lock itself (bench/run.sh); this script never holds it,
# so it cannot deadlock with it.
# Exit status: 0 no regression, 1 a confirmed regression, a missing point or
# a model of the baseline that cannot run here now (UNAVAILABLE), 2 the
# bench itself could not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$ROOT/bench"
BASELINE=${BASELINE:-$ROOT/results/baseline}
CHECK_RESULTS=${CHECK_RESULTS:-$ROOT/results/check}
export BENCH=${BENCH:-check}

die() {
	echo "check: $*" >&2
	exit 2
}

# bench RESULTS_DIR [VAR=VALUE...]: one bench run into RESULTS_DIR (no
# charts: the gate reads raw.csv); prints the run's folder.
bench() {
	local results=$1
	shift
	env "$@" RESULTS="$results" NO_REPORT=1 "$BENCH_DIR/run.sh" >&2 || die "the bench run failed"
	local run
	run=$(readlink "$results/latest") || die "no run in $results"
	awk -f "$BENCH_DIR/aggregate.awk" "$results/$run/raw.csv" >"$results/$run/agg.csv"
	echo "$results/$run"
}

case "${1:-}" in
baseline)
	run=$(bench "$CHECK_RESULTS")
	rm -rf "$BASELINE.new"
	mkdir -p "$(dirname "$BASELINE")"
	cp -a "$run" "$BASELINE.new"
	rm -rf "$BASELINE"
	mv "$BASELINE.new" "$BASELINE"
	echo "check: baseline recorded in $BASELINE (profile $BENCH, from $run)" >&2
	;;
check)
	[[ -f "$BASELINE/raw.csv" || -f "$BASELINE/agg.csv" ]] ||
		die "no baseline in $BASELINE: record one first (make baseline)"
	run=$(bench "$CHECK_RESULTS")
	rc=0
	SUSPECTS="$run/suspects.txt" "$BENCH_DIR/compare.sh" "$BASELINE" "$run" >"$run/check.md" || rc=$?
	((rc <= 1)) || die "the comparison failed"
	if ((rc == 1)) && [[ -s "$run/suspects.txt" ]]; then
		# Confirmation: the suspect points again, every model (the drift
		# needs them), the same repeats.
		workloads=$(awk 'NF == 3 { print $1 }' "$run/suspects.txt" | sort -u | tr '\n' ' ')
		points() { awk -v w="$1" '$1 == w { print $2 }' "$run/suspects.txt" | sort -nu | tr '\n' ' '; }
		echo "check: suspect points: $(awk '{ printf "%s%s %s %s", (NR > 1 ? ", " : ""), $3, $1, $2 }' "$run/suspects.txt"); rerunning them to confirm" >&2
		if grep -qx all "$run/suspects.txt"; then
			# Every model slower: the whole profile again.
			confirm=$(bench "$run/confirm")
		else
			confirm=$(bench "$run/confirm" WORKLOADS="$workloads" CLOSED_POINTS="$(points closed)" \
				CHURN_POINTS="$(points churn)" IDLE_POINTS="$(points idle)" SIZE_POINTS="$(points size)")
		fi
		rc=0
		"$BENCH_DIR/compare.sh" "$BASELINE" "$run" "$confirm" >"$run/check.md" || rc=$?
		((rc <= 1)) || die "the comparison failed"
	fi
	cat "$run/check.md"
	echo "check: report in $run/check.md" >&2
	exit "$rc"
	;;
*)
	echo "usage: bench/check.sh baseline|check" >&2
	exit 2
	;;
esac
