#!/usr/bin/env bats
# bin/loadgen against misbehaving peers (tests/tools/peer.c) and against the
# suite's own servers. JSON is read with jq (in the Makefile's TEST_PACKAGES).
#
# Timing tolerances are wide on purpose: CI runners are small shared
# machines, and these tests check that the client measures the right thing,
# not how fast the machine is. Each tolerance says why it is what it is.

load test_helper
load loadgen_helper

setup_file() {
	command -v jq >/dev/null || {
		echo "jq is not installed: it belongs in TEST_PACKAGES (Makefile)" >&2
		return 1
	}
}

teardown() {
	stop_peer
	stop_server
	stop_tracked_processes
}

# ---- options -----------------------------------------------------------------

@test "--help lists every option and its default" {
	run "$LOADGEN" --help
	assert_success
	for opt in --host --port --connections --duration --warmup --size --pipeline --rate \
		--threads --churn --idle --format --seed --connect-timeout --server-pid --quiet --help \
		--unix --udp --loss-timeout --hdr --search --search-resolution --search-steps \
		--search-time --interval --interval-file --max-in-flight --start-at --version; do
		assert_output --partial -- "$opt"
	done
	assert_output --partial "default 16"
	assert_output --partial "default 5s"
	assert_output --partial "default 1s"
	assert_output --partial "default 2s"
}

@test "-V prints the version" {
	run "$LOADGEN" -V
	assert_success
	assert_output --regexp '^loadgen [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "every bad option exits 2 with a message naming the option, before connecting" {
	local -a cases=(
		"-c/--connections|-c 0" "-c/--connections|-c -3" "-c/--connections|-c many"
		"-c/--connections|-c 1.5" "-d/--duration|-d 0" "-d/--duration|-d -1s"
		"-d/--duration|-d 10parsecs" "-W/--warmup|-W -1" "-s/--size|-s 0" "-s/--size|-s 4k"
		"-s/--size|-s 1.5B" "-s/--size|-s 4XB" "-P/--pipeline|-P 0" "-t/--threads|-t 0"
		"-r/--rate|-r -5" "-r/--rate|-r 10q" "--idle|--idle -1" "--format|--format xml"
		"--seed|--seed -1" "--connect-timeout|--connect-timeout 0"
		"-p/--port|-p 0" "-p/--port|-p 70000"
		"--bogus|--bogus" "-Z|-Z" "-c|-c" "stray|stray"
		"-P/--pipeline|-P 2 --churn" "-P/--pipeline|-P 2 -r 100"
		"--server-pid|--server-pid 0" "--server-pid|--server-pid -7"
		"--server-pid|--server-pid abc" "--server-pid|--server-pid 12x"
		"--search|--search p98<=1ms" "--search|--search p99<1ms" "--search|--search p99<=1"
		"--search|--search p99<=" "--search|--search <=1ms" "--search|--search p99<=1xs"
		"--search|--search p99<=-1ms" "--search|--search p99<=1ms --churn"
		"--search|--search p99<=1ms -P 4" "--search-steps|--search-steps 0"
		"--search-steps|--search-steps 3" "--search-resolution|--search-resolution 0"
		"--search-resolution|--search p99<=1ms --search-resolution 101%"
		"--search-time|--search p99<=1ms -d 1s --search-time 500ms"
		"--interval|--interval 1ms" "--interval|--interval 0"
		"--interval-file|--interval-file /dev/null"
		"--max-in-flight|--max-in-flight 1" "--max-in-flight|--max-in-flight 0 -r 10"
		"--max-in-flight|--max-in-flight 1 -r 10 --churn"
		"--start-at|--start-at soon" "--start-at|--start-at 5" "--start-at|--start-at 1e9"
		"--source|--source 127.0.0.9-127.0.0.2" "--source|--source 127.0.0.2-nowhere"
		"--source|--source a.b.c.d" "--source|--source ::1" "--source|--source 127.0.0.2 -u /tmp/x.sock"
	)
	for case in "${cases[@]}"; do
		local name=${case%%|*} args=${case#*|}
		# shellcheck disable=SC2086 # the arguments are meant to split
		run_loadgen $args
		[[ "$LG_STATUS" == 2 ]] || {
			echo "'$args': expected status 2" >&2
			show_run >&2
			return 1
		}
		[[ -z "$LG_OUT" ]] || {
			echo "'$args': stdout should be empty" >&2
			return 1
		}
		[[ "$LG_ERR" == *"$name"* ]] || {
			echo "'$args': the message does not name $name" >&2
			show_run >&2
			return 1
		}
	done
	# An empty host fails without asking DNS, which CI may not have.
	run_loadgen -H ''
	expect_status 2
	[[ "$LG_ERR" == *"-H/--host"* ]]
}

@test "sizes, times and rates take units" {
	start_peer echo
	run_loadgen -p "$PEER_PORT" -c 2 -s 4KiB -d 500ms -W 0 -r 1k --format json
	expect_status 0
	json_true '.size == 4096 and .rate == 1000 and .warmup_s == 0'
	within 0.49 0.6 "$(json .duration_s)"
}

@test "more connections than descriptors are refused plainly, before connecting" {
	start_peer echo
	run bash -c 'ulimit -Sn 64 && ulimit -Hn 64 && exec "$0" -p "$1" -c 100 -d 1s' \
		"$LOADGEN" "$PEER_PORT"
	assert_failure 1
	assert_output --partial "100 connections need"
	assert_output --partial "descriptors"
	stop_peer
	[[ "$PEER_ACCEPTED" == 0 ]]
}

@test "more connections than local ports are refused plainly" {
	local low high ports
	read -r low high </proc/sys/net/ipv4/ip_local_port_range
	ports=$((high - low + 1))
	# The descriptor check comes first: it needs a hard limit above the range.
	(ulimit -Hn $((ports + 100))) 2>/dev/null || skip "cannot raise the descriptor limit"
	run bash -c 'ulimit -Hn $(($1 + 100)) && exec "$0" -p 9 -c 1 --idle "$1" -d 1s' \
		"$LOADGEN" "$ports"
	assert_failure 1
	assert_output --partial "ip_local_port_range"
}

# ---- output formats --------------------------------------------------------------

@test "the human summary is the default and shows every figure" {
	start_peer echo
	run_loadgen -p "$PEER_PORT" -c 2 -d 300ms -W 100ms
	expect_status 0
	for word in "closed loop" messages msgs/s latency p50 p99 p99.9 errors "client cpu" complete; do
		[[ "$LG_OUT" == *"$word"* ]] || {
			echo "no '$word'" >&2
			show_run >&2
			return 1
		}
	done
}

@test "JSON is one valid object with every key of the contract" {
	start_peer echo
	run_loadgen -p "$PEER_PORT" -c 2 -d 300ms -W 100ms --format json
	expect_status 0
	[[ $(wc -l <<<"$LG_OUT") == 1 ]]
	json_true '(["mode", "connections", "idle", "threads", "size", "pipeline", "rate",
		"duration_s", "messages", "bytes", "msgs_per_s", "mib_per_s", "latency_us",
		"errors", "client_cpu", "complete"] - keys) == []'
	json_true '(["min", "p50", "p90", "p99", "p999", "max", "mean"] - (.latency_us | keys)) == []'
	json_true '(["connect", "mismatch", "reset", "timeout"] - (.errors | keys)) == []'
	json_true '.mode == "closed" and .connections == 2 and .complete == true'
	json_true '.messages > 0 and .bytes == .messages * 64 and .client_cpu > 0'
	json_true '.latency_us.min <= .latency_us.p50 and .latency_us.p50 <= .latency_us.p99
		and .latency_us.p99 <= .latency_us.max'
}

@test "CSV is a header and one row of the same width, with the fields of the JSON" {
	local header row json_fields
	start_peer echo
	run_loadgen -p "$PEER_PORT" -c 2 -d 300ms -W 100ms --format json
	expect_status 0
	# Every field but the two histograms, which only the JSON carries whole.
	json_fields=$(json 'del(.latency_histogram, .connect_histogram) | [paths(type != "object") | join("_")] | join(",")')
	run_loadgen -p "$PEER_PORT" -c 2 -d 300ms -W 100ms --format csv
	expect_status 0
	[[ $(wc -l <<<"$LG_OUT") == 2 ]]
	header=$(sed -n 1p <<<"$LG_OUT")
	row=$(sed -n 2p <<<"$LG_OUT")
	[[ $(awk -F, '{ print NF }' <<<"$header") == $(awk -F, '{ print NF }' <<<"$row") ]]
	assert_equal "$header" "$json_fields"
	[[ "$header" == *client_cpu* && "$row" == closed,2,* ]]
}

@test "-u/--unix PATH drives a Unix-domain socket in every mode (closed, open, churn, idle); JSON and CSV name the transport" {
	local mode args
	TRANSPORT=unix start_server epoll-lt
	for mode in closed open churn idle; do
		case $mode in
		closed) args=(-c 4 -P 2) ;;
		open) args=(-c 4 -r 2000) ;;
		churn) args=(-c 4 --churn) ;;
		idle) args=(-c 2 --idle 200) ;;
		esac
		run_loadgen --unix "$SERVER_SOCK" "${args[@]}" -d 300ms -W 100ms --format json
		expect_status 0
		json_true '.transport == "unix" and .messages > 0 and .complete'
		json_true '.errors == {"connect":0,"mismatch":0,"reset":0,"timeout":0}'
		[[ $mode != churn ]] || json_true '.mode == "churn" and .connects > 0'
		[[ $mode != open ]] || json_true '.mode == "open"'
	done
	# Every idle connection reached the server (its trace is off: count its
	# descriptors while a run holds them).
	spawn_loadgen -u "$SERVER_SOCK" -c 1 --idle 300 -d 2s -W 0 -q
	wait_until "$WAIT_MS" fd_count_at_least "$SERVER_PID" 300
	wait_loadgen "$LOADGEN_DEADLINE_S"
	expect_status 0
	run_loadgen -u "$SERVER_SOCK" -c 2 -d 200ms -W 0 --format csv
	expect_status 0
	run awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { print c["transport"] ? $c["transport"] : "no transport column" }' <<<"$LG_OUT"
	assert_output unix
	run_loadgen -u "$SERVER_SOCK" -c 2 -d 200ms -W 0
	expect_status 0
	[[ $LG_OUT == *"against unix:$SERVER_SOCK"* ]] || fail "the summary does not name the socket"
	# TCP is named too.
	start_peer echo
	run_loadgen -p "$PEER_PORT" -c 2 -d 200ms -W 0 --format json
	json_true '.transport == "tcp"'
}

# fd_count_at_least PID N: PID holds N descriptors or more.
fd_count_at_least() {
	(($(fd_count "$1") >= $2))
}

@test "-u/--unix: a path nobody listens on is connect errors and exit 1, an empty or too long path exit 2" {
	run_loadgen -u "$BATS_TEST_TMPDIR/nobody.sock" -c 1 -d 200ms -W 0 --format json
	expect_status 1
	json_true '.errors.connect > 0 and .messages == 0'
	run_loadgen -u "" -d 200ms
	expect_status 2
	run_loadgen -u "$BATS_TEST_TMPDIR/$(printf 'x%.0s' {1..120})" -d 200ms
	expect_status 2
	[[ $LG_ERR == *"-u/--unix"* ]] || fail "the message does not name the option: $LG_ERR"
}

@test "progress goes to stderr only when it is a terminal" {
	start_peer echo
	run_loadgen -p "$PEER_PORT" -c 2 -d 1500ms -W 0
	expect_status 0
	[[ "$LG_ERR" != *msgs/s* ]]
	command -v script >/dev/null || skip "script(1) is not installed"
	run with_deadline "$WAIT_S" script -qec "'$LOADGEN' -p $PEER_PORT -c 2 -d 1500ms -W 0 >/dev/null" /dev/null
	assert_success
	assert_output --partial "measuring"
}

# ---- what is measured ------------------------------------------------------------

@test "a peer that answers after 50 ms: p50 is 50 ms, throughput is connections / 50 ms" {
	start_peer delay --delay-ms 50
	run_loadgen -p "$PEER_PORT" -c 10 -d 2s -W 300ms --format json
	expect_status 0
	# The peer never answers early, so no latency is below 50 ms; the
	# 10 ms above it is room for a late timer wake-up on a loaded runner
	# (loopback itself adds tens of microseconds).
	within 50000 60000 "$(json .latency_us.p50)"
	within 50000 60000 "$(json .latency_us.min)"
	# Each connection completes one message per 50 ms: 10 / 0.05 = 200/s.
	# Up: at most one extra message per connection at a window edge
	# (10 in 400, 2.5%). Down: the 10 ms of slack (200 * 50 / 60 = 167)
	# and one message per connection lost at an edge.
	within 160 206 "$(json .msgs_per_s)"
}

@test "the pipeline keeps -P messages in flight per connection" {
	start_peer delay --delay-ms 50
	run_loadgen -p "$PEER_PORT" -c 2 -P 4 -d 2s -W 300ms --format json
	expect_status 0
	# 2 connections x 4 in flight / 50 ms = 160/s, with the tolerance above.
	within 128 166 "$(json .msgs_per_s)"
	within 50000 60000 "$(json .latency_us.p50)"
}

@test "open loop keeps its rate and times from the intended send time" {
	start_peer echo
	run_loadgen -p "$PEER_PORT" -c 4 -r 2000 -d 2s -W 300ms --format json
	expect_status 0
	json_true '.mode == "open" and .rate == 2000 and .unsent < 10'
	# The schedule is exact; only messages in flight across the window
	# edges move the count (a few in 4000).
	within 1950 2050 "$(json .msgs_per_s)"
}

@test "a peer that pauses: the open loop shows it in p99, the closed loop sends less" {
	# 200 ms of silence at the end of every 500 ms.
	start_peer pause --pause-ms 200 --period-ms 500
	run_loadgen -p "$PEER_PORT" -c 10 -r 1000 -d 2s -W 300ms --format json
	expect_status 0
	# 40% of the messages are due during a pause and wait up to 200 ms
	# (100 ms on average) from their intended send time: p99 is near 200 ms,
	# and 100 ms is far above anything an unpaused loopback echo shows.
	within 100000 260000 "$(json .latency_us.p99)"
	stop_peer
	# The same pauses, and every echo 10 ms late, so the rate does not depend
	# on the machine: unpaused, 10 connections make 10 / 10 ms = 1000/s.
	start_peer pause --pause-ms 200 --period-ms 500 --delay-ms 10
	run_loadgen -p "$PEER_PORT" -c 10 -d 2s -W 300ms --format json
	expect_status 0
	# The closed loop sends nothing while the peer is silent: about 30 of
	# each 50 rounds per period complete, 600/s. Up to 750/s allows one
	# extra round per connection at each end of the measured time.
	within 400 750 "$(json .msgs_per_s)"
	# Each pause is one slow message per connection: its max shows it.
	within 100000 260000 "$(json .latency_us.max)"
}

@test "every echoed byte is checked: a corrupting peer gives mismatches and exit 1" {
	start_peer corrupt --every 1000
	run_loadgen -p "$PEER_PORT" -c 4 -d 500ms -W 100ms --format json
	expect_status 1
	json_true '.errors.mismatch > 0 and .errors.connect == 0 and .errors.reset == 0'
	[[ "$LG_ERR" == *"mismatch"*"differs from what was sent"* ]]
}

@test "a peer that closes connections mid-run: resets counted, no hang, exit 1" {
	start_peer close --after 6400
	run_loadgen -p "$PEER_PORT" -c 4 -d 1s -W 200ms --format json
	expect_status 1
	json_true '.errors.reset > 0 and .errors.mismatch == 0 and .messages > 0'
	# No hang: warm-up and duration (1.2 s), then at most the 1 s drain
	# (DRAIN_TIMEOUT_NS, client/worker.h); 3 s leaves 0.8 s for start-up and exit.
	within 1.1 3 "$LG_SECONDS"
	[[ "$LG_ERR" == *"closed by the server"* ]]
}

@test "a peer that resets connections mid-run: resets counted, no hang, exit 1" {
	start_peer reset --after 6400
	run_loadgen -p "$PEER_PORT" -c 4 -d 1s -W 200ms --format json
	expect_status 1
	json_true '.errors.reset > 0 and .errors.mismatch == 0'
	# No hang: warm-up and duration (1.2 s), then at most the 1 s drain
	# (DRAIN_TIMEOUT_NS, client/worker.h); 3 s leaves 0.8 s for start-up and exit.
	within 1.1 3 "$LG_SECONDS"
	[[ "$LG_ERR" == *"reset"* ]]
}

@test "nobody listening: connect errors, no hang, exit 1" {
	start_peer refuse
	run_loadgen -p "$PEER_PORT" -c 4 -d 1s -W 200ms --format json
	expect_status 1
	json_true '.errors.connect > 0 and .messages == 0 and .complete == false and .down == 4'
	json_true '.latency_us.p50 == null and .msgs_per_s == 0'
	# No hang: warm-up and duration (1.2 s), then at most the 1 s drain
	# (DRAIN_TIMEOUT_NS, client/worker.h); 3 s leaves 0.8 s for start-up and exit.
	within 1.1 3 "$LG_SECONDS"
	[[ "$LG_ERR" == *"Connection refused"* ]]
}

@test "a server that hangs: the run ends on time, incomplete, with timeouts" {
	start_peer hang
	run_loadgen -p "$PEER_PORT" -c 4 -d 1s -W 200ms --format json
	expect_status 1
	json_true '.complete == false and .errors.timeout == 4 and .messages == 0'
	# Warm-up + duration + the 1 s given to the echoes in flight.
	within 2.1 3.5 "$LG_SECONDS"
}

@test "-d is honoured: warm-up, then exactly the measured time" {
	start_peer echo
	run_loadgen -p "$PEER_PORT" -c 4 -d 1s -W 500ms --format json
	expect_status 0
	within 0.999 1.02 "$(json .duration_s)"
	within 0.499 0.52 "$(json .warmup_s)"
	# Plus start-up, connecting and draining: milliseconds on loopback, a
	# few hundred under a sanitizer.
	within 1.5 3 "$LG_SECONDS"
}

@test "SIGINT prints the partial summary and exits 130" {
	local before
	start_peer echo
	before=$(read_bytes "$PEER_PID")
	spawn_loadgen -p "$PEER_PORT" -c 2 -d 30s -W 200ms --format json
	# Into the measured time: 200 ms of warm-up, then some messages.
	wait_measured_messages "$PEER_PID" "$before" 200 2
	kill -INT "$LG_PID"
	wait_loadgen "$WAIT_S"
	expect_status 130
	# Cut short: the measured time ends at the SIGINT, a fraction of a
	# second in (a few seconds on a loaded machine), not at the 30 s asked.
	json_true '.complete == false and .messages > 0 and .duration_s < 5'
}

# ---- connections really opened ---------------------------------------------------

@test "churn opens a new connection for every message" {
	local connects
	start_peer echo
	run_loadgen -p "$PEER_PORT" -c 4 --churn -d 1s -W 0 --format json
	expect_status 0
	# A connection is counted when it opens, its message when the echo is
	# back: at the end of the measured time the 4 slots may differ by one.
	json_true '.mode == "churn" and .connects > 0 and .connects - .messages <= 4
		and .messages - .connects <= 4'
	json_true '.connect_latency_us.p50 > 0 and .conns_per_s > 0'
	connects=$(json .connects)
	stop_peer
	# Without warm-up the peer accepted what was counted, plus at most one
	# connection per slot opened as the measured time ended.
	within "$connects" $((connects + 4)) "$PEER_ACCEPTED"
	[[ "$PEER_PEAK" -le 8 ]] # 4 slots; a closed socket may linger in the peer
}

@test "churn in open loop keeps its rate" {
	start_peer echo
	run_loadgen -p "$PEER_PORT" -c 4 --churn -r 400 -d 1s -W 200ms --format json
	expect_status 0
	json_true '.mode == "churn" and .errors.mismatch == 0'
	within 380 420 "$(json .msgs_per_s)"
}

@test "idle connections are opened first and held open for the whole run" {
	start_peer echo
	run_loadgen -p "$PEER_PORT" -c 2 --idle 300 -t 2 -d 500ms -W 100ms --format json
	expect_status 0
	json_true '.idle == 300 and .threads == 2 and .down == 0 and .messages > 0'
	stop_peer
	# All at once, and none reopened.
	[[ "$PEER_PEAK" == 302 && "$PEER_ACCEPTED" == 302 ]]
}

@test "threads share the connections; more threads than connections are lowered" {
	start_peer echo
	run_loadgen -p "$PEER_PORT" -c 8 -t 4 -d 300ms -W 100ms --format json
	expect_status 0
	json_true '.threads == 4 and .connections == 8'
	run_loadgen -p "$PEER_PORT" -c 2 -t 8 -d 300ms -W 100ms --format json
	expect_status 0
	json_true '.threads == 2'
	[[ "$LG_ERR" == *"-t lowered to 2"* ]]
}

# The drain's second is the client's own, counted from when it stopped
# sending, not from the clock's end of the measured time. The load
# generator is frozen (SIGSTOP) inside its 3 s measured time, once the peer
# has read its first bytes, for 4.5 s: past the end of the measured time and
# past the second after it. The peer echoes what was in flight meanwhile;
# after SIGCONT the client reads those echoes, sends its last messages and
# gives them their second. A drain counted from the end of the measured time
# would be over already, and the last messages counted as never echoed.
@test "a load generator frozen past the end of its run still waits its drain second: no false timeouts" {
	local before
	start_peer echo
	before=$(read_bytes "$PEER_PID")
	spawn_loadgen -p "$PEER_PORT" -c 8 -d 3s -W 0 --format json
	wait_until "$WAIT_MS" has_read_more_than "$PEER_PID" "$before"
	kill -STOP "$LG_PID"
	sleep 4.5 # the freeze itself, the point of the test
	kill -CONT "$LG_PID"
	wait_loadgen "$WAIT_S"
	expect_status 0
	json_true '.errors.timeout == 0 and .complete and .messages > 0'
}

# ---- the suite's own servers -------------------------------------------------------

# check_server MODEL CONNECTIONS [server options...]: a short closed-loop
# run and a short churn run against bin/echo-MODEL, over TCP and over a
# Unix-domain socket, with no error of any
# kind. A model that cannot run here (bench/models.sh: uring or libevent
# built without their library, io_uring unavailable) is skipped with the
# reason.
check_server() {
	local model=$1 conns=$2 reason
	shift 2
	if reason=$(model_skip_reason "$model"); then
		skip "$model: $reason"
	fi
	[[ -x "$SERVERS_DIR/echo-$model" ]] || fail "$SERVERS_DIR/echo-$model is missing (run make)"
	# shellcheck disable=SC2034 # TRANSPORT: read by start_server
	for TRANSPORT in tcp unix; do
		start_server "$model" "$@"
		run_loadgen "${SERVER_AT[@]}" -c "$conns" -P 2 -s 100 -d 500ms -W 200ms --format json
		expect_status 0
		json_true '.messages > 0 and .complete'
		run_loadgen "${SERVER_AT[@]}" -c "$conns" --churn -d 500ms -W 100ms --format json
		expect_status 0
		json_true '.messages > 0 and .complete'
		stop_server
	done
}

# The iterative server serves one client at a time: one connection.
@test "echo-blocking: a short run with no errors" { check_server blocking 1; }
@test "echo-fork: a short run with no errors" { check_server fork 8; }
@test "echo-thread: a short run with no errors" { check_server thread 8; }
@test "echo-pool: a short run with no errors" { check_server pool 8; }
@test "echo-select: a short run with no errors" { check_server select 8; }
@test "echo-poll: a short run with no errors" { check_server poll 8; }
@test "echo-epoll-lt: a short run with no errors" { check_server epoll-lt 8; }
@test "echo-epoll-et: a short run with no errors" { check_server epoll-et 8; }
# prefork serves -w clients at once (default: one per core): one worker per
# connection, or the others would wait in the backlog and time out.
@test "echo-prefork: a short run with no errors" { check_server prefork 8 -w 8; }
@test "echo-reactors: a short run with no errors" { check_server reactors 8; }
@test "echo-uring: a short run with no errors" { check_server uring 8; }
@test "echo-uring-multishot: a short run with no errors" { check_server uring-multishot 8; }
@test "echo-libevent: a short run with no errors" { check_server libevent 8; }
@test "echo-coroutine: a short run with no errors" { check_server coroutine 8; }
@test "echo-leader-follower: a short run with no errors" { check_server leader-follower 8; }
@test "echo-epoll-procs: a short run with no errors" { check_server epoll-procs 8; }

# ---- the server's own cost (--server-pid) --------------------------------------------

@test "without --server-pid the server keys are there, null in JSON and empty in CSV" {
	local key header row
	start_peer echo
	run_loadgen -p "$PEER_PORT" -c 2 -d 300ms -W 100ms --format json
	expect_status 0
	for key in "${SERVER_KEYS[@]}"; do
		json_true "has(\"$key\") and .$key == null"
	done
	[[ "$LG_OUT" != *'"server":'* ]]
	run_loadgen -p "$PEER_PORT" -c 2 -d 300ms -W 100ms --format csv
	expect_status 0
	header=$(sed -n 1p <<<"$LG_OUT")
	row=$(sed -n 2p <<<"$LG_OUT")
	# The seven are in this order, followed only by the transport, the
	# datagram counts (empty for a stream), the open loop's in-flight limit
	# (empty: none) and the start time, and their cells are empty.
	[[ "$header" == *",$(IFS=,; echo "${SERVER_KEYS[*]}"),transport,datagrams_lost,datagrams_duplicated,datagrams_reordered,datagrams_late,max_in_flight,started_s" ]]
	[[ "$row" =~ ,,,,,,,tcp,,,,,,[0-9]+\.[0-9]{3}$ ]]
	run_loadgen -p "$PEER_PORT" -c 2 -d 300ms -W 100ms
	expect_status 0
	[[ "$LG_OUT" != *"  server "* ]]
}

@test "--server-pid of a process that does not exist exits 2, before connecting" {
	local pid_max tid
	start_peer echo
	# Pids are below pid_max: that one never exists.
	pid_max=$(</proc/sys/kernel/pid_max)
	run_loadgen -p "$PEER_PORT" -c 2 -d 300ms --server-pid "$pid_max"
	expect_status 2
	[[ -z "$LG_OUT" && "$LG_ERR" == *"--server-pid: no process $pid_max"* ]]
	stop_peer
	[[ "$PEER_ACCEPTED" == 0 ]]
	# A thread is not a process: /proc/TID exists too, but the tree is
	# found by process ids. The pool's worker threads are there at start.
	start_server pool
	for tid in "/proc/$SERVER_PID/task/"*; do
		tid=${tid##*/}
		[[ "$tid" != "$SERVER_PID" ]] && break
	done
	[[ "$tid" != "$SERVER_PID" ]]
	run_loadgen -p "$SERVER_PORT" -c 1 -d 300ms --server-pid "$tid"
	expect_status 2
	[[ "$LG_ERR" == *"--server-pid: $tid is a thread of process $SERVER_PID"* ]]
}

@test "--server-pid: server_us_per_msg is the CPU time the server burns per message" {
	local burn_us=200 conns=2 bounds low
	start_cpu_echo --burn-us "$burn_us" --message-bytes 64
	run_loadgen -p "$CPU_ECHO_PORT" -c "$conns" -s 64 -d 1s -W 200ms --server-pid "$CPU_ECHO_PID" \
		--format json
	expect_status 0
	json_true '.messages > 0 and .server_cpu_s > 0 and .server_procs == 1'
	# One thread per connection and the main thread.
	json_true ".server_threads == $((conns + 1))"
	# Over the burn: each message's read and write system calls (the write
	# runs the client's TCP receive too, on loopback) and a blocked read's
	# wake-up: 13 to 19 us measured on the development VM; 100 us leaves
	# room for a slower runner, and a thread counted twice (400 us) would
	# exceed it. Below the burn: only the terms of burn_bounds.
	bounds=$(burn_bounds "$burn_us" "$conns" "$(json .messages)" 100)
	# Enough messages for the bound to mean something (about 600).
	low=${bounds%% *}
	within "$((burn_us / 2))" "$burn_us" "$low"
	# shellcheck disable=SC2086 # "LOW HIGH"
	within $bounds "$(json .server_us_per_msg)" || { show_run; return 1; }
}

@test "--server-pid counts forked children that exited and were reaped in the window" {
	local burn_us=2000 conns=2 ticks_before ticks_after parent_us_per_msg bounds low
	start_cpu_echo --burn-us "$burn_us" --fork
	ticks_before=$(own_cpu_ticks "$CPU_ECHO_PID")
	run_loadgen -p "$CPU_ECHO_PORT" -c "$conns" --churn -d 1s -W 200ms \
		--server-pid "$CPU_ECHO_PID" --format json
	expect_status 0
	ticks_after=$(own_cpu_ticks "$CPU_ECHO_PID")
	json_true '.mode == "churn" and .messages > 0 and .server_cpu_s > 0'
	# Each message is a connection, so a child that burnt once and exited:
	# nearly all of the window's CPU time is in children already reaped.
	# Over the burn: accept and fork in the parent (copying page tables),
	# the child's first-touch page faults, read, write, close and exit, the
	# parent's reaping: 320 to 480 us measured on the development VM (2
	# shared vCPUs); 1500 us leaves room for a slower runner, and a child
	# counted twice (its clock and its parent's cutime: about 4800 us per
	# message) would still exceed it.
	bounds=$(burn_bounds "$burn_us" "$conns" "$(json .messages)" 1500)
	# Enough messages for the bound to mean something (about 70).
	low=${bounds%% *}
	within "$((burn_us / 2))" "$burn_us" "$low"
	# shellcheck disable=SC2086 # "LOW HIGH"
	within $bounds "$(json .server_us_per_msg)" || { show_run; return 1; }
	# The assertion can fail: the parent's own CPU time (warm-up and
	# drain included, so more than its share) is far below the low bound,
	# so a figure that left out reaped children would be too.
	parent_us_per_msg=$(awk -v t="$((ticks_after - ticks_before))" -v hz="$(getconf CLK_TCK)" \
		-v n="$(json .messages)" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
	within 0 "$(awk -v l="$low" 'BEGIN { print l / 2 }')" "$parent_us_per_msg"
}

@test "--server-pid counts the processes and threads: prefork -w 3 is 4 processes" {
	start_server prefork -w 3
	run_loadgen -p "$SERVER_PORT" -c 3 -d 500ms -W 100ms --server-pid "$SERVER_PID" --format json
	expect_status 0
	json_true '.server_procs == 4 and .server_threads == 4'
	# Summed RSS counts the pages the workers share with the parent once
	# per process; PSS splits them, so it is smaller.
	json_true '.server_rss_kib > 0 and .server_pss_kib > 0 and .server_pss_kib < .server_rss_kib'
	json_true '.server_us_per_msg > 0 and .server_ctx_switches_per_msg > 0'
}

@test "--server-pid: an edge read later than a tenth of the window gives no CPU figure, with a note" {
	# Finding the tree reads /proc/N/stat of every process on the machine
	# (this one runs more than the 51 of the server): at least three system
	# calls each, well over the 100 us that is a tenth of a 1 ms window.
	start_server prefork -w 50
	run_loadgen -p "$SERVER_PORT" -c 1 -d 1ms -W 100ms --server-pid "$SERVER_PID" --format json
	expect_status 0
	json_true '.server_cpu_s == null and .server_us_per_msg == null and .server_ctx_switches_per_msg == null'
	# What does not depend on the edges' timing is still reported.
	json_true '.server_procs == 51 and .server_rss_kib > 0'
	[[ "$LG_ERR" == *"more than a tenth"* ]] || { show_run; return 1; }
	# The same server over a 500 ms window: the edges are in time.
	run_loadgen -p "$SERVER_PORT" -c 1 -d 500ms -W 100ms --server-pid "$SERVER_PID" --format json
	expect_status 0
	json_true '.server_us_per_msg > 0'
}

@test "--server-pid counts the processes and threads: echo-thread has one thread per client" {
	start_server thread
	run_loadgen -p "$SERVER_PORT" -c 5 -d 500ms -W 100ms --server-pid "$SERVER_PID" --format json
	expect_status 0
	# Measured while the clients are still connected: 5 and the acceptor.
	json_true '.server_procs == 1 and .server_threads == 6'
	# A blocking read per message: about one voluntary switch each.
	json_true '.server_ctx_switches_per_msg > 0.5'
}

@test "--server-pid: the human summary has a server line" {
	start_server epoll-lt
	run_loadgen -p "$SERVER_PORT" -c 2 -d 300ms -W 100ms --server-pid "$SERVER_PID"
	expect_status 0
	[[ "$LG_OUT" == *"  server "*"us cpu per message"*"1 process, 1 thread, rss"*"pss"* ]] ||
		{ show_run; return 1; }
}

@test "--server-pid: a server that dies during the run leaves its figures null, with a note" {
	local key before
	start_server thread
	before=$(read_bytes "$SERVER_PID")
	# -d 5s: the kill below must land in the measured time, after the wait
	# for it (milliseconds; seconds on a loaded machine).
	spawn_loadgen -p "$SERVER_PORT" -c 2 -d 5s -W 200ms --server-pid "$SERVER_PID" --format json
	wait_measured_messages "$SERVER_PID" "$before" 200 2
	kill -KILL "$SERVER_PID"
	wait_loadgen "$WAIT_S"
	# The existing rules: the lost connections make it exit 1.
	expect_status 1
	json_true '.complete == false and .messages > 0'
	for key in "${SERVER_KEYS[@]}"; do
		json_true ".$key == null"
	done
	[[ "$LG_ERR" == *"note: server process $SERVER_PID exited during the measured time"* ]] ||
		{ show_run; return 1; }
}

# hdr_reader FILE: an independent reader of HdrHistogram's
# percentile-distribution text (the format its plotter reads): checks the
# header, that value, percentile and count never fall, and prints
# "rows N last_pct P last_count C max M total T mean U p50 V p90 W" (values
# in ms, as written) for the test to compare with the run's JSON.
hdr_reader() {
	awk '
		NR == 1 { if ($1 != "Value" || $2 != "Percentile" || $3 != "TotalCount") { print "bad header: " $0; bad = 1 } next }
		/^$/ { next }
		/^#\[Mean/ { gsub(/[#\[\],=]/, " "); mean = $2; next }
		/^#\[Max/ { gsub(/[#\[\],=]/, " "); max = $2; total = $5; next }
		/^#/ { next }
		{
			if (NF != 4 && NF != 3) { print "bad row: " $0; bad = 1 }
			if (rows && ($1 < v || $2 < p || $3 < c)) { print "falls at: " $0; bad = 1 }
			v = $1; p = $2; c = $3; rows++
			if (p == 0.5) p50 = v
			if (p == 0.9) p90 = v
		}
		END {
			if (bad) exit 1
			printf "rows %d last_pct %s last_count %d max %s total %d mean %s p50 %s p90 %s\n", rows, p, c, max, total, mean, p50, p90
		}' "$1"
}

@test "--hdr FILE writes the latency distribution in HdrHistogram's percentile format: its counts, max, mean and percentiles are the run's" {
	local hdr="$BATS_TEST_TMPDIR/latency.hdr" summary
	start_peer echo
	run_loadgen -p "$PEER_PORT" -c 4 -d 500ms -W 100ms --hdr "$hdr" --format json
	expect_status 0
	run hdr_reader "$hdr"
	assert_success
	summary=$output
	echo "# $summary"
	read -r _ rows _ last_pct _ last_count _ max _ total _ mean _ p50 _ p90 <<<"$summary"
	((rows > 10)) || fail "only $rows rows"
	assert_equal "$last_pct" "1.000000000000"
	assert_equal "$last_count" "$(json .messages)"
	assert_equal "$total" "$(json .messages)"
	# The file has nanoseconds (six decimals of a millisecond); the JSON
	# rounds to 0.1 us: they agree to 0.05 us.
	json_true "((.latency_us.max - $max * 1000) | fabs) <= 0.05"
	json_true "((.latency_us.mean - $mean * 1000) | fabs) <= 0.05"
	json_true "((.latency_us.p50 - $p50 * 1000) | fabs) <= 0.05"
	json_true "((.latency_us.p90 - $p90 * 1000) | fabs) <= 0.05"
	# A file that cannot be written is a usage error, before connecting.
	run_loadgen -p "$PEER_PORT" -d 100ms --hdr "$BATS_TEST_TMPDIR/no-such-dir/x.hdr"
	expect_status 2
	[[ $LG_ERR == *"--hdr: cannot write"* ]] || fail "no message naming --hdr: $LG_ERR"
}

# merged_percentile_us P: the P-th percentile, in us, of the JSON's
# latency_histogram computed from its buckets alone, as histogram.h defines
# it: the top of the counter where the count reaches ceil(count * P / 100),
# capped at the maximum.
merged_percentile_us() {
	json "(.latency_histogram) as \$h | (\$h.count * $1 / 100 | ceil) as \$rank
		| (reduce \$h.buckets[] as \$b ({seen: 0, v: null};
			if .v == null and .seen + \$b[1] >= \$rank then .v = \$b[0] else . end | .seen += \$b[1]) | .v) as \$v
		| ([\$v, \$h.max_ns] | min) / 1000"
}

@test "JSON carries the latency histogram whole; loadgen merge of two runs side by side is the union: messages summed, every bucket, percentiles from the merged buckets" {
	local a="$BATS_TEST_TMPDIR/a.json" b="$BATS_TEST_TMPDIR/b.json" p key f
	start_peer echo
	# Two load generators at once, on two halves of the connections.
	"$LOADGEN" -p "$PEER_PORT" -c 2 -d 500ms -W 100ms --seed 1 --format json >"$a" 2>/dev/null &
	local first=$!
	track_pid "$first"
	run_loadgen -p "$PEER_PORT" -c 3 -d 500ms -W 100ms --seed 2 --format json
	expect_status 0
	cp "$BATS_TEST_TMPDIR/lg.out" "$b"
	wait_for_exit "$first" "$WAIT_S"
	assert_equal "$WAITED_STATUS" 0
	# Each report's buckets add up to its count, which is its messages.
	for f in "$a" "$b"; do
		run jq -e '.latency_histogram as $h | ($h.buckets | map(.[1]) | add) == $h.count and $h.count == .messages' "$f"
		assert_success
	done
	run_loadgen merge --format json "$a" "$b"
	expect_status 0
	json_true ".messages == $(jq -s 'map(.messages) | add' "$a" "$b")"
	json_true ".connections == 5 and .threads == 2 and .mode == \"closed\""
	# Every bucket of the merge is the sum of the two runs' buckets.
	run jq -n --slurpfile a "$a" --slurpfile b "$b" --argjson m "$LG_OUT" '
		([$a[0], $b[0]] | map(.latency_histogram.buckets[]) | group_by(.[0]) | map([.[0][0], (map(.[1]) | add)])) == $m.latency_histogram.buckets
		and $m.latency_histogram.max_ns == ([$a[0], $b[0]] | map(.latency_histogram.max_ns) | max)
		and $m.latency_histogram.min_ns == ([$a[0], $b[0]] | map(.latency_histogram.min_ns) | min)'
	assert_output true
	# Its percentiles are those of the merged buckets (the JSON rounds them
	# to 0.1 us).
	for p in 50 90 99 99.9; do
		key=p${p/./}
		json_true "((.latency_us.$key - $(merged_percentile_us "$p")) | fabs) <= 0.05"
	done
	# The human summary says what it is.
	run_loadgen merge "$a" "$b"
	expect_status 0
	[[ $LG_OUT == *"2 runs merged"* ]] || fail "the summary does not say it is a merge: $LG_OUT"
}

@test "loadgen merge refuses runs that do not belong together (exit 2, naming the field), and what is not a report" {
	local a="$BATS_TEST_TMPDIR/a.json" b="$BATS_TEST_TMPDIR/b.json"
	start_peer echo
	run_loadgen -p "$PEER_PORT" -c 2 -d 200ms -W 0 --format json
	cp "$BATS_TEST_TMPDIR/lg.out" "$a"
	run_loadgen -p "$PEER_PORT" -c 2 -s 128 -d 200ms -W 0 --format json
	cp "$BATS_TEST_TMPDIR/lg.out" "$b"
	run_loadgen merge "$a" "$b"
	expect_status 2
	[[ $LG_ERR == *"size 128 differs from 64"* ]] || fail "the field is not named: $LG_ERR"
	run_loadgen -p "$PEER_PORT" -c 2 -P 2 -d 200ms -W 0 --format json
	cp "$BATS_TEST_TMPDIR/lg.out" "$b"
	run_loadgen merge "$a" "$b"
	expect_status 2
	[[ $LG_ERR == *"pipeline 2 differs from 1"* ]] || fail "the field is not named: $LG_ERR"
	run_loadgen -p "$PEER_PORT" -c 2 --churn -d 200ms -W 0 --format json
	cp "$BATS_TEST_TMPDIR/lg.out" "$b"
	run_loadgen merge "$a" "$b"
	expect_status 2
	[[ $LG_ERR == *"mode churn differs from closed"* ]] || fail "the field is not named: $LG_ERR"
	echo '{"mode":"closed"}' >"$b"
	run_loadgen merge "$a" "$b"
	expect_status 2
	run_loadgen merge "$a" "$BATS_TEST_TMPDIR/missing.json"
	expect_status 2
	run_loadgen merge
	expect_status 2
}

@test "--max-in-flight 1: the open loop waits for each echo, and times the wait from the intended send time" {
	# The peer echoes 50 ms after it reads: one message in flight at a
	# time can complete at most one per 50 ms, 20 in the 1 s measured (and
	# one more at its edge), where 200 are scheduled.
	start_peer delay --delay-ms 50
	run_loadgen -p "$PEER_PORT" -c 1 -r 200 --max-in-flight 1 -W 0 -d 1s --format json
	# (Its exit status is 1: the backlog cannot drain in the drain second.)
	json_true '.max_in_flight == 1 and .messages <= 21 and .messages >= 10'
	# The backlog grows by 150 messages a second, each waiting its turn:
	# by the end a message waits most of the second.
	json_true '.latency_us.max > 500000'
	# Without the limit every message goes when due and comes back 50 ms later.
	run_loadgen -p "$PEER_PORT" -c 1 -r 200 -W 0 -d 1s --format json
	expect_status 0
	json_true '.max_in_flight == null and .messages >= 180 and .latency_us.p99 < 200000'
}

@test "--start-at: two load generators begin their traffic at the agreed instant, and merge as one run" {
	local a="$BATS_TEST_TMPDIR/a.json" b="$BATS_TEST_TMPDIR/b.json" at first
	start_peer echo
	at=$(awk -v t="$EPOCHREALTIME" 'BEGIN { printf "%.3f", t + 1.5 }')
	"$LOADGEN" -p "$PEER_PORT" -c 2 -W 0 -d 300ms --start-at "$at" --format json >"$a" 2>/dev/null &
	first=$!
	track_pid "$first"
	run_loadgen -p "$PEER_PORT" -c 3 -W 0 -d 300ms --start-at "$at" --format json --seed 2
	expect_status 0
	cp "$BATS_TEST_TMPDIR/lg.out" "$b"
	wait_for_exit "$first" "$WAIT_S"
	assert_equal "$WAITED_STATUS" 0
	# Neither begins before the instant; each wakes for it at most 250 ms
	# late (a wake-up on a busy 2-vCPU machine is late by a few scheduling
	# quanta, tens of milliseconds).
	run jq -s -e --argjson at "$at" 'all(.started_s >= $at and .started_s <= $at + 0.25)' "$a" "$b"
	assert_success
	run_loadgen merge --format json "$a" "$b"
	expect_status 0
	json_true ".connections == 5 and .started_s == $(jq -s 'map(.started_s) | min' "$a" "$b")"
	# An instant already past starts at once, and says so.
	run_loadgen -p "$PEER_PORT" -c 1 -W 0 -d 100ms --start-at 1700000000 --format json
	expect_status 0
	[[ $LG_ERR == *"--start-at was"*"ago"* ]] || fail "no note on the past instant: $LG_ERR"
}

@test "--source: two load generators of 15,000 connections, each over two source addresses, against a multi-process server: all open, all echo" {
	local a="$BATS_TEST_TMPDIR/a.json" first lo hi reason
	(($(ulimit -Hn) >= 15100)) || skip "the descriptor limit ($(ulimit -Hn)) cannot hold 15,000 connections"
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	# 30,000 connections to one server address: more than one source
	# address has ports for (28,232 with the default range).
	((30000 > hi - lo + 1)) || skip "the local port range ($lo-$hi) holds 30,000 from one address"
	if reason=$(model_skip_reason epoll-procs); then
		skip "echo-epoll-procs: $reason"
	fi
	# Eight workers: whichever the kernel wakes accepts, so a worker may
	# take several thousand; eight keep each far under its descriptor limit.
	start_server epoll-procs -w 8
	"$LOADGEN" -p "$SERVER_PORT" -c 15000 --source 127.0.0.2-127.0.0.3 -W 0 -d 4s \
		--connect-timeout 10s --format json >"$a" 2>"$BATS_TEST_TMPDIR/a.err" &
	first=$!
	track_pid "$first"
	# The second, while the first holds its connections, counts them by source.
	(
		sleep 3
		ss -Htn state established "( dport = :$SERVER_PORT )" | awk '{ split($3, a, ":"); n[a[1]]++ }
			END { for (s in n) print s, n[s] }' | sort >"$BATS_TEST_TMPDIR/by-source"
	) &
	track_pid $!
	run_loadgen -p "$SERVER_PORT" -c 15000 --source 127.0.0.4,127.0.0.5 -W 0 -d 4s \
		--connect-timeout 10s --format json
	expect_status 0
	json_true '.connections == 15000 and .complete and .errors.connect == 0 and .errors.reset == 0 and .errors.timeout == 0 and .messages >= 15000'
	wait_for_exit "$first" 60
	assert_equal "$WAITED_STATUS" 0
	run jq -e '.connections == 15000 and .complete and (.errors | add) == 0 and .messages >= 15000' "$a"
	assert_success
	# Every source address carried its share, 7,500 connections each.
	run cat "$BATS_TEST_TMPDIR/by-source"
	assert_output "127.0.0.2 7500
127.0.0.3 7500
127.0.0.4 7500
127.0.0.5 7500"
}

# ---- --search: the capacity at a latency target ------------------------------

# The peer's cap: it echoes at most CAP_MSGS 64-byte messages a second.
CAP_MSGS=4000

@test "--search finds the rate of a peer capped at a known rate, within what the search may legitimately find" {
	start_peer capped --bytes-per-s $((CAP_MSGS * 64))
	run_loadgen -p "$PEER_PORT" -c 8 -W 200ms -d 500ms -r 1000 --search 'p99<=200ms' \
		--search-resolution 5 --format json
	expect_status 0
	json_true '.capacity.metric == "p99" and .capacity.target_us == 200000 and .capacity.ended_by == "resolved"'
	# Above: a step at rate r meets the target only if the peer echoed
	# 0.99 r D messages in the measured D = 0.5 s. It echoes CAP_MSGS a
	# second plus what its bucket (B = 20 ms of them) held when D began: full
	# at the start of the warm-up (W = 0.2 s), less the warm-up's excess
	# (r - CAP_MSGS) W. So 0.99 r D <= CAP_MSGS (D + B) - (r - CAP_MSGS) W,
	# r <= CAP_MSGS (D + B + W) / (0.99 D + W) = 1.036 CAP_MSGS.
	# Below: at any rate up to CAP_MSGS the peer keeps up (a pause of up to
	# 20 ms is made up from its bucket), and echoes come back far under the
	# 200 ms (a step would miss its 99% only if the latency rose by 5 ms,
	# 1% of D, across its window), so the lowest rate that missed is above
	# CAP_MSGS and the search stops within 5% of it: the rate found is
	# above CAP_MSGS / 1.05.
	json_true ".capacity.msgs_per_s >= 0.95 * $CAP_MSGS and .capacity.msgs_per_s <= 1.04 * $CAP_MSGS"
	# Every step is judged by the rule: met exactly when complete, no
	# errors, 99% of the rate achieved and p99 within the target.
	json_true '.capacity.steps | all(.met == (.complete and .errors == 0 and .achieved >= 0.99 * .rate and .p99_us != null and .p99_us <= 200000))'
	# The rates double until one misses, then bisect between the two.
	json_true '.capacity.steps[0].rate == 1000 and .capacity.steps[1].rate == 2000'
	json_true '(.capacity.steps | map(select(.met)) | map(.rate) | max) == .capacity.msgs_per_s'
	# shellcheck disable=SC2016 # a jq variable
	json_true '(.capacity.steps | map(select(.met | not)) | map(.rate) | min) as $missed | $missed > .capacity.msgs_per_s and $missed <= 1.05 * .capacity.msgs_per_s'
	# The rest of the report is the step at the rate found.
	json_true '.mode == "open" and .rate == .capacity.msgs_per_s and .latency_us.p99 <= 200000'
}

@test "--search: a peer slower than the target at any rate exits 1, with no rate found" {
	start_peer delay --delay-ms 100
	run_loadgen -p "$PEER_PORT" -c 2 -W 100ms -d 300ms -r 100 --search 'p99<=10ms' --format json
	expect_status 1
	json_true '.capacity.msgs_per_s == null and .capacity.ended_by == "none-met"'
	json_true '(.capacity.steps | length) == 1 and .capacity.steps[0].met == false and .capacity.steps[0].p99_us > 10000'
	run_loadgen -p "$PEER_PORT" -c 2 -W 100ms -d 300ms -r 100 --search 'p99<=10ms'
	expect_status 1
	[[ $LG_OUT == *"capacity     none: even the lowest rate missed the target"* ]] ||
		fail "the summary does not say no rate was found: $LG_OUT"
}

@test "--search is bounded in steps and in time, and says which bound ended it" {
	start_peer echo
	# Both steps meet the target: the echo peer keeps up with 2000 and
	# 4000/s far under 1 s, and a step misses the 99% of its rate only if
	# 1% of its messages are still in flight at the window's end and were
	# not at its start: with 1 s windows that takes the latency rising by
	# 10 ms across the window. (With 200 ms at 400/s, 80 messages, one
	# echo delayed past the end by a 2 ms hiccup missed the step.)
	run_loadgen -p "$PEER_PORT" -c 2 -W 50ms -d 1s -r 2000 --search 'p99<=1s' --search-steps 2
	expect_status 0
	[[ $LG_OUT == *"the step bound (--search-steps) ended it"* ]] || fail "no bound named: $LG_OUT"
	[[ $LG_OUT == *"capacity     4000 msgs/s at p99 <= 1.00 s"* ]] || fail "no capacity line: $LG_OUT"
	# The time bound: -W plus -d is 1.05 s, so no third step begins after
	# two (each at least 1.05 s) within 2.5 s.
	run_loadgen -p "$PEER_PORT" -c 2 -W 50ms -d 1s -r 2000 --search 'p99<=1s' \
		--search-time 2500ms --format json
	expect_status 0
	json_true '.capacity.ended_by == "time" and (.capacity.steps | length) <= 2'
}

# ---- --interval: figures during the run ---------------------------------------

@test "--interval: the lines' messages add up to the run's, and a 300 ms stall shows in the intervals that contain it" {
	local interval_file="$BATS_TEST_TMPDIR/intervals.jsonl" zero_run
	# The peer serves 1.2 s, then stops for 300 ms, every 1.5 s: any 2 s
	# measured window holds one whole stall.
	start_peer pause --pause-ms 300 --period-ms 1500
	run_loadgen -p "$PEER_PORT" -c 4 -W 100ms -d 2s -r 1000 --interval 100ms \
		--interval-file "$interval_file" --format json
	expect_status 0
	json_true ".messages == $(jq -s 'map(.messages) | add' "$interval_file")"
	run jq -s -e 'length == 20 and (map(.time_s) == [range(1; 21) | . / 10]) and .[-1].time_s == 2.0 and all(.rate == 1000)' "$interval_file"
	assert_success
	# A stop of 300 ms covers at least two whole 100 ms intervals: nothing
	# is echoed in them. The first line after them holds the messages that
	# waited out the stall: its max is at least the stall less one interval,
	# and no line's max is larger.
	zero_run=$(jq -s '[range(1; length) as $i | select(.[$i - 1].messages == 0 and .[$i].messages == 0) | $i] | first' "$interval_file")
	[[ $zero_run != null ]] || fail "no two silent intervals in a row: $(cat "$interval_file")"
	run jq -s -e --argjson z "$zero_run" '
		first(range($z; length) as $i | select(.[$i].messages > 0) | $i) as $after
		| .[$after].max_us >= 200000 and .[$after].max_us == (map(.max_us // 0) | max)' "$interval_file"
	assert_success
	# Without --interval-file the lines go to stderr.
	run_loadgen -p "$PEER_PORT" -c 2 -W 0 -d 300ms -r 200 --interval 100ms -q --format json
	expect_status 0
	assert_equal "$(grep -c '^{"time_s":' <<<"$LG_ERR")" 3
}
