# Helpers for tests/loadgen.bats: starting and stopping the misbehaving peer
# (tests/tools/peer.c), running bin/loadgen with a deadline, and reading its
# JSON with jq. Loaded after test_helper.bash, whose paths, process helpers
# (track_pid, process_running, wait_for_exit) and clock (now_ms) it uses.
# Every wait has a deadline; every process is stopped by its saved pid.

PEER="$TOOLS/peer"
# make asan / make tsan point LOADGEN at their build of bin/loadgen.
LOADGEN=${LOADGEN:-$BIN/loadgen}

# The slowest a loadgen run may take before it is killed: far beyond any
# run below (3.5 s at most, on a loaded machine seconds more), so hitting it
# means a hang: status 124 (137 if SIGTERM was not enough), and stderr
# (LG_ERR) says so.
LOADGEN_DEADLINE_S=60

# start_tool NAME OUT ERR COMMAND...: starts a test tool that prints a
# readiness line (bench/lib.sh start_ready), tracks its pid and waits WAIT_S
# at most; on failure says why, with the tool's stderr. Sets READY_PID and
# READY_PORT.
start_tool() {
	local name=$1 err=$3
	start_ready "$WAIT_MS" "$2" "$err" "${@:4}" && { track_pid "$READY_PID"; return 0; }
	track_pid "$READY_PID"
	echo "$name: $READY_REASON; stderr:" >&2
	cat "$err" >&2
	return 1
}

# start_peer MODE [peer options...]
# Starts the peer on -p 0 and waits (WAIT_S at most) for its readiness line.
# Sets PEER_PID, PEER_PORT, PEER_ERR (its stderr file).
start_peer() {
	local mode=$1
	shift
	PEER_ERR="$BATS_TEST_TMPDIR/peer.$mode.err"
	: >"$PEER_ERR"
	start_tool "peer $mode" "$BATS_TEST_TMPDIR/peer.$mode.out" "$PEER_ERR" "$PEER" -p 0 --mode "$mode" "$@" || return 1
	# shellcheck disable=SC2034 # read by tests/loadgen.bats
	PEER_PID=$READY_PID PEER_PORT=$READY_PORT
}

# stop_peer: SIGTERM to the saved pid, WAIT_S at most. Sets PEER_ACCEPTED
# and PEER_PEAK from its "peer: accepted N peak M" line.
stop_peer() {
	local line
	[[ -n "${PEER_PID:-}" ]] || return 0
	kill -TERM "$PEER_PID" 2>/dev/null || true
	wait_for_exit "$PEER_PID" "$WAIT_S" "$(describe_pid "$PEER_PID"), sent SIGTERM"
	PEER_PID=
	line=$(grep '^peer: accepted' "$PEER_ERR" || true)
	# shellcheck disable=SC2034 # for the tests
	read -r _ _ PEER_ACCEPTED _ PEER_PEAK <<<"$line"
}

# run_loadgen [loadgen options...]
# Runs $LOADGEN in the foreground under a deadline (with_deadline). Sets
# LG_STATUS, LG_OUT (stdout), LG_ERR (stderr, with_deadline's word
# included) and LG_SECONDS (wall-clock time, decimal).
run_loadgen() {
	local start=$EPOCHREALTIME
	LG_STATUS=0
	with_deadline "$LOADGEN_DEADLINE_S" "$LOADGEN" "$@" \
		>"$BATS_TEST_TMPDIR/lg.out" 2>"$BATS_TEST_TMPDIR/lg.err" 3>&- || LG_STATUS=$?
	LG_OUT=$(<"$BATS_TEST_TMPDIR/lg.out")
	LG_ERR=$(<"$BATS_TEST_TMPDIR/lg.err")
	LG_SECONDS=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
}

# spawn_loadgen [loadgen options...]
# Starts $LOADGEN in the background, its output to files. Sets LG_PID.
spawn_loadgen() {
	"$LOADGEN" "$@" >"$BATS_TEST_TMPDIR/lg.out" 2>"$BATS_TEST_TMPDIR/lg.err" 3>&- &
	LG_PID=$!
	track_pid "$LG_PID"
}

# wait_loadgen SECONDS: waits for the loadgen of spawn_loadgen (killed past
# the deadline, saying so) and sets LG_STATUS, LG_OUT and LG_ERR as
# run_loadgen does.
wait_loadgen() {
	wait_for_exit "$LG_PID" "$1"
	LG_STATUS=$WAITED_STATUS
	LG_OUT=$(<"$BATS_TEST_TMPDIR/lg.out")
	LG_ERR=$(<"$BATS_TEST_TMPDIR/lg.err")
	LG_SECONDS="(in the background)"
}

# show_run: what a failing test prints about the last run.
show_run() {
	echo "loadgen status $LG_STATUS after $LG_SECONDS s"
	echo "stdout: $LG_OUT"
	echo "stderr: $LG_ERR"
}

# json EXPR: jq -r EXPR over the last run's stdout.
json() {
	jq -r "$1" <<<"$LG_OUT"
}

# json_true EXPR: succeeds when the jq expression is true for the last
# run's JSON; otherwise prints the expression and the run, and fails.
json_true() {
	if ! jq -e "$1" <<<"$LG_OUT" >/dev/null; then
		echo "not true: $1" >&2
		show_run >&2
		return 1
	fi
}

# expect_status N: fails, showing the run, unless loadgen exited with N.
expect_status() {
	if [[ "$LG_STATUS" != "$1" ]]; then
		echo "expected exit status $1" >&2
		show_run >&2
		return 1
	fi
}

# within A B X: succeeds when A <= X <= B (decimals allowed).
within() {
	awk -v lo="$1" -v hi="$2" -v x="$3" 'BEGIN { exit !(x >= lo && x <= hi) }' || {
		echo "$3 is not within [$1, $2]" >&2
		return 1
	}
}

# read_bytes PID: what PID (all its threads) has read with read(2) so far,
# sockets included (rchar in /proc/PID/io; a server or peer reads its
# clients' messages with read(2)).
read_bytes() {
	awk '$1 == "rchar:" { print $2 }' "/proc/$1/io"
}

# has_read_more_than PID BYTES: for wait_until.
has_read_more_than() {
	(($(read_bytes "$1") > $2))
}

# wait_measured_messages PID BEFORE WARMUP_MS CONNECTIONS: after
# spawn_loadgen (closed loop, -P 1, 64-byte messages, -W WARMUP_MS) against
# the server or peer PID, which had read BEFORE bytes (read_bytes) when the
# loadgen started: waits until the measured time has begun and has a
# complete message in it (a fixed sleep cannot know when that is on a
# loaded machine). The workers send nothing before the clock starts, so
# once PID has read a byte the warm-up has begun, and WARMUP_MS later it is
# over. Of the bytes PID reads from then on, at most one message per
# connection (the one in flight) was sent before; more than one message
# per connection beyond those means some connection sent two messages
# after, and a closed loop sends the second only once the first is echoed:
# a whole message within the measured time.
wait_measured_messages() {
	local pid=$1 before=$2 warmup_ms=$3 conns=$4
	wait_until "$WAIT_MS" has_read_more_than "$pid" "$before" || return 1
	# The warm-up's own length, on a clock already running: not a guess.
	sleep "$(awk -v ms="$warmup_ms" 'BEGIN { print ms / 1000 }')"
	wait_until "$WAIT_MS" has_read_more_than "$pid" $(($(read_bytes "$pid") + 2 * conns * 64))
}

# ---- --server-pid ------------------------------------------------------------

CPU_ECHO="$TOOLS/cpu-echo"
# The server's figures in JSON and CSV, in their order.
# shellcheck disable=SC2034 # for the tests
SERVER_KEYS=(server_cpu_s server_us_per_msg server_rss_kib server_pss_kib server_procs
	server_threads server_ctx_switches_per_msg)

# start_cpu_echo [cpu-echo options...]
# Starts tests/tools/cpu-echo on -p 0 and waits (WAIT_S at most) for its
# readiness line. Sets CPU_ECHO_PID and CPU_ECHO_PORT; teardown stops it
# (stop_tracked_processes).
start_cpu_echo() {
	local err="$BATS_TEST_TMPDIR/cpu-echo.err"
	: >"$err"
	start_tool cpu-echo "$BATS_TEST_TMPDIR/cpu-echo.out" "$err" "$CPU_ECHO" -p 0 "$@" || return 1
	# shellcheck disable=SC2034 # read by tests/loadgen.bats
	CPU_ECHO_PID=$READY_PID CPU_ECHO_PORT=$READY_PORT
}

# own_cpu_ticks PID: user + system clock ticks of PID itself, its reaped
# children left out (fields 14 and 15 of /proc/PID/stat).
own_cpu_ticks() {
	local stat fields
	stat=$(<"/proc/$1/stat")
	read -r -a fields <<<"${stat##*) }"
	echo $((fields[11] + fields[12]))
}

# burn_bounds BURN_US CONNECTIONS MESSAGES OVERHEAD_US: prints "LOW HIGH",
# the range of server_us_per_msg for a server that burns BURN_US of CPU
# time per message and spends at most OVERHEAD_US more on each. Besides the
# overhead, three things move the figure, each bounded and divided by the
# messages counted:
# - the window's edges: a message being burnt at an edge is counted on one
#   side only; at most one per connection at each edge: 2 x C x BURN_US;
# - the clock tick: cutime and cstime (reaped children) are read in ticks,
#   each rounded down at each edge: under 2 ticks over the window;
# - the start edge is read after the edge, once main has woken and listed
#   /proc: the server's CPU time meanwhile (C cores at most, for 20 ms at
#   most) is left out while its messages count. The end edge needs no such
#   term: after it the client sends nothing new, so at most the C messages
#   in flight are burnt, the first term.
burn_bounds() {
	local tick_us
	tick_us=$((1000000 / $(getconf CLK_TCK)))
	awk -v b="$1" -v c="$2" -v n="$3" -v o="$4" -v t="$tick_us" 'BEGIN {
		e = (2 * c * b + 2 * t + c * 20000) / n
		printf "%.1f %.1f\n", b - e, b + o + e
	}'
}
