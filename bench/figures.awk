# bench/figures.awk - the README's figures from one or more runs' agg.csv:
# messages per second and server CPU per message of a few models at a few
# closed-loop connection counts, each as the median of the repeats with
# the 95% confidence interval of the median (bench/stats.awk), one column pair per run, as a Markdown table.
#
#   awk -f bench/figures.awk [-v models="epoll-lt reactors uring libevent"] \
#       [-v points="64 256 1024"] \
#       label=pinned desc="..." A/agg.csv label=UNPINNED desc="..." B/agg.csv
#
# label names a run's columns ("pinned", "UNPINNED"); desc, if given, is
# listed under the table. models are printed in the order given (bench/
# figures.sh passes them in teaching order). -v check=1 prints nothing and
# exits 0 when some file has a closed-loop row of those models at those
# points, 1 otherwise (bench/report.sh: is there a table to add?).
# agg.csv: bench/aggregate.awk. Plain POSIX awk (mawk).

BEGIN {
	FS = ","
	if (models == "")
		models = "epoll-lt reactors uring libevent"
	if (points == "")
		points = "64 256 1024"
	nm = split(models, model, " ")
	np = split(points, point, " ")
	for (i = 1; i <= nm; i++)
		want_m[model[i]] = 1
	for (j = 1; j <= np; j++)
		want_x[point[j] + 0] = 1
}

FNR == 1 {
	nrun++
	run_label[nrun] = (label != "") ? label : "run " nrun
	run_desc[nrun] = desc
	label = ""
	desc = ""
	delete col
	for (i = 1; i <= NF; i++)
		col[$i] = i
	if (!("workload" in col) || !("msgs_per_s_med" in col)) {
		print "figures.awk: " FILENAME ": not an agg.csv" > "/dev/stderr"
		bad = 1
		exit 2
	}
	next
}

$col["workload"] == "closed" && ($col["model"] in want_m) && (($col["x"] + 0) in want_x) {
	k = nrun SUBSEP $col["model"] SUBSEP ($col["x"] + 0)
	found = 1
	in_runs[$col["model"]] = 1
	st[k] = $col["status"]
	why[k] = $col["reason"]
	cb[k] = $col["client_bound"]
	for (c = 1; c <= 2; c++) {
		name = (c == 1) ? "msgs_per_s" : "server_us_per_msg"
		med[k, c] = $col[name "_med"]
		lo[k, c] = $col[name "_ci_lo"]
		hi[k, c] = $col[name "_ci_hi"]
	}
	if (size == "")
		size = $col["size"]
	if (pipeline == "")
		pipeline = $col["pipeline"]
}

# 3 significant digits; k and M for rates.
function si(v) {
	v += 0
	if (v >= 1e6)
		return sprintf("%.3gM", v / 1e6)
	if (v >= 1e3)
		return sprintf("%.3gk", v / 1e3)
	return sprintf("%.3g", v)
}

function sig(v) {
	v += 0
	if (v >= 1000)
		return sprintf("%d", v + 0.5)
	return sprintf("%.3g", v)
}

function fmt(v, c) {
	return (c == 1) ? si(v) : sig(v)
}

# The cell of run r, model m, x connections, metric c (1 msgs/s, 2 CPU).
function cell(r, m, x, c,    k, s) {
	k = r SUBSEP m SUBSEP x
	if (!(k in st))
		return "·"
	if (st[k] == "not-run")
		return "—"
	if (st[k] != "ok")
		return "✗"
	if (med[k, c] == "")
		return "n/a"
	s = fmt(med[k, c], c)
	if (c == 1 && cb[k] == 1)
		s = s "*"
	if (lo[k, c] != "" && hi[k, c] != "" && fmt(lo[k, c], c) != fmt(hi[k, c], c))
		s = s " (" fmt(lo[k, c], c) "–" fmt(hi[k, c], c) ")"
	return s
}

END {
	if (bad)
		exit 2
	if (check)
		exit found ? 0 : 1
	printf "Closed loop, %d-byte messages, %d in flight per connection: the median of the " \
	    "repeats, (its 95%% confidence interval). `*` client-bound (a floor for the server), `—` not run, " \
	    "`✗` failed (reasons below), `·` not in the run.\n\n", (size == "" ? 64 : size),
	    (pipeline == "" ? 1 : pipeline)
	line = "| model | connections |"
	sep = "|---|---:|"
	for (c = 1; c <= 2; c++)
		for (r = 1; r <= nrun; r++) {
			line = line " " (c == 1 ? "msgs/s" : "server CPU µs/msg") ", " run_label[r] " |"
			sep = sep "---:|"
		}
	print line
	print sep
	for (i = 1; i <= nm; i++)
		for (j = 1; j <= np && (model[i] in in_runs); j++) {
			x = point[j] + 0
			line = "| " model[i] " | " x " |"
			for (c = 1; c <= 2; c++)
				for (r = 1; r <= nrun; r++)
					line = line " " cell(r, model[i], x, c) " |"
			print line
		}
	print ""
	for (r = 1; r <= nrun; r++)
		if (run_desc[r] != "")
			list("- " run_label[r] ": " run_desc[r])
	absent = ""
	for (i = 1; i <= nm; i++)
		if (!(model[i] in in_runs))
			absent = absent (absent == "" ? "" : ", ") model[i]
	if (absent != "")
		list("- not in the run" (nrun > 1 ? "s" : "") ": " absent)
	# Every gap once per run, model and reason, with the points it covers.
	for (r = 1; r <= nrun; r++)
		for (i = 1; i <= nm; i++) {
			delete seen
			ng = 0
			for (j = 1; j <= np; j++) {
				x = point[j] + 0
				k = r SUBSEP model[i] SUBSEP x
				if (!(k in st) || st[k] == "ok")
					continue
				g = (st[k] == "not-run" ? "not run: " : st[k] ": ") why[k]
				if (!(g in seen)) {
					seen[g] = ++ng
					gap[ng] = g
					gx[ng] = x
				} else {
					gx[seen[g]] = gx[seen[g]] ", " x
				}
			}
			for (g = 1; g <= ng; g++)
				list("- " run_label[r] ", " model[i] " at " gx[g] ": " gap[g])
		}
	if (listed)
		print ""
}

# A line of the list under the table.
function list(s) {
	print s
	listed = 1
}
