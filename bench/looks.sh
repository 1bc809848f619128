#!/usr/bin/env bash
# bench/looks.sh - what to look for in each model's demo: the lines make
# demo prints under the trace, and the line under each timeline picture.
# Sourced by bench/demo.sh and bench/timeline.sh.

# look_text MODEL WORKERS: the lines, each starting "Look:" or following on
# from one; WORKERS is what the demo started the model with (-w), or empty.
look_text() {
	case $1 in
	blocking)
		echo "Look: one fd is served from accept to close; the next accept comes only after"
		echo "that close, and the others' waiting messages arrive in one late read."
		;;
	fork)
		echo "Look: each accept is followed by a fork line; the reads and writes carry the"
		echo "child's pid in the tid column, not the parent's."
		;;
	thread)
		echo "Look: each accept starts a thread; each client's reads and writes carry its"
		echo "own thread id."
		;;
	pool)
		echo "Look: queue (acceptor) then serve (a worker's tid); ${2:+with $2 workers }the"
		echo "next client is served only when a worker's client closes."
		;;
	select)
		echo "Look: every wait (one pselect call) is followed by a scan of every fd up to"
		echo "the highest (examined=), however few are ready."
		;;
	poll)
		echo "Look: every wait (one ppoll call) is followed by a scan of the whole pollfd"
		echo "array (examined=), however few are ready."
		;;
	epoll-lt)
		echo "Look: each wait returns only the ready fds (ready=), one read per event;"
		echo "nothing is scanned. One thread id throughout."
		;;
	epoll-et)
		echo "Look: after an edge (readable) the server reads until a read finds nothing:"
		echo "'again' (EAGAIN). 'budget' would show a client that used its 8 reads."
		;;
	prefork)
		echo "Look: the workers were forked once, at start (fork lines), not per client. Each"
		echo "accept is in the tid column of the worker the kernel woke, and its serve line"
		echo "names that worker; the stop line counts the connections each one served."
		echo "Try DEMO_ARGS=--reuseport a few times: two clients can hash to one worker, and"
		echo "the second waits for the first to leave while another worker sits idle."
		;;
	reactors)
		echo "Look: each wait names its reactor (reactor=N) and runs on that reactor's thread;"
		echo "a client's reads stay on the thread that accepted it. The kernel's hash chose"
		echo "the reactor (one SO_REUSEPORT listener each): the stop line counts them."
		;;
	uring)
		echo "Look: no readable or writable lines: each wait is one io_uring_enter that hands"
		echo "the kernel the queued requests and returns completions (completions=N). A"
		echo "polled line is a poll that completed: bytes are there, and only now does the"
		echo "connection take a buffer for its recv. A read line is that recv completed, its"
		echo "bytes already in the buffer (no read(2)); a write line is a send that completed."
		;;
	uring-multishot)
		echo "Look: as uring, but a connection's one recv stays armed: its read lines come"
		echo "without a recv asked for each, their bytes in buffers the kernel took from the"
		echo "shared pool. make syscalls counts the requests per message of both."
		;;
	libevent)
		echo "Look: libevent calls back after it has read (read ... pending=64); the write comes"
		echo "only after the next wait (event_base_loop): the echo leaves one turn later"
		echo "than in epoll-lt, which writes at once. Each client's first bytes show"
		echo "'readable ... bufferevent=new': an idle connection waits with a plain event,"
		echo "and gets its bufferevent only when bytes come ('idle' gives it back after a"
		echo "second without any)."
		;;
	coroutine)
		echo "Look: one thread id throughout, as epoll-lt, but each client's lines read like"
		echo "thread's: read, write, then 'again op=read' where its coroutine parks, and"
		echo "'readable op=resume' after a wait when the scheduler resumes it."
		;;
	epoll-procs)
		echo "Look: the master forks its workers once (fork lines); each accept is in the tid"
		echo "column of the worker the kernel woke (EPOLLEXCLUSIVE: one per connection), whose"
		echo "wait lines name it (worker=N); the stop line counts what each accepted."
		;;
	leader-follower)
		echo "Look: the wait lines come from every thread in turn (the tid column): whoever"
		echo "led through a wait then reads and writes the client it saw itself, so one"
		echo "client's lines carry different thread ids over time."
		;;
	esac
}
