npoints = 0
wl_size = 0
wl_pipeline = 0
wl_conns = 0
wl_rate = 0
has_cb = 0
has_unresolved = 0
nblocks = 2
array T[2]
array LT[2]
T[1] = "epoll-lt (not run)"
LT[1] = 7
T[2] = "libevent (not run)"
LT[2] = 13
note = ""
note_lines = 0
array N[1]
xmin = 1
xmax = 10
ylo = 1
yhi = 10
