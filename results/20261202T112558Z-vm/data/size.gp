npoints = 12
wl_size = 64
wl_pipeline = 1
wl_conns = 16
wl_rate = 0
has_cb = 0
has_unresolved = 1
nblocks = 3
array T[3]
array LT[3]
T[1] = "epoll-lt"
LT[1] = 7
T[2] = "uring"
LT[2] = 11
T[3] = "uring-multishot"
LT[3] = 12
note = ""
note_lines = 0
array N[1]
set xtics ("64 B" 64, "4 KiB" 4096, "16 KiB" 16384, "64 KiB" 65536)
xmin = 64
xmax = 65536
ylo = 5.308
yhi = 1184
