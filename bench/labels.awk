# bench/labels.awk - axis and table labels shared by chartdata.awk and
# summary.awk (loaded before them with a second -f).

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
