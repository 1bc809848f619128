#!/usr/bin/env bash
# Every echo server under valgrind memcheck for a short session: it must
# report no error and no leak, and exit 0 after SIGTERM.
#
# The session, with build/tests/echo-probe: 4 clients streaming 256 KiB, the
# 256 byte values one write each, protocol garbage, a client that resets
# mid-stream, clients that close without reading (EPIPE), 50 connect/close
# cycles, a client held idle across the others; then SIGTERM. Fork children
# and prefork's workers are followed (memcheck follows fork by itself; no
# server execs, so --trace-children is not needed); each process writes its
# own log, and every log is checked.
#
# Usage: tests/valgrind.sh [MODEL...]   (default: every model, bench/models.sh)
#   SERVERS_DIR  where the echo-MODEL binaries are (default bin)
#   VALGRIND_LOGS  where the logs go (default build/valgrind)
# A model that cannot run here (uring or libevent built without their
# library, io_uring unavailable: model_unavailable in bench/models.sh) is
# skipped, and the reason printed.
# Exit: 0 all clean (some perhaps skipped, as printed); 1 a report, a failed
# session or a bad exit; 77 valgrind is not installed (the reason is printed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SERVERS_DIR=${SERVERS_DIR:-bin}
PROBE=build/tests/echo-probe
LOGS=${VALGRIND_LOGS:-build/valgrind}
# ALL_MODELS and model_unavailable: the one list of models.
# shellcheck disable=SC1091 # bench/models.sh: shellcheck checks it on its own
. bench/models.sh
# The models that may be left out of a build or unable to run here.
MAYBE_UNAVAILABLE_MODELS=(uring uring-multishot libevent)
# Under valgrind everything is 20-50 times slower: generous deadlines.
READY_S=30
STOP_S=60

if ! command -v valgrind >/dev/null; then
	echo "valgrind.sh: skipped: valgrind is not installed (apt-get install valgrind, or make deps)" >&2
	exit 77
fi
[[ -x $PROBE ]] || {
	echo "valgrind.sh: $PROBE is missing: run make first" >&2
	exit 1
}

server_pid=
probe_pids=()

# Stops whatever this script started and still runs, by saved pid.
cleanup() {
	local pid
	for pid in "${probe_pids[@]}" $server_pid; do
		kill -TERM "$pid" 2>/dev/null || true
	done
}
trap cleanup EXIT

now_ms() {
	local us=${EPOCHREALTIME//[!0-9]/}
	echo $((us / 1000))
}

# wait_gone PID SECONDS: waits for PID to exit; sets STATUS (or "timeout").
wait_gone() {
	local deadline_ms=$(($(now_ms) + $2 * 1000))
	while kill -0 "$1" 2>/dev/null && [[ $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) != Z ]]; do
		if (($(now_ms) >= deadline_ms)); then
			kill -KILL "$1" 2>/dev/null || true
			wait "$1" 2>/dev/null || true
			STATUS=timeout
			return
		fi
		sleep 0.05
	done
	STATUS=0
	wait "$1" 2>/dev/null || STATUS=$?
}

# probe PORT DIR ARGS...: one probe client; its output goes to DIR/probe.log,
# and is shown if it fails.
probe() {
	local port=$1 dir=$2
	shift 2
	if ! "$PROBE" -p "$port" "$@" >>"$dir/probe.log" 2>&1; then
		echo "echo-probe $* failed:" >&2
		tail -n 5 "$dir/probe.log" >&2
		return 1
	fi
}

# session MODEL PORT DIR: the clients; fails if any was not served right.
# (blocking serves one client at a time: no client is held idle there.)
session() {
	local model=$1 port=$2 dir=$3 idle=
	printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >"$dir/http.req"
	if [[ $model != blocking ]]; then
		"$PROBE" -p "$port" ping --hold -t 120000 >"$dir/idle.log" 2>&1 3>&- &
		idle=$!
		probe_pids+=("$idle")
	fi
	probe "$port" "$dir" stream -c 4 -n 256KiB -t 120000 || return 1
	probe "$port" "$dir" stream --pattern bytes -n 256 --max-chunk 1 -t 60000 || return 1
	probe "$port" "$dir" ping --data "$dir/http.req" -t 60000 || return 1
	probe "$port" "$dir" reset -n 1MiB || return 1
	probe "$port" "$dir" quit --repeat 10 -n 64KiB --stall-ms 200 || return 1
	probe "$port" "$dir" churn --repeat 50 -t 60000 || return 1
	# Served after every connection before it was accepted: none is left
	# in the backlog when the server stops.
	probe "$port" "$dir" ping -t 60000 || return 1
	[[ -z $idle ]] && return 0
	kill -USR1 "$idle"
	wait "$idle" || {
		echo "the idle client was not served again:" >&2
		cat "$dir/idle.log" >&2
		return 1
	}
}

# valgrind_cannot_follow LOG: true when LOG ends in valgrind's own abort on a
# signal that reached a thread waiting in io_uring_enter (syscall 426), with
# no error reported before it. Valgrind 3.19 (Debian 12) does that to
# echo-uring at every SIGTERM, idle or not ("m_signals.c: ... Assertion
# 'tst->status == VgTs_WaitSys' failed"): a limitation of valgrind, after
# which it checks nothing (no leak summary), not an error of the server.
valgrind_cannot_follow() {
	grep -q "Assertion 'tst->status == VgTs_WaitSys' failed" "$1" &&
		grep -q 'status = VgTs_Runnable syscall 426 ' "$1" &&
		[[ $(awk '/^valgrind: / { exit }
			/^==[0-9]+== [A-Z]/ && !/Memcheck, a memory|Copyright|Using Valgrind|Command:|Parent PID:/ { n++ }
			END { print n + 0 }' "$1") == 0 ]]
}

# check_model MODEL: one server, one session, every log clean. Returns 0
# when clean, 1 on an error, 77 when valgrind could not follow the server to
# its end (valgrind_cannot_follow) although its session was served.
check_model() {
	local model=$1
	local dir="$LOGS/$model" line port deadline_ms log pid exit_status bad=0
	local opts=()
	# The idle client and the 4 streams at once: workers for all of them.
	[[ $model == pool || $model == prefork ]] && opts=(-w 8)
	rm -rf "$dir"
	mkdir -p "$dir"
	: >"$dir/stdout" # there before the server opens it, for the read below
	# --errors-for-leak-kinds: a definite, indirect or possible leak counts
	# as an error; still-reachable memory (the kernel takes it at exit) not.
	valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
		--child-silent-after-fork=no --log-file="$dir/memcheck.%p.log" \
		"$SERVERS_DIR/echo-$model" -p 0 "${opts[@]}" >"$dir/stdout" 2>"$dir/stderr" 3>&- &
	server_pid=$!
	deadline_ms=$(($(now_ms) + READY_S * 1000))
	until IFS= read -r line <"$dir/stdout"; do
		if ! kill -0 "$server_pid" 2>/dev/null || (($(now_ms) >= deadline_ms)); then
			echo "$model: no readiness line within $READY_S s" >&2
			return 1
		fi
		sleep 0.05
	done
	port=${line##*:}
	port=${port%% *}
	if ! session "$model" "$port" "$dir"; then
		echo "$model: a client was not served right under valgrind" >&2
		bad=1
	fi
	kill -TERM "$server_pid"
	wait_gone "$server_pid" "$STOP_S"
	server_pid=
	exit_status=$STATUS
	if ((bad == 0)) && [[ $exit_status == 1 ]]; then
		for log in "$dir"/memcheck.*.log; do
			if valgrind_cannot_follow "$log"; then
				echo "$model: NOT CHECKED: $(valgrind --version) aborted at SIGTERM, in io_uring_enter" \
					"($log): a valgrind limitation; the session was served and no error was reported before it"
				return 77
			fi
		done
	fi
	if [[ $exit_status != 0 ]]; then
		echo "$model: exit $exit_status after SIGTERM (99: memcheck found errors or leaks)" >&2
		bad=1
	fi
	# Fork children exit on their own (the kernel sends them SIGTERM when the
	# parent goes): their logs are complete once they are gone.
	for log in "$dir"/memcheck.*.log; do
		pid=${log##*/memcheck.}
		wait_gone "${pid%.log}" "$STOP_S"
	done
	for log in "$dir"/memcheck.*.log; do
		if ! grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
			echo "$model: $log:" >&2
			cat "$log" >&2
			bad=1
		fi
	done
	echo "$model: $(find "$dir" -name 'memcheck.*.log' | wc -l) process(es) checked," \
		"$(grep -l 'ERROR SUMMARY: 0 errors' "$dir"/memcheck.*.log | wc -l) with 0 errors" \
		"(leaks count as errors), exit $exit_status after SIGTERM"
	return "$bad"
}

models=("$@")
((${#models[@]} > 0)) || models=("${ALL_MODELS[@]}")
failed=()
checked=()
skipped=()
unchecked=()
for model in "${models[@]}"; do
	if [[ " ${MAYBE_UNAVAILABLE_MODELS[*]} " == *" $model "* ]] &&
		reason=$(model_unavailable "$SERVERS_DIR" "$model"); then
		echo "$model: skipped: $reason"
		skipped+=("$model")
		continue
	fi
	status=0
	check_model "$model" || status=$?
	case $status in
	0) checked+=("$model") ;;
	77) unchecked+=("$model") ;;
	*) failed+=("$model") ;;
	esac
done
if ((${#failed[@]} > 0)); then
	echo "valgrind.sh: FAILED for: ${failed[*]} (logs in $LOGS)" >&2
	exit 1
fi
echo "valgrind.sh: memcheck clean for: ${checked[*]}${skipped[*]:+; skipped (see above): ${skipped[*]}}${unchecked[*]:+; not checked by valgrind (see above): ${unchecked[*]}}"
