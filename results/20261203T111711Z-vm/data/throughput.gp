npoints = 75
wl_size = 64
wl_pipeline = 1
wl_conns = 1
wl_rate = 0
has_cb = 0
has_unresolved = 1
nblocks = 16
array T[16]
array LT[16]
T[1] = "blocking"
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
note = "blocking at 16–1024: serves one client at a time: the others would wait forever\nselect at 1024: fds >= FD_SETSIZE (1024) are refused"
note_lines = 2
array N[2]
N[1] = "blocking at 16–1024: serves one client at a time: the others would wait forever"
N[2] = "select at 1024: fds >= FD_SETSIZE (1024) are refused"
set xtics ("1" 1, "16" 16, "64" 64, "256" 256, "1024" 1024)
xmin = 1
xmax = 1024
ylo = 17247
yhi = 252097
