npoints = 9
wl_size = 64
wl_pipeline = 1
wl_conns = 4
wl_rate = 0
has_cb = 1
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
set xtics ("0" 4, "1k" 1004, "10k" 10004)
xmin = 4
xmax = 10004
ylo = 42202
yhi = 88431
