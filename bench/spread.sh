#!/usr/bin/env bash
# bench/spread.sh - how the kernel spreads connections over workers.
#
#   bench/spread.sh            (about a minute and a half; holds the bench lock)
#
# Three ways to hand connections to several workers, each read from the
# server's own stop line ("connections served per worker ...: 5 7 (total 12)"):
#
#   prefork               workers blocked in accept(2) on one shared listener:
#                         the kernel wakes one sleeping worker per connection
#   prefork --reuseport   one SO_REUSEPORT listener per worker: the kernel
#                         picks the listener by a hash of the client's address
#                         and port, busy worker or not
#   reactors              one epoll loop per thread, each with its own
#                         SO_REUSEPORT listener: the same hash
#
# each with -w 2 and -w 4 (workers, not cores: the server runs on one CPU,
# oversubscribed, which does not change who gets a connection), under
#
#   churn    sequential short connections: bin/loadgen --churn -c 1 for
#            SPREAD_CHURN_SECONDS (a new connection only after the last closed)
#   held N   N concurrent long connections (SPREAD_HELD, "64 256"): bin/loadgen
#            -c N, closed loop, for 1 s. prefork serves -w of them at once; the
#            rest wait in the backlog (their messages time out: the "no echo"
#            column) and are accepted, and counted, once loadgen closes them.
#
# Each of these is one bench point (bench/point.sh: the server's options
# SERVER_ARGS="-w N [--reuseport]", no warm-up; the server's stderr, where its
# stop line is, kept through LOG_DIR). The table gives the per-worker counts,
# max/min and the coefficient of variation (standard deviation / mean, over
# workers; 0 is perfectly even).
#
# Then the consequence that matters for prefork --reuseport: SPREAD_TRIALS (50)
# trials, each two connections opened at once and held, one byte sent on each:
# how often one of them got no echo within SPREAD_WAIT_S (1 s) because the
# hash put both on one busy worker. The same trials against the shared
# listener and against reactors (which serves both however they are hashed);
# for those two the trace tells how often both landed on one worker.
#
# Server pinned to CPU SERVER_CPU (0), clients to CLIENT_CPU (1; 0 on a
# one-CPU machine), with taskset.
# Holds BENCH_LOCK (/tmp/bench.lock; "" for none) for the whole run, waiting
# LOCK_WAIT (900) seconds at most. The Markdown goes to stdout and, when
# SPREAD_OUT is set, to that file. Environment: SPREAD_WORKERS ("2 4"),
# SPREAD_CHURN_SECONDS (2), SPREAD_HELD ("64 256"), SPREAD_TRIALS (50),
# SPREAD_WAIT_S (1), BIN (bin). Exit status: 0 every run was clean, 1 a
# server failed to start or stop, or printed no stop line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN=${BIN:-$ROOT/bin}
SPREAD_WORKERS=${SPREAD_WORKERS:-2 4}
SPREAD_CHURN_SECONDS=${SPREAD_CHURN_SECONDS:-2}
SPREAD_HELD=${SPREAD_HELD:-64 256}
SPREAD_TRIALS=${SPREAD_TRIALS:-50}
SPREAD_WAIT_S=${SPREAD_WAIT_S:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-$(($(nproc) > 1 ? 1 : 0))}
BENCH_LOCK=${BENCH_LOCK-/tmp/bench.lock}
LOCK_WAIT=${LOCK_WAIT:-900}
SPREAD_OUT=${SPREAD_OUT:-}
# shellcheck source=bench/models.sh disable=SC1091 # followed with shellcheck -x
source "$ROOT/bench/models.sh"
# shellcheck source=bench/lib.sh disable=SC1091 # start_ready, alive, take_bench_lock
source "$ROOT/bench/lib.sh"

die() {
	echo "spread.sh: $*" >&2
	exit 1
}



[[ $# -eq 0 ]] || {
	echo "usage: bench/spread.sh   (no arguments; see the environment in its header)" >&2
	exit 2
}
[[ -x "$BIN/loadgen" ]] || die "$BIN/loadgen is missing: run make"
for m in prefork reactors; do
	! reason=$(model_unavailable "$BIN" "$m") || die "echo-$m cannot run: $reason"
done

TMP=$(mktemp -d)
SERVER_PID=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	[[ -z "$SERVER_PID" ]] || kill -KILL "$SERVER_PID" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

if [[ -n "$BENCH_LOCK" ]]; then
	take_bench_lock spread.sh "$BENCH_LOCK" "$LOCK_WAIT"
fi

# server_start MODEL WORKERS [ARG...]: starts the server pinned to SERVER_CPU
# and waits (5 s at most) for its readiness line; sets SERVER_PID and PORT.
server_start() {
	local model=$1 workers=$2
	shift 2
	: >"$TMP/server.err"
	if ! start_ready 5000 "$TMP/server.out" "$TMP/server.err" \
		taskset -c "$SERVER_CPU" "$BIN/echo-$model" -p 0 -w "$workers" "$@"; then
		SERVER_PID=$READY_PID
		die "echo-$model: $READY_REASON: $(head -c 300 "$TMP/server.err")"
	fi
	SERVER_PID=$READY_PID PORT=$READY_PORT
}

# server_stop: waits (5 s at most) until every connection made was accepted,
# stops the server (SIGTERM, 10 s at most) and sets COUNTS to the per-worker
# counts of its stop line.
server_stop() {
	local deadline line
	deadline=$(($(now_ms) + 5000))
	until listen_queue_empty "$PORT" || (($(now_ms) >= deadline)); do
		sleep 0.02
	done
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	deadline=$(($(now_ms) + 10000))
	while alive "$SERVER_PID" && (($(now_ms) < deadline)); do
		sleep 0.02
	done
	if alive "$SERVER_PID"; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		SERVER_PID=""
		die "the server did not stop within 10 s"
	fi
	wait "$SERVER_PID" 2>/dev/null || die "the server's exit status was not 0: $(tail -n 3 "$TMP/server.err")"
	SERVER_PID=""
	stop_line_counts "$TMP/server.err"
}

# stop_line_counts FILE: sets COUNTS to the per-worker counts of the last
# stop line in FILE (the server's stderr):
# "echo-prefork: connections served per worker (one shared listener): 5 7 (total 12)"
stop_line_counts() {
	local line
	line=$(grep -E '^echo-[a-z-]+: connections (served|accepted) per ' "$1" | tail -n 1) ||
		die "no per-worker stop line in the server's stderr"
	COUNTS=$(sed -E 's/.*\): ([0-9 ]+) \(total [0-9]+\)$/\1/' <<<"$line")
	[[ $COUNTS =~ ^[0-9]+( [0-9]+)*$ ]] || die "cannot read the counts of: $line"
}

# stats COUNTS...: "total | counts | max/min | CV" (CV: population standard deviation
# over the mean).
stats() {
	awk 'BEGIN {
		n = ARGC - 1
		for (i = 1; i <= n; i++) { v = ARGV[i] + 0; sum += v; sq += v * v
			if (i == 1 || v > max) max = v; if (i == 1 || v < min) min = v }
		mean = sum / n; var = sq / n - mean * mean; if (var < 0) var = 0
		ratio = min > 0 ? sprintf("%.2f", max / min) : "∞"
		cv = mean > 0 ? sprintf("%.2f", sqrt(var) / mean) : "-"
		line = ARGV[1]; for (i = 2; i <= n; i++) line = line " " ARGV[i]
		printf "%d | %s | %s | %s", sum, line, ratio, cv
	}' "$@"
}

# run_point MODEL WORKLOAD X WORKERS [FLAG]: one bench point (bench/point.sh:
# the server pinned to SERVER_CPU with -w WORKERS and FLAG, bin/loadgen pinned
# to CLIENT_CPU, no warm-up); sets COUNTS from the server's stop line and
# NO_ECHO to the load generator's timeouts (messages never echoed).
run_point() {
	local model=$1 workload=$2 x=$3 workers=$4 flag=${5:-} row header status server_exit
	rm -rf "$TMP/logs"
	row=$(SERVER_ARGS="-w $workers${flag:+ $flag}" LOG_DIR="$TMP/logs" SERVERS_DIR="$BIN" \
		LOADGEN="$BIN/loadgen" PIN=1 SERVER_CPU="$SERVER_CPU" CLIENT_CPU="$CLIENT_CPU" WARMUP=0 \
		DURATION=1 CHURN_DURATION="$SPREAD_CHURN_SECONDS" BENCH_LOCK_HELD=1 \
		"$ROOT/bench/point.sh" "$model" "$workload" "$x" 1 9>&-)
	header=$("$ROOT/bench/point.sh" --header)
	read -r status server_exit NO_ECHO < <(awk -F, -v header="$header" 'BEGIN {
			n = split(header, h, ","); for (i = 1; i <= n; i++) c[h[i]] = i }
		{ print $c["status"], ($c["server_exit"] == "" ? "?" : $c["server_exit"]), ($c["err_timeout"] == "" ? "?" : $c["err_timeout"]) }' <<<"$row")
	[[ $status == ok || $status == error ]] || die "$model $workload $x: $(cut -d, -f5,6 <<<"$row")"
	[[ $server_exit == 0 ]] || die "the server's exit status was $server_exit: $(tail -n 3 "$TMP/logs/server-$model.log")"
	stop_line_counts "$TMP/logs/server-$model.log"
}

CONFIGS=("prefork|one shared listener|" "prefork|SO_REUSEPORT, one per worker|--reuseport"
	"reactors|SO_REUSEPORT, one per reactor|")

out="$TMP/spread.md"
{
	echo "# Connections per worker: shared listener, SO_REUSEPORT, reactors"
	echo
	echo "Made by \`bench/spread.sh\` on $(date -u +%Y-%m-%dT%H:%MZ): $(uname -n)," \
		"$(getconf _NPROCESSORS_ONLN) CPUs, Linux $(uname -r)," \
		"git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- servers 2>/dev/null || echo ' (servers modified)')," \
		"load average $(cut -d' ' -f1 /proc/loadavg) at the start."
	echo "Server pinned to CPU $SERVER_CPU (all its workers on it), loadgen to CPU $CLIENT_CPU."
	echo "Counts: the server's own stop line. *churn*: \`loadgen --churn -c 1 -d ${SPREAD_CHURN_SECONDS}s\`," \
		"one connection at a time. *held N*: \`loadgen -c N -d 1s\`, N connections at once for the whole run;" \
		"*no echo*: loadgen's timeouts, messages never echoed (prefork serves only -w clients at once)."
	echo "CV: standard deviation of the per-worker counts over their mean (0 = even)."
	echo
	echo "| server | listener | workers | load | connections | per worker | max/min | CV | no echo |"
	echo "|---|---|---:|---|---:|---|---:|---:|---:|"
} >"$out"
cat "$out"

for config in "${CONFIGS[@]}"; do
	IFS='|' read -r model listener flag <<<"$config"
	for workers in $SPREAD_WORKERS; do
		for load in churn $SPREAD_HELD; do
			if [[ $load == churn ]]; then
				run_point "$model" churn 1 "$workers" "$flag"
				label="churn ${SPREAD_CHURN_SECONDS} s"
			else
				run_point "$model" closed "$load" "$workers" "$flag"
				label="held $load"
			fi
			read -r -a counts <<<"$COUNTS"
			row="| $model${flag:+ $flag} | $listener | $workers | $label | $(stats "${counts[@]}") | $NO_ECHO |"
			echo "$row" | tee -a "$out"
		done
	done
done

# ---- two clients, two workers: does one wait? -----------------------------------

# trials N: N times, opens two connections, sends a byte on each and waits
# SPREAD_WAIT_S for each echo; prints how many trials had an echo missing.
# Runs in a subshell pinned to CLIENT_CPU.
trials() {
	local n=$1 waited=0 a b x y i
	for ((i = 0; i < n; i++)); do
		exec {a}<>"/dev/tcp/127.0.0.1/$PORT" {b}<>"/dev/tcp/127.0.0.1/$PORT"
		printf a >&"$a"
		printf b >&"$b"
		x="" y=""
		read -r -t "$SPREAD_WAIT_S" -N 1 -u "$a" x || true
		read -r -t "$SPREAD_WAIT_S" -N 1 -u "$b" y || true
		[[ $x == a && $y == b ]] || waited=$((waited + 1))
		exec {a}>&- {b}>&-
	done
	echo "$waited"
}

# same_worker TRACE: trials whose two connections were accepted by one
# worker (its pid) or reactor (its thread id). A trial's two accepts come
# before its echoes, so before the next trial's: the accept lines come in
# pairs, one pair per trial. Not so with --reuseport, where a connection
# hashed to a busy worker is accepted only after that trial ended.
same_worker() {
	awk '$3 == "accept" { t[++n] = $2 } END { for (i = 1; i < n; i += 2) s += t[i] == t[i + 1]; print s + 0 }' "$1"
}

{
	echo
	echo "Two clients held at once, two workers: $SPREAD_TRIALS trials, each opens two connections," \
		"sends one byte on each and waits ${SPREAD_WAIT_S} s for each echo (bash /dev/tcp, pinned to CPU $CLIENT_CPU)."
	echo
	echo "| server | listener | workers | trials | a client not served within ${SPREAD_WAIT_S} s | both on one worker |"
	echo "|---|---|---:|---:|---:|---:|"
} | tee -a "$out"
for config in "${CONFIGS[@]}"; do
	IFS='|' read -r model listener flag <<<"$config"
	flags=(-v)
	[[ -z $flag ]] || flags+=("$flag")
	server_start "$model" 2 "${flags[@]}"
	waited=$(
		taskset -pc "$CLIENT_CPU" "$BASHPID" >/dev/null
		trials "$SPREAD_TRIALS"
	)
	cp "$TMP/server.err" "$TMP/trace"
	server_stop
	if [[ -n $flag ]]; then
		same="$waited (the waits)"
	else
		same="$(same_worker "$TMP/trace") (from the trace)"
	fi
	echo "| $model${flag:+ $flag} | $listener | 2 | $SPREAD_TRIALS | $waited | $same |" | tee -a "$out"
done

if [[ -n "$SPREAD_OUT" ]]; then
	mkdir -p "$(dirname "$SPREAD_OUT")"
	cp "$out" "$SPREAD_OUT"
	echo "spread: wrote $SPREAD_OUT" >&2
fi
