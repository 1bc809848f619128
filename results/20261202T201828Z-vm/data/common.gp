footer1 = "Intel(R) Xeon(R) Processor, 2 cores, Linux 6.18.44-fc-v1045 · gcc 12.2.0 -O2 -g · Server on CPU 0, client on CPU 1 (taskset)"
footer2 = "median of 1-5 repeats (bars: its 95% confidence interval; hollow: wider than ±5%), warm-up 0.2 s, 1 s measured · profile default · run 20261202T201828Z-vm · git 0e88ded"
footer2_bars = "median of 1-5 repeats (bars: its 95% confidence interval), warm-up 0.2 s, 1 s measured · profile default · run 20261202T201828Z-vm · git 0e88ded"
footer2_once = "one search per point, no interval · profile default · run 20261202T201828Z-vm · git 0e88ded"
footer2_first = "first round of the open-loop point · profile default · run 20261202T201828Z-vm · git 0e88ded"
unpinned = 0
unpinned_label = ""
