#!/usr/bin/env bash
# bench/syscalls.sh - system calls per echoed message, by call, for every model.
#
#   bench/syscalls.sh [MODEL[:OPTION]...]   (make syscalls: every model)
#   bench/syscalls.sh --gate CSV [MODEL...] the regression gate's count (below)
#
# MODEL:OPTION runs bin/echo-MODEL with that long option and names the row
# "MODEL OPTION" (prefork:--reuseport). The default list is every model of
# bench/models.sh. A model that cannot
# run here (not built, io_uring unavailable) gets a "not run" row with the
# reason, and does not fail the run.
#
# Each model serves a fixed load at a few connection counts: bin/loadgen in
# open loop, SYSCALLS_RATE messages a second in all for SYSCALLS_SECONDS with
# no warm-up (-W 0), so every run offers the same number of messages (4000 by
# default). The server's system calls are counted over its whole life, every
# thread and child process included, and divided by the messages the load
# generator reports (JSON "messages": echoes completed and checked in the run;
# with -W 0 that is every message but those still in flight at the very end,
# at most one per connection). Counts include start-up (a few dozen calls),
# connection set-up (an accept, a close, a clone for fork and thread, an
# epoll_ctl for epoll, per connection) and the stop: the point with idle
# connections pays for accepting them too.
#
# Counting: perf stat on the kernel's syscall tracepoints (counted in the
# kernel, the run is not slowed) when perf can; otherwise strace -c -f, which
# stops the server at every call: the counts are right but the server runs
# slower, so more messages may share a wait, and its timings mean nothing.
# SYSCALLS_COUNTER=perf|strace chooses. The output names the method.
#
# Points (SYSCALLS_POINTS, default "1 16 4+1000"): ACTIVE or ACTIVE+IDLE
# connections. What runs where, and each model's options at a point, are
# the bench's (bench/models.txt through bench/models.sh: model_not_run,
# model_server_args): blocking runs only the one-connection point (it serves
# one client at a time), select only points under FD_SETSIZE, pool and
# prefork get one worker per connection. Both counters follow every thread and child
# process: prefork's workers, reactors' threads and fork's children are all
# counted. uring does its reads and writes inside io_uring_enter (and in the
# kernel's own io-wq threads, which make no system calls): its read and write
# columns stay empty, and that is the point.
#
# The table goes to stdout and to SYSCALLS_OUT (default: the full table -
# every model, the default points, rate and duration - goes to
# results/latest/syscalls.md when results/latest exists, beside the bench run
# it describes; a partial or different run goes nowhere else; "" for none).
# Holds BENCH_LOCK (/tmp/bench.lock; "" for none) while it runs, waiting
# LOCK_WAIT (900) seconds at most. Exit status: 0 every run was clean, 1 a
# run failed (its row says why), 2 usage.
#
# --gate CSV: the regression gate's count (bench/check.sh, bench/paired.sh;
# compared by bench/compare-syscalls.awk). Each model runs one bench point,
# bench/point.sh MODEL open SYSCALLS_GATE_RATE (the bench's server options
# and pinning) with one connection and one message in flight
# (OPEN_MAX_IN_FLIGHT=1), no warm-up, for SYSCALLS_GATE_SECONDS (1; doubled,
# up to 8 times, while it echoes under GATE_MIN_MESSAGES, 2000) and the
# counter as its SERVER_WRAP: one message at a time, due 0.5 ms after the
# last (2000 a second), so each echo is exactly the model's calls and the
# calls per message do not depend on the machine's speed; nor do the times
# the server goes to sleep (once per message). Not a closed loop: there the
# next request can arrive before the server's read after an echo
# (epoll-et's, which expects EAGAIN), a race whose outcome moved epoll-et
# by 0.63 calls a message on a busy machine; nor an open loop without the
# bound, where two messages sent close together are read as one. The messages are the load generator's (the row's
# messages: with no warm-up, every echo but one in flight at the end). With
# perf, the calls of GATE_CALLS are counted by name besides the table's
# columns, and the voluntary context switches ("ctx_switches": the
# sched:sched_switch tracepoint where a server task leaves the CPU to sleep,
# start to stop; a preemption, a switch away from a task that could still
# run, depends on what else the machine runs, and is not counted); strace
# counts every call by name but its stops would be the switches, so they
# are not counted.
# CSV: model,messages,counter,metric,count,per_msg, one line per call, and
# "other" (the calls not counted by name), "total", "ctx_switches"; a model
# that did not run is one line with metric "failed" or "not-run". BIN (the
# servers), LOADGEN and SERVER_WRAP (a prefix for the server inside the
# counter, such as "env LD_PRELOAD=...") choose what runs. The table goes
# to stdout as usual, not to SYSCALLS_OUT.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN=${BIN:-$ROOT/bin}
LOADGEN=${LOADGEN:-$BIN/loadgen}
SERVER_WRAP=${SERVER_WRAP:-}
GATE_CSV=""
if [[ ${1:-} == --gate ]]; then
	[[ -n ${2:-} ]] || {
		echo "usage: bench/syscalls.sh --gate CSV [MODEL...]" >&2
		exit 2
	}
	GATE_CSV=$2
	shift 2
	SYSCALLS_POINTS=1
	SYSCALLS_OUT=""
fi
SYSCALLS_GATE_SECONDS=${SYSCALLS_GATE_SECONDS:-1}
SYSCALLS_GATE_RATE=2000
GATE_MIN_MESSAGES=2000
SYSCALLS_RATE=${SYSCALLS_RATE:-2000}
SYSCALLS_SECONDS=${SYSCALLS_SECONDS:-2}
SYSCALLS_POINTS=${SYSCALLS_POINTS:-1 16 4+1000}
SYSCALLS_COUNTER=${SYSCALLS_COUNTER:-}
BENCH_LOCK=${BENCH_LOCK-/tmp/bench.lock}
LOCK_WAIT=${LOCK_WAIT:-900}
# shellcheck source=bench/models.sh disable=SC1091 # followed with shellcheck -x
source "$ROOT/bench/models.sh"
# shellcheck source=bench/lib.sh disable=SC1091 # now_ms, alive, take_bench_lock
source "$ROOT/bench/lib.sh"
if [[ -z ${SYSCALLS_OUT+set} ]]; then
	SYSCALLS_OUT=""
	if [[ $# -eq 0 && -d "$ROOT/results/latest" && $SYSCALLS_RATE == 2000 &&
		$SYSCALLS_SECONDS == 2 && $SYSCALLS_POINTS == "1 16 4+1000" ]]; then
		SYSCALLS_OUT="$ROOT/results/latest/syscalls.md"
	fi
fi

# The table's columns: a column sums the calls named after it (libevent
# reads with readv and writes with writev; ioctl is its FIONREAD before
# each read).
COLUMNS_CALLS="accept:accept,accept4 read:read,readv,recvfrom,recvmsg
write:write,writev,sendto,sendmsg select:pselect6,select poll:ppoll,poll
epoll_wait:epoll_wait,epoll_pwait,epoll_pwait2 epoll_ctl:epoll_ctl
io_uring_enter:io_uring_enter ioctl:ioctl clone:clone,clone3,fork,vfork futex:futex"
# --gate with perf: more calls counted by name, so that an extra one is
# named rather than "other" (each tracepoint costs perf ~40 ms to open).
GATE_CALLS="getpid getppid gettid fcntl getsockopt setsockopt shutdown close
clock_gettime nanosleep clock_nanosleep sched_yield rt_sigprocmask mmap munmap
brk madvise mprotect"

die() {
	echo "syscalls.sh: $*" >&2
	exit 1
}



models=("$@")
if ((${#models[@]} == 0)); then
	models=("${ALL_MODELS[@]}")
fi
# Why each model cannot run here ("" when it can), asked once.
declare -A unavailable=()
for spec in "${models[@]}"; do
	m=${spec%%:*}
	if [[ " ${ALL_MODELS[*]} " != *" $m "* ]] || [[ $spec != "$m" && ${spec#*:} != --* ]]; then
		echo "usage: bench/syscalls.sh [MODEL[:--OPTION]...]  (MODEL: ${ALL_MODELS[*]})" >&2
		exit 2
	fi
	[[ -n ${unavailable[$m]+set} ]] || unavailable[$m]=$(model_unavailable "$BIN" "$m" || true)
done
[[ -x "$LOADGEN" ]] || die "$LOADGEN missing: run make"

# ---- the counter ---------------------------------------------------------------
# perf is tried first, even when SYSCALLS_COUNTER names it: perf mounts
# tracefs (/sys/kernel/tracing) the first time it needs it, and the events
# below are looked up there. On a fresh machine it is not mounted until then,
# and every call would be counted as "other".
perf_works=false
if command -v perf >/dev/null 2>&1 &&
	perf stat -x, -o /dev/null -e raw_syscalls:sys_enter,syscalls:sys_enter_read true 2>/dev/null; then
	perf_works=true
fi
[[ -n "$SYSCALLS_COUNTER" ]] || SYSCALLS_COUNTER=$($perf_works && echo perf || echo strace)
perf_events=raw_syscalls:sys_enter
perf_sleeps="" # --gate: its own event, for its own filter (below)
for col in $COLUMNS_CALLS; do
	calls=${col#*:}
	for call in ${calls//,/ }; do
		grep -qx "syscalls:sys_enter_$call" /sys/kernel/tracing/available_events 2>/dev/null &&
			perf_events+=",syscalls:sys_enter_$call"
	done
done
# io_uring's own tracepoints: requests submitted (SQEs) and completions
# posted (CQEs), for the uring rows' second table.
uring_events=""
for event in io_uring_submit_req io_uring_complete; do
	grep -qx "io_uring:$event" /sys/kernel/tracing/available_events 2>/dev/null &&
		uring_events+=",io_uring:$event"
done
perf_events+=$uring_events
if [[ -n $GATE_CSV ]]; then
	for call in $GATE_CALLS; do
		grep -qx "syscalls:sys_enter_$call" /sys/kernel/tracing/available_events 2>/dev/null &&
			perf_events+=",syscalls:sys_enter_$call"
	done
	# The switches in which a server task went to sleep (S or D): the
	# model's own waits. Preemptions by other processes (a switch away from
	# a task still runnable) are the machine's load, not the model's: they
	# are left out, so a busy machine counts what a quiet one does.
	grep -qx "sched:sched_switch" /sys/kernel/tracing/available_events 2>/dev/null &&
		perf_sleeps="-e sched:sched_switch --filter prev_state&3"
fi
case $SYSCALLS_COUNTER in
perf) method="perf stat on the syscall tracepoints (counted in the kernel; the run is not slowed)" ;;
strace) method="strace -c -f (every call stops the server: counts only, no timing)" ;;
*) die "SYSCALLS_COUNTER must be perf or strace" ;;
esac
command -v "$SYSCALLS_COUNTER" >/dev/null 2>&1 || die "$SYSCALLS_COUNTER is not installed (tests/ensure-packages strace)"

TMP=$(mktemp -d)
COUNTER_PID=""
SERVER_PID=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	[[ -z "$SERVER_PID" ]] || kill -KILL "$SERVER_PID" 2>/dev/null || true
	[[ -z "$COUNTER_PID" ]] || kill -KILL "$COUNTER_PID" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

if [[ -n "$BENCH_LOCK" ]]; then
	take_bench_lock syscalls.sh "$BENCH_LOCK" "$LOCK_WAIT"
fi

# SERVER_WRAP: a prefix for the server (it must exec the server, as env
# and taskset do).
WRAP=()
[[ -z $SERVER_WRAP ]] || read -r -a WRAP <<<"$SERVER_WRAP"
if [[ -n $GATE_CSV ]]; then
	[[ $SYSCALLS_GATE_SECONDS =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
		die "SYSCALLS_GATE_SECONDS=$SYSCALLS_GATE_SECONDS: seconds, such as 0.6"
	[[ -x "$ROOT/bench/point.sh" ]] || die "bench/point.sh is missing: --gate runs each model through it"
	GATE_HEADER=$("$ROOT/bench/point.sh" --header)
	echo "model,messages,counter,metric,count,per_msg" >"$GATE_CSV"
fi

# run_gate MODEL [OPTION]: --gate's run, one bench point (bench/point.sh:
# the bench's server options and pinning) at 1 connection, one message at a
# time (the open loop at SYSCALLS_GATE_RATE), no warm-up, the server under the counter (SERVER_WRAP of point.sh), then
# SERVER_WRAP's own prefix. Appends the counts to GATE_CSV and sets ROW to
# the table's row, or to why it failed (and returns 1).
run_gate() {
	local model=$1 option=${2:-} wrap row messages status try=0 failures=0
	local seconds=$SYSCALLS_GATE_SECONDS
	if [[ $SYSCALLS_COUNTER == perf ]]; then
		wrap="perf stat -x, -o $TMP/count -e $perf_events $perf_sleeps --"
	else
		wrap="strace -f -c -o $TMP/count --"
	fi
	while :; do
		try=$((try + 1))
		rm -f "$TMP/count"
		status=failed messages=0
		row=$(SERVERS_DIR="$BIN" LOADGEN="$LOADGEN" SERVER_WRAP="$wrap${SERVER_WRAP:+ $SERVER_WRAP}" \
			SERVER_EXTRA_ARGS="$option" WARMUP=0 OPEN_CONNS=1 OPEN_MAX_IN_FLIGHT=1 OPEN_DURATION="$seconds" BENCH_LOCK_HELD=1 \
			LOADGEN_SERVER_PID=1 "$ROOT/bench/point.sh" "$model" open "$SYSCALLS_GATE_RATE" "$try" \
			2>>"$TMP/point.err" 9>&-) || row="$model,open,$SYSCALLS_GATE_RATE,$try,failed,bench/point.sh exit $?"
		read -r status messages < <(awk -F, -v header="$GATE_HEADER" 'BEGIN { n = split(header, h, ","); for (i = 1; i <= n; i++) c[h[i]] = i }
			{ print $c["status"], ($c["messages"] == "" ? 0 : $c["messages"]) }' <<<"$row")
		if [[ $status == failed || $status == error ]]; then
			# A second try: one failed run (a busy machine, a slow start)
			# is not the model's count.
			((++failures < 2)) && continue
			break
		fi
		# Start-up and the stop make about a hundred calls, spread over the
		# messages: under GATE_MIN_MESSAGES they could move a figure by
		# 0.05 per message, a tenth of the threshold. A busy machine echoes
		# fewer in the window: the run is repeated with twice the window,
		# up to 8 times the first.
		if [[ $status != ok ]] || ((messages >= GATE_MIN_MESSAGES)) ||
			! awk -v s="$seconds" -v first="$SYSCALLS_GATE_SECONDS" 'BEGIN { exit !(s < 8 * first) }'; then
			break
		fi
		seconds=$(awk -v s="$seconds" 'BEGIN { print 2 * s }')
	done
	if [[ $status != ok ]]; then
		ROW="$( [[ $status == not-run ]] && echo "not run" || echo failed): $(awk -F, '{ print $6 }' <<<"$row")"
		return 1
	fi
	((messages > 0)) || {
		ROW="failed: no message echoed"
		return 1
	}
	[[ -s "$TMP/count" ]] || {
		ROW="failed: $SYSCALLS_COUNTER wrote no counts"
		return 1
	}
	table_row "$model" "$messages"
	counts_of "$TMP/count" | awk -v model="$model${option:+ $option}" -v msgs="$messages" -v counter="$SYSCALLS_COUNTER" '
		$1 == "sqe" || $1 == "cqe" { next }
		{ n[$1] += $2 }
		END {
			OFS = ","
			for (c in n) {
				if (c == "total" || c == "ctx_switches")
					continue
				named += n[c]
				print model, msgs, counter, c, n[c], sprintf("%.4f", n[c] / msgs)
			}
			total = ("total" in n) ? n["total"] : named
			print model, msgs, counter, "other", total - named, sprintf("%.4f", (total - named) / msgs)
			print model, msgs, counter, "total", total, sprintf("%.4f", total / msgs)
			if ("ctx_switches" in n)
				print model, msgs, counter, "ctx_switches", n["ctx_switches"], sprintf("%.4f", n["ctx_switches"] / msgs)
		}' | sort -t, -k4,4 >>"$GATE_CSV"
}

# counts_of FILE: "call count" lines from the counter's output; "total N" too,
# and with perf "sqe N" and "cqe N" (io_uring requests and completions).
counts_of() {
	if [[ $SYSCALLS_COUNTER == perf ]]; then
		awk -F, '$1 ~ /^[0-9]+$/ {
			name = $3; sub(/^syscalls:sys_enter_/, "", name)
			if (name == "raw_syscalls:sys_enter") name = "total"
			if (name == "io_uring:io_uring_submit_req") name = "sqe"
			if (name == "io_uring:io_uring_complete") name = "cqe"
			if (name == "sched:sched_switch") name = "ctx_switches"
			print name, $1 }' "$1"
	else
		# "% time seconds usecs/call calls [errors] syscall"; the last field
		# is the call, the fourth the count.
		awk '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ { print $NF, $4 }' "$1"
	fi
}

# run_one MODEL ACTIVE IDLE [OPTION]: sets ROW to one table row (without
# "| model |"), or to why the run failed (and returns 1). Not in a subshell:
# the EXIT trap must see SERVER_PID and COUNTER_PID.
run_one() {
	local model=$1 active=$2 idle=$3 conns line port deadline status=0 json messages
	local args=(-p 0) point_args=()
	conns=$((active + idle))
	[[ -z ${4:-} ]] || args+=("$4")
	# The bench's options for a point of this many connections (bench/models.txt).
	read -r -a point_args <<<"$(model_server_args "$model" "$conns")"
	args+=("${point_args[@]}")
	: >"$TMP/server.out"
	rm -f "$TMP/count"
	if [[ $SYSCALLS_COUNTER == perf ]]; then
		perf stat -x, -o "$TMP/count" -e "$perf_events" -- "${WRAP[@]}" "$BIN/echo-$model" "${args[@]}" \
			</dev/null >"$TMP/server.out" 2>"$TMP/server.err" 9>&- &
	else
		strace -f -c -o "$TMP/count" -- "${WRAP[@]}" "$BIN/echo-$model" "${args[@]}" \
			</dev/null >"$TMP/server.out" 2>"$TMP/server.err" 9>&- &
	fi
	COUNTER_PID=$!
	deadline=$(($(now_ms) + 10000))
	line=""
	until IFS= read -r line <"$TMP/server.out"; do
		if ! alive "$COUNTER_PID" || (($(now_ms) >= deadline)); then
			ROW="failed: the server did not start ($(head -c 200 "$TMP/server.err"))"
			return 1
		fi
		sleep 0.01
	done
	port=${line##*:}
	port=${port%% *}
	# The server is the counter's only child.
	SERVER_PID=$(cat "/proc/$COUNTER_PID/task/$COUNTER_PID/children" 2>/dev/null || true)
	SERVER_PID=${SERVER_PID%% *}
	[[ -n "$SERVER_PID" ]] || {
		ROW="failed: no server process under $SYSCALLS_COUNTER"
		return 1
	}

	local idle_args=()
	((idle == 0)) || idle_args=(--idle "$idle")
	timeout -k 2 $((${SYSCALLS_SECONDS%.*} + 61)) "$LOADGEN" -p "$port" -c "$active" "${idle_args[@]}" \
		-r "$SYSCALLS_RATE" -W 0 -d "${SYSCALLS_SECONDS}s" --format json -q \
		>"$TMP/loadgen.json" 2>"$TMP/loadgen.err" 9>&- || status=$?

	kill -TERM "$SERVER_PID" 2>/dev/null || true
	deadline=$(($(now_ms) + 30000))
	while alive "$COUNTER_PID" && (($(now_ms) < deadline)); do
		sleep 0.02
	done
	if alive "$COUNTER_PID"; then
		kill -KILL "$SERVER_PID" "$COUNTER_PID" 2>/dev/null || true
		wait "$COUNTER_PID" 2>/dev/null || true
		SERVER_PID="" COUNTER_PID=""
		ROW="failed: the server did not stop within 30 s"
		return 1
	fi
	wait "$COUNTER_PID" 2>/dev/null || true
	SERVER_PID="" COUNTER_PID=""

	json=$(cat "$TMP/loadgen.json")
	messages=0
	[[ $json =~ \"messages\":([0-9]+) ]] && messages=${BASH_REMATCH[1]}
	if ((status != 0)) || ((messages == 0)); then
		ROW="failed: loadgen exit $status, $messages messages ($(head -c 200 "$TMP/loadgen.err"))"
		return 1
	fi
	[[ -s "$TMP/count" ]] || {
		ROW="failed: $SYSCALLS_COUNTER wrote no counts"
		return 1
	}
	table_row "$model" "$messages"
}

# table_row MODEL MESSAGES: ROW (the table's row, without "| model |") and
# URING_ROW from the counter's output in $TMP/count.
table_row() {
	local model=$1 messages=$2
	ROW=$(counts_of "$TMP/count" | awk -v msgs="$messages" -v cols="$COLUMNS_CALLS" '
		{ n[$1] += $2 }
		END {
			ncol = split(cols, col, /[ \n]+/)
			row = sprintf("%d", msgs)
			for (i = 1; i <= ncol; i++) {
				split(col[i], nc, ":"); ncalls = split(nc[2], calls, ",")
				sum = 0
				for (j = 1; j <= ncalls; j++) sum += n[calls[j]]
				listed += sum
				row = row sprintf(" | %s", sum ? sprintf("%.2f", sum / msgs) : "·")
			}
			total = n["total"]
			if (total == 0) for (c in n) if (c != "total" && c != "sqe" && c != "cqe" && c != "ctx_switches") total += n[c]
			row = row sprintf(" | %.2f | %.2f", (total - listed) / msgs, total / msgs)
			print row
		}')
	# uring, uring-multishot: what each io_uring_enter carried (perf only:
	# strace cannot see it).
	URING_ROW=""
	if [[ $model == uring* && $SYSCALLS_COUNTER == perf && -n $uring_events ]]; then
		URING_ROW=$(counts_of "$TMP/count" | awk -v msgs="$messages" '
			{ n[$1] += $2 }
			END {
				e = n["io_uring_enter"]
				printf "%d | %.2f | %.2f | %.2f | %s", msgs, e / msgs, n["sqe"] / msgs,
					n["cqe"] / msgs, e ? sprintf("%.2f", n["cqe"] / e) : "·"
			}')
	fi
}

header="| model | messages |"
rule="|---|---:|"
for col in $COLUMNS_CALLS; do
	header+=" ${col%%:*} |"
	rule+="---:|"
done
header+=" other | total |"
rule+="---:|---:|"

out="$TMP/table.md"
failed=0
{
	echo "# System calls per echoed message"
	echo
	echo "Made by \`make syscalls\` (bench/syscalls.sh) on $(date -u +%Y-%m-%dT%H:%MZ):" \
		"$(uname -n), $(getconf _NPROCESSORS_ONLN) CPUs, Linux $(uname -r)," \
		"git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- servers 2>/dev/null || echo ' (servers modified)')."
	echo "Counted with $method."
	if [[ -n $GATE_CSV ]]; then
		echo "Load: bin/loadgen open loop, 1 connection, one 64-byte message at a time, ${SYSCALLS_GATE_RATE} a second, for ${SYSCALLS_GATE_SECONDS} s, no warm-up" \
			"(the regression gate's count: each echo is exactly the model's calls)${SERVER_WRAP:+; servers run under \`$SERVER_WRAP\`}."
	else
		echo "Load: bin/loadgen open loop, ${SYSCALLS_RATE} messages/s in all for ${SYSCALLS_SECONDS} s, 64-byte messages, no warm-up."
	fi
	echo "Each figure: the server's calls (every thread and process, start-up and stop included)"
	echo "divided by the messages loadgen echoed and checked (the messages column)."
	echo "\`·\` none; read = read/readv/recv*, write = write/writev/send*, select = pselect6, poll = ppoll,"
	echo "epoll_wait = epoll_wait/epoll_pwait, clone = clone/clone3 (fork() and pthread_create)."
	echo "uring's and uring-multishot's reads and writes happen inside io_uring_enter: their read and write columns are empty."
} >"$out"
cat "$out"

for point in $SYSCALLS_POINTS; do
	active=${point%%+*}
	idle=0
	[[ $point != *+* ]] || idle=${point#*+}
	if ((idle > 0)); then
		title="$active active connections + $idle idle"
	else
		title="$active connection$( ((active == 1)) || echo s)"
	fi
	{
		echo
		echo "## $title"
		echo
		echo "$header"
		echo "$rule"
	} | tee -a "$out"
	uring_rows=()
	for spec in "${models[@]}"; do
		model=${spec%%:*} option=""
		[[ $spec == "$model" ]] || option=${spec#*:}
		ROW="" URING_ROW=""
		if [[ -n ${unavailable[$model]} ]]; then
			ROW="not run: ${unavailable[$model]}"
		elif why=$(model_not_run "$model" closed $((active + idle))); then
			ROW="not run: $why"
		elif [[ $model == prefork && $option == --reuseport ]] && ((active + idle > 1)); then
			ROW="not run: the hash puts clients on busy workers, where they wait (bench/spread.sh)"
		elif [[ -n $GATE_CSV ]]; then
			run_gate "$model" "$option" || [[ $ROW == "not run:"* ]] || failed=1
		elif ! run_one "$model" "$active" "$idle" "$option"; then
			failed=1
		fi
		# --gate: a model not counted is a line too (compare-syscalls.awk
		# fails a model the base counted and this build could not).
		if [[ -n $GATE_CSV && ($ROW == "not run:"* || $ROW == "failed:"*) ]]; then
			echo "$model${option:+ $option},,$SYSCALLS_COUNTER,$([[ $ROW == failed:* ]] && echo failed || echo not-run),," >>"$GATE_CSV"
		fi
		echo "| $model${option:+ $option} | $ROW |" | tee -a "$out"
		[[ $model != uring* || -z ${URING_ROW:-} || $ROW == not\ run* || $ROW == failed* ]] ||
			uring_rows+=("| $model${option:+ $option} | $URING_ROW |")
	done
	if ((${#uring_rows[@]} > 0)); then
		{
			echo
			echo "io_uring per echoed message, $title: requests submitted (SQEs) and completions"
			echo "posted (CQEs), from perf's io_uring:io_uring_submit_req and io_uring:io_uring_complete."
			echo
			echo "| model | messages | io_uring_enter | submitted | completed | completions per io_uring_enter |"
			echo "|---|---:|---:|---:|---:|---:|"
			printf '%s\n' "${uring_rows[@]}"
		} | tee -a "$out"
	fi
done

if [[ -n "$SYSCALLS_OUT" ]]; then
	mkdir -p "$(dirname "$SYSCALLS_OUT")"
	cp "$out" "$SYSCALLS_OUT"
	echo "syscalls: wrote $SYSCALLS_OUT" >&2
	# Beside a bench run: link it from the run's summary, as bench/report.sh
	# does when it redraws the summary.
	summary="$(dirname "$SYSCALLS_OUT")/README.md"
	if [[ $(basename "$SYSCALLS_OUT") == syscalls.md && -f "$summary" ]] &&
		! grep -q '(syscalls.md)' "$summary"; then
		printf '\n## System calls per message\n\n[syscalls.md](syscalls.md): %s\n' \
			"system calls per echoed message, by call, for every model (make syscalls)." >>"$summary"
	fi
fi
exit "$failed"
