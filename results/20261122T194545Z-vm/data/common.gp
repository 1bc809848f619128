footer1 = "AMD EPYC, 2 cores, Linux 6.18.44-fc-v657 · gcc 12.2.0 -O2 -g · Server on CPU 0, client on CPU 1 (taskset)"
footer2 = "median of 3 (bars: min–max), warm-up 0.3 s, 0.8 s measured · profile default · run 20261122T194545Z-vm · git c24ea8e"
unpinned = 0
unpinned_label = ""
