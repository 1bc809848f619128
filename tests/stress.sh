#!/usr/bin/env bash
# tests/stress.sh - hunts flaky tests: runs chosen bats suites (or the whole
# `make test` from a clean clone) several times, optionally beside CPU hogs,
# and prints how often each test failed.
#
#   tests/stress.sh [-n RUNS] [--hogs N] [-f REGEX] [--clone] [-o DIR] [SUITE...]
#   tests/stress.sh -n 10 --hogs 2 -f 'slow reader' tests/robustness.bats
#   tests/stress.sh -n 5 --clone            # make test from a clean clone, 5 times
#
# -n RUNS     how many times (default 5)
# --hogs N    N busy loops beside the tests, the k-th pinned to core k mod
#             the cores (taskset, when there is one): a busy machine; the
#             default 0 is a quiet one
# -f REGEX    only the tests whose names match (bats --filter)
# --clone     each run clones the committed HEAD into a new folder and runs
#             the README's `make test` there (a fresh build, as CI does);
#             SUITE and -f do not apply
# -o DIR      where each run's TAP output goes (default a new folder in /tmp)
# SUITE...    .bats files (default every one in tests/)
#
# Each run is bounded by STRESS_RUN_TIMEOUT seconds (default 2400) and
# killed past it, which counts as a failed run. The hogs are stopped by
# their saved pids when the script ends, also on failure or Ctrl-C.
# Prints one line per run (passed, failed, skipped, seconds, load) and then
# every test that failed at least once, with its failure count. Exit 0
# when every run passed, 1 when a test failed or a run did not finish,
# 2 on a usage error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS=5 HOGS=0 FILTER="" CLONE=0 OUT=""
RUN_TIMEOUT_S=${STRESS_RUN_TIMEOUT:-2400}

usage() {
	sed -n '2,27s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

# count_arg NAME VALUE: VALUE must be a whole number.
count_arg() {
	[[ $2 =~ ^[0-9]+$ ]] || {
		echo "stress: $1 takes a whole number, not '$2'" >&2
		exit 2
	}
}

SUITES=()
while (($# > 0)); do
	case $1 in
	-n) count_arg -n "${2-}"; RUNS=$2; shift 2 ;;
	--hogs) count_arg --hogs "${2-}"; HOGS=$2; shift 2 ;;
	-f) [[ -n ${2-} ]] || usage; FILTER=$2; shift 2 ;;
	--clone) CLONE=1; shift ;;
	-o) [[ -n ${2-} ]] || usage; OUT=$2; shift 2 ;;
	-h | --help) usage ;;
	-*) echo "stress: unknown option $1" >&2; usage ;;
	*) [[ -f $1 ]] || { echo "stress: no suite $1" >&2; exit 2; }
		SUITES+=("$1"); shift ;;
	esac
done
((RUNS >= 1)) || { echo "stress: -n must be at least 1" >&2; exit 2; }
if ((CLONE)) && [[ -n $FILTER || ${#SUITES[@]} -gt 0 ]]; then
	echo "stress: --clone runs make test, every suite: no SUITE or -f with it" >&2
	exit 2
fi
((${#SUITES[@]} > 0)) || SUITES=("$ROOT"/tests/*.bats)
OUT=${OUT:-$(mktemp -d /tmp/stress.XXXXXX)}
mkdir -p "$OUT"

# The busy loops, by saved pid: stopped when the script ends, however.
HOG_PIDS=()
stop_hogs() {
	local pid
	for pid in "${HOG_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${HOG_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	HOG_PIDS=()
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM

start_hogs() {
	local cores k pin=()
	cores=$(nproc)
	for ((k = 0; k < HOGS; k++)); do
		command -v taskset >/dev/null && pin=(taskset -c $((k % cores)))
		"${pin[@]}" sh -c 'while :; do :; done' </dev/null >/dev/null 2>&1 &
		HOG_PIDS+=("$!")
	done
}

# one_run TAP: the tests once, their TAP output to TAP; its exit status.
one_run() {
	local tap=$1 clone rc=0
	if ((CLONE)); then
		clone=$(mktemp -d /tmp/stress-clone.XXXXXX)
		# mktemp's folder is private; the suites run a server as nobody
		# (the RLIMIT_NPROC test), which must reach its binary, as in a
		# clone anywhere else.
		chmod 755 "$clone"
		git clone -q "$ROOT" "$clone"
		timeout -k 10 "$RUN_TIMEOUT_S" make -C "$clone" --no-print-directory test >"$tap" 2>&1 || rc=$?
		rm -rf "$clone"
	else
		make -C "$ROOT" --no-print-directory -s all >/dev/null
		timeout -k 10 "$RUN_TIMEOUT_S" bats --tap ${FILTER:+--filter "$FILTER"} "${SUITES[@]}" >"$tap" 2>&1 || rc=$?
	fi
	return "$rc"
}

# tap_counts TAP: "PASSED FAILED SKIPPED" from a TAP file.
tap_counts() {
	awk '/^ok .* # skip/ { s++; next } /^ok / { p++ } /^not ok / { f++ }
		END { printf "%d %d %d\n", p, f, s }' "$1"
}

echo "stress: $RUNS run(s) of $( ((CLONE)) && echo "make test from clean clones of $(git -C "$ROOT" rev-parse --short HEAD)" || echo "${SUITES[*]#"$ROOT"/}${FILTER:+ (tests matching /$FILTER/)}"), $HOGS CPU hog(s), $(nproc) cores; TAP in $OUT"
start_hogs
((HOGS == 0)) || echo "hogs: ${HOG_PIDS[*]}"
failed_runs=0
for ((i = 1; i <= RUNS; i++)); do
	tap="$OUT/run-$i.tap"
	t0=$(date +%s)
	rc=0
	one_run "$tap" || rc=$?
	read -r passed failed skipped < <(tap_counts "$tap")
	# A run that ran no test proved nothing: it counts as failed.
	((rc == 0 && failed == 0 && passed + skipped > 0)) || failed_runs=$((failed_runs + 1))
	echo "run $i: $passed passed, $failed failed, $skipped skipped in $(($(date +%s) - t0)) s, exit $rc$( ((rc == 124)) && echo " (killed after ${RUN_TIMEOUT_S} s)"), load $(cut -d' ' -f1 /proc/loadavg)"
done
stop_hogs

echo "failures per test, over $RUNS run(s):"
awk '/^(not )?ok [0-9]+ / {
		name = $0
		sub(/^(not )?ok [0-9]+ /, "", name)
		sub(/ # skip.*$/, "", name)
		runs[name]++
		if ($1 == "not") fails[name]++
	}
	END {
		sort = "sort -k1,1nr"
		for (name in runs) {
			if (fails[name] > 0) printf "  %d/%d  %s\n", fails[name], runs[name], name | sort
			else clean++
		}
		close(sort)
		printf "  (%d test(s) never failed)\n", clean
	}' "$OUT"/run-*.tap
((failed_runs == 0))
