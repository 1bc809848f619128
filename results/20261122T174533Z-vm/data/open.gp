npoints = 42
wl_size = 64
wl_pipeline = 1
wl_conns = 16
wl_rate = 10000
has_cb = 0
array T[8]
T[1] = "blocking (not run)"
T[2] = "fork"
T[3] = "thread"
T[4] = "pool"
T[5] = "select"
T[6] = "poll"
T[7] = "epoll-lt"
T[8] = "epoll-et"
note = "blocking: serves one client at a time: the others would wait forever"
note_lines = 1
array N[1]
N[1] = "blocking: serves one client at a time: the others would wait forever"
set xtics ("p50" 2, "p90" 10, "p99" 100, "p99.9" 1000, "p99.99" 10000, "max" 100000)
xmin = 2
xmax = 100000
ylo = 149.6
yhi = 19410
