# Shared by every bats suite: paths, assertions, and starting and stopping a
# server under test. A server is started with -p 0; its port is read from its
# readiness line, never guessed, and it is stopped by its saved pid.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/bin"
TOOLS="$ROOT/build/tests"
MODELS=(blocking fork thread pool select poll epoll-lt epoll-et)

bats_load_library bats-support
bats_load_library bats-assert

# start_server MODEL [server options...]
# Starts bin/echo-MODEL -p 0 in the background and waits (5 s at most) for its
# readiness line. Sets SERVER_PID, SERVER_PORT, SERVER_LINE, SERVER_ERR (its
# stderr file). Fails the test if the line does not come.
start_server() {
	local model=$1 fifo line
	shift
	fifo="$BATS_TEST_TMPDIR/ready.$$.$RANDOM"
	SERVER_ERR="$BATS_TEST_TMPDIR/server.$model.err"
	mkfifo "$fifo"
	# 3>&- so bats does not wait for the server to close its output.
	"$BIN/echo-$model" -p 0 "$@" >"$fifo" 2>"$SERVER_ERR" 3>&- &
	SERVER_PID=$!
	# Read-write open does not block, so the read below keeps its deadline
	# even if the server dies before it opens the fifo.
	exec 4<>"$fifo"
	rm -f "$fifo"
	if ! IFS= read -r -t 5 -u 4 line; then
		exec 4<&-
		echo "echo-$model gave no readiness line in 5 s; stderr:" >&2
		cat "$SERVER_ERR" >&2
		return 1
	fi
	SERVER_LINE=$line
	SERVER_PORT=${line##*:}
	SERVER_PORT=${SERVER_PORT%% *}
}

# stop_server: SIGTERM to the saved pid; waits 5 s at most. Sets SERVER_STATUS.
stop_server() {
	[[ -n "${SERVER_PID:-}" ]] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	wait_for_exit "$SERVER_PID" 5
	SERVER_STATUS=$WAITED_STATUS
	exec 4<&- 2>/dev/null || true
	SERVER_PID=
}

# wait_for_exit PID SECONDS: waits for a child of this shell with a deadline;
# kills it with SIGKILL past the deadline. Sets WAITED_STATUS (the exit code,
# or "timeout").
wait_for_exit() {
	local pid=$1 deadline=$((SECONDS + $2))
	while process_running "$pid"; do
		if ((SECONDS >= deadline)); then
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			WAITED_STATUS=timeout
			return 0
		fi
		sleep 0.02
	done
	WAITED_STATUS=0
	wait "$pid" 2>/dev/null || WAITED_STATUS=$?
}

# process_running PID: true while PID exists and is not a zombie (kill -0
# succeeds on a zombie, so it cannot tell).
process_running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}
