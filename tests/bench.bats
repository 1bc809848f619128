#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # bats run sets status, output, stderr
# The bench pipeline (design.md, "Bench contract"), fast and without load:
#
# - bench/report.sh on a hand-made raw.csv: medians over repeats, gaps for
#   points that did not run (never zeros), the summary and its reasons, the
#   charts as PNG and SVG;
# - bench/run.sh with a stand-in load generator that prints a fixed report:
#   not-run points are recorded with their reason and cost no run, every row
#   has every column, results/latest moves to the new run;
# - one tiny real run (two event-loop models, two points, 0.3 s each) when
#   bin/loadgen exists, through the shared bench lock.
#
# The chart tests need gnuplot (Debian gnuplot-nox); they skip without it.

bats_require_minimum_version 1.5.0

load test_helper

setup() {
	RUN_DIR="$BATS_TEST_TMPDIR/run"
	mkdir -p "$RUN_DIR"
	CSV_HEADER=$(sed -n 's/^CSV_HEADER="\(.*\)"$/\1/p' "$ROOT/bench/run.sh")
	[[ -n "$CSV_HEADER" ]] || fail "no CSV_HEADER in bench/run.sh"
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
	assert_line --index 0 --partial "| 20k | 20k | — |"
	run grep -E '^\| fork \|' "$RUN_DIR/README.md"
	assert_line --index 0 --partial "| ✗ |"
	run cat "$RUN_DIR/README.md"
	assert_output --partial "| closed | blocking | 16, 1024 | not-run | serves one client at a time |"
	assert_output --partial "| closed | select | 1024 | not-run | fds >= FD_SETSIZE (1024) are refused |"
	assert_output --partial "| closed | fork | 1024 | failed | loadgen did not finish within 20 s |"
	assert_output --partial "1 of 3 repeats failed"
	# The client-bound point is starred.
	assert_output --regexp '\| epoll-et \| 4.99k\* \|'
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

# ---- the driver, with a stand-in load generator -----------------------------

# A load generator that loads nothing: it sleeps warm-up + duration and prints
# a fixed report. Enough to drive bench/run.sh end to end, deterministically.
write_fake_loadgen() {
	FAKE_LOADGEN="$BATS_TEST_TMPDIR/fake-loadgen"
	cat >"$FAKE_LOADGEN" <<-'EOF'
		#!/usr/bin/env bash
		set -euo pipefail
		[[ "${1:-}" != -V ]] || { echo "fake-loadgen 0"; exit 0; }
		warm=0 dur=1 conns=1
		while [[ $# -gt 0 ]]; do
			case "$1" in
			-W) warm=${2%ms}; shift ;;
			-d) dur=${2%ms}; shift ;;
			-c) conns=$2; shift ;;
			-p | -t | -s | -r | --seed | --idle | --connect-timeout | --format) shift ;;
			esac
			shift
		done
		sleep "$(awk -v a="$warm" -v b="$dur" 'BEGIN { print (a + b) / 1000 }')"
		printf '{"mode":"closed","connections":%d,"msgs_per_s":%d,"mib_per_s":1.0,"messages":1000,' "$conns" $((1000 * conns))
		printf '"latency_us":{"min":10,"p50":20,"p90":30,"p99":40,"p999":50,"max":60,"mean":21},'
		printf '"errors":{"connect":0,"mismatch":0,"reset":0,"timeout":0},"client_cpu":0.5,"complete":true}\n'
	EOF
	chmod +x "$FAKE_LOADGEN"
}

# bench_run [VAR=VALUE...]: bench/run.sh with a private lock and results folder.
bench_run() {
	env BENCH=smoke PIN=0 NO_BUILD=1 WARMUP=0.05 DURATION=0.2 \
		RESULTS="$BATS_TEST_TMPDIR/results" BENCH_LOCK="$BATS_TEST_TMPDIR/lock" "$@" \
		timeout 60 "$ROOT/bench/run.sh"
}

bench_report() {
	timeout 60 "$ROOT/bench/report.sh" "$RUN_DIR"
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
	assert_output --partial "BENCH=huge: use smoke, quick, default or full"
	run bench_run MODELS="epoll kqueue"
	assert_failure
	assert_output --partial "unknown model 'epoll'"
	run bench_run WORKLOADS="closed bogus"
	assert_failure
	assert_output --partial "unknown workload 'bogus'"
	[[ ! -e "$BATS_TEST_TMPDIR/results" ]] || fail "a run folder was made"
}

@test "run.sh: a tiny real run against bin/loadgen writes rows, charts and the summary" {
	need_gnuplot
	[[ -x "$BIN/loadgen" ]] || skip "bin/loadgen is not built"
	# Real load: through the machine's bench lock, like every bench run.
	run env BENCH=smoke NO_BUILD=1 MODELS="select epoll-et" WORKLOADS=closed CLOSED_POINTS="1 4" \
		RESULTS="$BATS_TEST_TMPDIR/results" LOCK_WAIT=15 timeout 60 "$ROOT/bench/run.sh"
	if [[ $status -ne 0 && "$output" == *"still holds"* ]]; then
		skip "another bench held the lock for 15 s"
	fi
	assert_success
	local dir="$BATS_TEST_TMPDIR/results/latest"
	# (A failed row shows its reason.)
	run awk -F, 'NR > 1 { print $1, $3, $5 ($6 == "" ? "" : ": " $6) }' "$dir/raw.csv"
	assert_output "select 1 ok
epoll-et 1 ok
select 4 ok
epoll-et 4 ok"
	[[ -s "$dir/throughput.png" && -s "$dir/README.md" ]] || fail "no charts or summary"
}
