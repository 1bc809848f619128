#!/usr/bin/env bash
# bench/udp.sh - what --batch buys the UDP echo: system calls, CPU and
# throughput per datagram, with and without recvmmsg/sendmmsg.
#
#   bench/udp.sh            (make bench-udp)
#
# bin/echo-udp runs pinned to SERVER_CPU (0) with --batch 1 (recvfrom and
# sendto, two calls per datagram) and --batch UDP_BATCH (16), the load
# generator (bin/loadgen --udp, closed loop, 64-byte datagrams) pinned to
# CLIENT_CPU (1), at two loads: 1 connection with 1 datagram in flight (the
# server never finds more than one waiting: nothing to batch) and
# UDP_CONNS (16) connections with UDP_PIPELINE (4) in flight each (up to
# 64 waiting). Each run measures UDP_SECONDS (2) with no warm-up, so that
# the datagrams echoed are every one the server saw but the few in flight
# at the end; the server's system calls are counted by perf stat on the
# syscall tracepoints (in the kernel: the server is not slowed) over its
# whole life (a few dozen at start-up and stop) and divided by them, and
# its CPU per datagram and the throughput are the load generator's
# (--server-pid). UDP_ROUNDS (5) rounds, the four runs
# of a round in an order shuffled per round, so that the machine's drift
# does not favour one. The table gives the median over the rounds and the
# range (min-max), and the paired ratio batch/no batch of CPU per datagram
# and of throughput with its 95% interval (bench/stats.awk).
#
# UDP_CSV=FILE keeps the raw rows (one per run) there too.
# Holds BENCH_LOCK (/tmp/bench.lock) while it runs. Needs perf with the
# syscall tracepoints (as root); without, it says so and exits 1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh disable=SC1091
. "$ROOT/bench/lib.sh"

SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
UDP_BATCH=${UDP_BATCH:-16}
UDP_CONNS=${UDP_CONNS:-16}
UDP_PIPELINE=${UDP_PIPELINE:-4}
UDP_SECONDS=${UDP_SECONDS:-2}
UDP_ROUNDS=${UDP_ROUNDS:-5}
BENCH_LOCK=${BENCH_LOCK:-/tmp/bench.lock}
LOCK_WAIT=${LOCK_WAIT:-900}

die() {
	echo "udp.sh: $*" >&2
	exit 1
}

perf stat -x, -o /dev/null -e syscalls:sys_enter_recvfrom true 2>/dev/null ||
	die "perf cannot count the syscall tracepoints here (root, and perf, are needed)"
[[ -x $ROOT/bin/echo-udp && -x $ROOT/bin/loadgen ]] || die "run make first"
take_bench_lock udp.sh "$BENCH_LOCK" "$LOCK_WAIT"

TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
	[[ -z $SERVER_PID ]] || kill -TERM "$SERVER_PID" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

EVENTS="syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_recvmmsg,syscalls:sys_enter_sendmmsg,raw_syscalls:sys_enter"

# one_run BATCH CONNS PIPELINE ROUND: one row of results.csv.
one_run() {
	local batch=$1 conns=$2 pipeline=$3 round=$4 json counts
	start_ready 15000 "$TMP/server.out" "$TMP/server.err" \
		perf stat -x, -o "$TMP/count" -e "$EVENTS" -- \
		taskset -c "$SERVER_CPU" "$ROOT/bin/echo-udp" -p 0 --batch "$batch" ||
		die "echo-udp did not start: $READY_REASON"
	local wrap_pid=$READY_PID port=$READY_PORT
	SERVER_PID=$(tree_pids "$wrap_pid" | while read -r p; do
		[[ $(cat "/proc/$p/comm" 2>/dev/null) == echo-udp ]] && echo "$p"
	done | head -n 1)
	json=$(taskset -c "$CLIENT_CPU" "$ROOT/bin/loadgen" --udp -p "$port" -c "$conns" -P "$pipeline" \
		-W 0 -d "${UDP_SECONDS}s" --server-pid "$SERVER_PID" --format json -q) || true
	kill -TERM "$SERVER_PID"
	wait_exit "$wrap_pid" 30
	SERVER_PID=
	counts=$(awk -F, '$3 ~ /sys_enter/ { n[$3] = $1 } END {
		printf "%d,%d,%d,%d,%d", n["syscalls:sys_enter_recvfrom"], n["syscalls:sys_enter_sendto"],
			n["syscalls:sys_enter_recvmmsg"], n["syscalls:sys_enter_sendmmsg"], n["raw_syscalls:sys_enter"] }' "$TMP/count")
	jq -r --arg pre "$batch,$conns,$pipeline,$round" --arg counts "$counts" \
		'[$pre, (.messages | tostring), (.msgs_per_s | tostring),
		  (.server_us_per_msg | tostring), (.datagrams.lost | tostring), $counts] | join(",")' <<<"$json"
}

echo "batch,conns,pipeline,round,messages,msgs_per_s,server_us_per_msg,lost,recvfrom,sendto,recvmmsg,sendmmsg,syscalls" >"$TMP/results.csv"
for ((round = 1; round <= UDP_ROUNDS; round++)); do
	runs=("1 1 1" "$UDP_BATCH 1 1" "1 $UDP_CONNS $UDP_PIPELINE" "$UDP_BATCH $UDP_CONNS $UDP_PIPELINE")
	# The round's order: a shuffle seeded by the round.
	mapfile -t order < <(printf '%s\n' "${runs[@]}" | awk -v seed="$round" 'BEGIN { srand(seed) } { print rand() "\t" $0 }' | sort -n | cut -f2)
	for run in "${order[@]}"; do
		# shellcheck disable=SC2086 # three words
		one_run $run "$round" >>"$TMP/results.csv"
		echo "udp.sh: round $round: batch/conns/pipeline $run done" >&2
	done
done

echo "# bench/udp.sh $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname -s): $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# echo-udp pinned to CPU $SERVER_CPU, loadgen --udp (64-byte datagrams) to CPU $CLIENT_CPU; $UDP_ROUNDS rounds of ${UDP_SECONDS}s, shuffled; median (min-max)"
echo
awk -F, -f "$ROOT/bench/stats.awk" -v batch="$UDP_BATCH" -f "$ROOT/bench/udp.awk" "$TMP/results.csv"
[[ -z ${UDP_CSV:-} ]] || cp "$TMP/results.csv" "$UDP_CSV"
