npoints = 48
wl_size = 64
wl_pipeline = 1
wl_conns = 4
wl_rate = 0
has_cb = 1
has_unresolved = 1
nblocks = 12
array T[12]
array LT[12]
T[1] = "thread"
LT[1] = 3
T[2] = "select"
LT[2] = 5
T[3] = "poll"
LT[3] = 6
T[4] = "epoll-lt"
LT[4] = 7
T[5] = "epoll-et"
LT[5] = 8
T[6] = "reactors"
LT[6] = 10
T[7] = "uring"
LT[7] = 11
T[8] = "uring-multishot"
LT[8] = 12
T[9] = "libevent"
LT[9] = 13
T[10] = "coroutine"
LT[10] = 14
T[11] = "leader-follower"
LT[11] = 15
T[12] = "epoll-procs"
LT[12] = 16
note = "thread at 50k–100k: descriptor limit (ulimit -Hn 20000) too low\nselect at 10k–100k: fds >= FD_SETSIZE (1024) are refused\npoll at 50k–100k: descriptor limit (ulimit -Hn 20000) too low\nepoll-lt at 50k–100k: descriptor limit (ulimit -Hn 20000) too low\nepoll-et at 50k–100k: descriptor limit (ulimit -Hn 20000) too low\nreactors at 50k–100k: descriptor limit (ulimit -Hn 20000) too low\nuring at 50k–100k: descriptor limit (ulimit -Hn 20000) too low\nuring-multishot at 50k–100k: descriptor limit (ulimit -Hn 20000) too low\nlibevent at 50k–100k: descriptor limit (ulimit -Hn 20000) too low\ncoroutine at 50k–100k: descriptor limit (ulimit -Hn 20000) too low\nleader-follower at 50k–100k: descriptor limit (ulimit -Hn 20000) too low"
note_lines = 11
array N[11]
N[1] = "thread at 50k–100k: descriptor limit (ulimit -Hn 20000) too low"
N[2] = "select at 10k–100k: fds >= FD_SETSIZE (1024) are refused"
N[3] = "poll at 50k–100k: descriptor limit (ulimit -Hn 20000) too low"
N[4] = "epoll-lt at 50k–100k: descriptor limit (ulimit -Hn 20000) too low"
N[5] = "epoll-et at 50k–100k: descriptor limit (ulimit -Hn 20000) too low"
N[6] = "reactors at 50k–100k: descriptor limit (ulimit -Hn 20000) too low"
N[7] = "uring at 50k–100k: descriptor limit (ulimit -Hn 20000) too low"
N[8] = "uring-multishot at 50k–100k: descriptor limit (ulimit -Hn 20000) too low"
N[9] = "libevent at 50k–100k: descriptor limit (ulimit -Hn 20000) too low"
N[10] = "coroutine at 50k–100k: descriptor limit (ulimit -Hn 20000) too low"
N[11] = "leader-follower at 50k–100k: descriptor limit (ulimit -Hn 20000) too low"
set xtics ("500" 504, "1k" 1004, "10k" 10004, "19k" 19004, "50k" 50004, "100k" 100004)
xmin = 504
xmax = 100004
ylo = 227
yhi = 110705
