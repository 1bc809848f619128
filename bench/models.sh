# The models, in teaching order, and why one cannot run on this machine.
# Sourced (bash) by the bench scripts and the test suites: the one list.
#
# The first eight always build. uring and libevent need a library at build
# time (the Makefile leaves them out without it), and uring needs io_uring at
# run time: a kernel older than 5.6, kernel.io_uring_disabled or a seccomp
# filter (containers often have one) stops it, and it then exits 1 with
# "io_uring is unavailable here: ..." before its readiness line.
# shellcheck shell=bash

# shellcheck disable=SC2034 # used by the scripts that source this file
ALL_MODELS=(blocking fork thread pool select poll epoll-lt epoll-et prefork reactors uring libevent)

# The models with one worker per core by default (-w), which an unpinned
# run lets use more than one core.
# shellcheck disable=SC2034
MULTICORE_MODELS=(prefork reactors)

# model_unavailable DIR MODEL: prints why DIR/echo-MODEL cannot run here and
# succeeds, or prints nothing and fails when it can run.
model_unavailable() {
	local dir=$1 model=$2 out pid line
	if [[ ! -x "$dir/echo-$model" ]]; then
		case $model in
		uring) echo "built without liburing (apt-get install liburing-dev, then make)" ;;
		libevent) echo "built without libevent (apt-get install libevent-dev, then make)" ;;
		*) echo "$dir/echo-$model is missing (run make)" ;;
		esac
		return 0
	fi
	[[ $model == uring ]] || return 1
	# Start it on a free port: its readiness line means io_uring works.
	out=$(mktemp)
	"$dir/echo-uring" -p 0 >"$out" 2>&1 &
	pid=$!
	for _ in $(seq 500); do
		line=$(head -n 1 "$out")
		[[ -n $line ]] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	line=$(head -n 1 "$out")
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$out"
	[[ $line == "listening on "* ]] && return 1
	line=${line:-echo-uring exited at start without a word}
	echo "${line#echo-uring: }"
	return 0
}
