#!/usr/bin/env bats
# tests/stress.sh, the flake hunter, on a tiny suite whose outcome is known:
# the usage errors, each test's failures counted over the runs, a filter,
# and a run in which no test ran.

load test_helper

setup() {
	# printf, not a here-document: bats would rewrite "@test" lines in this file.
	printf '%s\n' '@test "always passes" { true; }' '@test "always fails" { false; }' \
		'@test "always skipped" { skip "on purpose"; }' >"$BATS_TEST_TMPDIR/known.bats"
}

@test "stress.sh: a bad count or --clone with a suite is a usage error (exit 2)" {
	run "$ROOT/tests/stress.sh" -n x
	assert_failure 2
	run "$ROOT/tests/stress.sh" --clone "$BATS_TEST_TMPDIR/known.bats"
	assert_failure 2
	assert_output --partial "no SUITE or -f with it"
}

@test "stress.sh: a run in which no test ran is a failed run" {
	: >"$BATS_TEST_TMPDIR/empty.bats" 3>&-
	run with_deadline 60 env -i PATH="$PATH" HOME="$HOME" "$ROOT/tests/stress.sh" -n 1 -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/empty.bats" 3>&-
	assert_failure 1
	assert_line --regexp '^run 1: 0 passed, 0 failed, 0 skipped'
}

@test "stress.sh: each test's failures are counted over the runs, and a filter narrows the runs" {
	run with_deadline 120 "$ROOT/tests/stress.sh" -n 2 -o "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/known.bats" 3>&-
	assert_failure 1
	assert_line --regexp '^run 1: 1 passed, 1 failed, 1 skipped in [0-9]+ s, exit 1'
	assert_line --regexp '^run 2: 1 passed, 1 failed, 1 skipped in [0-9]+ s, exit 1'
	assert_line --regexp '^ +2/2 +always fails$'
	refute_line --regexp '^ +[0-9]+/2 +always (passes|skipped)$'
	[[ -s "$BATS_TEST_TMPDIR/out/run-1.tap" && -s "$BATS_TEST_TMPDIR/out/run-2.tap" ]] || fail "no TAP kept per run"
	run with_deadline 120 "$ROOT/tests/stress.sh" -n 2 -f 'passes' -o "$BATS_TEST_TMPDIR/out2" "$BATS_TEST_TMPDIR/known.bats" 3>&-
	assert_success
	assert_line --regexp '^run 2: 1 passed, 0 failed, 0 skipped'
}
