#!/usr/bin/env bash
# bench/demo.sh - watch one model interleave a few slow clients.
#
#   bench/demo.sh MODEL        e.g. bench/demo.sh select   (or: make demo MODEL=select)
#
# Starts bin/echo-MODEL -v on a free loopback port, drives it with a handful of
# slow clients - bin/loadgen in open loop: DEMO_CLIENTS connections sending
# DEMO_RATE messages a second in all (2 a second each by default) for
# DEMO_SECONDS - then stops the server and prints its trace, one line per
# event, in the format every model shares (README, "The trace"):
#
#     time_s     tid event    fd       details
#   0.313067    7616 accept   fd=5     peer=127.0.0.1:49698
#
# seconds since the server started, the thread (or process) that acted, the
# event, the fd, key=value details. Last come a few lines on what this model
# shows and the load generator's count.
#
# blocking serves one client at a time, and pool is started with fewer workers
# (DEMO_WORKERS) than there are clients: in both the waiting clients are the
# lesson, so their messages not echoed in time are expected, not an error.
# So are they for prefork with fewer workers than clients, or with
# DEMO_ARGS=--reuseport (the hash may put two clients on one worker).
#
# What the server prints on stderr that is not a trace line (prefork's and
# reactors' connections per worker at the stop) comes after the trace, each
# line prefixed "# server: ". A model that cannot run here (bench/models.sh:
# not built, or io_uring unavailable) is skipped with the reason.
#
# Environment: DEMO_CLIENTS (3), DEMO_RATE (6, messages/s in all),
# DEMO_SECONDS (2), DEMO_SIZE (64 bytes), DEMO_WORKERS (workers of pool,
# prefork and reactors: 2, DEMO_CLIENTS + 1 and 2 by default), DEMO_ARGS (more
# server options, e.g. --reuseport for prefork),
# DEMO_TRACE (also keep the raw trace in this file), BIN (bin).
# Exit status: 0 the demo ran and the server stopped cleanly, or the model
# cannot run here (the reason is printed); 1 otherwise; 2 usage.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN=${BIN:-$ROOT/bin}
DEMO_CLIENTS=${DEMO_CLIENTS:-3}
DEMO_RATE=${DEMO_RATE:-6}
DEMO_SECONDS=${DEMO_SECONDS:-2}
DEMO_SIZE=${DEMO_SIZE:-64}
DEMO_WORKERS=${DEMO_WORKERS:-}
DEMO_ARGS=${DEMO_ARGS:-}
DEMO_TRACE=${DEMO_TRACE:-}
# shellcheck source=bench/models.sh disable=SC1091 # followed with shellcheck -x
source "$ROOT/bench/models.sh"
# shellcheck source=bench/lib.sh disable=SC1091 # now_ms, alive, take_bench_lock
source "$ROOT/bench/lib.sh"

usage() {
	local list=${ALL_MODELS[*]}
	echo "usage: bench/demo.sh MODEL    (MODEL: ${list// /, })" >&2
	exit 2
}

die() {
	echo "demo.sh: $*" >&2
	exit 1
}

[[ $# -eq 1 ]] || usage
model=$1
[[ " ${ALL_MODELS[*]} " == *" $model "* ]] || usage
[[ -x "$BIN/loadgen" ]] || die "$BIN/loadgen missing: run make"
if reason=$(model_unavailable "$BIN" "$model"); then
	echo "# demo: echo-$model cannot run here, skipped: $reason"
	exit 0
fi
read -r -a extra_args <<<"$DEMO_ARGS"

TMP=$(mktemp -d)
SERVER_PID=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	if [[ -n "$SERVER_PID" ]]; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT



# ---- start the server and wait (5 s at most) for its readiness line ---------
server_args=(-p 0 -v)
waiting_is_the_lesson=false
workers=""
# A model that serves one client at a time (bench/models.txt): the others wait.
! model_one_client "$model" || waiting_is_the_lesson=true
case $model in
pool) workers=${DEMO_WORKERS:-2} ;;
# One worker more than clients: every client is served at once, and the
# serve lines show which worker the kernel woke for each.
prefork) workers=${DEMO_WORKERS:-$((DEMO_CLIENTS + 1))} ;;
reactors | leader-follower | epoll-procs) workers=${DEMO_WORKERS:-2} ;;
esac
if [[ -n $workers ]]; then
	server_args+=(-w "$workers")
	# Workers that serve one client each (bench/models.txt: pool, prefork):
	# a client beyond them waits for one to be free.
	[[ -z $(model_workers "$model") ]] || ((workers >= DEMO_CLIENTS)) || waiting_is_the_lesson=true
fi
[[ $model != prefork || " ${extra_args[*]} " != *" --reuseport "* ]] || waiting_is_the_lesson=true
server_args+=("${extra_args[@]}")

"$BIN/echo-$model" "${server_args[@]}" </dev/null >"$TMP/server.out" 2>"$TMP/stderr" &
SERVER_PID=$!
deadline=$(($(now_ms) + 5000))
line=""
until IFS= read -r line <"$TMP/server.out"; do
	alive "$SERVER_PID" || die "echo-$model exited before it was ready: $(cat "$TMP/stderr")"
	(($(now_ms) < deadline)) || die "echo-$model printed no readiness line within 5 s"
	sleep 0.01
done
port=${line##*:}
port=${port%% *}

# ---- the slow clients: loadgen bounds itself (duration + 1 s grace), and
# timeout bounds loadgen.
loadgen_status=0
timeout -k 2 $((DEMO_SECONDS + 10)) "$BIN/loadgen" -p "$port" -c "$DEMO_CLIENTS" \
	-r "$DEMO_RATE" -s "$DEMO_SIZE" -W 0 -d "${DEMO_SECONDS}s" --format json -q \
	>"$TMP/loadgen.json" 2>"$TMP/loadgen.err" || loadgen_status=$?

# ---- stop the server (SIGTERM, 5 s at most) ----------------------------------
kill -TERM "$SERVER_PID" 2>/dev/null || true
deadline=$(($(now_ms) + 5000))
while alive "$SERVER_PID" && (($(now_ms) < deadline)); do
	sleep 0.01
done
server_status=0
if alive "$SERVER_PID"; then
	kill -KILL "$SERVER_PID" 2>/dev/null || true
	server_status=timeout
fi
wait "$SERVER_PID" 2>/dev/null || server_status=$?
SERVER_PID=""

# ---- the trace ----------------------------------------------------------------
# Trace lines ("  0.313067    7616 accept   fd=5 ...") apart from anything else
# the server said on stderr.
grep -E '^ *[0-9]+\.[0-9]+ +[0-9]+ ' "$TMP/stderr" >"$TMP/trace" || true
grep -vE '^ *[0-9]+\.[0-9]+ +[0-9]+ ' "$TMP/stderr" >"$TMP/said" || true
per_client=$(awk -v r="$DEMO_RATE" -v c="$DEMO_CLIENTS" 'BEGIN { printf "%g", r / c }')
echo "# demo: echo-$model -v, $DEMO_CLIENTS clients, $per_client messages/s each ($DEMO_SIZE B), ${DEMO_SECONDS} s"
[[ -z $workers ]] || echo "# $model started with -w $workers"
((${#extra_args[@]} == 0)) || echo "# server options: ${extra_args[*]}"
echo
printf '%10s %7s %-8s %-8s %s\n' time_s tid event fd details
cat "$TMP/trace"
[[ -z "$DEMO_TRACE" ]] || cp "$TMP/trace" "$DEMO_TRACE"
sed 's/^/# server: /' "$TMP/said"
echo

case $model in
blocking)
	echo "# Look: one fd is served from accept to close; the next accept comes only after"
	echo "# that close, and the others' waiting messages arrive in one late read."
	;;
fork)
	echo "# Look: each accept is followed by a fork line; the reads and writes carry the"
	echo "# child's pid in the tid column, not the parent's."
	;;
thread)
	echo "# Look: each accept starts a thread; each client's reads and writes carry its"
	echo "# own thread id."
	;;
pool)
	echo "# Look: queue (acceptor) then serve (a worker's tid); with $workers workers the"
	echo "# next client is served only when a worker's client closes."
	;;
select)
	echo "# Look: every wait (one pselect call) is followed by a scan of every fd up to"
	echo "# the highest (examined=), however few are ready."
	;;
poll)
	echo "# Look: every wait (one ppoll call) is followed by a scan of the whole pollfd"
	echo "# array (examined=), however few are ready."
	;;
epoll-lt)
	echo "# Look: each wait returns only the ready fds (ready=), one read per event;"
	echo "# nothing is scanned. One thread id throughout."
	;;
epoll-et)
	echo "# Look: after an edge (readable) the server reads until a read finds nothing:"
	echo "# 'again' (EAGAIN). 'budget' would show a client that used its 8 reads."
	;;
prefork)
	echo "# Look: the workers were forked once, at start (fork lines), not per client. Each"
	echo "# accept is in the tid column of the worker the kernel woke, and its serve line"
	echo "# names that worker; the stop line counts the connections each one served."
	echo "# Try DEMO_ARGS=--reuseport a few times: two clients can hash to one worker, and"
	echo "# the second waits for the first to leave while another worker sits idle."
	;;
reactors)
	echo "# Look: each wait names its reactor (reactor=N) and runs on that reactor's thread;"
	echo "# a client's reads stay on the thread that accepted it. The kernel's hash chose"
	echo "# the reactor (one SO_REUSEPORT listener each): the stop line counts them."
	;;
uring)
	echo "# Look: no readable or writable lines: each wait is one io_uring_enter that hands"
	echo "# the kernel the queued recvs and sends and returns completions (completions=N)."
	echo "# A read line is a recv that completed, its bytes already in the connection's"
	echo "# buffer (no read(2)); a write line is a send that completed."
	;;
uring-multishot)
	echo "# Look: as uring, but a connection's one recv stays armed: its read lines come"
	echo "# without a recv asked for each, their bytes in buffers the kernel took from the"
	echo "# shared pool. make syscalls counts the requests per message of both."
	;;
libevent)
	echo "# Look: libevent calls back after it has read (read ... pending=64); the write comes"
	echo "# only after the next wait (event_base_loop): the echo leaves one turn later"
	echo "# than in epoll-lt, which writes at once."
	;;
coroutine)
	echo "# Look: one thread id throughout, as epoll-lt, but each client's lines read like"
	echo "# thread's: read, write, then 'again op=read' where its coroutine parks, and"
	echo "# 'readable op=resume' after a wait when the scheduler resumes it."
	;;
epoll-procs)
	echo "# Look: the master forks its workers once (fork lines); each accept is in the tid"
	echo "# column of the worker the kernel woke (EPOLLEXCLUSIVE: one per connection), whose"
	echo "# wait lines name it (worker=N); the stop line counts what each accepted."
	;;
leader-follower)
	echo "# Look: the wait lines come from every thread in turn (the tid column): whoever"
	echo "# led through a wait then reads and writes the client it saw itself, so one"
	echo "# client's lines carry different thread ids over time."
	;;
esac

json=$(cat "$TMP/loadgen.json")
messages="?"
timeouts="?"
[[ $json =~ \"messages\":([0-9]+) ]] && messages=${BASH_REMATCH[1]}
[[ $json =~ \"timeout\":([0-9]+) ]] && timeouts=${BASH_REMATCH[1]}
echo "# loadgen: $messages messages echoed in time, $timeouts not echoed (timeout), exit $loadgen_status"

[[ $server_status == 0 ]] || die "echo-$model did not stop cleanly (status $server_status)"
if ((loadgen_status != 0)) && ! $waiting_is_the_lesson; then
	cat "$TMP/loadgen.err" >&2
	die "the load generator failed (exit $loadgen_status)"
fi
exit 0
