#!/usr/bin/env bash
# bench/compare-trial.sh - puts the regression gate to the test on this
# machine: does it stay quiet on an unchanged build, and does it catch a
# server made slower per message, every time, by name?
#
#   bench/compare-trial.sh [UNCHANGED_RUNS [SLOW_MODELS...]]
#   bench/compare-trial.sh 5 epoll-et thread poll
#   bench/compare-trial.sh --paired [UNCHANGED_RUNS [SLOW_MODELS...]]
#
# Stored-baseline mode: records one baseline, then runs bench/check.sh
# check UNCHANGED_RUNS times (default 5) on the unchanged build, then once
# per SLOW_MODEL (default epoll-et thread poll) with that server under the
# LD_PRELOAD shim build/tests/slowdown.so (tests/tools/preload/slowdown.c)
# at SLOWDOWN_FACTOR (2: twice the CPU per message, what that mode is built
# to catch).
#
# --paired: the paired gate (bench/paired.sh: make bench-check BASE=HEAD):
# UNCHANGED_RUNS (default 2) runs of HEAD against this tree, then one per
# SLOW_MODEL (default thread) with the working tree's server of that model
# under the shim at SLOWDOWN_FACTOR (1.15: 15% more CPU per message),
# SLOW_RUNS times each (default 1). The runs are interleaved (unchanged-1,
# slow-A-1, slow-B-1, ..., unchanged-2, ...) so that the machine's drift over
# the trial hits every kind alike. On a clean tree HEAD is the working tree:
# unchanged code. MODELS narrows every run (bench/paired.sh); SLOW_ALONE=1
# runs each slowed model alone (the unchanged runs judge false alarms, the
# slowed ones detection, in a third of the time). Each run's time is in the
# summary.
#
# Everything goes to TRIAL_DIR (default /tmp/compare-trial); the summary,
# one line per check, to stdout and TRIAL_DIR/summary.txt. Each bench run
# takes the bench lock itself (bench/run.sh, bench/paired.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRIAL_DIR=${TRIAL_DIR:-/tmp/compare-trial}
PAIRED=0
if [[ ${1:-} == --paired ]]; then
	PAIRED=1
	shift
fi
UNCHANGED=${1:-$((PAIRED ? 2 : 5))}
shift || true
SLOW=("$@")
((${#SLOW[@]})) || if ((PAIRED)); then SLOW=(thread); else SLOW=(epoll-et thread poll); fi
FACTOR=${SLOWDOWN_FACTOR:-$((PAIRED ? 0 : 2))}
((PAIRED == 0)) || [[ $FACTOR != 0 ]] || FACTOR=1.15

make -C "$ROOT" --no-print-directory -s all build/tests/slowdown.so
export BASELINE="$TRIAL_DIR/baseline" CHECK_RESULTS="$TRIAL_DIR/check" NO_BUILD=1
mkdir -p "$TRIAL_DIR"
summary="$TRIAL_DIR/summary.txt"
: >"$summary"

say() { echo "$*" | tee -a "$summary"; }

say "# compare-trial$( ((PAIRED)) && echo " --paired") $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname -s): $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

if ((PAIRED)); then
	# paired LABEL [VAR=VALUE...]: one make bench-check BASE=HEAD; one
	# summary line with its time and what it named.
	paired() {
		local label=$1 rc=0 out t0 named
		shift
		out="$TRIAL_DIR/$label.md"
		t0=$(date +%s)
		env "$@" BASE=HEAD "$ROOT/bench/check.sh" check >"$out" 2>"$TRIAL_DIR/$label.log" || rc=$?
		named=$(grep -E '^(REGRESSION|FAILED|UNAVAILABLE):' "$out" | sed 's/ (.*//' | tr '\n' ';' || true)
		say "$label: exit $rc in $(($(date +%s) - t0)) s; $(grep -o '[0-9]* rounds ([0-9]* runs' "$out" | head -n 1)); named: ${named:-nothing}; load $(cut -d' ' -f1 /proc/loadavg)"
		grep -E '^\| [a-z-]+ \| .* \| CPU/msg( ÷ client)? \|' "$out" | grep -v '| ok |' | sed 's/^/    /' | tee -a "$summary" || true
	}
	slow_runs=${SLOW_RUNS:-1}
	for ((i = 1; i <= (UNCHANGED > slow_runs ? UNCHANGED : slow_runs); i++)); do
		((i > UNCHANGED)) || paired "unchanged-$i"
		((i > slow_runs)) || for m in "${SLOW[@]}"; do
			paired "slow-$m-$i" NOW_WRAP="env LD_PRELOAD=$ROOT/build/tests/slowdown.so SLOWDOWN_PROG=echo-$m SLOWDOWN_FACTOR=$FACTOR" \
				${SLOW_ALONE:+MODELS=$m}
		done
	done
	exit 0
fi

"$ROOT/bench/check.sh" baseline 2>"$TRIAL_DIR/baseline.log"
say "baseline: $(readlink -f "$BASELINE") (git $(awk -F': ' '$1 == "git" { print $2 }' "$BASELINE/env.txt"))"

# check LABEL [VAR=VALUE...]: one bench-check; one summary line.
check() {
	local label=$1 rc=0 out
	shift
	out="$TRIAL_DIR/$label.md"
	env "$@" "$ROOT/bench/check.sh" check >"$out" 2>"$TRIAL_DIR/$label.log" || rc=$?
	local named suspects run
	named=$(grep -E '^(REGRESSION|MISSING):' "$out" | sed 's/ (.*//' | tr '\n' ';' || true)
	run=$(sed -n 's/^check: report in \(.*\)\/check.md$/\1/p' "$TRIAL_DIR/$label.log")
	suspects=$([[ -s "$run/suspects.txt" ]] && awk '{ printf "%s%s", (NR > 1 ? ", " : ""), $0 }' "$run/suspects.txt" || echo none)
	say "$label: exit $rc; suspects before the rerun: $suspects; named: ${named:-nothing}; load $(cut -d' ' -f1 /proc/loadavg)"
	for m in "${SLOW[@]}"; do
		if [[ "$label" == "slow-$m" ]]; then
			grep -E "^\| $m \| .* CPU/msg " "$out" | sed 's/^/    /' | tee -a "$summary" || true
		fi
	done
}

for ((i = 1; i <= UNCHANGED; i++)); do
	check "unchanged-$i"
done
for m in "${SLOW[@]}"; do
	check "slow-$m" LD_PRELOAD="$ROOT/build/tests/slowdown.so" SLOWDOWN_PROG="echo-$m" SLOWDOWN_FACTOR="$FACTOR"
done
