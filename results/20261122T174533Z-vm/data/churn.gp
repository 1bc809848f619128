npoints = 24
wl_size = 64
wl_pipeline = 1
wl_conns = 1
wl_rate = 0
has_cb = 0
array T[8]
T[1] = "blocking"
T[2] = "fork"
T[3] = "thread"
T[4] = "pool"
T[5] = "select"
T[6] = "poll"
T[7] = "epoll-lt"
T[8] = "epoll-et"
note = ""
note_lines = 0
array N[1]
set xtics ("1" 1, "16" 16, "128" 128)
xmin = 1
xmax = 128
ylo = 1099
yhi = 21930
