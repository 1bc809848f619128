#!/usr/bin/env bash
# bench/figures.sh - the figures the project README quotes, from bench runs:
# messages per second and server CPU per message of uring, reactors,
# epoll-lt and libevent in the closed loop at 64, 256 and 1024 connections
# (64-byte messages), the median of the repeats with its 95% confidence
# interval, one column pair per run, as Markdown on stdout.
#
#   bench/figures.sh RUN_DIR [RUN_DIR...]
#   bench/figures.sh results/<default run> results/<unpinned run>
#
# Each RUN_DIR is a bench run (bench/run.sh): its agg.csv, or raw.csv
# aggregated when there is no agg.csv, and env.txt, which says whether it
# was pinned (a column "pinned") or not ("UNPINNED"). The default profile
# and BENCH=unpinned both have the three points. Environment: FIG_MODELS
# (printed in teaching order, bench/models.sh), FIG_POINTS.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC1091 # bench/models.sh: shellcheck checks it on its own
. "$BENCH_DIR/models.sh"

die() {
	echo "figures.sh: $*" >&2
	exit 2
}

(($# >= 1)) || die "usage: bench/figures.sh RUN_DIR [RUN_DIR...]"
read -r -a fig_models <<<"${FIG_MODELS:-epoll-lt reactors uring libevent}"
points=${FIG_POINTS:-64 256 1024}
for x in $points; do
	[[ "$x" =~ ^[0-9]+$ ]] || die "FIG_POINTS: '$x' is not a connection count"
done
# The models in teaching order.
models=()
for m in "${ALL_MODELS[@]}"; do
	[[ " ${fig_models[*]} " != *" $m "* ]] || models+=("$m")
done
for m in "${fig_models[@]}"; do
	[[ " ${ALL_MODELS[*]} " == *" $m "* ]] || die "FIG_MODELS: unknown model '$m' (models: ${ALL_MODELS[*]})"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/figures.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# env_get DIR KEY: the value of "KEY: value" in DIR/env.txt, or empty.
env_get() {
	[[ -f "$1/env.txt" ]] || return 0
	awk -v k="$2" 'index($0, k ": ") == 1 { print substr($0, length(k) + 3); exit }' "$1/env.txt"
}

args=()
used=" "
n=0
for dir in "$@"; do
	n=$((n + 1))
	# raw.csv first: a run's agg.csv may predate the interval columns.
	if [[ -f "$dir/raw.csv" ]]; then
		agg="$TMP/$n.csv"
		awk -f "$BENCH_DIR/stats.awk" -f "$BENCH_DIR/aggregate.awk" "$dir/raw.csv" >"$agg" || die "$dir/raw.csv: cannot aggregate"
	elif [[ -f "$dir/agg.csv" ]]; then
		agg="$dir/agg.csv"
	else
		die "$dir: no agg.csv or raw.csv (not a bench run)"
	fi
	pinning=$(env_get "$dir" pinning)
	pinned=$(env_get "$dir" pinned)
	[[ -n "$pinned" ]] || { [[ "${pinning,,}" == *unpinned* ]] && pinned=0 || pinned=1; }
	label=pinned
	[[ "$pinned" == 1 ]] || label=UNPINNED
	# Two runs of one kind: number them.
	if [[ "$used" == *" $label "* ]]; then
		label="$label $n"
	fi
	used="$used$label "
	run=$(env_get "$dir" run)
	desc="\`$dir\` (run ${run:-?}; profile $(env_get "$dir" profile), $(env_get "$dir" repeats) repeat(s),"
	desc="$desc ${pinning:-pinning unknown}; git $(env_get "$dir" git))"
	args+=("label=$label" "desc=$desc" "$agg")
done

awk -v models="${models[*]}" -v points="$points" -f "$BENCH_DIR/figures.awk" "${args[@]}"
