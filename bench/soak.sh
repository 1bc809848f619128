#!/usr/bin/env bash
# bench/soak.sh - every echo server under sustained load, watched for growth.
#
# For each model: a fresh server, then for SOAK_SECONDS two load generators
# at once, a closed loop of SOAK_CONNECTIONS connections and a churn of 2
# (a new connection for every message), while the server's memory (VmRSS
# summed over its processes) and descriptors are sampled every SAMPLE_MS.
# A server that leaks grows with every message or connection; one that does
# not levels off once its connections are open. So growth is measured from
# the end of the first quarter of the run (the warm-up, when buffers and
# connections are still being set up) to the end, and descriptors after the
# load against before it. blocking serves one client at a time: it gets only
# the churn (its closed loop would hold the one slot for the whole run).
# Memory and descriptors are summed over the server's processes: fork's
# children and prefork's workers hold the connections, not the parent.
# Each server gets the bench's options (bench/models.txt) for
# SOAK_CONNECTIONS + 4 connections: prefork a worker for every client (a
# worker serves one client at a time), pool as many threads, fork and thread
# their caps raised; reactors runs with its default, one reactor per core.
# Not a bench point (bench/point.sh): two load generators at once, and the
# server watched for the whole run, not over one window. A model that cannot
# run here (bench/models.sh: not built, io_uring unavailable) is skipped with
# the reason, and does not fail the soak.
#
#   make soak                       every model, 20 s each (about 3 minutes)
#   SOAK_SECONDS=60 bench/soak.sh poll epoll-et
#
# Environment (all optional): SOAK_SECONDS (20), SOAK_CONNECTIONS (50),
# SAMPLE_MS (500), SOAK_RSS_SLACK_KIB (1024: growth allowed, for allocator
# noise), SERVERS_DIR (bin), LOADGEN (bin/loadgen), SOAK_CSV (also write the
# rows there), BENCH_LOCK (/tmp/bench.lock), LOCK_WAIT (1800 s).
# Takes BENCH_LOCK for the whole run: a soak beside a benchmark would disturb
# both. Prints one row per model; exits 1 if any server grew, leaked a
# descriptor, died, or a load generator reported an error.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SOAK_SECONDS=${SOAK_SECONDS:-20}
SOAK_CONNECTIONS=${SOAK_CONNECTIONS:-50}
SAMPLE_MS=${SAMPLE_MS:-500}
SOAK_RSS_SLACK_KIB=${SOAK_RSS_SLACK_KIB:-1024}
SERVERS_DIR=${SERVERS_DIR:-bin}
LOADGEN=${LOADGEN:-bin/loadgen}
BENCH_LOCK=${BENCH_LOCK:-/tmp/bench.lock}
LOCK_WAIT=${LOCK_WAIT:-1800}
# shellcheck source=bench/models.sh disable=SC1091 # followed with shellcheck -x
source bench/models.sh
# shellcheck source=bench/lib.sh disable=SC1091 # alive, start_ready, tree_*, take_bench_lock
source bench/lib.sh

die() {
	echo "soak.sh: $*" >&2
	exit 1
}

[[ $SOAK_SECONDS =~ ^[1-9][0-9]*$ ]] || die "SOAK_SECONDS=$SOAK_SECONDS: a whole number of seconds"
[[ $SOAK_CONNECTIONS =~ ^[1-9][0-9]*$ ]] || die "SOAK_CONNECTIONS=$SOAK_CONNECTIONS: a count"
[[ -x $LOADGEN ]] || die "$LOADGEN is missing: run make first"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/soak.XXXXXX")
pids=()

# Stops whatever this script started and still runs, by saved pid.
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT


# settle PID: waits (5 s at most) until PID's processes and descriptors stop
# changing: prefork forks its workers, and reactors starts its loops, after
# the readiness line.
settle() {
	local last="" now same=0 deadline_ms=$(($(now_ms) + 5000))
	while ((same < 3)) && (($(now_ms) < deadline_ms)); do
		now="$(tree_pids "$1" | wc -l) $(tree_fd_count "$1")"
		if [[ $now == "$last" ]]; then
			same=$((same + 1))
		else
			same=0 last=$now
		fi
		sleep 0.1
	done
}

# csv_field FILE KEY: the value of column KEY in loadgen's CSV (a header
# line, then one row).
csv_field() {
	awk -F, -v key="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == key) c = i }
		NR == 2 && c { print $c }' "$1"
}

# soak MODEL: one row "model msgs_per_s conns_per_s rss... fds... verdict".
soak() {
	local model=$1
	local port server opts=() loadgens=()
	local start_ms deadline_ms quarter_ms rss kib rss_first rss_quarter="" rss_max=0 rss_end=0
	local fds fds_before fds_max=0 fds_after msgs=0 conns=0 verdict=ok pid
	# The bench's options for as many connections as the soak's clients (the
	# closed loop, the churn's two, and a little room): a worker each for
	# pool and prefork, caps raised for fork and thread (bench/models.txt).
	read -r -a opts <<<"$(model_server_args "$model" $((SOAK_CONNECTIONS + 4)))"
	if ! start_ready 5000 "$WORK/$model.out" "$WORK/$model.err" "$SERVERS_DIR/echo-$model" -p 0 "${opts[@]}"; then
		pids+=("$READY_PID")
		die "echo-$model did not start: $READY_REASON"
	fi
	server=$READY_PID port=$READY_PORT
	pids+=("$server")
	settle "$server"
	fds_before=$(tree_fd_count "$server")
	rss_first=$(tree_rss_kib "$server")

	# A model that serves one client at a time gets only the churn: its
	# closed loop would hold the one slot for the whole run.
	if ! model_one_client "$model"; then
		"$LOADGEN" -p "$port" -c "$SOAK_CONNECTIONS" -d "${SOAK_SECONDS}s" -W 0 -q \
			--format csv >"$WORK/$model.closed" 2>"$WORK/$model.closed.err" 9>&- &
		loadgens+=("$!")
	fi
	"$LOADGEN" -p "$port" -c 2 --churn -d "${SOAK_SECONDS}s" -W 0 -q --format csv \
		>"$WORK/$model.churn" 2>"$WORK/$model.churn.err" 9>&- &
	loadgens+=("$!")
	pids+=("${loadgens[@]}")

	start_ms=$(now_ms)
	quarter_ms=$((start_ms + SOAK_SECONDS * 250))
	deadline_ms=$((start_ms + SOAK_SECONDS * 1000 + 30000))
	while alive "${loadgens[0]}" || alive "${loadgens[-1]}"; do
		(($(now_ms) < deadline_ms)) || die "the load generators on echo-$model overran"
		alive "$server" || break
		rss=$(tree_rss_kib "$server")
		fds=$(tree_fd_count "$server")
		((rss <= rss_max)) || rss_max=$rss
		((fds <= fds_max)) || fds_max=$fds
		[[ -n $rss_quarter || $(now_ms) -lt $quarter_ms ]] || rss_quarter=$rss
		rss_end=$rss
		sleep "$(awk -v ms="$SAMPLE_MS" 'BEGIN { printf "%.3f", ms / 1000 }')"
	done
	for pid in "${loadgens[@]}"; do
		wait "$pid" || verdict="loadgen-error"
	done
	alive "$server" || verdict="died"

	# Once the clients are gone, every descriptor must be back.
	deadline_ms=$(($(now_ms) + 5000))
	while fds_after=$(tree_fd_count "$server") && ((fds_after != fds_before)) &&
		(($(now_ms) < deadline_ms)); do
		sleep 0.05
	done
	((fds_after == fds_before)) || verdict="fd-leak"
	kib=$((rss_end - ${rss_quarter:-$rss_end}))
	((kib <= SOAK_RSS_SLACK_KIB)) || verdict="grows"

	kill -TERM "$server"
	wait "$server" || verdict="bad-exit"

	[[ ! -s $WORK/$model.closed ]] || msgs=$(csv_field "$WORK/$model.closed" msgs_per_s)
	conns=$(csv_field "$WORK/$model.churn" msgs_per_s)
	printf '%-9s %10s %9s %9s %9s %9s %9s %+8d %5s %5s %5s  %s\n' "$model" "${msgs:-0}" \
		"${conns:-0}" "$rss_first" "${rss_quarter:-0}" "$rss_end" "$rss_max" "$kib" \
		"$fds_before" "$fds_max" "$fds_after" "$verdict"
	[[ -z ${SOAK_CSV:-} ]] || echo "$model,$SOAK_SECONDS,$SOAK_CONNECTIONS,${msgs:-0},${conns:-0},$rss_first,${rss_quarter:-0},$rss_end,$rss_max,$kib,$fds_before,$fds_max,$fds_after,$verdict" >>"$SOAK_CSV"
	[[ $verdict == ok ]]
}

# One soak at a time beside any benchmark: take the bench lock.
take_bench_lock soak.sh "$BENCH_LOCK" "$LOCK_WAIT"

models=("$@")
((${#models[@]} > 0)) || models=("${ALL_MODELS[@]}")
echo "# soak: ${SOAK_SECONDS}s per model; closed loop -c $SOAK_CONNECTIONS (not blocking) + churn -c 2;" \
	"rss sampled every ${SAMPLE_MS} ms; growth = end - first quarter, allowed ${SOAK_RSS_SLACK_KIB} KiB"
echo "# $(uname -r), $(getconf _NPROCESSORS_ONLN) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[[ -z ${SOAK_CSV:-} ]] || echo "model,seconds,connections,msgs_per_s,churn_per_s,rss_start_kib,rss_quarter_kib,rss_end_kib,rss_max_kib,growth_kib,fds_before,fds_max,fds_after,verdict" >"$SOAK_CSV"
printf '%-9s %10s %9s %9s %9s %9s %9s %8s %5s %5s %5s  %s\n' model msgs/s churn/s \
	rss0_KiB rss¼_KiB rss_end rss_max growth fd0 fdmax fdend verdict
failed=()
for model in "${models[@]}"; do
	[[ " ${ALL_MODELS[*]} " == *" $model "* ]] || die "no model $model (models: ${ALL_MODELS[*]})"
	if reason=$(model_unavailable "$SERVERS_DIR" "$model"); then
		printf '%-9s skipped: %s\n' "$model" "$reason"
		continue
	fi
	soak "$model" || failed+=("$model")
done
if ((${#failed[@]} > 0)); then
	echo "soak.sh: growth, a leak or an error for: ${failed[*]}" >&2
	exit 1
fi
echo "# no growth"
