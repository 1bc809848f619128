# Shared by every bats suite: paths, assertions, and starting and stopping a
# server under test. A server is started with -p 0; its port is read from its
# readiness line, never guessed, and it is stopped by its saved pid.
#
# Every process a test starts in the background (servers, probe clients) is
# recorded in $BATS_TEST_TMPDIR/pids, and stop_tracked_processes (called by
# the suites' teardown) ends whichever is still running, by that pid.
# Every wait has a deadline (WAIT_S and WAIT_MS below, unless a time bound is
# what a test proves); conditions are polled, never slept on; a deadline hit
# says on stderr what was waited for and for how long.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/bin"
# Where the echo-MODEL servers are: SERVERS_DIR=bin-asan runs the suites
# against another build of them (make asan and make tsan do).
SERVERS_DIR="${SERVERS_DIR:-$BIN}"
TOOLS="$ROOT/build/tests"
PROBE="$TOOLS/echo-probe"
# ALL_MODELS (the models in teaching order) and model_unavailable (why one
# cannot run here: built without its library, or no io_uring at run time)
# come from bench/models.sh, the one list the bench uses too.
# shellcheck disable=SC1091 # bench/models.sh: shellcheck checks it on its own
source "$ROOT/bench/models.sh"
# now_ms, alive, the process tree and its memory and descriptors, start_ready
# and wait_exit: bench/lib.sh, the helpers the bench uses too.
# shellcheck disable=SC1091 # bench/lib.sh: shellcheck checks it on its own
source "$ROOT/bench/lib.sh"
# The models that may be left out of a build or be unable to run here (a
# library at build time, io_uring at run time: bench/models.txt's library
# and kernel columns): for_each_model skips them, saying why. Any other
# model's missing binary is a failure (run make).
MAYBE_UNAVAILABLE_MODELS=()
for _model in "${ALL_MODELS[@]}"; do
	[[ $(model_fact "$_model" library) == - && $(model_fact "$_model" kernel) == - ]] ||
		MAYBE_UNAVAILABLE_MODELS+=("$_model")
done
unset _model
# SERVER_MODELS="epoll-lt epoll-et" bats tests/servers.bats runs a subset.
read -r -a MODELS <<<"${SERVER_MODELS:-${ALL_MODELS[*]}}"
# The transports for_each_model runs each model's check over: TCP on
# loopback and a Unix-domain socket (-u). SERVER_TRANSPORTS=tcp narrows it; a
# test of something only TCP has (ports, addresses, SO_REUSEPORT) calls
# tcp_only. TRANSPORT is the one start_server uses: tcp outside
# for_each_model.
read -r -a TRANSPORTS <<<"${SERVER_TRANSPORTS:-tcp unix}"
TRANSPORT=tcp

bats_load_library bats-support
bats_load_library bats-assert

# ---- deadlines -----------------------------------------------------------------

# The suites run on small shared machines, maybe with a CPU hog on every core
# (load averages of 4 to 70 on 2 cores seen), where a runnable process can
# wait seconds for a CPU. A wait for what a correct program does at once (a
# process to start or exit, a descriptor to close, a line to be printed, an
# echo) gets WAIT_S: far beyond what it takes even there, and free when it
# comes early, as every wait polls. Where a time bound is what a test proves,
# the test writes it out, with how it was derived.
WAIT_S=30
WAIT_MS=$((WAIT_S * 1000))
# The -t of a probe that waits for the test to act (--hold until released, a
# crowd until released, --silent-ms until served): it must outlast the waits
# the test makes meanwhile, several of WAIT_MS at worst.
# shellcheck disable=SC2034 # for the suites
HOLD_MS=$((4 * WAIT_MS))

# with_deadline SECONDS COMMAND...: runs COMMAND under timeout(1) (SIGTERM at
# the deadline, SIGKILL 5 s later, so it cannot hang the suite) and returns
# its status. When the deadline ended it (status 124, or 137 after the
# SIGKILL), it says so on stderr, so a hang reads as one and not as a bare
# status.
with_deadline() {
	local seconds=$1 start_ms status=0
	shift
	start_ms=$(now_ms)
	timeout -k 5 "$seconds" "$@" || status=$?
	# The time tells a timeout from a command that exits 124 or 137 itself.
	if ((status == 124 || status == 137)) && (($(now_ms) - start_ms >= seconds * 1000)); then
		echo "with_deadline: $* still running after $seconds s, killed" >&2
	fi
	return "$status"
}

# ---- time and processes ----------------------------------------------------

# track_pid PID: remember a background process so teardown can end it. Its
# start time is kept with it, so a pid the kernel has since given to another
# process is never signalled.
track_pid() {
	echo "$1 $(process_start_time "$1")" >>"$BATS_TEST_TMPDIR/pids"
}

# tracked_start_time PID: the start time track_pid noted for PID.
tracked_start_time() {
	awk -v pid="$1" '$1 == pid { t = $2 } END { print t }' "$BATS_TEST_TMPDIR/pids"
}

# process_start_time PID: when PID started, in clock ticks since boot.
process_start_time() {
	local stat fields
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	read -r -a fields <<<"${stat##*) }"
	# starttime is field 22 of stat; after "pid (comm) " it is index 19.
	echo "${fields[19]}"
}

# process_running PID: true while PID exists and is not a zombie
# (bench/lib.sh alive; the name the suites use).
process_running() {
	alive "$1"
}

# process_gone PID: the opposite, for wait_until.
process_gone() {
	! process_running "$1"
}

# describe_pid PID: "pid PID (its command name)", for a message.
describe_pid() {
	local comm="?"
	{ read -r comm <"/proc/$1/comm"; } 2>/dev/null || true
	echo "pid $1 ($comm)"
}

# wait_for_exit PID SECONDS [WHAT]: waits for PID with a deadline; past it
# kills PID with SIGKILL (bench/lib.sh wait_exit) and says so on stderr:
# "WHAT: still running after SECONDS s (waited for its exit), killed" (WHAT:
# describe_pid by default). Sets WAITED_STATUS (the exit code, or
# "timeout"). The exit code is known only for a child of this shell; for
# another process WAITED_STATUS is 127 (what wait says).
wait_for_exit() {
	local what=${3:-$(describe_pid "$1")}
	wait_exit "$1" "$2"
	WAITED_STATUS=$WAITED
	if [[ $WAITED_STATUS == timeout ]]; then
		echo "$what: still running after $2 s (waited for its exit), killed" >&2
	fi
}

# stop_tracked_processes: SIGTERM to every recorded pid still running, then
# SIGKILL to any left after WAIT_S. Only pids this test recorded are touched.
stop_tracked_processes() {
	local file="$BATS_TEST_TMPDIR/pids" pid start_time
	[[ -f "$file" ]] || return 0
	while read -r pid start_time; do
		[[ $(process_start_time "$pid") == "$start_time" ]] || continue
		process_running "$pid" && kill -TERM "$pid" 2>/dev/null
	done <"$file"
	while read -r pid start_time; do
		[[ $(process_start_time "$pid") == "$start_time" ]] || continue
		wait_for_exit "$pid" "$WAIT_S"
	done <"$file"
	rm -f "$file"
}

# children_count_is PID N: PID has exactly N child processes (for wait_until).
children_count_is() {
	local children
	children=$(children_of "$1")
	[[ $(grep -c . <<<"$children") == "$2" ]]
}

# zombie_children PID: the children of PID in state Z, one per line.
zombie_children() {
	local child stat
	for child in $(children_of "$1"); do
		stat=$(cat "/proc/$child/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		[[ ${stat:0:1} == Z ]] && echo "$child"
	done
	return 0
}

# fd_count PID: open descriptors of PID itself.
fd_count() {
	local fds=("/proc/$1/fd/"*)
	echo "${#fds[@]}"
}

# cpu_ticks PID: user+system clock ticks used by PID (all its threads).
cpu_ticks() {
	local stat fields
	stat=$(<"/proc/$1/stat")
	stat=${stat##*) }
	read -r -a fields <<<"$stat"
	# After "pid (comm) ", utime and stime are fields 12 and 13 (0-based 11, 12).
	echo $((fields[11] + fields[12]))
}

# listening_addresses PID: the local address of every listening TCP socket
# PID holds, as 127.0.0.1:PORT or [::1]:PORT, one per line. ss asks the
# kernel for listeners only; without ss, /proc/net/tcp* is read, which is
# slow when a load test has left many thousands of TIME_WAIT lines there.
listening_addresses() {
	local pid=$1 link inodes=" " addr
	if command -v ss >/dev/null; then
		ss -Hltnp | awk -v owner="pid=$pid," 'index($0, owner) { print $4 }'
		return
	fi
	for link in "/proc/$pid/fd/"*; do
		link=$(readlink "$link" 2>/dev/null) || continue
		[[ $link =~ ^socket:\[([0-9]+)\]$ ]] && inodes+="${BASH_REMATCH[1]} "
	done
	# Columns: sl local_address rem_address st ... inode (10th); 0A is LISTEN.
	awk -v inodes="$inodes" '$4 == "0A" && index(inodes, " " $10 " ") { print $2 }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null |
		while read -r addr; do
			decode_proc_address "$addr"
		done
}

# decode_proc_address HEXADDR:HEXPORT: /proc/net/tcp* print each 32-bit word
# of the address in host byte order; this assumes a little-endian host.
decode_proc_address() {
	local hex=${1%:*} port=$((16#${1#*:})) word groups=() i full
	if ((${#hex} == 8)); then
		printf '%d.%d.%d.%d:%d\n' "0x${hex:6:2}" "0x${hex:4:2}" "0x${hex:2:2}" "0x${hex:0:2}" "$port"
		return
	fi
	for i in 0 8 16 24; do
		word=${hex:i:8}
		groups+=("${word:6:2}${word:4:2}" "${word:2:2}${word:0:2}")
	done
	# Compress nothing but the common cases: ::1 and the wildcard.
	full=$(IFS=:; echo "${groups[*]}")
	case $full in
	0000:0000:0000:0000:0000:0000:0000:0001) echo "[::1]:$port" ;;
	0000:0000:0000:0000:0000:0000:0000:0000) echo "[::]:$port" ;;
	*) echo "[$full]:$port" ;;
	esac
}

# wait_until TIMEOUT_MS COMMAND...: polls COMMAND until it succeeds; past
# the deadline says what it waited for, and how long, and fails.
wait_until() {
	local timeout_ms=$1 deadline_ms=$(($(now_ms) + $1))
	shift
	until "$@"; do
		if (($(now_ms) >= deadline_ms)); then
			echo "wait_until: waited $timeout_ms ms for: $* (not true)" >&2
			return 1
		fi
		sleep 0.01
	done
}

# ---- servers -----------------------------------------------------------------

# start_server MODEL [server options...]
# Starts bin/echo-MODEL -p 0 (TRANSPORT=unix: -u with a socket file in the
# test's directory, or SOCK_AT) in the background and waits (WAIT_S at most) for its
# readiness line. Sets SERVER_PID, SERVER_PORT (empty over a Unix socket),
# SERVER_SOCK (its socket file, or empty), SERVER_AT (the probe's and the
# load generator's options that reach it: -p PORT or -u PATH), SERVER_LINE,
# SERVER_OUT and SERVER_ERR (its stdout and stderr files). Fails the test if
# the line does not come, saying why. With SERVER_FD_LIMIT set, the server runs under that descriptor
# limit (soft and hard, so it cannot raise it). With SERVER_PREFIX set (words,
# e.g. "setpriv --reuid=nobody ..."), that command execs the server, so
# SERVER_PID is still the server's pid.
start_server() {
	local model=$1 listen=(-p 0)
	shift
	SERVER_OUT=$(mktemp "$BATS_TEST_TMPDIR/server.$model.out.XXXX")
	SERVER_ERR=${SERVER_OUT/.out./.err.}
	SERVER_SOCK=
	if [[ $TRANSPORT == unix ]]; then
		SERVER_SOCK=${SOCK_AT:-${SERVER_OUT/.out./.sock.}}
		listen=(-u "$SERVER_SOCK")
	fi
	# bench/lib.sh start_ready: in the background with 3>&- (so bats does not
	# wait for the server to close its output), awaiting the readiness line.
	# The descriptor limit is set by a shell that then execs the server.
	# shellcheck disable=SC2016 # the inner shell's $1 and $@
	# shellcheck disable=SC2086 # SERVER_PREFIX is a list of words
	if ! start_ready "$WAIT_MS" "$SERVER_OUT" "$SERVER_ERR" \
		bash -c '[[ -z $1 ]] || ulimit -n "$1"; shift; exec "$@"' limit "${SERVER_FD_LIMIT:-}" \
		${SERVER_PREFIX:-} "$SERVERS_DIR/echo-$model" "${listen[@]}" "$@"; then
		SERVER_PID=$READY_PID
		track_pid "$SERVER_PID"
		echo "echo-$model: $READY_REASON; stderr:" >&2
		cat "$SERVER_ERR" >&2
		return 1
	fi
	SERVER_PID=$READY_PID
	track_pid "$SERVER_PID"
	# shellcheck disable=SC2034 # for the suites
	SERVER_LINE=$READY_LINE
	SERVER_PORT=$READY_PORT
	SERVER_AT=(-p "$SERVER_PORT")
	if [[ -n $SERVER_SOCK ]]; then
		SERVER_PORT=
		SERVER_AT=(-u "$SERVER_SOCK")
	fi
}

# stop_server: SIGTERM to the saved pid; waits WAIT_S at most (a stop takes
# milliseconds: a test that proves a bound waits itself). Sets SERVER_STATUS.
stop_server() {
	[[ -n "${SERVER_PID:-}" ]] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	wait_for_exit "$SERVER_PID" "$WAIT_S" "$(describe_pid "$SERVER_PID"), sent SIGTERM"
	# shellcheck disable=SC2034 # for the suites
	SERVER_STATUS=$WAITED_STATUS
	SERVER_PID=
}

# trace_count EVENT: how many -v trace lines of the server name EVENT.
trace_count() {
	grep -cE "^ *[0-9]+\.[0-9]{6} +[0-9]+ $1 +fd=" "$SERVER_ERR" || true
}

# ---- probe clients -----------------------------------------------------------

declare -gA PROBE_PIDS=()

# probe [echo-probe args...]: runs the probe in the foreground against the
# server, with the probe's own deadlines; sets status and output like run.
probe() {
	run "$PROBE" "${SERVER_AT[@]}" "$@"
}

# spawn_probe NAME [echo-probe args...]: starts a probe client in the
# background; its stdout and stderr go to $BATS_TEST_TMPDIR/NAME.out/.err.
spawn_probe() {
	local name=$1
	shift
	"$PROBE" "${SERVER_AT[@]}" "$@" >"$BATS_TEST_TMPDIR/$name.out" \
		2>"$BATS_TEST_TMPDIR/$name.err" 3>&- &
	PROBE_PIDS[$name]=$!
	track_pid "$!"
}

# probe_said NAME REGEX: true when a stdout line of probe NAME matches.
probe_said() {
	grep -qE "$2" "$BATS_TEST_TMPDIR/$1.out" 2>/dev/null
}

# show_probe NAME: its output, for a failure message.
show_probe() {
	echo "--- probe $1 stdout:" >&2
	cat "$BATS_TEST_TMPDIR/$1.out" >&2
	echo "--- probe $1 stderr:" >&2
	cat "$BATS_TEST_TMPDIR/$1.err" >&2
}

# wait_for_probe_line NAME REGEX TIMEOUT_MS: waits until probe NAME prints a
# line matching REGEX. Fails at once if the probe exits without it.
wait_for_probe_line() {
	local name=$1 regex=$2 deadline_ms=$(($(now_ms) + $3))
	until probe_said "$name" "$regex"; do
		if ! process_running "${PROBE_PIDS[$name]}"; then
			probe_said "$name" "$regex" && return 0
			echo "probe $name exited without printing /$regex/" >&2
			show_probe "$name"
			return 1
		fi
		if (($(now_ms) >= deadline_ms)); then
			echo "probe $name did not print /$regex/ within $3 ms" >&2
			show_probe "$name"
			return 1
		fi
		sleep 0.01
	done
}

# finish_probe NAME SECONDS: waits for probe NAME and requires exit 0.
finish_probe() {
	wait_for_exit "${PROBE_PIDS[$1]}" "$2" "probe $1"
	if [[ $WAITED_STATUS != 0 ]]; then
		# A timeout has been reported by wait_for_exit.
		[[ $WAITED_STATUS == timeout ]] ||
			echo "probe $1 finished with status $WAITED_STATUS, expected 0" >&2
		show_probe "$1"
		return 1
	fi
}

# release_probe NAME: ends the --hold of probe NAME (SIGUSR1). A probe that
# has exited is not signalled: the kernel may have given its pid to another
# process since (a make test starts more processes than pid_max), which
# SIGUSR1 would kill.
release_probe() {
	local pid=${PROBE_PIDS[$1]}
	if [[ $(process_start_time "$pid") != "$(tracked_start_time "$pid")" ]]; then
		echo "probe $1 (pid $pid) exited before its release" >&2
		show_probe "$1"
		return 1
	fi
	kill -USR1 "$pid"
}

# assert_probe_running NAME: the probe is still waiting (not yet served).
assert_probe_running() {
	if ! process_running "${PROBE_PIDS[$1]}"; then
		echo "probe $1 has already finished; expected it to be still waiting" >&2
		show_probe "$1"
		return 1
	fi
}

# ---- one check over every model ----------------------------------------------

# model_skip_reason MODEL: prints why MODEL cannot run here and succeeds when
# it is one that may be unavailable (MAYBE_UNAVAILABLE_MODELS) and
# model_unavailable (bench/models.sh) gives a reason; fails, printing
# nothing, when the model must be tested (a missing binary of another model
# is then a failure of the check, not a skip).
model_skip_reason() {
	local reason
	[[ " ${MAYBE_UNAVAILABLE_MODELS[*]} " == *" $1 "* ]] || return 1
	reason=$(model_unavailable "$SERVERS_DIR" "$1") || return 1
	echo "$reason"
}

# note_skip MODEL REASON: says, in the test's TAP output even when the test
# passes (fd 3), that MODEL was not run and why: never a silent pass.
note_skip() {
	{ echo "# $1 skipped: $2" >&3; } 2>/dev/null || true
	echo "# $1 skipped: $2" >&2
}

# require_model MODEL: for a test of one model. Skips the test when MODEL is
# not selected (SERVER_MODELS) or cannot run here (with the reason); fails
# when its binary is missing.
require_model() {
	local reason
	[[ " ${MODELS[*]} " == *" $1 "* ]] || skip "$1 is not in SERVER_MODELS"
	if reason=$(model_skip_reason "$1"); then
		skip "$1: $reason"
	fi
	[[ -x "$SERVERS_DIR/echo-$1" ]] || fail "$SERVERS_DIR/echo-$1 is missing"
}

# restrict_models MODEL...: narrows MODELS, for this test, to those of the
# given models that are selected; skips the test when none is.
restrict_models() {
	local model selected=("${MODELS[@]}")
	MODELS=()
	for model in "$@"; do
		[[ " ${selected[*]} " == *" $model "* ]] && MODELS+=("$model")
	done
	((${#MODELS[@]} > 0)) || skip "none of $* is in SERVER_MODELS"
}

# tcp_only: for a test of what only TCP has (a port, an address,
# SO_REUSEPORT): for_each_model runs it over TCP alone.
tcp_only() {
	TRANSPORTS=(tcp)
}

# unix_only: for a test of what only a Unix-domain socket has (its file).
unix_only() {
	TRANSPORTS=(unix)
}

# for_each_model CHECK [args...]: runs "CHECK args... MODEL" for every model
# over every transport of TRANSPORTS (TRANSPORT set for start_server), each
# in a subshell with errexit so the first failing command ends that model's
# check only. Every model runs; the test fails naming each model (and
# transport) that failed. Processes a check left running are stopped before
# the next.
# A suite that defines after_each_model gets it called, in the same subshell,
# after each check that passed ("after_each_model MODEL"): checks common to
# every test go there.
# A model that cannot run here (model_skip_reason: uring or libevent built
# without their library, io_uring unavailable) is skipped, its reason in the
# test's output; when every selected model is, the test itself is skipped
# with their reasons.
for_each_model() {
	local model status reason failed=() skipped=() ran=0
	for model in "${MODELS[@]}"; do
		if reason=$(model_skip_reason "$model"); then
			note_skip "$model" "$reason"
			skipped+=("$model: $reason")
			continue
		fi
		if [[ ! -x "$SERVERS_DIR/echo-$model" ]]; then
			echo "# $model: $SERVERS_DIR/echo-$model is missing" >&2
			failed+=("$model")
			continue
		fi
		ran=$((ran + 1))
		for TRANSPORT in "${TRANSPORTS[@]}"; do
			echo "# --- $model ($TRANSPORT)" >&2
			set +e
			(
				set -e
				"$@" "$model"
				if declare -F after_each_model >/dev/null; then
					after_each_model "$model"
				fi
			)
			status=$?
			set -e
			stop_tracked_processes
			if ((status != 0)); then
				echo "# ^^^ $model ($TRANSPORT): FAILED" >&2
				failed+=("$model ($TRANSPORT)")
			fi
		done
		TRANSPORT=tcp
	done
	if ((${#failed[@]} > 0)); then
		echo "# failed for: ${failed[*]}" >&2
		return 1
	fi
	if ((ran == 0 && ${#skipped[@]} > 0)); then
		reason="no selected model can run here: $(printf '%s; ' "${skipped[@]}")"
		echo "# skipping the test: ${reason%; }" >&2
		skip "${reason%; }"
	fi
}

# ---- sanitizer builds ------------------------------------------------------------
# make asan and make tsan run the suites against bin-asan/bin-tsan with
# ASAN_OPTIONS/UBSAN_OPTIONS/TSAN_OPTIONS whose log_path puts each report in
# a file of SANITIZER_LOG_DIR (named after the sanitizer and the pid). Run by
# hand without a log_path, a report goes to the server's stderr instead.
# Either way sanitizer_reports finds it.

# ASan's one-line notice in every process that switches coroutines.
SANITIZER_NOTICE="WARNING: ASan doesn't fully support makecontext/swapcontext"

# The marks every sanitizer report carries.
SANITIZER_REPORT_RE='ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer)|WARNING: ThreadSanitizer|runtime error:|SUMMARY: [A-Za-z]+Sanitizer'

# sanitizer_mark: remembers now; sanitizer_reports looks only at what is newer.
sanitizer_mark() {
	touch "$BATS_TEST_TMPDIR/sanitizer.mark"
}

# sanitizer_reports: prints every sanitizer report written since
# sanitizer_mark (a log file in SANITIZER_LOG_DIR, or report lines in a
# server's or probe's stderr in this test's directory). Succeeds, printing
# nothing, when there is none.
sanitizer_reports() {
	local mark="$BATS_TEST_TMPDIR/sanitizer.mark" file found=1
	[[ -f $mark ]] || sanitizer_mark
	if [[ -n ${SANITIZER_LOG_DIR:-} && -d $SANITIZER_LOG_DIR ]]; then
		while IFS= read -r file; do
			# ASan's notice that it does not fully support swapcontext
			# (echo-coroutine prints it once) is not a report.
			grep -vF "$SANITIZER_NOTICE" "$file" | grep -q . || continue
			echo "--- sanitizer report $file:"
			cat "$file"
			found=0
		done < <(find "$SANITIZER_LOG_DIR" -type f -newer "$mark" 2>/dev/null)
	fi
	while IFS= read -r file; do
		echo "--- sanitizer report in $file:"
		grep -E -A 30 "$SANITIZER_REPORT_RE" "$file"
		found=0
	done < <(find "$BATS_TEST_TMPDIR" -maxdepth 1 -name '*.err*' -newer "$mark" \
		-exec grep -lE "$SANITIZER_REPORT_RE" {} + 2>/dev/null)
	((found == 1))
}

# ---- memory ------------------------------------------------------------------------

# Sanitizer builds use more memory: redzones and shadow on every allocation
# (a bound is multiplied by RSS_SCALE), plus up to 16 MiB of freed blocks in
# ASan's quarantine (capped so by make asan: a server that allocates and
# frees a buffer per read, as libevent does, fills it) and per-thread caches
# that survive a thread (RSS_EXTRA_KIB is added).
if [[ -n ${SANITIZER:-} ]]; then
	RSS_SCALE=${RSS_SCALE:-4}
	RSS_EXTRA_KIB=${RSS_EXTRA_KIB:-32768}
fi
RSS_SCALE=${RSS_SCALE:-1}
RSS_EXTRA_KIB=${RSS_EXTRA_KIB:-0}

# rss_bound_kib KIB: a memory bound for this build (scaled under a sanitizer).
rss_bound_kib() {
	echo $(($1 * RSS_SCALE + RSS_EXTRA_KIB))
}

# rss_peak_while PID TIMEOUT_MS WATCHED_PID...: samples tree_rss_kib PID every
# 20 ms until every WATCHED_PID has exited. Sets RSS_PEAK_KIB to the highest
# sample. Past the deadline says which are still running and fails.
rss_peak_while() {
	local pid=$1 timeout_ms=$2 deadline_ms=$(($(now_ms) + $2)) watched kib running
	shift 2
	RSS_PEAK_KIB=$(tree_rss_kib "$pid")
	while :; do
		running=()
		for watched in "$@"; do
			process_running "$watched" && running+=("$watched")
		done
		((${#running[@]} > 0)) || return 0
		if (($(now_ms) >= deadline_ms)); then
			echo "rss_peak_while: waited $timeout_ms ms for pids $* to exit; still running: ${running[*]}" >&2
			return 1
		fi
		kib=$(tree_rss_kib "$pid")
		((kib <= RSS_PEAK_KIB)) || RSS_PEAK_KIB=$kib
		sleep 0.02
	done
}

# tasks_of_uid UID: how many tasks (threads included) run under real user
# id UID, which is what RLIMIT_NPROC counts.
tasks_of_uid() {
	# cat, not awk, opens the files: mawk stops at one that has just vanished.
	cat /proc/[0-9]*/status 2>/dev/null |
		awk -v uid="$1" '/^Uid:/ { real = $2 } /^Threads:/ { if (real == uid) n += $2 }
			END { print n + 0 }'
}

# crowd_counts NAME: parses probe NAME's "crowd served=S shed=D waiting=W"
# into CROWD_SERVED, CROWD_SHED and CROWD_WAITING, for the suites to check.
# shellcheck disable=SC2034 # read by the suites that load this file
crowd_counts() {
	local line
	line=$(grep '^crowd ' "$BATS_TEST_TMPDIR/$1.out")
	[[ $line =~ served=([0-9]+)\ shed=([0-9]+)\ waiting=([0-9]+) ]] || return 1
	CROWD_SERVED=${BASH_REMATCH[1]}
	CROWD_SHED=${BASH_REMATCH[2]}
	CROWD_WAITING=${BASH_REMATCH[3]}
	echo "# $1: $line"
}

# served_again_eventually: one ping to the current server succeeds (for
# wait_until, after descriptors or a cap free up: a ping shed meanwhile
# fails at once and is tried again). 10 s for each try, as a slow machine
# may need seconds for one; wait_until's deadline bounds them all.
served_again_eventually() {
	"$PROBE" "${SERVER_AT[@]}" ping -t 10000 >/dev/null 2>&1
}
