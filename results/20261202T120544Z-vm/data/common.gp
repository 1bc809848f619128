footer1 = "AMD EPYC, 2 cores, Linux 6.18.44-fc-v1045 · gcc 12.2.0 -O2 -g · UNPINNED: server and client share both cores"
footer2 = "median of 3-5 repeats (bars: its 95% confidence interval; hollow: wider than ±5%), warm-up 0.3 s, 1 s measured · profile unpinned · run 20261202T120544Z-vm · git 5b70ed9"
unpinned = 1
unpinned_label = "UNPINNED: server and client share both cores"
