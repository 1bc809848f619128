# Helpers the bench scripts and the test suites share (sourced): the clock,
# process liveness, a process tree and its memory and descriptors, starting
# a server and waiting for its readiness line, stopping a process, and the
# machine-wide bench lock. Used by bench/run.sh, point.sh, soak.sh,
# spread.sh, demo.sh and syscalls.sh, and by tests/test_helper.bash.
# shellcheck shell=bash
# shellcheck disable=SC2034 # READY_*, WAITED: set for the callers

# now_ms, now_us: milliseconds and microseconds since the epoch (bash 5's
# EPOCHREALTIME, no fork).
now_ms() {
	local us=${EPOCHREALTIME//[!0-9]/}
	echo $((us / 1000))
}
now_us() {
	echo "${EPOCHREALTIME//[!0-9]/}"
}

# ms_of SECONDS: a decimal number of seconds in whole milliseconds (0.25 ->
# 250), without a fork: the bench's plan adds up one figure per model and
# point, and an awk for each took seconds.
ms_of() {
	local whole=${1%%.*} fraction=000
	[[ $1 != *.* ]] || fraction=${1#*.}000
	echo $((10#${whole:-0} * 1000 + 10#${fraction:0:3}))
}

# seconds_of MS: whole milliseconds as a decimal number of seconds, no
# trailing zeros (250 -> 0.25, 1000 -> 1).
seconds_of() {
	local fraction
	printf -v fraction '%03d' $(($1 % 1000))
	while [[ $fraction == *0 ]]; do
		fraction=${fraction%0}
	done
	echo "$(($1 / 1000))${fraction:+.$fraction}"
}

# alive PID: true while PID runs and is not a zombie (kill -0 cannot tell).
# read, not cat: no fork, for the polling loops.
alive() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

# children_of PID: the pids whose parent is PID, one per line (from each of
# its threads' /proc children list).
children_of() {
	local list pids
	for list in "/proc/$1/task/"*/children; do
		pids=()
		read -r -a pids 2>/dev/null <"$list" || true
		((${#pids[@]} == 0)) || printf '%s\n' "${pids[@]}"
	done
}

# tree_pids PID: PID and all its descendants, one per line (fork's
# children, prefork's workers), level by level: one cat per level, so ten
# thousand children cost one pass, not ten thousand.
tree_pids() {
	local level=("$1") next files pid
	while ((${#level[@]} > 0)); do
		printf '%s\n' "${level[@]}"
		files=()
		for pid in "${level[@]}"; do files+=("/proc/$pid/task/"*/children); done
		read -r -a next < <(cat "${files[@]}" 2>/dev/null || true; echo)
		level=("${next[@]}")
	done
}

# tree_rss_kib PID: resident memory in KiB summed over PID and its
# descendants (threads share their process's figure; pages fork's children
# share are counted once per child). cat, not awk, opens the files: mawk
# stops at one that has just vanished.
tree_rss_kib() {
	local files=() pid
	for pid in $(tree_pids "$1"); do files+=("/proc/$pid/status"); done
	{ cat "${files[@]}" 2>/dev/null || true; } | awk '/^VmRSS:/ { kib += $2 } END { print kib + 0 }'
}

# tree_fd_count PID: open descriptors of PID and of all its descendants (a
# prefork server's clients are in its workers' tables, a fork server's in
# its children's). With SANITIZER_LOG_DIR set (make asan, make tsan), a
# descriptor of a log file there is the sanitizer's, not the server's: ASan
# opens its log at its first message, which for a process that switches
# coroutines is a notice, not a report.
tree_fd_count() {
	local pid total=0 fds
	for pid in $(tree_pids "$1"); do
		fds=("/proc/$pid/fd/"*)
		# A process that has just exited leaves the pattern unexpanded.
		[[ -L ${fds[0]} ]] || continue
		total=$((total + ${#fds[@]}))
		[[ -n ${SANITIZER_LOG_DIR:-} ]] || continue
		# One find for the sanitizer's log files, not a readlink per
		# descriptor: at 10,000 descriptors 0.1 s against 30 s (2026-12-03).
		total=$((total - $(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 \
			-lname "$SANITIZER_LOG_DIR/*" 2>/dev/null | wc -l)))
	done
	echo "$total"
}

# wait_ready PID OUT TIMEOUT_MS: waits until PID has written a whole line to
# the file OUT (a server's readiness line: "listening on 127.0.0.1:40123
# (model)"). Sets READY_LINE and READY_PORT (the number after the last
# colon). Fails past the deadline or when PID ends first, with the reason in
# READY_REASON. OUT is a plain file, polled: a fifo removed before the
# server opened it would turn into a file nobody reads.
wait_ready() {
	local pid=$1 out=$2 deadline_ms=$(($(now_ms) + $3)) line=""
	READY_LINE="" READY_PORT="" READY_REASON=""
	# read fails on a line without its newline yet: a half-written line waits.
	until IFS= read -r line <"$out"; do
		if ! alive "$pid"; then
			READY_REASON="exited before its readiness line"
			return 1
		fi
		if (($(now_ms) >= deadline_ms)); then
			READY_REASON="no readiness line within $(($3 / 1000)).$(($3 % 1000 / 100)) s"
			return 1
		fi
		sleep 0.01
	done
	READY_LINE=$line
	READY_PORT=${line##*:}
	READY_PORT=${READY_PORT%% *}
}

# start_ready TIMEOUT_MS OUT ERR COMMAND...: starts COMMAND in the background
# (stdin /dev/null, stdout to OUT, stderr appended to ERR, descriptors 3 and
# 9 closed: bats waits for whoever holds 3, and 9 is the bench lock, which a
# server must not keep after us) and waits for its readiness line. Sets
# READY_PID (COMMAND's pid: a prefix such as taskset or setpriv execs the
# server, so it is the server's) and what wait_ready sets. On failure the
# process may still run: the caller stops it by READY_PID.
start_ready() {
	local timeout_ms=$1 out=$2 err=$3
	shift 3
	: >"$out"
	"$@" </dev/null >"$out" 2>>"$err" 3>&- 9>&- &
	READY_PID=$!
	wait_ready "$READY_PID" "$out" "$timeout_ms"
}

# listen_queue_empty PORT: no connection waits in the accept queue of any
# TCP listener on PORT (several with SO_REUSEPORT), in SERVER_NETNS when
# the server runs in a network namespace of its own (BENCH_NET=netns). ss asks the kernel for
# listeners only (Recv-Q is a listener's accept queue); without it,
# /proc/net/tcp is read, which is slow when many thousands of TIME_WAIT
# lines are there.
listen_queue_empty() {
	local port=$1 hex
	if [[ -n ${SERVER_NETNS:-} ]]; then
		! ip netns exec "$SERVER_NETNS" ss -Hltn "sport = :$port" 2>/dev/null |
			awk '$2 > 0 { found = 1 } END { exit !found }'
		return
	fi
	if command -v ss >/dev/null 2>&1; then
		! ss -Hltn "sport = :$port" 2>/dev/null | awk '$2 > 0 { found = 1 } END { exit !found }'
		return
	fi
	hex=$(printf ':%04X' "$port")
	# "sl local_address rem_address st tx_queue:rx_queue ...", in hex; 0A is LISTEN.
	! awk -v port="$hex" '$2 ~ port "$" && $4 == "0A" { split($5, q, ":"); if (q[2] != "00000000") found = 1 }
		END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# wait_exit PID SECONDS: waits for PID with a deadline, SIGKILL past it.
# Sets WAITED: its exit status (known for a child of this shell; 127 for
# another process), or "timeout".
wait_exit() {
	local pid=$1 deadline_ms=$(($(now_ms) + $2 * 1000))
	while alive "$pid"; do
		if (($(now_ms) >= deadline_ms)); then
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			WAITED=timeout
			return 0
		fi
		sleep 0.01
	done
	WAITED=0
	wait "$pid" 2>/dev/null || WAITED=$?
}

# take_bench_lock NAME LOCK WAIT_S: one benchmark at a time on a machine (two
# would measure each other). Holds LOCK on fd 9 until the script exits,
# waiting WAIT_S seconds at most; says on stderr that it waits. A script
# run by one that holds the lock already (BENCH_LOCK_HELD=1: bench/run.sh
# calling bench/point.sh) does not take it again.
take_bench_lock() {
	local name=$1 lock=$2 wait_s=$3
	[[ ${BENCH_LOCK_HELD:-0} != 1 ]] || return 0
	exec 9>>"$lock"
	flock -n 9 && return 0
	echo "$name: waiting for $lock (another benchmark runs), at most ${wait_s}s" >&2
	flock -w "$wait_s" 9 || {
		echo "$name: $lock still held after ${wait_s}s" >&2
		exit 1
	}
}

# new_run_dir PARENT NAME: makes the folder PARENT/NAME, or NAME-2, NAME-3...
# when a run of the same second has it, and prints its path.
new_run_dir() {
	local dir="$1/$2" n=1
	mkdir -p "$1" || return 1
	until mkdir "$dir" 2>/dev/null; do
		n=$((n + 1))
		((n <= 100)) || return 1
		dir="$1/$2-$n"
	done
	echo "$dir"
}

# ---- the kernel's memory for sockets ------------------------------------------
# What connections cost the kernel, machine-wide (every network namespace's
# sockets are in the same slab caches): both ends of a loopback connection.

# Slab caches a TCP connection takes objects from: the socket (TCP,
# TCPv6), its inode, its file and dentry, and its epoll entry where it is
# watched.
KERNEL_SOCKET_CACHES="TCP TCPv6 sock_inode_cache filp dentry eventpoll_epi eventpoll_pwq"

# kernel_sock_kib: the TCP socket buffers' memory now (/proc/net/sockstat's
# "mem", in pages: IPv4 and IPv6 sockets together).
kernel_sock_kib() {
	awk -v page="$(getconf PAGESIZE)" '$1 == "TCP:" {
		for (i = 2; i < NF; i++)
			if ($i == "mem")
				kib += $(i + 1) * page / 1024
	} END { printf "%d\n", kib }' /proc/net/sockstat 2>/dev/null
}

# kernel_slab_kib: the KiB of the KERNEL_SOCKET_CACHES' objects in use
# (/proc/slabinfo: root only); nothing where it cannot be read.
kernel_slab_kib() {
	[[ -r /proc/slabinfo ]] || return 0
	awk -v caches=" $KERNEL_SOCKET_CACHES " 'index(caches, " " $1 " ") {
		kib += $2 * $4 / 1024
	} END { printf "%d\n", kib }' /proc/slabinfo 2>/dev/null
}

# ---- two network stacks (BENCH_NET=netns) ---------------------------------------
# The server in one network namespace, the load generator in another, joined
# by a veth pair: private addresses that exist only inside them.

NETNS_SERVER_ADDR=10.77.0.1
NETNS_CLIENT_ADDR=10.77.0.2

# netns_up NAME: namespaces NAME-srv and NAME-cli joined by the veth pair
# NAME-s / NAME-c, NETNS_SERVER_ADDR and NETNS_CLIENT_ADDR on it, loopback up
# in both. On failure (not root, no veth, no ip) removes what it made and
# returns 1, with ip's message on stderr.
netns_up() {
	local n=$1
	if ip netns add "$n-srv" && ip netns add "$n-cli" &&
		ip link add "$n-s" type veth peer name "$n-c" &&
		ip link set "$n-s" netns "$n-srv" && ip link set "$n-c" netns "$n-cli" &&
		ip -n "$n-srv" addr add "$NETNS_SERVER_ADDR/24" dev "$n-s" &&
		ip -n "$n-cli" addr add "$NETNS_CLIENT_ADDR/24" dev "$n-c" &&
		ip -n "$n-srv" link set lo up && ip -n "$n-cli" link set lo up &&
		ip -n "$n-srv" link set "$n-s" up && ip -n "$n-cli" link set "$n-c" up; then
		return 0
	fi
	netns_down "$n"
	return 1
}

# netns_down NAME: removes what netns_up NAME made (a namespace takes its
# end of the pair with it), whatever of it exists.
netns_down() {
	ip netns del "$1-srv" 2>/dev/null || true
	ip netns del "$1-cli" 2>/dev/null || true
	ip link del "$1-s" 2>/dev/null || true
}
