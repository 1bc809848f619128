# bench/chartdata.awk - one chart's data from agg.csv, in the form the
# gnuplot scripts read.
#
#   awk -v workload=closed -v metric=msgs_per_s -v scale=1 -v xmode=count \
#       -v models="blocking fork ..." -v lts="1 2 ..." -v dat=out.dat -v inc=out.gp \
#       -f bench/chartdata.awk agg.csv
#
# models: the models of the run, in teaching order; lts: the line type of
# each (its place in bench/models.sh, as bench/style.gp numbers them), so a
# model keeps its style whichever models a run has.
#
# dat gets one block per model, in the order of `models` (gnuplot's `index`),
# each row "x median lo hi client_bound resolved": lo and hi the 95%
# confidence interval of the median (agg.csv's _ci_lo, _ci_hi; the median
# itself, no bar, with one repeat), resolved 0 for a point agg.csv marks
# unresolved (drawn hollow) and 1 otherwise; a point that did not run or
# failed is a blank line, which gnuplot draws as a gap in the line, never as
# a zero. A model with no point at all gets one NaN row so the block still
# counts. inc gets gnuplot settings: nblocks, the key titles T[i] (a model
# that never ran is marked so) and line types LT[i], the x tics, a note
# naming every gap and its reason, has_cb (some point was client-bound),
# has_unresolved (some point is drawn hollow) and npoints (nothing to draw
# if 0).
#
# xmode: count (connections), bytes (message size), idle (x is the idle
# count, plotted at idle + active connections so that 0 idle fits a log
# axis), spectrum (open loop: one row per percentile, x at 1/(1 - p)).

BEGIN {
	FS = ","
	nmodels = split(models, model, " ")
	if (split(lts, lt, " ") != nmodels)
		for (i = 1; i <= nmodels; i++)
			lt[i] = i
	if (scale == "")
		scale = 1
	npct = split("p50 p90 p99 p999 p9999 max", pct, " ")
	split("p50 p90 p99 p99.9 p99.99 max", pct_label, " ")
	split("2 10 100 1000 10000 100000", pct_pos, " ")
}

NR == 1 {
	for (i = 1; i <= NF; i++)
		col[$i] = i
	next
}

$col["workload"] != workload { next }

{
	m = $col["model"]
	x = $col["x"] + 0
	if (!nrows++) {
		wl_size = $col["size"] + 0
		wl_pipeline = $col["pipeline"] + 0
		wl_conns = $col["connections"] + 0
		wl_rate = $col["rate"] + 0
	}
	if (!((x) in seen_x)) {
		seen_x[x] = 1
		xs[++nx] = x
	}
	key = m SUBSEP x
	status[key] = $col["status"]
	reason[key] = $col["reason"]
	active[key] = $col["connections"]
	bound[key] = $col["client_bound"]
	rate[key] = $col["rate"]
	msgs[key] = $col["msgs_per_s_med"]
	# Older agg.csv files have no "resolved" column: every point solid.
	res[key] = (("resolved" in col) && $col["resolved"] == "0") ? 0 : 1
	if (xmode == "spectrum") {
		for (p = 1; p <= npct; p++) {
			base = "lat_" pct[p] "_us"
			sv[key, p] = $col[base "_med"]
			sl[key, p] = ci_end($col[base "_med"], base "_ci_lo")
			sh[key, p] = ci_end($col[base "_med"], base "_ci_hi")
			if (sv[key, p] != "" && status[key] == "ok")
				pct_seen[p] = 1
		}
	} else {
		v[key] = $col[metric "_med"]
		lo[key] = ci_end(v[key], metric "_ci_lo")
		hi[key] = ci_end(v[key], metric "_ci_hi")
	}
}

# ci_end(median, column): one end of the error bar, the 95% interval of the
# median; the median itself (no bar) where there is none (one repeat, or an
# agg.csv from before the intervals).
function ci_end(med, c) {
	if (!(c in col) || $col[c] == "")
		return med
	return $col[c]
}

function sort_xs(    i, j, t) {
	for (i = 2; i <= nx; i++) {
		t = xs[i]
		for (j = i - 1; j >= 1 && xs[j] > t; j--)
			xs[j + 1] = xs[j]
		xs[j + 1] = t
	}
}

function x_label(x) {
	if (xmode == "bytes")
		return bytes_label(x)
	return count_label(x)
}

function gp_string(s) {
	gsub(/\\/, "/", s) # backslashes: awks disagree on escaping them; not worth it
	gsub(/"/, "\\\"", s)
	gsub(/\n/, "\\n", s)
	return "\"" s "\""
}

# extent LO HI: the smallest and largest value drawn, for log axes that
# start and end on a whole decade.
function extent(l, h) {
	if (l != "" && l / scale > 0 && (ylo == "" || l / scale < ylo))
		ylo = l / scale
	if (h != "" && (yhi == "" || h / scale > yhi))
		yhi = h / scale
}

function scaled(s) {
	return (s == "") ? "NaN" : s / scale
}

# Where a point of model m at x is drawn (idle: idle + active connections).
function xpos(m, x) {
	if (xmode == "idle")
		return x + active[m SUBSEP x]
	return x
}

END {
	sort_xs()
	npoints = 0
	has_cb = 0
	has_unres = 0
	note = ""
	for (i = 1; i <= nmodels; i++) {
		m = model[i]
		printf "# %s\n", m > dat
		rows = 0
		gap = 0
		if (xmode == "spectrum") {
			key = m SUBSEP xs[1]
			if (nx >= 1 && (key in status) && status[key] == "ok") {
				last_pos = 0
				for (p = 1; p <= npct; p++) {
					if (!(p in pct_seen))
						continue
					pos = (pct[p] == "max") ? last_pos * 10 : pct_pos[p]
					last_pos = pos
					if (sv[key, p] == "")
						continue
					printf "%s %s %s %s %d %d\n", pos, scaled(sv[key, p]), scaled(sl[key, p]),
					    scaled(sh[key, p]), bound[key], res[key] > dat
					if (!res[key])
						has_unres = 1
					extent(sl[key, p], sh[key, p])
					rows++
				}
			}
		} else {
			for (j = 1; j <= nx; j++) {
				key = m SUBSEP xs[j]
				if ((key in status) && status[key] == "ok" && v[key] != "") {
					printf "%s %s %s %s %d %d\n", xpos(m, xs[j]), scaled(v[key]), scaled(lo[key]),
					    scaled(hi[key]), bound[key], res[key] > dat
					if (!res[key])
						has_unres = 1
					extent(lo[key], hi[key])
					rows++
					gap = 0
					if (bound[key] == 1)
						has_cb = 1
				} else if (!gap && rows > 0) {
					printf "\n" > dat
					gap = 1
				}
			}
		}
		if (rows == 0)
			printf "NaN NaN NaN NaN 0 1\n" > dat
		printf "\n\n" > dat
		npoints += rows
		title[i] = m
		if (rows == 0)
			title[i] = m " (not run)"

		# The note: every gap of this model, with its reason; runs of
		# consecutive points with the same reason are written as a range.
		start = 0
		for (j = 1; j <= nx + 1; j++) {
			key = m SUBSEP xs[j]
			is_gap = (j <= nx) && (key in status) && status[key] != "ok"
			r = is_gap ? (status[key] == "failed" ? "failed: " : "") reason[key] : ""
			if (start && (!is_gap || r != cur_reason)) {
				where = x_label(xs[start])
				if (j - 1 > start)
					where = where "–" x_label(xs[j - 1])
				if (xmode == "spectrum" || (start == 1 && j - 1 == nx))
					line = m ": " cur_reason
				else
					line = m " at " where ": " cur_reason
				note = note (note == "" ? "" : "\n") line
				start = 0
			}
			if (is_gap && !start) {
				start = j
				cur_reason = r
			}
		}
		if (xmode == "spectrum" && nx >= 1) {
			key = m SUBSEP xs[1]
			if (status[key] == "ok" && rate[key] > 0 && msgs[key] < 0.95 * rate[key])
				note = note (note == "" ? "" : "\n") m ": reached only " int(msgs[key]) \
				    " of " rate[key] " msg/s offered"
		}
	}

	printf "npoints = %d\n", npoints > inc
	printf "wl_size = %d\nwl_pipeline = %d\nwl_conns = %d\nwl_rate = %s\n", wl_size, wl_pipeline,
	    wl_conns, wl_rate + 0 > inc
	printf "has_cb = %d\n", has_cb > inc
	printf "has_unresolved = %d\n", has_unres > inc
	printf "nblocks = %d\n", nmodels > inc
	printf "array T[%d]\n", (nmodels > 0 ? nmodels : 1) > inc
	printf "array LT[%d]\n", (nmodels > 0 ? nmodels : 1) > inc
	for (i = 1; i <= nmodels; i++)
		printf "T[%d] = %s\nLT[%d] = %d\n", i, gp_string(title[i]), i, lt[i] > inc
	printf "note = %s\n", gp_string(note) > inc
	nnote = (note == "") ? 0 : split(note, note_line, "\n")
	printf "note_lines = %d\n", nnote > inc
	printf "array N[%d]\n", (nnote > 0 ? nnote : 1) > inc
	for (i = 1; i <= nnote; i++)
		printf "N[%d] = %s\n", i, gp_string(note_line[i]) > inc
	tics = ""
	if (xmode == "spectrum") {
		last_pos = 0
		for (p = 1; p <= npct; p++) {
			if (!(p in pct_seen))
				continue
			pos = (pct[p] == "max") ? last_pos * 10 : pct_pos[p]
			last_pos = pos
			tics = tics (tics == "" ? "" : ", ") gp_string(pct_label[p]) " " pos
		}
	} else {
		for (j = 1; j <= nx; j++) {
			# idle: the tic sits where the points are (idle + active).
			pos = xs[j]
			if (xmode == "idle") {
				for (i = 1; i <= nmodels; i++)
					if ((model[i] SUBSEP xs[j]) in active) {
						pos = xpos(model[i], xs[j])
						break
					}
			}
			tics = tics (tics == "" ? "" : ", ") gp_string(x_label(xs[j])) " " pos
		}
	}
	if (tics != "")
		printf "set xtics (%s)\n", tics > inc
	# The x range: the first and last point (charts.gp adds room).
	first = 1
	lastx = 10
	if (xmode == "spectrum" && last_pos > 0) {
		first = 2
		lastx = last_pos
	} else if (nx > 0) {
		first = xs[1] + (xmode == "idle" ? active_any(xs[1]) : 0)
		lastx = xs[nx] + (xmode == "idle" ? active_any(xs[nx]) : 0)
	}
	if (lastx <= first) {
		# One point: put it in the middle.
		first = first / 3
		lastx = lastx * 3
	}
	printf "xmin = %s\nxmax = %s\n", first, lastx > inc
	printf "ylo = %s\nyhi = %s\n", (ylo == "" ? 1 : ylo), (yhi == "" ? 10 : yhi) > inc
}

function active_any(x,    i) {
	for (i = 1; i <= nmodels; i++)
		if ((model[i] SUBSEP x) in active)
			return active[model[i] SUBSEP x]
	return 0
}
