npoints = 42
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
note = "blocking at 4–1024: serves one client at a time: the others would wait forever\nselect at 1024: fds >= FD_SETSIZE (1024) are refused"
note_lines = 2
array N[2]
N[1] = "blocking at 4–1024: serves one client at a time: the others would wait forever"
N[2] = "select at 1024: fds >= FD_SETSIZE (1024) are refused"
set xtics ("1" 1, "4" 4, "16" 16, "64" 64, "256" 256, "1024" 1024)
xmin = 1
xmax = 1024
ylo = 6.823
yhi = 145
