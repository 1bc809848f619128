# bench/jsonflat.awk - one line "path value" for every scalar of a JSON
# object, nested keys joined with dots:
#
#   {"msgs_per_s": 84120.5, "latency_us": {"p99": 210}}
#   ->  msgs_per_s 84120.5
#       latency_us.p99 210
#
# Enough JSON for the load generator's report (objects, strings, numbers,
# true/false/null); an array is skipped whole. Strings lose their quotes
# and keep their escapes. Plain POSIX awk (mawk).

{ text = text $0 "\n" }

END {
	n = length(text)
	depth = 0
	prefix[0] = ""
	want_key = 0
	key = ""
	i = 1
	while (i <= n) {
		c = substr(text, i, 1)
		if (c == "{") {
			p = (depth == 0) ? "" : path(key)
			prefix[++depth] = p
			want_key = 1
			i++
		} else if (c == "}") {
			depth--
			want_key = 0
			i++
		} else if (c == ",") {
			want_key = 1
			i++
		} else if (c == ":") {
			want_key = 0
			i++
		} else if (c == "[") {
			# Skip the array and everything in it.
			level = 0
			for (; i <= n; i++) {
				c = substr(text, i, 1)
				if (c == "[")
					level++
				else if (c == "]" && --level == 0)
					break
			}
			i++
		} else if (c == "\"") {
			j = i + 1
			s = ""
			while (j <= n && (c = substr(text, j, 1)) != "\"") {
				if (c == "\\") {
					s = s c substr(text, j + 1, 1)
					j += 2
				} else {
					s = s c
					j++
				}
			}
			i = j + 1
			if (want_key)
				key = s
			else
				print path(key), s
		} else if (c ~ /[-0-9a-z]/) {
			j = i
			while (j <= n && substr(text, j, 1) ~ /[-+.0-9a-zA-Z]/)
				j++
			print path(key), substr(text, i, j - i)
			i = j
		} else {
			i++
		}
	}
}

function path(k) {
	return (prefix[depth] == "") ? k : prefix[depth] "." k
}
