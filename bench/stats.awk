# bench/stats.awk - the statistics the bench, its report and the gate share:
# the median of the repeats with its 95% confidence interval, and the ratio
# of two paired series (the same rounds) with its own. A library of awk
# functions, no rules: load it before the program that uses it,
#
#   awk -f bench/stats.awk -f bench/aggregate.awk raw.csv
#
# Arrays are 1-indexed and hold n numbers; the functions never change them.
# Plain POSIX awk: it runs under mawk, Debian's default.
#
# Why these intervals. A bench point has few repeats (3 to 10) of a noisy
# figure. The distribution-free interval of a median (order statistics)
# needs 6 repeats before it can reach 95% at all, so the median's interval
# here is the normal approximation: median +- t(0.975, n-1) * 1.2533 * s /
# sqrt(n), where 1.2533 s / sqrt(n) is the standard error of a sample median
# of normal data and Student's t widens it for the few repeats. A ratio of
# two models (or of two builds) is judged on the repeats of one round, run
# next to each other, so slow drift of the machine cancels: the mean of the
# log-ratios +- t * s / sqrt(n), turned back into a ratio (a geometric mean
# and its interval).

# stats_t975(df): the 97.5% quantile of Student's t with df degrees of
# freedom (exact to three decimals up to 30; past that 1.96 + 2.4/df is
# within 0.005 of it).
function stats_t975(df,    t) {
	if (df < 1)
		return ""
	if (df > 30)
		return 1.96 + 2.4 / df
	split("12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262 2.228 " \
	    "2.201 2.179 2.160 2.145 2.131 2.120 2.110 2.101 2.093 2.086 " \
	    "2.080 2.074 2.069 2.064 2.060 2.056 2.052 2.048 2.045 2.042", t, " ")
	return t[df] + 0
}

# stats_sort(v, n, s): s = v sorted ascending (insertion sort: n is small).
function stats_sort(v, n, s,    i, j, x) {
	for (i = 1; i <= n; i++) {
		x = v[i] + 0
		for (j = i - 1; j >= 1 && s[j] > x; j--)
			s[j + 1] = s[j]
		s[j + 1] = x
	}
}

# stats_median(v, n): the median of n numbers ("" for none).
function stats_median(v, n,    s) {
	if (n < 1)
		return ""
	stats_sort(v, n, s)
	return (n % 2) ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
}

# stats_sd(v, n): the sample standard deviation (n - 1 in the divisor).
function stats_sd(v, n,    i, mean, ss) {
	if (n < 2)
		return ""
	for (i = 1; i <= n; i++)
		mean += v[i]
	mean /= n
	for (i = 1; i <= n; i++)
		ss += (v[i] - mean) ^ 2
	return sqrt(ss / (n - 1))
}

# stats_median_ci(v, n, out): out["median"], and the 95% interval
# out["lo"], out["hi"] and its half-width relative to the median,
# out["rel"] (0.05 = +-5%). With one repeat there is no interval: lo, hi
# and rel are "".
function stats_median_ci(v, n, out,    half) {
	out["median"] = stats_median(v, n)
	out["lo"] = out["hi"] = out["rel"] = ""
	if (n < 2)
		return
	half = stats_t975(n - 1) * 1.2533 * stats_sd(v, n) / sqrt(n)
	out["lo"] = out["median"] - half
	out["hi"] = out["median"] + half
	if (out["median"] > 0)
		out["rel"] = half / out["median"]
}

# stats_ratio_ci(a, b, n, out): the paired ratio a[i] / b[i] over the n
# pairs where both are positive: out["ratio"] (their geometric mean),
# out["lo"], out["hi"] (its 95% interval; "" with fewer than two pairs) and
# out["n"] (the pairs used).
function stats_ratio_ci(a, b, n, out,    i, k, l, m, half) {
	k = 0
	for (i = 1; i <= n; i++)
		if (a[i] > 0 && b[i] > 0)
			l[++k] = log(a[i] / b[i])
	out["n"] = k
	out["ratio"] = out["lo"] = out["hi"] = ""
	if (k < 1)
		return
	for (i = 1; i <= k; i++)
		m += l[i]
	m /= k
	out["ratio"] = exp(m)
	if (k < 2)
		return
	half = stats_t975(k - 1) * stats_sd(l, k) / sqrt(k)
	out["lo"] = exp(m - half)
	out["hi"] = exp(m + half)
}

# stats_verdict(lo, hi): how a ratio's interval reads against 1: "higher"
# (all of it above 1), "lower" (all below) or "none" (no difference
# resolved, or no interval).
function stats_verdict(lo, hi) {
	if (lo == "" || hi == "")
		return "none"
	if (lo > 1)
		return "higher"
	if (hi < 1)
		return "lower"
	return "none"
}
