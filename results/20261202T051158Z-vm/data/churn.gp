npoints = 24
wl_size = 64
wl_pipeline = 1
wl_conns = 16
wl_rate = 0
has_cb = 0
has_unresolved = 1
nblocks = 12
array T[12]
array LT[12]
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
T[12] = "libevent"
LT[12] = 12
note = ""
note_lines = 0
array N[1]
set xtics ("16" 16, "128" 128)
xmin = 16
xmax = 128
ylo = 2429
yhi = 17298
