npoints = 66
wl_size = 64
wl_pipeline = 1
wl_conns = 16
wl_rate = 10000
has_cb = 0
has_unresolved = 1
nblocks = 12
array T[12]
array LT[12]
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
T[12] = "libevent"
LT[12] = 12
note = "blocking: serves one client at a time: the others would wait forever"
note_lines = 1
array N[1]
N[1] = "blocking: serves one client at a time: the others would wait forever"
set xtics ("p50" 2, "p90" 10, "p99" 100, "p99.9" 1000, "p99.99" 10000, "max" 100000)
xmin = 2
xmax = 100000
ylo = 19.79
yhi = 28164
