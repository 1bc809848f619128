npoints = 15
wl_size = 64
wl_pipeline = 1
wl_conns = 1
wl_rate = 0
has_cb = 0
has_unresolved = 1
nblocks = 3
array T[3]
array LT[3]
T[1] = "thread"
LT[1] = 3
T[2] = "epoll-lt"
LT[2] = 7
T[3] = "coroutine"
LT[3] = 14
note = ""
note_lines = 0
array N[1]
set xtics ("1" 1, "16" 16, "64" 64, "256" 256, "1024" 1024)
xmin = 1
xmax = 1024
ylo = 20.35
yhi = 36526
