# bench/timeline.awk - a server's -v trace (README, "The trace") to the data
# of its timeline picture (bench/timeline.gp), and of the teaching tests.
#
#   awk -v out=DIR/NAME -f bench/timeline.awk TRACE
#
# Reads the trace lines ("  0.313067    7616 accept   fd=5     peer=...";
# anything else, such as demo.sh's header, is skipped) and writes:
#
#   NAME.lanes  one line per connection, in the order accepted:
#               lane accept_s serve_s end_s colour tid fd
#               serve_s: when a thread or process began to serve it (its
#               serve, fork or thread line; its accept in a model that
#               serves a connection from the moment it has it); end_s:
#               its close (or the trace's end); tid and colour: the thread or
#               process that served it first (colour: that tid's place in
#               the order tids first appear, from 1)
#   NAME.marks  one line per event on a connection: time_s lane kind colour
#               kind: 1 read, 2 write, 3 accept, 4 close, 5 shed; colour: of
#               the tid that acted
#   NAME.waits  one line per wait (select, poll, epoll_wait, io_uring_enter):
#               time_s ready colour (ready: fds ready, or completions)
#   NAME.tids   one line per tid: colour tid
#   NAME.info   "model M", "end_s T", "lanes N", "max_ready R"
#
# A connection is its fd in the process that holds it: the process of the
# trace's listen line, the children its fork lines name (child=PID, or
# pid=PID for a worker), and any other tid is a thread of the first. A fork
# line for a connection (fork's child=) moves it to the child. Plain POSIX
# awk: it runs under mawk, Debian's default.

BEGIN {
	nlanes = 0
	ntids = 0
	end_s = 0
	max_ready = 0
	model = "?"
}

# key=value from the details, or "".
function detail(name,    i, n, kv) {
	for (i = 5; i <= NF; i++) {
		n = index($i, "=")
		if (n > 0 && substr($i, 1, n - 1) == name)
			return substr($i, n + 1)
	}
	return ""
}

function colour_of(tid) {
	if (!(tid in colour)) {
		colour[tid] = ++ntids
		tid_order[ntids] = tid
	}
	return colour[tid]
}

# The process a tid's fds live in.
function owner(tid) {
	return (tid in process) ? tid : main_pid
}

function mark(lane, kind) {
	printf "%s %d %d %d\n", $1, lane, kind, colour_of($2) > (out ".marks")
}

# The lane of the connection on fd in tid's process, or 0.
function lane_of(tid, fd,    k) {
	k = owner(tid) SUBSEP fd
	return (k in open_lane) ? open_lane[k] : 0
}

# The connection's service begins now (the first time only).
function serving(lane) {
	if (serve_s[lane] == "")
		serve_s[lane] = $1
}

$1 !~ /^[0-9]+\.[0-9]+$/ || $2 !~ /^[0-9]+$/ || $4 !~ /^fd=-?[0-9]+$/ {
	next
}

{
	t = $1
	tid = $2
	ev = $3
	fd = substr($4, 4) + 0
	if (t + 0 > end_s)
		end_s = t + 0
	colour_of(tid)
}

ev == "listen" {
	main_pid = tid
	process[tid] = 1
	if (detail("model") != "")
		model = detail("model")
	next
}

ev == "fork" {
	if (detail("pid") != "")
		process[detail("pid")] = 1
	if (detail("child") != "") {
		child = detail("child")
		process[child] = 1
		lane = lane_of(tid, fd)
		if (lane) {
			delete open_lane[owner(tid) SUBSEP fd]
			open_lane[child SUBSEP fd] = lane
			serving(lane)
		}
	}
	next
}

ev == "wait" {
	ready = detail("ready") != "" ? detail("ready") : detail("completions")
	printf "%s %d %d\n", t, ready + 0, colour_of(tid) > (out ".waits")
	if (ready + 0 > max_ready)
		max_ready = ready + 0
	next
}

ev == "accept" {
	lane = ++nlanes
	open_lane[owner(tid) SUBSEP fd] = lane
	accept_s[lane] = t
	lane_fd[lane] = fd
	mark(lane, 3)
	next
}

fd < 0 {
	next
}

{
	lane = lane_of(tid, fd)
	if (!lane)
		next
}

ev == "serve" || ev == "thread" {
	serving(lane)
	next
}

# Who served it: the first thread or process to read or write it.
ev == "read" || ev == "write" {
	if (lane_tid[lane] == "")
		lane_tid[lane] = tid
	mark(lane, ev == "read" ? 1 : 2)
	next
}

ev == "shed" {
	mark(lane, 5)
	next
}

ev == "close" {
	mark(lane, 4)
	end_lane[lane] = t
	delete open_lane[owner(tid) SUBSEP fd]
	next
}

END {
	for (lane = 1; lane <= nlanes; lane++) {
		serve = serve_s[lane] != "" ? serve_s[lane] : accept_s[lane]
		stop = (lane in end_lane) ? end_lane[lane] : end_s
		tid = lane_tid[lane] != "" ? lane_tid[lane] : main_pid
		printf "%d %s %s %s %d %s %d\n", lane, accept_s[lane], serve, stop, colour_of(tid), tid,
		    lane_fd[lane] > (out ".lanes")
	}
	for (i = 1; i <= ntids; i++)
		printf "%d %s\n", i, tid_order[i] > (out ".tids")
	printf "model %s\nend_s %s\nlanes %d\nmax_ready %d\n", model, end_s, nlanes, max_ready > (out ".info")
	# Files gnuplot reads must exist, if empty.
	printf "" > (out ".marks")
	printf "" > (out ".waits")
	printf "" > (out ".lanes")
}
