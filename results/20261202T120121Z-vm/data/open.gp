npoints = 0
wl_size = 0
wl_pipeline = 0
wl_conns = 0
wl_rate = 0
has_cb = 0
has_unresolved = 0
nblocks = 3
array T[3]
array LT[3]
T[1] = "thread (not run)"
LT[1] = 3
T[2] = "epoll-lt (not run)"
LT[2] = 7
T[3] = "coroutine (not run)"
LT[3] = 14
note = ""
note_lines = 0
array N[1]
xmin = 1
xmax = 10
ylo = 1
yhi = 10
