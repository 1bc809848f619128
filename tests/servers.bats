#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # bats run sets status, output, stderr
# shellcheck disable=SC2153 # TRANSPORT: set by for_each_model (test_helper.bash)
# The echo servers against their contract (README.md, "What every server
# guarantees (and the tests check)").
#
# One suite for every model: each @test runs one check_* function over every
# model with for_each_model, which runs them all and names the models that
# failed. Where a model cannot have a behaviour (blocking serves one client
# at a time; pool and prefork with one worker queue), the check asserts the
# documented opposite for that model, so the limitation is tested, not
# skipped. A model that cannot run here (uring or libevent built without
# their library, io_uring unavailable: bench/models.sh) is skipped, with the
# reason in the test's output.
#
# The client side is build/tests/echo-probe (tests/tools/echo-probe.c): every
# byte it gets back is checked, and every wait it makes has a deadline.
# SERVER_MODELS="poll epoll-et" bats tests/servers.bats runs a subset.

bats_require_minimum_version 1.5.0

load test_helper

setup() {
	[[ -x "$PROBE" && -x "$TOOLS/signal-storm" && -x "$TOOLS/no-uring" ]] ||
		fail "the test tools in build/tests are missing: run make first"
}

teardown() {
	stop_tracked_processes
}

# run_server MODEL ARGS...: runs a server that is expected to exit at once
# (usage, -h, address in use), with a deadline; sets status, output, stderr.
# Its status and stderr (with with_deadline's word on a hang) are printed,
# for a failure message.
run_server() {
	local model=$1
	shift
	echo "# echo-$model $*"
	run --separate-stderr with_deadline "$WAIT_S" "$SERVERS_DIR/echo-$model" "$@"
	echo "# exit $status; stderr: $stderr"
}

# A usage error: exit 2, usage on stderr, nothing on stdout.
assert_usage_error() {
	assert_equal "$status" 2
	assert_equal "$output" ""
	assert_regex "$stderr" '[Uu]sage'
}

# ---- readiness and addresses ---------------------------------------------------

# usable_cores: the CPUs this shell may run on (what the servers' "one per
# usable core" default counts: sched_getaffinity, as nproc does).
usable_cores() {
	env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc
}

# default_listeners MODEL: how many listening sockets MODEL opens by default.
# reactors has one per reactor (SO_REUSEPORT, all on the same address), one
# reactor per usable core; every other model one (prefork's workers share
# their parent's).
default_listeners() {
	if [[ $1 == reactors ]]; then usable_cores; else echo 1; fi
}

# assert_listeners PID ADDR COUNT: PID holds COUNT listening TCP sockets, and
# every one of them is on ADDR.
assert_listeners() {
	local addr n=0 all
	all=$(listening_addresses "$1")
	while read -r addr; do
		[[ -n $addr ]] || continue
		n=$((n + 1))
		[[ $addr == "$2" ]] || fail "a listener on $addr; expected every one on $2 (all: ${all//$'\n'/ })"
	done <<<"$all"
	((n == $3)) || fail "$n listener(s) on $2, expected $3"
}

# unix_listener_of PID PATH: PID holds a listening Unix-domain socket bound
# to PATH. ss asks the kernel for the owner too; without ss, /proc/net/unix
# must list a listening socket (flag __SO_ACCEPTCON, 00010000) at PATH whose
# inode is among PID's descriptors.
unix_listener_of() {
	local link inodes=" "
	if command -v ss >/dev/null; then
		ss -Hlxp | awk -v path="$2" -v owner="pid=$1," '$5 == path && index($0, owner) { found = 1 }
			END { exit !found }'
		return
	fi
	for link in "/proc/$1/fd/"*; do
		link=$(readlink "$link" 2>/dev/null) || continue
		[[ $link =~ ^socket:\[([0-9]+)\]$ ]] && inodes+="${BASH_REMATCH[1]} "
	done
	awk -v path="$2" -v inodes="$inodes" '$8 == path && $4 == "00010000" && index(inodes, " " $7 " ") { found = 1 }
		END { exit !found }' /proc/net/unix
}

check_readiness_line() {
	local model=$1
	start_server "$model"
	# Exactly one line on stdout.
	run cat "$SERVER_OUT"
	assert_output "$SERVER_LINE"
	if [[ $TRANSPORT == unix ]]; then
		assert_equal "$SERVER_LINE" "listening on unix:$SERVER_SOCK ($model)"
		[[ -S $SERVER_SOCK ]] || fail "$SERVER_SOCK is not a socket"
		unix_listener_of "$SERVER_PID" "$SERVER_SOCK" || fail "pid $SERVER_PID does not listen on $SERVER_SOCK"
		return
	fi
	assert_regex "$SERVER_LINE" "^listening on 127\.0\.0\.1:[1-9][0-9]* \($model\)$"
	# Bound to loopback only, on the port the line names (reactors: each of
	# its listeners).
	assert_listeners "$SERVER_PID" "127.0.0.1:$SERVER_PORT" "$(default_listeners "$model")"
}

@test "prints one readiness line naming the model and listens on 127.0.0.1 by default (reactors: one listener per core, all on that address); with -u PATH, on that Unix-domain socket, the line 'listening on unix:PATH (model)'" {
	for_each_model check_readiness_line
}

check_ipv6_loopback() {
	local model=$1
	start_server "$model" -b ::1
	assert_regex "$SERVER_LINE" "^listening on \[::1\]:[1-9][0-9]* \($model\)$"
	assert_listeners "$SERVER_PID" "[::1]:$SERVER_PORT" "$(default_listeners "$model")"
	probe -H ::1 stream -n 64KiB -t "$WAIT_MS"
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
	tcp_only
	for_each_model check_wildcard_warning
}

@test "-b ::1 listens on the IPv6 loopback, says [::1]:PORT and echoes" {
	grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null || skip "no IPv6 loopback here"
	tcp_only
	for_each_model check_ipv6_loopback
}

# ---- echo ------------------------------------------------------------------------

# Options that let a model serve many clients at once; the worker counts of
# the models with workers that serve one client each (bench/models.txt:
# pool, prefork) bound their concurrency (prefork's default is one worker
# per core), so give them more workers than the tests' clients.
concurrent_opts() {
	[[ -z $(model_workers "$1") ]] || echo "-w 32"
	return 0
}

check_all_byte_values() {
	local model=$1
	start_server "$model"
	# 0, 1, ..., 255, 0, 1, ... in random chunk sizes, then one byte per write.
	probe stream --pattern bytes -n 4KiB -t "$WAIT_MS"
	assert_success
	assert_output --partial "ok clients=1 bytes_each=4096"
	probe stream --pattern bytes -n 256 --max-chunk 1 -t "$WAIT_MS"
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
	local model=$1 kib=256
	start_server "$model"
	# The client reads nothing until it has sent 256 KiB and shut down its
	# write side, so the FIN reaches the server behind data it has not
	# echoed yet: every byte must still come back, then EOF. (256 KiB fits in
	# the socket buffers on the way, so a correct server cannot deadlock.)
	# A Unix stream socket holds less: each direction at most the sender's
	# SO_SNDBUF (net.core.wmem_default, 208 KiB) of buffer memory, which
	# counts each write's overhead too (up to twice its bytes for small
	# ones). 64 KiB fits in one direction even so.
	[[ $TRANSPORT == tcp ]] || kib=64
	probe stream -n "${kib}KiB" --read after-send -t 10000
	assert_success
	assert_output --partial "ok clients=1 bytes_each=$((kib * 1024))"
}

@test "after a half-close it sends every byte it still owes, then EOF" {
	for_each_model check_half_close_after_data
}

check_half_close_no_data() {
	local model=$1
	start_server "$model"
	# The bound is the test's: the server reads the FIN and closes, one
	# wake-up, milliseconds even on a loaded machine, so 2 s is far from it.
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
	spawn_probe first ping --hold -t "$HOLD_MS"
	wait_for_probe_line first '^served$' "$WAIT_MS"
	probe ping -t "$WAIT_MS"
	assert_success
	release_probe first
	finish_probe first "$WAIT_S"
}

# The opposite, for a model that serves one client at a time: the second is
# not served while the first stays connected, and is once the first closes.
expect_second_waits_for_first() {
	spawn_probe first ping --hold -t "$HOLD_MS"
	wait_for_probe_line first '^served$' "$WAIT_MS"
	spawn_probe second ping --silent-ms 300 -t "$HOLD_MS"
	wait_for_probe_line second '^silent' "$WAIT_MS"
	release_probe first
	finish_probe first "$WAIT_S"
	finish_probe second "$WAIT_S"
}

check_second_client_while_first_idle() {
	local model=$1
	# bench/models.txt: blocking serves one client at a time; pool's and
	# prefork's workers each serve one client at a time.
	if model_one_client "$model"; then
		start_server "$model"
		expect_second_waits_for_first
	elif [[ -n $(model_workers "$model") ]]; then
		start_server "$model" -w 2
		expect_second_served_while_first_idle
		stop_server
		start_server "$model" -w 1
		expect_second_waits_for_first
	else
		start_server "$model"
		expect_second_served_while_first_idle
	fi
}

@test "serves a second client while the first is idle (blocking, pool -w 1 and prefork -w 1: only after the first closes)" {
	for_each_model check_second_client_while_first_idle
}

# What an idle connection costs the server in user memory: bench/models.txt's
# idle_kib, per model. An event loop's connection is a small struct; its
# 16 KiB echo buffer comes from lib/echo.h's pool only while bytes are held,
# so a connection that sends nothing holds none (before the pool each held
# one, and the malloc header beside it touched a page: 4 KiB each). N idle
# connections (10,000; select: what FD_SETSIZE leaves) are held by one load
# generator, after a warm-up that puts the one-off allocations in the
# baseline; the tree's RSS with them open, less the baseline, over N is the
# cost per connection. The struct and the kernel-facing arrays (poll's
# pollfd, epoll's events) are tens of bytes: the model's bound is what a
# correct program cannot exceed unless it holds a buffer page per
# connection (4 KiB).
IDLE_CONNS=10000

check_idle_memory() {
	local model=$1 bound n=$IDLE_CONNS base_kib held_kib holder out="$BATS_TEST_TMPDIR/idle.json"
	bound=$(model_idle_kib "$model")
	[[ -z $(model_max_conns "$model") ]] || n=$(($(model_max_conns "$model") - 16))
	start_server "$model"
	"$BIN/loadgen" "${SERVER_AT[@]}" -c 4 -W 0 -d 200ms -q >/dev/null
	base_kib=$(tree_rss_kib "$SERVER_PID")
	"$BIN/loadgen" "${SERVER_AT[@]}" -c 1 -r 10 --idle "$n" -W 0 -d 4s --connect-timeout 10s \
		--format json -q >"$out" 2>&1 &
	holder=$!
	track_pid "$holder"
	# Every connection accepted: the tree holds at least n descriptors.
	wait_until 20000 idle_conns_held "$SERVER_PID" "$n"
	held_kib=$(tree_rss_kib "$SERVER_PID")
	wait_for_exit "$holder" 30
	run jq -e --argjson n "$n" '.complete and (.errors | add) == 0 and .idle == $n' "$out"
	assert_success
	echo "# $model: rss ${base_kib} KiB, ${held_kib} KiB with $n idle connections: $(awk -v d=$((held_kib - base_kib)) -v n="$n" 'BEGIN { printf "%.2f", d / n }') KiB each (bound $bound)"
	# Under a sanitizer: rss_bound_kib (tests/test_helper.bash).
	local limit_kib
	limit_kib=$(rss_bound_kib "$(awk -v b="$bound" -v n="$n" 'BEGIN { printf "%d", b * n }')")
	((held_kib - base_kib <= limit_kib)) ||
		fail "$n idle connections cost $((held_kib - base_kib)) KiB, more than $bound KiB each ($limit_kib KiB)"
}

# idle_conns_held PID N: the process tree PID holds N descriptors or more.
idle_conns_held() {
	(($(tree_fd_count "$1") >= $2))
}

@test "an idle connection costs an event loop at most 0.5 KiB of user memory (10,000 held)" {
	[[ -x "$BIN/loadgen" ]] || fail "bin/loadgen is missing: run make"
	(($(ulimit -Hn) >= IDLE_CONNS + 100)) ||
		skip "the descriptor limit ($(ulimit -Hn)) cannot hold $IDLE_CONNS connections"
	local model bounded=()
	for model in "${MODELS[@]}"; do
		[[ -z $(model_idle_kib "$model") ]] || bounded+=("$model")
	done
	restrict_models "${bounded[@]}"
	tcp_only # a connection's memory in the server does not depend on its transport
	for_each_model check_idle_memory
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
	# shellcheck disable=SC2046 # the options are words
	start_server "$model" $(concurrent_opts "$model")
	# A warm-up client first, so one-off allocations are in the baseline.
	probe stream -n 256KiB -t "$WAIT_MS"
	assert_success
	base_kib=$(tree_rss_kib "$SERVER_PID")
	spawn_probe hog hog --hold -n 64MiB -t "$HOLD_MS"
	wait_for_probe_line hog '^(stalled|sent) ' "$WAIT_MS"
	if model_one_client "$model"; then
		# Documented limitation: the server is stuck serving the hog.
		spawn_probe second ping --silent-ms 300 -t "$HOLD_MS"
		wait_for_probe_line second '^silent' "$WAIT_MS"
		now_kib=$(tree_rss_kib "$SERVER_PID")
		release_probe hog
		finish_probe hog "$WAIT_S"
		finish_probe second "$WAIT_S"
	else
		probe stream -n 1MiB -t "$WAIT_MS"
		assert_success
		now_kib=$(tree_rss_kib "$SERVER_PID")
		release_probe hog
		finish_probe hog "$WAIT_S"
	fi
	echo "# $model: rss ${base_kib} KiB before the hog, ${now_kib} KiB with it; hog: $(tail -n 1 "$BATS_TEST_TMPDIR/hog.out")"
	# The server stopped taking the hog's bytes (backpressure)...
	probe_said hog '^stalled ' || fail "the server took all 64 MiB of a client that never reads"
	# ...and did not buffer them.
	# Under a sanitizer: rss_bound_kib (tests/test_helper.bash).
	((now_kib - base_kib < $(rss_bound_kib "$HOG_RSS_BOUND_KIB"))) ||
		fail "rss grew by $((now_kib - base_kib)) KiB (bound $(rss_bound_kib "$HOG_RSS_BOUND_KIB") KiB)"
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
	probe stream -n 256KiB -t "$WAIT_MS"
	assert_success
	process_running "$SERVER_PID" || fail "the server died"
}

@test "a client that resets mid-stream is dropped alone and the server keeps serving" {
	for_each_model check_reset_client
}

# Descriptors of every process of the server: prefork's (and fork's)
# clients are in the descriptor tables of its worker (child) processes.
fd_count_is() {
	[[ $(tree_fd_count "$1") == "$2" ]]
}

check_descriptors_closed() {
	local model=$1 base_fds
	# shellcheck disable=SC2046
	start_server "$model" $(concurrent_opts "$model")
	[[ $model != prefork ]] || wait_until "$WAIT_MS" children_count_is "$SERVER_PID" 32
	base_fds=$(tree_fd_count "$SERVER_PID")
	probe stream -c 20 -n 64KiB -t 20000
	assert_success
	probe reset -n 256KiB
	assert_success
	probe stream -n 0 -t "$WAIT_MS"
	assert_success
	wait_until "$WAIT_MS" fd_count_is "$SERVER_PID" "$base_fds" ||
		fail "the server holds $(tree_fd_count "$SERVER_PID") descriptors, $base_fds before the clients"
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
	finish_probe stream "$WAIT_S"
	process_running "$SERVER_PID" || fail "the server died"
	probe ping -t "$WAIT_MS"
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
		wait_for_exit "$SERVER_PID" "$WAIT_S"
		echo "# SIG$sig, idle: exit $WAITED_STATUS"
		assert_equal "$WAITED_STATUS" 0
		assert_socket_file_removed

		# With a client connected and idle: a thread blocked in read must
		# not keep the server from stopping, and the client is shut down
		# (it sees the connection close), not left hanging.
		start_server "$model"
		spawn_probe idle ping --hold -t "$HOLD_MS"
		wait_for_probe_line idle '^served$' "$WAIT_MS"
		kill -"$sig" "$SERVER_PID"
		wait_for_exit "$SERVER_PID" "$WAIT_S"
		echo "# SIG$sig, a client connected: exit $WAITED_STATUS"
		assert_equal "$WAITED_STATUS" 0
		assert_socket_file_removed
		wait_for_exit "${PROBE_PIDS[idle]}" "$WAIT_S"
		run cat "$BATS_TEST_TMPDIR/idle.err"
		assert_output --partial "the server closed the connection while the client was idle"
	done
}

@test "exits 0 on SIGTERM and on SIGINT, idle or with a client connected, and closes that client (over a Unix socket, the socket file is gone)" {
	for_each_model check_stop_signals
}

# ---- options ---------------------------------------------------------------------

check_usage_errors() {
	local model=$1 args long_path
	for args in "-p notaport" "-p 65536" "-p" "--no-such-option" "-Z" "stray-argument" "-u"; do
		# shellcheck disable=SC2086 # each case is a list of words
		run_server "$model" $args
		assert_usage_error
	done
	# A socket path is at most 107 bytes (sun_path and its NUL).
	long_path=$BATS_TEST_TMPDIR/$(printf 'x%.0s' {1..120})
	for args in "" "$long_path"; do
		run_server "$model" -u "$args"
		assert_usage_error
		assert_regex "$stderr" "-u/--unix"
	done
}

@test "a bad port, an unknown option, a missing argument or an empty or too long -u path exits 2 with usage on stderr and nothing on stdout" {
	tcp_only
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
	probe ping -t "$WAIT_MS"
	assert_success
}

@test "an address in use exits 1 naming the address on stderr, and the first server keeps serving" {
	tcp_only
	for_each_model check_address_in_use
}

# assert_socket_file_removed: after a clean stop over a Unix socket, its
# file is gone (nothing to check over TCP).
assert_socket_file_removed() {
	[[ -z ${SERVER_SOCK:-} ]] || [[ ! -e $SERVER_SOCK ]] ||
		fail "$SERVER_SOCK is still there after a clean stop"
}

# kill_tree_hard PID: SIGKILL to PID, and waits until it and every process
# of its tree (workers and children holding the listener) are gone.
kill_tree_hard() {
	local pid
	# shellcheck disable=SC2046 # one pid per word
	set -- $(tree_pids "$1")
	kill -KILL "$1"
	for pid in "$@"; do
		wait_until "$WAIT_MS" process_gone "$pid"
	done
}

# What a path may already be when a server is told to listen there (-u): a
# live server's socket, a socket nobody listens on any more, another file.
check_unix_path_taken() {
	local model=$1 path file="$BATS_TEST_TMPDIR/not-a-socket"
	start_server "$model"
	path=$SERVER_SOCK
	# Held by a live server: refused (exit 1, the path named); the first
	# keeps serving, its socket file in place.
	run_server "$model" -u "$path"
	assert_equal "$status" 1
	assert_equal "$output" ""
	assert_regex "$stderr" "unix:$path: address in use"
	[[ -S $path ]] || fail "the live server's socket file $path is gone"
	probe ping -t "$WAIT_MS"
	assert_success
	# Its server killed (nobody removes the file): a stale socket, replaced.
	kill_tree_hard "$SERVER_PID"
	[[ -S $path ]] || fail "after a SIGKILL the socket file should still be there"
	SOCK_AT=$path start_server "$model"
	run cat "$SERVER_ERR"
	assert_output --partial "removing the stale socket file"
	probe ping -t "$WAIT_MS"
	assert_success
	stop_server
	assert_equal "$SERVER_STATUS" 0
	assert_socket_file_removed
	# Not a socket: refused, and left as it was.
	echo "precious data" >"$file"
	run_server "$model" -u "$file"
	assert_equal "$status" 1
	assert_regex "$stderr" "unix:$file: .*not a socket"
	run cat "$file"
	assert_output "precious data"
}

@test "-u PATH: a path a live server holds is refused (exit 1, the path named), a stale socket file is replaced, and a path that is not a socket is refused and left untouched" {
	unix_only
	for_each_model check_unix_path_taken
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
	tcp_only
	for_each_model check_help_and_version
}

# threads_count_is PID N: the process has N threads.
threads_count_is() {
	[[ $(awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null) == "$2" ]]
}

check_workers_option() {
	local model=$1
	case $model in
	pool)
		start_server pool -w 3
		;;
	prefork)
		# Three worker processes, children of the server.
		start_server prefork -w 3
		wait_until "$WAIT_MS" children_count_is "$SERVER_PID" 3
		;;
	reactors)
		# Three reactors, each with its own listener on the one port.
		start_server reactors -w 3
		assert_listeners "$SERVER_PID" "127.0.0.1:$SERVER_PORT" 3
		;;
	epoll-procs)
		# Three worker processes, children of the server.
		start_server epoll-procs -w 3
		wait_until "$WAIT_MS" children_count_is "$SERVER_PID" 3
		;;
	leader-follower)
		# Three threads taking turns as the leader, and the main thread
		# (and under ThreadSanitizer its own background thread).
		local threads=4
		[[ ${SANITIZER:-} != tsan ]] || threads=5
		start_server leader-follower -w 3
		wait_until "$WAIT_MS" threads_count_is "$SERVER_PID" "$threads"
		;;
	*)
		run_server "$model" -w 3
		assert_usage_error
		return
		;;
	esac
	probe ping -t "$WAIT_MS"
	assert_success
	stop_server
	assert_equal "$SERVER_STATUS" 0
}

@test "-w is accepted by pool, prefork and epoll-procs (worker processes), reactors (reactor threads, one listener each) and leader-follower (threads taking turns) and a usage error (exit 2) for every other model" {
	tcp_only
	for_each_model check_workers_option
}

# A model's own option: --reuseport (prefork: one listener per worker).
check_reuseport_option() {
	local model=$1
	if [[ $model == prefork ]]; then
		start_server "$model" --reuseport
		probe stream -n 256KiB -t "$WAIT_MS"
		assert_success
		stop_server
		assert_equal "$SERVER_STATUS" 0
		# No SO_REUSEPORT for a Unix-domain socket.
		run_server "$model" --reuseport -u "$BATS_TEST_TMPDIR/reuseport.sock"
		assert_usage_error
		assert_regex "$stderr" "--reuseport needs TCP"
	else
		run_server "$model" --reuseport
		assert_usage_error
	fi
}

@test "--reuseport is accepted by prefork only (and not with -u): a usage error (exit 2) for every other model" {
	tcp_only
	for_each_model check_reuseport_option
}

check_max_conns_option() {
	local model=$1
	start_server "$model" -m 3
	probe ping -t "$WAIT_MS"
	assert_success
	if model_one_client "$model"; then
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
	prefork)
		# prefork accepts -m and ignores it: its cap is -w. Two workers
		# serve two clients (-m 1 does not shed the second), and the third
		# waits in the listen backlog until one leaves.
		start_server prefork -w 2 -m 1
		;;
	*)
		start_server "$model" -m 2
		;;
	esac
	spawn_probe first ping --hold -t "$HOLD_MS"
	spawn_probe second ping --hold -t "$HOLD_MS"
	wait_for_probe_line first '^served$' "$WAIT_MS"
	wait_for_probe_line second '^served$' "$WAIT_MS"
	if [[ $model == pool || $model == prefork ]]; then
		spawn_probe third ping --silent-ms 300 -t "$HOLD_MS"
		wait_for_probe_line third '^silent' "$WAIT_MS"
		release_probe first
		finish_probe third "$WAIT_S"
	else
		# "At once": a shed is an accept and a close, milliseconds even on
		# a loaded machine; 2 s is far beyond that and far short of a
		# client left waiting, which is never closed.
		probe shed -t 2000
		assert_success
		release_probe first
	fi
	release_probe second
	finish_probe first "$WAIT_S"
	finish_probe second "$WAIT_S"
	# Once they have left, new clients are served again.
	wait_until "$WAIT_MS" served_again_eventually
}

@test "with -m 2 a third concurrent client is shed at once and the first two are still served (pool -m queues it instead; prefork's cap is -w, the third waits; blocking makes it wait)" {
	for_each_model check_max_conns_sheds
}

# Out of descriptors (EMFILE): tests/robustness.bats, "out of descriptors it
# keeps serving...", checks the shedding, the kept clients, the first client
# after, a second round and the absence of spinning, over every model.

check_fd_setsize() {
	local model=$1 clients=1100
	start_server "$model"
	spawn_probe crowd crowd -c "$clients" --hold --settle-ms 1000 -t "$HOLD_MS"
	wait_for_probe_line crowd '^crowd ' "$WAIT_MS"
	crowd_counts crowd
	assert_equal "$CROWD_WAITING" 0
	if [[ $model == select ]]; then
		((CROWD_SHED >= 1)) || fail "select kept $CROWD_SERVED connections, past FD_SETSIZE"
		((CROWD_SERVED > 1000)) || fail "select served only $CROWD_SERVED"
	else
		assert_equal "$CROWD_SERVED" "$clients"
	fi
	release_probe crowd
	finish_probe crowd "$WAIT_S"
}

@test "select refuses connections whose descriptor would reach FD_SETSIZE and serves the others; poll, epoll, reactors, the io_uring models, libevent, coroutine and leader-follower serve all 1100" {
	(($(ulimit -Hn) >= 2300)) || skip "the descriptor limit is too low for 1100 clients"
	# The models that hold every client in one process's descriptor table;
	# blocking, fork, thread, pool and prefork are the descriptor test's
	# (tests/robustness.bats).
	restrict_models select poll epoll-lt epoll-et reactors uring uring-multishot libevent \
		coroutine leader-follower
	for_each_model check_fd_setsize
}

@test "coroutine: a connection whose stack cannot be mapped is shed (reason=no-stack), and the server keeps serving" {
	require_model coroutine
	[[ -z ${SANITIZER:-} ]] || skip "an address-space cap would starve the sanitizer's own mappings"
	local vm_kib
	start_server coroutine -v
	spawn_probe first crowd -c 4 --hold --settle-ms 500 -t "$HOLD_MS"
	wait_for_probe_line first '^crowd ' "$WAIT_MS"
	crowd_counts first
	assert_equal "$CROWD_SERVED" 4
	# The address space capped (the soft limit: the hard one could not be
	# raised again) at what the server has mapped now, plus 32 KiB: less
	# than one coroutine stack (64 KiB and its guard page).
	vm_kib=$(awk '/^VmSize:/ { print $2 }' "/proc/$SERVER_PID/status")
	prlimit --pid "$SERVER_PID" --as=$(((vm_kib + 32) * 1024)):unlimited
	spawn_probe second crowd -c 3 --hold --settle-ms 500 -t "$HOLD_MS"
	wait_for_probe_line second '^crowd ' "$WAIT_MS"
	crowd_counts second
	assert_equal "$CROWD_SHED" 3
	(($(grep -c ' shed .*reason=no-stack' "$SERVER_ERR") == 3)) ||
		fail "not three 'shed ... reason=no-stack' lines in the trace"
	# With the cap lifted, new clients are served again, beside the four.
	prlimit --pid "$SERVER_PID" --as=unlimited
	wait_until "$WAIT_MS" served_again_eventually
	release_probe first
	finish_probe first "$WAIT_S"
	release_probe second
	finish_probe second "$WAIT_S"
	stop_server
	assert_equal "$SERVER_STATUS" 0
}

# ---- model-specific --------------------------------------------------------------

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
	spawn_probe A ping --hold -t "$HOLD_MS"
	wait_for_probe_line A '^served$' "$WAIT_MS"
	# B: accepted (the trace shows a second accept) but not served.
	spawn_probe B ping --silent-ms 300 --hold -t "$HOLD_MS"
	wait_until "$WAIT_MS" accepted_count_is 2
	wait_for_probe_line B '^silent' "$WAIT_MS"
	# C: the queue is full, so C is not even accepted.
	spawn_probe C ping --silent-ms 300 -t "$HOLD_MS"
	wait_for_probe_line C '^silent' "$WAIT_MS"
	assert_equal "$(trace_count accept)" 2
	# A leaves: B is served, C still waits while B holds the worker.
	release_probe A
	finish_probe A "$WAIT_S"
	wait_for_probe_line B '^served$' "$WAIT_MS"
	refute_probe_line_within C '^served$' 300
	assert_probe_running C
	# B leaves: C is served.
	release_probe B
	finish_probe B "$WAIT_S"
	finish_probe C "$WAIT_S"
	assert_equal "$(trace_count accept)" 3
}

no_children() {
	[[ -z $(children_of "$1") ]]
}

@test "fork serves each client in a child process and reaps every child once its client disconnects (no zombies)" {
	require_model fork
	start_server fork
	spawn_probe first ping --hold -t "$HOLD_MS"
	spawn_probe second ping --hold -t "$HOLD_MS"
	wait_for_probe_line first '^served$' "$WAIT_MS"
	wait_for_probe_line second '^served$' "$WAIT_MS"
	run children_of "$SERVER_PID"
	assert_equal "${#lines[@]}" 2
	release_probe first
	release_probe second
	finish_probe first "$WAIT_S"
	finish_probe second "$WAIT_S"
	probe stream -c 10 -n 64KiB -t 10000
	assert_success
	probe reset -n 256KiB
	assert_success
	wait_until "$WAIT_MS" no_children "$SERVER_PID" || {
		echo "children left: $(children_of "$SERVER_PID" | tr '\n' ' ')" >&2
		echo "zombies among them: $(zombie_children "$SERVER_PID" | tr '\n' ' ')" >&2
		false
	}
}

@test "fork children exit when the parent is killed, even by SIGKILL (no orphans)" {
	require_model fork
	start_server fork
	spawn_probe first ping --hold -t "$HOLD_MS"
	spawn_probe second ping --hold -t "$HOLD_MS"
	wait_for_probe_line first '^served$' "$WAIT_MS"
	wait_for_probe_line second '^served$' "$WAIT_MS"
	local children child
	children=$(children_of "$SERVER_PID")
	[[ -n $children ]] || fail "no child processes"
	# Tracked, so that teardown ends any orphan this test finds.
	for child in $children; do
		track_pid "$child"
	done
	kill -KILL "$SERVER_PID"
	for child in $children; do
		wait_until "$WAIT_MS" process_gone "$child" ||
			fail "child $child still runs after its parent was killed"
	done
	# And their clients are closed, not left hanging.
	wait_for_exit "${PROBE_PIDS[first]}" "$WAIT_S"
	run cat "$BATS_TEST_TMPDIR/first.err"
	assert_output --partial "the server closed the connection"
}

# ---- prefork and epoll-procs: worker processes -----------------------------------

# worker_serving_last: the pid of the worker that took the last connection,
# from its "accept" trace line (a worker has one thread: its tid is its pid).
worker_serving_last() {
	awk '$3 == "accept" { pid = $2 } END { print pid }' "$SERVER_ERR"
}

# is_child_of PARENT PID: PID is a child process of PARENT.
is_child_of() {
	children_of "$1" | grep -qx "$2"
}

# replaced_worker PARENT OLD N: PARENT again has N workers and OLD is not one.
replaced_worker() {
	children_count_is "$1" "$3" && ! is_child_of "$1" "$2"
}

# check_worker_replaced MODEL: a worker killed mid-client (kill -9) is
# replaced. prefork runs two workers: two clients held at once then need
# both, so the new one serves one of them. epoll-procs runs one (a worker
# serves any number of clients): the next client needs the new one.
check_worker_replaced() {
	local model=$1 workers=2 victim before newcomer
	[[ $model != epoll-procs ]] || workers=1
	start_server "$model" -w "$workers" -v
	wait_until "$WAIT_MS" children_count_is "$SERVER_PID" "$workers"
	spawn_probe first ping --hold -t "$HOLD_MS"
	wait_for_probe_line first '^served$' "$WAIT_MS"
	victim=$(worker_serving_last)
	is_child_of "$SERVER_PID" "$victim" || fail "'$victim' (from the accept trace) is not a worker"
	before=$(children_of "$SERVER_PID")
	kill -KILL "$victim"
	# Its client is closed by the kernel, not left hanging.
	wait_for_exit "${PROBE_PIDS[first]}" "$WAIT_S"
	run cat "$BATS_TEST_TMPDIR/first.err"
	assert_output --partial "the server closed the connection"
	# The parent reaps it, says so on stderr, and forks another.
	wait_until "$WAIT_MS" replaced_worker "$SERVER_PID" "$victim" "$workers" ||
		fail "no new worker: children now $(children_of "$SERVER_PID" | tr '\n' ' ')"
	run grep -E "worker [0-9]+ \(pid $victim\) killed by signal 9; starting another" "$SERVER_ERR"
	assert_success
	newcomer=$(children_of "$SERVER_PID" | grep -vxF "$before" || true)
	spawn_probe a ping --hold -t "$HOLD_MS"
	wait_for_probe_line a '^served$' "$WAIT_MS"
	if ((workers == 2)); then
		spawn_probe b ping --hold -t "$HOLD_MS"
		wait_for_probe_line b '^served$' "$WAIT_MS"
	fi
	run awk '$3 == "accept" { print $2 }' "$SERVER_ERR"
	assert_line "$newcomer"
	release_probe a
	finish_probe a "$WAIT_S"
	if ((workers == 2)); then
		release_probe b
		finish_probe b "$WAIT_S"
	fi
	stop_server
	assert_equal "$SERVER_STATUS" 0
}

@test "prefork and epoll-procs replace a worker killed mid-client (kill -9): the parent says so, its client sees the close, and the new worker serves" {
	restrict_models prefork epoll-procs
	for_each_model check_worker_replaced
}

# check_no_orphan_workers MODEL: the workers exit when the parent is killed.
check_no_orphan_workers() {
	local model=$1 workers worker
	start_server "$model" -w 2
	wait_until "$WAIT_MS" children_count_is "$SERVER_PID" 2
	# One worker busy with a client, the other idle.
	spawn_probe first ping --hold -t "$HOLD_MS"
	wait_for_probe_line first '^served$' "$WAIT_MS"
	workers=$(children_of "$SERVER_PID")
	# Tracked, so that teardown ends any orphan this test finds.
	for worker in $workers; do
		track_pid "$worker"
	done
	kill -KILL "$SERVER_PID"
	for worker in $workers; do
		wait_until "$WAIT_MS" process_gone "$worker" ||
			fail "worker $worker still runs after its parent was killed"
	done
	wait_for_exit "${PROBE_PIDS[first]}" "$WAIT_S"
	run cat "$BATS_TEST_TMPDIR/first.err"
	assert_output --partial "the server closed the connection"
	# The last holder of the listener is gone: connecting is refused.
	probe ping -t "$WAIT_MS"
	assert_failure
	assert_output --partial "Connection refused"
}

@test "prefork and epoll-procs workers exit when the parent is killed, even by SIGKILL (no orphans), and nothing listens on the port any more" {
	restrict_models prefork epoll-procs
	for_each_model check_no_orphan_workers
}

# spread_counts REGEX: the server's stop line (stderr) matching REGEX, then
# ": N N ... (total T)"; sets SPREAD (the counts) and SPREAD_TOTAL.
spread_counts() {
	local line
	line=$(grep -E "$1" "$SERVER_ERR") || fail "no line /$1/ on stderr: $(cat "$SERVER_ERR")"
	echo "# $line"
	[[ $line =~ :((\ [0-9]+)+)\ \(total\ ([0-9]+)\)$ ]] || fail "not a spread: $line"
	read -r -a SPREAD <<<"${BASH_REMATCH[1]}"
	SPREAD_TOTAL=${BASH_REMATCH[3]}
}

# assert_spread COUNT TOTAL: COUNT numbers, each at least 1, adding up to
# TOTAL, which the line's total repeats.
assert_spread() {
	local n sum=0
	assert_equal "${#SPREAD[@]}" "$1"
	for n in "${SPREAD[@]}"; do
		((n >= 1)) || fail "a worker or reactor got no connection: ${SPREAD[*]}"
		sum=$((sum + n))
	done
	assert_equal "$sum" "$2"
	assert_equal "$SPREAD_TOTAL" "$2"
}

@test "epoll-procs: a worker short of descriptors stops accepting and leaves new connections to the others (400 idle, 300 descriptors per worker: none shed); when both are full they shed" {
	require_model epoll-procs
	[[ -x "$BIN/loadgen" ]] || fail "bin/loadgen is missing: run make"
	# Each worker may hold 300 - 80 = 220 (ROOM_FDS kept free) and then
	# stops watching the listener: two hold 440. Without the rule the
	# kernel's wake-ups pile one worker up to its limit, where it sheds.
	local held="$BATS_TEST_TMPDIR/held.json" holder
	SERVER_FD_LIMIT=300 start_server epoll-procs -w 2
	"$BIN/loadgen" -p "$SERVER_PORT" -c 1 -r 10 --idle 399 -W 0 -d 3s --connect-timeout 5s \
		--format json -q >"$held" 2>/dev/null &
	holder=$!
	track_pid "$holder"
	sleep 1
	# Both full (at most about 290 each): the workers shed what comes now,
	# at once, rather than leave it waiting in the listen queue.
	run with_deadline 30 "$BIN/loadgen" -p "$SERVER_PORT" -c 1 -r 10 --idle 299 -W 0 -d 500ms \
		--connect-timeout 5s --format json -q
	run jq -e '.errors.reset > 0' <<<"$output"
	assert_success
	wait_for_exit "$holder" 30
	run jq -e '.complete and (.errors | add) == 0 and .idle == 399' "$held"
	assert_success
	stop_server
	spread_counts 'accepted per worker'
	# Neither took more than its 220 before the other was full, but for the
	# batch one wake-up accepts (64).
	((SPREAD[0] >= 400 - 283 && SPREAD[1] >= 400 - 283)) || fail "one worker took the first 400 alone: ${SPREAD[*]}"
}

@test "prefork -w 2 prints at stop how many connections each worker served: 40 clients one after another give two counts adding up to 40, both non-zero" {
	require_model prefork
	local i
	start_server prefork -w 2
	wait_until "$WAIT_MS" children_count_is "$SERVER_PID" 2
	# Workers blocked in accept wait on the listener as exclusive waiters,
	# first come first woken, and a worker goes back to the end of that
	# queue when it calls accept again: clients one after another alternate
	# between the two workers (deterministically: the idle one is always
	# first in the queue), so each gets about half.
	for ((i = 0; i < 40; i++)); do
		probe ping -t "$WAIT_MS"
		assert_success
	done
	stop_server
	assert_equal "$SERVER_STATUS" 0
	spread_counts '^echo-prefork: connections served per worker \(one shared listener\):'
	assert_spread 2 40
}

@test "prefork --reuseport -w 2: two listeners on the port, one in each worker, and connections from 200 source ports reach both" {
	require_model prefork
	local worker
	start_server prefork --reuseport -w 2 -v
	wait_until "$WAIT_MS" children_count_is "$SERVER_PID" 2
	assert_listeners "$SERVER_PID" "127.0.0.1:$SERVER_PORT" 2
	# Each worker closed the other's listener: it holds its own only.
	for worker in $(children_of "$SERVER_PID"); do
		assert_listeners "$worker" "127.0.0.1:$SERVER_PORT" 1
	done
	# The kernel picks a listener by a hash of the client's address and
	# port: 200 connections all on one of two listeners has probability
	# 2^-199, so both counts are non-zero.
	probe churn --repeat 200 -t 10000
	assert_success
	wait_until "$WAIT_MS" served_count_is 200
	stop_server
	assert_equal "$SERVER_STATUS" 0
	spread_counts '^echo-prefork: connections served per worker \(one SO_REUSEPORT listener each\):'
	assert_spread 2 200
}

served_count_is() {
	[[ $(trace_count serve) == "$1" ]]
}

# ---- reactors --------------------------------------------------------------------

accepted_count_is() {
	[[ $(trace_count accept) == "$1" ]]
}

@test "reactors -w 2: connections from 200 source ports are accepted on both reactors, and the per-reactor counts printed at stop add up to 200" {
	require_model reactors
	start_server reactors -w 2 -v
	assert_listeners "$SERVER_PID" "127.0.0.1:$SERVER_PORT" 2
	# 200 connections in a row, each from a new source port (the client
	# closes first, so its ports stay in TIME_WAIT and are not reused). The
	# kernel picks a reactor's listener by a hash of the client's address
	# and port: all 200 on one of two reactors has probability 2^-199, so
	# both counts are non-zero.
	probe churn --repeat 200 -t 10000
	assert_success
	wait_until "$WAIT_MS" accepted_count_is 200
	stop_server
	assert_equal "$SERVER_STATUS" 0
	spread_counts '^echo-reactors: connections accepted per reactor \(one SO_REUSEPORT listener each\):'
	assert_spread 2 200
}

@test "reactors -w 2 -m 2: the cap counts connections over all reactors: with two clients in, 20 more are all shed, on both reactors, and once one leaves a new client is served" {
	require_model reactors
	local i shedders
	start_server reactors -w 2 -m 2 -v
	spawn_probe first ping --hold -t "$HOLD_MS"
	spawn_probe second ping --hold -t "$HOLD_MS"
	wait_for_probe_line first '^served$' "$WAIT_MS"
	wait_for_probe_line second '^served$' "$WAIT_MS"
	for ((i = 0; i < 20; i++)); do
		# Shed, not left waiting (never closed) nor served (echoed).
		probe shed -t "$WAIT_MS"
		assert_success
	done
	# Each shed is traced by the reactor thread that accepted it: 20 new
	# source ports all hashed to one reactor has probability 2^-19, so
	# both reactors shed, whichever of them holds the two clients (a cap
	# counted per reactor would have let some in).
	shedders=$(awk '$3 == "shed" && /reason=max-conns/ { print $2 }' "$SERVER_ERR" | sort -u | wc -l)
	assert_equal "$(grep -c 'shed .*reason=max-conns' "$SERVER_ERR")" 20
	assert_equal "$shedders" 2
	release_probe first
	finish_probe first "$WAIT_S"
	wait_until "$WAIT_MS" served_again_eventually
	release_probe second
	finish_probe second "$WAIT_S"
}

# ---- libevent --------------------------------------------------------------------

# libevent gives an idle connection's bufferevent back once it has read
# nothing for IDLE_RELEASE_S (1 s) and owes nothing (servers/libevent.c),
# and makes a new one when bytes come. The probe pings, holds the connection
# idle until the trace says the bufferevent went, then pings again: the
# echo must still be whole, and the second bytes must have got a new
# bufferevent. The release is libevent's read timeout, whose deadline is
# set in the turn that read the ping, a turn before the write the trace
# shows: so it may come a turn's length (microseconds; milliseconds under a
# sanitizer) sooner than 1 s after that write, never 100 ms sooner.
libevent_released() {
	(($(trace_count idle) >= 1))
}

@test "libevent: a connection that read nothing for a second gives its bufferevent back, and gets a new one when bytes come (the echo still whole)" {
	require_model libevent
	local wrote_at idle_at
	start_server libevent -v
	spawn_probe idle ping -n 1000 --hold -t "$HOLD_MS"
	wait_for_probe_line idle '^served' "$WAIT_MS"
	wait_until 5000 libevent_released
	release_probe idle
	finish_probe idle "$WAIT_S"
	assert_equal "$(trace_count idle)" 1
	assert_equal "$(grep -cE ' readable +fd=[0-9]+ +bufferevent=new$' "$SERVER_ERR")" 2
	grep -qE ' idle +fd=[0-9]+ +bufferevent=freed$' "$SERVER_ERR" ||
		fail "the idle line lacks bufferevent=freed"
	wrote_at=$(awk '$3 == "write" { t = $1 } $3 == "idle" { print t; exit }' "$SERVER_ERR")
	idle_at=$(awk '$3 == "idle" { print $1; exit }' "$SERVER_ERR")
	awk -v w="$wrote_at" -v i="$idle_at" 'BEGIN { exit !(i - w >= 0.9) }' ||
		fail "the bufferevent went ${idle_at}s, less than 1 s after the echo (${wrote_at}s)"
	stop_server
	assert_equal "$SERVER_STATUS" 0
}

# ---- uring ------------------------------------------------------------------------

# uring_reason ERRNO_NAME: what a reason for that errno may say.
uring_reason() {
	case $1 in
	ENOSYS) echo "(Function not implemented|ENOSYS)" ;;
	EPERM) echo "(Operation not permitted|EPERM)" ;;
	esac
}

# record_model MODEL: a check that only notes which models it was run for.
record_model() {
	echo "$1" >>"$BATS_TEST_TMPDIR/ran"
}

# models_in DIR MODEL...: for_each_model record_model over those models, with
# their servers taken from DIR (for run: its subshell keeps the change).
models_in() {
	SERVERS_DIR=$1
	shift
	MODELS=("$@")
	tcp_only # once per model: which models ran, not over what
	for_each_model record_model
}

# check_without_uring MODEL: under the filter, echo-MODEL exits 1 before
# its readiness line naming the reason, and bench/models.sh names it too.
check_without_uring() {
	local model=$1 error reason
	for error in ENOSYS EPERM; do
		reason=$(uring_reason "$error")
		run --separate-stderr with_deadline "$WAIT_S" "$TOOLS/no-uring" -e "$error" "$SERVERS_DIR/echo-$model" -p 0
		echo "# $model, $error: exit $status; stderr: $stderr"
		assert_equal "$status" 1
		assert_equal "$output" ""
		assert_regex "$stderr" "^echo-$model: io_uring is unavailable here: .*$reason"
		# shellcheck disable=SC2016 # expanded by that bash
		run "$TOOLS/no-uring" -e "$error" bash -c '. "$1/bench/models.sh" && model_unavailable "$2" "$3"' \
			_ "$ROOT" "$SERVERS_DIR" "$model"
		assert_success
		assert_regex "$output" "^io_uring is unavailable here: .*$reason"
	done
}

@test "without io_uring (a seccomp filter: io_uring_setup fails with ENOSYS, then EPERM) echo-uring and echo-uring-multishot exit 1 naming the reason before any readiness line, and the suites skip them with that reason" {
	[[ " ${MODELS[*]} " == *" uring "* ]] || skip "uring is not in SERVER_MODELS"
	[[ -x "$SERVERS_DIR/echo-uring" ]] || skip "uring: $(model_unavailable "$SERVERS_DIR" uring)"
	local dir
	run "$TOOLS/no-uring" --check
	[[ $status != 77 ]] || skip "no-uring: $output"
	assert_success
	check_without_uring uring
	[[ ! -x "$SERVERS_DIR/echo-uring-multishot" ]] || check_without_uring uring-multishot
	# And for_each_model skips it, saying why, and runs the others: a
	# servers directory whose echo-uring runs under the filter.
	dir="$BATS_TEST_TMPDIR/servers"
	mkdir -p "$dir"
	printf '#!/bin/sh\nexec "%s" -e ENOSYS "%s" "$@"\n' "$TOOLS/no-uring" \
		"$(cd "$SERVERS_DIR" && pwd)/echo-uring" >"$dir/echo-uring"
	chmod +x "$dir/echo-uring"
	ln -s "$(cd "$SERVERS_DIR" && pwd)/echo-epoll-lt" "$dir/echo-epoll-lt"
	run models_in "$dir" uring epoll-lt 3>/dev/null
	assert_success
	assert_output --regexp "uring skipped: io_uring is unavailable here: .*$(uring_reason ENOSYS)"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/ran")" epoll-lt
	# Every selected model unavailable: the test is skipped (bats' skip
	# exits, here the subshell of run, with 0), the check never runs.
	rm -f "$BATS_TEST_TMPDIR/ran"
	run models_in "$dir" uring 3>/dev/null
	assert_success
	assert_output --partial "skipping the test: no selected model can run here: uring: io_uring is unavailable here"
	[[ ! -e "$BATS_TEST_TMPDIR/ran" ]] || fail "the check ran for: $(cat "$BATS_TEST_TMPDIR/ran")"
}

# ---- tracing ---------------------------------------------------------------------

# Seconds, thread id, event, fd=N, key=value details ("%10.6f %7d %-8s
# fd=%-5d ..."), with the events the README lists.
TRACE_EVENTS='listen|accept|shed|fork|thread|queue|serve|wait|scan|again|budget|readable|writable|polled|idle|read|write|eof|error|close|stop'
TRACE_LINE="^ *[0-9]+\.[0-9]{6} +[0-9]+ ($TRACE_EVENTS) +fd=-?[0-9]+( +[a-z_]+=[^ ]*)*\$"

trace_has_close() {
	(($(trace_count close) >= 1))
}

check_trace() {
	local model=$1 event
	start_server "$model" -v
	probe ping -t "$WAIT_MS"
	assert_success
	wait_until "$WAIT_MS" trace_has_close
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
