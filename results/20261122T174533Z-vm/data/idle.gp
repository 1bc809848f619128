npoints = 31
wl_size = 64
wl_pipeline = 1
wl_conns = 4
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
note = "blocking: serves one client at a time: the others would wait forever\npool at 5k–10k: a worker per connection: more than POOL_MAX_WORKERS (1024)\nselect at 5k–10k: fds >= FD_SETSIZE (1024) are refused"
note_lines = 3
array N[3]
N[1] = "blocking: serves one client at a time: the others would wait forever"
N[2] = "pool at 5k–10k: a worker per connection: more than POOL_MAX_WORKERS (1024)"
N[3] = "select at 5k–10k: fds >= FD_SETSIZE (1024) are refused"
set xtics ("0" 4, "100" 104, "1k" 1004, "5k" 5004, "10k" 10004)
xmin = 4
xmax = 10004
ylo = 596
yhi = 121229
