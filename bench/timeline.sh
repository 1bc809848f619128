#!/usr/bin/env bash
# bench/timeline.sh - draw a server's -v trace as a timeline picture.
#
#   bench/timeline.sh [-o OUT] [-l LOOK] TRACE            one picture: OUT.png and OUT.svg
#   bench/timeline.sh [-o OUT] TRACE TRACE...             a sheet of small timelines
#
# TRACE: what a server printed with -v (README, "The trace"), such as
#   bin/echo-select -v -p 9877 2>trace & ... ; bench/timeline.sh trace
# or what make demo keeps (DEMO_TRACE). Lines that are not trace lines are
# skipped. One picture per TRACE (time across, one lane per connection, its
# service as a bar coloured by the thread or process serving it, reads,
# writes, accepts, closes and sheds marked, an event loop's waits on their
# own lane: bench/timeline.gp), several TRACEs on one sheet with a shared
# time axis, each titled by its model (from its listen line). LOOK: the line
# under a single picture's title (make demo gives what to look for).
# OUT defaults to the first TRACE without its extension. Prints the files
# written. Needs gnuplot. Exit status: 0 drawn, 1 gnuplot failed or a trace
# has no connection, 2 usage.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
	echo "usage: bench/timeline.sh [-o OUT] [-l LOOK] TRACE [TRACE...]" >&2
	[[ -z ${1:-} ]] || echo "timeline.sh: $1" >&2
	exit 2
}

out="" look=""
while getopts ":o:l:" opt; do
	case $opt in
	o) out=$OPTARG ;;
	l) look=$OPTARG ;;
	*) usage "unknown option -$OPTARG" ;;
	esac
done
shift $((OPTIND - 1))
(($# > 0)) || usage
for t in "$@"; do
	[[ -r $t ]] || usage "cannot read $t"
done
command -v gnuplot >/dev/null 2>&1 || {
	echo "timeline.sh: gnuplot is not installed (tests/ensure-packages gnuplot-nox)" >&2
	exit 1
}
[[ -n $out ]] || out=${1%.*}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Each trace to its data (bench/timeline.awk), its model for a title, and
# the latest moment of any of them for the shared axis.
data=() titles="" xmax=0
for i in $(seq 1 $#); do
	trace=${!i}
	awk -v out="$TMP/$i" -f "$BENCH_DIR/timeline.awk" "$trace"
	read -r _ model <"$TMP/$i.info"
	[[ $(awk '$1 == "lanes" { print $2 }' "$TMP/$i.info") -gt 0 ]] || {
		echo "timeline.sh: $trace: no connection in the trace" >&2
		exit 1
	}
	data+=("$TMP/$i")
	titles+="${titles:+|}$model"
	xmax=$(awk -v x="$xmax" '$1 == "end_s" { print ($2 > x ? $2 : x) }' "$TMP/$i.info")
done
xmax=$(awk -v x="$xmax" 'BEGIN { printf "%.3f", x * 1.02 + 0.01 }')

# gp_string TEXT: TEXT as a gnuplot single-quoted string.
gp_string() {
	printf "'%s'" "${1//\'/\'\'}"
}

lookfile=""
if [[ -n $look ]]; then
	printf '%s\n' "$look" >"$TMP/look"
	lookfile=$TMP/look
fi
for fmt in png svg; do
	if ! gnuplot -e "data=$(gp_string "${data[*]}"); titles=$(gp_string "$titles"); lookfile=$(gp_string "$lookfile"); xmax=$xmax; out=$(gp_string "$out"); fmt='$fmt'" \
		"$BENCH_DIR/timeline.gp" 2>"$TMP/gnuplot.log"; then
		cat "$TMP/gnuplot.log" >&2
		exit 1
	fi
	echo "$out.$fmt"
done
