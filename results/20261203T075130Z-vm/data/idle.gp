npoints = 4
wl_size = 64
wl_pipeline = 1
wl_conns = 4
wl_rate = 0
has_cb = 0
has_unresolved = 1
nblocks = 2
array T[2]
array LT[2]
T[1] = "epoll-lt"
LT[1] = 7
T[2] = "libevent"
LT[2] = 13
note = ""
note_lines = 0
array N[1]
set xtics ("10k" 10004, "19k" 19004)
xmin = 10004
xmax = 19004
ylo = 61097
yhi = 99081
