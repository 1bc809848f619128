#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # bats run sets status, output, stderr
# The UDP echo (bin/echo-udp) against the server contract that applies to a
# connectionless server, and loadgen --udp against it and against a peer
# that drops, duplicates, reorders and corrupts datagrams by rule
# (tests/tools/udp-peer.c), so that each count has a known right answer.

bats_require_minimum_version 1.5.0

load test_helper
load loadgen_helper

UDP_PEER="$TOOLS/udp-peer"

setup() {
	[[ -x "$SERVERS_DIR/echo-udp" && -x $UDP_PEER ]] || fail "echo-udp or udp-peer is missing: run make first"
}

teardown() {
	stop_server
	stop_tracked_processes
}

# ---- echo-udp: the server contract ---------------------------------------------

@test "echo-udp prints one readiness line naming the model, echoes, and exits 0 on SIGTERM and on SIGINT" {
	local sig
	for sig in TERM INT; do
		start_server udp
		assert_regex "$SERVER_LINE" '^listening on 127\.0\.0\.1:[1-9][0-9]* \(udp\)$'
		run_loadgen --udp -p "$SERVER_PORT" -c 2 -d 200ms -W 0 --format json
		expect_status 0
		kill -"$sig" "$SERVER_PID"
		wait_for_exit "$SERVER_PID" "$WAIT_S"
		assert_equal "$WAITED_STATUS" 0
		SERVER_PID=
	done
}

@test "echo-udp: usage errors exit 2 (-u: it serves UDP only; --batch out of 1..1024), a port in use exits 1 naming it, -h and -V exit 0, -m accepted" {
	local args
	for args in "-u /tmp/x.sock" "--batch 0" "--batch 1025" "--batch" "-p 65536" "-m 0" "-w 2" "--reuseport"; do
		# shellcheck disable=SC2086 # each case is a list of words
		run --separate-stderr "$SERVERS_DIR/echo-udp" $args
		assert_equal "$status" 2
		assert_equal "$output" ""
		assert_regex "$stderr" '[Uu]sage'
	done
	start_server udp
	run --separate-stderr with_deadline "$WAIT_S" "$SERVERS_DIR/echo-udp" -p "$SERVER_PORT"
	assert_equal "$status" 1
	assert_regex "$stderr" "127\.0\.0\.1.*$SERVER_PORT"
	run "$SERVERS_DIR/echo-udp" -h
	assert_success
	assert_output --partial "--batch N"
	assert_output --partial "UDP port"
	run "$SERVERS_DIR/echo-udp" -V
	assert_success
	assert_output --regexp 'udp model'
	# -m, which every server takes, is accepted: there is nothing to cap.
	stop_server
	start_server udp -m 3
	run_loadgen --udp -p "$SERVER_PORT" -c 4 -d 200ms -W 0 --format json
	expect_status 0
}

# The trace format of every server: seconds, thread, event, fd=N, key=value.
UDP_TRACE_LINE='^ *[0-9]+\.[0-9]{6} +[0-9]+ (listen|read|write|wait|error|stop) +fd=-?[0-9]+( +[a-z_]+=[^ ]*)*$'

@test "echo-udp -v traces each datagram read and written with its peer, and with --batch each recvmmsg and how many it took" {
	local batch
	for batch in 1 8; do
		start_server udp -v --batch "$batch"
		run_loadgen --udp -p "$SERVER_PORT" -c 4 -d 200ms -W 0 --format json
		expect_status 0
		stop_server
		assert_equal "$SERVER_STATUS" 0
		run grep -vE "$UDP_TRACE_LINE" "$SERVER_ERR"
		assert_output ""
		grep -qE ' read +fd=[0-9]+ +bytes=64 peer=127\.0\.0\.1:[0-9]+$' "$SERVER_ERR" || fail "no read line with its peer"
		grep -qE ' write +fd=[0-9]+ +bytes=64 peer=127\.0\.0\.1:[0-9]+$' "$SERVER_ERR" || fail "no write line"
		grep -qE ' stop +fd=' "$SERVER_ERR" || fail "no stop line"
		if ((batch > 1)); then
			grep -qE ' wait +fd=-1 +call=recvmmsg ready=[1-8] batch=8$' "$SERVER_ERR" || fail "no recvmmsg line"
		else
			! grep -q 'recvmmsg' "$SERVER_ERR" || fail "recvmmsg without --batch"
		fi
	done
}

# ---- loadgen --udp against echo-udp ----------------------------------------------

# Four connections with one datagram each in flight: at most four wait in
# the server's receive buffer (208 KiB by default: about 270 small
# datagrams), so on loopback a correct echo loses, duplicates and reorders
# none. The open loop at 200/s fills that buffer only if the server does
# not run for 1.3 s. A datagram is called lost after 10 s, not the default
# 1 s: a loaded machine may hold a correct server off the CPU for a second.
# Every count must be zero.
@test "loadgen --udp against echo-udp, closed and open loop, with and without --batch: every datagram back, intact, once, in order" {
	local batch mode
	for batch in 1 16; do
		start_server udp --batch "$batch"
		for mode in "-P 1" "-r 200"; do
			# shellcheck disable=SC2086 # the mode is words
			run_loadgen --udp -p "$SERVER_PORT" -c 4 $mode -s 100 -d 500ms -W 100ms \
				--loss-timeout 10s --format json
			expect_status 0
			json_true '.transport == "udp" and .messages > 0 and .complete'
			json_true '.errors == {"connect":0,"mismatch":0,"reset":0,"timeout":0}'
			json_true '.datagrams == {"lost":0,"duplicated":0,"reordered":0,"late":0}'
		done
		stop_server
	done
	# The human summary has the same counts.
	start_server udp
	run_loadgen --udp -p "$SERVER_PORT" -c 2 -d 200ms -W 0 --loss-timeout 10s
	expect_status 0
	[[ $LG_OUT == *"datagrams    lost 0, duplicated 0, reordered 0, late 0"* ]] ||
		fail "no datagram counts in the summary: $LG_OUT"
	stop_server
	# A large datagram, one at a time: 60000 bytes each way.
	start_server udp
	run_loadgen --udp -p "$SERVER_PORT" -c 1 -s 60000 -d 300ms -W 0 --loss-timeout 10s --format json
	expect_status 0
	json_true '.messages > 0 and .datagrams.lost == 0 and .errors.mismatch == 0'
}

@test "loadgen --udp counts what a misbehaving peer did, each apart: dropped as lost (and timeouts), duplicated, reordered, corrupted as mismatches" {
	local line received dropped duplicated reordered corrupted
	start_tool udp-peer "$BATS_TEST_TMPDIR/peer.out" "$BATS_TEST_TMPDIR/peer.err" \
		"$UDP_PEER" -p 0 --drop-every 7 --dup-every 5 --swap-every 11 --corrupt-every 13
	local peer_pid=$READY_PID
	# One connection, four in flight: a held datagram is always followed by
	# a later one of the same connection while the run goes on.
	run_loadgen --udp -p "$READY_PORT" -c 1 -P 4 -d 1s -W 0 --loss-timeout 100ms --format json
	expect_status 1
	kill -TERM "$peer_pid"
	wait_for_exit "$peer_pid" "$WAIT_S"
	line=$(grep '^udp-peer:' "$BATS_TEST_TMPDIR/peer.err")
	echo "# $line"
	[[ $line =~ received\ ([0-9]+)\ dropped\ ([0-9]+)\ duplicated\ ([0-9]+)\ reordered\ ([0-9]+)\ released\ [0-9]+\ corrupted\ ([0-9]+) ]] ||
		fail "no counts from the peer: $line"
	received=${BASH_REMATCH[1]} dropped=${BASH_REMATCH[2]} duplicated=${BASH_REMATCH[3]}
	reordered=${BASH_REMATCH[4]} corrupted=${BASH_REMATCH[5]}
	((dropped > 0 && duplicated > 0 && reordered > 0 && corrupted > 0)) || fail "the run was too short to test every rule"
	json_true ".datagrams.lost == $dropped and .errors.timeout == $dropped"
	json_true ".datagrams.duplicated == $duplicated"
	json_true ".datagrams.reordered == $reordered"
	json_true ".errors.mismatch == $corrupted"
	json_true '.datagrams.late == 0 and .errors.connect == 0'
	# Every datagram the peer received is accounted for: echoed intact (in
	# the measured time: no warm-up here), corrupted, or dropped.
	json_true ".messages + $corrupted + $dropped == $received"
}

@test "loadgen --udp with nobody on the port: connect errors (ICMP port unreachable), every datagram lost, exit 1, no hang" {
	local port
	# A port just freed: the one an echo-udp had, stopped.
	start_server udp
	port=$SERVER_PORT
	stop_server
	run_loadgen --udp -p "$port" -c 2 -d 300ms -W 0 --loss-timeout 50ms --format json
	expect_status 1
	json_true '.messages == 0 and .errors.connect > 0 and .datagrams.lost > 0'
	json_true '.datagrams.lost == .errors.timeout'
}

@test "loadgen --udp refuses what UDP cannot do: --churn, --idle, -u, a datagram under 16 bytes or over 65507; --loss-timeout needs --udp" {
	local args
	for args in "--churn" "--idle 10" "-u /tmp/x.sock" "-s 15" "-s 65508"; do
		# shellcheck disable=SC2086 # each case is a list of words
		run_loadgen --udp -p 9 $args -d 100ms
		expect_status 2
	done
	run_loadgen --loss-timeout 1s -p 9 -d 100ms
	expect_status 2
	[[ $LG_ERR == *"--udp"* ]] || fail "the message does not say what is missing: $LG_ERR"
}
