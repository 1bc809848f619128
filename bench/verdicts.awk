# bench/verdicts.awk - pairwise verdicts at the headline points of a bench
# run, as a Markdown section of its README.
#
#   awk -v models="blocking fork ..." -f bench/stats.awk -f bench/verdicts.awk raw.csv
#
# The headline points are those the project README quotes: closed loop at 64,
# 256 and 1024 connections, 10k idle connections, churn at 128 clients
# (those the run has). At each, every pair of models the lesson puts side by
# side (blocking-fork, fork-thread, thread-pool, select-poll, poll-epoll-lt,
# epoll-lt-epoll-et, fork-prefork, epoll-lt-reactors, epoll-lt-uring,
# uring-uring-multishot, epoll-lt-libevent, thread-coroutine,
# pool-leader-follower, reactors-leader-follower, reactors-epoll-procs,
# prefork-epoll-procs), then every other model against epoll-lt, is compared
# on two figures: the throughput (messages per second; churn: connections
# per second) and the server CPU time per message.
#
# A comparison is paired by round: raw.csv's `repeat` is the round, in which
# every model ran once at the point, next to each other in time. The ratio
# (subject / reference) is the geometric mean of the per-round ratios over
# the rounds where both ran cleanly, with its 95% confidence interval
# (stats_ratio_ci, bench/stats.awk). A difference is stated only when the
# whole interval lies on one side of 1 (stats_verdict); otherwise "no
# difference resolved". A pair where a model did not run (or failed every
# round) at the point is skipped, and listed with the reason.
#
# models: the run's models in teaching order (bench/models.sh); pairs whose
# models the run does not have are left out silently. points (optional)
# replaces the headline points, e.g. the message sizes of a run:
#   awk -v models="epoll-lt uring" -v points="size:4096 size:65536" \
#       -f bench/stats.awk -f bench/verdicts.awk raw.csv
# Plain POSIX awk: it runs under mawk, Debian's default.

BEGIN {
	FS = ","
	nmodels = split(models, model, " ")
	for (i = 1; i <= nmodels; i++)
		in_run[model[i]] = 1
	if (points == "")
		points = "closed:64 closed:256 closed:1024 idle:10000 churn:128"
	nhead = split(points, head, " ")
	for (h = 1; h <= nhead; h++)
		is_head[head[h]] = 1
	# Reference first, subject second: "subject ... than reference".
	npairs = 0
	nn = split("blocking:fork fork:thread thread:pool select:poll poll:epoll-lt " \
	    "epoll-lt:epoll-et fork:prefork epoll-lt:reactors epoll-lt:uring uring:uring-multishot " \
	    "epoll-lt:libevent thread:coroutine pool:leader-follower reactors:leader-follower " \
	    "reactors:epoll-procs prefork:epoll-procs",
	    neighbours, " ")
	for (i = 1; i <= nn; i++) {
		split(neighbours[i], ab, ":")
		add_pair(ab[1], ab[2])
	}
	for (i = 1; i <= nmodels; i++)
		add_pair("epoll-lt", model[i])
}

# add_pair(ref, subj): one pair, if the run has both models and the pair is
# not listed yet (in either order).
function add_pair(ref, subj) {
	if (ref == subj || !(ref in in_run) || !(subj in in_run))
		return
	if ((ref SUBSEP subj) in paired || (subj SUBSEP ref) in paired)
		return
	paired[ref SUBSEP subj] = 1
	npairs++
	pref[npairs] = ref
	psubj[npairs] = subj
}

NR == 1 {
	for (i = 1; i <= NF; i++)
		col[$i] = i
	if (!("model" in col) || !("workload" in col) || !("x" in col) || !("status" in col)) {
		print "verdicts.awk: " FILENAME ": not a bench raw.csv (no model,workload,x,status header)" > "/dev/stderr"
		bad = 1
		exit 1
	}
	next
}

$0 == "" { next }

{
	w = $col["workload"]
	x = $col["x"] + 0
	p = w ":" x
	if (!(p in is_head))
		next
	has_point[p] = 1
	m = $col["model"]
	k = p SUBSEP m
	seen[k] = 1
	st = $col["status"]
	if (st != "ok") {
		if (!(k in why))
			why[k] = (st == "not-run" ? "not run" : st) (("reason" in col) && $col["reason"] != "" ? ": " $col["reason"] : "")
		next
	}
	r = ("repeat" in col) ? $col["repeat"] : ++seq[k]
	if ((k SUBSEP r) in has_round)
		next # a round counts once (the first clean row of it)
	has_round[k SUBSEP r] = 1
	nrounds[k]++
	round[k, nrounds[k]] = r
	tput[k, r] = (w == "churn") ? field("conns_per_s") : field("msgs_per_s")
	cpu[k, r] = field("server_us_per_msg")
	if (("client_bound" in col) && $col["client_bound"] == 1)
		bound[k] = 1
}

# field(name): the row's value of column name, or "" (missing, null).
function field(name,    v) {
	if (!(name in col))
		return ""
	v = $col[name]
	return (v == "" || v == "null" || v == "NA" || v == "nan") ? "" : v + 0
}

# compare(p, ref, subj, which, out): out = stats_ratio_ci of subj / ref at
# point p over the rounds where both have a figure (which: "tput" or "cpu").
function compare(p, ref, subj, which, out,    kr, ks, i, r, n, a, b, va, vb) {
	kr = p SUBSEP ref
	ks = p SUBSEP subj
	n = 0
	for (i = 1; i <= nrounds[ks]; i++) {
		r = round[ks, i]
		if (!((kr SUBSEP r) in has_round))
			continue
		va = (which == "tput") ? tput[ks, r] : cpu[ks, r]
		vb = (which == "tput") ? tput[kr, r] : cpu[kr, r]
		if (va == "" || vb == "")
			continue
		n++
		a[n] = va
		b[n] = vb
	}
	stats_ratio_ci(a, b, n, out)
}

# Percentages to two significant figures ("16", "3.2", "0.7"), "<0.1" below.
function pct(v) {
	if (v >= 10)
		return sprintf("%.0f", v)
	if (v >= 1)
		return sprintf("%.2g", v)
	return (v < 0.1) ? "<0.1" : sprintf("%.1f", v)
}

function ratio_fmt(v) {
	return (v >= 10) ? sprintf("%.3g", v) : sprintf("%.2f", v)
}

# times(v): a factor of 2 or more, "2.5", "11".
function times(v) {
	return (v >= 10) ? sprintf("%.0f", v) : sprintf("%.2g", v)
}

# phrase(o, which, long): how the ratio o reads. long 0: the table's short
# form ("**12% more** (CI 8–16%)"); long 1: a sentence ("uring uses 12%
# (CI 8–16%) less CPU per message than epoll-lt."), for resolved verdicts
# only. Factors of 2 or more read as "2.5x"; a ratio of a half or less is
# turned round ("epoll-lt handles 4.1x (CI 3.7–4.6x) as many ... as poll").
function phrase(o, which, subj, ref, long, w,    v, verb, more, less, unit, big, r, lo, hi) {
	v = stats_verdict(o["lo"], o["hi"])
	if (o["n"] == 0)
		return (which == "cpu") ? "no CPU figure in common" : "no round in common"
	if (o["lo"] == "")
		return "ratio " ratio_fmt(o["ratio"]) ", one round: no interval"
	if (v == "none")
		return "no difference resolved (ratio " ratio_fmt(o["ratio"]) ", CI " ratio_fmt(o["lo"]) \
		    "–" ratio_fmt(o["hi"]) ")"
	r = o["ratio"]
	lo = o["lo"]
	hi = o["hi"]
	if (which == "cpu") {
		verb = "uses"
		more = "more"
		less = "less"
		unit = "CPU per message"
		big = "as much CPU per message as"
	} else {
		verb = "handles"
		more = "more"
		less = "fewer"
		unit = (w == "churn") ? "connections per second" : "messages per second"
		big = "as many " unit " as"
	}
	if (r >= 2) {
		if (!long)
			return "**" times(r) "x** (CI " times(lo) "–" times(hi) "x)"
		return subj " " verb " " times(r) "x (CI " times(lo) "–" times(hi) "x) " big " " ref "."
	}
	if (r <= 0.5) {
		if (!long)
			return "**1/" times(1 / r) "** (CI 1/" times(1 / lo) "–1/" times(1 / hi) ")"
		return ref " " verb " " times(1 / r) "x (CI " times(1 / hi) "–" times(1 / lo) "x) " big " " subj "."
	}
	if (v == "higher") {
		if (!long)
			return "**" pct(100 * (r - 1)) "% " more "** (CI " pct(100 * (lo - 1)) "–" pct(100 * (hi - 1)) "%)"
		return subj " " verb " " pct(100 * (r - 1)) "% (CI " pct(100 * (lo - 1)) "–" pct(100 * (hi - 1)) \
		    "%) " more " " unit " than " ref "."
	}
	if (!long)
		return "**" pct(100 * (1 - r)) "% " less "** (CI " pct(100 * (1 - hi)) "–" pct(100 * (1 - lo)) "%)"
	return subj " " verb " " pct(100 * (1 - r)) "% (CI " pct(100 * (1 - hi)) "–" pct(100 * (1 - lo)) \
	    "%) " less " " unit " than " ref "."
}

# A heading for the point p ("closed:256").
function point_title(p,    part) {
	split(p, part, ":")
	if (part[1] == "closed")
		return "Closed loop, " part[2] " connections"
	if (part[1] == "idle")
		return count_label(part[2]) " idle connections (the active clients' throughput)"
	if (part[1] == "churn")
		return "Churn, " part[2] " concurrent clients"
	if (part[1] == "size")
		return "Message size " bytes_label(part[2])
	return part[1] " " part[2]
}

# usable(p, m): why model m cannot be compared at p, or "" when it can.
function unusable(p, m,    k) {
	k = p SUBSEP m
	if (nrounds[k] > 0)
		return ""
	if (k in why)
		return why[k]
	return "no row at this point"
}

function verdict_table(p,    wpart, w, i, ref, subj, t, c, line, nsent, sent, nskip, skip, wr, ws, anyb, rounds) {
	split(p, wpart, ":")
	w = wpart[1]
	printf "### %s\n\n", point_title(p)
	print "| compared | " (w == "churn" ? "connections/s" : "msgs/s") " | server CPU per message | rounds |"
	print "|---|---|---|---:|"
	nsent = nskip = anyb = 0
	for (i = 1; i <= npairs; i++) {
		ref = pref[i]
		subj = psubj[i]
		wr = unusable(p, ref)
		ws = unusable(p, subj)
		if (wr != "" || ws != "") {
			skip[++nskip] = subj " vs " ref ": " (ws != "" ? subj " " ws : ref " " wr)
			continue
		}
		split("", t)
		split("", c)
		compare(p, ref, subj, "tput", t)
		compare(p, ref, subj, "cpu", c)
		line = "| " subj " vs " ref " | " phrase(t, "tput", subj, ref, 0, w)
		if ((p SUBSEP ref) in bound || (p SUBSEP subj) in bound) {
			line = line " (client-bound)"
			anyb = 1
		}
		rounds = t["n"] (c["n"] != t["n"] ? " (CPU: " c["n"] ")" : "")
		print line " | " phrase(c, "cpu", subj, ref, 0, w) " | " rounds " |"
		if (stats_verdict(t["lo"], t["hi"]) != "none")
			sent[++nsent] = phrase(t, "tput", subj, ref, 1, w)
		if (stats_verdict(c["lo"], c["hi"]) != "none")
			sent[++nsent] = phrase(c, "cpu", subj, ref, 1, w)
	}
	print ""
	if (anyb)
		print "(client-bound): the load generator used its whole core in some round for one of the " \
		    "two, so the throughput there is the client's limit, not the server's.\n"
	if (nsent > 0) {
		print "Resolved differences:\n"
		for (i = 1; i <= nsent; i++)
			print "- " sent[i]
		print ""
	} else {
		print "No difference resolved at this point.\n"
	}
	if (nskip > 0) {
		print "Not compared:\n"
		for (i = 1; i <= nskip; i++)
			print "- " skip[i]
		print ""
	}
}

END {
	if (bad)
		exit 1
	print "## Verdicts at the headline points\n"
	nshown = 0
	for (h = 1; h <= nhead; h++)
		if (head[h] in has_point)
			nshown++
	if (nshown == 0) {
		print "None of the headline points (closed loop at 64, 256 and 1024 connections, 10k idle"
		print "connections, churn at 128 clients) is in this run.\n"
		exit 0
	}
	print "Each model against its neighbour in the lesson and against epoll-lt. The ratio is"
	print "the subject's figure over the reference's (\"uring vs epoll-lt\": uring / epoll-lt),"
	print "the geometric mean over the rounds in which both ran cleanly (in a round every model"
	print "runs once at the point, next to each other in time, so drift of the machine between"
	print "rounds cancels), with its 95% confidence interval. A difference is stated only when"
	print "the whole interval lies on one side of 1; otherwise \"no difference resolved\": the"
	print "rounds could not tell the two apart, which is not the same as showing them equal."
	print "Throughput: more is better; CPU per message: less is better. A factor of 2 or more"
	print "reads `2.5x`, a half or less `1/2.5`.\n"
	for (h = 1; h <= nhead; h++)
		if (head[h] in has_point)
			verdict_table(head[h])
}
