#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # bats run sets status, output, stderr
# Every figure carries its uncertainty (bench/README.md, "Every figure with
# its uncertainty"): the statistics of bench/stats.awk on samples with known
# answers, and what the report makes of them on a hand-made raw.csv:
#
# - the median's 95% interval (t x 1.2533 s / sqrt(n)) and the t table;
# - the paired ratio of two models, round by round, and its verdict;
# - agg.csv's repeats, resolved and <metric>_ci_lo / _ci_hi columns;
# - the README: medians with their ±, chart captions, the unresolved points,
#   the pairwise verdicts at the headline points;
# - the charts: error bars from the interval, unresolved points hollow.
#
# The report tests need gnuplot (Debian gnuplot-nox); they skip without it.

bats_require_minimum_version 1.5.0

load test_helper

setup() {
	RUN_DIR="$BATS_TEST_TMPDIR/run"
	mkdir -p "$RUN_DIR"
}

need_gnuplot() {
	command -v gnuplot >/dev/null 2>&1 || skip "gnuplot is not installed (Debian: gnuplot-nox)"
}

# stats PROGRAM: run the awk PROGRAM (a BEGIN block) with bench/stats.awk loaded.
stats() {
	printf '%s\n' "$1" >"$BATS_TEST_TMPDIR/prog.awk"
	awk -f "$ROOT/bench/stats.awk" -f "$BATS_TEST_TMPDIR/prog.awk"
}

# The columns raw.csv has that these tests use (the report reads columns by
# name, so the others bench/run.sh writes do not matter here).
HEADER="model,workload,x,repeat,status,reason,connections,idle,size,pipeline,rate,msgs_per_s,mib_per_s"
HEADER="$HEADER,lat_p50_us,lat_p90_us,lat_p99_us,lat_p999_us,lat_max_us,client_cpu,client_bound"
HEADER="$HEADER,server_us_per_msg,server_rss_kib,server_pss_kib,server_procs,server_threads"
HEADER="$HEADER,server_ctx_switches_per_msg,conns_per_s"

# A run with known answers (rounds are raw.csv's `repeat`):
#   closed 1:    epoll-lt, one round.
#   closed 16:   epoll-lt, three rounds: 9000, 10000, 11000 msgs/s (median
#                10000 ± 3114), p99 90, 100, 110 µs, CPU 10 µs every round.
#   closed 64:   five rounds, no drift. epoll-lt 50000 msgs/s ±1% (resolved);
#                uring 1.2x epoll-lt with ±2% noise, CPU / 1.2; poll
#                40000 ±30% (unresolved); epoll-et epoll-lt x 0.9..1.1 (no
#                difference); blocking not run.
#   closed 256:  five rounds drifting 0.6x to 1.6x (every point unresolved);
#                uring 1.2x epoll-lt round by round, its rows written in
#                reverse order; poll and epoll-et as at 64.
#   churn 128:   three rounds; uring 2.5x epoll-lt's connections/s, CPU / 2.5.
write_ci_run() {
	awk -v header="$HEADER" 'BEGIN {
		ncol = split(header, col, ",")
		print header
		split("1.00 1.01 0.99 1.005 0.995", f, " ")  # epoll-lt, small noise
		split("1.02 0.98 1.01 0.99 1.00", g, " ")     # uring / (1.2 epoll-lt)
		split("0.7 1.3 1.0 0.8 1.2", wide, " ")       # poll
		split("0.9 1.1 1.0 0.95 1.05", e, " ")        # epoll-et / epoll-lt
		split("0.6 0.8 1.0 1.25 1.6", d, " ")         # drift at 256

		ok("epoll-lt", "closed", 1, 1, 7000, 10)
		split("9000 10000 11000", v16, " ")
		for (r = 1; r <= 3; r++) {
			v["lat_p99_us"] = 80 + 10 * r
			v["server_ctx_switches_per_msg"] = 1.5 + 0.5 * r
			ok("epoll-lt", "closed", 16, r, v16[r], 10)
		}
		for (r = 1; r <= 5; r++) {
			not_run("blocking", "closed", 64, r, "serves one client at a time")
			ok("poll", "closed", 64, r, 40000 * wide[r], 12 * f[r])
			ok("epoll-lt", "closed", 64, r, 50000 * f[r], 10 / f[r])
			ok("epoll-et", "closed", 64, r, 50000 * f[r] * e[r], 10 / f[r] / e[r])
			ok("uring", "closed", 64, r, 1.2 * 50000 * f[r] * g[r], 10 / f[r] / (1.2 * g[r]))
		}
		for (r = 1; r <= 5; r++) {
			not_run("blocking", "closed", 256, r, "serves one client at a time")
			ok("poll", "closed", 256, r, 40000 * wide[r] * d[r], 12 / d[r])
			ok("epoll-lt", "closed", 256, r, 40000 * d[r], 10 / d[r])
			ok("epoll-et", "closed", 256, r, 40000 * d[r] * e[r], 10 / d[r] / e[r])
		}
		for (r = 5; r >= 1; r--)
			ok("uring", "closed", 256, r, 1.2 * 40000 * d[r] * g[r], 10 / d[r] / (1.2 * g[r]))
		for (r = 1; r <= 3; r++) {
			ok("epoll-lt", "churn", 128, r, 10000 * f[r], 50 / f[r])
			ok("uring", "churn", 128, r, 2.5 * 10000 * f[r] * g[r], 50 / f[r] / (2.5 * g[r]))
		}
	}
	function ok(m, w, x, r, msgs, cpu) {
		v["connections"] = (w == "churn") ? x : x
		v["size"] = 64
		v["pipeline"] = 1
		v["rate"] = 0
		v["idle"] = 0
		v["msgs_per_s"] = msgs
		v["mib_per_s"] = msgs * 64 / 1048576
		v["conns_per_s"] = (w == "churn") ? msgs : 0
		v["lat_p50_us"] = 40
		v["lat_p90_us"] = 60
		if (!("lat_p99_us" in v))
			v["lat_p99_us"] = 90
		v["lat_p999_us"] = 200
		v["lat_max_us"] = 900
		v["client_cpu"] = 0.5
		v["client_bound"] = 0
		v["server_us_per_msg"] = cpu
		v["server_rss_kib"] = 2048
		v["server_pss_kib"] = 1024
		v["server_procs"] = 1
		v["server_threads"] = 1
		emit(m, w, x, r, "ok", "")
	}
	function not_run(m, w, x, r, why) {
		split("", v)
		v["connections"] = x
		emit(m, w, x, r, "not-run", why)
	}
	function emit(m, w, x, r, st, why,    i, line) {
		v["model"] = m
		v["workload"] = w
		v["x"] = x
		v["repeat"] = r
		v["status"] = st
		v["reason"] = why
		line = v[col[1]]
		for (i = 2; i <= ncol; i++)
			line = line "," v[col[i]]
		print line
		split("", v)
	}' >"$RUN_DIR/raw.csv"
	cat >"$RUN_DIR/env.txt" <<-'EOF'
		run: 20250101T000000Z-stats
		cpu_model: Test CPU
		cores: 2
		kernel: 6.1.0
		profile: test
		repeats: 5
		warmup_s: 0.5
		duration_s: 1
		pinning: Server on CPU 0, client on CPU 1 (taskset)
		pinned: 1
	EOF
}

bench_report() {
	with_deadline 60 "$ROOT/bench/report.sh" "$RUN_DIR"
}

# agg WORKLOAD X MODEL COLUMN: one value of agg.csv, by column name.
agg() {
	awk -F, -v w="$1" -v x="$2" -v m="$3" -v c="$4" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$col["workload"] == w && $col["x"] == x && $col["model"] == m { print $col[c] }' "$RUN_DIR/agg.csv"
}

# verdicts: bench/verdicts.awk on the run's raw.csv, for these models.
verdicts() {
	awk -v models="blocking poll epoll-lt epoll-et uring" -f "$ROOT/bench/stats.awk" \
		-f "$ROOT/bench/labels.awk" -f "$ROOT/bench/verdicts.awk" "$RUN_DIR/raw.csv"
}

# section TITLE FILE: the lines of FILE from the heading TITLE to the next
# heading of the same level.
section() {
	awk -v t="$1" '$0 == t { on = 1; print; next } on && /^#/ && index($0, " ") == index(t, " ") { on = 0 } on' "$2"
}

# ---- bench/stats.awk ---------------------------------------------------------

@test "stats_median_ci: 9, 10 and 11 give the median 10 with ±3.114 (4.303 x 1.2533 x 1 / sqrt 3)" {
	run stats 'BEGIN {
		v[1] = 11; v[2] = 9; v[3] = 10
		stats_median_ci(v, 3, o)
		printf "%s %.3f %.3f %.4f\n", o["median"], o["lo"], o["hi"], o["rel"]
		printf "%s %.4f\n", stats_median(v, 3), stats_sd(v, 3)
		v[4] = 14
		printf "%s\n", stats_median(v, 4)
	}'
	assert_success
	assert_line --index 0 "10 6.886 13.114 0.3114"
	assert_line --index 1 "10 1.0000"
	assert_line --index 2 "10.5"
}

@test "stats_median_ci: one value has its median and no interval" {
	run stats 'BEGIN {
		v[1] = 42
		stats_median_ci(v, 1, o)
		printf "[%s] [%s] [%s] [%s]\n", o["median"], o["lo"], o["hi"], o["rel"]
	}'
	assert_success
	assert_output "[42] [] [] []"
}

@test "stats_t975: Student's t at 1, 2, 4, 10 and 30 degrees of freedom, about 1.96 beyond, none at 0" {
	run stats 'BEGIN {
		printf "%s %s %s %s %s [%s]\n", stats_t975(1), stats_t975(2), stats_t975(4), stats_t975(10),
		    stats_t975(30), stats_t975(0)
		printf "%.3f %.3f\n", stats_t975(60), stats_t975(1000)
	}'
	assert_success
	assert_line --index 0 "12.706 4.303 2.776 2.228 2.042 []"
	# The true values: 2.000 at 60, 1.962 at 1000.
	assert_line --index 1 "2.000 1.962"
}

@test "stats_ratio_ci: A = 1.2 x B every round with small noise: ratio 1.2, the interval excludes 1" {
	run stats 'BEGIN {
		split("1.02 0.98 1.01 0.99 1.00", g, " ")
		split("100 250 80 120 300", b, " ")
		for (i = 1; i <= 5; i++)
			a[i] = 1.2 * b[i] * g[i]
		stats_ratio_ci(a, b, 5, o)
		printf "%.3f %.3f %.3f %d %s\n", o["ratio"], o["lo"], o["hi"], o["n"], stats_verdict(o["lo"], o["hi"])
		stats_ratio_ci(b, a, 5, o)
		printf "%.4f %s\n", o["ratio"], stats_verdict(o["lo"], o["hi"])
	}'
	assert_success
	# mean log-ratio ln 1.2 - 0.00002, sd 0.0158, t(4) 2.776: 1.2 x e^(±0.0196).
	assert_line --index 0 "1.200 1.177 1.224 5 higher"
	assert_line --index 1 "0.8334 lower"
}

@test "stats_ratio_ci: ratios scattered around 1 give an interval holding 1: no verdict" {
	run stats 'BEGIN {
		split("0.9 1.1 1.0 0.95 1.05", e, " ")
		for (i = 1; i <= 5; i++) {
			b[i] = 1000 * i
			a[i] = b[i] * e[i]
		}
		stats_ratio_ci(a, b, 5, o)
		printf "%.3f %.3f %.3f %s\n", o["ratio"], o["lo"], o["hi"], stats_verdict(o["lo"], o["hi"])
		# A pair with a missing figure is left out, not counted as zero.
		a[6] = ""; b[6] = 7
		stats_ratio_ci(a, b, 6, o)
		print o["n"]
	}'
	assert_success
	assert_output "0.997 0.904 1.101 none
5"
}

# ---- agg.csv -----------------------------------------------------------------

@test "agg.csv: repeats, and the median's 95% interval of msgs/s, CPU per message and p99" {
	write_ci_run
	run awk -f "$ROOT/bench/stats.awk" -f "$ROOT/bench/aggregate.awk" "$RUN_DIR/raw.csv"
	assert_success
	printf '%s\n' "$output" >"$RUN_DIR/agg.csv"
	local c
	for c in repeats resolved msgs_per_s_ci_lo msgs_per_s_ci_hi server_us_per_msg_ci_lo \
		server_us_per_msg_ci_hi lat_p99_us_ci_lo lat_p99_us_ci_hi server_ctx_switches_per_msg_med; do
		head -1 "$RUN_DIR/agg.csv" | tr , '\n' | grep -qx "$c" || fail "agg.csv has no column $c"
	done
	assert_equal "$(agg closed 16 epoll-lt repeats)" 3
	assert_equal "$(agg closed 16 epoll-lt msgs_per_s_med)" 10000
	assert_equal "$(agg closed 16 epoll-lt msgs_per_s_ci_lo)" 6886
	assert_equal "$(agg closed 16 epoll-lt msgs_per_s_ci_hi)" 13114
	assert_equal "$(agg closed 16 epoll-lt lat_p99_us_ci_lo)" 68.86
	assert_equal "$(agg closed 16 epoll-lt lat_p99_us_ci_hi)" 131.1
	# Equal repeats: an interval of zero width.
	assert_equal "$(agg closed 16 epoll-lt server_us_per_msg_ci_lo)" 10
	assert_equal "$(agg closed 16 epoll-lt server_us_per_msg_ci_hi)" 10
	assert_equal "$(agg closed 16 epoll-lt server_ctx_switches_per_msg_med)" 2.5
	# The existing columns are kept: min and max of the repeats.
	assert_equal "$(agg closed 16 epoll-lt msgs_per_s_min)" 9000
	assert_equal "$(agg closed 16 epoll-lt msgs_per_s_max)" 11000
	# msgs/s ±31%: not resolved; epoll-lt at 64 (±1.2%, CPU ±1.2%) is.
	assert_equal "$(agg closed 16 epoll-lt resolved)" 0
	assert_equal "$(agg closed 64 epoll-lt resolved)" 1
	assert_equal "$(agg closed 64 epoll-lt repeats)" 5
	assert_equal "$(agg closed 64 poll resolved)" 0
	assert_equal "$(agg closed 64 blocking repeats)" 0
	assert_equal "$(agg closed 64 blocking resolved)" ""
}

@test "agg.csv: one repeat leaves the interval empty and the point unresolved" {
	write_ci_run
	awk -f "$ROOT/bench/stats.awk" -f "$ROOT/bench/aggregate.awk" "$RUN_DIR/raw.csv" >"$RUN_DIR/agg.csv"
	assert_equal "$(agg closed 1 epoll-lt repeats)" 1
	assert_equal "$(agg closed 1 epoll-lt msgs_per_s_med)" 7000
	assert_equal "$(agg closed 1 epoll-lt msgs_per_s_ci_lo)" ""
	assert_equal "$(agg closed 1 epoll-lt msgs_per_s_ci_hi)" ""
	assert_equal "$(agg closed 1 epoll-lt resolved)" 0
}

# ---- the run's README ----------------------------------------------------------

@test "README: every median carries ± its interval, and each chart's caption says what the bars are" {
	need_gnuplot
	write_ci_run
	run bench_report
	assert_success
	run grep -E '^\| epoll-lt \|' "$RUN_DIR/README.md"
	# Throughput: 7k (one repeat, no ±), 10k ±31%, 50k ±1.2%, 40k ±61%.
	assert_line --index 0 "| epoll-lt | 7k | 10k ±31% | 50k ±1.2% | 40k ±61% |"
	run cat "$RUN_DIR/README.md"
	assert_output --partial "*Error bars: 95% confidence interval of the median over 1 to 5 repeats."
	assert_output --partial "\`84.2k ±4%\`"
	# The footer of every chart says the same.
	run grep -F 'bars: its 95% confidence interval' "$RUN_DIR/data/common.gp"
	assert_success
}

@test "README: a point whose interval is wider than ±5% is listed under Unresolved points" {
	need_gnuplot
	write_ci_run
	run bench_report
	assert_success
	run section "## Unresolved points" "$RUN_DIR/README.md"
	assert_success
	assert_line "| closed | 16 | epoll-lt | 3 | **10k ±31%** | 10 ±0% |"
	assert_line --regexp '^\| closed \| 64 \| poll \| 5 \| \*\*40k ±[0-9]+%\*\* \| 12 ±[0-9.]+% \|$'
	assert_line --regexp '^\| closed \| 256 \| uring \| 5 \|'
	assert_line "One repeat only, so no interval (1 point): closed 1 epoll-lt."
	# The resolved points are not listed.
	refute_line --regexp '^\| closed \| 64 \| (epoll-lt|uring) \|'
}

@test "charts: the error bars are the 95% interval, not min–max; an unresolved point is drawn hollow" {
	need_gnuplot
	write_ci_run
	run bench_report
	assert_success
	# "x median lo hi client_bound resolved": epoll-lt at 16, 9000-11000
	# around 10000, bars 6886-13114, unresolved; at 64 resolved.
	run awk '/^# epoll-lt/ { on = 1; next } /^# / { on = 0 } on && NF' "$RUN_DIR/data/throughput.dat"
	assert_line --index 0 "1 7000 7000 7000 0 0"
	assert_line --index 1 "16 10000 6886 13114 0 0"
	assert_line --index 2 --regexp '^64 50000 49[0-9]{3} 50[0-9]{3} 0 1$'
	run grep -Fx 'has_unresolved = 1' "$RUN_DIR/data/throughput.gp"
	assert_success
	# In the SVG, gnuplot's point type N is the symbol gpPt(N-1). epoll-lt
	# (green) is a filled triangle (pt 9); its three unresolved points get
	# the open triangle (pt 8) on top of a white one, its resolved point not.
	local green="rgb(  0, 158, 115)" blue="rgb(  0, 114, 178)"
	run grep -c "#gpPt7' transform=.* color='$green'" "$RUN_DIR/throughput.svg"
	assert_output 3
	# poll (blue, filled circles, pt 7): two unresolved points, open circles.
	run grep -c "#gpPt5' transform=.* color='$blue'" "$RUN_DIR/throughput.svg"
	assert_output 2
	run grep -c "#gpPt8' transform=.* color='rgb(255, 255, 255)'" "$RUN_DIR/throughput.svg"
	assert_output 3
	grep -qF 'hollow: 95% CI wider than ±5%' "$RUN_DIR/throughput.svg" || fail "the key does not explain the hollow points"
}

# ---- verdicts ------------------------------------------------------------------

@test "verdicts: uring at 1.2x epoll-lt every round reads 20% more messages per second, 17% less CPU" {
	write_ci_run
	run verdicts
	assert_success
	assert_output --partial "- uring handles 20% (CI 18–22%) more messages per second than epoll-lt."
	assert_output --partial "- uring uses 17% (CI 15–18%) less CPU per message than epoll-lt."
	assert_output --partial "| uring vs epoll-lt | **20% more** (CI 18–22%) | **17% less** (CI 15–18%) | 5 |"
}

@test "verdicts: a ratio whose interval holds 1 reads 'no difference resolved'" {
	write_ci_run
	run verdicts
	assert_success
	run section "### Closed loop, 64 connections" <(verdicts)
	assert_line "| epoll-et vs epoll-lt | no difference resolved (ratio 1.00, CI 0.90–1.10) | no difference resolved (ratio 1.00, CI 0.91–1.11) | 5 |"
	refute_output --partial "epoll-et handles"
	refute_output --partial "epoll-et uses"
}

@test "verdicts: pairs are matched by round, whatever the order of the rows, so drift cancels" {
	write_ci_run
	# At 256 every model drifts 0.6x to 1.6x over the rounds (each point's own
	# interval is wide) and uring's rows are in reverse order: paired by
	# round, uring is still 20% ahead.
	run section "### Closed loop, 256 connections" <(verdicts)
	assert_success
	assert_line "- uring handles 20% (CI 18–22%) more messages per second than epoll-lt."
}

@test "verdicts: churn compares connections per second; a factor of 2 or more reads as one" {
	write_ci_run
	run section "### Churn, 128 concurrent clients" <(verdicts)
	assert_success
	assert_line "| compared | connections/s | server CPU per message | rounds |"
	assert_line "- uring handles 2.5x (CI 2.4–2.6x) as many connections per second as epoll-lt."
	# A ratio of a half or less is turned round.
	assert_line "- epoll-lt uses 2.5x (CI 2.4–2.6x) as much CPU per message as uring."
}

@test "verdicts: a pair with a model that did not run is skipped, with the reason; only the run's models" {
	write_ci_run
	run section "### Closed loop, 64 connections" <(verdicts)
	assert_success
	assert_line "- blocking vs epoll-lt: blocking not run: serves one client at a time"
	refute_line --partial "| blocking vs"
	# The neighbours first (poll-epoll-lt, epoll-lt-epoll-et, epoll-lt-uring),
	# then the rest against epoll-lt; fork, thread and the others are not in
	# this run and are left out.
	run grep -oE '^\| [a-z-]+ vs [a-z-]+ \|' <<<"$output"
	assert_output "| epoll-lt vs poll |
| epoll-et vs epoll-lt |
| uring vs epoll-lt |"
	# Headline points the run does not have get no section.
	run verdicts
	refute_output --partial "Closed loop, 1024 connections"
	refute_output --partial "idle connections"
}

@test "verdicts: points= replaces the headline points, message sizes too" {
	write_ci_run
	# The closed loop at 256 connections relabelled as a message size of
	# 4 KiB: the same rounds, so the same verdicts, under that heading.
	awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; print; next }
		$col["workload"] == "closed" && $col["x"] == 256 { $col["workload"] = "size"; $col["x"] = 4096 }
		{ print }' "$RUN_DIR/raw.csv" >"$BATS_TEST_TMPDIR/sizes.csv"
	run awk -v models="epoll-lt uring" -v points="size:4096 churn:128" -f "$ROOT/bench/stats.awk" \
		-f "$ROOT/bench/labels.awk" -f "$ROOT/bench/verdicts.awk" "$BATS_TEST_TMPDIR/sizes.csv"
	assert_success
	run grep '^### ' <<<"$output"
	assert_output "### Message size 4 KiB
### Churn, 128 concurrent clients"
	run section "### Message size 4 KiB" <(awk -v models="epoll-lt uring" \
		-v points="size:4096" -f "$ROOT/bench/stats.awk" -f "$ROOT/bench/labels.awk" \
		-f "$ROOT/bench/verdicts.awk" "$BATS_TEST_TMPDIR/sizes.csv")
	assert_line "- uring handles 20% (CI 18–22%) more messages per second than epoll-lt."
}

@test "README: the verdicts come after the tables, before the unresolved points" {
	need_gnuplot
	write_ci_run
	run bench_report
	assert_success
	run grep -E '^## ' "$RUN_DIR/README.md"
	assert_output "## 1. Closed-loop throughput
## 2. Closed-loop p99 latency
## 3. Server CPU per message
## 4. Server memory
## 5. Connection churn
## Not run and failed
## Verdicts at the headline points
## Unresolved points
## Figures for the README"
	run section "## Verdicts at the headline points" "$RUN_DIR/README.md"
	assert_line "- uring uses 17% (CI 15–18%) less CPU per message than epoll-lt."
}

@test "noise.awk: the coefficient of variation and the interval at each headline point" {
	# closed 64: two models, three rounds each. a: 90, 100, 110 msgs/s (sd 10,
	# mean 100: CV 10%; interval 4.303 x 1.2533 x 10 / sqrt(3) = 31.1 around
	# the median 100: ±31.1%); b: 100 every round (CV 0, ±0). CPU/msg 5, 5,
	# 5 for both (CV 0). The median over the two models: CV 5%, ± 15.6%.
	{
		echo "model,workload,x,repeat,status,msgs_per_s,server_us_per_msg"
		echo "a,closed,64,1,ok,90,5"
		echo "a,closed,64,2,ok,100,5"
		echo "a,closed,64,3,ok,110,5"
		echo "b,closed,64,1,ok,100,5"
		echo "b,closed,64,2,ok,100,5"
		echo "b,closed,64,3,ok,100,5"
		echo "b,closed,256,1,failed,,"
	} >"$RUN_DIR/raw.csv"
	run awk -f "$ROOT/bench/stats.awk" -f "$ROOT/bench/noise.awk" "$RUN_DIR/raw.csv"
	assert_success
	assert_line "| closed:64 | 2 | 3 | 5.0% / 10.0% | 15.6% / 31.1% | 0.0% / 0.0% | 0.0% / 0.0% |"
	# A point with no clean repeat is not in the table.
	refute_output --partial "closed:256"
}
