#!/usr/bin/env bats
# tests/stress.sh, the flake hunter, on a tiny suite whose outcome is known:
# the usage errors, and a run in which no test ran. (Counting a known suite's
# failures from inside bats is not tested yet: the inner bats reports no
# results there; tests/stress.sh itself does, run by hand.)

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
