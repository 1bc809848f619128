npoints = 0
wl_size = 0
wl_pipeline = 0
wl_conns = 0
wl_rate = 0
has_cb = 0
has_unresolved = 0
nblocks = 6
array T[6]
array LT[6]
T[1] = "pool (not run)"
LT[1] = 4
T[2] = "epoll-lt (not run)"
LT[2] = 7
T[3] = "prefork (not run)"
LT[3] = 9
T[4] = "reactors (not run)"
LT[4] = 10
T[5] = "leader-follower (not run)"
LT[5] = 15
T[6] = "epoll-procs (not run)"
LT[6] = 16
note = ""
note_lines = 0
array N[1]
xmin = 1
xmax = 10
ylo = 1
yhi = 10
