#!/usr/bin/env bash
# bench/syscalls.sh - system calls per echoed message, by call, for every model.
#
#   bench/syscalls.sh [MODEL...]        (make syscalls: every model)
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
# connections. blocking runs only the one-connection point (it serves one
# client at a time); select only points under FD_SETSIZE. pool gets one
# worker per connection, as in make bench.
#
# The table goes to stdout and to SYSCALLS_OUT (default:
# results/latest/syscalls.md when results/latest exists; "" for none).
# Holds BENCH_LOCK (/tmp/bench.lock; "" for none) while it runs, waiting
# LOCK_WAIT (900) seconds at most. Exit status: 0 every run was clean, 1 a
# run failed (its row says why), 2 usage.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN=${BIN:-$ROOT/bin}
SYSCALLS_RATE=${SYSCALLS_RATE:-2000}
SYSCALLS_SECONDS=${SYSCALLS_SECONDS:-2}
SYSCALLS_POINTS=${SYSCALLS_POINTS:-1 16 4+1000}
SYSCALLS_COUNTER=${SYSCALLS_COUNTER:-}
BENCH_LOCK=${BENCH_LOCK-/tmp/bench.lock}
LOCK_WAIT=${LOCK_WAIT:-900}
ALL_MODELS=(blocking fork thread pool select poll epoll-lt epoll-et)
if [[ -z ${SYSCALLS_OUT+set} ]]; then
	SYSCALLS_OUT=""
	[[ ! -d "$ROOT/results/latest" ]] || SYSCALLS_OUT="$ROOT/results/latest/syscalls.md"
fi

# The table's columns: a column sums the calls named after it.
COLUMNS_CALLS="accept:accept,accept4 read:read write:write select:pselect6,select
poll:ppoll,poll epoll_wait:epoll_wait,epoll_pwait,epoll_pwait2 epoll_ctl:epoll_ctl
clone:clone,clone3,fork,vfork futex:futex"

die() {
	echo "syscalls.sh: $*" >&2
	exit 1
}

now_ms() {
	local us=${EPOCHREALTIME//[!0-9]/}
	echo $((us / 1000))
}

alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

models=("$@")
((${#models[@]} > 0)) || models=("${ALL_MODELS[@]}")
for m in "${models[@]}"; do
	[[ " ${ALL_MODELS[*]} " == *" $m "* ]] || {
		echo "usage: bench/syscalls.sh [MODEL...]  (MODEL: ${ALL_MODELS[*]})" >&2
		exit 2
	}
	[[ -x "$BIN/echo-$m" ]] || die "$BIN/echo-$m missing: run make"
done
[[ -x "$BIN/loadgen" ]] || die "$BIN/loadgen missing: run make"

# ---- the counter ---------------------------------------------------------------
perf_events=raw_syscalls:sys_enter
for col in $COLUMNS_CALLS; do
	calls=${col#*:}
	for call in ${calls//,/ }; do
		grep -qx "syscalls:sys_enter_$call" /sys/kernel/tracing/available_events 2>/dev/null &&
			perf_events+=",syscalls:sys_enter_$call"
	done
done
if [[ -z "$SYSCALLS_COUNTER" ]]; then
	SYSCALLS_COUNTER=strace
	if command -v perf >/dev/null 2>&1 &&
		perf stat -x, -o /dev/null -e raw_syscalls:sys_enter,syscalls:sys_enter_read true 2>/dev/null; then
		SYSCALLS_COUNTER=perf
	fi
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
	exec 9>>"$BENCH_LOCK"
	if ! flock -n 9; then
		echo "syscalls.sh: waiting for $BENCH_LOCK (another benchmark runs), at most ${LOCK_WAIT}s" >&2
		flock -w "$LOCK_WAIT" 9 || die "$BENCH_LOCK still held after ${LOCK_WAIT}s"
	fi
fi

# counts_of FILE: "call count" lines from the counter's output; "total N" too.
counts_of() {
	if [[ $SYSCALLS_COUNTER == perf ]]; then
		awk -F, '$1 ~ /^[0-9]+$/ {
			name = $3; sub(/^syscalls:sys_enter_/, "", name)
			if (name == "raw_syscalls:sys_enter") name = "total"
			print name, $1 }' "$1"
	else
		# "% time seconds usecs/call calls [errors] syscall"; the last field
		# is the call, the fourth the count.
		awk '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ { print $NF, $4 }' "$1"
	fi
}

# run_one MODEL ACTIVE IDLE: sets ROW to one table row (without "| model |"),
# or to why the run failed (and returns 1). Not in a subshell: the EXIT trap
# must see SERVER_PID and COUNTER_PID.
run_one() {
	local model=$1 active=$2 idle=$3 conns line port deadline status=0 json messages
	local args=(-p 0)
	conns=$((active + idle))
	case $model in
	pool) args+=(-w "$conns" -m "$((conns > 1024 ? conns : 1024))") ;;
	fork) args+=(-m "$((conns > 1024 ? conns : 1024))") ;;
	thread) args+=(-m "$((conns > 10000 ? conns : 10000))") ;;
	esac
	: >"$TMP/server.out"
	rm -f "$TMP/count"
	if [[ $SYSCALLS_COUNTER == perf ]]; then
		perf stat -x, -o "$TMP/count" -e "$perf_events" -- "$BIN/echo-$model" "${args[@]}" \
			</dev/null >"$TMP/server.out" 2>"$TMP/server.err" 9>&- &
	else
		strace -f -c -o "$TMP/count" -- "$BIN/echo-$model" "${args[@]}" \
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
	timeout -k 2 $((${SYSCALLS_SECONDS%.*} + 61)) "$BIN/loadgen" -p "$port" -c "$active" "${idle_args[@]}" \
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
			if (total == 0) for (c in n) if (c != "total") total += n[c]
			row = row sprintf(" | %.2f | %.2f", (total - listed) / msgs, total / msgs)
			print row
		}')
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
	echo "Load: bin/loadgen open loop, ${SYSCALLS_RATE} messages/s in all for ${SYSCALLS_SECONDS} s, 64-byte messages, no warm-up."
	echo "Each figure: the server's calls (every thread and process, start-up and stop included)"
	echo "divided by the messages loadgen echoed and checked (the messages column)."
	echo "\`·\` none; select = pselect6, poll = ppoll, epoll_wait = epoll_pwait, clone = clone/clone3 (fork() and pthread_create)."
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
	for model in "${models[@]}"; do
		ROW=""
		if [[ $model == blocking ]] && ((active + idle > 1)); then
			ROW="not run: serves one client at a time"
		elif [[ $model == select ]] && ((active + idle > 1016)); then
			ROW="not run: fds >= FD_SETSIZE (1024) are refused"
		elif ! run_one "$model" "$active" "$idle"; then
			failed=1
		fi
		echo "| $model | $ROW |" | tee -a "$out"
	done
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
