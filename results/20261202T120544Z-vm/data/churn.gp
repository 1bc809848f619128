npoints = 12
wl_size = 64
wl_pipeline = 1
wl_conns = 16
wl_rate = 0
has_cb = 0
has_unresolved = 1
nblocks = 6
array T[6]
array LT[6]
T[1] = "pool"
LT[1] = 4
T[2] = "epoll-lt"
LT[2] = 7
T[3] = "prefork"
LT[3] = 9
T[4] = "reactors"
LT[4] = 10
T[5] = "leader-follower"
LT[5] = 15
T[6] = "epoll-procs"
LT[6] = 16
note = ""
note_lines = 0
array N[1]
set xtics ("16" 16, "128" 128)
xmin = 16
xmax = 128
ylo = 1212
yhi = 54878
