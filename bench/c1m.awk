# bench/c1m.awk - toward a million connections: what an idle connection
# costs each model, measured as far as this machine goes, and what
# 1,000,000 would cost at that rate.
#
#   awk -v models="select poll ..." -v dat=c1m.dat -v target=1000000 -v active=4 \
#       -f bench/stats.awk -f bench/labels.awk -f bench/c1m.awk kernel.csv raw.csv
#
# raw.csv's idle points (bench/point.sh) give the server's memory with N
# idle connections held (server_pss_kib: PSS, so that a page shared by
# several processes counts once; RSS where PSS is missing) and the active
# clients' msgs/s and p99 beside them; kernel.csv (bench/point.sh
# write_kernel_line) the time the idle connections took to open and how
# much more the kernel's socket buffers and socket slab caches held with
# them than before. The kernel counts both ends of a loopback connection,
# the same structures on each (a TCP socket, its inode, file and dentry, an
# epoll entry: the load generator waits with epoll too), so the server's
# share is taken as half. Rounds of a point are summarised by their median.
#
# Per model, from its two largest counts that ran (N1 < N2): the cost per
# connection is the slope, (M(N2) - M(N1)) / (N2 - N1), of user and of
# kernel memory; the cost at `target` connections is M(N2) + slope x
# (target - N2), a slope below zero (noise between small counts) taken as 0. A model needs two counts; the first idle point that did not
# run says what stopped it.
#
# dat gets a comment line naming the target ("# 1M"), then one row per
# model with a projection: "index model N2 user_mib kernel_mib
# target_user_gib target_kernel_gib". stdout gets the Markdown
# section, or nothing when no model has two counts. Plain POSIX awk.

BEGIN {
	FS = ","
	nmodels = split(models, model, " ")
	if (target == "")
		target = 1000000
}

# kernel.csv
FNR == NR {
	if (FNR == 1) {
		for (i = 1; i <= NF; i++)
			kcol[$i] = i
		next
	}
	if ($kcol["workload"] != "idle")
		next
	k = $kcol["model"] SUBSEP ($kcol["x"] + 0) SUBSEP $kcol["repeat"]
	open_s[k] = $kcol["idle_open_s"]
	if ($kcol["kernel_slab_kib"] != "")
		kernel[k] = ($kcol["kernel_sock_kib"] + $kcol["kernel_slab_kib"]) / 2
	next
}

# raw.csv
FNR == 1 {
	for (i = 1; i <= NF; i++)
		col[$i] = i
	next
}

$col["workload"] == "idle" {
	m = $col["model"]
	x = $col["x"] + 0
	if ($col["status"] == "not-run") {
		if (!(m in stopped) || x < stopped_at[m]) {
			stopped[m] = $col["reason"]
			stopped_at[m] = x
		}
		next
	}
	if ($col["status"] != "ok")
		next
	user = $col["server_pss_kib"] != "" ? $col["server_pss_kib"] : $col["server_rss_kib"]
	if (user == "")
		next
	k = m SUBSEP x SUBSEP $col["repeat"]
	mx = m SUBSEP x
	if (!(mx in n)) {
		counts[m] = counts[m] " " x
	}
	n[mx]++
	user_s[mx, n[mx]] = user
	msgs_s[mx, n[mx]] = $col["msgs_per_s"]
	p99_s[mx, n[mx]] = $col["lat_p99_us"]
	kernel_s[mx, n[mx]] = (k in kernel) ? kernel[k] : ""
	open_s_s[mx, n[mx]] = (k in open_s) ? open_s[k] : ""
}

# median(arr, key, count): the median of arr[key, 1..count] ("" for none:
# the empty ones are left out).
function median(arr, key, count,    v, nv, i) {
	nv = 0
	for (i = 1; i <= count; i++)
		if (arr[key, i] != "")
			v[++nv] = arr[key, i]
	return stats_median(v, nv)
}

# The two largest counts of m that ran: sets N1 and N2 (0 when missing).
function two_largest(m,    list, nl, i, x) {
	N1 = N2 = -1
	nl = split(counts[m], list, " ")
	for (i = 1; i <= nl; i++) {
		x = list[i] + 0
		if (x > N2) {
			N1 = N2
			N2 = x
		} else if (x > N1)
			N1 = x
	}
	return N1 >= 0 && N2 > N1
}

# 1000000 -> "1M", else count_label's.
function target_label(n) {
	return n % 1000000 == 0 ? (n / 1000000) "M" : count_label(n)
}

# A cost per connection: "—" for none, "≈0" for a slope below zero (the
# memory's own noise between two small counts: projected as 0).
function kib_label(v) {
	if (v == "")
		return "—"
	return v < 0 ? "≈0" : sprintf("%.2f", v)
}

function size_label(kib) {
	if (kib >= 1048576)
		return sprintf("%.1f GiB", kib / 1048576)
	if (kib >= 1024)
		return sprintf("%.0f MiB", kib / 1024)
	return sprintf("%.0f KiB", kib)
}

END {
	rows = ""
	for (i = 1; i <= nmodels; i++) {
		m = model[i]
		if (!two_largest(m))
			continue
		a = m SUBSEP N1
		b = m SUBSEP N2
		u1 = median(user_s, a, n[a])
		u2 = median(user_s, b, n[b])
		k1 = median(kernel_s, a, n[a])
		k2 = median(kernel_s, b, n[b])
		user_per = (u2 - u1) / (N2 - N1)
		kernel_per = (k1 != "" && k2 != "") ? (k2 - k1) / (N2 - N1) : ""
		user_target = u2 + (user_per > 0 ? user_per : 0) * (target - N2)
		kernel_target = kernel_per != "" ? k2 + (kernel_per > 0 ? kernel_per : 0) * (target - N2) : ""
		opened = median(open_s_s, b, n[b])
		if (nrows++ == 0)
			printf "# %s\n", target_label(target) >dat
		printf "%d %s %d %.3f %s %.3f %s\n", nrows - 1, m, N2, u2 / 1024,
		    (k2 != "" ? sprintf("%.3f", k2 / 1024) : "NaN"), user_target / 1048576,
		    (kernel_target != "" ? sprintf("%.3f", kernel_target / 1048576) : "NaN") >dat
		rows = rows sprintf("| %s | %s | %s | %s | %s | %s + %s | %s + %s | %s, %s µs | %s |\n", m,
		    count_label(N2), opened == "" ? "—" : sprintf("%.1f s", opened), kib_label(user_per), kib_label(kernel_per),
		    size_label(u2), k2 == "" ? "—" : size_label(k2),
		    size_label(user_target), kernel_target == "" ? "—" : size_label(kernel_target),
		    figure_label(median(msgs_s, b, n[b])), figure_label(median(p99_s, b, n[b])),
		    (m in stopped) ? stopped[m] " at " count_label(stopped_at[m]) : "nothing here")
	}
	if (nrows == 0)
		exit 0
	printf "## Toward a million connections\n\n"
	printf "![the memory of idle connections, measured and projected to %s](c1m.png)\n\n", target_label(target)
	printf "What an idle connection costs each model, from its two largest idle points here: the cost per "
	printf "connection is the slope between them, and the cost at %s connections that slope carried on. ", target_label(target)
	printf "User memory is the server's PSS; kernel memory is the growth of the socket buffers and the socket slab "
	printf "caches (TCP, inode, file, dentry, epoll entry) while the connections were open, halved: a loopback "
	printf "connection has the same structures at both ends. Beside them, the %s active clients' msgs/s and p99 at ", active
	printf "the largest count, and what stopped the model there (bench/point.sh's limits: one process holds at most "
	printf "the hard descriptor limit; multi-process models spread further over more workers). One sample per "
	printf "point unless the run had rounds (then the median); how much these figures vary: bench/README.md, "
	printf "\"Toward a million connections\".\n\n"
	printf "| model | largest count | opened in | user KiB/conn | kernel KiB/conn | there: user + kernel | at %s: user + kernel | active msgs/s, p99 | stopped by |\n", target_label(target)
	printf "|---|---:|---:|---:|---:|---:|---:|---:|---|\n"
	printf "%s\n", rows
}
