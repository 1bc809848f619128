# Helpers the bench scripts share (sourced): the clock, process liveness and
# the machine-wide bench lock.
# shellcheck shell=bash

# now_ms: milliseconds since the epoch (bash 5's EPOCHREALTIME, no fork).
now_ms() {
	local us=${EPOCHREALTIME//[!0-9]/}
	echo $((us / 1000))
}

# alive PID: true while PID runs and is not a zombie (kill -0 cannot tell).
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

# take_bench_lock NAME LOCK WAIT_S: one benchmark at a time on a machine (two
# would measure each other). Holds LOCK on fd 9 until the script exits,
# waiting WAIT_S seconds at most; says on stderr that it waits.
take_bench_lock() {
	local name=$1 lock=$2 wait_s=$3
	exec 9>>"$lock"
	flock -n 9 && return 0
	echo "$name: waiting for $lock (another benchmark runs), at most ${wait_s}s" >&2
	flock -w "$wait_s" 9 || {
		echo "$name: $lock still held after ${wait_s}s" >&2
		exit 1
	}
}
