npoints = 33
wl_size = 64
wl_pipeline = 1
wl_conns = 16
wl_rate = 0
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
set xtics ("64 B" 64, "16 KiB" 16384, "64 KiB" 65536)
xmin = 64
xmax = 65536
ylo = 1.944
yhi = 1070
