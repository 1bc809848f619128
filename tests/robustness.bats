#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # bats run sets status, output, stderr
# Robustness: the echo servers against hostile and unlucky clients, scarce
# resources, signals and odd environments (README.md, "What every server
# guarantees (and the tests check)").
#
# Like tests/servers.bats, each @test runs one check_* over every model with
# for_each_model; where a model cannot have a behaviour, the check asserts
# the documented limitation instead. A model that cannot run here (uring or
# libevent built without their library, io_uring unavailable) is skipped
# with the reason. Each check starts its server with start_checked, which
# records a baseline; after each check that passed, after_each_model
# requires of the server:
#   - it is alive (unless the check stopped it on purpose);
#   - its descriptor count, summed over its processes (prefork's workers
#     each have a table of their own), is back to the baseline;
#   - its child processes are the ones it had at the baseline: none, or
#     prefork's workers, the same pids (a worker that died and was replaced
#     during the check fails it: replacement must not hide a crash);
#   - it has no zombie children;
#   - its memory (VmRSS, summed over its processes) grew by less than the
#     check's bound, at the end and at the peak the check sampled;
#   - a SIGTERM stops it with exit 0, its child processes go with it, and no
#     sanitizer reported anything (a leak report comes at that exit).
#
# Already covered by tests/servers.bats, and not repeated here: the default
# bind is 127.0.0.1 and a wildcard bind prints a warning ("prints one
# readiness line ..." and "warns on stderr ..."); -m caps shed the next
# connection ("with -m 2 a third concurrent client is shed ...").
#
# SERVERS_DIR=bin-asan runs this against another build (make asan, make tsan);
# SERVER_MODELS="poll epoll-et" runs a subset.

bats_require_minimum_version 1.5.0

load test_helper

setup() {
	[[ -x "$PROBE" && -x "$TOOLS/signal-storm" && -x "$TOOLS/freeze-thread" ]] ||
		fail "the test tools in build/tests are missing: run make first"
	sanitizer_mark
}

teardown() {
	stop_tracked_processes
	# Reports from a check that failed before after_each_model, or from a
	# process stopped just now, fail the test here.
	if ! sanitizer_reports; then
		echo "sanitizer reports (above)" >&2
		return 1
	fi
}

# Under a sanitizer the memory bounds below are scaled: RSS_SCALE and
# RSS_EXTRA_KIB (tests/test_helper.bash). Measured under make asan: at most
# 20 MiB for 3000 connection threads, 12 MiB for 3000 connections.

# The default bound on memory growth, for checks that hold no data: a few
# connection structs and allocator slack.
DEFAULT_RSS_BOUND_KIB=4096

# glibc keeps up to 40 MiB of the stacks of exited threads for reuse (its
# stack cache), their touched pages resident. With the 64 KiB stacks of the
# normal build that is a few MiB at most; under a sanitizer a connection
# thread's stack is 1 MiB (SAN_CFLAGS) and much of it is touched, so after
# many short connections a model with a thread per connection may hold up
# to that much more, and correctly: seen under make asan after 3000
# connect/close cycles over a Unix socket (faster than over TCP, so more
# threads at once), 57 MiB above the baseline.
GLIBC_STACK_CACHE_KIB=40960

# ---- the common after-check ----------------------------------------------------

# stop_checked SIGNAL: sends SIGNAL to the server the check started, noting
# its processes first so that the after-check can see them all gone.
stop_checked() {
	CHECK_TREE=$(tree_pids "$CHECK_PID")
	CHECK_STOPPED=1
	kill -"$1" "$CHECK_PID"
}

# start_checked MODEL [server options...]: start_server, a warm-up client (so
# one-off allocations are in the baseline), then the baseline: descriptors
# as started, memory after the warm-up.
start_checked() {
	start_server "$@"
	record_baseline "$SERVER_PID" "$(resting_children "$@")"
	if [[ -n ${SANITIZER:-} && $(model_task "$1") == thread ]]; then
		CHECK_STACK_CACHE_KIB=$GLIBC_STACK_CACHE_KIB
	fi
}

# resting_children MODEL [server options...]: how many child processes the
# server has when no client is connected: the worker processes of prefork
# and epoll-procs (-w, default one per usable core), none for every other
# model.
resting_children() {
	local model=$1 workers=
	shift
	if [[ $model != prefork && $model != epoll-procs ]]; then
		echo 0
		return
	fi
	while (($# > 0)); do
		[[ $1 == -w ]] && workers=$2
		shift
	done
	echo "${workers:-$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)}"
}

# record_baseline PID [CHILDREN]: the after-check's baseline for a server
# started some other way (SERVER_AT must be set: -p PORT or -u PATH). CHILDREN: how many
# child processes it has at rest (default 0).
record_baseline() {
	CHECK_PID=$1
	CHECK_STOPPED=0
	CHECK_TREE=
	CHECK_RSS_BOUND_KIB=$DEFAULT_RSS_BOUND_KIB
	CHECK_STACK_CACHE_KIB=0
	CHECK_PEAK_KIB=0
	# prefork prints its readiness line before it forks its workers.
	wait_until "$WAIT_MS" children_count_is "$CHECK_PID" "${2:-0}" ||
		fail "echo-server has $(children_of "$CHECK_PID" | grep -c .) children at rest, expected ${2:-0}"
	CHECK_BASE_CHILDREN=$(children_of "$CHECK_PID" | sort)
	CHECK_BASE_FDS=$(tree_fd_count "$CHECK_PID")
	"$PROBE" "${SERVER_AT[@]}" stream -n 256KiB -t 10000 >/dev/null ||
		fail "the warm-up client was not served"
	wait_until "$WAIT_MS" fd_count_is "$CHECK_PID" "$CHECK_BASE_FDS"
	wait_until "$WAIT_MS" children_are_base "$CHECK_PID"
	CHECK_BASE_KIB=$(tree_rss_kib "$CHECK_PID")
}

# Descriptors of every process of the server (fork's children, prefork's
# workers: each has a descriptor table of its own).
fd_count_is() {
	[[ $(tree_fd_count "$1") == "$2" ]]
}

# children_are_base PID: PID's children are those of the baseline, the
# same pids (fork: none once its clients have left; prefork: its workers).
children_are_base() {
	[[ $(children_of "$1" | sort) == "$CHECK_BASE_CHILDREN" ]]
}

# cpu_ticks_tree PID: cpu_ticks summed over PID and its descendants.
cpu_ticks_tree() {
	local pid total=0 ticks
	for pid in $(tree_pids "$1"); do
		ticks=$(cpu_ticks "$pid" 2>/dev/null) || continue
		total=$((total + ticks))
	done
	echo "$total"
}

no_zombies() {
	[[ -z $(zombie_children "$1") ]]
}

# note_rss_peak [KIB]: remembers a memory sample (default: now) for the
# after-check's bound.
note_rss_peak() {
	local kib=${1:-$(tree_rss_kib "$CHECK_PID")}
	((kib <= CHECK_PEAK_KIB)) || CHECK_PEAK_KIB=$kib
}

# assert_rss_within KIB: growth over the baseline must stay under the bound.
assert_rss_within() {
	local bound_kib
	bound_kib=$(($(rss_bound_kib "$CHECK_RSS_BOUND_KIB") + CHECK_STACK_CACHE_KIB))
	echo "# rss: base ${CHECK_BASE_KIB} KiB, peak $1 KiB, bound +${bound_kib} KiB"
	(($1 - CHECK_BASE_KIB < bound_kib)) ||
		fail "memory grew by $(($1 - CHECK_BASE_KIB)) KiB (bound $bound_kib KiB)"
}

after_each_model() {
	local model=$1 tree pid
	[[ -n ${CHECK_PID:-} ]] || fail "the check started no server with start_checked"
	if ((CHECK_STOPPED == 0)); then
		process_running "$CHECK_PID" || fail "echo-$model died"
		wait_until "$WAIT_MS" fd_count_is "$CHECK_PID" "$CHECK_BASE_FDS" ||
			fail "echo-$model holds $(tree_fd_count "$CHECK_PID") descriptors, $CHECK_BASE_FDS at the start"
		wait_until "$WAIT_MS" children_are_base "$CHECK_PID" ||
			fail "children now: $(children_of "$CHECK_PID" | tr '\n' ' '); at the start: ${CHECK_BASE_CHILDREN//$'\n'/ }; $(grep -h 'starting another' "$SERVER_ERR" || true)"
		wait_until "$WAIT_MS" no_zombies "$CHECK_PID" ||
			fail "zombie children: $(zombie_children "$CHECK_PID" | tr '\n' ' ')"
		note_rss_peak
		assert_rss_within "$CHECK_PEAK_KIB"
		tree=$(tree_pids "$CHECK_PID")
		SERVER_PID=$CHECK_PID
		stop_server
		[[ $SERVER_STATUS == 0 ]] || fail "SIGTERM: exit $SERVER_STATUS, expected 0"
	else
		# The check stopped it, after noting its processes in CHECK_TREE.
		tree=${CHECK_TREE:-$CHECK_PID}
	fi
	# No process of the server outlives it (fork children included).
	for pid in $tree; do
		wait_until "$WAIT_MS" process_gone "$pid" || fail "process $pid outlived the server"
	done
	if ! sanitizer_reports; then
		fail "sanitizer reports (above)"
	fi
}

# Options that let a model serve several clients at once: pool's and
# prefork's worker counts bound their concurrency (prefork's default is one
# worker per core).
concurrent_opts() {
	[[ -z $(model_workers "$1") ]] || echo "-w 8"
	return 0
}

# ---- clients that do not read ----------------------------------------------------

# Two clients send up to 64 MiB each and read nothing until the server stops
# taking their bytes. The bound: a non-blocking model holds at most one
# ECHO_BUF_BYTES (16 KiB) buffer per client and stops reading a full one; a
# blocking model sits in write(2) with 16 KiB on a stack; a fork child adds
# its own private pages and VmRSS counts the shared ones again (about 1 MiB
# per child). A server that kept reading would hold tens of MiB. 8 MiB.
check_late_reader() {
	local model=$1
	# shellcheck disable=SC2046 # the options are words
	start_checked "$model" $(concurrent_opts "$model")
	CHECK_RSS_BOUND_KIB=8192
	spawn_probe late stall -c 2 -n 64MiB -s 5 -t "$HOLD_MS"
	wait_for_probe_line late '^(stalled|sent) ' "$WAIT_MS"
	probe_said late '^stalled ' || fail "the server took every byte of clients that never read"
	note_rss_peak
	if model_one_client "$model"; then
		# Documented limitation: it is stuck writing to the first of them.
		spawn_probe other ping --silent-ms 300 -t "$HOLD_MS"
		wait_for_probe_line other '^silent' "$WAIT_MS"
	else
		probe stream -n 1MiB -s 6 -t 10000
		assert_success
	fi
	echo "# $model: $(grep -E '^(stalled|sent) ' "$BATS_TEST_TMPDIR/late.out")"
	# Now they read: every byte they sent must come back, in order.
	release_probe late
	finish_probe late 60
	! model_one_client "$model" || finish_probe other "$WAIT_S"
}

@test "a client that sends and never reads costs bounded memory, does not stall the others, and gets every byte once it reads (blocking: the others wait)" {
	for_each_model check_late_reader
}

# A slow reader (a pause after every read) next to a fast writer (32 MiB as
# fast as it can): both get every byte, and the server buffers neither. The
# bound is the late reader's.
check_slow_reader_fast_writer() {
	local model=$1
	# shellcheck disable=SC2046
	start_checked "$model" $(concurrent_opts "$model")
	CHECK_RSS_BOUND_KIB=8192
	spawn_probe slow stream -n 1MiB -s 21 --read-pause-ms 2 -t 60000
	spawn_probe fast stream -n 32MiB -s 22 -t 60000
	rss_peak_while "$CHECK_PID" 60000 "${PROBE_PIDS[slow]}" "${PROBE_PIDS[fast]}"
	note_rss_peak "$RSS_PEAK_KIB"
	finish_probe slow "$WAIT_S"
	finish_probe fast "$WAIT_S"
}

@test "a slow reader next to a fast writer: both get every byte and memory stays bounded" {
	for_each_model check_slow_reader_fast_writer
}

# ---- clients that leave abruptly ---------------------------------------------------

check_resets() {
	local model=$1
	start_checked "$model"
	# 300 in a row, each resetting after 64 KiB it does not read.
	probe reset --repeat 300 -n 64KiB -t 10000
	assert_success
	# 10 at once, each sending until the server holds output for it that it
	# cannot deliver, then resetting.
	probe reset -c 10 --fill --stall-ms 100 -n 64MiB -t 30000
	assert_success
	assert_output --partial "connections=10"
	# 100 that reset before sending anything.
	probe reset --repeat 100 -n 0 -t 10000
	assert_success
	probe stream -n 256KiB -t 10000
	assert_success
}

@test "hundreds of clients that reset (SO_LINGER 0), also while it holds output for them: it lives, and its descriptors and children are all released" {
	for_each_model check_resets
}

# broken_pipes: writes that failed with EPIPE, from the -v trace (a write,
# not a read: that is where SIGPIPE would have come).
broken_pipes() {
	grep -ac 'op=write errno=Broken pipe' "$SERVER_ERR" || true
}

check_epipe() {
	local model=$1 round
	start_checked "$model" -v
	# Each sends, then closes without reading. 20 at once sending 256 KiB
	# each: their echo is mostly waiting unread when they close, so they
	# reset (ECONNRESET).
	probe quit -c 20 --repeat 5 -n 256KiB --stall-ms 100 -t 30000
	assert_success
	# One at a time, 64 KiB in one write and the close right after it: the
	# close mostly beats the echo, so the server gets a FIN, its first echo
	# write draws a reset, and its next write fails with EPIPE (SIGPIPE is
	# ignored). Rounds of 100 until that happened, 10 rounds at most.
	for ((round = 1; round <= 10; round++)); do
		probe quit --repeat 100 -n 64KiB -t 30000
		assert_success
		(($(broken_pipes) == 0)) || break
	done
	echo "# $model: $(broken_pipes) writes failed with EPIPE"
	(($(broken_pipes) >= 1)) || fail "no write failed with EPIPE: the test did not exercise it"
	probe stream -n 256KiB -t 10000
	assert_success
}

@test "clients that send and close without reading (the server's writes get EPIPE): it lives and keeps serving" {
	for_each_model check_epipe
}

# ---- sizes ---------------------------------------------------------------------------

check_tiny_and_huge_writes() {
	local model=$1
	start_checked "$model"
	# 10,000 write(2) calls of one byte each (0, 1, ..., 255, 0, ...).
	probe stream -n 10000 --max-chunk 1 --pattern bytes -t 30000
	assert_success
	assert_output --partial "ok clients=1 bytes_each=10000"
	# One write(2) of 64 MiB, then a half-close; the server must not buffer it.
	CHECK_RSS_BOUND_KIB=8192
	spawn_probe bulk bulk -n 64MiB -s 64 -t 60000
	rss_peak_while "$CHECK_PID" 60000 "${PROBE_PIDS[bulk]}"
	note_rss_peak "$RSS_PEAK_KIB"
	finish_probe bulk "$WAIT_S"
	run cat "$BATS_TEST_TMPDIR/bulk.out"
	assert_output --partial "ok clients=1 bytes_each=67108864 write_calls=1"
}

@test "10,000 one-byte writes, and one 64 MiB write followed by a half-close, come back byte for byte" {
	for_each_model check_tiny_and_huge_writes
}

# ---- descriptors -----------------------------------------------------------------------

check_connect_close_cycles() {
	local model=$1
	start_checked "$model"
	probe churn --repeat 3000 -t 10000
	assert_success
	assert_output "churn connections=3000"
	# They may still sit in the backlog: the server catches up, then serves.
	wait_until "$WAIT_MS" fd_count_is "$CHECK_PID" "$CHECK_BASE_FDS"
	probe ping -t 10000
	assert_success
}

@test "3000 connect/close cycles with no data leak no descriptor" {
	for_each_model check_connect_close_cycles
}

# Runs one crowd of 40 against a server with 32 descriptors and checks the
# split for the model. Sets CROWD_SERVED.
crowd_round() {
	local model=$1 name=$2 clients=40
	spawn_probe "$name" crowd -c "$clients" --hold --settle-ms 500 -t "$HOLD_MS"
	wait_for_probe_line "$name" '^crowd ' "$WAIT_MS"
	crowd_counts "$name"
	# bench/models.txt: blocking serves one client at a time; prefork's
	# workers are processes; fork gives each connection a process.
	if model_one_client "$model"; then
		# One at a time: the rest wait in the backlog, none is shed.
		assert_equal "$CROWD_SERVED" 1
		assert_equal "$CROWD_WAITING" $((clients - 1))
	elif [[ $(model_workers "$model") == process ]]; then
		# Each worker is a process with a descriptor table of its own (32
		# here too) and holds one client at a time: it never runs out.
		# The -w workers serve -w clients; the rest wait in the backlog,
		# none is shed.
		assert_equal "$CROWD_SERVED" "$PREFORK_WORKERS"
		assert_equal "$CROWD_SHED" 0
		assert_equal "$CROWD_WAITING" $((clients - PREFORK_WORKERS))
	elif [[ $(model_task "$model") == process ]]; then
		# The parent closes each connection after the fork: it never runs
		# out, and each child has a descriptor table of its own.
		assert_equal "$CROWD_SERVED" "$clients"
	else
		((CROWD_SERVED >= 10)) || fail "served only $CROWD_SERVED with 32 descriptors"
		((CROWD_SHED >= 1)) || fail "shed none: it cannot have had room for $clients"
		assert_equal "$CROWD_WAITING" 0
		# Promptly: one more is closed within a second, not left hanging.
		# The bound the test proves: a shed is an accept and a close on the
		# spare descriptor, milliseconds; a second leaves a loaded machine
		# room, and a client left hanging is never closed at all.
		probe shed -t 1000
		assert_success
	fi
}

# prefork's workers under the descriptor test.
PREFORK_WORKERS=4

check_descriptor_exhaustion() {
	local model=$1 first_served cpu_before cpu_after opts=()
	# Worker threads (pool): more than the crowd; worker processes (prefork):
	# a few, which the crowd outnumbers.
	case $(model_workers "$model") in
	thread) opts=(-w 64) ;;
	process) opts=(-w "$PREFORK_WORKERS") ;;
	esac
	# epoll-procs with one worker: one descriptor table of 32 to fill, as in
	# the single-process loops. (With two, each worker has its own, and
	# whichever the kernel wakes sheds or serves: the split is the kernel's.)
	[[ $model != epoll-procs ]] || opts=(-w 1)
	SERVER_FD_LIMIT=32 start_checked "$model" "${opts[@]}"
	crowd_round "$model" crowd1
	first_served=$CROWD_SERVED
	# The ones it kept are still served; then they leave (each saw its EOF,
	# so the server has closed them all).
	release_probe crowd1
	finish_probe crowd1 "$WAIT_S"
	# The very first client after them is served, not shed.
	probe ping -t "$WAIT_MS"
	assert_success
	wait_until "$WAIT_MS" fd_count_is "$CHECK_PID" "$CHECK_BASE_FDS"
	# Descriptors free again: a second crowd gets exactly as many served, so
	# nothing leaked, and the spare descriptor used to shed is back.
	crowd_round "$model" crowd2
	assert_equal "$CROWD_SERVED" "$first_served"
	# Still full, it does not spin on a listener it cannot accept from:
	# under a fifth of a core over a fixed half second (all its processes).
	cpu_before=$(cpu_ticks_tree "$CHECK_PID")
	sleep 0.5
	cpu_after=$(cpu_ticks_tree "$CHECK_PID")
	echo "# $model: $((cpu_after - cpu_before)) ticks of CPU in 0.5 s while full"
	(((cpu_after - cpu_before) * 100 < $(getconf CLK_TCK) * 10)) || fail "the server spins"
	release_probe crowd2
	finish_probe crowd2 "$WAIT_S"
	wait_until "$WAIT_MS" served_again_eventually
}

@test "out of descriptors it keeps serving the clients it has, sheds the rest at once without spinning, and serves as many again once they leave (blocking: the rest wait; fork and prefork: never run out, prefork's -w workers serve and the rest wait)" {
	for_each_model check_descriptor_exhaustion
}

# reactors accepts on several threads at once, all in one descriptor table:
# the spare descriptor one reactor frees to shed a connection must not be
# taken by another reactor's accept meanwhile, or the spare is lost for good
# (the descriptor count stays one short), nothing can be shed any more, and
# the level-triggered listeners spin with clients left in the backlog. The
# window is a few instructions wide: the LD_PRELOAD shim slow-spare.so
# (tests/tools/preload/slow-spare.c) holds every close of a descriptor on
# /dev/null for 5 ms, so a server whose other reactors can accept meanwhile
# loses its spare in the first crowd, every time, and one that excludes them
# loses nothing. (ASan wants to come first among the libraries: it is told
# that a shim before it is fine.)
check_spare_kept_across_reactors() {
	local model=$1 round
	[[ -f "$TOOLS/slow-spare.so" ]] || fail "$TOOLS/slow-spare.so is missing: run make first"
	SERVER_PREFIX="env LD_PRELOAD=$TOOLS/slow-spare.so ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
		SERVER_FD_LIMIT=32 start_checked "$model" -w 2
	for round in 1 2 3; do
		spawn_probe "crowd$round" crowd -c 200 --hold --settle-ms 500 -t "$HOLD_MS"
		wait_for_probe_line "crowd$round" '^crowd ' "$WAIT_MS"
		crowd_counts "crowd$round"
		((CROWD_SERVED >= 10)) || fail "served only $CROWD_SERVED with 32 descriptors"
		((CROWD_SHED >= 1)) || fail "shed none: it cannot have had room for 200 (the spare lost?)"
		assert_equal "$CROWD_WAITING" 0
		release_probe "crowd$round"
		finish_probe "crowd$round" "$WAIT_S"
		wait_until "$WAIT_MS" fd_count_is "$CHECK_PID" "$CHECK_BASE_FDS" ||
			fail "round $round: $(tree_fd_count "$CHECK_PID") descriptors, $CHECK_BASE_FDS at the start (the spare lost?)"
	done
}

@test "reactors out of descriptors, two reactors accepting at once: three crowds of 200 are each shed without one left waiting, and the spare descriptor is never lost" {
	restrict_models reactors
	for_each_model check_spare_kept_across_reactors
}

# The select binary must be built so that an FD_SET past FD_SETSIZE could not
# pass unnoticed: with _FORTIFY_SOURCE=2 glibc checks every FD_SET (it calls
# __fdelt_chk and aborts on an fd >= FD_SETSIZE); a sanitizer build checks
# every memory access instead.
assert_checked_build() {
	local symbols
	symbols=$(nm -D "$1" 2>/dev/null) || fail "cannot read the symbols of $1"
	if [[ $symbols == *__asan_init* || $symbols == *__tsan_init* ]]; then
		echo "# $1: a sanitizer build"
		return 0
	fi
	[[ $symbols == *__fdelt_chk* ]] ||
		fail "$1 does not check FD_SET (__fdelt_chk): not built with -O2 -D_FORTIFY_SOURCE=2"
}

check_fd_setsize_flood() {
	local model=$1 clients=1100
	[[ $model != select ]] || assert_checked_build "$SERVERS_DIR/echo-select"
	start_checked "$model"
	# Each connection holds a struct with a 16 KiB buffer, of which a ping
	# touches one page (about 4 KiB a connection were measured). 16 MiB
	# leaves room, and is less than 1100 full buffers would take.
	CHECK_RSS_BOUND_KIB=16384
	# Early clients, on low descriptors: one idle, two in mid-transfer with
	# output the server holds for them.
	spawn_probe idle ping --hold -t "$HOLD_MS"
	wait_for_probe_line idle '^served$' "$WAIT_MS"
	spawn_probe late stall -c 2 -n 64MiB -s 9 -t "$HOLD_MS"
	wait_for_probe_line late '^stalled ' "$WAIT_MS"
	spawn_probe crowd crowd -c "$clients" --hold --settle-ms 1000 -t "$HOLD_MS"
	wait_for_probe_line crowd '^crowd ' "$WAIT_MS"
	crowd_counts crowd
	note_rss_peak
	assert_equal "$CROWD_WAITING" 0
	if [[ $model == select ]]; then
		((CROWD_SHED >= 1)) || fail "select kept $CROWD_SERVED connections, past FD_SETSIZE"
		((CROWD_SERVED > 1000)) || fail "select served only $CROWD_SERVED"
	else
		assert_equal "$CROWD_SERVED" "$clients"
	fi
	# The early ones are served as if nothing happened, byte for byte.
	release_probe idle
	release_probe late
	finish_probe idle "$WAIT_S"
	finish_probe late 60
	release_probe crowd
	finish_probe crowd 30
	probe ping -t "$WAIT_MS"
	assert_success
}

@test "select with more than FD_SETSIZE connections, on a fortified build: refuses the extra ones, keeps serving the early ones (poll, epoll, reactors, uring and libevent serve all)" {
	(($(ulimit -Hn) >= 2400)) || skip "the hard descriptor limit ($(ulimit -Hn)) is too low for 1100 clients"
	# blocking, fork, pool and prefork never hold more than one client
	# (blocking, each prefork worker), none (the fork parent) or -w + -m
	# (pool) descriptors in one process: FD_SETSIZE does not concern them,
	# and the descriptor test covers them. The event loops hold every client
	# in one table (reactors: one table for all its reactor threads).
	restrict_models select poll epoll-lt epoll-et reactors uring libevent
	for_each_model check_fd_setsize_flood
}

# ---- processes and threads ------------------------------------------------------------

# RLIMIT_NPROC does not bind root, and these tests run as root: the server
# runs as nobody (setpriv), and once it is up prlimit caps the tasks (threads
# included) nobody may have at what it has now plus ROOM. Other processes
# of nobody count too: the cap is taken from all of them at that moment.
# prlimit runs as nobody too: changing another user's limits takes
# CAP_SYS_RESOURCE in the target's namespace, which a container may not give.
NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

# as_nobody_env: sanitizer logs cannot go to a root-owned directory from
# nobody's server: they go to its stderr, where sanitizer_reports looks.
as_nobody_env() {
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=stderr"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=stderr"
	export TSAN_OPTIONS="${TSAN_OPTIONS:-}:log_path=stderr"
}

# cap_tasks ROOM: nobody may start ROOM more tasks from now on (the soft
# limit; the hard one is a task higher, for lift_task_cap).
cap_tasks() {
	TASK_LIMIT=$(($(tasks_of_uid 65534) + $1))
	"${NOBODY[@]}" prlimit --pid "$CHECK_PID" --nproc="$TASK_LIMIT:$((TASK_LIMIT + 1))"
	echo "# RLIMIT_NPROC of echo-$MODEL_UNDER_TEST: $TASK_LIMIT (room for $1 more)"
}

# lift_task_cap: one more task, for the exit: LeakSanitizer starts a thread
# to check for leaks when a sanitizer build exits.
lift_task_cap() {
	"${NOBODY[@]}" prlimit --pid "$CHECK_PID" --nproc="$((TASK_LIMIT + 1))"
}

check_out_of_tasks() {
	local model=$1 reason forked pid
	MODEL_UNDER_TEST=$model
	as_nobody_env
	case $model in
	fork | thread)
		SERVER_PREFIX="${NOBODY[*]}" start_checked "$model" -v
		cap_tasks 2
		spawn_probe first ping --hold -t "$HOLD_MS"
		spawn_probe second ping --hold -t "$HOLD_MS"
		wait_for_probe_line first '^served$' "$WAIT_MS"
		wait_for_probe_line second '^served$' "$WAIT_MS"
		# No third process or thread: the connection is shed at once (as
		# in servers.bats: milliseconds; 2 s is far beyond, and a client
		# left waiting is never closed).
		probe shed -t 2000
		assert_success
		reason=$([[ $model == fork ]] && echo fork-failed || echo thread-failed)
		grep -q "shed .*reason=$reason" "$SERVER_ERR" ||
			fail "no 'shed ... reason=$reason' in the trace"
		# One leaves: its task is freed, and a new client is served.
		release_probe first
		finish_probe first "$WAIT_S"
		wait_until "$WAIT_MS" served_again_eventually
		release_probe second
		finish_probe second "$WAIT_S"
		;;
	pool | reactors)
		# Its threads start with it: too few tasks, and it cannot start.
		run --separate-stderr with_deadline "$WAIT_S" prlimit --nproc="$(($(tasks_of_uid 65534) + 2))" \
			"${NOBODY[@]}" "$SERVERS_DIR/echo-$model" -p 0 -w 4
		echo "# exit $status; stderr: $stderr"
		assert_equal "$status" 1
		assert_regex "$stderr" "cannot start $([[ $model == pool ]] && echo worker || echo reactor) [0-9]+ of 4"
		# Started, it needs no new task per client: 4 workers (reactors)
		# serve 8.
		SERVER_PREFIX="${NOBODY[*]}" start_checked "$model" -w 4
		cap_tasks 0
		probe stream -c 8 -n 256KiB -t 20000
		assert_success
		lift_task_cap
		;;
	prefork)
		# Its worker processes start with it: room for one, and it cannot
		# start (exit 1, saying so). The worker it did fork goes with it
		# (PR_SET_PDEATHSIG): its pid is in the -v trace.
		run --separate-stderr with_deadline "$WAIT_S" prlimit --nproc="$(($(tasks_of_uid 65534) + 2))" \
			"${NOBODY[@]}" "$SERVERS_DIR/echo-prefork" -p 0 -w 4 -v
		echo "# exit $status; stderr: $stderr"
		assert_equal "$status" 1
		assert_regex "$stderr" "cannot start worker [0-9]+ of 4"
		forked=$(awk '$3 == "fork" { sub(/.*pid=/, ""); print }' <<<"$stderr")
		[[ -n $forked ]] || fail "no fork in the trace"
		for pid in $forked; do
			wait_until "$WAIT_MS" process_gone "$pid" || fail "worker $pid outlived its parent"
		done
		# Started, it needs no new task per client: 4 workers serve 8, 4 at
		# a time, the others waiting in the backlog.
		SERVER_PREFIX="${NOBODY[*]}" start_checked prefork -w 4
		cap_tasks 0
		probe stream -c 8 -n 256KiB -t 20000
		assert_success
		lift_task_cap
		;;
	*)
		# One process, one thread, whatever the clients: no room needed.
		SERVER_PREFIX="${NOBODY[*]}" start_checked "$model"
		cap_tasks 0
		probe stream -c 8 -n 256KiB -t 20000
		assert_success
		lift_task_cap
		;;
	esac
}

@test "fork and thread shed the connection when fork or pthread_create fails and keep serving (the others need no task per client; pool, reactors and prefork cannot start without their workers)" {
	command -v setpriv >/dev/null && command -v prlimit >/dev/null ||
		skip "setpriv and prlimit (util-linux) are needed to run a server as nobody under RLIMIT_NPROC"
	getent passwd nobody >/dev/null && getent group nogroup >/dev/null ||
		skip "no user nobody and group nogroup to run the server as"
	"${NOBODY[@]}" test -x "$SERVERS_DIR/echo-${MODELS[0]}" ||
		skip "nobody cannot execute $SERVERS_DIR/echo-${MODELS[0]} (directory permissions)"
	# Running out of tasks is the same over either transport, and nobody
	# could not create a socket file in the test's directory.
	tcp_only
	for_each_model check_out_of_tasks
}

# ---- signals ---------------------------------------------------------------------------

check_signal_storm() {
	local model=$1
	# shellcheck disable=SC2046
	start_checked "$model" $(concurrent_opts "$model")
	# Short writes (the clients read only when they cannot write) and
	# accepts, all interrupted by SIGUSR1 to every thread every 100 us.
	spawn_probe stream stream -c 2 -n 16MiB -s 13 --read when-blocked -t 60000
	spawn_probe churn churn --repeat 300 -t 30000
	run "$TOOLS/signal-storm" -p "$CHECK_PID" -w "${PROBE_PIDS[stream]}" -i 100 -t 60000
	assert_success
	echo "# $model: $output"
	finish_probe stream "$WAIT_S"
	finish_probe churn 30
	probe ping -t "$WAIT_MS"
	assert_success
}

@test "a storm of signals (SIGUSR1, no SA_RESTART) during large transfers with short writes and during accepts loses nothing" {
	for_each_model check_signal_storm
}

check_sigterm_during_transfer() {
	local model=$1 start_ms elapsed_ms
	# shellcheck disable=SC2046
	start_checked "$model" $(concurrent_opts "$model")
	spawn_probe big stream -n 1024MiB -s 17 --say-after 1MiB -t 60000
	wait_for_probe_line big '^echoed ' "$WAIT_MS"
	# And one it is stuck writing to (blocking: it waits in the backlog).
	spawn_probe hog hog --hold -n 64MiB -t "$HOLD_MS"
	wait_for_probe_line hog '^(stalled|sent) ' "$WAIT_MS"
	start_ms=$(now_ms)
	stop_checked TERM
	# The bound the test proves: a stop shuts every connection down and
	# joins or reaps what serves them, milliseconds, even with a write
	# blocked on the hog; 5 s leaves a loaded machine three orders of
	# magnitude, and stays far short of the clients' own deadlines (60 s
	# and more), which a stop that left them hanging would run into.
	wait_for_exit "$CHECK_PID" 5 "$(describe_pid "$CHECK_PID"), sent SIGTERM mid-transfer"
	elapsed_ms=$(($(now_ms) - start_ms))
	echo "# $model: SIGTERM mid-transfer: exit $WAITED_STATUS after $elapsed_ms ms"
	assert_equal "$WAITED_STATUS" 0
	# Its clients are not left hanging: the transfer ends (cut short).
	wait_for_exit "${PROBE_PIDS[big]}" "$WAIT_S" "probe big (mid-transfer when the server stopped)"
	[[ $WAITED_STATUS != timeout ]] || fail "the client mid-transfer was left hanging"
}

@test "SIGTERM during a transfer: a clean exit 0 within 5 s, and the clients are not left hanging" {
	for_each_model check_sigterm_during_transfer
}

stop_traced() {
	(($(trace_count stop) >= 1))
}

# thread and pool wait for their connection threads when they stop, reactors
# for its reactor threads, prefork for its worker processes: with the one
# that serves a client frozen (ptrace), the first SIGTERM cannot finish, and
# the second must end the server at once (128 + 15).
expect_second_sigterm_ends_held_stop() {
	local tid start_ms freeze_pid
	spawn_probe idle ping --hold -t "$HOLD_MS"
	wait_for_probe_line idle '^served$' "$WAIT_MS"
	# The thread that echoed it: the thread id of the last read traced (a
	# prefork worker's one thread: its pid).
	tid=$(awk '$3 == "read" { tid = $2 } END { print tid }' "$SERVER_ERR")
	[[ -n $tid ]] || fail "no read in the trace"
	"$TOOLS/freeze-thread" -t "$tid" -T "$HOLD_MS" >"$BATS_TEST_TMPDIR/freeze.out" \
		2>"$BATS_TEST_TMPDIR/freeze.err" 3>&- &
	freeze_pid=$!
	track_pid "$freeze_pid"
	wait_until "$WAIT_MS" grep -q '^frozen' "$BATS_TEST_TMPDIR/freeze.out" || {
		cat "$BATS_TEST_TMPDIR/freeze.err" >&2
		fail "freeze-thread could not stop thread $tid (is ptrace forbidden here?)"
	}
	stop_checked TERM
	wait_until "$WAIT_MS" stop_traced
	process_running "$CHECK_PID" || fail "the stop did not wait for the frozen thread"
	start_ms=$(now_ms)
	kill -TERM "$CHECK_PID"
	# AT_ONCE_MS below is the bound; this only ends the wait.
	wait_for_exit "$CHECK_PID" "$WAIT_S"
	echo "# second SIGTERM: exit $WAITED_STATUS after $(($(now_ms) - start_ms)) ms"
	assert_equal "$WAITED_STATUS" 143
	(($(now_ms) - start_ms < AT_ONCE_MS)) || fail "the second SIGTERM took more than $AT_ONCE_MS ms"
	# A frozen thread went with its process. A frozen prefork worker is a
	# process of its own: released, it takes the SIGTERM waiting for it
	# (its parent's, and PR_SET_PDEATHSIG's) and exits; after_each_model
	# checks that it does.
	if process_running "$freeze_pid"; then
		kill -TERM "$freeze_pid"
	fi
}

# The other models' stop waits for nothing (the single-threaded loops: a
# stop closes their connections and returns). Their second-
# signal path: stopped (SIGSTOP) with SIGTERM and SIGINT both pending, the
# server gets both the moment it runs again, so the second interrupts the
# stop the first began and exits at once with 128 + its number.
expect_second_signal_ends_stop() {
	stop_checked STOP
	kill -TERM "$CHECK_PID"
	kill -INT "$CHECK_PID"
	kill -CONT "$CHECK_PID"
	wait_for_exit "$CHECK_PID" "$WAIT_S"
	echo "# SIGTERM and SIGINT at once: exit $WAITED_STATUS"
	[[ $WAITED_STATUS == 130 || $WAITED_STATUS == 143 ]] ||
		fail "exit $WAITED_STATUS: expected 128+2 or 128+15 from the second signal"
}

# "At once": normally a few ms; ThreadSanitizer's _exit does its own
# bookkeeping first (about a second).
AT_ONCE_MS=$([[ -n ${SANITIZER:-} ]] && echo 3000 || echo 1000)

check_second_sigterm() {
	local model=$1
	case $model in
	thread | pool | reactors | prefork)
		# The second signal abandons the threads on purpose (_exit): that
		# is no thread leak for ThreadSanitizer to report.
		export TSAN_OPTIONS="${TSAN_OPTIONS:-}:report_thread_leaks=0"
		start_checked "$model" -v
		expect_second_sigterm_ends_held_stop
		;;
	*)
		start_checked "$model"
		expect_second_signal_ends_stop
		;;
	esac
}

@test "a second SIGTERM while the clean stop is held up (a frozen thread or worker) exits at once with 143 (the models whose stop waits for nothing: a second stop signal does the same)" {
	for_each_model check_second_sigterm
}

# ---- odd environments ------------------------------------------------------------------

# listening_at PID: sets SERVER_AT once PID listens: its TCP port, or
# (TRANSPORT=unix) its socket file once that exists.
listening_at() {
	local addr
	if [[ $TRANSPORT == unix ]]; then
		[[ -S $SERVER_SOCK ]] || return 1
		SERVER_AT=(-u "$SERVER_SOCK")
		return
	fi
	addr=$(listening_addresses "$1")
	[[ -n $addr ]] || return 1
	SERVER_AT=(-p "${addr##*:}")
}

# listen_args: the server options of this transport, a fresh socket file in
# SERVER_SOCK for unix (for a server started without start_server).
listen_args() {
	if [[ $TRANSPORT == unix ]]; then
		SERVER_SOCK=$(mktemp -u "$BATS_TEST_TMPDIR/gone.XXXX.sock")
		LISTEN_ARGS=(-u "$SERVER_SOCK")
	else
		SERVER_SOCK=
		LISTEN_ARGS=(-p 0)
	fi
}

# head_of_fifo NAME: the FIFO $BATS_TEST_TMPDIR/NAME.fifo with "head -n 1"
# reading it into NAME.head (tracked). head exits after one line: whoever
# writes more to the FIFO gets EPIPE.
head_of_fifo() {
	local fifo="$BATS_TEST_TMPDIR/$1.fifo"
	rm -f "$fifo" "$BATS_TEST_TMPDIR/$1.head"
	mkfifo "$fifo"
	head -n 1 >"$BATS_TEST_TMPDIR/$1.head" <"$fifo" 3>&- &
	track_pid "$!"
}

check_stdout_gone() {
	local model=$1 out="$BATS_TEST_TMPDIR/stdout.head"
	# stdout closed: no readiness line can be read; ss shows the port.
	SERVER_ERR="$BATS_TEST_TMPDIR/closed.err"
	listen_args
	"$SERVERS_DIR/echo-$model" "${LISTEN_ARGS[@]}" >&- 2>"$SERVER_ERR" 3>&- &
	SERVER_PID=$!
	track_pid "$SERVER_PID"
	wait_until "$WAIT_MS" listening_at "$SERVER_PID"
	probe stream -c 2 -n 1MiB -t 20000
	assert_success
	stop_server
	assert_equal "$SERVER_STATUS" 0

	# stdout to head -1 (gone after the readiness line), and the -v trace
	# to another head -1 (gone after one line: every later trace line is
	# a write to a closed pipe, which must not matter).
	SERVER_ERR="$BATS_TEST_TMPDIR/stderr.head"
	head_of_fifo stdout
	head_of_fifo stderr
	listen_args
	"$SERVERS_DIR/echo-$model" "${LISTEN_ARGS[@]}" -v >"$BATS_TEST_TMPDIR/stdout.fifo" \
		2>"$BATS_TEST_TMPDIR/stderr.fifo" 3>&- &
	SERVER_PID=$!
	track_pid "$SERVER_PID"
	wait_until "$WAIT_MS" grep -q '^listening on ' "$out"
	listening_at "$SERVER_PID"
	record_baseline "$SERVER_PID" "$(resting_children "$model")"
	probe stream -c 2 -n 1MiB -t 20000
	assert_success
}

@test "with stdout closed, or stdout and the -v trace piped to head -1, it keeps serving" {
	for_each_model check_stdout_gone
}

check_protocol_garbage() {
	local model=$1 file
	start_checked "$model"
	for file in http.req h2.preface tls.hello ssh.banner ff.64k; do
		probe ping --data "$BATS_TEST_TMPDIR/$file" -t "$WAIT_MS"
		assert_success
		assert_output --partial "served bytes=$(stat -c %s "$BATS_TEST_TMPDIR/$file")"
	done
}

# hex_to_file HEX FILE: writes the bytes HEX spells.
hex_to_file() {
	local hex=$1 escaped="" i
	for ((i = 0; i < ${#hex}; i += 2)); do
		escaped+="\\x${hex:i:2}"
	done
	printf '%b' "$escaped" >"$2"
}

@test "protocol garbage (an HTTP request, an HTTP/2 preface, a TLS ClientHello, an SSH banner, 64 KiB of 0xFF) is echoed verbatim" {
	printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: robustness\r\nAccept: */*\r\n\r\n' \
		>"$BATS_TEST_TMPDIR/http.req"
	printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' >"$BATS_TEST_TMPDIR/h2.preface"
	printf 'SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n' >"$BATS_TEST_TMPDIR/ssh.banner"
	# A TLS 1.3 ClientHello for "localhost": record header, random, session
	# id, six cipher suites, SNI, supported groups, supported versions.
	hex_to_file "16030100800100007c0303000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f0012130113021303c02bc02fc02cc030cca9cca8010000210000000e000c0000096c6f63616c686f7374000a000400020017002b0003020304" \
		"$BATS_TEST_TMPDIR/tls.hello"
	assert_equal "$(stat -c %s "$BATS_TEST_TMPDIR/tls.hello")" 133
	head -c 65536 /dev/zero | tr '\0' '\377' >"$BATS_TEST_TMPDIR/ff.64k"
	for_each_model check_protocol_garbage
}

# ---- the load generator -----------------------------------------------------------------

# make tsan and make asan point LOADGEN at their build of bin/loadgen: its
# threads then run under the sanitizer, against the threaded servers (and,
# under make asan, the production designs: prefork, reactors, the io_uring
# models, libevent, epoll-procs, and the coroutines).
check_loadgen_runs_clean() {
	local model=$1 loadgen=${LOADGEN:-$BIN/loadgen} mode
	# shellcheck disable=SC2046
	start_checked "$model" $(concurrent_opts "$model")
	for mode in closed churn; do
		# shellcheck disable=SC2046 # no word or one
		run with_deadline 60 "$loadgen" "${SERVER_AT[@]}" -c 8 -t 2 -d 1s -W 0 -q --format json \
			$([[ $mode == churn ]] && echo --churn)
		echo "# $model, $mode: ${output:0:160}"
		assert_success
		assert_output --partial '"complete":true'
		assert_output --partial '"errors":{"connect":0,"mismatch":0,"reset":0,"timeout":0}'
	done
}

@test "the load generator (2 threads, 8 connections, closed loop and churn) drives the threaded servers and the production designs to the end without an error" {
	[[ -x ${LOADGEN:-$BIN/loadgen} ]] || skip "${LOADGEN:-$BIN/loadgen} is not built"
	restrict_models thread pool prefork reactors uring uring-multishot libevent coroutine \
		leader-follower epoll-procs
	for_each_model check_loadgen_runs_clean
}

# ---- the suites' sanitizer check -------------------------------------------------

@test "sanitizer_reports: ASan's swapcontext notice alone is not a report; an error is" {
	local logs="$BATS_TEST_TMPDIR/logs" later
	mkdir -p "$logs"
	# shellcheck disable=SC2034 # read by sanitizer_reports
	SANITIZER_LOG_DIR=$logs
	sanitizer_mark
	# Written after the mark, as a server's log would be.
	later=$(($(date +%s) + 2))
	echo "==41==WARNING: ASan doesn't fully support makecontext/swapcontext functions and may produce false positives in some cases!" >"$logs/asan.41"
	touch -d "@$later" "$logs/asan.41"
	run sanitizer_reports
	assert_success
	assert_output ""
	printf '%s\n' "==42==WARNING: ASan doesn't fully support makecontext/swapcontext functions and may produce false positives in some cases!" \
		"==42==ERROR: AddressSanitizer: heap-use-after-free on address 0x1" >"$logs/asan.42"
	touch -d "@$later" "$logs/asan.42"
	run sanitizer_reports
	assert_failure
	assert_output --partial "heap-use-after-free"
	# The teardown's own check must not find these.
	rm -f "$logs"/asan.*
}

@test "tree_fd_count: a descriptor of a sanitizer's log file is not counted as the server's" {
	local logs="$BATS_TEST_TMPDIR/logs" pid with without
	mkdir -p "$logs"
	# A process holding one log file of SANITIZER_LOG_DIR open, besides its own.
	sleep 60 3>"$logs/asan.1" &
	pid=$!
	track_pid "$pid"
	without=$(SANITIZER_LOG_DIR='' tree_fd_count "$pid")
	with=$(SANITIZER_LOG_DIR=$logs tree_fd_count "$pid")
	assert_equal "$with" $((without - 1))
	kill "$pid"
}
