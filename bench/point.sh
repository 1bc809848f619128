#!/usr/bin/env bash
# bench/point.sh - one bench point: one model, one workload, one x, one round.
#
#   bench/point.sh --header                  the raw.csv header line
#   bench/point.sh MODEL WORKLOAD X ROUND     runs the point: one raw.csv row on stdout
#
# WORKLOAD and X: closed (X connections, closed loop, CLOSED_SIZE-byte
# messages), unix (the same over a Unix-domain socket: the server's -u, the
# load generator's --unix), idle (IDLE_ACTIVE active connections beside X idle ones), churn
# (X concurrent clients, a new connection for every message), open (X
# messages per second in all over OPEN_CONNS connections), size (X-byte
# messages over SIZE_CONNS connections), cap1ms and cap10ms (the capacity at
# p99 <= 1 ms or 10 ms over X connections, one message in flight on each:
# loadgen --search --max-in-flight 1, open-loop steps
# of CAPACITY_DURATION from CAPACITY_START msg/s, doubling then bisecting to
# CAPACITY_RESOLUTION percent, CAPACITY_TIME seconds at most; the row is the
# step at the rate found, the rate itself in capacity_msgs_per_s, 0 when
# even the first step missed). ROUND is the row's `repeat`.
#
# The point: a fresh server (bin/echo-MODEL -p 0 with the options of
# bench/models.txt for the point's connections, pinned to SERVER_CPU), its
# readiness line awaited (15 s at most); for idle points a first load
# generator opens the idle connections and holds them, and we wait until the
# server holds them all; then bin/loadgen (pinned to CLIENT_CPU, like this
# script) warms up and measures, with --server-pid: it samples the server's
# process tree (CPU time, RSS, PSS, processes, threads, context switches)
# at the exact edges of its measured window. The row is built from the load
# generator's CSV report (bench/row.awk) and the point's own fields. The
# warm-up is lengthened by the time the server needs to accept the point's
# connections (fork and prefork fork for each), so that the measured window
# never starts with connections still waiting in the listen queue.
#
# A point the model cannot run (bench/models.txt: blocking with more than one
# client, select past FD_SETSIZE, pool and prefork past their worker caps; a
# model not built or refused by the kernel; the machine's descriptor,
# process or port limits) costs no time: a not-run row with the reason. A
# point that ran and went wrong is an `error` row (the load generator
# reported errors or an incomplete run) or a `failed` one (no report, a
# timeout, the server did not start or did not take the idle connections),
# with the reason. Either way the exit status is 0: 2 is for usage errors.
#
# Environment (all optional): SERVERS_DIR (bin/), LOADGEN (bin/loadgen),
# PIN (1; 0 pins nothing), SERVER_CPU (0), CLIENT_CPU (1), WARMUP (0.2 s),
# DURATION (1 s: closed), IDLE_DURATION, CHURN_DURATION and SIZE_DURATION
# (DURATION's by default), OPEN_DURATION (2 s), CLOSED_SIZE (64), IDLE_ACTIVE
# (4), OPEN_CONNS (16), OPEN_MAX_IN_FLIGHT (the open loop's --max-in-flight;
# none by default), SIZE_CONNS (16), CAPACITY_DURATION (0.4 s),
# CAPACITY_START (4000), CAPACITY_RESOLUTION (5), CAPACITY_TIME (60 s),
# INTERVAL_DIR (the open loop's --interval lines, 100 ms each, go to
# INTERVAL_DIR/open-X-MODEL-rROUND.csv; none by default), LOADGEN_THREADS (1),
# POOL_MAX_WORKERS and PREFORK_MAX_WORKERS (1024), CLIENT_BOUND_CORES (the
# client CPU, in cores, from which a point is client-bound: 0.95 pinned, 0.95
# x min(threads, cores) unpinned), LOG_DIR (the server's stderr is appended
# to LOG_DIR/server-MODEL.log and the load generator's to
# LOG_DIR/loadgen.log; none by default), SEED (the load generator's --seed:
# ROUND by default), SERVER_WRAP (a command prefix for the server, such as
# "strace -f -c -o FILE": the server is then found under it by name, and
# stopped first), SERVER_ARGS (the server's options instead of
# bench/models.txt's), SERVER_EXTRA_ARGS (options added after them),
# BENCH_LOCK (/tmp/bench.lock) and LOCK_WAIT (900 s): the lock is taken for a
# point that runs, unless the caller holds it (BENCH_LOCK_HELD=1, as
# bench/run.sh does). BENCH_UNAVAILABLE ("MODEL<tab>reason" lines: set by
# bench/run.sh, which asks bench/models.sh once) spares the check of the
# model's availability; LOADGEN_SERVER_PID=0 or 1 spares asking the load
# generator whether it has --server-pid (without it, the server columns are
# left empty). MAX_MAP_COUNT: vm.max_map_count, read from /proc unless given.
# SERVER_NETNS and CLIENT_NETNS: network namespaces (bench/lib.sh netns_up)
# to run the server (on NETNS_SERVER_ADDR) and the load generators in.
# SERVER_SSH (a host) and CLIENT_SSH (hosts, comma-separated): run the server,
# and one measuring load generator per host, there, through REMOTE_SHELL
# ("ssh -o BatchMode=yes" by default): see "Other hosts" below.
#
# Sourced (by bench/run.sh) it only defines the point's functions:
# point_params, why_not, warmup_ms, point_ms.
set -euo pipefail

POINT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/models.sh disable=SC1091 # followed with shellcheck -x
source "$POINT_ROOT/bench/models.sh"
# shellcheck source=bench/lib.sh disable=SC1091 # followed with shellcheck -x
source "$POINT_ROOT/bench/lib.sh"

# The raw.csv columns: the point (model .. duration_s), the load generator's
# report, the server's figures over the measured window (from loadgen
# --server-pid), the point's options and exit statuses.
CSV_HEADER="model,workload,x,repeat,status,reason,connections,idle,size,pipeline,rate,warmup_s,duration_s,messages,msgs_per_s,mib_per_s,lat_min_us,lat_p50_us,lat_p90_us,lat_p99_us,lat_p999_us,lat_p9999_us,lat_max_us,lat_mean_us,err_connect,err_mismatch,err_reset,err_timeout,complete,client_cpu,client_bound,server_cpu_s,server_window_s,server_cpu_cores,server_us_per_msg,server_rss_kib,server_pss_kib,server_procs,server_threads,server_args,loadgen_exit,server_exit,conns_per_s,connect_p50_us,connect_p99_us,client_cpu_us_per_msg,server_ctx_switches_per_msg,transport,capacity_msgs_per_s,capacity_ended_by"
ALL_WORKLOADS="closed idle churn open size unix cap1ms cap10ms"

SERVERS_DIR=${SERVERS_DIR:-$POINT_ROOT/bin}
LOADGEN=${LOADGEN:-$POINT_ROOT/bin/loadgen}
PIN=${PIN:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
WARMUP=${WARMUP:-0.2}
DURATION=${DURATION:-1}
IDLE_DURATION=${IDLE_DURATION:-$DURATION}
CHURN_DURATION=${CHURN_DURATION:-$DURATION}
SIZE_DURATION=${SIZE_DURATION:-$DURATION}
OPEN_DURATION=${OPEN_DURATION:-2}
OPEN_MAX_IN_FLIGHT=${OPEN_MAX_IN_FLIGHT:-}
CLOSED_SIZE=${CLOSED_SIZE:-64}
IDLE_ACTIVE=${IDLE_ACTIVE:-4}
OPEN_CONNS=${OPEN_CONNS:-16}
SIZE_CONNS=${SIZE_CONNS:-16}
CAPACITY_DURATION=${CAPACITY_DURATION:-0.4}
CAPACITY_START=${CAPACITY_START:-4000}
CAPACITY_RESOLUTION=${CAPACITY_RESOLUTION:-5}
CAPACITY_TIME=${CAPACITY_TIME:-60}
INTERVAL_DIR=${INTERVAL_DIR:-}
LOADGEN_THREADS=${LOADGEN_THREADS:-1}
POOL_MAX_WORKERS=${POOL_MAX_WORKERS:-1024}
PREFORK_MAX_WORKERS=${PREFORK_MAX_WORKERS:-1024}
LOG_DIR=${LOG_DIR:-}
BENCH_LOCK=${BENCH_LOCK:-/tmp/bench.lock}
LOCK_WAIT=${LOCK_WAIT:-900}

# Descriptors, processes and ports kept free beside a point's connections.
LIMIT_MARGIN=64
# Seconds a point may spend connecting (its idle connections, or the
# measuring load generator's) before its warm-up must have begun.
SETUP_TIMEOUT=60
# Milliseconds a server has to print its readiness line (a machine still
# tearing down ten thousand processes of the previous point can be slow).
READY_TIMEOUT_MS=15000

# ---- the point ---------------------------------------------------------------

# point_params WORKLOAD X: sets P_CONNS (active), P_IDLE, P_SIZE, P_RATE,
# P_DUR (the measured window, seconds: for the capacity, one step's), P_TARGET
# (the capacity's p99 target) and P_LABEL (for bench/run.sh).
# shellcheck disable=SC2034 # P_LABEL
point_params() {
	P_CONNS=1 P_IDLE=0 P_SIZE=$CLOSED_SIZE P_RATE=0 P_DUR=$DURATION P_TARGET=
	case "$1" in
	closed | unix) P_CONNS=$2 P_LABEL="c=$2" ;;
	idle) P_CONNS=$IDLE_ACTIVE P_IDLE=$2 P_DUR=$IDLE_DURATION P_LABEL="idle=$2" ;;
	churn) P_CONNS=$2 P_DUR=$CHURN_DURATION P_LABEL="c=$2" ;;
	open) P_CONNS=$OPEN_CONNS P_RATE=$2 P_DUR=$OPEN_DURATION P_LABEL="rate=$2" ;;
	size) P_CONNS=$SIZE_CONNS P_SIZE=$2 P_DUR=$SIZE_DURATION P_LABEL="size=$2" ;;
	cap1ms | cap10ms) P_CONNS=$2 P_DUR=$CAPACITY_DURATION P_TARGET=${1#cap} P_LABEL="c=$2" ;;
	esac
}

# accept_ms MODEL CONNECTIONS: about how long the server takes to accept
# that many connections: a model with a process per connection (fork forks
# for each one, prefork forks a worker for each after its readiness line)
# about 1,250 a second on a small VM; the others about 10,000.
accept_ms() {
	local per_conn_us=100
	! model_serves_with "$1" process || per_conn_us=800
	echo $(($2 * per_conn_us / 1000))
}

# warmup_ms MODEL WORKLOAD CONNECTIONS: the warm-up, lengthened by the time
# the server needs to accept the connections (not for churn: there each
# connection is made in the measured time, and is what is measured).
warmup_ms() {
	local extra=0
	[[ "$2" == churn ]] || extra=$(accept_ms "$1" "$3")
	echo $(($(ms_of "$WARMUP") + extra))
}

# run_overhead_ms MODEL WORKLOAD CONNECTIONS IDLE WARMUP_MS: rough
# milliseconds a point takes beyond warm-up and measurement: this script
# and the server's start (150 ms), opening, accepting and closing the
# connections (the idle ones too: a model with a process per connection
# forks and reaps one for each), churn's closing of thousands of sockets,
# a capacity search's steps after its first (each warmed up for
# WARMUP_MS). Measured on the 2-vCPU development VM (bench/README.md,
# "Profiles").
# A capacity search runs about six steps to double from CAPACITY_START
# past the capacity (4000/s to 128000/s), then one per halving of the gap
# from 100% of the rate down to CAPACITY_RESOLUTION (four to 10%: the
# default profile's 10 ms searches ran 9.4 on average, bench/README.md,
# "Profiles"), each opening its connections again (about 200 ms a step
# beyond its warm-up and window), and those that miss drain for up to a
# second; never past its bound, CAPACITY_TIME.
run_overhead_ms() {
	local per_conn_us=200 steps=1 more_ms=0 churn_ms=0 gap resolution
	! model_serves_with "$1" process || per_conn_us=400
	[[ $2 != churn ]] || churn_ms=200
	if [[ $2 == cap* ]]; then
		# The gap and the resolution in thousandths of a percent.
		steps=6 gap=100000 resolution=$(ms_of "$CAPACITY_RESOLUTION")
		for (( ; gap > resolution; gap /= 2)); do
			steps=$((steps + 1))
		done
		more_ms=$(((steps - 1) * ($5 + $(ms_of "$CAPACITY_DURATION") + 200)))
		((more_ms <= $(ms_of "$CAPACITY_TIME"))) || more_ms=$(ms_of "$CAPACITY_TIME")
	fi
	echo $((150 + steps * ($3 + $4) * per_conn_us / 1000 + churn_ms + more_ms))
}

# point_ms MODEL WORKLOAD CONNECTIONS IDLE DURATION: the milliseconds the
# plan expects one run of the point to take.
point_ms() {
	local warmup
	warmup=$(warmup_ms "$1" "$2" "$3")
	echo $((warmup + $(ms_of "$5") + $(run_overhead_ms "$1" "$2" "$3" "$4" "$warmup")))
}

# csv_text TEXT: TEXT fit for a raw.csv field and a Markdown table cell (no
# commas, bars or line breaks).
csv_text() {
	local t=${1//,/;}
	t=${t//|//}
	t=${t//$'\r'/ }
	echo "${t//$'\n'/ }"
}

# ---- the machine's limits ----------------------------------------------------

FD_LIMIT=$(ulimit -Hn)
[[ "$FD_LIMIT" != unlimited ]] || FD_LIMIT=1048576
PROC_LIMIT=$(ulimit -Hu)
[[ "$PROC_LIMIT" != unlimited ]] || PROC_LIMIT=4194304
THREADS_MAX=$(</proc/sys/kernel/threads-max)
# Each thread's stack is a mapping and its guard page another: a process
# holds at most vm.max_map_count mappings (the environment may say less, to
# see the rule at work).
MAX_MAP_COUNT=${MAX_MAP_COUNT:-$(cat /proc/sys/vm/max_map_count 2>/dev/null || echo 65530)}
PID_MAX=$(</proc/sys/kernel/pid_max)
read -r PORT_LO PORT_HI </proc/sys/net/ipv4/ip_local_port_range
PORTS=$((PORT_HI - PORT_LO + 1))
# Idle connections one load generator holds at most: its descriptors and,
# from one source address, the ephemeral ports, less the margin. More are
# spread over several (start_holders). The environment may say less.
HOLDER_MAX=${HOLDER_MAX:-$(((FD_LIMIT < PORTS ? FD_LIMIT : PORTS) - LIMIT_MARGIN))}
# Connections from one source address past which a point spreads them over
# several: connect()'s search for a free port slows down once half the range
# is taken (Linux hands connect() the even ports first; measured in
# bench/README.md, "Toward a million connections"). The environment may say
# less.
SOURCE_MAX=${SOURCE_MAX:-$((PORTS / 2 - LIMIT_MARGIN))}
# Processes on the machine now (RLIMIT_NPROC counts the user's; all is safe).
_proc_dirs=(/proc/[0-9]*)
PROCS_NOW=${#_proc_dirs[@]}
# Servers and loadgen raise their soft descriptor limit to the hard one;
# raise ours too, so that every child starts from it.
ulimit -Sn "$FD_LIMIT" 2>/dev/null || true

# unavailable_reason MODEL: why the model cannot run here (not built, or the
# kernel refuses it), or nothing. From BENCH_UNAVAILABLE when the caller
# gives it, otherwise asked of bench/models.sh (which starts echo-uring for
# a moment).
unavailable_reason() {
	local line reason
	if [[ -n ${BENCH_UNAVAILABLE+set} ]]; then
		while IFS= read -r line; do
			[[ ${line%%$'\t'*} != "$1" ]] || {
				echo "${line#*$'\t'}"
				return 0
			}
		done <<<"$BENCH_UNAVAILABLE"
		return 0
	fi
	if reason=$(model_unavailable "$SERVERS_DIR" "$1"); then
		csv_text "${reason:-cannot run here (no reason given)}"
	fi
}

# server_fds_per_process MODEL CONNECTIONS: the most connections one of the
# server's processes holds: all of them, but one each where each has a
# process (fork, prefork), and none beyond the limit where bench/models.txt
# spreads them over enough worker processes ({spread}: epoll-procs).
server_fds_per_process() {
	if model_serves_with "$1" process; then
		echo 1
	elif [[ " $(model_fact "$1" options) " == *" {spread} "* ]]; then
		echo 0
	else
		echo "$2"
	fi
}

# why_not MODEL WORKLOAD CONNECTIONS IDLE: prints the reason a point cannot
# run, or nothing: the model is unavailable here, its facts rule the point
# out (bench/models.sh model_not_run), or the machine's limits cannot hold
# the point's connections. The idle ones are spread over as many load
# generators as they need (start_holders); across network namespaces they
# all come from the one client address.
why_not() {
	local model=$1 workload=$2 conns=$(($3 + $4)) tasks=0 reason
	reason=$(unavailable_reason "$model")
	[[ -z $reason ]] || {
		echo "$reason"
		return 0
	}
	! model_not_run "$model" "$workload" "$conns" || return 0
	if remote; then
		if (($4 > 0)); then
			echo "idle connections are counted in the server's /proc: not with SERVER_SSH or CLIENT_SSH"
			return 0
		elif [[ $workload == unix ]]; then
			echo "a Unix socket does not reach another host"
			return 0
		elif [[ $workload == cap* ]]; then
			echo "a capacity search is one load generator's steps: not merged across hosts"
			return 0
		fi
	fi
	! model_tasks_per_conn "$model" || tasks=$conns
	if (($(server_fds_per_process "$model" "$conns") + LIMIT_MARGIN > FD_LIMIT ||
		$3 + LIMIT_MARGIN > FD_LIMIT)); then
		echo "descriptor limit (ulimit -Hn $FD_LIMIT) too low"
	elif (($3 + LIMIT_MARGIN > PORTS)) || { [[ -n ${SERVER_NETNS:-} ]] && ((conns + LIMIT_MARGIN > PORTS)); }; then
		echo "too few ephemeral ports ($PORTS)"
	elif ((tasks + LIMIT_MARGIN + PROCS_NOW > PROC_LIMIT)); then
		echo "process limit (ulimit -Hu $PROC_LIMIT) too low"
	elif ((tasks + 1000 > THREADS_MAX || tasks + 1000 > PID_MAX)); then
		echo "kernel threads-max/pid_max too low"
	elif model_serves_with "$model" thread &&
		((2 * tasks + 1000 > MAX_MAP_COUNT)); then
		echo "vm.max_map_count ($MAX_MAP_COUNT) too low for $tasks thread stacks in one process"
	fi
}

# ---- other hosts (SERVER_SSH, CLIENT_SSH) ------------------------------------------
# The server on one host and a load generator on each of several, reached
# through REMOTE_SHELL HOST COMMAND-LINE, as ssh is: the command line is one
# string for the host's shell. Every host has this checkout, built, at the
# same path. The clients reach the server at SERVER_ADDR (by default
# SERVER_SSH's host part); the load generators connect first, start at one
# instant (loadgen --start-at) and their reports are merged into the point's
# (loadgen merge). The server's figures come from loadgen --server-pid,
# which must run beside the server: none here.

REMOTE_SHELL=${REMOTE_SHELL:-ssh -o BatchMode=yes}
CLIENT_SSH=${CLIENT_SSH:-} SERVER_SSH=${SERVER_SSH:-}
read -r -a CLIENT_HOSTS <<<"${CLIENT_SSH//,/ }"
SERVER_ADDR=${SERVER_ADDR:-${SERVER_SSH#*@}}
# Seconds the load generators get to connect before their common start.
REMOTE_START_S=2

# remote: true when a host other than this one takes part.
remote() {
	[[ -n ${SERVER_SSH:-} || ${#CLIENT_HOSTS[@]} -gt 0 ]]
}

# on_host HOST WORD...: runs the words on HOST (REMOTE_SHELL), quoted into
# one command line.
on_host() {
	local host=$1 shell
	shift
	read -r -a shell <<<"$REMOTE_SHELL"
	"${shell[@]}" "$host" "$(printf '%q ' "$@")"
}

# remote_server_start WORD...: the server's command on SERVER_SSH, where it
# first writes its pid to REMOTE_PIDFILE, for remote_server_stop.
remote_server_start() {
	local shell
	read -r -a shell <<<"$REMOTE_SHELL"
	"${shell[@]}" "$SERVER_SSH" "echo \$\$ >$REMOTE_PIDFILE && exec $(printf '%q ' "$@")"
}

# remote_server_stop: SIGTERM to the server on SERVER_SSH, then waits for
# REMOTE_SHELL to return its exit status (30 s at most). Sets SERVER_EXIT.
remote_server_stop() {
	# shellcheck disable=SC2016 # the host's shell expands them
	on_host "$SERVER_SSH" sh -c 'kill -TERM "$(cat "$1")"; rm -f "$1"' stop "$REMOTE_PIDFILE" 2>/dev/null || true
	wait_exit "$WRAP_PID" 30
	SERVER_EXIT=$WAITED
	SERVER_PID=
}

# run_remote_clients LOADGEN_CSV: the measuring load generators, one on
# each CLIENT_SSH host (or here, when only the server is remote), the
# point's connections (and rate) shared among them, started together;
# their JSON reports merged into LOADGEN_CSV. Sets LG_EXIT (the first
# failure's status, or 0).
run_remote_clients() {
	local out=$1 hosts=("${CLIENT_HOSTS[@]}") n i conns pids=() reports=() start_at rc
	((${#hosts[@]} > 0)) || hosts=("")
	n=${#hosts[@]}
	start_at=$(awk -v now="$(date +%s.%N)" -v s="$REMOTE_START_S" -v c="$P_CONNS" 'BEGIN { printf "%.3f", now + s + c * 0.001 }')
	for ((i = 0; i < n; i++)); do
		conns=$((P_CONNS / n + (i < P_CONNS % n ? 1 : 0)))
		set_loadgen_args "$conns" "$(awk -v r="$P_RATE" -v c="$conns" -v t="$P_CONNS" 'BEGIN { printf "%d", r * c / t }')" json
		LG_ARGS+=(--start-at "$start_at")
		reports+=("$TMP/loadgen-$i.json")
		if [[ -n ${hosts[i]} ]]; then
			on_host "${hosts[i]}" "${client_pin[@]}" timeout -k 2 "$LG_LIMIT_S" "$LOADGEN" "${LG_ARGS[@]}" \
				</dev/null >"${reports[i]}" 2>>"$TMP/loadgen.err" 3>&- 9>&- &
		else
			"${client_pin[@]}" timeout -k 2 "$LG_LIMIT_S" "$LOADGEN" "${LG_ARGS[@]}" \
				</dev/null >"${reports[i]}" 2>>"$TMP/loadgen.err" 3>&- 9>&- &
		fi
		pids+=("$!")
	done
	LG_EXIT=0
	for i in "${!pids[@]}"; do
		rc=0
		wait "${pids[i]}" || rc=$?
		((LG_EXIT != 0)) || LG_EXIT=$rc
	done
	if ! "$LOADGEN" merge --format csv "${reports[@]}" >"$out" 2>>"$TMP/loadgen.err"; then
		((LG_EXIT != 0)) || LG_EXIT=2
	fi
}

# ---- the server's processes ----------------------------------------------------
# Only to know when the server holds a point's idle connections: the figures
# of the measured window are the load generator's (--server-pid).

# server_sockets PID: the distinct sockets the server's processes hold (a
# socket shared by several processes, prefork's listener, counts once).
server_sockets() {
	local dirs=() pid
	for pid in $(tree_pids "$1"); do dirs+=("/proc/$pid/fd"); done
	{ find "${dirs[@]}" -mindepth 1 -maxdepth 1 -lname 'socket:*' -printf '%l\n' 2>/dev/null || true; } |
		sort -u | wc -l
}

# server_conns: the connections the server holds. A model with a process
# per connection (fork): its children; the others: sockets beyond those it
# had when it became ready, over its processes (prefork's are in its workers).
server_conns() {
	if [[ $(model_task "$MODEL") == process ]]; then
		{ cat "/proc/$SERVER_PID/task/"*/children 2>/dev/null || true; } | wc -w
	else
		echo $(($(server_sockets "$SERVER_PID") - SERVER_BASE_SOCKETS))
	fi
}

# wait_conns WANTED: waits until the server holds WANTED connections, while
# the holder runs, SETUP_TIMEOUT at most. Prints how many it holds.
wait_conns() {
	local wanted=$1 have deadline_ms=$(($(now_ms) + SETUP_TIMEOUT * 1000))
	while :; do
		have=$(server_conns)
		if ((have >= wanted)) || ! holders_alive || (($(now_ms) >= deadline_ms)); then
			break
		fi
		sleep 0.1
	done
	echo "$have"
}

# stop_server: waits (5 s at most) until every connection made was accepted
# (a server's stop line then counts them all), SIGTERM to the server, then
# waits for its children to be gone (fork's get SIGTERM from
# PR_SET_PDEATHSIG when it exits): every wait has a deadline, then SIGKILL.
# The next point should not share the machine with the teardown of this
# one. Sets SERVER_EXIT (its status, or "timeout").
stop_server() {
	SERVER_EXIT=
	[[ -n "${SERVER_PID:-}" ]] || return 0
	if [[ -n ${SERVER_SSH:-} ]]; then
		remote_server_stop
		return 0
	fi
	local children=() pid deadline_ms
	deadline_ms=$(($(now_ms) + 5000))
	while [[ -n ${SERVER_PORT:-} ]] && ! listen_queue_empty "$SERVER_PORT" && (($(now_ms) < deadline_ms)); do
		sleep 0.02
	done
	mapfile -t children < <(tree_pids "$SERVER_PID" | tail -n +2)
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	# Wrapped (SERVER_WRAP), the server is not our child: the wrapper is,
	# and ends with it (its status is the server's).
	wait_exit "$WRAP_PID" 30
	SERVER_EXIT=$WAITED
	if [[ "$WRAP_PID" != "$SERVER_PID" ]] && alive "$SERVER_PID"; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
	fi
	deadline_ms=$(($(now_ms) + 10000))
	for pid in "${children[@]}"; do
		while alive "$pid" && is_server "$pid"; do
			if (($(now_ms) >= deadline_ms)); then
				kill -KILL "$pid" 2>/dev/null || true
				break
			fi
			sleep 0.02
		done
	done
	# Then let init reap them (zombies, at most 10 s more).
	deadline_ms=$(($(now_ms) + 10000))
	for pid in "${children[@]}"; do
		while [[ -e "/proc/$pid" ]] && (($(now_ms) < deadline_ms)); do
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

# server_under PID: the server process at or under PID (a SERVER_WRAP
# command's child): the first whose name is echo-MODEL (cut to 15
# characters, as the kernel keeps it).
server_under() {
	local pid comm name="echo-$MODEL"
	for pid in $(tree_pids "$1"); do
		{ read -r comm <"/proc/$pid/comm"; } 2>/dev/null || continue
		[[ $comm != "${name:0:15}" ]] || {
			echo "$pid"
			return 0
		}
	done
	return 1
}

# stop_holder: ends the load generator that holds the idle connections.
stop_holder() {
	local pid
	for pid in "${HOLDER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${HOLDER_PIDS[@]}"; do
		wait_exit "$pid" 5
	done
	HOLDER_PIDS=()
}

# set_loadgen_args CONNECTIONS RATE FORMAT: LG_ARGS (and LG_LINE, for the
# log), the measuring load generator's options for the point, with that
# many connections at that rate (the open loop's) and report format.
set_loadgen_args() {
	LG_ARGS=("${reach[@]}" -c "$1" -t "$LOADGEN_THREADS" -s "$P_SIZE"
		-W "${WARMUP_MS}ms"
		-d "$(ms_of "$P_DUR")ms"
		--seed "$SEED" --connect-timeout 10s --format "$3")
	# A capacity search logs its steps (stderr, into logs/loadgen.log).
	[[ -n $P_TARGET ]] || LG_ARGS+=(-q)
	case "$WORKLOAD" in
	churn) LG_ARGS+=(--churn) ;;
	open)
		LG_ARGS+=(-r "$2")
		[[ -z $OPEN_MAX_IN_FLIGHT ]] || LG_ARGS+=(--max-in-flight "$OPEN_MAX_IN_FLIGHT")
		# (Another host's load generator would write its lines there.)
		if [[ -n $INTERVAL_DIR ]] && ! remote; then
			mkdir -p "$INTERVAL_DIR"
			LG_ARGS+=(--interval 100ms --interval-file "$INTERVAL_DIR/open-$X-$MODEL-r$ROUND.csv")
		fi
		;;
	cap1ms | cap10ms)
		# One message in flight per connection: each is a client that waits
		# for its answer, so a server is not credited with what pipelined
		# batches would save it.
		LG_ARGS+=(-r "$CAPACITY_START" --search "p99<=$P_TARGET" --max-in-flight 1
			--search-resolution "$CAPACITY_RESOLUTION" --search-time "${CAPACITY_TIME}s")
		;;
	esac
	[[ $LOADGEN_SERVER_PID != 1 ]] || LG_ARGS+=(--server-pid "$SERVER_PID")
	LG_LINE="${LG_ARGS[*]}"
}

# source_address I: the I-th source address (from 0) a point's idle
# connections come from when they are spread: 127.0.1.1, 127.0.1.2, ...
# 127.0.1.250, 127.0.2.1, ... (all of 127.0.0.0/8 is loopback).
source_address() {
	echo "127.0.$((1 + $1 / 250)).$((1 + $1 % 250))"
}

# start_holders HOLD_S REACH...: the point's P_IDLE idle connections, over
# as few load generators as can hold them (HOLDER_MAX each), for HOLD_S at
# most. Past SOURCE_MAX, each connects from source addresses of its own
# (loadgen --source, SOURCE_MAX connections each at most), so that connect()
# finds a free port at once; across network namespaces there is one client
# address, and why_not keeps the count within its ports. Each keeps one
# connection active, a message a second: bin/loadgen needs one.
start_holders() {
	local hold_s=$1 left=$P_IDLE n addresses=0 list k source=()
	shift
	while ((left > 0)); do
		n=$((left < HOLDER_MAX ? left : HOLDER_MAX))
		if [[ -z ${SERVER_NETNS:-} ]] && ((P_IDLE > SOURCE_MAX)); then
			list=$(source_address "$addresses")
			addresses=$((addresses + 1))
			for ((k = SOURCE_MAX; k < n; k += SOURCE_MAX)); do
				list="$list,$(source_address "$addresses")"
				addresses=$((addresses + 1))
			done
			source=(--source "$list")
		fi
		"${client_pin[@]}" timeout -k 2 "$hold_s" "$LOADGEN" "$@" "${source[@]}" -c 1 -r 1 \
			--idle $((n - 1)) -W 0 -d "${hold_s}s" --connect-timeout 10s --format csv -q \
			</dev/null >/dev/null 2>>"$TMP/loadgen.err" 3>&- 9>&- &
		HOLDER_PIDS+=("$!")
		left=$((left - n))
	done
}

# kernel_sample: "SOCK_KIB SLAB_KIB", the kernel's socket memory now
# (bench/lib.sh).
kernel_sample() {
	echo "$(kernel_sock_kib) $(kernel_slab_kib)"
}

# write_kernel_line BEFORE: with KERNEL_CSV set, appends an idle point's line
# to it (a header first, into an empty file): how long its idle
# connections took to open, and how much more the kernel's socket buffers
# and socket slab caches hold now, with every connection still open, than
# before the first was opened (KiB; both ends of each connection).
write_kernel_line() {
	[[ -n ${KERNEL_CSV:-} ]] || return 0
	local before after
	read -r -a before <<<"$1"
	read -r -a after <<<"$(kernel_sample)"
	[[ -s $KERNEL_CSV ]] || echo "model,workload,x,repeat,connections,idle,idle_open_s,kernel_sock_kib,kernel_slab_kib" >"$KERNEL_CSV"
	echo "$MODEL,$WORKLOAD,$X,$ROUND,$P_CONNS,$P_IDLE,${IDLE_OPEN_S:-0},$((after[0] - before[0])),$(
		[[ -n ${after[1]:-} && -n ${before[1]:-} ]] && echo $((after[1] - before[1]))
	)" >>"$KERNEL_CSV"
}

# holders_alive: every load generator holding idle connections still runs.
holders_alive() {
	local pid
	for pid in "${HOLDER_PIDS[@]}"; do
		alive "$pid" || return 1
	done
}

point_cleanup() {
	local rc=$?
	stop_holder
	if [[ -n "${LG_PID:-}" ]]; then
		kill -TERM "$LG_PID" 2>/dev/null || true
		wait_exit "$LG_PID" 5
		LG_PID=
	fi
	stop_server
	save_logs
	[[ -z "${TMP:-}" ]] || rm -rf "$TMP"
	return "$rc"
}

# save_logs: the server's and the load generators' stderr, appended to
# LOG_DIR's logs under a line naming the point.
save_logs() {
	[[ -n "$LOG_DIR" && -n "${TMP:-}" && -d "$TMP" ]] || return 0
	mkdir -p "$LOG_DIR"
	local title="=== $WORKLOAD $X $MODEL r$ROUND"
	if [[ -e "$TMP/server.err" ]]; then
		{
			echo "$title: ${SERVER_ARGS_USED:-}"
			cat "$TMP/server.err"
		} >>"$LOG_DIR/server-$MODEL.log"
	fi
	if [[ -e "$TMP/loadgen.err" ]]; then
		{
			echo "$title: ${LG_LINE:-}"
			cat "$TMP/loadgen.err"
		} >>"$LOG_DIR/loadgen.log"
	fi
	rm -f "$TMP/server.err" "$TMP/loadgen.err"
}

# ---- the row -------------------------------------------------------------------

# emit STATUS REASON [LOADGEN_CSV]: prints the point's row (bench/row.awk).
emit() {
	ROW_REASON=$(csv_text "$2") ROW_ARGS=${SERVER_ARGS_USED:-} awk -v header="$CSV_HEADER" \
		-v model="$MODEL" -v workload="$WORKLOAD" -v x="$X" -v repeat="$ROUND" -v status="$1" \
		-v connections="$P_CONNS" -v idle="$P_IDLE" -v size="$P_SIZE" -v rate="$P_RATE" \
		-v warmup_s="$WARMUP_S" -v duration_s="$P_DUR" -v loadgen_exit="${LG_EXIT:-}" \
		-v loadgen_limit="${LG_LIMIT_S:-}" -v server_exit="${SERVER_EXIT:-}" \
		-v bound="$CLIENT_BOUND_CORES" -f "$POINT_ROOT/bench/row.awk" "${3:-/dev/null}"
}

usage() {
	echo "usage: bench/point.sh MODEL WORKLOAD X ROUND   (or --header)" >&2
	echo "  MODEL: ${ALL_MODELS[*]}; WORKLOAD: $ALL_WORKLOADS; X and ROUND: whole numbers" >&2
	[[ -z ${1:-} ]] || echo "bench/point.sh: $1" >&2
	exit 2
}

point_main() {
	if [[ $# -eq 1 && $1 == --header ]]; then
		echo "$CSV_HEADER"
		return 0
	fi
	[[ $# -eq 4 ]] || usage
	MODEL=$1 WORKLOAD=$2 X=$3 ROUND=$4
	[[ " ${ALL_MODELS[*]} " == *" $MODEL "* ]] || usage "unknown model '$MODEL'"
	[[ " $ALL_WORKLOADS " == *" $WORKLOAD "* ]] || usage "unknown workload '$WORKLOAD'"
	[[ $X =~ ^[0-9]+$ ]] || usage "X '$X': a whole number"
	[[ $ROUND =~ ^[1-9][0-9]*$ ]] || usage "ROUND '$ROUND': a positive whole number"
	local v
	for v in WARMUP DURATION IDLE_DURATION CHURN_DURATION SIZE_DURATION OPEN_DURATION \
		CAPACITY_DURATION CAPACITY_RESOLUTION CAPACITY_TIME; do
		[[ "${!v}" =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage "$v=${!v}: seconds, such as 0.5"
	done
	for v in CLOSED_SIZE IDLE_ACTIVE OPEN_CONNS SIZE_CONNS LOADGEN_THREADS POOL_MAX_WORKERS \
		PREFORK_MAX_WORKERS CAPACITY_START; do
		[[ "${!v}" =~ ^[1-9][0-9]*$ ]] || usage "$v=${!v}: a positive whole number"
	done
	[[ "$PIN" == 0 || "$PIN" == 1 ]] || usage "PIN=$PIN: 1 or 0"
	SEED=${SEED:-$ROUND}
	[[ $SEED =~ ^[0-9]+$ ]] || usage "SEED=$SEED: a whole number"

	# Pinning: only where both CPUs exist (bench/run.sh says so when not).
	local cpus
	cpus=$(nproc)
	if [[ $PIN == 1 ]] && { ((SERVER_CPU >= cpus || CLIENT_CPU >= cpus)) || ! command -v taskset >/dev/null 2>&1; }; then
		PIN=0
	fi
	if [[ -z ${CLIENT_BOUND_CORES:-} ]]; then
		local client_cores=1
		[[ $PIN == 1 ]] || client_cores=$((LOADGEN_THREADS < cpus ? LOADGEN_THREADS : cpus))
		CLIENT_BOUND_CORES=$(awk -v c="$client_cores" 'BEGIN { printf "%.2f", 0.95 * c }')
	fi

	point_params "$WORKLOAD" "$X"
	WARMUP_MS=$(warmup_ms "$MODEL" "$WORKLOAD" "$P_CONNS")
	WARMUP_S=$(seconds_of "$WARMUP_MS")
	local reason
	reason=$(why_not "$MODEL" "$WORKLOAD" "$P_CONNS" "$P_IDLE")
	if [[ -n $reason ]]; then
		emit not-run "$reason"
		return 0
	fi

	if [[ -n ${SERVER_ARGS+set} ]]; then
		SERVER_ARGS_USED=$SERVER_ARGS
	else
		SERVER_ARGS_USED=$(model_server_args "$MODEL" $((P_CONNS + P_IDLE)))
	fi
	SERVER_ARGS_USED="$SERVER_ARGS_USED${SERVER_EXTRA_ARGS:+ $SERVER_EXTRA_ARGS}"
	SERVER_ARGS_USED=${SERVER_ARGS_USED# }

	take_bench_lock point.sh "$BENCH_LOCK" "$LOCK_WAIT"
	local server_pin=() client_pin=() wrap=() args=()
	# BENCH_NET=netns (bench/run.sh made them): the server in one network
	# namespace, the load generators in another (ip netns exec execs, so
	# the pid is the server's as ever).
	if [[ -n ${SERVER_NETNS:-} ]]; then
		server_pin=(ip netns exec "$SERVER_NETNS")
		client_pin=(ip netns exec "$CLIENT_NETNS")
	fi
	if [[ $PIN == 1 ]]; then
		server_pin+=(taskset -c "$SERVER_CPU")
		client_pin+=(taskset -c "$CLIENT_CPU")
		# This script and the load generator share the client's CPU.
		taskset -cp "$CLIENT_CPU" $$ >/dev/null
	fi
	# The load generators on other hosts cannot sample the server's /proc.
	! remote || LOADGEN_SERVER_PID=0
	read -r -a wrap <<<"${SERVER_WRAP:-}"
	read -r -a args <<<"$SERVER_ARGS_USED"
	if [[ -z ${LOADGEN_SERVER_PID:-} ]]; then
		LOADGEN_SERVER_PID=0
		[[ $("$LOADGEN" --help 2>&1 || true) != *--server-pid* ]] || LOADGEN_SERVER_PID=1
	fi

	TMP=$(mktemp -d "${TMPDIR:-/tmp}/point.XXXXXX")
	SERVER_PID="" WRAP_PID="" HOLDER_PIDS=() LG_PID="" SERVER_PORT=""
	trap point_cleanup EXIT
	trap 'exit 130' INT TERM HUP

	# The server, on a free TCP port or (unix) a socket file of the point's;
	# on SERVER_SSH through remote_server_start.
	local listen=(-p 0) reach start=()
	[[ -z ${SERVER_NETNS:-} ]] || listen=(-b "$NETNS_SERVER_ADDR" -p 0)
	! remote || listen=(-b "$SERVER_ADDR" -p 0)
	[[ $WORKLOAD != unix ]] || listen=(-u "$TMP/echo.sock")
	[[ -z ${SERVER_SSH:-} ]] || start=(remote_server_start)
	REMOTE_PIDFILE="/tmp/echo-bench-$$.pid"
	if ! start_ready "$READY_TIMEOUT_MS" "$TMP/server.out" "$TMP/server.err" \
		"${start[@]}" "${server_pin[@]}" "${wrap[@]}" "$SERVERS_DIR/echo-$MODEL" "${listen[@]}" "${args[@]}"; then
		WRAP_PID=$READY_PID SERVER_PID=$READY_PID
		reason="server did not start: $READY_REASON"
		stop_server
		[[ ! -s "$TMP/server.err" ]] || reason="$reason: $(head -n 1 "$TMP/server.err" | cut -c 1-200)"
		emit failed "$reason"
		return 0
	fi
	WRAP_PID=$READY_PID SERVER_PID=$READY_PID SERVER_PORT=$READY_PORT
	reach=(-p "$SERVER_PORT")
	[[ -z ${SERVER_NETNS:-} ]] || reach=(-H "$NETNS_SERVER_ADDR" -p "$SERVER_PORT")
	if remote; then
		reach=(-H "$SERVER_ADDR" -p "$SERVER_PORT")
		SERVER_PORT="" # its listen queue is on another host
	fi
	if [[ $WORKLOAD == unix ]]; then
		SERVER_PORT="" # no listen queue to watch by port
		reach=(-u "$TMP/echo.sock")
	fi
	if ((${#wrap[@]} > 0)); then
		SERVER_PID=$(server_under "$WRAP_PID") || {
			SERVER_PID=$WRAP_PID
			emit failed "no echo-$MODEL process under SERVER_WRAP ($SERVER_WRAP)"
			return 0
		}
	fi
	remote || SERVER_BASE_SOCKETS=$(server_sockets "$SERVER_PID")

	# The idle connections, held by a first load generator (one of them sends
	# a message a second: bin/loadgen needs one active connection).
	LG_LIMIT_S=$(awk -v a="$WARMUP_S" -v b="$P_DUR" -v c="$SETUP_TIMEOUT" 'BEGIN { printf "%d", a + b + c + 10 }')
	# A capacity search is bounded by its --search-time, and its last step
	# may begin just before that bound.
	[[ -z $P_TARGET ]] || LG_LIMIT_S=$(awk -v l="$LG_LIMIT_S" -v t="$CAPACITY_TIME" 'BEGIN { printf "%d", l + t }')
	local kernel_before=""
	[[ $WORKLOAD != idle ]] || kernel_before=$(kernel_sample)
	if ((P_IDLE > 0)); then
		local have opened_ms
		opened_ms=$(now_ms)
		start_holders $((LG_LIMIT_S + SETUP_TIMEOUT + 10)) "${reach[@]}"
		have=$(wait_conns "$P_IDLE")
		IDLE_OPEN_S=$(awk -v ms=$(($(now_ms) - opened_ms)) 'BEGIN { printf "%.2f", ms / 1000 }')
		if ((have < P_IDLE)); then
			emit_after_stop failed "the server held $have of $P_IDLE idle connections after ${SETUP_TIMEOUT}s"
			return 0
		fi
	fi

	# The measuring load generator (on other hosts: run_remote_clients).
	LG_EXIT=0
	if remote; then
		run_remote_clients "$TMP/loadgen.csv"
	else
		set_loadgen_args "$P_CONNS" "$P_RATE" csv
		"${client_pin[@]}" timeout -k 2 "$LG_LIMIT_S" "$LOADGEN" "${LG_ARGS[@]}" \
			</dev/null >"$TMP/loadgen.csv" 2>>"$TMP/loadgen.err" 3>&- 9>&- &
		LG_PID=$!
		wait "$LG_PID" || LG_EXIT=$?
		LG_PID=
	fi
	[[ -z $kernel_before ]] || write_kernel_line "$kernel_before"
	case $LG_EXIT in 124 | 137) LG_EXIT=timeout ;; esac
	emit_after_stop "" "" "$TMP/loadgen.csv"
}

# emit_after_stop STATUS REASON [LOADGEN_CSV]: stops the holder and the
# server (the row carries the server's exit status), then prints the row.
emit_after_stop() {
	stop_holder
	stop_server
	save_logs
	emit "$@"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	point_main "$@"
fi
