footer1 = "AMD EPYC, 2 cores, Linux 6.18.44-fc-v1045 · gcc 12.2.0 -O2 -g · Server on CPU 0, client on CPU 1 (taskset)"
footer2 = "median of 5 repeats (bars: its 95% confidence interval; hollow: wider than ±5%), warm-up 0.2 s, 1 s measured · profile default · run 20261202T142319Z-vm · git ad96b7d+dirty"
footer2_bars = "median of 5 repeats (bars: its 95% confidence interval), warm-up 0.2 s, 1 s measured · profile default · run 20261202T142319Z-vm · git ad96b7d+dirty"
unpinned = 0
unpinned_label = ""
