#!/usr/bin/env bash
# bench/run.sh - the comparison: every model through every workload.
#
# Builds, checks the machine's limits, runs each echo server against
# bin/loadgen for every point of every workload, round after round, and
# writes results/<UTC time>-<host>/: raw.csv (one row per model x workload x
# point x round), env.txt (the machine, the profile, the seed), the charts
# (PNG and SVG) and README.md (the summary), through bench/report.sh.
# results/latest then points to it.
#
#   make bench                  the default profile, about 15 minutes
#   BENCH=quick make bench      every model, fewer points, one round: about a minute
#   BENCH=full make bench       more points, 5 to 10 rounds: about two and a half hours
#   BENCH=smoke bench/run.sh    the whole pipeline in about 45 s (CI)
#   BENCH=check bench/run.sh    the regression gate's points (make baseline, make bench-check)
#   BENCH=unpinned bench/run.sh the multi-core designs with both cores: a few minutes
#   DRY_RUN=1 bench/run.sh      the plan and its expected duration; runs nothing
#
# Workloads (WORKLOADS=..., default all):
#   closed  closed-loop, 64-byte messages, over connection counts: the
#           throughput, p99 latency, server CPU and memory charts
#   idle    a few active clients beside 0..10k idle connections (C10K)
#   churn   a new connection for every message, over concurrent clients
#   open    open loop at one offered rate: the latency percentile spectrum
#   size    closed loop over message sizes at a fixed connection count
#   unix    the closed loop over a Unix-domain socket at some of its
#           connection counts: beside closed, the transport chart (how much
#           of each model's cost is the TCP path)
#   cap1ms, cap10ms  the capacity: the highest open-loop rate at which p99
#           stays at or under 1 ms (10 ms), over connection counts
#           (loadgen --search): the first chart of the summary
#
# Models and their facts: bench/models.txt (ALL_MODELS, in teaching order,
# through bench/models.sh). A model that cannot run on this machine
# (model_unavailable: uring or libevent built without its library, io_uring
# refused by the kernel) is recorded as not run at every point, with the
# reason: a gap in the charts, never a failure.
#
# Method (bench/README.md, "How a point is measured"). One point is one run
# of bench/point.sh: a fresh server, pinned to CPU 0 (PIN=0 to unpin), the
# load generator on CPU 1 with --server-pid, which samples the server's CPU
# time and memory at the edges of its measured window; one raw.csv row. This
# script is the loop over the points: for each point, rounds; in each round
# every model once, in an order shuffled from SEED (random unless given,
# recorded in env.txt: the same seed gives the same orders), so that a slow
# drift of the machine spreads over every model. Rounds are adaptive: a
# point runs REPEATS rounds, then, at the profile's ADAPTIVE_POINTS, more, up
# to MAX_REPEATS, until for every model that ran cleanly there the 95%
# confidence interval of its median messages per second and server CPU per
# message is within +-CI_TARGET (3%) of the median (bench/stats.awk).
#
# Pinned, every server has one core: the multi-core models too (prefork's
# workers share CPU 0, and reactors, given no -w, starts its default of one
# reactor per usable core: one). BENCH=unpinned (or PIN=0 with any profile)
# pins nothing: server and client share every core, and the run, its
# charts and its summary say UNPINNED.
#
# BENCH_NET=netns runs each server in a network namespace and the load
# generator in another, joined by a veth pair (bench/lib.sh netns_up), made
# for the run and removed at its end, on failure and on an interrupt;
# env.txt, the summary and every chart say so. (The netem qdisc, for an
# added delay, is not used: this machine's kernel has none.)
#
# A point a model cannot run is recorded as not run, with the reason, and
# costs no time (bench/point.sh): blocking with more than one client, select
# past FD_SETSIZE, pool and prefork past POOL_MAX_WORKERS and
# PREFORK_MAX_WORKERS (each gets one worker per connection), a model
# unavailable here, and any point the descriptor, process or port limits
# cannot hold.
#
# Environment (all optional): BENCH, PIN, BENCH_NET (netns), SERVER_CPU (0), CLIENT_CPU (1),
# MODELS, WORKLOADS, REPEATS (the rounds every point runs), MAX_REPEATS (the
# rounds an adaptive point may run), ADAPTIVE_POINTS ("closed:64 churn:128":
# the points that may run more rounds), CI_TARGET (0.03), SEED (the order of
# the models in each round), WARMUP and DURATION (seconds; DURATION is the
# closed loop's window), IDLE_DURATION, CHURN_DURATION, SIZE_DURATION and
# OPEN_DURATION (the other workloads' windows), OPEN_RATE (msg/s),
# CAPACITY_DURATION (one search step's window), CAPACITY_START (its first
# rate), CAPACITY_RESOLUTION (percent), CAPACITY_TIME (seconds a search may
# take), CLOSED_POINTS, IDLE_POINTS, CHURN_POINTS, SIZE_POINTS, UNIX_POINTS
# and CAPACITY_POINTS (lists replacing the profile's), POOL_MAX_WORKERS (1024), PREFORK_MAX_WORKERS (1024),
# LOADGEN_THREADS (1; 2 in BENCH=unpinned), RESULTS (results/), LOADGEN
# (bin/loadgen), SERVERS_DIR (bin/: where the echo-MODEL programs are),
# BENCH_LOCK (/tmp/bench.lock: one bench at a time on a machine), LOCK_WAIT
# (seconds, 900), BENCH_LOCK_HELD=1 (the caller holds the lock already),
# MODELS_TABLE (another facts table than bench/models.txt), NO_BUILD=1,
# NO_REPORT=1, DRY_RUN=1 (print the plan and the expected duration, run
# nothing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$ROOT/bench"
BIN="$ROOT/bin"
# ALL_MODELS, MULTICORE_MODELS, model_unavailable: the one list of models.
# shellcheck source=bench/models.sh disable=SC1091 # followed with shellcheck -x
. "$BENCH_DIR/models.sh"
# shellcheck source=bench/lib.sh disable=SC1091 # followed with shellcheck -x
. "$BENCH_DIR/lib.sh"
ALL_WORKLOADS="closed idle churn open size unix cap1ms cap10ms"
# The raw.csv header is bench/point.sh's (--header); this copy is for the
# test suites that read it from this file, and is checked against it below.
CSV_HEADER="model,workload,x,repeat,status,reason,connections,idle,size,pipeline,rate,warmup_s,duration_s,messages,msgs_per_s,mib_per_s,lat_min_us,lat_p50_us,lat_p90_us,lat_p99_us,lat_p999_us,lat_p9999_us,lat_max_us,lat_mean_us,err_connect,err_mismatch,err_reset,err_timeout,complete,client_cpu,client_bound,server_cpu_s,server_window_s,server_cpu_cores,server_us_per_msg,server_rss_kib,server_pss_kib,server_procs,server_threads,server_args,loadgen_exit,server_exit,conns_per_s,connect_p50_us,connect_p99_us,client_cpu_us_per_msg,server_ctx_switches_per_msg,transport,capacity_msgs_per_s,capacity_ended_by"
RUN_CSV_HEADER=$CSV_HEADER

# The load generator counts as client-bound from this share of its core.
CLIENT_BOUND=0.95

die() {
	echo "bench: $*" >&2
	exit 1
}
note() { echo "bench: $*" >&2; }

# ---- profiles ----------------------------------------------------------------
# Each sets the points (CLOSED, IDLE, CHURN, SIZES, UNIX, CAPACITY), the windows, the rounds
# (P_REPEATS at every point, up to P_MAX_REPEATS at the P_ADAPTIVE points).
# The windows per workload are bench/README.md's ("Windows").

BENCH=${BENCH:-default}
IDLE_ACTIVE=4
OPEN_CONNS=16
SIZE_CONNS=16
CLOSED_SIZE=64
P_ADAPTIVE=""
P_IDLE_DURATION="" P_CHURN_DURATION="" P_SIZE_DURATION=""
# The capacity search: one step's window, its first rate, where bisection
# stops, its bound in seconds. Searched once per point (not in rounds).
P_CAPACITY_DURATION=0.4 P_CAPACITY_START=4000 P_CAPACITY_RESOLUTION=5 P_CAPACITY_TIME=60
CAPACITY=(64 1024)
case "$BENCH" in
smoke)
	CLOSED=(1 16) IDLE=(100) CHURN=(4) SIZES=(4096) UNIX=(16) CAPACITY=(4)
	IDLE_ACTIVE=2 OPEN_CONNS=4 SIZE_CONNS=4
	P_CAPACITY_DURATION=0.2 P_CAPACITY_START=8000 P_CAPACITY_RESOLUTION=50 P_CAPACITY_TIME=2
	P_RATE=2000 P_OPEN_DURATION=0.5 P_WARMUP=0.1 P_DURATION=0.3 P_REPEATS=1 P_MAX_REPEATS=1
	;;
quick)
	# A first look at every model in about a minute (bench/README.md,
	# "Profiles"): one round of short windows, over the closed loop, idle
	# connections, churn, the open loop and the capacity at p99 <= 10 ms
	# (to 50%, from 8000/s); the message sizes, the Unix socket and the
	# 1 ms searches are the default profile's.
	CLOSED=(1 16 256) IDLE=(0 1000) CHURN=(16) SIZES=(64 65536) UNIX=(16) CAPACITY=(64)
	P_WORKLOADS="closed idle churn open cap10ms"
	P_CAPACITY_DURATION=0.15 P_CAPACITY_START=8000 P_CAPACITY_RESOLUTION=50
	P_RATE=5000 P_OPEN_DURATION=0.4 P_WARMUP=0.05 P_DURATION=0.2 P_REPEATS=1 P_MAX_REPEATS=1
	;;
default)
	# Sixteen models in about 15 minutes on the 2-vCPU development VM
	# (bench/README.md, "Profiles"): the points where the models part ways,
	# three rounds each, and up to four at the closed loop's headline points
	# (the README's figures are read at 64, 256 and 1024 connections) and
	# churn at 128 until their intervals are tight; the closed loop at 64
	# over a Unix socket too, for the transport chart; the capacity
	# searches with steps of 0.25 s to 10%.
	# Short windows: the spread between rounds comes from the machine's
	# drift, which a longer window does not average out (bench/README.md,
	# "Windows").
	CLOSED=(1 16 64 256 1024) IDLE=(0 1000 10000) CHURN=(16 128)
	SIZES=(64 16384 65536) UNIX=(64)
	P_CAPACITY_DURATION=0.25 P_CAPACITY_RESOLUTION=10
	P_RATE=10000 P_OPEN_DURATION=1 P_WARMUP=0.1 P_DURATION=0.5
	P_IDLE_DURATION=0.5 P_CHURN_DURATION=0.5 P_SIZE_DURATION=0.3
	P_REPEATS=3 P_MAX_REPEATS=4
	P_ADAPTIVE="closed:64 closed:256 closed:1024 churn:128"
	;;
unpinned)
	# The multi-core designs beside the single-threaded loops, nothing
	# pinned (bench/README.md, "The unpinned profile"): closed loop where
	# the README's figures are read (64, 256, 1024 connections) and churn
	# (does accept scale with the cores?). Two load generator threads: one
	# is the limit before the servers are once both cores are shared.
	CLOSED=(64 256 1024) IDLE=(1000) CHURN=(16 128) SIZES=(64) UNIX=(64) P_WORKLOADS="closed churn"
	P_MODELS="thread pool prefork epoll-lt reactors uring-multishot libevent leader-follower epoll-procs"
	P_RATE=10000 P_OPEN_DURATION=2 P_WARMUP=0.3 P_DURATION=1 P_CHURN_DURATION=0.8
	P_REPEATS=3 P_MAX_REPEATS=5 P_ADAPTIVE="closed:64 closed:256 closed:1024 churn:128"
	P_PIN=0 P_LOADGEN_THREADS=2
	;;
check)
	# The regression gate (make baseline, make bench-check: bench/check.sh):
	# a few representative points, three rounds for a median, about three
	# minutes on a busy 2-core VM (bench/README.md, "The regression gate").
	# Not adaptive: the gate compares runs of the same length.
	CLOSED=(16 256) IDLE=(1000) CHURN=(16) SIZES=(64) UNIX=(16) P_WORKLOADS="closed churn"
	P_RATE=5000 P_OPEN_DURATION=1 P_WARMUP=0.2 P_DURATION=0.5 P_REPEATS=3 P_MAX_REPEATS=3
	;;
c1m)
	# Toward a million connections (make c1m): the idle axis as far as each
	# model goes here (bench/point.sh's limits say where each stops: one
	# process holds at most the hard descriptor limit, so epoll-procs goes
	# further, over more workers: bench/models.txt's {spread}), for the
	# section and chart that carry the cost per connection on to 1,000,000.
	# The idle connections come from as many load generators and source
	# addresses as they need (bench/point.sh start_holders). One round:
	# memory repeats to well under 1%.
	CLOSED=(16) IDLE=(500 1000 10000 19000 50000 100000) CHURN=(16) SIZES=(64) UNIX=(16) P_WORKLOADS=idle
	P_MODELS="thread select poll epoll-lt epoll-et reactors uring uring-multishot libevent coroutine leader-follower epoll-procs"
	P_RATE=5000 P_OPEN_DURATION=1 P_WARMUP=0.2 P_DURATION=1 P_IDLE_DURATION=1 P_REPEATS=1 P_MAX_REPEATS=1
	;;
full)
	CLOSED=(1 2 4 8 16 32 64 128 256 512 1024 2048 4096)
	IDLE=(0 100 1000 2000 5000 10000 15000) CHURN=(1 4 16 64 128 256)
	SIZES=(64 256 1024 4096 16384 65536) UNIX=(1 16 64 256 1024)
	P_RATE=10000 P_OPEN_DURATION=10 P_WARMUP=1 P_DURATION=3 P_REPEATS=5 P_MAX_REPEATS=10
	P_ADAPTIVE="closed:64 closed:256 closed:1024 idle:10000 churn:128 churn:256"
	;;
*) die "BENCH=$BENCH: use smoke, quick, default, full, unpinned or c1m (or check: the regression gate)" ;;
esac
# The points of each sweep can be given too (space-separated lists).
[[ -z "${CLOSED_POINTS:-}" ]] || read -r -a CLOSED <<<"$CLOSED_POINTS"
[[ -z "${IDLE_POINTS:-}" ]] || read -r -a IDLE <<<"$IDLE_POINTS"
[[ -z "${CHURN_POINTS:-}" ]] || read -r -a CHURN <<<"$CHURN_POINTS"
[[ -z "${SIZE_POINTS:-}" ]] || read -r -a SIZES <<<"$SIZE_POINTS"
[[ -z "${UNIX_POINTS:-}" ]] || read -r -a UNIX <<<"$UNIX_POINTS"
[[ -z "${CAPACITY_POINTS:-}" ]] || read -r -a CAPACITY <<<"$CAPACITY_POINTS"
for x in "${CLOSED[@]}" "${IDLE[@]}" "${CHURN[@]}" "${SIZES[@]}" "${UNIX[@]}" "${CAPACITY[@]}"; do
	[[ "$x" =~ ^[0-9]+$ ]] || die "point '$x': a whole number"
done
WARMUP=${WARMUP:-$P_WARMUP}
DURATION=${DURATION:-$P_DURATION}
IDLE_DURATION=${IDLE_DURATION:-${P_IDLE_DURATION:-$DURATION}}
CHURN_DURATION=${CHURN_DURATION:-${P_CHURN_DURATION:-$DURATION}}
SIZE_DURATION=${SIZE_DURATION:-${P_SIZE_DURATION:-$DURATION}}
OPEN_DURATION=${OPEN_DURATION:-$P_OPEN_DURATION}
CAPACITY_DURATION=${CAPACITY_DURATION:-$P_CAPACITY_DURATION}
CAPACITY_START=${CAPACITY_START:-$P_CAPACITY_START}
CAPACITY_RESOLUTION=${CAPACITY_RESOLUTION:-$P_CAPACITY_RESOLUTION}
CAPACITY_TIME=${CAPACITY_TIME:-$P_CAPACITY_TIME}
REPEATS=${REPEATS:-$P_REPEATS}
MAX_REPEATS=${MAX_REPEATS:-$P_MAX_REPEATS}
ADAPTIVE_POINTS=${ADAPTIVE_POINTS-$P_ADAPTIVE}
CI_TARGET=${CI_TARGET:-0.03}
OPEN_RATE=${OPEN_RATE:-$P_RATE}
POOL_MAX_WORKERS=${POOL_MAX_WORKERS:-1024}
PREFORK_MAX_WORKERS=${PREFORK_MAX_WORKERS:-1024}
LOADGEN_THREADS=${LOADGEN_THREADS:-${P_LOADGEN_THREADS:-1}}
PIN=${PIN:-${P_PIN:-1}}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
RESULTS=${RESULTS:-$ROOT/results}
LOADGEN=${LOADGEN:-$BIN/loadgen}
SERVERS_DIR=${SERVERS_DIR:-$BIN}
BENCH_LOCK=${BENCH_LOCK:-/tmp/bench.lock}
LOCK_WAIT=${LOCK_WAIT:-900}
# The order of the models in each round: random unless given.
SEED=${SEED:-$(((RANDOM << 15 | RANDOM) % 1000000))}
read -r -a MODELS <<<"${MODELS:-${P_MODELS:-${ALL_MODELS[*]}}}"
read -r -a WORKLOADS <<<"${WORKLOADS:-${P_WORKLOADS:-$ALL_WORKLOADS}}"

for m in "${MODELS[@]}"; do
	[[ " ${ALL_MODELS[*]} " == *" $m "* ]] || die "MODELS: unknown model '$m' (models: ${ALL_MODELS[*]})"
done
for w in "${WORKLOADS[@]}"; do
	[[ " $ALL_WORKLOADS " == *" $w "* ]] || die "WORKLOADS: unknown workload '$w' (workloads: $ALL_WORKLOADS)"
done
for v in WARMUP DURATION IDLE_DURATION CHURN_DURATION SIZE_DURATION OPEN_DURATION CI_TARGET \
	CAPACITY_DURATION CAPACITY_RESOLUTION CAPACITY_TIME; do
	[[ "${!v}" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "$v=${!v}: a number, such as 0.5"
done
for v in REPEATS MAX_REPEATS OPEN_RATE POOL_MAX_WORKERS PREFORK_MAX_WORKERS LOADGEN_THREADS CAPACITY_START; do
	[[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v=${!v}: a positive whole number"
done
[[ "$SEED" =~ ^[0-9]+$ ]] || die "SEED=$SEED: a whole number"
((MAX_REPEATS >= REPEATS)) || MAX_REPEATS=$REPEATS
for p in $ADAPTIVE_POINTS; do
	[[ "$p" =~ ^[a-z]+:[0-9]+$ && " $ALL_WORKLOADS " == *" ${p%%:*} "* ]] ||
		die "ADAPTIVE_POINTS: '$p' is not WORKLOAD:X (such as closed:64)"
done
[[ "$PIN" == 0 || "$PIN" == 1 ]] || die "PIN=$PIN: 1 (pin server and client) or 0"
BENCH_NET=${BENCH_NET:-}
[[ -z $BENCH_NET || $BENCH_NET == netns ]] || die "BENCH_NET=$BENCH_NET: netns (two network namespaces) or nothing (loopback)"
[[ "$BENCH" != unpinned || "$PIN" == 0 ]] || die "BENCH=unpinned pins nothing: PIN=1 contradicts it (use another profile)"

# The point's functions (point_params, why_not, warmup_ms, point_ms)
# and the machine's limits, from the script that runs a point.
# shellcheck source=bench/point.sh disable=SC1091 # followed with shellcheck -x
. "$BENCH_DIR/point.sh"
[[ "$RUN_CSV_HEADER" == "$CSV_HEADER" ]] || die "CSV_HEADER in bench/run.sh differs from bench/point.sh --header"

# ---- small helpers -------------------------------------------------------------

fmt_duration() {
	local s=$1
	if ((s >= 3600)); then
		printf '%dh%02dm' $((s / 3600)) $((s % 3600 / 60))
	elif ((s >= 60)); then
		printf '%dm%02ds' $((s / 60)) $((s % 60))
	else
		printf '%ds' "$s"
	fi
}

workload_points() {
	case "$1" in
	closed) echo "${CLOSED[*]}" ;;
	idle) echo "${IDLE[*]}" ;;
	churn) echo "${CHURN[*]}" ;;
	open) echo "$OPEN_RATE" ;;
	size) echo "${SIZES[*]}" ;;
	unix) echo "${UNIX[*]}" ;;
	cap1ms | cap10ms) echo "${CAPACITY[*]}" ;;
	esac
}

# point_rounds WORKLOAD: the rounds every point of it runs: a capacity search
# is a sequence of runs already, and runs once.
point_rounds() {
	if [[ $1 == cap* ]]; then echo 1; else echo "$REPEATS"; fi
}

# is_adaptive WORKLOAD X: the point may run more than REPEATS rounds.
is_adaptive() {
	[[ " $ADAPTIVE_POINTS " == *" $1:$2 "* ]]
}

# shuffled_models WORKLOAD X ROUND: MODELS in the round's order, one per
# line: a Fisher-Yates shuffle driven by a linear congruential generator
# seeded from SEED, the point and the round (cksum), in shell arithmetic, so
# the same seed gives the same order on any machine.
shuffled_models() {
	local order=("${MODELS[@]}") state i j t
	read -r state _ < <(cksum <<<"$SEED $1 $2 $3")
	state=$((state % 2147483648))
	for ((i = ${#order[@]} - 1; i > 0; i--)); do
		state=$(((state * 1103515245 + 12345) % 2147483648))
		j=$(((state >> 8) % (i + 1)))
		t=${order[i]} order[i]=${order[j]} order[j]=$t
	done
	printf '%s\n' "${order[@]}"
}

# loose_intervals WORKLOAD X: the models whose median msgs_per_s or
# server_us_per_msg at the point, over its clean rounds so far, has a 95%
# interval wider than +-CI_TARGET (bench/stats.awk), as "model metric
# +-width; ..."; nothing when every one is tight. A model with one clean
# round has no interval yet: loose. A metric a model has no figure for is
# not judged; a model with no clean round is not either.
loose_intervals() {
	awk -F, -v w="$1" -v x="$2" -v target="$CI_TARGET" -f "$BENCH_DIR/stats.awk" -f <(
		cat <<-'EOF'
			NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
			$c["workload"] == w && $c["x"] == x && $c["status"] == "ok" {
				m = $c["model"]
				if (!(m in seen)) { seen[m] = 1; order[++nm] = m }
				for (j = 1; j <= 2; j++) {
					v = $c[metric[j]]
					if (v != "") { k = ++cnt[m, j]; val[m, j, k] = v }
				}
			}
			BEGIN { split("msgs_per_s server_us_per_msg", metric, " "); split("msg/s cpu/msg", label, " ") }
			END {
				for (i = 1; i <= nm; i++) {
					m = order[i]
					for (j = 1; j <= 2; j++) {
						n = cnt[m, j] + 0
						if (n == 0)
							continue
						for (k = 1; k <= n; k++)
							a[k] = val[m, j, k]
						stats_median_ci(a, n, out)
						if (n < 2)
							loose = loose sprintf("%s %s (1 round); ", m, label[j])
						else if (out["rel"] == "")
							loose = loose sprintf("%s %s (median 0); ", m, label[j])
						else if (out["rel"] > target + 0)
							loose = loose sprintf("%s %s +-%.1f%%; ", m, label[j], out["rel"] * 100)
					}
				}
				sub(/; $/, "", loose)
				print loose
			}
		EOF
	) "$RAW"
}

# ---- the build, and the models that cannot run here ---------------------------

if [[ "${NO_BUILD:-0}" != 1 && "${DRY_RUN:-0}" != 1 ]]; then
	make -C "$ROOT" --no-print-directory -s all >&2 || die "the build failed"
fi

# UNAVAILABLE[MODEL]: why MODEL cannot run on this machine (bench/models.sh:
# not built, or io_uring refused); every point of it is recorded as not run
# with that reason. Asked once (it starts echo-uring for a moment), handed
# to bench/point.sh as BENCH_UNAVAILABLE.
declare -A UNAVAILABLE=()
BENCH_UNAVAILABLE=""
for m in "${MODELS[@]}"; do
	if reason=$(model_unavailable "$SERVERS_DIR" "$m"); then
		reason=$(csv_text "${reason:-cannot run here (no reason given)}")
		UNAVAILABLE[$m]=$reason
		BENCH_UNAVAILABLE+="$m"$'\t'"$reason"$'\n'
		note "$m cannot run here, recorded as not run: $reason"
	fi
done
export BENCH_UNAVAILABLE

# ---- the plan --------------------------------------------------------------------
# POINTS: "workload x" in order. Per model and point, the milliseconds one
# run is expected to take (RUN_MS); per point, the runs of one round and
# their expected milliseconds; the expected duration at REPEATS rounds
# everywhere, and at most (every adaptive point running MAX_REPEATS rounds).
# A not-run point costs bench/point.sh's start, about 50 ms. In whole
# milliseconds, in the shell: an awk per sum took seconds.

POINTS=()
declare -A RUN_MS=() ROUND_MS=() ROUND_RUNS=()
expected_ms=0
expected_max_ms=0
runs_min=0
runs_max=0
notrun_points=0
for w in "${WORKLOADS[@]}"; do
	for x in $(workload_points "$w"); do
		POINTS+=("$w $x")
		point_params "$w" "$x"
		round_ms=0 round_runs=0
		for m in "${MODELS[@]}"; do
			if [[ -n "$(why_not "$m" "$w" "$P_CONNS" "$P_IDLE")" ]]; then
				notrun_points=$((notrun_points + 1))
				round_ms=$((round_ms + 50))
				continue
			fi
			round_runs=$((round_runs + 1))
			RUN_MS["$m $w $x"]=$(point_ms "$m" "$w" "$P_CONNS" "$P_IDLE" "$P_DUR")
			round_ms=$((round_ms + RUN_MS["$m $w $x"]))
		done
		ROUND_MS["$w $x"]=$round_ms ROUND_RUNS["$w $x"]=$round_runs
		rounds=$(point_rounds "$w")
		rounds_max=$rounds
		! is_adaptive "$w" "$x" || rounds_max=$MAX_REPEATS
		runs_min=$((runs_min + round_runs * rounds))
		runs_max=$((runs_max + round_runs * rounds_max))
		expected_ms=$((expected_ms + round_ms * rounds))
		expected_max_ms=$((expected_max_ms + round_ms * rounds_max))
	done
done
expected_s=$((expected_ms / 1000 + 5))
expected_max_s=$((expected_max_ms / 1000 + 5))

if [[ "$PIN" == 1 ]]; then
	command -v taskset >/dev/null 2>&1 || die "taskset (util-linux) is missing: install it or run with PIN=0"
	cpus=$(nproc)
	if ((cpus < 2 || SERVER_CPU >= cpus || CLIENT_CPU >= cpus)); then
		note "$cpus CPU(s): cannot pin the server to CPU $SERVER_CPU and the client to CPU $CLIENT_CPU; running unpinned"
		PIN=0
	fi
fi
# What the run, its charts and its summary say about pinning. Unpinned, the
# label is loud: every other run gives the server one core.
if [[ "$PIN" == 1 ]]; then
	pinning="Server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU (taskset)"
	server_cores=1
else
	server_cores=$(nproc)
	if ((server_cores == 2)); then
		pinning="UNPINNED: server and client share both cores"
	else
		pinning="UNPINNED: server and client share all $server_cores cores"
	fi
fi
# The client counts as client-bound from CLIENT_BOUND of the cores it can
# use: its threads, at most the cores it may run on.
if [[ "$PIN" == 1 ]]; then
	client_cores=1
else
	client_cores=$((LOADGEN_THREADS < server_cores ? LOADGEN_THREADS : server_cores))
fi
bound_cores=$(awk -v b="$CLIENT_BOUND" -v c="$client_cores" 'BEGIN { printf "%.2f", b * c }')

CI_PERCENT=$(awk -v t="$CI_TARGET" 'BEGIN { printf "%g", t * 100 }')
rounds_text="$REPEATS round(s) (a capacity search: once)"
if [[ -n "$ADAPTIVE_POINTS" ]] && ((MAX_REPEATS > REPEATS)); then
	rounds_text="$REPEATS round(s) (a capacity search: once), up to $MAX_REPEATS at $ADAPTIVE_POINTS until the 95% intervals are within +-$CI_PERCENT%"
fi
note "$pinning"
note "profile $BENCH: ${#MODELS[@]} models, workloads ${WORKLOADS[*]}, $rounds_text; warm-up ${WARMUP}s + ${DURATION}s per point (idle ${IDLE_DURATION}s, churn ${CHURN_DURATION}s, open ${OPEN_DURATION}s, size ${SIZE_DURATION}s)"
if ((runs_max > runs_min)); then
	note "$runs_min to $runs_max runs ($notrun_points points not run); expected duration about $(fmt_duration "$expected_s"), at most $(fmt_duration "$expected_max_s")"
else
	note "$runs_min runs ($notrun_points points not run); expected duration about $(fmt_duration "$expected_s")"
fi
note "seed $SEED (SEED=$SEED repeats the order of the models in every round)"

if [[ "${DRY_RUN:-0}" == 1 ]]; then
	for point in "${POINTS[@]}"; do
		read -r w x <<<"$point"
		point_params "$w" "$x"
		rounds="$(point_rounds "$w") round(s)"
		! is_adaptive "$w" "$x" || ((MAX_REPEATS == REPEATS)) || rounds="$REPEATS-$MAX_REPEATS rounds (adaptive)"
		for m in "${MODELS[@]}"; do
			reason=$(why_not "$m" "$w" "$P_CONNS" "$P_IDLE")
			printf '%-6s %-10s %-8s %s\n' "$w" "$P_LABEL" "$m" "${reason:+not run: }${reason:-$rounds}" >&2
		done
	done
	exit 0
fi

# ---- preparing ---------------------------------------------------------------

[[ -x "$LOADGEN" ]] || die "$LOADGEN is missing: the load generator (client/) is not built; run make"
if [[ "${NO_REPORT:-0}" != 1 ]]; then
	command -v gnuplot >/dev/null 2>&1 ||
		die "gnuplot is not installed: run 'tests/ensure-packages gnuplot-nox' as root (or make bench), or apt-get install gnuplot-nox"
fi
# The server's figures come from the load generator (--server-pid).
LOADGEN_SERVER_PID=0
if [[ $("$LOADGEN" --help 2>&1 || true) == *--server-pid* ]]; then
	LOADGEN_SERVER_PID=1
else
	note "warning: $LOADGEN has no --server-pid: the server's CPU and memory are not measured (rebuild it: make)"
fi

# One bench at a time on a machine: two would measure each other. The
# points (bench/point.sh) run under this lock (BENCH_LOCK_HELD).
take_bench_lock bench "$BENCH_LOCK" "$LOCK_WAIT"

# A busy machine measures the other load as much as the servers.
read -r load1 _ </proc/loadavg
if awk -v l="$load1" -v n="$(getconf _NPROCESSORS_ONLN)" 'BEGIN { exit !(l > n * 0.5) }'; then
	note "warning: load average $load1 on $(getconf _NPROCESSORS_ONLN) CPUs: other processes are busy; expect noisy figures"
fi

# This script shares the client's CPU with the load generator.
[[ "$PIN" != 1 ]] || taskset -cp "$CLIENT_CPU" $$ >/dev/null

host=$(hostname -s 2>/dev/null || hostname)
run_id="$(date -u +%Y%m%dT%H%M%SZ)-$host"
RUN_DIR=$(new_run_dir "$RESULTS" "$run_id") || die "cannot make a run folder in $RESULTS"
run_id=$(basename "$RUN_DIR")
LOG_DIR="$RUN_DIR/logs"
mkdir -p "$LOG_DIR"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
POINT_PID=

NETNS_NAME=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local rc=$?
	if [[ -n "$POINT_PID" ]]; then
		# bench/point.sh stops its server and load generators on SIGTERM.
		kill -TERM "$POINT_PID" 2>/dev/null || true
		wait_exit "$POINT_PID" 60
		POINT_PID=
	fi
	[[ -z $NETNS_NAME ]] || netns_down "$NETNS_NAME"
	[[ -z "${TMP:-}" ]] || rm -rf "$TMP"
	[[ ! -t 2 ]] || printf '\r\033[K' >&2
	return "$rc"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM HUP

# BENCH_NET=netns: two network stacks of this run's own, removed at exit
# (the EXIT trap), on failure and on an interrupt.
network="loopback (127.0.0.1): server and load generator share one network stack"
if [[ $BENCH_NET == netns ]]; then
	NETNS_NAME="eb$$"
	netns_up "$NETNS_NAME" ||
		die "BENCH_NET=netns: cannot make two network namespaces and a veth pair (root and ip, from iproute2, are needed)"
	export SERVER_NETNS="$NETNS_NAME-srv" CLIENT_NETNS="$NETNS_NAME-cli"
	network="two network namespaces joined by a veth pair: the server in $SERVER_NETNS ($NETNS_SERVER_ADDR), the load generator in $CLIENT_NETNS ($NETNS_CLIENT_ADDR)"
	note "network: $network"
fi
# SERVER_SSH, CLIENT_SSH: the server and the load generators on other hosts
# (bench/point.sh, "other hosts"), through the same prefixes as the
# namespaces'.
if [[ -n ${SERVER_SSH:-} || -n ${CLIENT_SSH:-} ]]; then
	[[ -z $BENCH_NET ]] || die "BENCH_NET=netns and SERVER_SSH/CLIENT_SSH: one or the other"
	server_addr=${SERVER_ADDR:-${SERVER_SSH#*@}}
	[[ -n $server_addr ]] ||
		die "CLIENT_SSH without SERVER_SSH: set SERVER_ADDR, the address of this host the load generators reach"
	network="other hosts through ${REMOTE_SHELL:-ssh -o BatchMode=yes}: the server on ${SERVER_SSH:-this host} ($server_addr), a load generator on each of ${CLIENT_SSH:-this host}, started together and merged into one point"
	note "network: $network"
fi

# ---- env.txt -----------------------------------------------------------------

# The flags the Makefile builds with, overrides included (make --eval).
# shellcheck disable=SC2016 # $(...) here is make's, not the shell's
compiler_line=$(make -C "$ROOT" --no-print-directory -s \
	--eval='bench-print-flags: ; @echo $(CC) $(ALL_CFLAGS) $(LDFLAGS)' bench-print-flags 2>/dev/null || true)
cc_cmd=${compiler_line%% *}
cc_version=$("${cc_cmd:-cc}" --version 2>/dev/null | head -n 1 || true)
# "cc (Debian 12.2.0-14) 12.2.0" -> "gcc 12.2.0"; clang says its name.
cc_short=$(awk '{ v = $NF; for (i = 1; i <= NF; i++) if ($i == "version") v = $(i + 1)
	print (tolower($0) ~ /clang/ ? "clang " : "gcc ") v; exit }' <<<"$cc_version")
opt_flags=$(tr ' ' '\n' <<<"$compiler_line" | grep -E '^-(O|march|mtune|flto|g$)' | tr '\n' ' ' || true)
git_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)
# Dirty: a change to the measured code or to what builds and runs it (the
# Makefile, the model table), or a new file there not yet committed.
if [[ "$git_rev" != none && -n "$(git -C "$ROOT" status --porcelain -- servers client Makefile bench/models.txt 2>/dev/null)" ]]; then
	git_rev="$git_rev+dirty"
fi
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
{
	echo "run: $run_id"
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "host: $host"
	echo "kernel: $(uname -r)"
	echo "uname: $(uname -srvm)"
	echo "cpu_model: ${cpu_model:-unknown}"
	echo "cores: $(getconf _NPROCESSORS_ONLN)"
	echo "online_cpus: $(cat /sys/devices/system/cpu/online 2>/dev/null || echo ?)"
	echo "cpu_governor: $(cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor 2>/dev/null || echo none)"
	echo "virtualization: $(systemd-detect-virt 2>/dev/null || lscpu 2>/dev/null | awk -F': *' '/Hypervisor vendor/ { print $2 }' || true)"
	echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "compiler: ${cc_short:-unknown}"
	echo "compiler_version: ${cc_version:-unknown}"
	echo "optimisation: ${opt_flags% }"
	echo "build: $compiler_line"
	echo "git: $git_rev"
	echo "loadgen: $("$LOADGEN" -V 2>/dev/null | head -n 1 || echo unknown)"
	echo "gnuplot: $(gnuplot --version 2>/dev/null || echo none)"
	echo "fd_limit: soft $(ulimit -Sn), hard $(ulimit -Hn)"
	echo "process_limit: soft $(ulimit -Su), hard $(ulimit -Hu)"
	echo "threads_max: $THREADS_MAX"
	echo "max_map_count: $MAX_MAP_COUNT (two mappings per thread stack)"
	echo "nr_open: $(cat /proc/sys/fs/nr_open 2>/dev/null || echo ?) (the most a hard descriptor limit may be raised to)"
	echo "pid_max: $PID_MAX"
	echo "somaxconn: $(cat /proc/sys/net/core/somaxconn)"
	echo "ip_local_port_range: $PORT_LO $PORT_HI"
	echo "tcp_tw_reuse: $(cat /proc/sys/net/ipv4/tcp_tw_reuse 2>/dev/null || echo ?)"
	echo "loadavg_start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "profile: $BENCH"
	echo "repeats: $REPEATS"
	echo "max_repeats: $MAX_REPEATS"
	echo "adaptive_points: ${ADAPTIVE_POINTS:-none}"
	echo "ci_target: $CI_TARGET"
	echo "seed: $SEED"
	echo "warmup_s: $WARMUP"
	echo "duration_s: $DURATION"
	echo "idle_duration_s: $IDLE_DURATION"
	echo "churn_duration_s: $CHURN_DURATION"
	echo "size_duration_s: $SIZE_DURATION"
	echo "open_duration_s: $OPEN_DURATION"
	echo "open_rate: $OPEN_RATE"
	echo "capacity: p99 <= 1 ms and <= 10 ms (loadgen --search), steps of ${CAPACITY_DURATION}s from $CAPACITY_START msg/s, doubling then bisecting to ${CAPACITY_RESOLUTION}%, at most ${CAPACITY_TIME}s, once per point"
	echo "network: $network"
	echo "pinning: $pinning"
	echo "pinned: $PIN"
	echo "server_cores: $server_cores"
	echo "reactors_workers: $server_cores (its default: one reactor per usable core)"
	echo "loadgen_threads: $LOADGEN_THREADS"
	echo "client_bound_from: $bound_cores cores"
	echo "server_figures: $([[ $LOADGEN_SERVER_PID == 1 ]] && echo "loadgen --server-pid, at the edges of the measured window" || echo "none (loadgen without --server-pid)")"
	echo "pool_max_workers: $POOL_MAX_WORKERS"
	echo "prefork_max_workers: $PREFORK_MAX_WORKERS"
	echo "models: ${MODELS[*]}"
	for m in "${!UNAVAILABLE[@]}"; do echo "$m: ${UNAVAILABLE[$m]}"; done |
		sort | awk 'BEGIN { s = "" } { s = s (s == "" ? "" : "; ") $0 } END { print "models_unavailable: " (s == "" ? "none" : s) }'
	echo "workloads: ${WORKLOADS[*]}"
} >"$RUN_DIR/env.txt"

RAW="$RUN_DIR/raw.csv"
echo "$CSV_HEADER" >"$RAW"

# ---- one run -------------------------------------------------------------------

# What every bench/point.sh of this run is given.
export SERVERS_DIR LOADGEN PIN SERVER_CPU CLIENT_CPU WARMUP DURATION IDLE_DURATION CHURN_DURATION \
	SIZE_DURATION OPEN_DURATION CLOSED_SIZE IDLE_ACTIVE OPEN_CONNS SIZE_CONNS LOADGEN_THREADS \
	POOL_MAX_WORKERS PREFORK_MAX_WORKERS LOG_DIR LOADGEN_SERVER_PID CAPACITY_DURATION CAPACITY_START \
	CAPACITY_RESOLUTION CAPACITY_TIME
# The open loop's latency over time, 100 ms at a time (the intervals chart).
export INTERVAL_DIR="$RUN_DIR/intervals"
# What the idle connections cost the kernel, and how long they took to open
# (the section "Toward a million connections": bench/c1m.awk).
export KERNEL_CSV="$RUN_DIR/kernel.csv"
export CLIENT_BOUND_CORES=$bound_cores BENCH_LOCK_HELD=1

LIVE=0
[[ ! -t 2 ]] || LIVE=1

live() {
	((LIVE)) || return 0
	printf '\r\033[K%s' "$1" >&2
}

# summary_of ROW: the progress line's account of a raw.csv row.
summary_of() {
	awk -F, -v header="$CSV_HEADER" '
		function si(x) {
			if (x >= 1e6) return sprintf("%.3gM", x / 1e6)
			if (x >= 1e3) return sprintf("%.3gk", x / 1e3)
			return sprintf("%.3g", x)
		}
		BEGIN { n = split(header, h, ","); for (i = 1; i <= n; i++) c[h[i]] = i }
		{
			if ($c["status"] == "not-run") { print "not run: " $c["reason"]; exit }
			if ($c["status"] == "failed") { print "FAILED: " $c["reason"]; exit }
			line = sprintf("%s msg/s  p99 %s us", si($c["msgs_per_s"] + 0), si($c["lat_p99_us"] + 0))
			if ($c["server_us_per_msg"] != "")
				line = line sprintf("  server %s us/msg (%.2f cores)", si($c["server_us_per_msg"] + 0), $c["server_cpu_cores"])
			if ($c["server_rss_kib"] != "")
				line = line "  " si($c["server_rss_kib"] / 1024) " MiB"
			if ($c["client_cpu"] != "")
				line = line sprintf("  client %.0f%%%s", $c["client_cpu"] * 100, $c["client_bound"] == 1 ? " (client-bound)" : "")
			if ($c["status"] != "ok")
				line = line "  ERROR: " $c["reason"]
			print line
		}' <<<"$1"
}

# run_point MODEL WORKLOAD X ROUND: bench/point.sh, its row appended to
# raw.csv; sets ROW_SUMMARY. Run in the background and waited for, so that an
# interrupt reaches it (it stops its own server).
run_point() {
	local status=0 row
	SEED=$4 "$BENCH_DIR/point.sh" "$@" >"$TMP/row" 9>&- &
	POINT_PID=$!
	wait "$POINT_PID" || status=$?
	POINT_PID=
	row=$(head -n 1 "$TMP/row")
	if ((status != 0)) || [[ -z "$row" ]]; then
		row=$(ROW_REASON="bench/point.sh exit $status (see its message above)" awk -v header="$CSV_HEADER" \
			-v model="$1" -v workload="$2" -v x="$3" -v repeat="$4" -v status=failed \
			-f "$BENCH_DIR/row.awk" /dev/null)
	fi
	echo "$row" >>"$RAW"
	ROW_SUMMARY=$(summary_of "$row")
}

# ---- the runs ------------------------------------------------------------------

TOTAL=$((runs_min + notrun_points))
DONE=0
t_begin=$(now_us)
done_expected_ms=0
for point in "${POINTS[@]}"; do
	read -r w x <<<"$point"
	point_params "$w" "$x"
	rounds=$(point_rounds "$w")
	rounds_max=$rounds
	! is_adaptive "$w" "$x" || rounds_max=$MAX_REPEATS
	r=0
	while :; do
		r=$((r + 1))
		mapfile -t order < <(shuffled_models "$w" "$x" "$r")
		for m in "${order[@]}"; do
			live "[$DONE/$TOTAL] $w $P_LABEL $m r$r: running"
			run_point "$m" "$w" "$x" "$r"
			# Not-run points are listed once, not once per round.
			if [[ "$ROW_SUMMARY" == "not run:"* ]]; then
				((r == 1)) || continue
				DONE=$((DONE + 1))
			else
				DONE=$((DONE + 1))
				done_expected_ms=$((done_expected_ms + RUN_MS["$m $w $x"]))
			fi
			# Time left: the plan's estimate, scaled by how the estimate has
			# held up (once there is enough done to tell).
			left_ms=$((expected_ms - done_expected_ms))
			((done_expected_ms <= 5000)) || left_ms=$((left_ms * ($(now_us) - t_begin) / 1000 / done_expected_ms))
			left=$((left_ms > 0 ? left_ms / 1000 : 0))
			live ""
			printf '[%*d/%d %6s left] %-6s %-10s %-8s r%d  %s\n' "${#TOTAL}" "$DONE" "$TOTAL" \
				"$(fmt_duration "$left")" "$w" "$P_LABEL" "$m" "$r" "$ROW_SUMMARY" >&2
		done
		((r >= rounds)) || continue
		is_adaptive "$w" "$x" || break
		loose=$(loose_intervals "$w" "$x")
		if [[ -z "$loose" ]]; then
			note "$w $P_LABEL: every interval within +-$CI_PERCENT% after $r rounds"
			break
		elif ((r >= rounds_max)); then
			note "$w $P_LABEL: after $r rounds (MAX_REPEATS), still wider than +-$CI_PERCENT%: $loose"
			break
		fi
		note "$w $P_LABEL: round $((r + 1)) of at most $rounds_max: $loose"
		TOTAL=$((TOTAL + ROUND_RUNS["$w $x"]))
		expected_ms=$((expected_ms + ROUND_MS["$w $x"]))
	done
done
live ""
elapsed=$((($(now_us) - t_begin) / 1000000))
{
	echo "loadavg_end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "elapsed_s: $elapsed"
} >>"$RUN_DIR/env.txt"
note "runs done in $(fmt_duration "$elapsed"): $RAW"

# ---- the report ------------------------------------------------------------------

if [[ "${NO_REPORT:-0}" != 1 ]]; then
	"$BENCH_DIR/report.sh" "$RUN_DIR"
fi
ln -sfn "$run_id" "$RESULTS/latest"
note "results: $RUN_DIR (results/latest)"
