npoints = 28
wl_size = 64
wl_pipeline = 1
wl_conns = 16
wl_rate = 0
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
set xtics ("64 B" 64, "1 KiB" 1024, "16 KiB" 16384, "64 KiB" 65536)
xmin = 64
xmax = 65536
ylo = 3.395
yhi = 1124
