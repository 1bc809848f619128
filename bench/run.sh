#!/usr/bin/env bash
# bench/run.sh - the comparison: every model through every workload.
#
# Builds, checks the machine's limits, runs each echo server against
# bin/loadgen for every point of every workload, and writes
# results/<UTC time>-<host>/: raw.csv (one row per model x workload x point x
# repeat), env.txt (the machine), the charts (PNG and SVG) and README.md (the
# summary), through bench/report.sh. results/latest then points to it.
#
#   make bench                  the default profile, about 12 minutes
#   BENCH=quick make bench      every model, fewer points, one repeat: a minute
#   BENCH=full make bench       more points, five repeats: about an hour and a half
#   BENCH=smoke bench/run.sh    the whole pipeline in about 30 s (CI)
#   BENCH=check bench/run.sh    the regression gate's points (make baseline, make bench-check)
#   BENCH=unpinned bench/run.sh the multi-core designs with both cores: a few minutes
#   DRY_RUN=1 bench/run.sh      the plan and its expected duration
#
# Workloads (WORKLOADS=..., default all):
#   closed  closed-loop, 64-byte messages, over connection counts: the
#           throughput, p99 latency, server CPU and memory charts
#   idle    a few active clients beside 0..10k idle connections (C10K)
#   churn   a new connection for every message, over concurrent clients
#   open    open loop at one offered rate: the latency percentile spectrum
#   size    closed loop over message sizes at a fixed connection count
#
# Models: bench/models.sh (ALL_MODELS, in teaching order). A model that
# cannot run on this machine (model_unavailable: uring or libevent built
# without its library, io_uring refused by the kernel) is recorded as not
# run at every point, with the reason: a gap in the charts, never a failure.
#
# Method. Every run gets a fresh server (pinned to CPU 0, PIN=0 to unpin)
# and the load generator (pinned to CPU 1, with this script), a warm-up,
# then the measured window. Repeats are the outer loop and the models the
# inner one, so slow drift of the machine spreads over all models. Server
# CPU is user+sys of the server and every child (server_stat below), read
# at the start and the end of a window inside the measured one; memory is
# RSS (and PSS) summed over those processes in the middle of it. Idle
# connections are opened and held by a first loadgen before the measuring
# one starts (run_point below).
#
# Pinned, every server has one core: the multi-core models too (prefork's
# workers share CPU 0, and reactors, given no -w, starts its default of one
# reactor per usable core: one). BENCH=unpinned (or PIN=0 with any profile)
# pins nothing: server and client share every core, and the run, its
# charts and its summary say UNPINNED.
#
# A point a model cannot run is recorded as not run, with the reason, and
# costs no time: blocking with more than one client (it serves one at a time;
# the rest would wait forever), select past FD_SETSIZE, pool and prefork past
# POOL_MAX_WORKERS and PREFORK_MAX_WORKERS (each gets one worker per
# connection: a worker holds its connection until EOF, so fewer workers than
# connections starve the rest in a closed loop), a model unavailable here,
# and any point the descriptor, process or port limits cannot hold. The fork
# and thread caps (-m) are raised to the point's connection count, so the
# cap is never what is measured.
#
# Environment (all optional): BENCH, PIN, SERVER_CPU (0), CLIENT_CPU (1),
# MODELS, WORKLOADS, REPEATS, WARMUP and DURATION (seconds), OPEN_RATE
# (msg/s), OPEN_DURATION, CLOSED_POINTS, IDLE_POINTS, CHURN_POINTS and
# SIZE_POINTS (lists replacing the profile's), POOL_MAX_WORKERS (1024),
# PREFORK_MAX_WORKERS (1024), LOADGEN_THREADS (1; 2 in BENCH=unpinned),
# RESULTS (results/), LOADGEN (bin/loadgen), SERVERS_DIR (bin/: where the
# echo-MODEL programs are), BENCH_LOCK (/tmp/bench.lock: one bench at a
# time on a machine), LOCK_WAIT (seconds, 900), NO_BUILD=1, NO_REPORT=1,
# DRY_RUN=1 (print the plan and the expected duration, run nothing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$ROOT/bench"
BIN="$ROOT/bin"
# ALL_MODELS, MULTICORE_MODELS, model_unavailable: the one list of models.
# shellcheck disable=SC1091 # bench/models.sh: shellcheck checks it on its own
. "$BENCH_DIR/models.sh"
ALL_WORKLOADS="closed idle churn open size"
CSV_HEADER="model,workload,x,repeat,status,reason,connections,idle,size,pipeline,rate,warmup_s,duration_s,messages,msgs_per_s,mib_per_s,lat_min_us,lat_p50_us,lat_p90_us,lat_p99_us,lat_p999_us,lat_p9999_us,lat_max_us,lat_mean_us,err_connect,err_mismatch,err_reset,err_timeout,complete,client_cpu,client_bound,server_cpu_s,server_window_s,server_cpu_cores,server_us_per_msg,server_rss_kib,server_pss_kib,server_procs,server_threads,server_args,loadgen_exit,server_exit,conns_per_s,connect_p50_us,connect_p99_us,client_cpu_us_per_msg"

# select: fds 0-2, the listener and the spare descriptor come first; the
# connections get what is left under FD_SETSIZE, less a little headroom.
SELECT_MAX_CONNS=1016
# The load generator counts as client-bound from this share of its core.
CLIENT_BOUND=0.95
# Descriptors, processes and ports kept free beside a point's connections.
LIMIT_MARGIN=64
# Seconds a run may spend connecting before its warm-up must have begun.
SETUP_TIMEOUT=60

die() {
	echo "bench: $*" >&2
	exit 1
}
note() { echo "bench: $*" >&2; }

# ---- profiles ----------------------------------------------------------------

BENCH=${BENCH:-default}
IDLE_ACTIVE=4
OPEN_CONNS=16
SIZE_CONNS=16
CLOSED_SIZE=64
case "$BENCH" in
smoke)
	CLOSED=(1 16) IDLE=(100) CHURN=(4) SIZES=(4096)
	IDLE_ACTIVE=2 OPEN_CONNS=4 SIZE_CONNS=4
	P_RATE=2000 P_OPEN_DURATION=0.5 P_WARMUP=0.1 P_DURATION=0.3 P_REPEATS=1
	;;
quick)
	CLOSED=(1 16 256) IDLE=(0 1000) CHURN=(16) SIZES=(64 65536)
	P_RATE=5000 P_OPEN_DURATION=1 P_WARMUP=0.2 P_DURATION=0.5 P_REPEATS=1
	;;
default)
	# Twelve models in about twelve minutes: the points where the models
	# part ways (the README's figures are read at 64, 256 and 1024).
	CLOSED=(1 16 64 256 1024) IDLE=(0 1000 10000) CHURN=(16 128)
	SIZES=(64 16384 65536)
	P_RATE=10000 P_OPEN_DURATION=2 P_WARMUP=0.3 P_DURATION=0.8 P_REPEATS=3
	;;
unpinned)
	# The multi-core designs beside the single-threaded loops, nothing
	# pinned (bench/README.md, "The unpinned profile"): closed loop where
	# the README's figures are read (64, 256, 1024 connections) and churn
	# (does accept scale with the cores?). Two load generator threads: one
	# is the limit before the servers are once both cores are shared.
	CLOSED=(64 256 1024) IDLE=(1000) CHURN=(16 128) SIZES=(64) P_WORKLOADS="closed churn"
	P_MODELS="thread prefork epoll-lt reactors uring libevent"
	P_RATE=10000 P_OPEN_DURATION=2 P_WARMUP=0.3 P_DURATION=1 P_REPEATS=3
	P_PIN=0 P_LOADGEN_THREADS=2
	;;
check)
	# The regression gate (make baseline, make bench-check: bench/check.sh):
	# a few representative points, three repeats for a median, about three
	# minutes on a busy 2-core VM (bench/README.md, "The regression gate").
	CLOSED=(16 256) IDLE=(1000) CHURN=(16) SIZES=(64) P_WORKLOADS="closed churn"
	P_RATE=5000 P_OPEN_DURATION=1 P_WARMUP=0.2 P_DURATION=0.5 P_REPEATS=3
	;;
full)
	CLOSED=(1 2 4 8 16 32 64 128 256 512 1024 2048 4096)
	IDLE=(0 100 1000 2000 5000 10000 15000) CHURN=(1 4 16 64 256)
	SIZES=(64 256 1024 4096 16384 65536)
	P_RATE=10000 P_OPEN_DURATION=10 P_WARMUP=1 P_DURATION=3 P_REPEATS=5
	;;
*) die "BENCH=$BENCH: use smoke, quick, default, full or unpinned (or check: the regression gate)" ;;
esac
# The points of each sweep can be given too (space-separated lists).
[[ -z "${CLOSED_POINTS:-}" ]] || read -r -a CLOSED <<<"$CLOSED_POINTS"
[[ -z "${IDLE_POINTS:-}" ]] || read -r -a IDLE <<<"$IDLE_POINTS"
[[ -z "${CHURN_POINTS:-}" ]] || read -r -a CHURN <<<"$CHURN_POINTS"
[[ -z "${SIZE_POINTS:-}" ]] || read -r -a SIZES <<<"$SIZE_POINTS"
for x in "${CLOSED[@]}" "${IDLE[@]}" "${CHURN[@]}" "${SIZES[@]}"; do
	[[ "$x" =~ ^[0-9]+$ ]] || die "point '$x': a whole number"
done
WARMUP=${WARMUP:-$P_WARMUP}
DURATION=${DURATION:-$P_DURATION}
OPEN_DURATION=${OPEN_DURATION:-$P_OPEN_DURATION}
REPEATS=${REPEATS:-$P_REPEATS}
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
read -r -a MODELS <<<"${MODELS:-${P_MODELS:-${ALL_MODELS[*]}}}"
read -r -a WORKLOADS <<<"${WORKLOADS:-${P_WORKLOADS:-$ALL_WORKLOADS}}"

for m in "${MODELS[@]}"; do
	[[ " ${ALL_MODELS[*]} " == *" $m "* ]] || die "MODELS: unknown model '$m' (models: ${ALL_MODELS[*]})"
done
for w in "${WORKLOADS[@]}"; do
	[[ " $ALL_WORKLOADS " == *" $w "* ]] || die "WORKLOADS: unknown workload '$w' (workloads: $ALL_WORKLOADS)"
done
for v in WARMUP DURATION OPEN_DURATION; do
	[[ "${!v}" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "$v=${!v}: seconds, such as 0.5"
done
for v in REPEATS OPEN_RATE POOL_MAX_WORKERS PREFORK_MAX_WORKERS LOADGEN_THREADS; do
	[[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v=${!v}: a positive whole number"
done
[[ "$PIN" == 0 || "$PIN" == 1 ]] || die "PIN=$PIN: 1 (pin server and client) or 0"
[[ "$BENCH" != unpinned || "$PIN" == 0 ]] || die "BENCH=unpinned pins nothing: PIN=1 contradicts it (use another profile)"

CLK_TCK=$(getconf CLK_TCK)

# ---- small helpers -------------------------------------------------------------

now_us() { echo "${EPOCHREALTIME/./}"; }

# seconds (decimal) -> microseconds, and back; ms for loadgen's options.
s_to_us() { awk -v s="$1" 'BEGIN { printf "%.0f", s * 1e6 }'; }
us_to_s() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }
s_to_ms() { awk -v s="$1" 'BEGIN { printf "%.0f", s * 1000 }'; }

sleep_until_us() {
	local left=$(($1 - $(now_us)))
	((left <= 0)) || sleep "$(us_to_s "$left")"
}

# process_running PID: true while PID exists and is not a zombie.
process_running() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

# wait_child PID SECONDS: waits for a child of this shell with a deadline,
# SIGKILL past it. Sets WAITED (its exit status, or "timeout").
wait_child() {
	local pid=$1 deadline=$(($(now_us) + $2 * 1000000))
	while process_running "$pid"; do
		if (($(now_us) >= deadline)); then
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			WAITED=timeout
			return 0
		fi
		sleep 0.02
	done
	WAITED=0
	wait "$pid" 2>/dev/null || WAITED=$?
}


# ---- the server's processes, from /proc ---------------------------------------
# server_stat PID prints "cpu_us rss_pages processes threads pids...": the
# server and its children (fork's connections), found in one pass over
# /proc/*/stat. CPU time: the server's utime+stime+cutime+cstime (all its
# threads, and the children it has reaped) plus, for each live child, its
# run time from /proc/CHILD/schedstat in nanoseconds: /proc/PID/stat counts
# in 10 ms ticks per process, and a thousand children that each ran a few
# milliseconds would each round down to nothing.
# Fields after "pid (comm) ": 2 ppid, 12-15 utime stime cutime cstime,
# 18 threads, 22 rss (pages).

server_stat() {
	local line f files=() pid child_ns
	line=$({ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v p="$1" -v hz="$CLK_TCK" '
		{
			pid = $1
			s = $0
			sub(/^[0-9]+ \(.*\) /, "", s)
			split(s, f, " ")
			if (pid == p) {
				cpu_us = (f[12] + f[13] + f[14] + f[15]) * 1e6 / hz
			} else if (f[2] == p) {
				children = children " " pid
			} else {
				next
			}
			rss += f[22]
			threads += f[18]
			procs++
		}
		END { printf "%.0f %d %d %d %s%s\n", cpu_us, rss, procs, threads, p, children }')
	read -r -a f <<<"$line"
	if ((${#f[@]} > 5)); then
		for pid in "${f[@]:5}"; do files+=("/proc/$pid/schedstat"); done
		child_ns=$({ cat "${files[@]}" 2>/dev/null || true; } | awk '{ ns += $1 } END { printf "%.0f", ns }')
		f[0]=$((f[0] + child_ns / 1000))
	fi
	echo "${f[*]}"
}

# sample: server_stat now; sets SAMPLE, SAMPLE_T (the middle of the read,
# microseconds) and SAMPLE_COST (how long the read took).
sample() {
	local t0 t1
	t0=$(now_us)
	SAMPLE=$(server_stat "$SERVER_PID")
	t1=$(now_us)
	SAMPLE_T=$(((t0 + t1) / 2))
	SAMPLE_COST=$((t1 - t0))
}

# server_pss_kib SAMPLE: the proportional set size summed over the processes
# of a server_stat line (pages shared between them counted once), KiB.
server_pss_kib() {
	local f files=() pid
	read -r -a f <<<"$1"
	for pid in "${f[@]:4}"; do files+=("/proc/$pid/smaps_rollup"); done
	{ cat "${files[@]}" 2>/dev/null || true; } | awk '$1 == "Pss:" { kib += $2 } END { printf "%d\n", kib }'
}

# server_sockets PID: the distinct sockets the server and its children hold
# (a socket shared by several processes, prefork's listener, counts once).
server_sockets() {
	local st dirs=() pid
	read -r -a st <<<"$(server_stat "$1")"
	for pid in "${st[@]:4}"; do dirs+=("/proc/$pid/fd"); done
	{ find "${dirs[@]}" -mindepth 1 -maxdepth 1 -lname 'socket:*' -printf '%l\n' 2>/dev/null || true; } |
		sort -u | wc -l
}

# server_conns PID MODEL: connections the server holds (fork: its children;
# the others: sockets beyond those it had when it became ready, counted
# over its processes: prefork's connections are in its workers).
server_conns() {
	if [[ "$2" == fork ]]; then
		local st
		read -r -a st <<<"$(server_stat "$1")"
		echo $((st[2] - 1))
	else
		echo $(($(server_sockets "$1") - SERVER_BASE_SOCKETS))
	fi
}

# ---- starting and stopping a server -------------------------------------------

SERVER_PID=
SERVER_PORT=
SERVER_BASE_SOCKETS=0
LG_PID=
HOLDER_PID=

# start_server MODEL ARGS...: echo-MODEL -p 0 on the server CPU; waits 15 s
# at most for its readiness line (a machine still tearing down ten thousand
# processes of the previous run can be slow). Its stdout goes to a plain
# file, polled for a whole line: a fifo removed before the server opened it
# would turn into a file nobody reads. Returns 1 (stderr in the log) if the
# line does not come.
start_server() {
	local model=$1 line="" out="$TMP/server.out" deadline
	shift
	: >"$out"
	printf '=== %s %s\n' "$model" "$*" >>"$LOG_DIR/server-$model.log"
	# 9>&- : the server must not inherit (and outlive us holding) the lock.
	"${SERVER_PIN[@]}" "$SERVERS_DIR/echo-$model" -p 0 "$@" <"/dev/null" >"$out" 2>>"$LOG_DIR/server-$model.log" 9>&- &
	SERVER_PID=$!
	deadline=$(($(now_us) + 15000000))
	# read fails on a line without its newline yet: a half-written line waits.
	until IFS= read -r line <"$out"; do
		if ! process_running "$SERVER_PID" || (($(now_us) >= deadline)); then
			echo "bench: no readiness line within 15 s, or the server exited" >>"$LOG_DIR/server-$model.log"
			stop_server
			return 1
		fi
		sleep 0.01
	done
	SERVER_PORT=${line##*:}
	SERVER_PORT=${SERVER_PORT%% *}
	SERVER_BASE_SOCKETS=$(server_sockets "$SERVER_PID")
}

# stop_server: SIGTERM to the saved pid, then waits for its children (fork:
# they get SIGTERM from PR_SET_PDEATHSIG when it exits); every wait has a
# deadline, then SIGKILL. Sets SERVER_EXIT (its status, or "timeout").
stop_server() {
	SERVER_EXIT=
	[[ -n "$SERVER_PID" ]] || return 0
	local st children=() pid deadline
	read -r -a st <<<"$(server_stat "$SERVER_PID")"
	children=("${st[@]:5}")
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	wait_child "$SERVER_PID" 10
	SERVER_EXIT=$WAITED
	deadline=$(($(now_us) + 10000000))
	for pid in "${children[@]}"; do
		while process_running "$pid" && is_server "$pid"; do
			if (($(now_us) >= deadline)); then
				kill -KILL "$pid" 2>/dev/null || true
				break
			fi
			sleep 0.02
		done
	done
	# Then let init reap them: the next run should not share the machine
	# with the teardown of this one (zombies, at most 10 s more).
	deadline=$(($(now_us) + 10000000))
	for pid in "${children[@]}"; do
		while [[ -e "/proc/$pid" ]] && (($(now_us) < deadline)); do
			sleep 0.02
		done
	done
	SERVER_PID=
}

# is_server PID: the process is still one of our echo servers (a saved pid
# is checked before a signal: the kernel may have reused it).
is_server() {
	local comm
	{ read -r comm <"/proc/$1/comm"; } 2>/dev/null || return 1
	[[ "$comm" == echo-* ]]
}

# stop_holder: ends the loadgen that holds the idle connections, if any.
stop_holder() {
	[[ -n "$HOLDER_PID" ]] || return 0
	kill -TERM "$HOLDER_PID" 2>/dev/null || true
	wait_child "$HOLDER_PID" 5
	HOLDER_PID=
}

cleanup() {
	local rc=$?
	stop_holder
	if [[ -n "$LG_PID" ]]; then
		kill -TERM "$LG_PID" 2>/dev/null || true
		wait_child "$LG_PID" 5
		LG_PID=
	fi
	stop_server
	[[ -z "${TMP:-}" ]] || rm -rf "$TMP"
	[[ ! -t 2 ]] || printf '\r\033[K' >&2
	return "$rc"
}

# ---- what a point needs, and why it may not run --------------------------------

FD_LIMIT=$(ulimit -Hn)
[[ "$FD_LIMIT" != unlimited ]] || FD_LIMIT=1048576
PROC_LIMIT=$(ulimit -Hu)
[[ "$PROC_LIMIT" != unlimited ]] || PROC_LIMIT=4194304
THREADS_MAX=$(cat /proc/sys/kernel/threads-max)
PID_MAX=$(cat /proc/sys/kernel/pid_max)
read -r PORT_LO PORT_HI </proc/sys/net/ipv4/ip_local_port_range
PORTS=$((PORT_HI - PORT_LO + 1))
# Processes on the machine now (RLIMIT_NPROC counts the user's; all is safe).
proc_dirs=(/proc/[0-9]*)
PROCS_NOW=${#proc_dirs[@]}
# Servers and loadgen raise their soft descriptor limit to the hard one;
# raise ours too, so that every child starts from it.
ulimit -Sn "$FD_LIMIT" 2>/dev/null || true

# why_not MODEL WORKLOAD CONNECTIONS IDLE: prints the reason a point cannot
# run, or nothing. Reasons do not name the point: the same reason over a run
# of points reads as one range in the charts.
why_not() {
	local model=$1 workload=$2 conns=$(($3 + $4)) tasks
	if [[ -n "${UNAVAILABLE[$model]:-}" ]]; then
		echo "${UNAVAILABLE[$model]}"
	elif [[ "$model" == blocking && "$workload" != churn ]] && ((conns > 1)); then
		echo "serves one client at a time: the others would wait forever"
	elif [[ "$model" == select ]] && ((conns > SELECT_MAX_CONNS)); then
		echo "fds >= FD_SETSIZE (1024) are refused"
	elif [[ "$model" == pool ]] && ((conns > POOL_MAX_WORKERS)); then
		echo "a worker per connection: more than POOL_MAX_WORKERS ($POOL_MAX_WORKERS)"
	elif [[ "$model" == prefork ]] && ((conns > PREFORK_MAX_WORKERS)); then
		echo "a worker process per connection: more than PREFORK_MAX_WORKERS ($PREFORK_MAX_WORKERS)"
	elif ((conns + LIMIT_MARGIN > FD_LIMIT)); then
		echo "descriptor limit (ulimit -Hn $FD_LIMIT) too low"
	elif ((conns + LIMIT_MARGIN > PORTS)); then
		echo "too few ephemeral ports ($PORTS)"
	else
		tasks=0
		case "$model" in fork | thread | pool | prefork) tasks=$conns ;; esac
		if ((tasks + LIMIT_MARGIN + PROCS_NOW > PROC_LIMIT)); then
			echo "process limit (ulimit -Hu $PROC_LIMIT) too low"
		elif ((tasks + 1000 > THREADS_MAX || tasks + 1000 > PID_MAX)); then
			echo "kernel threads-max/pid_max too low"
		fi
	fi
}

# server_args MODEL CONNECTIONS: the options that fit the point. pool and
# prefork get a worker per connection (why_not caps them); reactors gets no
# -w: its default, one reactor per usable core, is 1 when pinned and every
# core when not, which is what each kind of run is for.
server_args() {
	local model=$1 conns=$2
	local cap=$((conns + 16)) # a little room: a closing connection may linger
	case "$model" in
	fork) echo "-m $((cap > 1024 ? cap : 1024))" ;;
	thread) echo "-m $((cap > 10000 ? cap : 10000))" ;;
	pool) echo "-w $((conns > 1 ? conns : 1)) -m $((cap > 1024 ? cap : 1024))" ;;
	prefork) echo "-w $((conns > 1 ? conns : 1))" ;;
	*) echo "" ;;
	esac
}

# point_params WORKLOAD X: sets P_CONNS P_IDLE P_SIZE P_RATE P_DUR P_LABEL.
point_params() {
	P_CONNS=1 P_IDLE=0 P_SIZE=$CLOSED_SIZE P_RATE=0 P_DUR=$DURATION
	case "$1" in
	closed) P_CONNS=$2 P_LABEL="c=$2" ;;
	idle) P_CONNS=$IDLE_ACTIVE P_IDLE=$2 P_LABEL="idle=$2" ;;
	churn) P_CONNS=$2 P_LABEL="c=$2" ;;
	open) P_CONNS=$OPEN_CONNS P_RATE=$2 P_DUR=$OPEN_DURATION P_LABEL="rate=$2" ;;
	size) P_CONNS=$SIZE_CONNS P_SIZE=$2 P_LABEL="size=$2" ;;
	esac
}

workload_points() {
	case "$1" in
	closed) echo "${CLOSED[*]}" ;;
	idle) echo "${IDLE[*]}" ;;
	churn) echo "${CHURN[*]}" ;;
	open) echo "$OPEN_RATE" ;;
	size) echo "${SIZES[*]}" ;;
	esac
}

# accept_s MODEL CONNECTIONS: about how long the server takes to accept that
# many connections (fork forks for each one, prefork forks a worker for each
# after its readiness line: about 2000 a second on a small VM; the others
# accept about ten times as many).
accept_s() {
	awk -v c="$2" -v fork="$([[ $1 == fork || $1 == prefork ]] && echo 1 || echo 0)" \
		'BEGIN { printf "%.2f", c * (fork ? 0.0008 : 0.0001) }'
}

# warmup_for MODEL WORKLOAD CONNECTIONS: the warm-up, lengthened by the time
# the server needs to accept the connections, so that the measured window
# never starts while connections still wait in the listen queue.
warmup_for() {
	local extra=0
	[[ "$2" == churn ]] || extra=$(accept_s "$1" "$3")
	awk -v w="$WARMUP" -v e="$extra" 'BEGIN { printf "%g", w + e }'
}

# Rough seconds a run takes beyond warm-up and measurement: server start and
# stop, connecting, sampling.
run_overhead_s() {
	local model=$1 conns=$(($2 + $3))
	awk -v a="$(accept_s "$model" "$conns")" 'BEGIN { printf "%.2f", 0.2 + a }'
}

# ---- the build, and the models that cannot run here ---------------------------

if [[ "${NO_BUILD:-0}" != 1 && "${DRY_RUN:-0}" != 1 ]]; then
	make -C "$ROOT" --no-print-directory -s all >&2 || die "the build failed"
fi

# csv_text TEXT: TEXT fit for a raw.csv field and a Markdown table cell (no
# commas, bars or line breaks).
csv_text() {
	local t=${1//,/;}
	t=${t//|//}
	t=${t//$'\r'/ }
	echo "${t//$'\n'/ }"
}

# UNAVAILABLE[MODEL]: why MODEL cannot run on this machine (bench/models.sh:
# not built, or io_uring refused); every point of it is recorded as not run
# with that reason. The check starts echo-uring for a moment.
declare -A UNAVAILABLE=()
for m in "${MODELS[@]}"; do
	if reason=$(model_unavailable "$SERVERS_DIR" "$m"); then
		reason=$(csv_text "${reason:-cannot run here (no reason given)}")
		UNAVAILABLE[$m]=$reason
		note "$m cannot run here, recorded as not run: $reason"
	fi
done

# ---- the plan --------------------------------------------------------------------

PLAN=()
expected_s=0
runs_to_do=0
for ((r = 1; r <= REPEATS; r++)); do
	for w in "${WORKLOADS[@]}"; do
		for x in $(workload_points "$w"); do
			point_params "$w" "$x"
			for m in "${MODELS[@]}"; do
				PLAN+=("$r $w $x $m")
				[[ -z "$(why_not "$m" "$w" "$P_CONNS" "$P_IDLE")" ]] || continue
				runs_to_do=$((runs_to_do + 1))
				expected_s=$(awk -v t="$expected_s" -v a="$(warmup_for "$m" "$w" "$P_CONNS")" -v b="$P_DUR" \
					-v c="$(run_overhead_s "$m" "$P_CONNS" "$P_IDLE")" 'BEGIN { print t + a + b + c }')
			done
		done
	done
done
expected_s=$(awk -v t="$expected_s" 'BEGIN { printf "%d", t + 5 }')

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

note "$pinning"
note "profile $BENCH: ${#MODELS[@]} models, workloads ${WORKLOADS[*]}, $REPEATS repeat(s), warm-up ${WARMUP}s + ${DURATION}s per point"
note "$runs_to_do runs ($((${#PLAN[@]} - runs_to_do)) points not run); expected duration about $(fmt_duration "$expected_s")"

if [[ "${DRY_RUN:-0}" == 1 ]]; then
	for entry in "${PLAN[@]}"; do
		read -r r w x m <<<"$entry"
		((r == 1)) || continue
		point_params "$w" "$x"
		reason=$(why_not "$m" "$w" "$P_CONNS" "$P_IDLE")
		printf '%-6s %-10s %-8s %s\n' "$w" "$P_LABEL" "$m" "${reason:+not run: $reason}" >&2
	done
	exit 0
fi

# ---- preparing ---------------------------------------------------------------

[[ -x "$LOADGEN" ]] || die "$LOADGEN is missing: the load generator (client/) is not built; run make"
if [[ "${NO_REPORT:-0}" != 1 ]]; then
	command -v gnuplot >/dev/null 2>&1 ||
		die "gnuplot is not installed: run 'tests/ensure-packages gnuplot-nox' as root (or make bench), or apt-get install gnuplot-nox"
fi

# One bench at a time on a machine: two would measure each other.
exec 9>>"$BENCH_LOCK"
if ! flock -n 9; then
	note "waiting for another bench to finish (lock $BENCH_LOCK, at most ${LOCK_WAIT}s)"
	flock -w "$LOCK_WAIT" 9 || die "another bench still holds $BENCH_LOCK after ${LOCK_WAIT}s"
fi

# A busy machine measures the other load as much as the servers.
read -r load1 _ </proc/loadavg
if awk -v l="$load1" -v n="$(getconf _NPROCESSORS_ONLN)" 'BEGIN { exit !(l > n * 0.5) }'; then
	note "warning: load average $load1 on $(getconf _NPROCESSORS_ONLN) CPUs: other processes are busy; expect noisy figures"
fi

# The command prefixes that pin (taskset execs the program, so $! is its pid).
SERVER_PIN=()
CLIENT_PIN=()
if [[ "$PIN" == 1 ]]; then
	SERVER_PIN=(taskset -c "$SERVER_CPU")
	CLIENT_PIN=(taskset -c "$CLIENT_CPU")
	# This script (its sampling) and the load generator share the client's CPU.
	taskset -cp "$CLIENT_CPU" $$ >/dev/null
fi

host=$(hostname -s 2>/dev/null || hostname)
run_id="$(date -u +%Y%m%dT%H%M%SZ)-$host"
mkdir -p "$RESULTS"
RUN_DIR="$RESULTS/$run_id"
n=1
while ! mkdir "$RUN_DIR" 2>/dev/null; do
	n=$((n + 1))
	RUN_DIR="$RESULTS/$run_id-$n"
done
run_id=$(basename "$RUN_DIR")
LOG_DIR="$RUN_DIR/logs"
mkdir -p "$LOG_DIR"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM HUP

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
# Dirty: a change to the measured code, or a new file there not yet committed.
if [[ "$git_rev" != none && -n "$(git -C "$ROOT" status --porcelain -- servers client 2>/dev/null)" ]]; then
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
	echo "pid_max: $PID_MAX"
	echo "somaxconn: $(cat /proc/sys/net/core/somaxconn)"
	echo "ip_local_port_range: $PORT_LO $PORT_HI"
	echo "tcp_tw_reuse: $(cat /proc/sys/net/ipv4/tcp_tw_reuse 2>/dev/null || echo ?)"
	echo "loadavg_start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "profile: $BENCH"
	echo "repeats: $REPEATS"
	echo "warmup_s: $WARMUP"
	echo "duration_s: $DURATION"
	echo "open_duration_s: $OPEN_DURATION"
	echo "open_rate: $OPEN_RATE"
	echo "pinning: $pinning"
	echo "pinned: $PIN"
	echo "server_cores: $server_cores"
	echo "reactors_workers: $server_cores (its default: one reactor per usable core)"
	echo "loadgen_threads: $LOADGEN_THREADS"
	echo "client_bound_from: $bound_cores cores"
	echo "pool_max_workers: $POOL_MAX_WORKERS"
	echo "prefork_max_workers: $PREFORK_MAX_WORKERS"
	echo "models: ${MODELS[*]}"
	for m in "${!UNAVAILABLE[@]}"; do echo "$m: ${UNAVAILABLE[$m]}"; done |
		sort | awk 'BEGIN { s = "" } { s = s (s == "" ? "" : "; ") $0 } END { print "models_unavailable: " (s == "" ? "none" : s) }'
	echo "workloads: ${WORKLOADS[*]}"
} >"$RUN_DIR/env.txt"

RAW="$RUN_DIR/raw.csv"
echo "$CSV_HEADER" >"$RAW"

# ---- one run --------------------------------------------------------------------

PAGE_KIB=$(($(getconf PAGESIZE) / 1024))
LIVE=0
[[ ! -t 2 ]] || LIVE=1

live() {
	((LIVE)) || return 0
	printf '\r\033[K%s' "$1" >&2
}

# short_row FIRST_FIELDS [COLUMN=VALUE...]: a row of a point that gave no
# measurement: the fields given, the named columns, the rest empty.
short_row() {
	awk -v header="$CSV_HEADER" -v first="$1" 'BEGIN {
		n = split(header, col, ",")
		k = split(first, row, ",")
		for (i = 2; i < ARGC; i++) {
			eq = index(ARGV[i], "=")
			named[substr(ARGV[i], 1, eq - 1)] = substr(ARGV[i], eq + 1)
		}
		line = row[1]
		for (i = 2; i <= n; i++)
			line = line "," (i <= k ? row[i] : named[col[i]])
		print line
	}' "${@:2}"
}

# wait_conns MODEL WANTED PID_TO_WATCH: waits until the server holds WANTED
# connections, while PID_TO_WATCH (the client) runs, SETUP_TIMEOUT at most.
# Prints how many it holds.
wait_conns() {
	local model=$1 wanted=$2 watch=$3 have deadline=$(($(now_us) + SETUP_TIMEOUT * 1000000))
	while :; do
		have=$(server_conns "$SERVER_PID" "$model")
		if ((have >= wanted)) || ! process_running "$watch" || (($(now_us) >= deadline)); then
			break
		fi
		sleep 0.1
	done
	echo "$have"
}

# run_point REPEAT WORKLOAD X MODEL: writes one raw.csv row; sets ROW_SUMMARY.
#
# The timeline of a run: the server starts; for idle points a first
# loadgen opens the idle connections and holds them (one of them sends a
# message a second: loadgen needs one active connection), and we wait until
# the server has accepted them all. Then the measuring loadgen starts: it
# connects, warms up (longer when the server needs time to accept many
# connections: fork forks once for each), and measures. The server is
# sampled at the start and the end of a window inside the measured time (a
# tenth of it left out at each end) and in its middle.
run_point() {
	local r=$1 w=$2 x=$3 m=$4 reason args lg_args json lg_exit out warmup_s
	local t_start t_a t_b margin_us dur_us warm_us stat_a stat_b stat_mid pss have cost_a cost_b
	point_params "$w" "$x"
	warmup_s=$(warmup_for "$m" "$w" "$P_CONNS")
	local head="$m,$w,$x,$r"
	local shape="$P_CONNS,$P_IDLE,$P_SIZE,1,$P_RATE,$warmup_s,$P_DUR"
	reason=$(why_not "$m" "$w" "$P_CONNS" "$P_IDLE")
	if [[ -n "$reason" ]]; then
		short_row "$head,not-run,$reason,$shape" >>"$RAW"
		ROW_SUMMARY="not run: $reason"
		return 0
	fi
	args=$(server_args "$m" $((P_CONNS + P_IDLE)))
	# shellcheck disable=SC2086 # args is a list of options
	if ! start_server "$m" $args; then
		reason="server did not start (see logs/server-$m.log)"
		short_row "$head,failed,$reason,$shape" "server_args=$args" >>"$RAW"
		ROW_SUMMARY="FAILED: $reason"
		return 0
	fi

	local lg_limit_s
	lg_limit_s=$(awk -v a="$warmup_s" -v b="$P_DUR" -v c="$SETUP_TIMEOUT" 'BEGIN { printf "%d", a + b + c + 10 }')
	if [[ "$w" == idle ]] && ((P_IDLE > 0)); then
		local hold_s=$((lg_limit_s + SETUP_TIMEOUT + 10))
		printf '=== %s %s %s r%s: idle holder, %d connections\n' "$w" "$x" "$m" "$r" "$P_IDLE" >>"$LOG_DIR/loadgen.log"
		"${CLIENT_PIN[@]}" timeout -k 2 "$hold_s" "$LOADGEN" -p "$SERVER_PORT" -c 1 -r 1 \
			--idle $((P_IDLE - 1)) -W 0 -d "${hold_s}s" --connect-timeout 10s --format json -q \
			>/dev/null 2>>"$LOG_DIR/loadgen.log" 9>&- &
		HOLDER_PID=$!
		live "[$DONE/$TOTAL] $w $P_LABEL $m r$r/$REPEATS: opening $P_IDLE idle connections"
		have=$(wait_conns "$m" "$P_IDLE" "$HOLDER_PID")
		if ((have < P_IDLE)); then
			stop_holder
			stop_server
			reason="the server held $have of $P_IDLE idle connections after ${SETUP_TIMEOUT}s"
			short_row "$head,failed,$reason,$shape" "server_args=$args" >>"$RAW"
			ROW_SUMMARY="FAILED: $reason"
			return 0
		fi
	fi

	lg_args=(-p "$SERVER_PORT" -c "$P_CONNS" -t "$LOADGEN_THREADS" -s "$P_SIZE"
		-W "$(s_to_ms "$warmup_s")ms" -d "$(s_to_ms "$P_DUR")ms" --seed "$r"
		--connect-timeout 10s --format json -q)
	case "$w" in
	churn) lg_args+=(--churn) ;;
	open) lg_args+=(-r "$P_RATE") ;;
	esac
	json="$TMP/out.json"
	: >"$json"
	printf '=== %s %s %s r%s: %s\n' "$w" "$x" "$m" "$r" "${lg_args[*]}" >>"$LOG_DIR/loadgen.log"
	t_start=$(now_us)
	"${CLIENT_PIN[@]}" timeout -k 2 "$lg_limit_s" "$LOADGEN" "${lg_args[@]}" >"$json" 2>>"$LOG_DIR/loadgen.log" 9>&- &
	LG_PID=$!
	live "[$DONE/$TOTAL] $w $P_LABEL $m r$r/$REPEATS: warming up"

	warm_us=$(s_to_us "$warmup_s")
	dur_us=$(s_to_us "$P_DUR")
	margin_us=$((dur_us / 10))
	sleep_until_us $((t_start + warm_us + margin_us))
	live "[$DONE/$TOTAL] $w $P_LABEL $m r$r/$REPEATS: measuring"
	sample
	t_a=$SAMPLE_T cost_a=$SAMPLE_COST stat_a=$SAMPLE
	if [[ "$w" != idle ]] || ((P_IDLE == 0)); then
		sleep_until_us $((t_start + warm_us + dur_us / 2))
		sample
		stat_mid=$SAMPLE
		pss=$(server_pss_kib "$stat_mid")
	fi
	sleep_until_us $((t_start + warm_us + dur_us - margin_us))
	# A window that outlived the client is not a measurement of it.
	local window_ok=1
	process_running "$LG_PID" || window_ok=0
	sample
	t_b=$SAMPLE_T cost_b=$SAMPLE_COST stat_b=$SAMPLE
	# Reading /proc must be quick beside the window: fork with thousands of
	# children takes half a second per look, and gets no CPU figure then.
	((cost_a <= (t_b - t_a) / 4 && cost_b <= (t_b - t_a) / 4)) || window_ok=0

	wait_child "$LG_PID" "$((lg_limit_s + 5))"
	lg_exit=$WAITED
	LG_PID=
	if [[ "$w" == idle ]] && ((P_IDLE > 0)); then
		# Idle points: the memory of the idle connections, still held.
		sample
		stat_mid=$SAMPLE
		pss=$(server_pss_kib "$stat_mid")
	fi
	stop_holder
	stop_server

	awk -f "$BENCH_DIR/jsonflat.awk" "$json" >"$TMP/flat" 2>/dev/null || : >"$TMP/flat"
	out=$(awk -v head="$head" -v shape="$shape" -v lg_exit="$lg_exit" -v server_exit="$SERVER_EXIT" \
		-v args="$args" -v stat_a="$stat_a" -v stat_b="$stat_b" -v stat_mid="$stat_mid" -v pss="$pss" \
		-v t_a="$t_a" -v t_b="$t_b" -v window_ok="$window_ok" -v page_kib="$PAGE_KIB" \
		-v bound="$bound_cores" -v lg_limit="$lg_limit_s" -f "$BENCH_DIR/row.awk" "$TMP/flat")
	echo "${out%%$'\n'*}" >>"$RAW"
	ROW_SUMMARY=${out#*$'\n'}
}

# ---- the runs ------------------------------------------------------------------

TOTAL=${#PLAN[@]}
DONE=0
t_begin=$(now_us)
done_expected_s=0
for entry in "${PLAN[@]}"; do
	read -r r w x m <<<"$entry"
	point_params "$w" "$x"
	DONE=$((DONE + 1))
	live "[$DONE/$TOTAL] $w $P_LABEL $m r$r/$REPEATS: starting"
	run_point "$r" "$w" "$x" "$m"
	# Not-run points are listed once, not once per repeat.
	if [[ "$ROW_SUMMARY" == "not run:"* ]]; then
		((r == 1)) || continue
	else
		done_expected_s=$(awk -v t="$done_expected_s" -v a="$(warmup_for "$m" "$w" "$P_CONNS")" -v b="$P_DUR" \
			-v c="$(run_overhead_s "$m" "$P_CONNS" "$P_IDLE")" 'BEGIN { print t + a + b + c }')
	fi
	# Time left: the plan's estimate, scaled by how the estimate has held up.
	left=$(awk -v e="$expected_s" -v d="$done_expected_s" -v el="$((($(now_us) - t_begin) / 1000000))" \
		'BEGIN { f = (d > 5) ? el / d : 1; l = (e - d) * f; printf "%d", (l > 0 ? l : 0) }')
	live ""
	printf '[%*d/%d %6s left] %-6s %-10s %-8s r%d/%d  %s\n' "${#TOTAL}" "$DONE" "$TOTAL" \
		"$(fmt_duration "$left")" "$w" "$P_LABEL" "$m" "$r" "$REPEATS" "$ROW_SUMMARY" >&2
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
