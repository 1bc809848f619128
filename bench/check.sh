#!/usr/bin/env bash
# bench/check.sh - the regression gate: record a baseline, or check a build
# against it (make baseline, make bench-check), or against a git revision
# built apart (make bench-check BASE=<revision>: bench/paired.sh).
#
#   bench/check.sh baseline    run the check profile, store it in BASELINE,
#                              with the system calls per message
#                              (bench/syscalls.sh --gate)
#   bench/check.sh check       run it again, compare with BASELINE
#                              (bench/compare.sh); rerun the suspect points
#                              once and fail only on what the rerun confirms;
#                              compare the system calls per message
#                              (bench/compare-syscalls.awk)
#   BASE=REV bench/check.sh check
#                              the paired gate instead: bench/paired.sh REV
#
# One-repeat profiles are refused (exit 2): BENCH=smoke or quick, or
# REPEATS=1. One repeat has no interval, so there is no noise to judge a
# change against: such a gate fails on noise (or passes by luck).
#
# Environment: BASELINE (results/baseline), CHECK_RESULTS (results/check:
# where check runs go), BENCH (check), GATE_SYSCALLS (1; 0 skips the system
# call count), and everything bench/run.sh takes (MODELS, REPEATS, ...) and
# bench/compare.sh takes (THR_*). Each bench run takes /tmp/bench.lock
# itself (bench/run.sh, bench/syscalls.sh); this script never holds it, so
# it cannot deadlock with it.
# Exit status: 0 no regression, 1 a confirmed regression, a missing point or
# a model of the baseline that cannot run here now (UNAVAILABLE), 2 a
# one-repeat profile, or the bench itself could not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$ROOT/bench"
BASELINE=${BASELINE:-$ROOT/results/baseline}
CHECK_RESULTS=${CHECK_RESULTS:-$ROOT/results/check}
GATE_SYSCALLS=${GATE_SYSCALLS:-1}
export BENCH=${BENCH:-check}

die() {
	echo "check: $*" >&2
	exit 2
}

# The gate judges a change against the spread of the repeats: one repeat
# has none.
case "$BENCH" in
smoke | quick)
	die "BENCH=$BENCH runs each point once: one repeat has no interval, so there is no noise to judge a change against (the gate would cry wolf). Use BENCH=check (the default), or default or full"
	;;
esac
if [[ ${REPEATS:-} == 1 ]]; then
	die "REPEATS=1: one repeat has no interval, so there is no noise to judge a change against (the gate would cry wolf). Use 3 or more"
fi

if [[ ${1:-} == baseline && -n ${BASE:-} ]]; then
	die "BASE=$BASE is for make bench-check (the paired gate builds and runs that revision itself); make baseline records a stored baseline of the working tree and takes no BASE"
fi
if [[ ${1:-} == check && -n ${BASE:-} ]]; then
	exec "$BENCH_DIR/paired.sh" "$BASE"
fi

# bench RESULTS_DIR [VAR=VALUE...]: one bench run into RESULTS_DIR (no
# charts: the gate reads raw.csv); prints the run's folder.
bench() {
	local results=$1
	shift
	env "$@" RESULTS="$results" NO_REPORT=1 "$BENCH_DIR/run.sh" >&2 || die "the bench run failed"
	local run
	run=$(readlink "$results/latest") || die "no run in $results"
	awk -f "$BENCH_DIR/stats.awk" -f "$BENCH_DIR/aggregate.awk" "$results/$run/raw.csv" >"$results/$run/agg.csv"
	echo "$results/$run"
}

# syscalls RUN_DIR: the system calls per message of every model the run
# measured, into RUN_DIR/syscalls.csv (bench/syscalls.sh --gate).
syscalls() {
	[[ $GATE_SYSCALLS == 1 ]] || return 0
	local models
	models=$(awk -F': ' '$1 == "models" { print $2; exit }' "$1/env.txt")
	# shellcheck disable=SC2086 # a list of models
	SYSCALLS_OUT="" "$BENCH_DIR/syscalls.sh" --gate "$1/syscalls.csv" ${models:-} >"$1/syscalls.md" 2>>"$1/syscalls.log" ||
		die "bench/syscalls.sh --gate failed (see $1/syscalls.md and $1/syscalls.log)"
}

case "${1:-}" in
baseline)
	run=$(bench "$CHECK_RESULTS")
	syscalls "$run"
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
	# The counts that do not depend on the machine's speed.
	if [[ $GATE_SYSCALLS == 1 && -f "$BASELINE/syscalls.csv" ]]; then
		syscalls "$run"
		sys_rc=0
		{
			echo
			echo "### System calls and context switches per message (1 connection, one message at a time)"
			echo
			awk -f "$BENCH_DIR/compare-syscalls.awk" "$BASELINE/syscalls.csv" "$run/syscalls.csv" || sys_rc=$?
		} >>"$run/check.md"
		((sys_rc <= 1)) || die "bench/compare-syscalls.awk failed"
		if ((sys_rc == 1)); then
			rc=1
			sed -i 's/^No regression beyond noise\.$/No regression beyond noise in the timings; the system calls below changed./' "$run/check.md"
		fi
	elif [[ $GATE_SYSCALLS == 1 ]]; then
		printf '\n(No system call count in the baseline, %s: record it again with make baseline to compare them.)\n' \
			"$BASELINE" >>"$run/check.md"
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
