#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # bats run sets status, output, stderr
# The teaching tools: make demo (bench/demo.sh) and make syscalls
# (bench/syscalls.sh).
#
# - The demo runs to completion for every model, its trace is in the shared
#   format, and it shows what that model must show: blocking serving one
#   client after another, fork's children, thread's threads, pool's queue
#   and its waiting client, select's and poll's scans, epoll returning only
#   the ready fds, the edge-triggered server reading to EAGAIN.
# - bench/syscalls.sh on a tiny configuration prints a table with a row of
#   numbers per model, and the model's own calls are in it.
#
# Each demo lasts DEMO_SECONDS=1 (2 s for blocking and pool, whose waiting
# clients are given loadgen's 1 s of grace); the whole suite about 30 s.

bats_require_minimum_version 1.5.0

load test_helper

DEMO="$ROOT/bench/demo.sh"
SYSCALLS="$ROOT/bench/syscalls.sh"
TRACE_EVENTS='listen|accept|shed|fork|thread|queue|serve|wait|scan|readable|writable|read|write|again|budget|eof|error|close|stop'
# Details are key=value; an errno text has spaces ("errno=Connection reset by peer").
TRACE_LINE="^ *[0-9]+\.[0-9]{6} +[0-9]+ ($TRACE_EVENTS) +fd=-?[0-9]+( +[a-z_]+=.*)?\$"

setup() {
	[[ -x "$BIN/loadgen" ]] || fail "bin/loadgen is missing: run make first"
}

teardown() {
	stop_tracked_processes
}

# demo MODEL: runs the demo (20 s at most); TRACE gets the raw trace file.
demo() {
	TRACE="$BATS_TEST_TMPDIR/trace"
	run --separate-stderr env DEMO_SECONDS=1 DEMO_TRACE="$TRACE" BIN="$SERVERS_DIR" \
		timeout 20 "$DEMO" "$1"
	echo "$output"
	echo "$stderr" >&2
	assert_success
	assert_output --partial "# loadgen:"
	[[ -s "$TRACE" ]] || fail "no trace kept in $TRACE"
	# Every line is a trace line in the documented format.
	run grep -vE "$TRACE_LINE" "$TRACE"
	assert_output ""
	for event in listen accept read write close stop; do
		(($(events "$event" | wc -l) >= 1)) || fail "no '$event' line in the trace"
	done
}

# events EVENT: the trace lines of EVENT.
events() {
	awk -v e="$1" '$3 == e' "$TRACE"
}

# the_tid EVENT: the thread ids of EVENT's lines, one per line, unique.
tids_of() {
	events "$1" | awk '{ print $2 }' | sort -u
}

main_tid() {
	events listen | awk '{ print $2; exit }'
}

@test "demo blocking: serves one client from accept to close before it accepts the next" {
	demo blocking
	(($(events accept | wc -l) == 3)) || fail "expected 3 accepts"
	# accept, close, accept, close, accept, close: never two accepts in a row.
	run awk '$3 == "accept" || $3 == "close" { printf "%s ", $3 }' "$TRACE"
	assert_output "accept close accept close accept close "
	# The waiting clients' messages arrive together in one late read.
	run awk '$3 == "read" { split($5, b, "="); if (b[2] > 64) n++ } END { print n + 0 }' "$TRACE"
	(( output >= 1 )) || fail "no read of more than one message"
	assert [ "$(tids_of read)" = "$(main_tid)" ]
}

@test "demo fork: a child process per client does that client's reads and writes" {
	demo fork
	(($(events fork | wc -l) == 3)) || fail "expected 3 fork lines"
	children=$(events fork | sed -n 's/.*child=\([0-9]*\).*/\1/p' | sort -u)
	assert [ "$(tids_of read)" = "$children" ]
	run grep -x "$(main_tid)" <<<"$(tids_of read)"
	assert_failure
}

@test "demo thread: each client is served by a thread of its own" {
	demo thread
	(($(events thread | wc -l) == 3)) || fail "expected 3 thread lines"
	(($(tids_of read | wc -l) == 3)) || fail "expected reads from 3 threads"
	run grep -x "$(main_tid)" <<<"$(tids_of read)"
	assert_failure
}

@test "demo pool: workers take queued clients, and the third waits for a free worker" {
	demo pool
	(($(events queue | wc -l) == 3)) || fail "expected 3 queue lines"
	(($(events serve | wc -l) == 3)) || fail "expected 3 serve lines"
	run grep -x "$(main_tid)" <<<"$(tids_of serve)"
	assert_failure
	# Two workers, three clients: the third serve comes after a close.
	run awk '$3 == "close" && !closed { closed = NR } $3 == "serve" { s[++n] = NR }
		END { print (closed && s[3] > closed) ? "after" : "before" }' "$TRACE"
	assert_output after
}

# check_scan MODEL CALL: every wait of CALL is followed at once by a scan.
check_scan() {
	demo "$1"
	(($(events wait | wc -l) >= 3)) || fail "expected waits"
	run grep -c "call=$2 ready=" "$TRACE"
	(( output == $(events wait | wc -l) )) || fail "a wait not by $2"
	run awk '$3 == "wait" { want = 1; next } want { if ($3 != "scan" || $6 !~ /^examined=[0-9]+$/) bad++; want = 0 }
		END { print bad + 0 }' "$TRACE"
	assert_output 0
	(($(events scan | wc -l) == $(events wait | wc -l))) || fail "not one scan per wait"
	assert [ "$(tids_of read)" = "$(main_tid)" ]
}

@test "demo select: every select call is followed by a scan of the fd set" {
	check_scan select select
}

@test "demo poll: every poll call is followed by a scan of the pollfd array" {
	check_scan poll poll
}

@test "demo epoll-lt: epoll_wait returns only the ready fds, nothing is scanned" {
	demo epoll-lt
	run grep -c "call=epoll_wait ready=" "$TRACE"
	(( output == $(events wait | wc -l) && output >= 3 )) || fail "waits not by epoll_wait"
	(($(events scan | wc -l) == 0)) || fail "epoll-lt scans"
	# With 3 clients, most waits report one ready fd, fewer than watched.
	run awk '$3 == "wait" { split($6, r, "="); split($7, w, "="); if (r[2] < w[2]) n++ }
		END { print n + 0 }' "$TRACE"
	(( output >= 3 )) || fail "no wait with fewer ready fds than watched"
	assert [ "$(tids_of read)" = "$(main_tid)" ]
}

@test "demo epoll-et: after each edge the server reads until EAGAIN" {
	demo epoll-et
	(($(events again | wc -l) >= $(events read | wc -l))) ||
		fail "fewer 'again' lines than reads: a turn ended without EAGAIN"
	# Each read that got data is followed, on that fd, by 'again' (or eof)
	# before the next wait.
	run awk '$3 == "read" { open[$4] = 1 } $3 == "again" || $3 == "eof" { delete open[$4] }
		$3 == "wait" { for (f in open) bad++ } END { print bad + 0 }' "$TRACE"
	assert_output 0
	(($(events budget | wc -l) == 0)) || fail "slow clients spent a read budget"
}

@test "demo: a model it does not know is a usage error" {
	run timeout 5 "$DEMO" nosuch
	assert_failure 2
	assert_output --partial "usage:"
}

# ---- bench/syscalls.sh -----------------------------------------------------------

# col ROW N: field N of a markdown table row ("| a | b |": field 1 is a).
col() {
	awk -F'|' -v n="$2" '{ gsub(/ /, "", $(n + 1)); print $(n + 1) }' <<<"$1"
}

@test "syscalls: a tiny run prints a table with a row of numbers per model" {
	# Beside a bench run's summary: the table is linked from it, once.
	mkdir -p "$BATS_TEST_TMPDIR/run"
	echo "# Bench run" >"$BATS_TEST_TMPDIR/run/README.md"
	out="$BATS_TEST_TMPDIR/run/syscalls.md"
	run --separate-stderr env SYSCALLS_POINTS=1 SYSCALLS_RATE=200 SYSCALLS_SECONDS=0.3 \
		BENCH_LOCK="$BATS_TEST_TMPDIR/lock" SYSCALLS_OUT="$out" BIN="$SERVERS_DIR" \
		timeout 50 "$SYSCALLS"
	echo "$output"
	echo "$stderr" >&2
	assert_success
	[[ -s "$out" ]] || fail "no $out"
	assert_equal "$(cat "$out")" "$output"
	run grep -c '(syscalls.md)' "$BATS_TEST_TMPDIR/run/README.md"
	assert_output 1
	header=$(grep -m1 '^| model |' "$out")
	for model in "${ALL_MODELS[@]}"; do
		row=$(grep "^| $model |" "$out") || fail "no row for $model"
		[[ $row =~ ^\|\ $model\ \|\ [0-9]+\ \|(\ ([0-9]+\.[0-9]{2}|·)\ \|){11}$ ]] ||
			fail "not a row of numbers: $row"
		# The echo itself: about one read and one write per message.
		read_col=$(awk -F'|' '{ for (i = 2; i < NF; i++) { gsub(/ /, "", $i); if ($i == "read") print i - 1 } }' <<<"$header")
		awk -v r="$(col "$row" "$read_col")" 'BEGIN { exit !(r >= 0.5 && r <= 2.5) }' ||
			fail "$model: reads per message out of range: $row"
	done
	# Each model's own waiting call is in its row.
	for pair in select:select poll:poll epoll-lt:epoll_wait epoll-et:epoll_wait fork:clone thread:clone; do
		model=${pair%%:*} call=${pair#*:}
		n=$(awk -F'|' -v c="$call" '{ for (i = 2; i < NF; i++) { gsub(/ /, "", $i); if ($i == c) print i - 1 } }' <<<"$header")
		row=$(grep "^| $model |" "$out")
		[[ $(col "$row" "$n") != "·" ]] || fail "$model: no $call calls: $row"
	done
}

@test "syscalls: a point a model cannot run is named, not measured" {
	run --separate-stderr env SYSCALLS_POINTS=2+3 SYSCALLS_RATE=200 SYSCALLS_SECONDS=0.3 \
		BENCH_LOCK="$BATS_TEST_TMPDIR/lock" SYSCALLS_OUT= BIN="$SERVERS_DIR" \
		timeout 30 "$SYSCALLS" blocking epoll-lt
	echo "$output"
	assert_success
	assert_line "| blocking | not run: serves one client at a time |"
	assert_output --partial "## 2 active connections + 3 idle"
	assert_output --regexp "\| epoll-lt \| [0-9]+ \|"
}
