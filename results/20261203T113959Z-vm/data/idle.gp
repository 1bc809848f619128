npoints = 42
wl_size = 64
wl_pipeline = 1
wl_conns = 4
wl_rate = 0
has_cb = 1
has_unresolved = 1
nblocks = 16
array T[16]
array LT[16]
T[1] = "blocking (not run)"
LT[1] = 1
T[2] = "fork"
LT[2] = 2
T[3] = "thread"
LT[3] = 3
T[4] = "pool"
LT[4] = 4
T[5] = "select"
LT[5] = 5
T[6] = "poll"
LT[6] = 6
T[7] = "epoll-lt"
LT[7] = 7
T[8] = "epoll-et"
LT[8] = 8
T[9] = "prefork"
LT[9] = 9
T[10] = "reactors"
LT[10] = 10
T[11] = "uring"
LT[11] = 11
T[12] = "uring-multishot"
LT[12] = 12
T[13] = "libevent"
LT[13] = 13
T[14] = "coroutine"
LT[14] = 14
T[15] = "leader-follower"
LT[15] = 15
T[16] = "epoll-procs"
LT[16] = 16
note = "blocking: serves one client at a time: the others would wait forever\npool at 10k: a worker per connection: more than POOL_MAX_WORKERS (1024)\nselect at 10k: fds >= FD_SETSIZE (1024) are refused\nprefork at 10k: a worker process per connection: more than PREFORK_MAX_WORKERS (1024)"
note_lines = 4
array N[4]
N[1] = "blocking: serves one client at a time: the others would wait forever"
N[2] = "pool at 10k: a worker per connection: more than POOL_MAX_WORKERS (1024)"
N[3] = "select at 10k: fds >= FD_SETSIZE (1024) are refused"
N[4] = "prefork at 10k: a worker process per connection: more than PREFORK_MAX_WORKERS (1024)"
set xtics ("0" 4, "1k" 1004, "10k" 10004)
xmin = 4
xmax = 10004
ylo = 380.8
yhi = 223205
