#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # bats run sets status, output, stderr
# The regression gate (bench/compare.sh, bench/compare.awk) on synthetic
# runs: no load, no servers. Each run is a raw.csv in bench/run.sh's format
# (every model of bench/models.sh at closed 16 and 256 and churn 16, three
# repeats spread +-5%, as the check profile records) and an env.txt.

bats_require_minimum_version 1.5.0

load test_helper

setup() {
	CSV_HEADER=$(sed -n 's/^CSV_HEADER="\(.*\)"$/\1/p' "$ROOT/bench/run.sh")
	[[ -n "$CSV_HEADER" ]] || fail "no CSV_HEADER in bench/run.sh"
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
		lib["uring"] = "liburing"
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
	assert_output --partial "Drift (median over 34 model-points) of CPU/msg: 1.30x"
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
