footer1 = "AMD EPYC, 2 cores, Linux 6.18.44-fc-v657 · gcc 12.2.0 -O2 -g · UNPINNED: server and client share both cores"
footer2 = "median of 3 (bars: min–max), warm-up 0.3 s, 1 s measured · profile unpinned · run 20261122T195836Z-vm · git c24ea8e"
unpinned = 1
unpinned_label = "UNPINNED: server and client share both cores"
