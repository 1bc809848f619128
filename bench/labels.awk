# bench/labels.awk - axis and table labels shared by chartdata.awk,
# summary.awk, verdicts.awk and the gate's compare.awk and paired.awk
# (loaded before them with a second -f).

# 10000 -> "10k": connection counts as the charts and tables print them.
function count_label(n) {
	if (n >= 1000 && n % 1000 == 0)
		return (n / 1000) "k"
	return n ""
}

# 65536 -> "64 KiB": message sizes.
function bytes_label(n) {
	if (n >= 1048576 && n % 1048576 == 0)
		return (n / 1048576) " MiB"
	if (n >= 1024 && n % 1024 == 0)
		return (n / 1024) " KiB"
	return n " B"
}

# 84213.7 -> "84.2k": a measured figure in a table, 3 significant digits
# ("—" for none).
function figure_label(v) {
	if (v == "")
		return "—"
	v += 0
	if (v >= 1e6)
		return sprintf("%.3gM", v / 1e6)
	if (v >= 1e4)
		return sprintf("%.3gk", v / 1e3)
	if (v >= 100)
		return sprintf("%.0f", v)
	return sprintf("%.3g", v)
}

# ("idle", 1000) -> "idle 1000", ("closed", 16) -> "closed c=16": a gate
# point as the gates' tables name it.
function point_label(w, x) {
	if (w == "idle")
		return "idle " x
	if (w == "size")
		return "size " x " B"
	if (w == "open")
		return "open " x "/s"
	return w " c=" x
}
