#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # bats run sets status, output, stderr
# The teaching tools: make demo (bench/demo.sh) and make syscalls
# (bench/syscalls.sh).
#
# - The demo runs to completion for every model, its trace is in the shared
#   format, and it shows what that model must show: blocking serving one
#   client after another, fork's children, thread's threads, pool's queue
#   and its waiting client, select's and poll's scans, epoll returning only
#   the ready fds, the edge-triggered server reading to EAGAIN; prefork's
#   workers forked once and each client served by a different one, reactors'
#   loops each on its own thread with its clients, uring's completions and
#   libevent's echo leaving one turn of the loop after the read.
# - bench/syscalls.sh on a tiny configuration prints a table with a row of
#   numbers per model, and the model's own calls are in it: uring echoes with
#   io_uring_enter and no read or write, prefork's workers are counted.
# - A model that cannot run here (bench/models.sh) is skipped with the reason
#   by these tests, and by the demo and the syscalls table themselves.
#
# Each demo lasts DEMO_SECONDS=1 (2 s for blocking and pool, whose waiting
# clients are given loadgen's 1 s of grace); the whole suite about 50 s.

bats_require_minimum_version 1.5.0

# test_helper sources bench/models.sh: ALL_MODELS and model_unavailable.
load test_helper

DEMO="$ROOT/bench/demo.sh"
SYSCALLS="$ROOT/bench/syscalls.sh"
TRACE_EVENTS='listen|accept|shed|fork|thread|queue|serve|wait|scan|readable|writable|polled|idle|read|write|again|budget|eof|error|close|stop'
# Details are key=value; an errno text has spaces ("errno=Connection reset by peer").
TRACE_LINE="^ *[0-9]+\.[0-9]{6} +[0-9]+ ($TRACE_EVENTS) +fd=-?[0-9]+( +[a-z_]+=.*)?\$"

setup() {
	[[ -x "$BIN/loadgen" ]] || fail "bin/loadgen is missing: run make first"
}

teardown() {
	stop_tracked_processes
}

# skip_unless_available MODEL: skips the test, with the reason, when MODEL
# cannot run here (not built, or no io_uring).
skip_unless_available() {
	local reason
	if reason=$(model_unavailable "$SERVERS_DIR" "$1"); then
		skip "echo-$1 cannot run here: $reason"
	fi
}

# demo MODEL: runs the demo (60 s at most: a second of load, plus start-up
# and tracing, seconds on a loaded machine); TRACE gets the raw trace file,
# DEMO_OUTPUT what the demo printed.
demo() {
	TRACE="$BATS_TEST_TMPDIR/trace"
	skip_unless_available "$1"
	# The demo's defaults, whatever the environment says.
	run --separate-stderr with_deadline 60 \
		env -u DEMO_WORKERS -u DEMO_ARGS -u DEMO_CLIENTS -u DEMO_RATE -u DEMO_SIZE \
		DEMO_SECONDS=1 DEMO_TRACE="$TRACE" DEMO_OUT="$BATS_TEST_TMPDIR/demo" BIN="$SERVERS_DIR" "$DEMO" "$1"
	echo "$output"
	echo "$stderr" >&2
	assert_success
	assert_output --partial "# loadgen:"
	DEMO_OUTPUT=$output
	[[ -s "$TRACE" ]] || fail "no trace kept in $TRACE"
	# The same trace as a picture, where the demo says it is.
	assert_output --partial "# timeline: $BATS_TEST_TMPDIR/demo/$1.png and .svg"
	[[ -s "$BATS_TEST_TMPDIR/demo/$1.png" && -s "$BATS_TEST_TMPDIR/demo/$1.svg" ]] ||
		fail "no timeline picture of $1"
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

# timeline_lanes: the trace's connections as its picture draws them
# (bench/timeline.awk): LANES, a file of "lane accept_s serve_s end_s
# colour tid fd" lines, and MARKS, of "time_s lane kind colour" (kind 1
# read, 2 write).
timeline_lanes() {
	awk -v out="$BATS_TEST_TMPDIR/timeline" -f "$ROOT/bench/timeline.awk" "$TRACE"
	LANES="$BATS_TEST_TMPDIR/timeline.lanes" MARKS="$BATS_TEST_TMPDIR/timeline.marks"
	(($(wc -l <"$LANES") == 3)) || fail "expected a lane for each of the 3 clients: $(cat "$LANES")"
}

# most_served_at_once: the most connections whose service intervals
# (serve_s to end_s) overlap at one moment; one that ends as another
# begins does not overlap it.
most_served_at_once() {
	awk '{ print $3, 1; print $4, -1 }' "$LANES" | sort -k1,1g -k2,2n |
		awk '{ n += $2; if (n > most) most = n } END { print most + 0 }'
}

# served_by_one_thread: every read and write of every connection is by one
# thread (one colour in the picture), and it is the server's main one.
served_by_one_thread() {
	run awk '$3 == 1 || $3 == 2 { print $4 }' "$MARKS"
	# Every read and write of the trace is on a lane (none lost), all in one colour.
	assert_equal "${#lines[@]}" "$(awk '$3 == "read" || $3 == "write"' "$TRACE" | wc -l)"
	((${#lines[@]} > 0)) || fail "no read or write on any lane"
	[[ $(sort -u <<<"$output" | wc -l) == 1 ]] || fail "reads and writes by several threads: $(sort -u <<<"$output")"
	run awk '{ print $6 }' "$LANES"
	assert_equal "$(sort -u <<<"$output")" "$(main_tid)"
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
	# In its picture, no two clients are ever served at once.
	timeline_lanes
	assert_equal "$(most_served_at_once)" 1
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
	# In its picture all three are served at once, each in its own colour.
	timeline_lanes
	assert_equal "$(most_served_at_once)" 3
	assert_equal "$(awk '{ print $5 }' "$LANES" | sort -u | wc -l)" 3
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
	# In its picture never more than its two workers' clients are served at
	# once, and two are.
	timeline_lanes
	assert_equal "$(most_served_at_once)" 2
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

# turn_between_read_and_write: prints how many echoes (a read, then the
# write of that fd) had no wait line between them, and how many had one.
turn_between_read_and_write() {
	awk '$3 == "read" { pending[$4] = 1; waited[$4] = 0 }
		$3 == "wait" { for (f in pending) waited[f] = 1 }
		$3 == "write" && ($4 in pending) { if (waited[$4]) later++; else now++; delete pending[$4] }
		END { print now + 0, later + 0 }' "$TRACE"
}

@test "demo prefork: workers forked once at start, and each client served by a different worker" {
	demo prefork
	# One fork per worker (-w 4 = DEMO_CLIENTS + 1), none per client. (The
	# readiness line comes before the forks, so a client may be accepted
	# before the last fork line: their order is not checked.)
	(($(events fork | wc -l) == 4)) || fail "expected 4 fork lines (-w 4)"
	(($(events serve | wc -l) == 3)) || fail "expected 3 serve lines"
	# Three clients at once: three different workers, each the process forked
	# for it (serve's tid is the pid on that worker's fork line).
	run awk '$3 == "fork" { split($5, w, "="); split($6, p, "="); pid[w[2]] = p[2] }
		$3 == "serve" { split($5, w, "="); seen[w[2]] = 1; if (pid[w[2]] != $2) bad++ }
		END { for (k in seen) n++; print n + 0, bad + 0 }' "$TRACE"
	assert_output "3 0"
	run grep -x "$(main_tid)" <<<"$(tids_of read)"
	assert_failure
	# The parent's stop line: one count per worker, 3 in all.
	assert_regex "$DEMO_OUTPUT" $'(^|\n)# server: echo-prefork: connections served per worker \(one shared listener\): [0-9]+ [0-9]+ [0-9]+ [0-9]+ \(total 3\)'
}

@test "demo reactors: each epoll loop runs on its own thread, and a client stays on the reactor that accepted it" {
	demo reactors
	# Every wait names its reactor (-w 2), and each reactor's waits come
	# from one thread of its own, not the main thread.
	run awk '$3 == "wait" {
			if (!match($0, / reactor=[0-9]+/) || $5 != "call=epoll_wait") { bad++; next }
			r = substr($0, RSTART + 9, RLENGTH - 9)
			if ((r in tid) && tid[r] != $2) bad++
			tid[r] = $2; reactors[r] = 1
		}
		END { n = 0; for (r in reactors) { n++; if (r >= 2) bad++; threads[tid[r]] = 1 }
			m = 0; for (t in threads) m++
			print n, m, bad + 0 }' "$TRACE"
	assert_output "2 2 0"
	run grep -x "$(main_tid)" <<<"$(tids_of wait)"
	assert_failure
	# A connection's reads and writes are on the thread that accepted it.
	run awk '$3 == "accept" { owner[$4] = $2 }
		($3 == "read" || $3 == "write") { n++; if (owner[$4] != $2) bad++ }
		END { print n + 0, bad + 0 }' "$TRACE"
	[[ $output =~ ^([0-9]+)\ 0$ ]] && ((BASH_REMATCH[1] >= 6)) ||
		fail "reads or writes off the accepting reactor's thread (count, off): $output"
	assert_regex "$DEMO_OUTPUT" $'(^|\n)# server: echo-reactors: connections accepted per reactor \(one SO_REUSEPORT listener each\): [0-9]+ [0-9]+ \(total 3\)'
}

@test "demo uring: every event is a completion returned by an io_uring_enter, and the echo goes out a turn later" {
	demo uring
	(($(events wait | wc -l) >= 3)) || fail "expected waits"
	run grep -c "call=io_uring_enter completions=[0-9]" "$TRACE"
	((output == $(events wait | wc -l))) || fail "a wait not by io_uring_enter"
	(($(events readable | wc -l) + $(events writable | wc -l) + $(events scan | wc -l) == 0)) ||
		fail "readiness or scan lines in a completion-based server"
	# Nothing happens before the first io_uring_enter returns, and the waits
	# returned at least as many completions as there are events.
	run awk '$3 == "wait" { c += substr($6, 13); waited = 1; next }
		$3 ~ /^(accept|read|write|eof)$/ { if (!waited) early++; events++ }
		END { print early + 0, (c >= events) ? "covered" : "short " c " < " events }' "$TRACE"
	assert_output "0 covered"
	# A recv completes (read); the send is submitted by the next io_uring_enter,
	# so its completion (write) comes after another wait.
	run turn_between_read_and_write
	[[ $output =~ ^0\ ([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 4)) ||
		fail "echoes with no wait between read and write (now, later): $output"
	assert [ "$(tids_of read)" = "$(main_tid)" ]
}

@test "demo libevent: the library reads, and the echo goes out one turn of the loop later" {
	demo libevent
	run grep -c "listen .*backend=epoll" "$TRACE"
	assert_output 1
	run grep -c "call=event_base_loop" "$TRACE"
	((output == $(events wait | wc -l) && output >= 3)) || fail "waits not by event_base_loop"
	# libevent calls back after its own reads. The one readiness line is a
	# connection's first bytes waking the plain event it waited with while
	# idle: once a connection here, since its client sends every 0.5 s and
	# the bufferevent goes only after 1 s without bytes.
	(($(events writable | wc -l) == 0)) || fail "writable lines: libevent writes by itself"
	assert_equal "$(events readable | grep -c ' bufferevent=new$')" "$(events accept | wc -l)"
	assert_equal "$(events readable | wc -l)" "$(events accept | wc -l)"
	# epoll-lt writes right after its read; libevent's write waits for the
	# next turn of the loop.
	run turn_between_read_and_write
	[[ $output =~ ^0\ ([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 4)) ||
		fail "echoes with no wait between read and write (now, later): $output"
	assert [ "$(tids_of read)" = "$(main_tid)" ]
}

@test "demo: every event loop serves every client from one thread, one colour in its picture" {
	local m
	for m in select poll epoll-lt epoll-et uring uring-multishot libevent coroutine; do
		if model_unavailable "$SERVERS_DIR" "$m" >/dev/null; then
			echo "# $m cannot run here: not checked" >&3
			continue
		fi
		demo "$m"
		timeline_lanes
		served_by_one_thread
	done
}

@test "make demo-all: every model's timeline, and one sheet of them all" {
	local out="$BATS_TEST_TMPDIR/all" m
	run --separate-stderr with_deadline 300 env -u DEMO_WORKERS -u DEMO_ARGS -u DEMO_CLIENTS \
		-u DEMO_RATE -u DEMO_SIZE DEMO_SECONDS=1 DEMO_OUT="$out" BIN="$SERVERS_DIR" \
		"$ROOT/bench/demo-all.sh"
	echo "$stderr" >&2
	assert_success
	for m in "${ALL_MODELS[@]}"; do
		if model_unavailable "$SERVERS_DIR" "$m" >/dev/null; then
			[[ ! -e "$out/$m.png" ]] || fail "$m cannot run here, yet it has a picture"
			continue
		fi
		[[ -s "$out/$m.png" && -s "$out/$m.svg" && -s "$out/$m.trace" ]] || fail "no timeline of $m"
	done
	[[ -s "$out/all.png" && -s "$out/all.svg" ]] || fail "no sheet"
	# The sheet has a panel for every model that ran, titled by its model.
	for m in "${ALL_MODELS[@]}"; do
		model_unavailable "$SERVERS_DIR" "$m" >/dev/null ||
			grep -q ">$m</text>" "$out/all.svg" || fail "no panel titled $m in the sheet"
	done
}

@test "timeline.sh draws a trace a student made by hand, and refuses what is not a trace" {
	local trace="$BATS_TEST_TMPDIR/hand.trace"
	printf '%s\n' "  0.000100    100 listen   fd=3     addr=127.0.0.1:9877 model=select" \
		"  0.010000    100 accept   fd=5     peer=127.0.0.1:40000" \
		"  0.020000    100 wait     fd=-1    call=select ready=1 watched=2" \
		"  0.020100    100 read     fd=5     bytes=64" \
		"  0.020200    100 write    fd=5     bytes=64" \
		"  0.030000    100 close    fd=5     reason=done" >"$trace"
	run "$ROOT/bench/timeline.sh" "$trace"
	assert_success
	assert_line "$BATS_TEST_TMPDIR/hand.png"
	[[ -s "$BATS_TEST_TMPDIR/hand.png" && -s "$BATS_TEST_TMPDIR/hand.svg" ]] || fail "no picture"
	echo "not a trace" >"$BATS_TEST_TMPDIR/other.txt"
	run "$ROOT/bench/timeline.sh" "$BATS_TEST_TMPDIR/other.txt"
	assert_failure 1
	assert_output --partial "no connection in the trace"
	run "$ROOT/bench/timeline.sh"
	assert_failure 2
}

@test "demo: a model that cannot run here is skipped, with the reason" {
	# A bin directory with the load generator and no echo-uring: as if built
	# without liburing.
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	ln -s "$BIN/loadgen" "$BATS_TEST_TMPDIR/bin/loadgen"
	run --separate-stderr with_deadline "$WAIT_S" env BIN="$BATS_TEST_TMPDIR/bin" "$DEMO" uring
	assert_success
	assert_output "# demo: echo-uring cannot run here, skipped: built without liburing (apt-get install liburing-dev, then make)"
	# Built, but io_uring refused (a container's seccomp profile): the
	# server's own reason.
	[[ -x "$SERVERS_DIR/echo-uring" && -x "$TOOLS/no-uring" ]] ||
		skip "echo-uring or $TOOLS/no-uring not built"
	run --separate-stderr with_deadline "$WAIT_S" \
		env BIN="$SERVERS_DIR" "$TOOLS/no-uring" -e EPERM "$DEMO" uring
	((status != 77)) || skip "no-uring does not know this architecture"
	assert_success
	assert_output --regexp "^# demo: echo-uring cannot run here, skipped: io_uring is unavailable here: .*Operation not permitted"
}

@test "demo: a model it does not know is a usage error" {
	run with_deadline "$WAIT_S" "$DEMO" nosuch
	assert_failure 2
	assert_output --partial "usage:"
}

# ---- bench/syscalls.sh -----------------------------------------------------------

# col ROW N: field N of a markdown table row ("| a | b |": field 1 is a).
col() {
	awk -F'|' -v n="$2" '{ gsub(/ /, "", $(n + 1)); print $(n + 1) }' <<<"$1"
}

# cell FILE LABEL CALL: the figure in the row of LABEL ("prefork --reuseport")
# under CALL's column, in the first table of FILE.
cell() {
	awk -F'|' -v label="$2" -v call="$3" '
		/^\| model \|/ && !c { for (i = 2; i < NF; i++) { h = $i; gsub(/ /, "", h); if (h == call) c = i } }
		{ l = $2; gsub(/^ +| +$/, "", l) }
		c && l == label { v = $c; gsub(/ /, "", v); print v; exit }' "$1"
}

# at_least VALUE MIN / below VALUE MAX: compare a figure ("·" is 0).
at_least() {
	awk -v v="${1/·/0}" -v m="$2" 'BEGIN { exit !(v + 0 >= m) }'
}
below() {
	awk -v v="${1/·/0}" -v m="$2" 'BEGIN { exit !(v + 0 < m) }'
}

@test "syscalls: a tiny run prints a table with a row of numbers per model" {
	# Beside a bench run's summary: the table is linked from it, once.
	mkdir -p "$BATS_TEST_TMPDIR/run"
	echo "# Bench run" >"$BATS_TEST_TMPDIR/run/README.md"
	out="$BATS_TEST_TMPDIR/run/syscalls.md"
	run --separate-stderr with_deadline 120 env SYSCALLS_POINTS=1 SYSCALLS_RATE=200 SYSCALLS_SECONDS=0.3 \
		BENCH_LOCK="$BATS_TEST_TMPDIR/lock" SYSCALLS_OUT="$out" BIN="$SERVERS_DIR" \
		"$SYSCALLS"
	echo "$output"
	echo "$stderr" >&2
	assert_success
	[[ -s "$out" ]] || fail "no $out"
	assert_equal "$(cat "$out")" "$output"
	run grep -c '(syscalls.md)' "$BATS_TEST_TMPDIR/run/README.md"
	assert_output 1
	ran=()
	for label in "${ALL_MODELS[@]}"; do
		model=$label
		if reason=$(model_unavailable "$SERVERS_DIR" "$model"); then
			grep -qxF "| $label | not run: $reason |" "$out" || fail "$label: no 'not run: $reason' row"
			continue
		fi
		ran+=("$label")
		row=$(awk -v l="| $label |" 'index($0, l) == 1 { print; exit }' "$out")
		# messages, then 13 columns: accept ... futex, other, total.
		[[ $row =~ ^\|\ $label\ \|\ [0-9]+\ \|(\ ([0-9]+\.[0-9]{2}|·)\ \|){13}$ ]] ||
			fail "not a row of numbers: $row"
		if [[ $model == uring* ]]; then
			# The lesson of uring: no read or write call per message; the
			# kernel does both inside io_uring_enter. (A few calls in all
			# remain: the readiness line is a write.)
			below "$(cell "$out" "$label" read)" 0.2 && below "$(cell "$out" "$label" write)" 0.2 ||
				fail "$label: reads or writes per message: $row"
			at_least "$(cell "$out" "$label" io_uring_enter)" 0.5 || fail "$label: no io_uring_enter: $row"
		else
			# The echo itself: about one read and one write per message
			# (prefork's parent reads nothing: its workers are counted).
			at_least "$(cell "$out" "$label" read)" 0.5 && below "$(cell "$out" "$label" read)" 2.5 ||
				fail "$label: reads per message out of range: $row"
			[[ $(cell "$out" "$label" io_uring_enter) == "·" ]] || fail "$label: io_uring_enter calls: $row"
		fi
	done
	((${#ran[@]} >= 10)) || fail "only ${#ran[@]} models ran"
	# Each model's own calls are in its row.
	for pair in select:select poll:poll epoll-lt:epoll_wait epoll-et:epoll_wait fork:clone \
		thread:clone prefork:clone reactors:epoll_wait libevent:epoll_wait libevent:ioctl; do
		model=${pair%%:*} call=${pair#*:}
		[[ " ${ran[*]} " == *" $model "* ]] || continue
		[[ $(cell "$out" "$model" "$call") != "·" ]] || fail "$model: no $call calls"
	done
	# libevent watches EPOLLOUT for each echo and stops again: two epoll_ctl
	# per message, where epoll-lt needs one per connection.
	if [[ " ${ran[*]} " == *" libevent "* ]]; then
		at_least "$(cell "$out" libevent epoll_ctl)" 1 || fail "libevent: under one epoll_ctl per message"
		below "$(cell "$out" epoll-lt epoll_ctl)" 0.5 || fail "epoll-lt: an epoll_ctl per message"
	fi
	# With perf: the requests each io_uring_enter carried. uring submits a
	# recv and a send per message; uring-multishot's recv stays armed, so a
	# send only.
	if [[ " ${ran[*]} " == *" uring "* && " ${ran[*]} " == *" uring-multishot "* &&
		$output == *"Counted with perf"* ]]; then
		single=$(grep -A 4 '^| model | messages | io_uring_enter | submitted' "$out" | grep -F '| uring |')
		multi=$(grep -A 4 '^| model | messages | io_uring_enter | submitted' "$out" | grep -F '| uring-multishot |')
		multi=$(col "$multi" 4) single=$(col "$single" 4)
		at_least "$single" "$(awk -v m="$multi" 'BEGIN { print m + 0.5 }')" ||
			fail "submitted per message: uring-multishot $multi, uring $single"
	fi
}

@test "syscalls: a point a model cannot run is named, not measured" {
	run --separate-stderr with_deadline 60 \
		env SYSCALLS_POINTS=2+3 SYSCALLS_RATE=200 SYSCALLS_SECONDS=0.3 \
		BENCH_LOCK="$BATS_TEST_TMPDIR/lock" SYSCALLS_OUT= BIN="$SERVERS_DIR" \
		"$SYSCALLS" blocking epoll-lt
	echo "$output"
	assert_success
	assert_line "| blocking | not run: serves one client at a time: the others would wait forever |"
	assert_output --partial "## 2 active connections + 3 idle"
	assert_output --regexp "\| epoll-lt \| [0-9]+ \|"
}

@test "syscalls: a model that cannot run here gets a row with the reason, and the run still passes" {
	[[ -x "$SERVERS_DIR/echo-uring" && -x "$TOOLS/no-uring" ]] ||
		skip "echo-uring or $TOOLS/no-uring not built"
	run --separate-stderr with_deadline 60 env SYSCALLS_POINTS=1 SYSCALLS_RATE=200 SYSCALLS_SECONDS=0.3 \
		BENCH_LOCK="$BATS_TEST_TMPDIR/lock" SYSCALLS_OUT= BIN="$SERVERS_DIR" \
		"$TOOLS/no-uring" -e EPERM "$SYSCALLS" uring uring-multishot epoll-lt
	echo "$output"
	echo "$stderr" >&2
	((status != 77)) || skip "no-uring does not know this architecture"
	assert_success
	assert_output --regexp $'(^|\n)\\| uring \\| not run: io_uring is unavailable here: [^|]*Operation not permitted[^|]* \\|'
	assert_output --regexp $'(^|\n)\\| uring-multishot \\| not run: io_uring is unavailable here: [^|]*Operation not permitted[^|]* \\|'
	assert_output --regexp "\| epoll-lt \| [0-9]+ \|"
}

# ---- tests/tools/coro-switch ---------------------------------------------------------

@test "coro-switch: N rounds of resume and yield are 2N switches, timed; a bad count is refused" {
	run "$TOOLS/coro-switch" 1000
	assert_success
	assert_output --regexp '^switches=2000 ns_per_switch=[0-9]+\.[0-9]$'
	run "$TOOLS/coro-switch" 0
	assert_failure 1
	assert_output --partial "usage: coro-switch [N]"
}
