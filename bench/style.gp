# bench/style.gp - what every chart shares: one colour, dash and point shape
# per model, the same in every chart and every run. Line type i is the i-th
# model of `models`, the teaching order of bench/models.sh (ALL_MODELS), which
# is also the order of the key.
#
# Dashed lines with open markers: the models that block in read/write, one
# client per process or thread (blocking, fork, thread, pool, prefork).
# Solid lines with filled markers: the event loops (select, poll, epoll-lt,
# epoll-et, uring, uring-multishot, libevent, coroutine); reactors,
# leader-follower and epoll-procs, event loops on every core, are drawn
# thicker (epoll-procs, processes like prefork, with long dashes). Past
# fifteen models the point shapes run out: epoll-procs shares coroutine's
# plus sign, and differs in colour, width and dash. The first eight colours are the Okabe-Ito
# set, told apart by colour-blind readers too; the later models take dark
# shades from Paul Tol's palettes, each with its own point shape, so every
# model stays apart in grey print as well.

models = "blocking fork thread pool select poll epoll-lt epoll-et prefork reactors uring uring-multishot libevent coroutine leader-follower epoll-procs"

set linetype 1  lc rgb "#7a7a7a" lw 2   dt (2,3)          pt 4  ps 1.1 # blocking: grey, dotted, squares
set linetype 2  lc rgb "#e69f00" lw 2   dt (10,5)         pt 8  ps 1.2 # fork: orange, dashed, triangles
set linetype 3  lc rgb "#d55e00" lw 2   dt (5,4)          pt 6  ps 1.1 # thread: vermillion, short dashes, circles
set linetype 4  lc rgb "#cc79a7" lw 2   dt (12,4,2,4)     pt 12 ps 1.3 # pool: purple, dash-dot, diamonds
set linetype 5  lc rgb "#56b4e9" lw 2   dt solid          pt 5  ps 1.0 # select: sky blue, filled squares
set linetype 6  lc rgb "#0072b2" lw 2   dt solid          pt 7  ps 1.0 # poll: blue, filled circles
set linetype 7  lc rgb "#009e73" lw 2   dt solid          pt 9  ps 1.2 # epoll-lt: green, filled triangles
set linetype 8  lc rgb "#000000" lw 2   dt solid          pt 13 ps 1.3 # epoll-et: black, filled diamonds
set linetype 9  lc rgb "#8c510a" lw 2   dt (12,3,2,3,2,3) pt 10 ps 1.2 # prefork: brown, dash-dot-dot, triangles down
set linetype 10 lc rgb "#882255" lw 3.5 dt solid          pt 11 ps 1.3 # reactors: wine, thick, filled triangles down
set linetype 11 lc rgb "#999933" lw 2   dt solid          pt 15 ps 1.3 # uring: olive, filled pentagons
set linetype 12 lc rgb "#cc6677" lw 2   dt solid          pt 2  ps 1.4 # uring-multishot: rose, crosses
set linetype 13 lc rgb "#332288" lw 2   dt solid          pt 3  ps 1.5 # libevent: indigo, asterisks
set linetype 14 lc rgb "#44aa99" lw 2   dt solid          pt 1  ps 1.6 # coroutine: teal, plus signs
set linetype 15 lc rgb "#aa4499" lw 3.5 dt solid          pt 14 ps 1.3 # leader-follower: purple, thick, pentagons
set linetype 16 lc rgb "#117733" lw 3.5 dt (8,3)          pt 1  ps 1.6 # epoll-procs: dark green, thick, long dashes, plus signs

# Client-bound points get a grey ring: the load generator used its whole
# core there, so the number is a floor for the server, not its limit.
cb_color = "#9a9a9a"

# Unresolved points (their 95% confidence interval wider than +-5%) are
# drawn hollow: line type i's marker shape, empty (HOLLOW[i]), over a white
# filled copy (SOLID[i]) that hides the line and the error bar inside it.
# The filled markers become their open twins; the markers that are open
# already (and the cross, asterisk and plus of uring-multishot, libevent and
# coroutine) keep their shape, and lose the line and bar that otherwise
# cross them.
array SOLID[16] = [5, 9, 7, 13, 5, 7, 9, 13, 11, 11, 15, 7, 7, 7, 15, 7]
array HOLLOW[16] = [4, 8, 6, 12, 4, 6, 8, 12, 10, 10, 14, 2, 3, 1, 14, 1]
