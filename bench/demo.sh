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
# DEMO_TRACE (also keep the raw trace in this file), DEMO_OUT (where the
# timeline picture goes: results/demo), BIN (bin).
#
# The same trace is also drawn as a timeline (bench/timeline.sh):
# DEMO_OUT/MODEL.png and .svg, beside the trace itself (DEMO_OUT/MODEL.trace),
# the look lines under the picture's title.
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
DEMO_OUT=${DEMO_OUT:-$ROOT/results/demo}
# shellcheck source=bench/models.sh disable=SC1091 # followed with shellcheck -x
source "$ROOT/bench/models.sh"
# shellcheck source=bench/lib.sh disable=SC1091 # now_ms, alive, take_bench_lock
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/looks.sh disable=SC1091 # look_text
source "$ROOT/bench/looks.sh"

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

look_text "$model" "$workers" | sed 's/^/# /'

# ---- the picture: the same trace as a timeline (bench/timeline.sh) ------------
mkdir -p "$DEMO_OUT"
cp "$TMP/trace" "$DEMO_OUT/$model.trace"
if ! command -v gnuplot >/dev/null 2>&1; then
	echo "# timeline: not drawn, gnuplot is not installed (tests/ensure-packages gnuplot-nox)"
elif "$ROOT/bench/timeline.sh" -o "$DEMO_OUT/$model" -l "$(look_text "$model" "$workers")" \
	"$DEMO_OUT/$model.trace" >/dev/null; then
	echo "# timeline: $DEMO_OUT/$model.png and .svg (the trace: $DEMO_OUT/$model.trace)"
else
	die "the timeline of the trace could not be drawn"
fi

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
