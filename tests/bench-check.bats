#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # bats run sets status, output, stderr
# The regression gate. The stored-baseline comparison (bench/compare.sh,
# bench/compare.awk) on synthetic runs: no load, no servers; each run is a
# raw.csv in bench/run.sh's format (every model of bench/models.sh at closed
# 16 and 256 and churn 16, three repeats spread +-5%, as the check profile
# records) and an env.txt. Then the refusal of one-repeat profiles
# (bench/check.sh), the paired gate (bench/paired.sh with a stand-in for
# bench/point.sh, bench/paired.awk on synthetic pairs with known answers),
# and the system call count (bench/compare-syscalls.awk; bench/syscalls.sh
# --gate on real servers, one of them under the slowdown shim).

bats_require_minimum_version 1.5.0

load test_helper

setup() {
	# The raw.csv header: bench/point.sh prints it (bench/run.sh had it).
	if [[ -x "$ROOT/bench/point.sh" ]]; then
		CSV_HEADER=$("$ROOT/bench/point.sh" --header)
	else
		CSV_HEADER=$(sed -n 's/^CSV_HEADER="\(.*\)"$/\1/p' "$ROOT/bench/run.sh")
	fi
	[[ -n "$CSV_HEADER" ]] || fail "no raw.csv header from bench/point.sh --header or bench/run.sh"
	BASE="$BATS_TEST_TMPDIR/base"
	NOW="$BATS_TEST_TMPDIR/now"
	# shellcheck disable=SC1091 # bench/models.sh: shellcheck checks it on its own
	. "$ROOT/bench/models.sh"
}

# make_run DIR [MODEL:WORKLOAD:X:FACTOR ...]: a run where MODEL at WORKLOAD
# X is FACTOR times slower per message (throughput / FACTOR, CPU per
# message and p99 x FACTOR); MODEL "*" is every model. Environment: SPREAD
# (the repeats' spread, 0.05), DROP ("model:workload:x ..." left out),
# UNAVAILABLE ("uring libevent": models that cannot run here, not run at
# every point with bench/models.sh's reason), CPU_MODEL (AMD EPYC), CORES (2).
make_run() {
	local dir=$1
	shift
	mkdir -p "$dir"
	awk -v header="$CSV_HEADER" -v spread="${SPREAD:-0.05}" -v drop=" ${DROP:-} " \
		-v models="${ALL_MODELS[*]}" -v unavailable=" ${UNAVAILABLE:-} " 'BEGIN {
		n = split(header, col, ",")
		for (i = 1; i <= n; i++)
			at[col[i]] = i
		for (i = 1; i < ARGC; i++) {
			split(ARGV[i], s, ":")
			slow[s[1], s[2], s[3]] = s[4]
		}
		print header
		nm = split(models, model, " ")
		lib["uring"] = lib["uring-multishot"] = "liburing"
		lib["libevent"] = "libevent"
		np = split("closed:16 closed:256 churn:16", point, " ")
		for (r = 1; r <= 3; r++)
			for (j = 1; j <= np; j++)
				for (i = 1; i <= nm; i++) {
					split(point[j], p, ":")
					m = model[i]
					if (index(drop, " " m ":" p[1] ":" p[2] " "))
						continue
					delete v
					v["model"] = m; v["workload"] = p[1]; v["x"] = p[2]; v["repeat"] = r
					if (index(unavailable, " " m " ")) {
						v["status"] = "not-run"
						v["reason"] = "built without " lib[m] " (apt-get install " lib[m] "-dev; then make)"
					} else if (m == "blocking" && p[1] != "churn") {
						v["status"] = "not-run"
						v["reason"] = "serves one client at a time"
					} else {
						f = 1
						if ((m, p[1], p[2]) in slow) f = slow[m, p[1], p[2]]
						if (("*", p[1], p[2]) in slow) f *= slow["*", p[1], p[2]]
						j1 = 1 + spread * (r - 2)
						v["status"] = "ok"
						v["connections"] = p[2]
						v["msgs_per_s"] = 40000 * j1 / f
						v["conns_per_s"] = 8000 * j1 / f
						v["lat_p99_us"] = 5000 * f / j1
						v["server_us_per_msg"] = 10 * f / j1
					}
					line = v[col[1]]
					for (k = 2; k <= n; k++)
						line = line "," v[col[k]]
					print line
				}
	}' "$@" >"$dir/raw.csv"
	cat >"$dir/env.txt" <<-EOF
		run: $(basename "$dir")
		kernel: 6.1.0-test
		cpu_model: ${CPU_MODEL:-AMD EPYC}
		cores: ${CORES:-2}
		git: abc1234
		profile: check
		repeats: 3
		duration_s: 0.5
		warmup_s: 0.2
		pinning: Server on CPU 0, client on CPU 1 (taskset)
	EOF
}

compare() {
	run --separate-stderr "$ROOT/bench/compare.sh" "$@"
}

@test "identical runs pass, with the whole table" {
	make_run "$BASE"
	make_run "$NOW"
	compare "$BASE" "$NOW"
	assert_success
	assert_output --partial "| model | point | metric | baseline | now | change | verdict |"
	assert_output --partial "| epoll-et | closed c=256 | CPU/msg | 10 µs | 10 µs | +0% | ok |"
	assert_output --partial "| blocking | churn c=16 | throughput |"
	assert_output --partial "No regression beyond noise."
	refute_output --partial "REGRESSION"
	[[ -z "$stderr" ]]
}

@test "a server 2x slower per message fails, naming the model, the point and the metric" {
	make_run "$BASE"
	make_run "$NOW" epoll-et:closed:256:2
	compare "$BASE" "$NOW"
	assert_failure 1
	assert_output --partial "REGRESSION: epoll-et at closed c=256: throughput -50%"
	assert_output --partial "REGRESSION: epoll-et at closed c=256: CPU/msg +100%"
	assert_output --partial "| epoll-et | closed c=256 | CPU/msg | 10 µs | 20 µs | +100% | **REGRESSED** |"
	# p99 2x is within its noise (3x); the other models and points are not blamed.
	assert_output --partial "| epoll-et | closed c=256 | p99 latency | 5000 µs | 10k µs | +100% | ok |"
	run grep -c '^REGRESSION' <<<"$output"
	assert_output 2
}

@test "a drop within the documented noise passes" {
	make_run "$BASE"
	make_run "$NOW" poll:closed:16:1.3 thread:churn:16:1.25
	compare "$BASE" "$NOW"
	assert_success
	assert_output --partial "| poll | closed c=16 | CPU/msg | 10 µs | 13 µs | +30% | ok |"
}

@test "a large change whose repeats overlap the baseline's is noise" {
	SPREAD=0.4 make_run "$BASE"
	SPREAD=0.4 make_run "$NOW" pool:closed:16:1.6
	compare "$BASE" "$NOW"
	assert_success
	assert_output --partial "| pool | closed c=16 | CPU/msg | 10 µs | 16 µs | +60% | ok (within the repeats' spread) |"
}

@test "every model slower alike is the machine's drift, not a regression of each" {
	make_run "$BASE"
	make_run "$NOW" '*:closed:16:1.3' '*:closed:256:1.3' '*:churn:16:1.3'
	compare "$BASE" "$NOW"
	assert_success
	# Every model at the three points but blocking, which runs churn only.
	assert_output --partial "Drift (median over $((${#ALL_MODELS[@]} * 3 - 2)) model-points) of CPU/msg: 1.30x"
}

@test "every model 2x slower (shared code) fails against all models" {
	make_run "$BASE"
	make_run "$NOW" '*:closed:16:2' '*:closed:256:2' '*:churn:16:2'
	SUSPECTS="$BATS_TEST_TMPDIR/suspects" compare "$BASE" "$NOW"
	assert_failure 1
	assert_output --partial "REGRESSION: all models: CPU/msg 2.00x worse"
	run grep -x all "$BATS_TEST_TMPDIR/suspects"
	assert_success
}

@test "a missing model and a missing point are reported, not ignored" {
	make_run "$BASE"
	DROP="poll:closed:16 select:churn:16" make_run "$NOW"
	compare "$BASE" "$NOW"
	assert_failure 1
	assert_output --partial "MISSING: poll at closed c=16"
	assert_output --partial "MISSING: select at churn c=16"
	assert_output --partial "| poll | closed c=16 | — | ok | — | — | **MISSING** |"
}

@test "a model that could not run for the baseline and cannot now is not compared" {
	UNAVAILABLE="uring libevent" make_run "$BASE"
	UNAVAILABLE="uring libevent" make_run "$NOW"
	compare "$BASE" "$NOW"
	assert_success
	refute_output --partial "| uring |"
	refute_output --partial "| libevent |"
	assert_output --partial "No regression beyond noise."
}

@test "a model the baseline measured that cannot run now fails the gate once, saying why" {
	make_run "$BASE"
	UNAVAILABLE=uring make_run "$NOW"
	compare "$BASE" "$NOW"
	assert_failure 1
	assert_output --partial "| uring | closed c=16 | — | ok | not run | — | **UNAVAILABLE** |"
	assert_output --partial "| uring | churn c=16 | — | ok | not run | — | **UNAVAILABLE** |"
	run grep -E '^(UNAVAILABLE|MISSING|REGRESSION)' <<<"$output"
	assert_output "UNAVAILABLE: uring: measured in the baseline (3 points), cannot run here now: built without liburing (apt-get install liburing-dev; then make)"
}

@test "a model that runs now but could not for the baseline is no failure" {
	UNAVAILABLE=libevent make_run "$BASE"
	make_run "$NOW"
	compare "$BASE" "$NOW"
	assert_success
	assert_output --partial "| libevent | closed c=256 | — | not-run | ok | — | runs now (was not-run) |"
}

@test "a model that runs at some points only is compared point by point, not called unavailable" {
	make_run "$BASE"
	make_run "$NOW"
	sed -i 's/^prefork,closed,256,\([123]\),ok,/prefork,closed,256,\1,not-run,a worker process per connection: more than PREFORK_MAX_WORKERS (128)/' "$NOW/raw.csv"
	compare "$BASE" "$NOW"
	assert_failure 1
	assert_output --partial "MISSING: prefork at closed c=256: not-run in this run (a worker process per connection"
	refute_output --partial "UNAVAILABLE"
}

@test "a point that failed in this run is reported" {
	make_run "$BASE"
	make_run "$NOW"
	sed -i 's/^thread,closed,16,2,ok,/thread,closed,16,2,failed,server did not start/; s/^thread,closed,16,[13],ok,/thread,closed,16,9,failed,x/' "$NOW/raw.csv"
	compare "$BASE" "$NOW"
	assert_failure 1
	assert_output --partial "| thread | closed c=16 | — | ok | failed | — | **FAILED** |"
}

@test "a baseline recorded on another machine warns, and still compares" {
	CPU_MODEL="Intel Xeon" CORES=8 make_run "$BASE"
	make_run "$NOW"
	compare "$BASE" "$NOW"
	assert_success
	[[ "$stderr" == *"baseline recorded on a different machine: cpu_model 'Intel Xeon' (baseline) vs 'AMD EPYC' (now)"* ]]
	[[ "$stderr" == *"cores '8' (baseline) vs '2' (now)"* ]]
	assert_output --partial "> **Warning:** baseline recorded on a different machine"
}

@test "the suspect points are written for the confirmation rerun" {
	make_run "$BASE"
	make_run "$NOW" thread:churn:16:2
	SUSPECTS="$BATS_TEST_TMPDIR/suspects" compare "$BASE" "$NOW"
	assert_failure 1
	run cat "$BATS_TEST_TMPDIR/suspects"
	assert_output "churn 16 thread"
}

@test "a suspect the confirmation rerun does not find again passes" {
	make_run "$BASE"
	make_run "$NOW" thread:churn:16:2
	make_run "$BATS_TEST_TMPDIR/confirm"
	compare "$BASE" "$NOW" "$BATS_TEST_TMPDIR/confirm"
	assert_success
	assert_output --partial "| thread | churn c=16 | CPU/msg | 10 µs | 20 µs | +100% | noise (not confirmed on rerun) |"
}

@test "a suspect the confirmation rerun finds again fails" {
	make_run "$BASE"
	make_run "$NOW" thread:churn:16:2
	make_run "$BATS_TEST_TMPDIR/confirm" thread:churn:16:1.9
	compare "$BASE" "$NOW" "$BATS_TEST_TMPDIR/confirm"
	assert_failure 1
	assert_output --partial "**REGRESSED** (confirmed)"
	assert_output --partial "REGRESSION: thread at churn c=16: CPU/msg +100%"
}

@test "a folder that is not a bench run is a usage error" {
	make_run "$BASE"
	mkdir -p "$BATS_TEST_TMPDIR/empty"
	compare "$BASE" "$BATS_TEST_TMPDIR/empty"
	assert_failure 2
	[[ "$stderr" == *"no raw.csv or agg.csv"* ]]
}

# ---- one-repeat profiles are refused ------------------------------------------

@test "make baseline refuses BASE: the paired gate is make bench-check's" {
	run --separate-stderr with_deadline 60 \
		env BASE=HEAD MODELS=none NO_BUILD=1 BASELINE="$BATS_TEST_TMPDIR/nobase" \
		CHECK_RESULTS="$BATS_TEST_TMPDIR/check" "$ROOT/bench/check.sh" baseline
	assert_failure 2
	[[ $stderr == *"BASE=HEAD is for make bench-check"* ]] || fail "$stderr"
	[[ ! -e "$BATS_TEST_TMPDIR/nobase" ]] || fail "a baseline was recorded"
}

@test "the gate refuses one-repeat profiles (smoke, quick, REPEATS=1), saying why" {
	# MODELS=none: were a profile let through, its bench would stop at once.
	for setting in BENCH=quick:check BENCH=smoke:baseline REPEATS=1:check REPEATS=1:baseline BENCH=quick:paired; do
		var=${setting%%:*} mode=${setting#*:} base=()
		if [[ $mode == paired ]]; then
			mode=check base=(BASE=HEAD)
		fi
		run --separate-stderr with_deadline 60 env "$var" "${base[@]}" MODELS=none NO_BUILD=1 \
			BASELINE="$BATS_TEST_TMPDIR/nobase" CHECK_RESULTS="$BATS_TEST_TMPDIR/check" \
			"$ROOT/bench/check.sh" "$mode"
		[[ $status == 2 ]] || fail "$setting: exit $status, not 2"
		[[ $stderr == *"one repeat has no interval, so there is no noise to judge a change against"* ]] ||
			fail "$setting: $stderr"
	done
	# The default, three repeats, goes on (and stops at the missing baseline).
	run --separate-stderr env MODELS=none BASELINE="$BATS_TEST_TMPDIR/nobase" "$ROOT/bench/check.sh" check
	assert_failure 2
	[[ $stderr == *"no baseline in"* ]]
}

# ---- the paired gate (bench/paired.sh, bench/paired.awk) -----------------------

PAIRED_HEADER="model,workload,x,repeat,status,reason,msgs_per_s,conns_per_s,lat_p99_us,server_us_per_msg,server_cpu_s,client_cpu_us_per_msg"

# paired_rows MODEL WORKLOAD X PAIRS NOW_FACTOR NOISE [TPUT_FACTOR]:
# paired.csv rows of one model-point: PAIRS rounds, ABBA, base CPU 10 us
# per message and 40000 msg/s, now NOW_FACTOR times the CPU and throughput
# / TPUT_FACTOR (NOW_FACTOR); each run off by NOISE (a fraction) times a
# fixed pattern of +-1, so the answer is known: the ratios are
# NOW_FACTOR * (1 + NOISE * e) / (1 + NOISE * e'). MACHINE=1: the noise is
# the machine's, the load generator's CPU per message (5 us) moves with it;
# SPELL=F (with MACHINE=1): every run of the working tree's build fell in a
# slow spell of the machine that made server and client F times dearer.
paired_rows() {
	awk -v m="$1" -v w="$2" -v x="$3" -v n="$4" -v f="$5" -v noise="$6" -v tf="${7:-$5}" -v machine="${MACHINE:-0}" -v spell="${SPELL:-1}" 'BEGIN {
		split("1 -1 0.5 -0.5 0 1 -1 0.25 -0.25 0.75 -0.75 0", e, " ")
		for (r = 1; r <= n; r++) {
			for (k = 1; k <= 2; k++) {
				side = ((r % 2 == 1) == (k == 1)) ? "base" : "now"
				g = (side == "now") ? f : 1
				j = 1 + (r * 2 + (side == "now") * 5) % 12
				cpu = 10 * g * (1 + noise * e[j])
				tput = 40000 / ((side == "now" ? tf : 1) * (1 + noise * e[j]))
				# The machine (MACHINE=1): server and client slower alike.
				client = ""
				if (machine) {
					h = (side == "now") ? spell : 1
					cpu = 10 * g * h * (1 + noise * e[j])
					client = sprintf("%.4f", 5 * h * (1 + noise * e[j]))
				}
				printf "%s,%d,%d,%s,%s,%s,%d,ok,,%.1f,,5000,%.4f,1,%s\n", side, r, ++seq, m, w, x, r, tput, cpu, client
			}
		}
	}'
}

paired_verdict() {
	run --separate-stderr awk -f "$ROOT/bench/stats.awk" -f "$ROOT/bench/labels.awk" -f "$ROOT/bench/paired.awk" "$@"
}

@test "paired verdict: unchanged builds pass; a 15% rise in one model's CPU per message fails, naming it" {
	csv="$BATS_TEST_TMPDIR/paired.csv"
	{
		echo "side,round,seq,$PAIRED_HEADER"
		paired_rows epoll-et closed 16 8 1 0.02
		paired_rows thread closed 1 8 1.15 0.02
		paired_rows blocking closed 1 8 1 0.02
	} >"$csv"
	paired_verdict "$csv"
	assert_failure 1
	assert_output --partial "| model | point | metric | base | now | now/base | 95% interval | pairs | verdict |"
	assert_output --regexp '\| thread \| closed c=1 \| CPU/msg \| 10(\.[0-9])? µs \| 11\.[0-9] µs \| \+1[45]\.[0-9]% \| \+[0-9.]+% \.\. \+[0-9.]+% \| 8 \| \*\*REGRESSED\*\* \|'
	assert_output --partial "REGRESSION: thread at closed c=1: CPU/msg +1"
	# Its throughput fell 13%: within the throughput threshold (20%).
	assert_output --regexp '\| thread \| closed c=1 \| throughput \| .* \| 8 \| ok \|'
	assert_output --regexp '\| epoll-et \| closed c=16 \| CPU/msg \| .* \| 8 \| ok \|'
	run grep -c '^REGRESSION' <<<"$output"
	assert_output 1
}

@test "paired verdict: throughput 30% lower at the same CPU fails; a regression needs six pairs" {
	csv="$BATS_TEST_TMPDIR/paired.csv"
	{
		echo "side,round,seq,$PAIRED_HEADER"
		paired_rows poll closed 16 6 1 0.02 1.43
		paired_rows select closed 16 4 1.3 0.01
	} >"$csv"
	paired_verdict "$csv"
	assert_failure 1
	assert_output --partial "REGRESSION: poll at closed c=16: throughput -30."
	refute_output --partial "REGRESSION: poll at closed c=16: CPU/msg"
	# Four pairs, all +30%: not convicted yet, and given more rounds.
	assert_output --regexp '\| select \| closed c=16 \| CPU/msg \| .* \| 4 \| ok \(unresolved'
	refute_output --partial "REGRESSION: select"
	paired_verdict -v mode=pending "$csv"
	assert_output "select closed 16"
	# With six, it is.
	{
		echo "side,round,seq,$PAIRED_HEADER"
		paired_rows select closed 16 6 1.3 0.01
	} >"$csv"
	paired_verdict "$csv"
	assert_failure 1
	assert_output --partial "REGRESSION: select at closed c=16: CPU/msg +30"
}

@test "paired verdict: dividing by the client's CPU per message takes the machine's speed out" {
	csv="$BATS_TEST_TMPDIR/paired.csv"
	{
		echo "side,round,seq,$PAIRED_HEADER"
		MACHINE=1 paired_rows thread closed 1 6 1.15 0.3
		MACHINE=1 paired_rows poll closed 1 6 1 0.3
	} >"$csv"
	paired_verdict "$csv"
	assert_failure 1
	# +-30% of machine noise: CPU/msg alone cannot tell; divided, it is exact.
	assert_output --regexp '\| thread \| closed c=1 \| CPU/msg \| .* \| 6 \| ok \(unresolved'
	assert_output --partial "| thread | closed c=1 | CPU/msg ÷ client | 2 | 2.3 | +15.0% | +15.0% .. +15.0% | 6 | **REGRESSED** |"
	assert_output --partial "REGRESSION: thread at closed c=1: CPU/msg ÷ client +15.0%"
	assert_output --partial "| poll | closed c=1 | CPU/msg ÷ client | 2 | 2 | +0.0% | +0.0% .. +0.0% | 6 | ok |"
	run grep -c '^REGRESSION' <<<"$output"
	assert_output 1
	# Its verdict is the one that decides the rounds: both are settled.
	paired_verdict -v mode=pending "$csv"
	assert_output ""
}

@test "paired verdict: at one connection a slow spell of the machine does not convict; past one, CPU/msg does" {
	csv="$BATS_TEST_TMPDIR/paired.csv"
	{
		echo "side,round,seq,$PAIRED_HEADER"
		MACHINE=1 SPELL=1.26 paired_rows epoll-lt closed 1 6 1 0.02
	} >"$csv"
	paired_verdict "$csv"
	assert_success
	# Server and client 26% dearer alike: the machine, not the server.
	assert_output --regexp '\| epoll-lt \| closed c=1 \| CPU/msg \| .* \| \+26\.[0-9]% \| .* \| 6 \| above the threshold; at one connection ÷ client decides \|'
	assert_output --partial "| epoll-lt | closed c=1 | CPU/msg ÷ client | 2 | 2 | +0.0% | +0.0% .. +0.0% | 6 | ok |"
	paired_verdict -v mode=pending "$csv"
	assert_output ""
	# Where the server is the bottleneck the same figures convict: a slower
	# server also makes the client dearer there, and the division would
	# hide it.
	sed -i 's/,epoll-lt,closed,1,/,epoll-lt,closed,16,/' "$csv"
	paired_verdict "$csv"
	assert_failure 1
	assert_output --partial "REGRESSION: epoll-lt at closed c=16: CPU/msg +26."
}

@test "paired verdict: the interval decides, not the mean: +15% within wide noise is unresolved, not a regression" {
	csv="$BATS_TEST_TMPDIR/paired.csv"
	{
		echo "side,round,seq,$PAIRED_HEADER"
		paired_rows poll closed 1 4 1.15 0.3
		paired_rows select closed 1 4 1.04 0
	} >"$csv"
	paired_verdict "$csv"
	assert_success
	assert_output --regexp '\| poll \| closed c=1 \| CPU/msg \| .* \| 4 \| ok \(unresolved: interval wider than ±4%\) \|'
	# No noise at all: a 4% rise is measured exactly, and is below the threshold (7%).
	assert_output --partial "| select | closed c=1 | CPU/msg | 10 µs | 10.4 µs | +4.0% | +4.0% .. +4.0% | 4 | ok |"
	# Only the unsettled model-point gets more rounds.
	paired_verdict -v mode=pending "$csv"
	assert_success
	assert_output "poll closed 1"
	# And past the round cap too: its ratio (+15%) is above the threshold.
	paired_verdict -v mode=leaning "$csv"
	assert_success
	assert_output "poll closed 1"
}

@test "paired verdict: leaning to a regression is an unsettled model-point whose ratio is above the threshold; unsettled below it, or settled, is not" {
	csv="$BATS_TEST_TMPDIR/paired.csv"
	{
		echo "side,round,seq,$PAIRED_HEADER"
		paired_rows poll closed 1 4 1.12 0.3
		paired_rows epoll-lt closed 1 4 0.98 0.3
		paired_rows select closed 1 4 1.04 0
		paired_rows thread closed 16 8 1.3 0.01
	} >"$csv"
	paired_verdict -v mode=pending "$csv"
	assert_output "poll closed 1
epoll-lt closed 1"
	paired_verdict -v mode=leaning "$csv"
	assert_output "poll closed 1"
	# The same with a threshold above poll's ratio: none leans.
	paired_verdict -v mode=leaning -v thr_cpu=1.2 "$csv"
	assert_output ""
}

@test "paired verdict: a threshold of 1.2 lets a 15% rise pass; a model failing only now fails the gate" {
	csv="$BATS_TEST_TMPDIR/paired.csv"
	{
		echo "side,round,seq,$PAIRED_HEADER"
		paired_rows thread closed 1 8 1.15 0.02
	} >"$csv"
	paired_verdict -v thr_cpu=1.2 "$csv"
	assert_success
	paired_rows pool closed 16 4 1 0.02 | sed 's/^\(now,.*\),ok,,[^,]*,/\1,failed,server did not start,,/' >>"$csv"
	paired_verdict -v thr_cpu=1.2 "$csv"
	assert_failure 1
	assert_output --partial "FAILED: pool at closed c=16: no clean run of this build in 4 (server did not start)"
}

# fake_point: a stand-in for bench/point.sh at $BATS_TEST_TMPDIR/point.sh:
# no server; CPU 10 us per message, 40000 msg/s, off by FAKE_NOISE (0.02)
# times a pattern of the round and the side; FAKE_SLOW's models FAKE_FACTOR
# (1.15) times slower on the working tree's build (SERVERS_DIR =
# $ROOT/bin); FAKE_SILENT's models print nothing and exit 3 on the working
# tree's build; blocking is not run past one client. Each call is logged to
# FAKE_LOG.
fake_point() {
	cat >"$BATS_TEST_TMPDIR/point.sh" <<-EOF
		#!/usr/bin/env bash
		set -euo pipefail
		if [[ \$1 == --header ]]; then echo "$PAIRED_HEADER"; exit 0; fi
		m=\$1 w=\$2 x=\$3 r=\$4 side=base f=1
		[[ \$SERVERS_DIR != "$ROOT/bin" ]] || side=now
		echo "\$side \$m \$w \$x \$r \${BENCH_LOCK_HELD:-0} \${SERVER_WRAP:-}" >>"\$FAKE_LOG"
		[[ \$side == base || " \${FAKE_SILENT:-} " != *" \$m "* ]] || exit 3
		if [[ \$m == blocking && \$x != 1 ]]; then
			echo "\$m,\$w,\$x,\$r,not-run,serves one client at a time,,,,,"
			exit 0
		fi
		[[ \$side == base || " \${FAKE_SLOW:-} " != *" \$m "* ]] || f=\${FAKE_FACTOR:-1.15}
		awk -v m="\$m" -v w="\$w" -v x="\$x" -v r="\$r" -v f="\$f" -v noise="\${FAKE_NOISE:-0.02}" -v now=\$([[ \$side == now ]] && echo 1 || echo 0) 'BEGIN {
			e = noise * sin(r * 1.3 + now * 2.1 + length(m))
			printf "%s,%s,%s,%s,ok,,%.1f,,5000,%.4f,1\n", m, w, x, r, 40000 / (f * (1 + e)), 10 * f * (1 + e)
		}'
	EOF
	chmod +x "$BATS_TEST_TMPDIR/point.sh"
	export FAKE_LOG="$BATS_TEST_TMPDIR/point.log"
	: >"$FAKE_LOG"
}

# paired [VAR=VALUE...]: bench/paired.sh HEAD with the fake point.sh, the
# working tree's servers for both builds (BASE_BIN: nothing is built), no
# system call count, into $BATS_TEST_TMPDIR/check.
paired() {
	run --separate-stderr with_deadline 120 \
		env POINT_SH="$BATS_TEST_TMPDIR/point.sh" BASE_BIN="$BATS_TEST_TMPDIR/basebin" \
		NO_BUILD=1 PAIRED_SYSCALLS=0 BENCH_LOCK="$BATS_TEST_TMPDIR/lock" \
		CHECK_RESULTS="$BATS_TEST_TMPDIR/check" "$@" "$ROOT/bench/paired.sh" HEAD
}

# The base's "servers": stand-ins, so that every model counts as built.
fake_base_bin() {
	mkdir -p "$BATS_TEST_TMPDIR/basebin"
	for m in "${ALL_MODELS[@]}"; do
		printf '#!/bin/sh\nexit 1\n' >"$BATS_TEST_TMPDIR/basebin/echo-$m"
		chmod +x "$BATS_TEST_TMPDIR/basebin/echo-$m"
	done
}

@test "paired: a point.sh that prints no row is a failed row as wide as the header, and the gate fails naming the model" {
	fake_point
	fake_base_bin
	paired MODELS="thread epoll-et" PAIRED_POINTS="closed:1" PAIRED_MIN_ROUNDS=4 PAIRED_MIN_PAIRS=4 \
		PAIRED_MAX_ROUNDS=4 FAKE_SILENT=thread
	assert_failure 1
	assert_output --partial "FAILED: thread at closed c=1"
	csv=$(echo "$BATS_TEST_TMPDIR"/check/paired-*/paired.csv)
	grep -q ',thread,closed,1,[0-9]*,failed,bench/point.sh exit 3 without a row' "$csv" || fail "no failed row: $(cat "$csv")"
	# (The fake's own ok rows are narrower than its header: only the row
	# paired.sh writes itself is checked.)
	run awk -F, 'NR == 1 { n = NF } /,failed,/ { rows++; if (NF != n) print "line " NR ": " NF " fields, not " n }
		END { if (!rows) print "no failed row" }' "$csv"
	assert_output ""
}

@test "paired: rounds run base and working tree back to back in ABBA order, models shuffled from a recorded seed" {
	fake_point
	fake_base_bin
	paired MODELS="blocking thread epoll-et" PAIRED_POINTS="closed:1 closed:16" PAIRED_MIN_ROUNDS=4 PAIRED_MIN_PAIRS=4 \
		PAIRED_MAX_ROUNDS=4 PAIRED_SEED=12345
	assert_success
	[[ $stderr == *"seed 12345"* ]]
	assert_output --partial "PAIRED_SEED=12345 repeats the order"
	# Every call held the lock through the caller.
	run awk '$6 != 1' "$FAKE_LOG"
	assert_output ""
	# Pairs: the same model-point twice in a row, base first in odd rounds.
	run awk 'NR % 2 == 1 { first = $1; key = $2 " " $3 " " $4 " " $5; next }
		{ if ($2 " " $3 " " $4 " " $5 != key) { print "not a pair at line " NR; exit 1 }
		  want = ($5 % 2 == 1) ? "base" : "now"
		  if (first != want || $1 == first) { print "round " $5 ": " first " first"; exit 1 }
		  firsts[first]++ }
		END { print firsts["base"] + 0, firsts["now"] + 0 }' "$FAKE_LOG"
	assert_success
	assert_output "12 12"
	# The same seed gives the same order; the rounds are not all in one order.
	cp "$FAKE_LOG" "$BATS_TEST_TMPDIR/first.log"
	: >"$FAKE_LOG"
	paired MODELS="blocking thread epoll-et" PAIRED_POINTS="closed:1 closed:16" PAIRED_MIN_ROUNDS=4 PAIRED_MIN_PAIRS=4 \
		PAIRED_MAX_ROUNDS=4 PAIRED_SEED=12345
	assert_success
	run diff "$BATS_TEST_TMPDIR/first.log" "$FAKE_LOG"
	assert_success
	run awk '{ order[$5] = order[$5] " " $2 $4 } END { for (r in order) print order[r] }' "$FAKE_LOG"
	[[ $(sort -u <<<"$output" | wc -l) -gt 1 ]] || fail "every round ran in the same order: $output"
	: >"$FAKE_LOG"
	paired MODELS="blocking thread epoll-et" PAIRED_POINTS="closed:1 closed:16" PAIRED_MIN_ROUNDS=4 PAIRED_MIN_PAIRS=4 \
		PAIRED_MAX_ROUNDS=4 PAIRED_SEED=999
	run diff -q "$BATS_TEST_TMPDIR/first.log" "$FAKE_LOG"
	assert_failure
}

@test "paired: unchanged code is green; one model 15% slower on the working tree is red, by name" {
	fake_point
	fake_base_bin
	paired MODELS="blocking thread epoll-et" PAIRED_POINTS="closed:1 closed:16"
	assert_success
	assert_output --partial "No regression beyond noise."
	refute_output --partial "REGRESSION"
	paired FAKE_SLOW=thread MODELS="blocking thread epoll-et" PAIRED_POINTS="closed:1 closed:16"
	assert_failure 1
	assert_output --regexp "REGRESSION: thread at closed c=1: CPU/msg \+1[45]\.[0-9]%"
	assert_output --regexp "REGRESSION: thread at closed c=16: CPU/msg \+1[45]\.[0-9]%"
	run grep '^REGRESSION' <<<"$output"
	refute_output --partial "epoll-et"
	refute_output --partial "blocking"
	# Rounds stop once a verdict is settled: +-2% noise settles in four
	# rounds; a regression needs six pairs.
	run awk '{ if ($5 > last[$2]) last[$2] = $5 } END { print last["blocking"], last["epoll-et"], last["thread"] }' "$FAKE_LOG"
	assert_output "4 4 6"
}

@test "paired: past PAIRED_MAX_ROUNDS only a model-point leaning to a regression runs on (its interval straddles +7% from above), up to PAIRED_LEANING_ROUNDS" {
	fake_point
	fake_base_bin
	# +-15% noise: neither interval settles in 6 rounds. thread, 12% slower,
	# leans to a regression and runs on; epoll-et, unchanged, does not and stops.
	paired FAKE_SLOW=thread FAKE_FACTOR=1.12 FAKE_NOISE=0.15 MODELS="thread epoll-et" PAIRED_POINTS="closed:1" \
		PAIRED_MIN_ROUNDS=4 PAIRED_MAX_ROUNDS=6 PAIRED_LEANING_ROUNDS=10 PAIRED_MIN_PAIRS=4
	assert_success
	[[ $stderr == *"round 8/10: 1 leaning to a regression"* ]] || fail "no round past the cap: $stderr"
	run awk '{ if ($5 > last[$2]) last[$2] = $5 } END { print last["epoll-et"], last["thread"] }' "$FAKE_LOG"
	assert_output "6 10"
	# Without the extension (PAIRED_LEANING_ROUNDS at the round cap): both stop at 6.
	: >"$FAKE_LOG"
	paired FAKE_SLOW=thread FAKE_FACTOR=1.12 FAKE_NOISE=0.15 MODELS="thread epoll-et" PAIRED_POINTS="closed:1" \
		PAIRED_MIN_ROUNDS=4 PAIRED_MAX_ROUNDS=6 PAIRED_LEANING_ROUNDS=6 PAIRED_MIN_PAIRS=4
	assert_success
	run awk '{ if ($5 > last[$2]) last[$2] = $5 } END { print last["epoll-et"], last["thread"] }' "$FAKE_LOG"
	assert_output "6 6"
	paired PAIRED_MAX_ROUNDS=6 PAIRED_LEANING_ROUNDS=5
	assert_failure 2
	[[ $stderr == *"PAIRED_LEANING_ROUNDS=5: an even number (ABBA), not below PAIRED_MAX_ROUNDS"* ]]
}

@test "paired: a revision that does not exist is exit 2, naming it" {
	fake_point
	run --separate-stderr env POINT_SH="$BATS_TEST_TMPDIR/point.sh" NO_BUILD=1 \
		BUILD_BASE="$BATS_TEST_TMPDIR/bb" "$ROOT/bench/paired.sh" no-such-revision-here
	assert_failure 2
	[[ $stderr == *"BASE=no-such-revision-here: no such revision"* ]]
	[[ ! -e "$BATS_TEST_TMPDIR/bb" ]]
}

@test "paired: the base revision is built in its own folder, and the folder is removed, on failure too" {
	fake_point
	bb="$BATS_TEST_TMPDIR/bb"
	run --separate-stderr with_deadline 300 \
		env POINT_SH="$BATS_TEST_TMPDIR/point.sh" NO_BUILD=1 PAIRED_SYSCALLS=0 \
		BUILD_BASE="$bb" BENCH_LOCK="$BATS_TEST_TMPDIR/lock" CHECK_RESULTS="$BATS_TEST_TMPDIR/check" \
		MODELS=epoll-et PAIRED_POINTS=closed:16 PAIRED_MIN_ROUNDS=2 PAIRED_MAX_ROUNDS=2 PAIRED_MIN_PAIRS=2 \
		"$ROOT/bench/paired.sh" HEAD
	assert_success
	[[ $stderr == *"building HEAD ("*") in $bb/"* ]]
	run awk '$1 == "base" { print $0; exit }' "$FAKE_LOG"
	[[ -n $output ]] || fail "no base run"
	[[ ! -e "$bb" ]] || fail "$bb is left: $(find "$bb" | head)"
	# A point.sh that fails: exit 2, and nothing left behind either.
	printf '#!/bin/sh\nexit 3\n' >"$BATS_TEST_TMPDIR/point.sh"
	run --separate-stderr with_deadline 300 \
		env POINT_SH="$BATS_TEST_TMPDIR/point.sh" NO_BUILD=1 BUILD_BASE="$bb" \
		BENCH_LOCK="$BATS_TEST_TMPDIR/lock" CHECK_RESULTS="$BATS_TEST_TMPDIR/check" MODELS=epoll-et \
		"$ROOT/bench/paired.sh" HEAD
	assert_failure 2
	[[ ! -e "$bb" ]] || fail "$bb is left after a failure"
}

# ---- system calls per message ----------------------------------------------------

# syscalls_csv FILE MODEL:CALL=PER_MSG...: a bench/syscalls.sh --gate CSV.
syscalls_csv() {
	local file=$1
	shift
	echo "model,messages,counter,metric,count,per_msg" >"$file"
	for spec in "$@"; do
		local m=${spec%%:*} rest=${spec#*:}
		echo "$m,10000,perf,${rest%%=*},0,${rest#*=}" >>"$file"
	done
}

@test "syscall comparison: one extra call per message is caught exactly; a few hundredths are not" {
	syscalls_csv "$BATS_TEST_TMPDIR/base.csv" thread:read=1.0012 thread:write=1.0012 thread:total=2.013 \
		thread:other=0.0106 thread:ctx_switches=1.002 epoll-et:read=2.001 epoll-et:write=1.001 \
		epoll-et:epoll_wait=1.001 epoll-et:total=4.02 epoll-et:other=0.017 epoll-et:ctx_switches=0.98
	syscalls_csv "$BATS_TEST_TMPDIR/same.csv" thread:read=1.0009 thread:write=1.0009 thread:total=2.04 \
		thread:other=0.0382 thread:ctx_switches=1.04 epoll-et:read=2.001 epoll-et:write=1.001 \
		epoll-et:epoll_wait=1.001 epoll-et:total=4.02 epoll-et:other=0.017 epoll-et:ctx_switches=0.91
	syscalls_csv "$BATS_TEST_TMPDIR/more.csv" thread:read=1.0012 thread:write=1.0012 thread:getppid=1.0012 \
		thread:total=3.014 thread:other=0.0106 thread:ctx_switches=1.002 epoll-et:read=2.001 epoll-et:write=1.001 \
		epoll-et:epoll_wait=1.001 epoll-et:total=4.02 epoll-et:other=0.017 epoll-et:ctx_switches=1.99
	run --separate-stderr awk -f "$ROOT/bench/compare-syscalls.awk" "$BATS_TEST_TMPDIR/base.csv" "$BATS_TEST_TMPDIR/same.csv"
	assert_success
	refute_output --partial "REGRESSION"
	run --separate-stderr awk -f "$ROOT/bench/compare-syscalls.awk" "$BATS_TEST_TMPDIR/base.csv" "$BATS_TEST_TMPDIR/more.csv"
	assert_failure 1
	assert_output --partial "| thread | getppid | 0.00 | 1.00 | +1.00 | **REGRESSED** |"
	assert_output --partial "REGRESSION: thread: system call getppid +1.00 per message (0.00 -> 1.00 at 1 connection, one message at a time; threshold +0.50)"
	assert_output --partial "REGRESSION: epoll-et: context switches +1.01 per message"
	run grep -c '^REGRESSION' <<<"$output"
	assert_output 2
}

@test "syscall count: one extra getppid per write in one server is caught exactly on real runs; unchanged is green" {
	command -v perf >/dev/null 2>&1 || command -v strace >/dev/null 2>&1 || skip "neither perf nor strace"
	[[ -f "$ROOT/build/tests/slowdown.so" ]] || skip "build/tests/slowdown.so is not built (make)"
	run --separate-stderr with_deadline 120 \
		env BENCH_LOCK="$BATS_TEST_TMPDIR/lock" SYSCALLS_GATE_SECONDS=1 BIN="$SERVERS_DIR" \
		"$ROOT/bench/syscalls.sh" --gate "$BATS_TEST_TMPDIR/base.csv" thread epoll-et
	assert_success
	run --separate-stderr with_deadline 120 \
		env BENCH_LOCK="$BATS_TEST_TMPDIR/lock" SYSCALLS_GATE_SECONDS=1 BIN="$SERVERS_DIR" \
		"$ROOT/bench/syscalls.sh" --gate "$BATS_TEST_TMPDIR/again.csv" thread epoll-et
	assert_success
	run --separate-stderr with_deadline 120 \
		env BENCH_LOCK="$BATS_TEST_TMPDIR/lock" SYSCALLS_GATE_SECONDS=1 BIN="$SERVERS_DIR" \
		SERVER_WRAP="env LD_PRELOAD=$ROOT/build/tests/slowdown.so SLOWDOWN_PROG=echo-thread SLOWDOWN_SYSCALLS=1" \
		"$ROOT/bench/syscalls.sh" --gate "$BATS_TEST_TMPDIR/more.csv" thread epoll-et
	assert_success
	run --separate-stderr awk -f "$ROOT/bench/compare-syscalls.awk" "$BATS_TEST_TMPDIR/base.csv" "$BATS_TEST_TMPDIR/again.csv"
	echo "$output"
	assert_success
	run --separate-stderr awk -f "$ROOT/bench/compare-syscalls.awk" "$BATS_TEST_TMPDIR/base.csv" "$BATS_TEST_TMPDIR/more.csv"
	echo "$output"
	assert_failure 1
	assert_output --regexp '\| thread \| getppid \| 0\.00 \| 1\.00 \| \+1\.00 \| \*\*REGRESSED\*\* \|'
	assert_output --partial "REGRESSION: thread: system call getppid +1.00 per message"
	run grep -c '^REGRESSION' <<<"$output"
	assert_output 1
}
