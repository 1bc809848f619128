#!/usr/bin/env bash
# bench/compare.sh - compares a bench run with a baseline: the regression gate.
#
#   bench/compare.sh BASE_DIR NOW_DIR [CONFIRM_DIR]
#
# Each folder is a bench run (bench/run.sh: raw.csv, env.txt; agg.csv is
# recomputed from raw.csv when it is there). For every model and point of
# the baseline it compares throughput (connections per second for churn),
# p99 latency and server CPU per message, and prints a Markdown table
# (model, point, metric, baseline, now, change, verdict), then one line per
# problem: "REGRESSION: MODEL at POINT: METRIC ...", "MISSING: ..." or
# "UNAVAILABLE: MODEL: ..." (a model the baseline measured that cannot run
# here now, bench/models.sh). A point not run on both sides is no problem.
# CONFIRM_DIR is a rerun of the suspect points: a suspect is a regression
# only when the rerun finds it again. The rule and the figures behind its
# thresholds: bench/compare.awk and bench/README.md ("The regression gate").
#
# A baseline recorded on another machine (CPU model, cores, kernel in
# env.txt) or with another profile is compared all the same, with a warning.
#
# Environment: THR_TPUT (1.5), THR_CPU (1.5), THR_P99 (3), THR_DRIFT (1.5):
# the slowdown factors beyond which a point is suspect; MIN_PAIRS (6);
# MIN_MODELS (5); SUSPECTS=FILE: where to write the suspect points ("workload x model").
# Exit status: 0 no regression, 1 a regression, a missing point or an
# unavailable model, 2 usage.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
	echo "compare.sh: $*" >&2
	exit 2
}

(($# == 2 || $# == 3)) || die "usage: bench/compare.sh BASE_DIR NOW_DIR [CONFIRM_DIR]"
THR_TPUT=${THR_TPUT:-1.5}
THR_CPU=${THR_CPU:-1.5}
THR_P99=${THR_P99:-3}
THR_DRIFT=${THR_DRIFT:-1.5}
MIN_PAIRS=${MIN_PAIRS:-6}
MIN_MODELS=${MIN_MODELS:-5}
for v in THR_TPUT THR_CPU THR_P99 THR_DRIFT; do
	[[ "${!v}" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "$v=${!v}: a factor, such as 1.4"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/compare.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# agg_of DIR NAME: DIR's agg.csv, recomputed from raw.csv when there is one.
agg_of() {
	local dir=$1 out="$TMP/$2.csv"
	if [[ -f "$dir/raw.csv" ]]; then
		awk -f "$BENCH_DIR/stats.awk" -f "$BENCH_DIR/aggregate.awk" "$dir/raw.csv" >"$out" || die "$dir/raw.csv: cannot aggregate"
	elif [[ -f "$dir/agg.csv" ]]; then
		cp "$dir/agg.csv" "$out"
	else
		die "$dir: no raw.csv or agg.csv (not a bench run; make baseline records one)"
	fi
	echo "$out"
}

# env_get DIR KEY: the value of "KEY: value" in DIR/env.txt, or empty.
env_get() {
	[[ -f "$1/env.txt" ]] || return 0
	awk -v k="$2" 'index($0, k ": ") == 1 { print substr($0, length(k) + 3); exit }' "$1/env.txt"
}

base=$1 now=$2 confirm=${3:-}
base_agg=$(agg_of "$base" base)
now_agg=$(agg_of "$now" now)
args=(which=base "$base_agg" which=now "$now_agg")
if [[ -n "$confirm" ]]; then
	args+=(which=confirm "$(agg_of "$confirm" confirm)")
fi

# Another machine, or another profile: the figures may differ for that
# reason alone.
warnings=()
[[ -f "$base/env.txt" ]] || warnings+=("the baseline has no env.txt: cannot tell which machine recorded it")
if [[ -f "$base/env.txt" && -f "$now/env.txt" ]]; then
	for key in cpu_model cores kernel; do
		b=$(env_get "$base" "$key")
		n=$(env_get "$now" "$key")
		[[ "$b" == "$n" ]] ||
			warnings+=("baseline recorded on a different machine: $key '$b' (baseline) vs '$n' (now); record a baseline on this machine (make baseline)")
	done
	for key in profile repeats duration_s warmup_s pinning; do
		b=$(env_get "$base" "$key")
		n=$(env_get "$now" "$key")
		[[ "$b" == "$n" ]] || warnings+=("baseline measured differently: $key '$b' (baseline) vs '$n' (now)")
	done
fi

echo "## Bench check: $(env_get "$now" run) against the baseline $(env_get "$base" run)"
echo
echo "Baseline \`$base\` (git $(env_get "$base" git)); now \`$now\` (git $(env_get "$now" git))${confirm:+; suspects rerun in \`$confirm\`}."
echo "Thresholds: throughput ${THR_TPUT}x, p99 latency ${THR_P99}x, CPU per message ${THR_CPU}x, each against the median change of all models at the same point, and only where the repeats' ranges do not overlap; the run's drift itself ${THR_DRIFT}x."
echo
for w in "${warnings[@]}"; do
	echo "> **Warning:** $w"
	echo
	echo "compare.sh: warning: $w" >&2
done

rc=0
awk -v thr_tput="$THR_TPUT" -v thr_cpu="$THR_CPU" -v thr_p99="$THR_P99" -v thr_drift="$THR_DRIFT" \
	-v min_pairs="$MIN_PAIRS" -v min_models="$MIN_MODELS" -v suspects="${SUSPECTS:-}" -f "$BENCH_DIR/labels.awk" -f "$BENCH_DIR/compare.awk" "${args[@]}" || rc=$?
((rc <= 1)) || die "comparison failed"
if ((rc == 0)); then
	echo "No regression beyond noise."
fi
exit "$rc"
