# bench/compare-syscalls.awk - the regression gate's count: system calls and
# context switches per message, a build against its base.
#
#   awk [-v thr_calls=0.5] [-v thr_ctx=0.5] -f bench/compare-syscalls.awk BASE.csv NOW.csv
#
# Each file is bench/syscalls.sh --gate's CSV (model, messages, counter,
# metric, count, per_msg): one connection, one message at a time, where
# every echo is exactly the model's calls and the server sleeps once per
# message. So
# the figures do not depend on the machine's speed: unchanged, a model's
# calls per message agree to within a few hundredths (start-up and the
# stop, a few dozen calls, spread over thousands of messages), and one
# extra call per message is +1.00 however fast the machine is.
#
# A model regresses when any call (or "other": the calls not counted by
# name) rises by thr_calls per message or more (0.5: half of the smallest
# change that can happen, one call per message), or the context switches
# per message by thr_ctx (0.5) or more. Fewer is reported, never a failure.
# Switches are compared only when both files have them (perf counts them;
# strace cannot).
#
# Output: a Markdown table (model, what, base, now, change, verdict) of the
# calls that are at least 0.05 per message on either side, the total and the
# switches, then "REGRESSION: MODEL: ..." or "FAILED: MODEL: ..." lines.
# Exit status: 0 none, 1 a regression or a model that failed now, 2 a file
# that is not such a CSV.

BEGIN {
	FS = ","
	if (thr_calls == "")
		thr_calls = 0.5
	if (thr_ctx == "")
		thr_ctx = 0.5
	thr_calls += 0
	thr_ctx += 0
}

FNR == 1 {
	file++
	side = (file == 1) ? "base" : "now"
	if ($1 != "model" || $4 != "metric" || $6 != "per_msg") {
		print "compare-syscalls.awk: " FILENAME ": not a bench/syscalls.sh --gate CSV" > "/dev/stderr"
		bad = 1
		exit 2
	}
	next
}

$0 == "" { next }

{
	m = $1
	if (!((side, m) in status)) {
		status[side, m] = "ok"
		if (side == "base")
			order[++nmodels] = m
	}
	if ($4 == "failed" || $4 == "not-run") {
		status[side, m] = $4
		next
	}
	msgs[side, m] = $2
	counter[side, m] = $3
	v[side, m, $4] = $6 + 0
	if (!((m, $4) in known)) {
		known[m, $4] = 1
		metrics[m] = metrics[m] " " $4
	}
}

function fmt(x) {
	return sprintf("%.2f", x)
}

function row(model, what, b, n, verdict) {
	printf "| %s | %s | %s | %s | %+.2f | %s |\n", model, what, fmt(b), fmt(n), n - b, verdict
}

END {
	if (bad)
		exit 2
	print "| model | per message | base | now | change | verdict |"
	print "|---|---|---:|---:|---:|---|"
	for (i = 1; i <= nmodels; i++) {
		m = order[i]
		if (status["base", m] != "ok")
			continue
		if (status["now", m] != "ok") {
			st = (("now", m) in status) ? status["now", m] : "missing"
			printf "| %s | — | ran | %s | — | **FAILED** |\n", m, st
			problem[++nbad] = "FAILED: " m ": the system call count ran on the base build, " st " now"
			continue
		}
		k = split(substr(metrics[m], 2), list, " ")
		# Calls by name first (sorted), then other, total, switches.
		for (a = 2; a <= k; a++) {
			t = list[a]
			for (j = a - 1; j >= 1 && list[j] > t; j--)
				list[j + 1] = list[j]
			list[j + 1] = t
		}
		flagged = 0
		for (pass = 1; pass <= 2; pass++)
			for (j = 1; j <= k; j++) {
				c = list[j]
				special = (c == "other" || c == "total" || c == "ctx_switches")
				if ((pass == 1) == special)
					continue
				if (c == "ctx_switches" && !(("base", m, c) in v && ("now", m, c) in v))
					continue
				b = v["base", m, c]
				n = v["now", m, c]
				if (!special && b < 0.05 && n < 0.05)
					continue
				thr = (c == "ctx_switches") ? thr_ctx : thr_calls
				verdict = "ok"
				if (n - b >= thr && (c != "total" || !flagged)) {
					verdict = "**REGRESSED**"
					flagged = 1
					what = (c == "ctx_switches") ? "context switches" : (c == "other" ? "system calls not counted by name" : (c == "total" ? "system calls in all" : "system call " c))
					problem[++nbad] = sprintf("REGRESSION: %s: %s %+.2f per message (%s -> %s at 1 connection, one message at a time; threshold +%.2f)",
					    m, what, n - b, fmt(b), fmt(n), thr)
				} else if (n - b >= thr) {
					verdict = "**REGRESSED** (above)"
				} else if (b - n >= thr) {
					verdict = "fewer"
				}
				row(m, (c == "ctx_switches") ? "context switches" : c, b, n, verdict)
			}
	}
	print ""
	for (i = 1; i <= nbad; i++)
		print problem[i]
	exit nbad > 0 ? 1 : 0
}
