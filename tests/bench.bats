#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # bats run sets status, output, stderr
# The bench pipeline (bench/README.md, "How a point is measured" and "Every
# figure with its uncertainty"), fast and without load:
#
# - bench/report.sh on a hand-made raw.csv: medians over repeats, gaps for
#   points that did not run (never zeros), the summary and its reasons, the
#   charts as PNG and SVG;
# - bench/point.sh, one point: one well-formed raw.csv row whether the point
#   ran, was not run (the reason from bench/models.txt, the facts table) or
#   failed;
# - bench/run.sh with a stand-in load generator that prints a report whose
#   figures the test sets: not-run points are recorded with their reason and
#   cost no run (a model that cannot run here, through a stand-in servers
#   folder; prefork past its cap), every row has every column, results/latest
#   moves to the new run, an unpinned run says so everywhere; the models of a
#   round come in an order shuffled from the seed; adaptive rounds stop when
#   the intervals are tight, and at MAX_REPEATS when they are not;
# - the figure table for the README (bench/figures.sh) from synthetic runs;
# - one tiny real run (two event-loop models, two points, 0.3 s each) when
#   bin/loadgen exists, through the shared bench lock.
#
# The chart tests need gnuplot (Debian gnuplot-nox); they skip without it.

bats_require_minimum_version 1.5.0

load test_helper

setup() {
	RUN_DIR="$BATS_TEST_TMPDIR/run"
	mkdir -p "$RUN_DIR"
	CSV_HEADER=$("$ROOT/bench/point.sh" --header)
	[[ -n "$CSV_HEADER" ]] || fail "bench/point.sh --header printed nothing"
}

# A test that makes network namespaces names them in NETNS_MADE until it
# removes them: removed here when it fails first.
teardown() {
	[[ -z ${NETNS_MADE:-} ]] || netns_down "$NETNS_MADE"
}

need_gnuplot() {
	command -v gnuplot >/dev/null 2>&1 || skip "gnuplot is not installed (Debian: gnuplot-nox)"
}

# row MODEL WORKLOAD X REPEAT STATUS [COLUMN=VALUE...]: one raw.csv row with
# the named columns set and the rest empty.
row() {
	awk -v header="$CSV_HEADER" 'BEGIN {
		n = split(header, col, ",")
		split("model workload x repeat status", first, " ")
		for (i = 1; i <= 5; i++)
			v[first[i]] = ARGV[i]
		for (i = 6; i < ARGC; i++) {
			eq = index(ARGV[i], "=")
			v[substr(ARGV[i], 1, eq - 1)] = substr(ARGV[i], eq + 1)
		}
		line = v[col[1]]
		for (i = 2; i <= n; i++)
			line = line "," v[col[i]]
		print line
	}' "$@"
}

# ok_row MODEL WORKLOAD X REPEAT MSGS_PER_S [COLUMN=VALUE...]: a clean run.
ok_row() {
	local m=$1 w=$2 x=$3 r=$4 rate=$5
	shift 5
	row "$m" "$w" "$x" "$r" ok connections="$x" idle=0 size=64 pipeline=1 rate=0 \
		msgs_per_s="$rate" mib_per_s=1.5 lat_p50_us=40 lat_p90_us=60 lat_p99_us=90 \
		lat_p999_us=200 lat_max_us=900 client_cpu=0.5 client_bound=0 server_us_per_msg=10 \
		server_rss_kib=2048 server_pss_kib=1024 conns_per_s="$rate" "$@"
}

# A small run: closed loop at 1, 16 and 1024 connections for every model,
# three repeats; blocking and select do not run everywhere; one failed point.
write_sample_run() {
	{
		echo "$CSV_HEADER"
		local r m x
		for r in 1 2 3; do
			for x in 1 16 1024; do
				for m in blocking fork thread pool select poll epoll-lt epoll-et; do
					if [[ $m == blocking && $x -gt 1 ]]; then
						row "$m" closed "$x" "$r" not-run reason="serves one client at a time" connections="$x"
					elif [[ $m == select && $x == 1024 ]]; then
						row "$m" closed "$x" "$r" not-run reason="fds >= FD_SETSIZE (1024) are refused" connections="$x"
					elif [[ $m == fork && $x == 1024 ]]; then
						row "$m" closed "$x" "$r" failed reason="loadgen did not finish within 20 s" connections="$x"
					else
						ok_row "$m" closed "$x" "$r" $((10000 * r + x))
					fi
				done
			done
			# epoll-et: a client-bound point; thread: one repeat with errors.
			ok_row epoll-et open 5000 "$r" 4990 rate=5000 client_cpu=0.97 client_bound=1 connections=16
			if [[ $r == 2 ]]; then
				row thread open 5000 "$r" error reason="loadgen exit 1: errors timeout 3" rate=5000 connections=16 msgs_per_s=1
			else
				ok_row thread open 5000 "$r" 4995 rate=5000 connections=16
			fi
			row blocking open 5000 "$r" not-run reason="serves one client at a time" rate=5000 connections=16
		done
	} >"$RUN_DIR/raw.csv"
	cat >"$RUN_DIR/env.txt" <<-'EOF'
		run: 20250101T000000Z-test
		cpu_model: Test CPU
		cores: 2
		kernel: 6.1.0
		compiler: gcc 12.2.0
		optimisation: -O2 -g
		git: abc1234
		profile: test
		repeats: 3
		warmup_s: 0.5
		duration_s: 1
		pinning: Server on CPU 0, client on CPU 1 (taskset)
	EOF
}

# agg_field WORKLOAD X MODEL COLUMN: one value of agg.csv.
agg_field() {
	awk -F, -v w="$1" -v x="$2" -v m="$3" -v c="$4" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == w && $2 == x && $3 == m { print $col[c] }' "$RUN_DIR/agg.csv"
}

@test "report: the median, min and max of every point come from its clean repeats" {
	need_gnuplot
	write_sample_run
	run bench_report
	assert_success
	# Repeats 10016, 20016, 30016: median 20016.
	assert_equal "$(agg_field closed 16 epoll-et msgs_per_s_med)" 20016
	assert_equal "$(agg_field closed 16 epoll-et msgs_per_s_min)" 10016
	assert_equal "$(agg_field closed 16 epoll-et msgs_per_s_max)" 30016
	assert_equal "$(agg_field closed 16 epoll-et runs)" 3
	# thread's open point: the repeat with errors is left out (4995, 4995).
	assert_equal "$(agg_field open 5000 thread ok)" 2
	assert_equal "$(agg_field open 5000 thread msgs_per_s_min)" 4995
	assert_equal "$(agg_field open 5000 thread status)" ok
}

@test "report: a point that did not run is a gap in the chart data, never a zero" {
	need_gnuplot
	write_sample_run
	run bench_report
	assert_success
	assert_equal "$(agg_field closed 1024 select status)" not-run
	assert_equal "$(agg_field closed 1024 select msgs_per_s_med)" ""
	assert_equal "$(agg_field closed 1024 fork status)" failed
	# The select block of the throughput data: 1 and 16, nothing at 1024.
	run awk '/^# select/ { on = 1; next } /^# / { on = 0 } on && NF' "$RUN_DIR/data/throughput.dat"
	assert_output --partial "1 20001 "
	assert_output --partial "16 20016 "
	refute_output --partial "1024"
	# No model has a zero anywhere in the chart data.
	run awk 'NF && $1 !~ /^#/ && $2 == 0' "$RUN_DIR"/data/*.dat
	assert_output ""
	# A model with no point at all keeps its block, and the key says why.
	run grep -F 'T[1] = "blocking (not run)"' "$RUN_DIR/data/open.gp"
	assert_success
	run grep -F 'select at 1024: fds >= FD_SETSIZE (1024) are refused' "$RUN_DIR/data/throughput.gp"
	assert_success
}

@test "report: the summary shows gaps as — or ✗ and lists every reason" {
	need_gnuplot
	write_sample_run
	run bench_report
	assert_success
	run grep -E '^\| select \|' "$RUN_DIR/README.md"
	assert_line --index 0 --partial "| 20k ±156% | 20k ±156% | — |"
	run grep -E '^\| fork \|' "$RUN_DIR/README.md"
	assert_line --index 0 --partial "| ✗ |"
	run cat "$RUN_DIR/README.md"
	assert_output --partial "| closed | blocking | 16, 1024 | not-run | serves one client at a time |"
	assert_output --partial "| closed | select | 1024 | not-run | fds >= FD_SETSIZE (1024) are refused |"
	assert_output --partial "| closed | fork | 1024 | failed | loadgen did not finish within 20 s |"
	assert_output --partial "1 of 3 repeats failed"
	# The client-bound point is starred.
	assert_output --regexp '\| epoll-et \| 4.99k\* ±0% \|'
	assert_output --partial "Machine: Test CPU, 2 cores, Linux 6.1.0."
}

@test "report: every chart of a workload that ran is drawn, as PNG and SVG" {
	need_gnuplot
	write_sample_run
	run bench_report
	assert_success
	local chart
	for chart in throughput latency cpu memory open; do
		[[ -s "$RUN_DIR/$chart.png" ]] || fail "$chart.png is missing"
		[[ -s "$RUN_DIR/$chart.svg" ]] || fail "$chart.svg is missing"
		[[ "$(head -c 8 "$RUN_DIR/$chart.png" | od -An -tx1 | tr -d ' \n')" == 89504e470d0a1a0a ]] ||
			fail "$chart.png is not a PNG"
		grep -q '<svg' "$RUN_DIR/$chart.svg" || fail "$chart.svg is not an SVG"
		grep -qF "($chart.png)" "$RUN_DIR/README.md" || fail "README.md does not show $chart.png"
	done
	# No workload, no chart (and the summary says so).
	[[ ! -e "$RUN_DIR/idle.png" ]] || fail "idle.png drawn without idle data"
	run grep -c 'No chart' "$RUN_DIR/README.md"
	assert_output 0
}

@test "report: refuses a folder without raw.csv, naming it" {
	run bench_report
	assert_failure
	assert_output --partial "raw.csv: no such file"
}

# ---- one point, and the driver, with a stand-in load generator ---------------

# A load generator that loads nothing: it sleeps warm-up + duration and
# prints a CSV report (bin/loadgen --format csv: a header and one row) with
# the columns bench/point.sh reads. Enough to drive bench/point.sh and
# bench/run.sh end to end, deterministically. With --server-pid it reads the
# server's RSS, processes and threads from /proc, as the real one does, so
# a wrong pid shows. Its figures are the test's: FAKE_MSGS (messages per
# second per connection, 1000), FAKE_US (server CPU per message, 10 µs),
# each spread by FAKE_SPREAD and FAKE_US_SPREAD (fractions: the figure is
# multiplied by 1 - spread, 1 or 1 + spread, by --seed, which is the round);
# FAKE_EXIT: exit with that status and print nothing.
write_fake_loadgen() {
	FAKE_LOADGEN="$BATS_TEST_TMPDIR/fake-loadgen"
	cat >"$FAKE_LOADGEN" <<-'EOF'
		#!/usr/bin/env bash
		set -euo pipefail
		[[ "${1:-}" != -V ]] || { echo "fake-loadgen 0"; exit 0; }
		[[ "${1:-}" != --help ]] || { echo "  --server-pid PID   the server's figures"; exit 0; }
		warm=0 dur=1000 conns=1 seed=1 spid="" mode=closed
		while [[ $# -gt 0 ]]; do
			case "$1" in
			-W) warm=${2%ms}; shift ;;
			-d) dur=${2%ms}; shift ;;
			-c) conns=$2; shift ;;
			--seed) seed=$2; shift ;;
			--server-pid) spid=$2; shift ;;
			--churn) mode=churn ;;
			-r) mode=open; shift ;;
			-p | -t | -s | --idle | --connect-timeout | --format) shift ;;
			esac
			shift
		done
		[[ -z ${FAKE_EXIT:-} ]] || exit "$FAKE_EXIT"
		sleep "$(awk -v a="$warm" -v b="$dur" 'BEGIN { print (a + b) / 1000 }')"
		# -1, 0 or +1 by round: the spread of the figures.
		k=$((seed % 3 - 1))
		msgs=$(awk -v m="${FAKE_MSGS:-1000}" -v c="$conns" -v s="${FAKE_SPREAD:-0}" -v k="$k" 'BEGIN { print m * c * (1 + s * k) }')
		us=$(awk -v u="${FAKE_US:-10}" -v s="${FAKE_US_SPREAD:-0}" -v k="$k" 'BEGIN { print u * (1 + s * k) }')
		server="" rss="" procs="" threads=""
		if [[ -n $spid ]]; then
			rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$spid/status")
			threads=$(awk '/^Threads:/ { print $2 }' "/proc/$spid/status")
			procs=$((1 + $(cat /proc/"$spid"/task/*/children | wc -w)))
			server=$(awk -v d="$dur" -v u="$us" -v m="$msgs" 'BEGIN { printf "%.3f", u * m * d / 1e9 }')
		else
			us=""
		fi
		echo "mode,connections,idle,threads,size,pipeline,rate,duration_s,messages,bytes,msgs_per_s,mib_per_s,latency_us_min,latency_us_p50,latency_us_p90,latency_us_p99,latency_us_p999,latency_us_p9999,latency_us_max,latency_us_mean,errors_connect,errors_mismatch,errors_reset,errors_timeout,client_cpu,complete,warmup_s,connects,conns_per_s,connect_latency_us_min,connect_latency_us_p50,connect_latency_us_p90,connect_latency_us_p99,connect_latency_us_p999,connect_latency_us_p9999,connect_latency_us_max,connect_latency_us_mean,unsent,down,client_cpu_us_per_msg,server_cpu_s,server_us_per_msg,server_rss_kib,server_pss_kib,server_procs,server_threads,server_ctx_switches_per_msg"
		echo "$mode,$conns,0,1,64,1,0,$(awk -v d="$dur" 'BEGIN { printf "%.3f", d / 1000 }'),1000,64000,$msgs,1.0,10,20,30,40,50,55,60,21,0,0,0,0,0.5,true,0,0,0,,,,,,,,,0,0,5,$server,$us,$rss,$rss,$procs,$threads,0.5"
	EOF
	chmod +x "$FAKE_LOADGEN"
}

# bench_run [VAR=VALUE...]: bench/run.sh with a private lock and results folder.
bench_run() {
	with_deadline 60 env BENCH=smoke PIN=0 NO_BUILD=1 WARMUP=0.05 DURATION=0.2 \
		RESULTS="$BATS_TEST_TMPDIR/results" BENCH_LOCK="$BATS_TEST_TMPDIR/lock" "$@" \
		"$ROOT/bench/run.sh"
}

# point [VAR=VALUE...] -- MODEL WORKLOAD X ROUND: bench/point.sh with the
# stand-in load generator and a private lock, its stdout alone in $output.
point() {
	local vars=()
	while [[ $1 != -- ]]; do
		vars+=("$1")
		shift
	done
	shift
	run --separate-stderr with_deadline 30 env PIN=0 WARMUP=0.05 DURATION=0.1 LOADGEN="$FAKE_LOADGEN" \
		BENCH_LOCK="$BATS_TEST_TMPDIR/lock" "${vars[@]}" "$ROOT/bench/point.sh" "$@"
}

# field COLUMN: a column of the raw.csv row in $output.
field() {
	awk -F, -v header="$CSV_HEADER" -v want="$1" 'BEGIN { n = split(header, h, ","); for (i = 1; i <= n; i++) c[h[i]] = i }
		{ print $c[want] }' <<<"$output"
}

# assert_one_row: $output is one line with every column of the header.
assert_one_row() {
	local n
	n=$(awk -F, '{ print NF }' <<<"$CSV_HEADER")
	assert_equal "$(wc -l <<<"$output")" 1
	assert_equal "$(awk -F, '{ print NF }' <<<"$output")" "$n"
}

bench_report() {
	with_deadline 60 "$ROOT/bench/report.sh" "$RUN_DIR"
}

@test "point.sh: --header prints the raw.csv header; a wrong model, workload or count is a usage error (exit 2)" {
	run "$ROOT/bench/point.sh" --header
	assert_success
	assert_output --regexp '^model,workload,x,repeat,status,reason,.*,msgs_per_s,.*,server_us_per_msg,.*,server_ctx_switches_per_msg,transport,capacity_msgs_per_s,capacity_ended_by$'
	local args
	for args in "" "epoll-et closed 1" "kqueue closed 1 1" "epoll-et spin 1 1" "epoll-et closed many 1" "epoll-et closed 1 0"; do
		# shellcheck disable=SC2086 # each case is a list of words
		run --separate-stderr "$ROOT/bench/point.sh" $args
		assert_failure 2
		assert_output ""
		[[ $stderr == *"usage: bench/point.sh"* ]] || fail "no usage for '$args': $stderr"
	done
}

@test "point.sh: a point that ran is one row: the load generator's figures and the server's, from --server-pid" {
	[[ -x "$BIN/echo-prefork" ]] || fail "the servers are missing: run make"
	write_fake_loadgen
	point FAKE_MSGS=500 -- prefork closed 3 2
	assert_success
	assert_one_row
	run cut -d, -f1-6 <<<"$output"
	assert_output "prefork,closed,3,2,ok,"
	point FAKE_MSGS=500 -- prefork closed 3 2
	assert_equal "$(field msgs_per_s)" 1500
	assert_equal "$(field server_us_per_msg)" 10
	assert_equal "$(field server_args)" "-w 3"
	# The stand-in read the server's tree: the server and its three workers.
	assert_equal "$(field server_procs)" 4
	(($(field server_rss_kib) > 0)) || fail "no server memory"
	assert_equal "$(field loadgen_exit)" 0
	assert_equal "$(field server_exit)" 0
	assert_equal "$(field client_bound)" 0
	# Under a wrapper that forks it (SERVER_WRAP, as make syscalls runs
	# strace), the server measured is still the server, found by its name.
	point SERVER_WRAP="timeout 60" -- prefork closed 2 1
	assert_equal "$(field status)" ok
	assert_equal "$(field server_procs)" 3
	assert_equal "$(field server_exit)" 0
}

@test "point.sh: a point not run and a failed point are one row each, with the reason, and exit 0" {
	[[ -x "$BIN/echo-epoll-et" ]] || fail "the servers are missing: run make"
	write_fake_loadgen
	point -- blocking closed 2 1
	assert_success
	assert_one_row
	run cut -d, -f1-7 <<<"$output"
	assert_output "blocking,closed,2,1,not-run,serves one client at a time: the others would wait forever,2"
	# A server that exits before its readiness line.
	local servers="$BATS_TEST_TMPDIR/servers"
	mkdir -p "$servers"
	printf '#!/bin/sh\necho "echo-poll: cannot listen: Address already in use" >&2\nexit 1\n' >"$servers/echo-poll"
	chmod +x "$servers/echo-poll"
	point SERVERS_DIR="$servers" -- poll closed 4 1
	assert_success
	assert_one_row
	assert_equal "$(field status)" failed
	assert_equal "$(field reason)" "server did not start: exited before its readiness line: echo-poll: cannot listen: Address already in use"
	# A load generator that gives no report.
	point FAKE_EXIT=1 -- epoll-et closed 4 1
	assert_success
	assert_one_row
	assert_equal "$(field status)" failed
	assert_equal "$(field reason)" "loadgen gave no report (exit 1; see logs/loadgen.log)"
	assert_equal "$(field msgs_per_s)" ""
}

@test "point.sh: the facts table (bench/models.txt) is what rules a point out" {
	[[ -x "$BIN/echo-poll" && -x "$BIN/echo-epoll-et" ]] || fail "the servers are missing: run make"
	write_fake_loadgen
	# The real table: select holds 1016 connections, pool a worker each up to its cap.
	point -- select closed 1017 1
	assert_equal "$(field reason)" "fds >= FD_SETSIZE (1024) are refused"
	point POOL_MAX_WORKERS=8 -- pool idle 5 1
	assert_equal "$(field reason)" "a worker per connection: more than POOL_MAX_WORKERS (8)"
	# A thread per connection needs two mappings each (stack and guard):
	# vm.max_map_count rules out what it cannot hold; fork's processes each
	# have their own.
	point MAX_MAP_COUNT=1100 -- thread closed 64 1
	assert_equal "$(field reason)" "vm.max_map_count (1100) too low for 64 thread stacks in one process"
	point MAX_MAP_COUNT=1100 -- pool closed 64 1
	assert_equal "$(field status)" not-run
	point MAX_MAP_COUNT=1100 -- thread closed 16 1
	assert_equal "$(field status)" ok
	# A table where poll holds 8 connections and epoll-et serves one client at a time.
	local table="$BATS_TEST_TMPDIR/models.txt"
	awk '$1 == "poll" { $7 = 8 } $1 == "epoll-et" { $10 = "yes" } { print }' "$ROOT/bench/models.txt" >"$table"
	point MODELS_TABLE="$table" -- poll closed 9 1
	assert_equal "$(field status)" not-run
	assert_equal "$(field reason)" "fds >= FD_SETSIZE (1024) are refused"
	point MODELS_TABLE="$table" -- poll closed 8 1
	assert_equal "$(field status)" ok
	point MODELS_TABLE="$table" -- epoll-et closed 2 1
	assert_equal "$(field reason)" "serves one client at a time: the others would wait forever"
	point MODELS_TABLE="$table" -- epoll-et churn 2 1
	assert_equal "$(field status)" ok
	# And the driver's plan says the same.
	run bench_run MODELS_TABLE="$table" DRY_RUN=1 MODELS="poll epoll-et" WORKLOADS=closed CLOSED_POINTS="4 16"
	assert_success
	assert_output --regexp "closed +c=16 +poll +not run: fds >= FD_SETSIZE"
	assert_output --regexp "closed +c=4 +epoll-et +not run: serves one client at a time"
	assert_output --regexp "closed +c=4 +poll +1 round"
}

@test "run.sh: records points a model cannot run, with the reason, and runs the rest" {
	[[ -x "$BIN/echo-select" && -x "$BIN/echo-blocking" ]] || fail "the servers are missing: run make"
	write_fake_loadgen
	run bench_run LOADGEN="$FAKE_LOADGEN" NO_REPORT=1 MODELS="blocking select epoll-et" \
		WORKLOADS=closed CLOSED_POINTS="1 1200"
	assert_success
	local progress=$output
	local raw="$BATS_TEST_TMPDIR/results/latest/raw.csv"
	[[ -f "$raw" ]] || fail "no results/latest/raw.csv"
	run cut -d, -f1-6 "$raw"
	assert_line "blocking,closed,1,1,ok,"
	assert_line "blocking,closed,1200,1,not-run,serves one client at a time: the others would wait forever"
	assert_line "select,closed,1,1,ok,"
	assert_line "select,closed,1200,1,not-run,fds >= FD_SETSIZE (1024) are refused"
	if (($(ulimit -Hn) >= 1300)); then
		assert_line "epoll-et,closed,1200,1,ok,"
	else
		assert_line --partial "epoll-et,closed,1200,1,not-run,descriptor limit"
	fi
	# Every row has every column.
	run awk -F, 'NR == 1 { n = NF } NF != n { print "row " NR ": " NF " fields, not " n }' "$raw"
	assert_output ""
	# The server was sampled: memory, and the fake's 1000 msg/s per connection.
	run awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		$1 == "epoll-et" && $3 == 1 { print $c["msgs_per_s"], ($c["server_rss_kib"] > 0) }' "$raw"
	assert_output "1000 1"
	# One progress line per point on stderr, not-run points included.
	run grep -c '^\[' <<<"$progress"
	assert_output 6
	[[ "$progress" == *"not run: fds >= FD_SETSIZE (1024) are refused"* ]] ||
		fail "no progress line for the not-run select point"
}

@test "run.sh: writes env.txt and points results/latest at the newest run" {
	need_gnuplot
	write_fake_loadgen
	run bench_run LOADGEN="$FAKE_LOADGEN" MODELS="epoll-et" WORKLOADS=closed CLOSED_POINTS="1"
	assert_success
	local first second
	first=$(readlink "$BATS_TEST_TMPDIR/results/latest")
	[[ -f "$BATS_TEST_TMPDIR/results/$first/README.md" ]] || fail "no README.md in the run"
	[[ -f "$BATS_TEST_TMPDIR/results/$first/throughput.png" ]] || fail "no throughput.png in the run"
	run cat "$BATS_TEST_TMPDIR/results/$first/env.txt"
	assert_line --regexp '^kernel: .+'
	assert_line --regexp '^cpu_model: .+'
	assert_line --regexp '^cores: [0-9]+$'
	assert_line --regexp '^compiler: (gcc|clang) .+'
	assert_line --regexp '^fd_limit: soft [0-9]+, hard [0-9]+$'
	assert_line --regexp '^git: '
	run bench_run LOADGEN="$FAKE_LOADGEN" NO_REPORT=1 MODELS="epoll-et" WORKLOADS=closed CLOSED_POINTS="1"
	assert_success
	second=$(readlink "$BATS_TEST_TMPDIR/results/latest")
	[[ "$second" != "$first" ]] || fail "results/latest still points to $first"
	[[ -d "$BATS_TEST_TMPDIR/results/$second" ]] || fail "results/latest points to no run"
}

@test "run.sh: refuses an unknown profile, model or workload before running anything" {
	run bench_run BENCH=huge
	assert_failure
	assert_output --partial "BENCH=huge: use smoke, quick, default, full, unpinned or c1m"
	run bench_run MODELS="epoll kqueue"
	assert_failure
	assert_output --partial "unknown model 'epoll'"
	run bench_run WORKLOADS="closed bogus"
	assert_failure
	assert_output --partial "unknown workload 'bogus'"
	[[ ! -e "$BATS_TEST_TMPDIR/results" ]] || fail "a run folder was made"
}

# stand_in_servers: a servers folder for SERVERS_DIR where epoll-et is the
# real one, uring is a stand-in refused io_uring (as in a container whose
# seccomp filter blocks it) and libevent was never built.
stand_in_servers() {
	SERVERS="$BATS_TEST_TMPDIR/servers"
	mkdir -p "$SERVERS"
	ln -s "$BIN/echo-epoll-et" "$SERVERS/echo-epoll-et"
	cat >"$SERVERS/echo-uring" <<-'EOF'
		#!/bin/sh
		echo "echo-uring: io_uring is unavailable here: io_uring_queue_init: Operation not permitted (seccomp, probably)" >&2
		exit 1
	EOF
	chmod +x "$SERVERS/echo-uring"
}

@test "run.sh: a model that cannot run here is not run at every point, with the reason; the run succeeds" {
	[[ -x "$BIN/echo-epoll-et" ]] || fail "the servers are missing: run make"
	need_gnuplot
	write_fake_loadgen
	stand_in_servers
	run bench_run LOADGEN="$FAKE_LOADGEN" SERVERS_DIR="$SERVERS" MODELS="epoll-et uring libevent" \
		WORKLOADS="closed churn" CLOSED_POINTS="1 16" CHURN_POINTS=4 REPEATS=2
	assert_success
	local progress=$output dir="$BATS_TEST_TMPDIR/results/latest"
	[[ "$progress" == *"uring cannot run here, recorded as not run: io_uring is unavailable here"* ]] ||
		fail "no note on uring in the progress"
	run awk -F, 'NR > 1 { print $1, $2, $3, $4, $5 ": " $6 }' "$dir/raw.csv"
	local uring="not-run: io_uring is unavailable here: io_uring_queue_init: Operation not permitted (seccomp; probably)"
	local libevent="not-run: built without libevent (apt-get install libevent-dev; then make)"
	local r x
	for r in 1 2; do
		for x in "closed 1" "closed 16" "churn 4"; do
			assert_line "epoll-et $x $r ok: "
			assert_line "uring $x $r $uring"
			assert_line "libevent $x $r $libevent"
		done
	done
	# Every row has every column, though a reason had a comma in it.
	run awk -F, 'NR == 1 { n = NF } NF != n { print "row " NR ": " NF " fields, not " n }' "$dir/raw.csv"
	assert_output ""
	run grep '^models_unavailable: ' "$dir/env.txt"
	assert_output "models_unavailable: libevent: ${libevent#not-run: }; uring: ${uring#not-run: }"
	# A gap in the charts, the reason under them and in the summary.
	run grep -F 'T[2] = "uring (not run)"' "$dir/data/throughput.gp"
	assert_success
	run grep -F "N[1] = \"uring: ${uring#not-run: }\"" "$dir/data/throughput.gp"
	assert_success
	run cat "$dir/README.md"
	assert_output --partial "| closed | uring | 1, 16 | not-run | ${uring#not-run: } |"
	assert_output --partial "| churn | libevent | 4 | not-run | ${libevent#not-run: } |"
	assert_output --partial "Models that cannot run on this machine, a gap in every chart: libevent: "
	# Not-run points cost no run: one progress line each, in the first repeat only.
	run grep -c '^\[.* uring ' <<<"$progress"
	assert_output 3
}

@test "run.sh: prefork gets a worker per connection up to PREFORK_MAX_WORKERS; past it the point is not run" {
	[[ -x "$BIN/echo-prefork" && -x "$BIN/echo-reactors" ]] || fail "the servers are missing: run make"
	write_fake_loadgen
	run bench_run LOADGEN="$FAKE_LOADGEN" NO_REPORT=1 MODELS="prefork reactors" WORKLOADS=closed \
		CLOSED_POINTS="1 4 8" PREFORK_MAX_WORKERS=4
	assert_success
	local raw="$BATS_TEST_TMPDIR/results/latest/raw.csv"
	# model x status: reason | server options | processes
	run awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		{ print $1, $3, $5 ": " $6 " | " $c["server_args"] " | " $c["server_procs"] }' "$raw"
	assert_line "prefork 1 ok:  | -w 1 | 2"
	assert_line "prefork 4 ok:  | -w 4 | 5"
	assert_line "prefork 8 not-run: a worker process per connection: more than PREFORK_MAX_WORKERS (4) |  | "
	# reactors: no -w, its default (one reactor per usable core); no cap.
	assert_line "reactors 1 ok:  |  | 1"
	assert_line "reactors 8 ok:  |  | 1"
	run grep '^prefork_max_workers: 4$' "$BATS_TEST_TMPDIR/results/latest/env.txt"
	assert_success
}

@test "run.sh: BENCH=unpinned pins nothing and says so in env.txt, the summary and every chart" {
	[[ -x "$BIN/echo-epoll-lt" && -x "$BIN/echo-reactors" ]] || fail "the servers are missing: run make"
	need_gnuplot
	write_fake_loadgen
	run bench_run BENCH=unpinned LOADGEN="$FAKE_LOADGEN" MODELS="epoll-lt reactors" CLOSED_POINTS="1 4" \
		WORKLOADS=closed REPEATS=1
	assert_success
	local dir="$BATS_TEST_TMPDIR/results/latest" label cores
	cores=$(nproc)
	label="UNPINNED: server and client share all $cores cores"
	((cores != 2)) || label="UNPINNED: server and client share both cores"
	[[ "$output" == *"bench: $label"* ]] || fail "the progress does not say $label"
	run cat "$dir/env.txt"
	assert_line "pinning: $label"
	assert_line "pinned: 0"
	assert_line "profile: unpinned"
	assert_line "loadgen_threads: 2"
	assert_line "reactors_workers: $cores (its default: one reactor per usable core)"
	# The summary opens with it; every chart's title carries it.
	run sed -n 3p "$dir/README.md"
	assert_output --partial "> **$label.**"
	local chart
	for chart in throughput latency cpu memory; do
		grep -qF "$label" "$dir/$chart.svg" || fail "$chart.svg does not say $label"
	done
	run grep -F "unpinned = 1" "$dir/data/common.gp"
	assert_success
}

@test "run.sh: BENCH=unpinned runs the multi-core designs at 64, 256 and 1024 connections, and refuses PIN=1" {
	run bench_run BENCH=unpinned DRY_RUN=1
	assert_success
	assert_output --partial "profile unpinned: 9 models, workloads closed churn, 3 round(s)"
	local m x
	for m in thread pool prefork epoll-lt reactors uring-multishot libevent leader-follower epoll-procs; do
		for x in 64 256 1024; do
			assert_output --regexp "closed +c=$x +$m"
		done
		assert_output --regexp "churn +c=128 +$m"
	done
	run bench_run BENCH=unpinned PIN=1 DRY_RUN=1
	assert_failure
	assert_output --partial "BENCH=unpinned pins nothing: PIN=1 contradicts it"
}

@test "run.sh: the default profile's closed loop has the README's points, 64, 256 and 1024" {
	run bench_run BENCH=default DRY_RUN=1 MODELS=epoll-lt WORKLOADS=closed
	assert_success
	local x
	for x in 64 256 1024; do
		assert_output --regexp "closed +c=$x +epoll-lt"
	done
}

# plan_seconds RESOLUTION: the plan's expected seconds for one capacity
# search of epoll-lt at 64 connections with steps of 10 s (so that one step
# more shows in whole seconds), searching to RESOLUTION percent.
plan_seconds() {
	run bench_run DRY_RUN=1 MODELS=epoll-lt WORKLOADS=cap10ms CAPACITY_POINTS=64 \
		CAPACITY_DURATION=10 CAPACITY_TIME=1000 CAPACITY_RESOLUTION="$1"
	assert_success
	awk '/expected duration about/ { d = $0; sub(/.*about /, "", d); m = 0
		if (d ~ /m/) { m = d; sub(/m.*/, "", m); sub(/.*m/, "", d) }
		print m * 60 + d }' <<<"$output"
}

@test "run.sh: the plan counts a capacity search's steps from its resolution: one step more for each halving of it" {
	local s10 s5 s25
	s10=$(plan_seconds 10) s5=$(plan_seconds 5) s25=$(plan_seconds 2.5)
	# A step is the warm-up (0.05 s here) + the 10 s window + 0.2 s: from
	# 10% to 5%, and from 5% to 2.5%, one step more each (a second of
	# rounding either way).
	awk -v a="$s10" -v b="$s5" -v c="$s25" 'BEGIN { exit !(b - a >= 9 && b - a <= 11 && c - b >= 9 && c - b <= 11) }' ||
		fail "expected seconds at 10%, 5%, 2.5%: $s10, $s5, $s25"
}

# order_of RAW: the models of each round at each point, "workload x rROUND: m1 m2 ...".
order_of() {
	awk -F, 'NR > 1 { k = $2 " " $3 " r" $4; if (!(k in o)) n[++i] = k; o[k] = o[k] " " $1 }
		END { for (j = 1; j <= i; j++) print n[j] ":" o[n[j]] }' "$1"
}

@test "run.sh: each round runs every model once, in an order shuffled from SEED: the same seed, the same order" {
	write_fake_loadgen
	local models="blocking select poll epoll-lt epoll-et" first second other
	run bench_run LOADGEN="$FAKE_LOADGEN" NO_REPORT=1 MODELS="$models" WORKLOADS=closed \
		CLOSED_POINTS="1" REPEATS=3 WARMUP=0 DURATION=0.02 SEED=11
	assert_success
	run grep '^seed: 11$' "$BATS_TEST_TMPDIR/results/latest/env.txt"
	assert_success
	first=$(order_of "$BATS_TEST_TMPDIR/results/latest/raw.csv")
	# Three rounds, each with every model once; the rows' repeat is the round.
	run awk -F': ' '{ n = split($2, m, " "); delete seen; for (i = 1; i <= n; i++) seen[m[i]]++
		printf "%s %d", $1, n; for (k in seen) if (seen[k] != 1) printf " twice:%s", k; print "" }' <<<"$first"
	assert_output "closed 1 r1 5
closed 1 r2 5
closed 1 r3 5"
	# Not all rounds alike (the order is shuffled for each one).
	[[ $(cut -d: -f2 <<<"$first" | sort -u | wc -l) -gt 1 ]] || fail "every round in the same order: $first"
	run bench_run LOADGEN="$FAKE_LOADGEN" NO_REPORT=1 MODELS="$models" WORKLOADS=closed \
		CLOSED_POINTS="1" REPEATS=3 WARMUP=0 DURATION=0.02 SEED=11
	assert_success
	second=$(order_of "$BATS_TEST_TMPDIR/results/latest/raw.csv")
	assert_equal "$second" "$first"
	run bench_run LOADGEN="$FAKE_LOADGEN" NO_REPORT=1 MODELS="$models" WORKLOADS=closed \
		CLOSED_POINTS="1" REPEATS=3 WARMUP=0 DURATION=0.02 SEED=12
	assert_success
	other=$(order_of "$BATS_TEST_TMPDIR/results/latest/raw.csv")
	[[ "$other" != "$first" ]] || fail "seeds 11 and 12 gave the same order: $first"
}

# rounds_of RAW MODEL: how many rows MODEL has.
rounds_of() {
	awk -F, -v m="$2" 'NR > 1 && $1 == m { n++ } END { print n + 0 }' "$1"
}

@test "run.sh: an adaptive point stops after REPEATS rounds when the intervals are tight, at MAX_REPEATS when they are not" {
	[[ -x "$BIN/echo-poll" && -x "$BIN/echo-epoll-et" ]] || fail "the servers are missing: run make"
	write_fake_loadgen
	local raw="$BATS_TEST_TMPDIR/results/latest/raw.csv"
	local adaptive=(MODELS="poll epoll-et" WORKLOADS=closed CLOSED_POINTS="1 4" ADAPTIVE_POINTS="closed:4"
		REPEATS=2 MAX_REPEATS=5 WARMUP=0 DURATION=0.02 NO_REPORT=1 LOADGEN="$FAKE_LOADGEN")
	# The same figures every round: tight after the two rounds every point runs.
	run bench_run "${adaptive[@]}"
	assert_success
	assert_equal "$(rounds_of "$raw" poll)" 4
	# Throughput 20% apart from round to round: at closed 4 rounds go on to
	# five; closed 1 is not adaptive and stays at two.
	run bench_run "${adaptive[@]}" FAKE_SPREAD=0.2
	assert_success
	assert_output --regexp "closed c=4: round 3 of at most 5: .*poll msg/s \+-"
	run awk -F, 'NR > 1 { n[$1 " " $3]++ } END { for (k in n) print k, n[k] }' "$raw"
	assert_line "poll 1 2"
	assert_line "poll 4 5"
	assert_line "epoll-et 4 5"
	# Server CPU per message is judged too.
	run bench_run "${adaptive[@]}" FAKE_US_SPREAD=0.2
	assert_success
	assert_output --regexp "closed c=4: round 3 of at most 5: .*epoll-et cpu/msg \+-"
	assert_equal "$(rounds_of "$raw" epoll-et)" 7
	# Close but not equal figures: with three rounds 0.5% apart the
	# interval is +-1.6%, within 3%; 2% apart it is +-6%, within CI_TARGET=0.07.
	run bench_run "${adaptive[@]}" REPEATS=3 FAKE_SPREAD=0.005
	assert_success
	assert_equal "$(rounds_of "$raw" poll)" 6
	run bench_run "${adaptive[@]}" REPEATS=3 FAKE_SPREAD=0.02
	assert_success
	assert_equal "$(rounds_of "$raw" poll)" 8
	run bench_run "${adaptive[@]}" REPEATS=3 FAKE_SPREAD=0.02 CI_TARGET=0.07
	assert_success
	assert_equal "$(rounds_of "$raw" poll)" 6
}

@test "report: every model has its own colour, point and dash, and the key follows the teaching order" {
	need_gnuplot
	# shellcheck disable=SC1091 # bench/models.sh: shellcheck checks it on its own
	. "$ROOT/bench/models.sh"
	# style.gp numbers the models in the order of bench/models.sh...
	run sed -n 's/^models = "\(.*\)"$/\1/p' "$ROOT/bench/style.gp"
	assert_output "${ALL_MODELS[*]}"
	# ...one line type each, no two alike in colour, nor in both point shape
	# and dash (gnuplot has 15 point shapes: past 15 models, two share one
	# and differ in dash).
	run awk '$1 == "set" && $2 == "linetype" { n++; if ($3 != n) print "line type " $3 " out of order"
			dt = ""; pt = ""
			for (i = 4; i <= NF; i++) { if ($i == "rgb") c[$(i + 1)]++; if ($i == "pt") pt = $(i + 1); if ($i == "dt") dt = $(i + 1) }
			p[pt " " dt]++ }
		END { for (k in c) if (c[k] > 1) print "colour " k " twice"; for (k in p) if (p[k] > 1) print "point and dash " k " twice"; print n }' \
		"$ROOT/bench/style.gp"
	assert_output "${#ALL_MODELS[@]}"
	# A run of a few models: each keeps its own line type, in teaching order.
	{
		echo "$CSV_HEADER"
		ok_row reactors closed 16 1 5000
		ok_row epoll-et closed 16 1 4000
		ok_row libevent closed 16 1 3000
		ok_row blocking closed 16 1 2000
	} >"$RUN_DIR/raw.csv"
	run bench_report
	assert_success
	run grep -E '^(nblocks|T\[|LT\[)' "$RUN_DIR/data/throughput.gp"
	assert_output 'nblocks = 4
T[1] = "blocking"
LT[1] = 1
T[2] = "epoll-et"
LT[2] = 8
T[3] = "reactors"
LT[3] = 10
T[4] = "libevent"
LT[4] = 13'
	# The tables list the run's models only, in the same order.
	run grep -oE '^\| (blocking|epoll-et|reactors|libevent|poll) \|' "$RUN_DIR/README.md"
	assert_output --regexp '^\| blocking \|
\| epoll-et \|
\| reactors \|
\| libevent \|'
	refute_output --partial "| poll |"
}

# write_fig_run DIR PINNED: a run of the four designs the README compares, at
# closed 64, 256 and 1024, three repeats (messages/s = base x 0.9, 1, 1.1);
# uring did not run; reactors is client-bound at 256 when PINNED is 0.
write_fig_run() {
	local dir=$1 pinned=$2 r x m i base bound
	mkdir -p "$dir"
	{
		echo "$CSV_HEADER"
		for r in 1 2 3; do
			for x in 64 256 1024; do
				i=0
				for m in epoll-lt reactors uring libevent; do
					i=$((i + 1))
					if [[ $m == uring ]]; then
						row "$m" closed "$x" "$r" not-run reason="built without liburing (apt-get install liburing-dev; then make)" connections="$x"
						continue
					fi
					base=$((i * 100000 / (pinned ? 2 : 1)))
					bound=0
					[[ $pinned == 1 || $m != reactors || $x != 256 ]] || bound=1
					ok_row "$m" closed "$x" "$r" $((base * (8 + r) / 10)) server_us_per_msg=$((i * 5 + r)) \
						client_bound="$bound"
				done
			done
		done
	} >"$dir/raw.csv"
	if ((pinned)); then
		printf 'run: pinned-run\nprofile: default\nrepeats: 3\npinning: Server on CPU 0, client on CPU 1 (taskset)\npinned: 1\ngit: abc1234\n'
	else
		printf 'run: unpinned-run\nprofile: unpinned\nrepeats: 3\npinning: UNPINNED: server and client share both cores\npinned: 0\ngit: abc1234\n'
	fi >"$dir/env.txt"
}

@test "figures.sh: msgs/s and CPU per message at 64, 256 and 1024, pinned beside unpinned, as Markdown" {
	write_fig_run "$BATS_TEST_TMPDIR/p" 1
	write_fig_run "$BATS_TEST_TMPDIR/u" 0
	run "$ROOT/bench/figures.sh" "$BATS_TEST_TMPDIR/p" "$BATS_TEST_TMPDIR/u"
	assert_success
	assert_line "| model | connections | msgs/s, pinned | msgs/s, UNPINNED | server CPU µs/msg, pinned | server CPU µs/msg, UNPINNED |"
	assert_line "| epoll-lt | 64 | 50k (34.4k–65.6k) | 100k (68.9k–131k) | 7 (3.89–10.1) | 7 (3.89–10.1) |"
	assert_line "| reactors | 256 | 100k (68.9k–131k) | 200k* (138k–262k) | 12 (8.89–15.1) | 12 (8.89–15.1) |"
	assert_line "| uring | 1024 | — | — | — | — |"
	assert_line "| libevent | 1024 | 200k (138k–262k) | 400k (275k–525k) | 22 (18.9–25.1) | 22 (18.9–25.1) |"
	# Teaching order: epoll-lt, reactors, uring, libevent; three points each.
	run grep -oE '^\| [a-z-]+ \| [0-9]+ \|' <<<"$output"
	assert_output "| epoll-lt | 64 |
| epoll-lt | 256 |
| epoll-lt | 1024 |
| reactors | 64 |
| reactors | 256 |
| reactors | 1024 |
| uring | 64 |
| uring | 256 |
| uring | 1024 |
| libevent | 64 |
| libevent | 256 |
| libevent | 1024 |"
	run "$ROOT/bench/figures.sh" "$BATS_TEST_TMPDIR/p" "$BATS_TEST_TMPDIR/u"
	assert_line --partial "- UNPINNED: \`$BATS_TEST_TMPDIR/u\` (run unpinned-run; profile unpinned, 3 repeat(s), UNPINNED: server and client share both cores"
	assert_line "- pinned, uring at 64, 256, 1024: not run: built without liburing (apt-get install liburing-dev; then make)"
	# A folder that is not a run is a usage error.
	run "$ROOT/bench/figures.sh" "$BATS_TEST_TMPDIR"
	assert_failure 2
	assert_output --partial "no agg.csv or raw.csv"
}

@test "report: the run's summary ends with its figure table for the README" {
	need_gnuplot
	write_fig_run "$RUN_DIR" 0
	run bench_report
	assert_success
	run sed -n '/^## Figures for the README/,$p' "$RUN_DIR/README.md"
	assert_line "| model | connections | msgs/s, UNPINNED | server CPU µs/msg, UNPINNED |"
	assert_line "| reactors | 256 | 200k* (138k–262k) | 12 (8.89–15.1) |"
	# And the summary opens with the unpinned banner.
	run sed -n 3p "$RUN_DIR/README.md"
	assert_output --partial "> **UNPINNED: server and client share both cores.**"
}

# real_bench_run SECONDS VAR=VALUE...: a smoke-profile bench run with real
# servers and bin/loadgen into $BATS_TEST_TMPDIR/results, through the
# machine's bench lock like every bench run (skipped if another bench holds
# it for 15 s); it must succeed.
real_bench_run() {
	local seconds=$1
	shift
	run with_deadline "$seconds" env BENCH=smoke NO_BUILD=1 "$@" \
		RESULTS="$BATS_TEST_TMPDIR/results" LOCK_WAIT=15 "$ROOT/bench/run.sh"
	if [[ $status -ne 0 && "$output" == *"still held"* ]]; then
		skip "another bench held the lock for 15 s"
	fi
	assert_success
}

@test "run.sh: a tiny real run against bin/loadgen writes rows, charts and the summary" {
	need_gnuplot
	[[ -x "$BIN/loadgen" ]] || skip "bin/loadgen is not built"
	real_bench_run 60 MODELS="select epoll-et" WORKLOADS=closed CLOSED_POINTS="1 4"
	local dir="$BATS_TEST_TMPDIR/results/latest"
	# (A failed row shows its reason.)
	run awk -F, 'NR > 1 { print $1, $3, $5 ($6 == "" ? "" : ": " $6) }' "$dir/raw.csv"
	assert_line "select 1 ok"
	assert_line "epoll-et 1 ok"
	assert_line "select 4 ok"
	assert_line "epoll-et 4 ok"
	assert_equal "${#lines[@]}" 4
	# The server's figures, from loadgen --server-pid.
	run awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		!($c["server_us_per_msg"] > 0 && $c["server_rss_kib"] > 0 && $c["server_procs"] == 1) { print "no server figures: " $0 }' "$dir/raw.csv"
	assert_output ""
	[[ -s "$dir/throughput.png" && -s "$dir/README.md" ]] || fail "no charts or summary"
}

@test "run.sh: the unix workload runs the closed loop over a Unix socket; the report draws the transport chart and tables both transports with the ratio paired by round" {
	need_gnuplot
	[[ -x "$BIN/loadgen" ]] || skip "bin/loadgen is not built"
	real_bench_run 120 MODELS="poll epoll-et" WORKLOADS="closed unix" CLOSED_POINTS="4" \
		UNIX_POINTS="4" REPEATS=2
	local dir="$BATS_TEST_TMPDIR/results/latest"
	run awk -F, 'NR > 1 { print $1, $2, $3, $5 ($6 == "" ? "" : ": " $6) }' "$dir/raw.csv"
	assert_line "poll unix 4 ok"
	assert_line "epoll-et unix 4 ok"
	assert_line "poll closed 4 ok"
	assert_equal "${#lines[@]}" 8
	# The load generator says which transport it drove.
	run awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { print $1, $2, $c["transport"] }' "$dir/raw.csv"
	assert_line "poll unix unix"
	assert_line "epoll-et closed tcp"
	[[ -s "$dir/transport.png" && -s "$dir/transport.svg" ]] || fail "no transport chart"
	run sed -n '/^## Transport/,/^## /p' "$dir/README.md"
	assert_output --partial "The closed loop at 4 connections"
	assert_line --regexp '^\| poll \| [0-9.]+k? \| [0-9.]+k? \| [0-9.]+ \([0-9.]+–[0-9.]+\) \| [0-9.]+ µs \| [0-9.]+ µs \| [0-9.]+ \([0-9.]+–[0-9.]+\) \| .+ \|$'
	assert_line --regexp '^\| epoll-et \| '
}

@test "run.sh: the capacity workloads search each model's rate at p99 <= 1 ms and 10 ms; the summary opens with the capacity chart and table; the open loop's intervals are drawn" {
	need_gnuplot
	[[ -x "$BIN/loadgen" ]] || skip "bin/loadgen is not built"
	real_bench_run 180 MODELS="blocking epoll-et" WORKLOADS="cap1ms cap10ms open" CAPACITY_POINTS="4" \
		CAPACITY_START=8000 CAPACITY_RESOLUTION=25 CAPACITY_TIME=5 OPEN_RATE=2000 REPEATS=1
	local dir="$BATS_TEST_TMPDIR/results/latest"
	run awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		$2 ~ /^cap/ { print $1, $2, $3, $5, $c["capacity_ended_by"], ($c["capacity_msgs_per_s"] >= 8000 && $c["rate"] == $c["capacity_msgs_per_s"]) }' "$dir/raw.csv"
	# blocking serves one client at a time: its four connections cannot run.
	assert_line "blocking cap1ms 4 not-run  0"
	# epoll-et meets 10 ms at 8000 msg/s on any machine this suite runs on;
	# the search ends by its resolution or its time bound.
	assert_line --regexp '^epoll-et cap10ms 4 ok (resolved|time) 1$'
	assert_line --regexp '^epoll-et cap1ms 4 ok (resolved|time|none-met) [01]$'
	[[ -s "$dir/capacity.png" && -s "$dir/capacity.svg" ]] || fail "no capacity chart"
	# The first section of the summary is the capacity, with its table.
	run grep -m 1 '^## ' "$dir/README.md"
	assert_output "## 1. Capacity at a latency target"
	run sed -n '/^## 1. Capacity/,/^## 2/p' "$dir/README.md"
	assert_line '| model | p99 ≤ 1 ms, 4 conns | p99 ≤ 10 ms, 4 conns |'
	assert_line --regexp '^\| epoll-et \| [^|]+ \| [0-9.]+k\*? \|$'
	assert_line '| blocking | — | — |'
	# The open loop kept its 100 ms interval lines (the smoke profile
	# measures it for 0.5 s: five), and they are drawn.
	run awk -F, 'NR > 1 { n++; s += $4 } END { print n, (s > 0) }' "$dir/intervals/open-2000-epoll-et-r1.csv"
	assert_output "5 1"
	[[ -s "$dir/intervals.png" && -s "$dir/intervals.svg" ]] || fail "no intervals chart"
	grep -q 'intervals.png' "$dir/README.md" || fail "the summary does not show the intervals chart"
}

@test "run.sh: a run that searched one target only (BENCH=quick: p99 <= 10 ms) shows that target alone in the capacity table and the chart's key, and says so" {
	need_gnuplot
	[[ -x "$BIN/loadgen" ]] || skip "bin/loadgen is not built"
	real_bench_run 60 MODELS="epoll-et" WORKLOADS="cap10ms" CAPACITY_POINTS="4" \
		CAPACITY_START=8000 CAPACITY_RESOLUTION=50 CAPACITY_TIME=2
	local dir="$BATS_TEST_TMPDIR/results/latest"
	run sed -n '/^## 1. Capacity/,/^## 2/p' "$dir/README.md"
	assert_line 'This run searched at p99 ≤ 10 ms only (its profile leaves the other out).'
	assert_line '| model | p99 ≤ 10 ms, 4 conns |'
	assert_line --regexp '^\| epoll-et \| [0-9.]+k\*? \|$'
	refute_output --partial 'p99 ≤ 1 ms'
	grep -qF 'p99 ≤ 10 ms' "$dir/capacity.svg" || fail "the chart's key lacks p99 ≤ 10 ms"
	! grep -qF 'p99 ≤ 1 ms' "$dir/capacity.svg" || fail "the chart's key names p99 ≤ 1 ms, which the run did not search"
}

@test "run.sh: BENCH=quick searches the capacity at p99 <= 10 ms only, over every model, and leaves the sizes and the Unix socket to the default profile" {
	run bench_run BENCH=quick DRY_RUN=1
	assert_success
	assert_output --partial "profile quick: 16 models, workloads closed idle churn open cap10ms,"
	assert_output --regexp "cap10ms +c=64 +epoll-lt"
	refute_output --partial "cap1ms"
	refute_line --regexp "^(size|unix) "
}

@test "run.sh: BENCH=c1m spreads idle connections over load generators and worker processes as the descriptor limit needs, says what stopped each model, and projects the memory to 1M" {
	need_gnuplot
	[[ -x "$BIN/loadgen" ]] || skip "bin/loadgen is not built"
	local dir="$BATS_TEST_TMPDIR/results/latest"
	# Under a hard descriptor limit of 450: one process holds 450 - 64 (the
	# margin) = 386 connections, so 500 idle ones take two load generators
	# (with at most 200 from one source address: three addresses),
	# epoll-procs two workers (three quarters of 450 each at most: -w 2),
	# and epoll-lt cannot hold them.
	real_bench_run 120 bash -c 'ulimit -n 450 && exec "$@"' limit env BENCH=c1m SOURCE_MAX=200 \
		MODELS="epoll-lt epoll-procs" IDLE_POINTS="100 300 500" DURATION=0.2 IDLE_DURATION=0.2
	run awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		{ print $1, $3, $5, $c["server_args"] ($6 == "" ? "" : ": " $6) }' "$dir/raw.csv"
	assert_line "epoll-lt 100 ok "
	assert_line "epoll-lt 300 ok "
	assert_line "epoll-lt 500 not-run : descriptor limit (ulimit -Hn 450) too low"
	assert_line "epoll-procs 300 ok "
	assert_line "epoll-procs 500 ok -w 2"
	# kernel.csv: a line per point that ran, the opening time measured, and
	# the kernel's socket memory grown where /proc/slabinfo is readable.
	run awk -F, 'NR > 1 { print $1, $3, $6, ($7 > 0), ($9 == "" || $9 > 0) }' "$dir/kernel.csv"
	assert_line "epoll-procs 500 500 1 1"
	assert_line "epoll-lt 300 300 1 1"
	assert_equal "${#lines[@]}" 5
	[[ -s "$dir/c1m.png" && -s "$dir/c1m.svg" ]] || fail "no c1m chart"
	run sed -n '/^## Toward a million connections/,/^## /p' "$dir/README.md"
	# (At a few hundred connections the cost per connection is within the
	# memory's noise: the figures are bench/c1m.awk's test's, below.)
	assert_line --regexp '^\| epoll-lt \| 300 \| [0-9.]+ s \| [^|]+ \| [^|]+ \| .* \| descriptor limit \(ulimit -Hn 450\) too low at 500 \|$'
	assert_line --regexp '^\| epoll-procs \| 500 \| .* \| nothing here \|$'
}

@test "c1m.awk: the cost per connection is the slope between the two largest counts, carried on to the target; the kernel's is halved; one count is no projection, a falling one costs nothing more" {
	local t="$BATS_TEST_TMPDIR"
	{
		echo "$CSV_HEADER"
		awk -v header="$CSV_HEADER" 'BEGIN {
			n = split(header, h, ",")
			# model, x, status, reason, PSS KiB
			row("a", 1000, "ok", "", 2000); row("a", 10000, "ok", "", 11000)
			row("a", 100, "ok", "", 5000) # not among the two largest
			row("a", 50000, "not-run", "descriptor limit", "")
			row("b", 1000, "ok", "", 3000)
			row("c", 100, "ok", "", 3000); row("c", 300, "ok", "", 2900)
		}
		function row(m, x, st, why, pss,    i, line) {
			line = ""
			for (i = 1; i <= n; i++) {
				v = ""
				if (h[i] == "model") v = m
				else if (h[i] == "workload") v = "idle"
				else if (h[i] == "x" || h[i] == "idle") v = x
				else if (h[i] == "repeat") v = 1
				else if (h[i] == "status") v = st
				else if (h[i] == "reason") v = why
				else if (h[i] == "server_pss_kib") v = pss
				else if (h[i] == "msgs_per_s") v = 5000
				else if (h[i] == "lat_p99_us") v = 300
				line = line (i > 1 ? "," : "") v
			}
			print line
		}'
	} >"$t/raw.csv"
	cat >"$t/kernel.csv" <<-EOF
		model,workload,x,repeat,connections,idle,idle_open_s,kernel_sock_kib,kernel_slab_kib
		a,idle,1000,1,4,1000,0.10,0,2000
		a,idle,10000,1,4,10000,0.90,0,20000
		b,idle,1000,1,4,1000,0.10,0,2000
		c,idle,100,1,4,100,0.01,0,200
		c,idle,300,1,4,300,0.03,0,600
	EOF
	run awk -v models="a b c" -v dat="$t/c1m.dat" -v target=1000000 -v active=4 \
		-f "$ROOT/bench/stats.awk" -f "$ROOT/bench/labels.awk" -f "$ROOT/bench/c1m.awk" "$t/kernel.csv" "$t/raw.csv"
	assert_success
	# User: (11000 - 2000) / 9000 = 1 KiB a connection; 11000 + 990000 KiB
	# (978 MiB) at 1M. Kernel: 1000 and 10000 KiB (halved), the same slope:
	# 10000 + 990000 KiB (977 MiB).
	assert_line "| a | 10k | 0.9 s | 1.00 | 1.00 | 11 MiB + 10 MiB | 978 MiB + 977 MiB | 5000, 300 µs | descriptor limit at 50k |"
	refute_line --partial "| b |"
	# c's memory fell between its two counts (noise at a few hundred): no
	# cost per connection, and 1M costs what 300 did.
	assert_line "| c | 300 | 0.0 s | ≈0 | 1.00 | 3 MiB + 300 KiB | 3 MiB + 977 MiB | 5000, 300 µs | nothing here |"
	run cat "$t/c1m.dat"
	assert_line "# 1M"
	assert_line "0 a 10000 10.742 9.766 0.955 0.954"
	assert_line "1 c 300 2.832 0.293 0.003 0.954"
}

# netns_possible: this machine lets us make network namespaces (root with
# CAP_NET_ADMIN, iproute2's ip); the reason otherwise.
netns_possible() {
	command -v ip >/dev/null 2>&1 || {
		echo "ip (iproute2) is not installed"
		return 1
	}
	ip netns add "ebprobe$$" 2>/dev/null || {
		echo "cannot make a network namespace here (not root, or no CAP_NET_ADMIN)"
		return 1
	}
	ip netns del "ebprobe$$"
}

@test "BENCH_NET=netns: the server and the load generator run in two network namespaces, which env.txt, the summary and the charts name, and which are gone after the run" {
	need_gnuplot
	local why t="$BATS_TEST_TMPDIR" root_ns before
	why=$(netns_possible) || skip "$why"
	# Stand-ins that note the network namespace they run in, then exec the
	# real program (same pid, same output).
	mkdir -p "$t/servers"
	# shellcheck disable=SC2016 # the stand-ins' own $*, $@ and $(...)
	printf '#!/bin/sh\necho "$(readlink /proc/self/ns/net) $*" >>"%s"\nexec "%s" "$@"\n' \
		"$t/server.ns" "$BIN/echo-epoll-lt" >"$t/servers/echo-epoll-lt"
	# shellcheck disable=SC2016 # the same
	printf '#!/bin/sh\necho "$(readlink /proc/self/ns/net) $*" >>"%s"\nexec "%s" "$@"\n' \
		"$t/loadgen.ns" "$BIN/loadgen" >"$t/loadgen"
	chmod +x "$t/servers/echo-epoll-lt" "$t/loadgen"
	before=$(ip netns list | sort)
	real_bench_run 120 BENCH_NET=netns MODELS=epoll-lt WORKLOADS=closed CLOSED_POINTS=4 \
		SERVERS_DIR="$t/servers" LOADGEN="$t/loadgen"
	local dir="$t/results/latest"
	run awk -F, 'NR > 1 { print $1, $3, $5 }' "$dir/raw.csv"
	assert_output "epoll-lt 4 ok"
	# The server ran in one namespace, the measuring load generator in
	# another, and neither in ours.
	root_ns=$(readlink /proc/self/ns/net)
	run awk '{ print $1 }' "$t/server.ns"
	assert_output --regexp '^net:\[[0-9]+\]$'
	local server_ns=$output
	run awk '/--seed/ { print $1 }' "$t/loadgen.ns"
	assert_output --regexp '^net:\[[0-9]+\]$'
	[[ $output != "$server_ns" && $output != "$root_ns" && $server_ns != "$root_ns" ]] ||
		fail "server $server_ns, load generator $output, ours $root_ns: not three namespaces"
	grep -q '^network: two network namespaces joined by a veth pair' "$dir/env.txt" || fail "env.txt does not say so"
	grep -q 'Network: two network namespaces' "$dir/README.md" || fail "the summary does not say so"
	grep -q '^net_label = "NETNS' "$dir/data/common.gp" || fail "the charts do not say so"
	# Nothing of it is left.
	assert_equal "$(ip netns list | sort)" "$before"
}

@test "SERVER_SSH and CLIENT_SSH: the server on one host, a load generator on each of two, through REMOTE_SHELL (a stand-in that runs the command line in a network namespace), started together and merged into one point" {
	need_gnuplot
	local why t="$BATS_TEST_TMPDIR" n="ebssh$$" root_ns
	why=$(netns_possible) || skip "$why"
	# The "hosts": two namespaces joined by a veth pair (bench/lib.sh), the
	# server's at 10.77.0.1; both clients in the second. The stand-in
	# (tests/tools/ssh-netns) notes the namespace each command ran in.
	netns_up "$n" || fail "cannot make the namespaces"
	NETNS_MADE=$n
	real_bench_run 120 REMOTE_SHELL="$ROOT/tests/tools/ssh-netns" SSH_NETNS_LOG="$t/hosts.log" \
		SERVER_SSH="$n-srv" SERVER_ADDR=10.77.0.1 CLIENT_SSH="$n-cli,$n-cli" PIN=0 \
		MODELS="epoll-lt thread" WORKLOADS="closed open idle" CLOSED_POINTS=4 OPEN_RATE=2000 IDLE_POINTS=10
	netns_down "$n"
	NETNS_MADE=
	local dir="$t/results/latest"
	run awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		{ print $1, $2, $3, $5, $c["connections"], ($c["messages"] > 0), $c["server_us_per_msg"] ($6 == "" ? "" : ": " $6) }' "$dir/raw.csv"
	# Two load generators of 2 connections each, merged: 4 (the smoke
	# profile's open loop has 4 too); no server figures (no --server-pid).
	assert_line "epoll-lt closed 4 ok 4 1 "
	assert_line "thread closed 4 ok 4 1 "
	assert_line "epoll-lt open 2000 ok 4 1 "
	assert_line "epoll-lt idle 10 not-run 2 0 : idle connections are counted in the server's /proc: not with SERVER_SSH or CLIENT_SSH"
	# Each server was stopped on its host (SIGTERM to the pid it wrote
	# there) and exited 0, its status brought back by the remote shell.
	run awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $5 == "ok" { print $c["server_exit"] }' "$dir/raw.csv"
	assert_output $'0\n0\n0\n0'
	# Each point that ran: its server on the first host (and its stop),
	# two load generators on the second; three namespaces, ours apart.
	root_ns=$(readlink /proc/self/ns/net)
	run awk -v n="$n" '$1 == n "-cli" { cli[$2] = 1; c++ } $1 == n "-srv" { srv[$2] = 1 }
		END { for (k in cli) nc++; for (k in srv) ns++; for (k in cli) cns = k; for (k in srv) sns = k
			print c, nc, ns, (cns != sns) }' "$t/hosts.log"
	assert_output "8 1 1 1"
	! grep -q " $root_ns " "$t/hosts.log" || fail "a command ran in our own namespace"
	# Started together: both load generators of a point were given the
	# same --start-at instant, and each point its own.
	run awk '$1 ~ /-cli$/ { for (i = 3; i < NF; i++) if ($i == "--start-at") n[$(i + 1)]++ }
		END { for (k in n) print n[k] }' "$t/hosts.log"
	assert_output $'2\n2\n2\n2'
	grep -q '^network: other hosts through .*ssh-netns: the server on ebssh' "$dir/env.txt" || fail "env.txt does not say so"
	grep -q '^net_label = "REMOTE' "$dir/data/common.gp" || fail "the charts do not say so"
}

@test "BENCH_NET=netns: an interrupted run removes its namespaces and its veth pair" {
	local why pid name deadline
	why=$(netns_possible) || skip "$why"
	BENCH=smoke NO_BUILD=1 NO_REPORT=1 BENCH_NET=netns MODELS="epoll-lt poll" WORKLOADS=closed \
		REPEATS=3 RESULTS="$BATS_TEST_TMPDIR/results" LOCK_WAIT=15 "$ROOT/bench/run.sh" \
		>/dev/null 2>"$BATS_TEST_TMPDIR/run.err" 3>&- &
	pid=$!
	track_pid "$pid"
	name="eb$pid"
	deadline=$(($(now_ms) + 20000))
	until ip netns list | grep -q "^$name-srv"; do
		(($(now_ms) < deadline)) || fail "no namespace $name-srv within 20 s: $(cat "$BATS_TEST_TMPDIR/run.err")"
		sleep 0.1
	done
	sleep 1 # a point under way
	# SIGTERM: a job started in the background here ignores SIGINT (bash
	# leaves it ignored, and so untrappable); run.sh's trap treats the two
	# alike, as a user's Ctrl-C in the foreground.
	kill -TERM "$pid"
	wait_for_exit "$pid" 60
	assert_equal "$WAITED_STATUS" 130
	run ip netns list
	refute_output --partial "$name-"
	run ip link show "$name-s"
	assert_failure
}
