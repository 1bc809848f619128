#!/usr/bin/env bash
# bench/paired.sh - the paired regression gate: the working tree against a
# base revision, built apart and run alternately on this machine.
#
#   bench/paired.sh BASE_REVISION      (make bench-check BASE=<revision>)
#
# 1. Builds BASE_REVISION (any git revision: a branch, a tag, HEAD~3, a
#    hash) in its own folder, build-base/<hash>-<pid>/ (git archive, then
#    make all there), removed at exit, on failure too. A revision that does
#    not exist is exit 2.
# 2. Runs both builds at the gate points (PAIRED_POINTS) with the same load
#    generator (the working tree's), one bench/point.sh call per run, in
#    rounds: in each round every model-point still undecided runs once on
#    each build, back to back, base first in odd rounds and the working tree
#    first in even ones (ABBA: neither goes first more often), the
#    model-points shuffled per round from a seed (PAIRED_SEED, recorded).
#    After PAIRED_MIN_ROUNDS, and then after every second round, the
#    model-points whose verdict is settled stop (bench/paired.awk
#    mode=pending); the others run on, PAIRED_MAX_ROUNDS at most, and past
#    that, up to PAIRED_LEANING_ROUNDS, only those leaning to a regression:
#    unsettled, with the ratio that decides above the threshold
#    (mode=leaning).
# 3. Judges each model-point by the 95% interval of the paired ratio
#    now/base of server CPU per message (as it is, and divided by the load
#    generator's CPU per message in the same run) and of throughput
#    (bench/paired.awk, the rule and its thresholds: bench/README.md, "The
#    paired gate"), and prints a Markdown table and one line per problem.
# 4. Compares the system calls and context switches per message of both
#    builds at one connection, one message at a time, where they do not depend on
#    the machine's speed (bench/syscalls.sh --gate, bench/compare-syscalls.awk):
#    one extra call per message is caught exactly. PAIRED_SYSCALLS=0 skips it.
#
# Holds the bench lock (/tmp/bench.lock) for the whole run (point.sh is told
# so: BENCH_LOCK_HELD=1). Everything goes to CHECK_RESULTS/paired-<time>/:
# paired.csv (every run: side, round, seq, then the raw.csv row), order.txt
# (the runs in the order they ran), syscalls-base.csv, syscalls-now.csv,
# check.md (the report, also on stdout), logs/.
#
# Environment: MODELS (every model of bench/models.sh), PAIRED_POINTS
# ("closed:1 closed:16"; WORKLOAD:X), PAIRED_MIN_ROUNDS (4),
# PAIRED_MAX_ROUNDS (20), PAIRED_LEANING_ROUNDS (twice PAIRED_MAX_ROUNDS),
# PAIRED_WIDTH (0.04: an interval of +-4% is
# narrow enough), PAIRED_THR_CPU (1.07), PAIRED_THR_TPUT (1.25),
# PAIRED_MIN_PAIRS (6: the pairs a regression needs),
# PAIRED_SEED (random), WARMUP (0.2) and DURATION (0.5) seconds per run,
# PIN, BASE_BIN (a base build made already: its bin/ folder; nothing is
# checked out or built, BASE only names it), BASE_WRAP and NOW_WRAP
# (SERVER_WRAP for the runs of each build: make bench-check SLOWDOWN=MODEL
# puts the slowdown shim in NOW_WRAP),
# POINT_SH (bench/point.sh), CHECK_RESULTS (results/check), BUILD_BASE
# (build-base), NO_BUILD=1 (the working tree is built already), BENCH_LOCK,
# LOCK_WAIT (900 s).
# Exit status: 0 no regression; 1 a regression, a failed model-point or a
# model the base ran that cannot run now; 2 usage, no such revision, a build
# or the bench itself failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$ROOT/bench"
# shellcheck source=bench/models.sh disable=SC1091 # ALL_MODELS, model_unavailable
source "$BENCH_DIR/models.sh"
# shellcheck source=bench/lib.sh disable=SC1091 # now_ms, take_bench_lock
source "$BENCH_DIR/lib.sh"

die() {
	echo "paired: $*" >&2
	exit 2
}
note() { echo "paired: $*" >&2; }

if (($# != 1)) || [[ -z $1 ]]; then
	die "usage: bench/paired.sh BASE_REVISION (make bench-check BASE=<git revision>)"
fi
BASE_REV=$1
POINT_SH=${POINT_SH:-$BENCH_DIR/point.sh}
PAIRED_POINTS=${PAIRED_POINTS:-closed:1 closed:16}
PAIRED_MIN_ROUNDS=${PAIRED_MIN_ROUNDS:-4}
PAIRED_MAX_ROUNDS=${PAIRED_MAX_ROUNDS:-20}
PAIRED_WIDTH=${PAIRED_WIDTH:-0.04}
PAIRED_THR_CPU=${PAIRED_THR_CPU:-1.07}
PAIRED_THR_TPUT=${PAIRED_THR_TPUT:-1.25}
PAIRED_MIN_PAIRS=${PAIRED_MIN_PAIRS:-6}
PAIRED_SEED=${PAIRED_SEED:-$((RANDOM * 32768 + RANDOM))}
PAIRED_SYSCALLS=${PAIRED_SYSCALLS:-1}
CHECK_RESULTS=${CHECK_RESULTS:-$ROOT/results/check}
BUILD_BASE=${BUILD_BASE:-$ROOT/build-base}
BENCH_LOCK=${BENCH_LOCK-/tmp/bench.lock}
LOCK_WAIT=${LOCK_WAIT:-900}
BASE_WRAP=${BASE_WRAP:-}
NOW_WRAP=${NOW_WRAP:-}
export WARMUP=${WARMUP:-0.2} DURATION=${DURATION:-0.5}

for v in PAIRED_MIN_ROUNDS PAIRED_MAX_ROUNDS PAIRED_MIN_PAIRS PAIRED_SEED; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v=${!v}: a whole number"
done
PAIRED_LEANING_ROUNDS=${PAIRED_LEANING_ROUNDS:-$((2 * PAIRED_MAX_ROUNDS))}
[[ $PAIRED_LEANING_ROUNDS =~ ^[0-9]+$ ]] || die "PAIRED_LEANING_ROUNDS=$PAIRED_LEANING_ROUNDS: a whole number"
# One pair has no interval: two rounds are the least, and rounds come in
# twos (one base-first, one now-first).
((PAIRED_MIN_ROUNDS >= 2 && PAIRED_MIN_ROUNDS % 2 == 0)) ||
	die "PAIRED_MIN_ROUNDS=$PAIRED_MIN_ROUNDS: an even number, 2 or more (one round has no interval)"
((PAIRED_MAX_ROUNDS >= PAIRED_MIN_ROUNDS && PAIRED_MAX_ROUNDS % 2 == 0)) ||
	die "PAIRED_MAX_ROUNDS=$PAIRED_MAX_ROUNDS: an even number (ABBA), not below PAIRED_MIN_ROUNDS"
((PAIRED_LEANING_ROUNDS >= PAIRED_MAX_ROUNDS && PAIRED_LEANING_ROUNDS % 2 == 0)) ||
	die "PAIRED_LEANING_ROUNDS=$PAIRED_LEANING_ROUNDS: an even number (ABBA), not below PAIRED_MAX_ROUNDS"
((PAIRED_MAX_ROUNDS >= PAIRED_MIN_PAIRS)) ||
	die "PAIRED_MAX_ROUNDS=$PAIRED_MAX_ROUNDS: a regression needs PAIRED_MIN_PAIRS ($PAIRED_MIN_PAIRS) pairs, so no round cap below it"
for v in PAIRED_WIDTH PAIRED_THR_CPU PAIRED_THR_TPUT WARMUP DURATION; do
	[[ ${!v} =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "$v=${!v}: a number, such as 1.07"
done
read -r -a POINTS <<<"$PAIRED_POINTS"
((${#POINTS[@]} > 0)) || die "PAIRED_POINTS is empty"
for p in "${POINTS[@]}"; do
	[[ $p =~ ^(closed|churn|idle|size|open):[0-9]+$ ]] || die "PAIRED_POINTS: '$p' is not WORKLOAD:X (closed:16)"
done
read -r -a MODELS <<<"${MODELS:-${ALL_MODELS[*]}}"
for m in "${MODELS[@]}"; do
	[[ " ${ALL_MODELS[*]} " == *" $m "* ]] || die "MODELS: unknown model '$m' (models: ${ALL_MODELS[*]})"
done
[[ -x "$POINT_SH" ]] || die "$POINT_SH is missing: the gate runs each point through it"
git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 || die "$ROOT is not a git checkout: BASE needs its history"
BASE_SHA=$(git -C "$ROOT" rev-parse --verify --quiet "$BASE_REV^{commit}") ||
	die "BASE=$BASE_REV: no such revision in $ROOT (git rev-parse --verify '$BASE_REV^{commit}' found nothing)"
BASE_SHORT=$(git -C "$ROOT" rev-parse --short "$BASE_SHA")
NOW_DESC="$(git -C "$ROOT" rev-parse --short HEAD)$([[ -z $(git -C "$ROOT" status --porcelain -- servers client Makefile bench/models.txt 2>/dev/null) ]] || echo +dirty)"

# ---- the two builds ------------------------------------------------------------

BASE_DIR=""
TMP=$(mktemp -d "${TMPDIR:-/tmp}/paired.XXXXXX")
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local rc=$?
	[[ -z $BASE_DIR ]] || rm -rf "$BASE_DIR"
	rmdir "$BUILD_BASE" 2>/dev/null || true
	rm -rf "$TMP"
	return "$rc"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM HUP

if [[ ${NO_BUILD:-0} != 1 ]]; then
	make -C "$ROOT" --no-print-directory -s all >&2 || die "the working tree does not build"
fi
[[ -x "$ROOT/bin/loadgen" ]] || die "$ROOT/bin/loadgen is missing: run make"
if [[ -n ${BASE_BIN:-} ]]; then
	# A base build made already (its bin/ folder): nothing to check out.
	[[ -d $BASE_BIN ]] || die "BASE_BIN=$BASE_BIN: no such folder"
	BASE_SERVERS=$(cd "$BASE_BIN" && pwd)
	note "the base's servers: $BASE_SERVERS (BASE_BIN; not built here)"
else
	mkdir -p "$BUILD_BASE"
	BASE_DIR="$BUILD_BASE/$BASE_SHORT-$$"
	mkdir "$BASE_DIR"
	note "building $BASE_REV ($BASE_SHORT) in $BASE_DIR"
	t0=$(now_ms)
	git -C "$ROOT" archive --format=tar "$BASE_SHA" | tar -x -C "$BASE_DIR" ||
		die "git archive $BASE_SHORT failed"
	make -C "$BASE_DIR" --no-print-directory -s all >"$TMP/base-build.log" 2>&1 || {
		tail -n 20 "$TMP/base-build.log" >&2
		die "$BASE_REV ($BASE_SHORT) does not build (above: the end of its make all)"
	}
	note "built in $((($(now_ms) - t0) / 1000)) s"
	BASE_SERVERS="$BASE_DIR/bin"
fi

# Which models each build can run: a model the base ran that cannot run now
# fails the gate; one new in the working tree is not compared.
declare -A WHY_BASE=() WHY_NOW=()
RUN_MODELS=()
GONE=()
for m in "${MODELS[@]}"; do
	WHY_BASE[$m]=$(model_unavailable "$BASE_SERVERS" "$m" || true)
	WHY_NOW[$m]=$(model_unavailable "$ROOT/bin" "$m" || true)
	if [[ -z ${WHY_BASE[$m]} && -z ${WHY_NOW[$m]} ]]; then
		RUN_MODELS+=("$m")
	elif [[ -z ${WHY_BASE[$m]} ]]; then
		GONE+=("$m")
	fi
done
((${#RUN_MODELS[@]} > 0)) || die "no model runs on both builds"

# ---- the run folder and the lock -------------------------------------------------

RUN_DIR=$(new_run_dir "$CHECK_RESULTS" "paired-$(date -u +%Y%m%dT%H%M%SZ)") || die "cannot make a run folder in $CHECK_RESULTS"
mkdir -p "$RUN_DIR/logs/base" "$RUN_DIR/logs/now"
CSV="$RUN_DIR/paired.csv"
header=$("$POINT_SH" --header) || die "$POINT_SH --header failed"
# The empty fields after a failed row's six (model..reason).
commas=${header//[!,]/}
EMPTY_TAIL=${commas:5}
[[ $header == model,* ]] || die "$POINT_SH --header printed no raw.csv header"
echo "side,round,seq,$header" >"$CSV"
: >"$RUN_DIR/order.txt"

if [[ -n $BENCH_LOCK ]]; then
	take_bench_lock paired.sh "$BENCH_LOCK" "$LOCK_WAIT"
	export BENCH_LOCK_HELD=1
fi

# ---- the rounds ------------------------------------------------------------------

# shuffle ROUND: stdin's lines in an order drawn from the seed and the round.
shuffle() {
	awk -v seed="$PAIRED_SEED" -v round="$1" 'BEGIN { srand((seed + round * 7919) % 2147483647) }
		{ line[NR] = $0 }
		END {
			for (i = NR; i > 1; i--) {
				j = int(rand() * i) + 1
				t = line[i]; line[i] = line[j]; line[j] = t
			}
			for (i = 1; i <= NR; i++) print line[i]
		}'
}

# verdicts MODE: bench/paired.awk over the runs so far.
verdicts() {
	awk -v mode="$1" -v thr_cpu="$PAIRED_THR_CPU" -v thr_tput="$PAIRED_THR_TPUT" -v width="$PAIRED_WIDTH" \
		-v min_pairs="$PAIRED_MIN_PAIRS" \
		-f "$BENCH_DIR/stats.awk" -f "$BENCH_DIR/labels.awk" -f "$BENCH_DIR/paired.awk" "$CSV"
}

SEQ=0
# run_side SIDE MODEL WORKLOAD X ROUND: one point.sh run; its row (or a
# failed row) appended to paired.csv. Sets LAST (the row's summary).
run_side() {
	local side=$1 m=$2 w=$3 x=$4 r=$5 dir wrap row rc=0
	SEQ=$((SEQ + 1))
	if [[ $side == base ]]; then
		dir="$BASE_SERVERS" wrap=$BASE_WRAP
	else
		dir="$ROOT/bin" wrap=$NOW_WRAP
	fi
	echo "$SEQ $r $side $m $w $x" >>"$RUN_DIR/order.txt"
	# Every model here runs on both builds (checked above), and this loadgen
	# has --server-pid: point.sh need not start echo-uring or ask loadgen
	# before each run, right beside the measured server.
	row=$(SERVERS_DIR="$dir" LOADGEN="$ROOT/bin/loadgen" SERVER_WRAP="$wrap" LOG_DIR="$RUN_DIR/logs/$side" \
		BENCH_UNAVAILABLE="" LOADGEN_SERVER_PID=1 \
		"$POINT_SH" "$m" "$w" "$x" "$r" 2>>"$RUN_DIR/logs/$side/point.log" 9>&-) || rc=$?
	row=${row%%$'\n'*}
	if [[ $row != "$m,$w,$x,"* ]]; then
		# As wide as the header, so paired.csv stays one table.
		row="$m,$w,$x,$r,failed,bench/point.sh exit $rc without a row${EMPTY_TAIL}"
	fi
	echo "$side,$r,$SEQ,$row" >>"$CSV"
}

per_run_s=$(awk -v w="$WARMUP" -v d="$DURATION" 'BEGIN { print w + d + 0.4 }')
units=()
for m in "${RUN_MODELS[@]}"; do
	for p in "${POINTS[@]}"; do
		units+=("$m ${p%%:*} ${p#*:}")
	done
done
note "base $BASE_SHORT against the working tree $NOW_DESC: ${#RUN_MODELS[@]} models x ${#POINTS[@]} points," \
	"$PAIRED_MIN_ROUNDS to $PAIRED_MAX_ROUNDS rounds, seed $PAIRED_SEED;" \
	"at least $(awk -v n="${#units[@]}" -v r="$PAIRED_MIN_ROUNDS" -v s="$per_run_s" 'BEGIN { printf "%d", n * r * 2 * s }') s," \
	"at most $(awk -v n="${#units[@]}" -v r="$PAIRED_MAX_ROUNDS" -v s="$per_run_s" 'BEGIN { printf "%d", n * r * 2 * s }') s" \
	"(and $(awk -v r="$((PAIRED_LEANING_ROUNDS - PAIRED_MAX_ROUNDS))" -v s="$per_run_s" 'BEGIN { printf "%d", r * 2 * s }') s more for each one leaning to a regression)"
t_runs=$(now_ms)
rounds_run=0
for ((r = 1; r <= PAIRED_LEANING_ROUNDS; r++)); do
	if ((r > PAIRED_MIN_ROUNDS && r % 2 == 1)); then
		mapfile -t units < <(verdicts "$( ((r <= PAIRED_MAX_ROUNDS)) && echo pending || echo leaning)")
		((${#units[@]} > 0)) || break
	fi
	rounds_run=$r
	if ((r % 2 == 1)); then first=base second=now; else first=now second=base; fi
	mapfile -t order < <(printf '%s\n' "${units[@]}" | shuffle "$r")
	if ((r <= PAIRED_MAX_ROUNDS)); then
		note "round $r/$PAIRED_MAX_ROUNDS: ${#order[@]} model-points, $first first"
	else
		note "round $r/$PAIRED_LEANING_ROUNDS: ${#order[@]} leaning to a regression, $first first"
	fi
	for unit in "${order[@]}"; do
		read -r m w x <<<"$unit"
		run_side "$first" "$m" "$w" "$x" "$r"
		run_side "$second" "$m" "$w" "$x" "$r"
	done
done
runs_s=$((($(now_ms) - t_runs) / 1000))
note "$SEQ runs in $rounds_run rounds, $runs_s s"

# ---- the syscall check -----------------------------------------------------------

sys_rc=0
sys_report=""
if [[ $PAIRED_SYSCALLS == 1 ]]; then
	note "system calls and context switches per message, both builds"
	for side in base now; do
		if [[ $side == base ]]; then dir="$BASE_SERVERS" wrap=$BASE_WRAP; else dir="$ROOT/bin" wrap=$NOW_WRAP; fi
		BIN="$dir" LOADGEN="$ROOT/bin/loadgen" SERVER_WRAP="$wrap" BENCH_LOCK="" SYSCALLS_OUT="" \
			"$BENCH_DIR/syscalls.sh" --gate "$RUN_DIR/syscalls-$side.csv" "${RUN_MODELS[@]}" \
			>"$RUN_DIR/logs/syscalls-$side.md" 2>>"$RUN_DIR/logs/syscalls-$side.log" 9>&- ||
			die "bench/syscalls.sh --gate failed for the $side build (see $RUN_DIR/logs/syscalls-$side.*)"
	done
	sys_report=$(awk -f "$BENCH_DIR/compare-syscalls.awk" "$RUN_DIR/syscalls-base.csv" "$RUN_DIR/syscalls-now.csv") ||
		sys_rc=$?
	((sys_rc <= 1)) || die "bench/compare-syscalls.awk failed"
fi

# ---- the report --------------------------------------------------------------------

rc=0
{
	echo "## Paired bench check: the working tree ($NOW_DESC) against $BASE_REV ($BASE_SHORT)"
	echo
	echo "Both builds run alternately on $(hostname -s 2>/dev/null || hostname) ($(getconf _NPROCESSORS_ONLN) CPUs," \
		"load $(cut -d' ' -f1-3 /proc/loadavg)): ${#RUN_MODELS[@]} models at ${PAIRED_POINTS// /, }," \
		"$rounds_run rounds ($SEQ runs of ${WARMUP} s + ${DURATION} s, $runs_s s), ABBA order, models shuffled per round" \
		"(PAIRED_SEED=$PAIRED_SEED repeats the order)."
	echo "Rule: a regression when the 95% interval of now/base, over $PAIRED_MIN_PAIRS pairs or more, lies wholly above" \
		"+$(awk -v t="$PAIRED_THR_CPU" 'BEGIN { printf "%.0f", (t - 1) * 100 }')% for CPU per message" \
		"(as it is, or divided by the load generator's CPU per message in the same run: CPU/msg ÷ client, which takes the machine's speed out)," \
		"or wholly below $(awk -v t="$PAIRED_THR_TPUT" 'BEGIN { printf "%.0f", (1 / t - 1) * 100 }')% for throughput;" \
		"a model-point stops when its CPU/msg ÷ client interval is settled (past the threshold, wholly below it, or within ±$(awk -v w="$PAIRED_WIDTH" 'BEGIN { printf "%.0f", w * 100 }')%)," \
		"and past $PAIRED_MAX_ROUNDS rounds only one leaning to a regression (its ratio above the threshold) runs on, to $PAIRED_LEANING_ROUNDS."
	[[ -z $NOW_WRAP ]] || echo "The working tree's servers ran under: \`$NOW_WRAP\`."
	[[ -z $BASE_WRAP ]] || echo "The base's servers ran under: \`$BASE_WRAP\`."
	echo
	verdicts report || rc=$?
	for m in "${GONE[@]}"; do
		echo "UNAVAILABLE: $m: runs on the base build, cannot run here now: ${WHY_NOW[$m]}"
		rc=1
	done
	for m in "${MODELS[@]}"; do
		[[ -z ${WHY_BASE[$m]} || -n ${WHY_NOW[$m]} ]] || echo "(not compared: $m runs now but not on the base build: ${WHY_BASE[$m]})"
	done
	if [[ -n $sys_report ]]; then
		echo
		echo "### System calls and context switches per message (1 connection, one message at a time)"
		echo
		echo "$sys_report"
	fi
} >"$RUN_DIR/check.md"
((rc <= 1)) || die "bench/paired.awk failed (see $RUN_DIR/check.md)"
((sys_rc == 0)) || rc=1
if ((rc == 0)); then
	echo "No regression beyond noise." >>"$RUN_DIR/check.md"
fi
cat "$RUN_DIR/check.md"
note "report in $RUN_DIR/check.md"
exit "$rc"
