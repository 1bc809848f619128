#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # bats run sets status, output, stderr
# The echo servers against their contract (design.md, "Server contract").
#
# One suite for every model: each @test runs one check_* function over every
# model with for_each_model, which runs them all and names the models that
# failed. Where a model cannot have a behaviour (blocking serves one client
# at a time; pool with one worker queues), the check asserts the documented
# opposite for that model, so the limitation is tested, not skipped.
#
# The client side is build/tests/echo-probe (tests/tools/echo-probe.c): every
# byte it gets back is checked, and every wait it makes has a deadline.
# SERVER_MODELS="poll epoll-et" bats tests/servers.bats runs a subset.

bats_require_minimum_version 1.5.0

load test_helper

setup() {
	[[ -x "$PROBE" && -x "$TOOLS/signal-storm" ]] || fail "the test tools in build/tests are missing: run make first"
}

teardown() {
	stop_tracked_processes
}

# require_model MODEL: skips a single-model test when MODEL is not selected.
require_model() {
	[[ " ${MODELS[*]} " == *" $1 "* ]] || skip "$1 is not in SERVER_MODELS"
	[[ -x "$SERVERS_DIR/echo-$1" ]] || fail "$SERVERS_DIR/echo-$1 is missing"
}

# run_server MODEL ARGS...: runs a server that is expected to exit at once
# (usage, -h, address in use), with a deadline; sets status, output, stderr.
run_server() {
	local model=$1
	shift
	echo "# echo-$model $*"
	run --separate-stderr timeout 5 "$SERVERS_DIR/echo-$model" "$@"
}

# A usage error: exit 2, usage on stderr, nothing on stdout.
assert_usage_error() {
	assert_equal "$status" 2
	assert_equal "$output" ""
	assert_regex "$stderr" '[Uu]sage'
}

# ---- readiness and addresses ---------------------------------------------------

check_readiness_line() {
	local model=$1
	start_server "$model"
	assert_regex "$SERVER_LINE" "^listening on 127\.0\.0\.1:[1-9][0-9]* \($model\)$"
	# Exactly one line on stdout.
	run cat "$SERVER_OUT"
	assert_output "$SERVER_LINE"
	# Bound to loopback only, on the port the line names.
	run listening_addresses "$SERVER_PID"
	assert_output "127.0.0.1:$SERVER_PORT"
}

@test "prints one readiness line naming the model and listens on 127.0.0.1 by default" {
	for_each_model check_readiness_line
}

check_ipv6_loopback() {
	local model=$1
	start_server "$model" -b ::1
	assert_regex "$SERVER_LINE" "^listening on \[::1\]:[1-9][0-9]* \($model\)$"
	run listening_addresses "$SERVER_PID"
	assert_output "[::1]:$SERVER_PORT"
	probe -H ::1 stream -n 64KiB -t 5000
	assert_success
}

check_wildcard_warning() {
	local model=$1
	start_server "$model" -b 0.0.0.0
	assert_regex "$SERVER_LINE" "^listening on 0\.0\.0\.0:[1-9][0-9]* \($model\)$"
	# README: a wildcard bind prints a warning on stderr.
	run cat "$SERVER_ERR"
	assert_output --partial "warning"
}

@test "warns on stderr when told to listen on every address (-b 0.0.0.0)" {
	for_each_model check_wildcard_warning
}

@test "-b ::1 listens on the IPv6 loopback, says [::1]:PORT and echoes" {
	grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null || skip "no IPv6 loopback here"
	for_each_model check_ipv6_loopback
}

# ---- echo ------------------------------------------------------------------------

# Options that let a model serve many clients at once; pool's worker count
# bounds its concurrency, so give it more workers than the tests' clients.
concurrent_opts() {
	[[ $1 == pool ]] && echo "-w 32"
	return 0
}

check_all_byte_values() {
	local model=$1
	start_server "$model"
	# 0, 1, ..., 255, 0, 1, ... in random chunk sizes, then one byte per write.
	probe stream --pattern bytes -n 4KiB -t 5000
	assert_success
	assert_output --partial "ok clients=1 bytes_each=4096"
	probe stream --pattern bytes -n 256 --max-chunk 1 -t 5000
	assert_success
	assert_output --partial "ok clients=1 bytes_each=256"
}

@test "echoes all 256 byte values unchanged" {
	for_each_model check_all_byte_values
}

check_random_4mib() {
	local model=$1
	start_server "$model"
	probe stream -n 4MiB -s 4242 -t 20000
	assert_success
	assert_output --partial "ok clients=1 bytes_each=4194304"
}

@test "echoes 4 MiB of random data sent in random chunk sizes byte for byte while the client reads concurrently" {
	for_each_model check_random_4mib
}

check_short_writes() {
	local model=$1
	start_server "$model"
	# The client writes whenever it can and reads only when it cannot, so
	# the server's socket buffers fill up and its writes come out short.
	# 16 MiB is several times what the kernel buffers on the way hold.
	probe stream -n 16MiB -s 99 --read when-blocked -t 20000
	assert_success
	assert_output --partial "ok clients=1 bytes_each=16777216"
}

@test "loses and reorders nothing when its writes come out short (a client that reads only when it cannot write)" {
	for_each_model check_short_writes
}

check_half_close_after_data() {
	local model=$1
	start_server "$model"
	# The client reads nothing until it has sent 256 KiB and shut down its
	# write side, so the FIN reaches the server behind data it has not
	# echoed yet: every byte must still come back, then EOF. (256 KiB fits in
	# the socket buffers on the way, so a correct server cannot deadlock.)
	probe stream -n 256KiB --read after-send -t 10000
	assert_success
	assert_output --partial "ok clients=1 bytes_each=262144"
}

@test "after a half-close it sends every byte it still owes, then EOF" {
	for_each_model check_half_close_after_data
}

check_half_close_no_data() {
	local model=$1
	start_server "$model"
	probe stream -n 0 -t 2000
	assert_success
}

@test "a half-close with no data gets EOF within 2 s" {
	for_each_model check_half_close_no_data
}

check_twenty_clients() {
	local model=$1
	# shellcheck disable=SC2046 # the options are words
	start_server "$model" $(concurrent_opts "$model")
	probe stream -c 20 -n 512KiB -s 7 -t 30000
	assert_success
	assert_output --partial "ok clients=20 bytes_each=524288"
}

@test "serves 20 clients at once, each byte for byte (blocking: one after another)" {
	for_each_model check_twenty_clients
}

# ---- one client must not stop another --------------------------------------------

# The first client is served and then holds its connection idle; a second
# must be served meanwhile; then the first is still served.
expect_second_served_while_first_idle() {
	spawn_probe first ping --hold -t 10000
	wait_for_probe_line first '^served$' 5000
	probe ping -t 3000
	assert_success
	release_probe first
	finish_probe first 5
}

# The opposite, for a model that serves one client at a time: the second is
# not served while the first stays connected, and is once the first closes.
expect_second_waits_for_first() {
	spawn_probe first ping --hold -t 10000
	wait_for_probe_line first '^served$' 5000
	spawn_probe second ping --silent-ms 300 -t 10000
	wait_for_probe_line second '^silent' 5000
	release_probe first
	finish_probe first 5
	finish_probe second 5
}

check_second_client_while_first_idle() {
	local model=$1
	case $model in
	blocking)
		start_server blocking
		expect_second_waits_for_first
		;;
	pool)
		start_server pool -w 2
		expect_second_served_while_first_idle
		stop_server
		start_server pool -w 1
		expect_second_waits_for_first
		;;
	*)
		start_server "$model"
		expect_second_served_while_first_idle
		;;
	esac
}

@test "serves a second client while the first is idle (blocking and pool -w 1: only after the first closes)" {
	for_each_model check_second_client_while_first_idle
}

# The memory a server may grow by while a client sends 64 MiB and never
# reads. A non-blocking model keeps at most one ECHO_BUF_BYTES (16 KiB)
# buffer per connection and stops reading a client whose buffer is full; a
# blocking model sits in write(2) with one 16 KiB buffer on a thread stack; a
# fork child adds its own private pages plus the shared pages VmRSS counts
# again (a few MiB). A server that kept reading would hold most of the 64 MiB
# (the kernel's socket buffers can hide at most the rest), so 8 MiB tells the
# two apart with room to spare.
HOG_RSS_BOUND_KIB=8192

check_hog_does_not_stall_others() {
	local model=$1 base_kib now_kib
	start_server "$model"
	# A warm-up client first, so one-off allocations are in the baseline.
	probe stream -n 256KiB -t 5000
	assert_success
	base_kib=$(rss_kib "$SERVER_PID")
	spawn_probe hog hog --hold -n 64MiB -t 20000
	wait_for_probe_line hog '^(stalled|sent) ' 15000
	if [[ $model == blocking ]]; then
		# Documented limitation: the server is stuck serving the hog.
		spawn_probe second ping --silent-ms 300 -t 10000
		wait_for_probe_line second '^silent' 5000
		now_kib=$(rss_kib "$SERVER_PID")
		release_probe hog
		finish_probe hog 5
		finish_probe second 5
	else
		probe stream -n 1MiB -t 5000
		assert_success
		now_kib=$(rss_kib "$SERVER_PID")
		release_probe hog
		finish_probe hog 5
	fi
	echo "# $model: rss ${base_kib} KiB before the hog, ${now_kib} KiB with it; hog: $(tail -n 1 "$BATS_TEST_TMPDIR/hog.out")"
	# The server stopped taking the hog's bytes (backpressure)...
	probe_said hog '^stalled ' || fail "the server took all 64 MiB of a client that never reads"
	# ...and did not buffer them.
	((now_kib - base_kib < HOG_RSS_BOUND_KIB)) ||
		fail "rss grew by $((now_kib - base_kib)) KiB (bound $HOG_RSS_BOUND_KIB KiB)"
}

@test "serves a second client while the first sends and never reads, with memory bounded (blocking: only after the hog leaves)" {
	for_each_model check_hog_does_not_stall_others
}

check_reset_client() {
	local model=$1
	start_server "$model"
	# The client sends 1 MiB, reads nothing and resets the connection while
	# the server still owes it echo: the server's read or write fails.
	probe reset -n 1MiB
	assert_success
	probe stream -n 256KiB -t 5000
	assert_success
	process_running "$SERVER_PID" || fail "the server died"
}

@test "a client that resets mid-stream is dropped alone and the server keeps serving" {
	for_each_model check_reset_client
}

fd_count_is() {
	[[ $(fd_count "$1") == "$2" ]]
}

check_descriptors_closed() {
	local model=$1 base_fds
	# shellcheck disable=SC2046
	start_server "$model" $(concurrent_opts "$model")
	base_fds=$(fd_count "$SERVER_PID")
	probe stream -c 20 -n 64KiB -t 20000
	assert_success
	probe reset -n 256KiB
	assert_success
	probe stream -n 0 -t 2000
	assert_success
	wait_until 3000 fd_count_is "$SERVER_PID" "$base_fds" ||
		fail "the server holds $(fd_count "$SERVER_PID") descriptors, $base_fds before the clients"
}

@test "closes each client's descriptor once the client has left" {
	for_each_model check_descriptors_closed
}

check_eintr_retried() {
	local model=$1
	start_server "$model"
	spawn_probe stream stream -c 4 -n 4MiB -s 11 -t 30000
	# SIGUSR1 does nothing but interrupt system calls. signal-storm sends it
	# to every thread of every process of the server, every 200 us, until
	# the clients are done.
	run "$TOOLS/signal-storm" -p "$SERVER_PID" -w "${PROBE_PIDS[stream]}" -t 30000
	assert_success
	echo "# $model: $output"
	finish_probe stream 5
	process_running "$SERVER_PID" || fail "the server died"
	probe ping -t 3000
	assert_success
}

@test "retries system calls interrupted by a signal (SIGUSR1 to every thread throughout a stream)" {
	for_each_model check_eintr_retried
}

# ---- stopping --------------------------------------------------------------------

check_stop_signals() {
	local model=$1 sig
	for sig in TERM INT; do
		start_server "$model"
		kill -"$sig" "$SERVER_PID"
		wait_for_exit "$SERVER_PID" 5
		echo "# SIG$sig, idle: exit $WAITED_STATUS"
		assert_equal "$WAITED_STATUS" 0

		# With a client connected and idle: a thread blocked in read must
		# not keep the server from stopping, and the client is shut down
		# (it sees the connection close), not left hanging.
		start_server "$model"
		spawn_probe idle ping --hold -t 10000
		wait_for_probe_line idle '^served$' 5000
		kill -"$sig" "$SERVER_PID"
		wait_for_exit "$SERVER_PID" 5
		echo "# SIG$sig, a client connected: exit $WAITED_STATUS"
		assert_equal "$WAITED_STATUS" 0
		wait_for_exit "${PROBE_PIDS[idle]}" 3
		run cat "$BATS_TEST_TMPDIR/idle.err"
		assert_output --partial "the server closed the connection while the client was idle"
	done
}

@test "exits 0 on SIGTERM and on SIGINT, idle or with a client connected, and closes that client" {
	for_each_model check_stop_signals
}

# ---- options ---------------------------------------------------------------------

check_usage_errors() {
	local model=$1 args
	for args in "-p notaport" "-p 65536" "-p" "--no-such-option" "-Z" "stray-argument"; do
		# shellcheck disable=SC2086 # each case is a list of words
		run_server "$model" $args
		assert_usage_error
	done
}

@test "a bad port, an unknown option or a missing argument exits 2 with usage on stderr and nothing on stdout" {
	for_each_model check_usage_errors
}

check_address_in_use() {
	local model=$1
	start_server "$model"
	run_server "$model" -p "$SERVER_PORT"
	assert_equal "$status" 1
	assert_equal "$output" ""
	assert_regex "$stderr" "127\.0\.0\.1.*$SERVER_PORT"
	# The first server is untouched.
	probe ping -t 3000
	assert_success
}

@test "an address in use exits 1 naming the address on stderr, and the first server keeps serving" {
	for_each_model check_address_in_use
}

check_help_and_version() {
	local model=$1 opt
	for opt in -h --help; do
		run_server "$model" "$opt"
		assert_success
		assert_regex "$output" '[Uu]sage'
		assert_output --partial "--port"
		assert_equal "$stderr" ""
	done
	for opt in -V --version; do
		run_server "$model" "$opt"
		assert_success
		assert_regex "$output" '[0-9]+\.[0-9]+'
		assert_equal "$stderr" ""
	done
}

@test "-h prints usage on stdout and -V a version, both exiting 0" {
	for_each_model check_help_and_version
}

check_workers_option() {
	local model=$1
	if [[ $model == pool ]]; then
		start_server pool -w 3
		probe ping -t 3000
		assert_success
	else
		run_server "$model" -w 3
		assert_usage_error
	fi
}

@test "-w is a usage error (exit 2) for every model but pool, which accepts it" {
	for_each_model check_workers_option
}

check_max_conns_option() {
	local model=$1
	start_server "$model" -m 3
	probe ping -t 3000
	assert_success
	if [[ $model == blocking ]]; then
		# README: blocking accepts -m for uniformity and still serves
		# exactly one client at a time.
		expect_second_waits_for_first
	fi
}

@test "-m is accepted by every model (blocking still serves one client at a time)" {
	for_each_model check_max_conns_option
}

# ---- caps and shedding -----------------------------------------------------------

check_max_conns_sheds() {
	local model=$1
	case $model in
	blocking)
		# No cap: one client at a time, and the next ones wait, never shed.
		start_server blocking
		expect_second_waits_for_first
		return
		;;
	pool)
		# For pool -m bounds the queue of accepted connections: with both
		# workers busy the third waits in the queue; it is not shed.
		start_server pool -w 2 -m 1
		;;
	*)
		start_server "$model" -m 2
		;;
	esac
	spawn_probe first ping --hold -t 10000
	spawn_probe second ping --hold -t 10000
	wait_for_probe_line first '^served$' 5000
	wait_for_probe_line second '^served$' 5000
	if [[ $model == pool ]]; then
		spawn_probe third ping --silent-ms 300 -t 10000
		wait_for_probe_line third '^silent' 5000
		release_probe first
		finish_probe third 5
	else
		probe shed -t 2000
		assert_success
		release_probe first
	fi
	release_probe second
	finish_probe first 5
	finish_probe second 5
	# Once they have left, new clients are served again.
	wait_until 3000 served_again_eventually
}

@test "with -m 2 a third concurrent client is shed at once and the first two are still served (pool -m queues it instead; blocking makes it wait)" {
	for_each_model check_max_conns_sheds
}

# Out of descriptors (EMFILE): tests/robustness.bats, "out of descriptors it
# keeps serving...", checks the shedding, the kept clients, the first client
# after, a second round and the absence of spinning, over every model.

check_fd_setsize() {
	local model=$1 clients=1100
	start_server "$model"
	spawn_probe crowd crowd -c "$clients" --hold --settle-ms 1000 -t 20000
	wait_for_probe_line crowd '^crowd ' 20000
	crowd_counts crowd
	assert_equal "$CROWD_WAITING" 0
	if [[ $model == select ]]; then
		((CROWD_SHED >= 1)) || fail "select kept $CROWD_SERVED connections, past FD_SETSIZE"
		((CROWD_SERVED > 1000)) || fail "select served only $CROWD_SERVED"
	else
		assert_equal "$CROWD_SERVED" "$clients"
	fi
	release_probe crowd
	finish_probe crowd 20
}

@test "select refuses connections whose descriptor would reach FD_SETSIZE and serves the others; poll and epoll serve all 1100" {
	(($(ulimit -Hn) >= 2300)) || skip "the descriptor limit is too low for 1100 clients"
	local MODELS=()
	local model
	for model in select poll epoll-lt epoll-et; do
		[[ " ${SERVER_MODELS:-${ALL_MODELS[*]}} " == *" $model "* ]] && MODELS+=("$model")
	done
	((${#MODELS[@]} > 0)) || skip "no event-loop model in SERVER_MODELS"
	for_each_model check_fd_setsize
}

# ---- model-specific --------------------------------------------------------------

accepted_count_is() {
	[[ $(trace_count accept) == "$1" ]]
}

# refute_probe_line_within NAME REGEX MS: probe NAME must not print a line
# matching REGEX for MS ms (a deliberate window: it asserts an absence).
refute_probe_line_within() {
	local deadline_ms=$(($(now_ms) + $3))
	while (($(now_ms) < deadline_ms)); do
		if probe_said "$1" "$2"; then
			echo "probe $1 printed /$2/ within $3 ms" >&2
			show_probe "$1"
			return 1
		fi
		sleep 0.01
	done
}

@test "pool -w 1 -m 1: while A is served, B is accepted into the queue without echo and C is not accepted (listen backlog); A closing serves B, then B closing serves C" {
	require_model pool
	start_server pool -w 1 -m 1 -v
	spawn_probe A ping --hold -t 15000
	wait_for_probe_line A '^served$' 5000
	# B: accepted (the trace shows a second accept) but not served.
	spawn_probe B ping --silent-ms 300 --hold -t 15000
	wait_until 3000 accepted_count_is 2
	wait_for_probe_line B '^silent' 5000
	# C: the queue is full, so C is not even accepted.
	spawn_probe C ping --silent-ms 300 -t 15000
	wait_for_probe_line C '^silent' 5000
	assert_equal "$(trace_count accept)" 2
	# A leaves: B is served, C still waits while B holds the worker.
	release_probe A
	finish_probe A 5
	wait_for_probe_line B '^served$' 5000
	refute_probe_line_within C '^served$' 300
	assert_probe_running C
	# B leaves: C is served.
	release_probe B
	finish_probe B 5
	finish_probe C 5
	assert_equal "$(trace_count accept)" 3
}

no_children() {
	[[ -z $(children_of "$1") ]]
}

@test "fork serves each client in a child process and reaps every child once its client disconnects (no zombies)" {
	require_model fork
	start_server fork
	spawn_probe first ping --hold -t 10000
	spawn_probe second ping --hold -t 10000
	wait_for_probe_line first '^served$' 5000
	wait_for_probe_line second '^served$' 5000
	run children_of "$SERVER_PID"
	assert_equal "${#lines[@]}" 2
	release_probe first
	release_probe second
	finish_probe first 5
	finish_probe second 5
	probe stream -c 10 -n 64KiB -t 10000
	assert_success
	probe reset -n 256KiB
	assert_success
	wait_until 3000 no_children "$SERVER_PID" || {
		echo "children left: $(children_of "$SERVER_PID" | tr '\n' ' ')" >&2
		echo "zombies among them: $(zombie_children "$SERVER_PID" | tr '\n' ' ')" >&2
		false
	}
}

@test "fork children exit when the parent is killed, even by SIGKILL (no orphans)" {
	require_model fork
	start_server fork
	spawn_probe first ping --hold -t 10000
	spawn_probe second ping --hold -t 10000
	wait_for_probe_line first '^served$' 5000
	wait_for_probe_line second '^served$' 5000
	local children child
	children=$(children_of "$SERVER_PID")
	[[ -n $children ]] || fail "no child processes"
	kill -KILL "$SERVER_PID"
	for child in $children; do
		wait_until 3000 process_gone "$child" ||
			fail "child $child still runs after its parent was killed"
	done
	# And their clients are closed, not left hanging.
	wait_for_exit "${PROBE_PIDS[first]}" 3
	run cat "$BATS_TEST_TMPDIR/first.err"
	assert_output --partial "the server closed the connection"
}

# ---- tracing ---------------------------------------------------------------------

# Seconds, thread id, event, fd=N, key=value details ("%10.6f %7d %-8s
# fd=%-5d ..."), with the events the README lists.
TRACE_EVENTS='listen|accept|shed|fork|thread|queue|serve|wait|scan|again|budget|readable|writable|read|write|eof|error|close|stop'
TRACE_LINE="^ *[0-9]+\.[0-9]{6} +[0-9]+ ($TRACE_EVENTS) +fd=-?[0-9]+( +[a-z_]+=[^ ]*)*\$"

trace_has_close() {
	(($(trace_count close) >= 1))
}

check_trace() {
	local model=$1 event
	start_server "$model" -v
	probe ping -t 3000
	assert_success
	wait_until 3000 trace_has_close
	for event in listen accept read write close; do
		(($(trace_count "$event") >= 1)) || fail "no '$event' line in the -v trace"
	done
	# Every line on stderr is a trace line in the documented format.
	run grep -vE "$TRACE_LINE" "$SERVER_ERR"
	assert_output ""
}

@test "-v traces listen, accept, read, write and close, one line each in the documented format" {
	for_each_model check_trace
}
