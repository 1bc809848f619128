#!/usr/bin/env bash
# bench/report.sh - the charts and the summary of one bench run.
#
#   bench/report.sh RUN_DIR        e.g. bench/report.sh results/latest
#
# Reads RUN_DIR/raw.csv (one row per model x workload x point x repeat, as
# bench/run.sh writes it) and RUN_DIR/env.txt, and writes into RUN_DIR:
#   agg.csv        median, min, max and the median's 95% confidence interval
#                  of every metric per model and point (bench/aggregate.awk
#                  with bench/stats.awk)
#   data/          what gnuplot reads (bench/chartdata.awk)
#   CHART.png/svg  the charts (bench/charts.gp), for the workloads that ran
#   transport.png/svg  TCP against a Unix socket per model, where the run
#                  has the unix workload beside closed (bench/transport.awk,
#                  bench/transport.gp)
#   capacity.png/svg  the capacity at p99 <= 1 ms and 10 ms per model, where
#                  the run has the cap1ms/cap10ms workloads: the summary's
#                  first section (bench/capacity.awk, bench/capacity.gp)
#   intervals.png/svg  the open loop's p99 and max latency per 100 ms over
#                  the measured time, per model, first round, where the run
#                  kept the interval lines (intervals/: bench/intervals.gp)
#   README.md      the summary: the charts, a table per chart (medians with
#                  their 95% intervals), the gaps, the unresolved points
#                  (bench/summary.awk), the pairwise verdicts at the headline
#                  points (bench/verdicts.awk, from raw.csv's rounds), and the
#                  figures of the closed loop at 64, 256 and 1024
#                  connections for the README (bench/figures.awk)
# It can be rerun on an old run, for instance after changing a chart.
# The charts and tables list the models the run has, in teaching order
# (bench/models.sh); an unpinned run (env.txt "pinned: 0") says UNPINNED
# above every chart and at the top of the summary.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC1091 # bench/models.sh: shellcheck checks it on its own
. "$BENCH_DIR/models.sh"

die() {
	echo "report.sh: $*" >&2
	exit 1
}

[[ $# -eq 1 ]] || die "usage: bench/report.sh RUN_DIR"
run_dir=$1
[[ -f "$run_dir/raw.csv" ]] || die "$run_dir/raw.csv: no such file"
command -v gnuplot >/dev/null 2>&1 ||
	die "gnuplot is not installed: run 'tests/ensure-packages gnuplot-nox' (as root) or 'apt-get install gnuplot-nox'"

# env_get KEY: the value of "KEY: value" in env.txt, or empty.
env_get() {
	[[ -f "$run_dir/env.txt" ]] || return 0
	awk -v k="$1" 'index($0, k ": ") == 1 { print substr($0, length(k) + 3); exit }' "$run_dir/env.txt"
}

awk -f "$BENCH_DIR/stats.awk" -f "$BENCH_DIR/aggregate.awk" "$run_dir/raw.csv" >"$run_dir/agg.csv.tmp"
mv "$run_dir/agg.csv.tmp" "$run_dir/agg.csv"

run_id=$(env_get run)
[[ -n "$run_id" ]] || run_id=$(basename "$(cd "$run_dir" && pwd -P)")
cpu=$(env_get cpu_model)
cores=$(env_get cores)
kernel=$(env_get kernel)
compiler=$(env_get compiler)
cflags=$(env_get optimisation)
git_rev=$(env_get git)
profile=$(env_get profile)
repeats=$(env_get repeats)
warmup=$(env_get warmup_s)
duration=$(env_get duration_s)
pinning=$(env_get pinning)
# Unpinned: env.txt says so ("pinned: 0"); runs older than that key said
# "unpinned" in their pinning line.
pinned=$(env_get pinned)
if [[ -z "$pinned" ]]; then
	pinned=1
	[[ "${pinning,,}" != *unpinned* ]] || pinned=0
fi
# A run in two network namespaces (env.txt "network: two network
# namespaces ...") says so in its summary and above every chart.
network=$(env_get network)
net_label=""
[[ $network != two\ network\ namespaces* ]] || net_label="NETNS: server and client in two network namespaces (veth)"
[[ $network != other\ hosts* ]] || net_label="REMOTE: server and load generators on other hosts (SERVER_SSH, CLIENT_SSH)"
unpinned_label=""
if [[ "$pinned" == 0 ]]; then
	unpinned_label=$pinning
	[[ "$unpinned_label" == UNPINNED* ]] || unpinned_label="UNPINNED: server and client share the machine's cores"
fi

# The models of this run, in teaching order, and each one's line type: its
# place in ALL_MODELS, so that it looks the same in every run's charts.
models=() lts=()
for i in "${!ALL_MODELS[@]}"; do
	if awk -F, -v m="${ALL_MODELS[$i]}" 'NR > 1 && $3 == m { found = 1; exit } END { exit !found }' "$run_dir/agg.csv"; then
		models+=("${ALL_MODELS[$i]}")
		lts+=($((i + 1)))
	fi
done

machine="${cpu:-unknown CPU}, ${cores:-?} cores, Linux ${kernel:-?}"
footer1="$machine · ${compiler:-cc} ${cflags} · ${pinning:-pinning unknown}"
# How many clean repeats the points had (adaptive runs give points different
# counts): "3", or "3-8".
reps=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	$c["status"] == "ok" { r = $c["repeats"] + 0; if (lo == "" || r < lo) lo = r; if (r > hi) hi = r }
	END { if (lo == "") print "?"; else if (lo == hi) print lo; else print lo "-" hi }' "$run_dir/agg.csv")
if [[ "$reps" == 1 ]]; then
	footer2="one repeat (no error bars, every point hollow)"
else
	footer2="median of $reps repeats (bars: its 95% confidence interval; hollow: wider than ±5%)"
fi
footer2="$footer2, warm-up ${warmup:-?} s, ${duration:-?} s measured"
# What every chart's second footer line ends with.
footer_run="profile ${profile:-?} · run $run_id"
[[ -z "$git_rev" ]] || footer_run="$footer_run · git $git_rev"
footer2="$footer2 · $footer_run"

# gp_string TEXT: TEXT as a gnuplot double-quoted string.
gp_string() {
	local t=${1//\\/\\\\}
	t=${t//\"/\\\"}
	printf '"%s"' "$t"
}

mkdir -p "$run_dir/data"
{
	echo "footer1 = $(gp_string "$footer1")"
	echo "footer2 = $(gp_string "$footer2")"
	# The transport chart has bars, not markers: nothing is drawn hollow.
	echo "footer2_bars = $(gp_string "${footer2/; hollow: wider than ±5%/}")"
	# The capacity (one search per point) and the intervals (first round).
	echo "footer2_once = $(gp_string "one search per point, no interval · $footer_run")"
	echo "footer2_first = $(gp_string "first round of the open-loop point · $footer_run")"
	# The memory of idle connections (bench/c1m.gp): medians of the rounds.
	echo "footer2_c1m = $(gp_string "the median of each idle point's rounds · $footer_run")"
	echo "net_label = $(gp_string "$net_label")"
	echo "unpinned = $((pinned == 0 ? 1 : 0))"
	echo "unpinned_label = $(gp_string "$unpinned_label")"
} >"$run_dir/data/common.gp"

# name workload metric scale xmode
charts="throughput closed msgs_per_s 1 count
latency closed lat_p99_us 1 count
cpu closed server_us_per_msg 1 count
memory closed server_rss_kib 1024 count
idle idle msgs_per_s 1 idle
churn churn conns_per_s 1 count
open open - 1 spectrum
size size mib_per_s 1 bytes"

drawn=()
while read -r name workload metric scale xmode; do
	rm -f "$run_dir/$name.png" "$run_dir/$name.svg"
	awk -v workload="$workload" -v metric="$metric" -v scale="$scale" -v xmode="$xmode" \
		-v models="${models[*]}" -v lts="${lts[*]}" -v dat="$run_dir/data/$name.dat" -v inc="$run_dir/data/$name.gp" \
		-f "$BENCH_DIR/labels.awk" -f "$BENCH_DIR/chartdata.awk" "$run_dir/agg.csv"
	npoints=$(awk '$1 == "npoints" { print $3 }' "$run_dir/data/$name.gp")
	[[ "${npoints:-0}" -gt 0 ]] || continue
	for fmt in png svg; do
		if ! gnuplot -e "rundir='$run_dir'; chart='$name'; fmt='$fmt'" "$BENCH_DIR/charts.gp" \
			2>"$run_dir/data/$name.$fmt.log"; then
			cat "$run_dir/data/$name.$fmt.log" >&2
			die "gnuplot failed on the $name chart ($fmt)"
		fi
		# gnuplot warns about the NaN row of a model that never ran: not news.
		grep -v -e 'no valid points' -e '^ *$' -e '^ *\^' -e '^ *"' "$run_dir/data/$name.$fmt.log" >&2 || true
	done
	drawn+=("$name")
done <<<"$charts"

setup="Profile \`${profile:-?}\`: ${repeats:-?} repeat(s) of every point, the models interleaved;"
setup="$setup each point a fresh server, ${warmup:-?} s of warm-up, then ${duration:-?} s measured."
setup="$setup ${pinning:-}."
[[ -z $network ]] || setup="$setup Network: $network."
# What the multi-core models (bench/models.sh) had to work with.
multi=()
for m in "${MULTICORE_MODELS[@]}"; do
	[[ " ${models[*]} " != *" $m "* ]] || multi+=("$m")
done
if ((${#multi[@]} > 0)); then
	if [[ "$pinned" == 1 ]]; then
		setup="$setup Pinned, the multi-core models (${multi[*]}) get one core too: prefork's workers share it, and reactors, given no \`-w\`, runs its default of one reactor per usable core: one."
	else
		setup="$setup The multi-core models (${multi[*]}) may use every core: prefork's workers are scheduled on all of them, reactors runs its default of one reactor per usable core ($(env_get reactors_workers | cut -d' ' -f1))."
	fi
fi
unavailable=$(env_get models_unavailable)
if [[ -n "$unavailable" && "$unavailable" != none ]]; then
	setup="$setup Models that cannot run on this machine, a gap in every chart: $unavailable."
fi
setup="$setup Compiler: ${compiler:-?} ${cflags}. git ${git_rev:-?}."

# The capacity chart and section (the summary's first), into
# data/capacity.md; nothing when the run has no capacity points.
capacity_section() {
	local conns targets
	rm -f "$run_dir/capacity.png" "$run_dir/capacity.svg" "$run_dir/data/capacity.dat" "$run_dir/data/capacity.md"
	awk -v models="${models[*]}" -v dat="$run_dir/data/capacity.dat" \
		-f "$BENCH_DIR/labels.awk" -f "$BENCH_DIR/capacity.awk" "$run_dir/raw.csv" >"$run_dir/data/capacity.md"
	[[ -s "$run_dir/data/capacity.md" && -s "$run_dir/data/capacity.dat" ]] || {
		rm -f "$run_dir/data/capacity.md"
		return 0
	}
	conns=$(sed -n '1s/^# //p' "$run_dir/data/capacity.dat")
	targets=$(sed -n '2s/^# targets //p' "$run_dir/data/capacity.dat")
	for fmt in png svg; do
		gnuplot -e "rundir='$run_dir'; fmt='$fmt'; conns='$conns'; targets='$targets'" "$BENCH_DIR/capacity.gp" \
			2>"$run_dir/data/capacity.$fmt.log" || {
			cat "$run_dir/data/capacity.$fmt.log" >&2
			die "gnuplot failed on the capacity chart ($fmt)"
		}
	done
}
capacity_section

# Toward a million connections (bench/c1m.awk, bench/c1m.gp): the memory of
# idle connections, measured and projected to C1M_TARGET (1,000,000), into
# data/c1m.md; nothing when no model ran two idle counts or the run has no
# kernel.csv (bench/point.sh writes it).
c1m_section() {
	local active target
	rm -f "$run_dir/c1m.png" "$run_dir/c1m.svg" "$run_dir/data/c1m.dat" "$run_dir/data/c1m.md"
	[[ -s "$run_dir/kernel.csv" ]] || return 0
	active=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		$c["workload"] == "idle" { print $c["connections"]; exit }' "$run_dir/raw.csv")
	awk -v models="${models[*]}" -v dat="$run_dir/data/c1m.dat" -v target="${C1M_TARGET:-1000000}" \
		-v active="$active" -f "$BENCH_DIR/stats.awk" -f "$BENCH_DIR/labels.awk" -f "$BENCH_DIR/c1m.awk" \
		"$run_dir/kernel.csv" "$run_dir/raw.csv" >"$run_dir/data/c1m.md"
	[[ -s "$run_dir/data/c1m.md" && -s "$run_dir/data/c1m.dat" ]] || {
		rm -f "$run_dir/data/c1m.md"
		return 0
	}
	target=$(sed -n '1s/^# //p' "$run_dir/data/c1m.dat")
	for fmt in png svg; do
		gnuplot -e "rundir='$run_dir'; fmt='$fmt'; target='$target'" "$BENCH_DIR/c1m.gp" \
			2>"$run_dir/data/c1m.$fmt.log" || {
			cat "$run_dir/data/c1m.$fmt.log" >&2
			die "gnuplot failed on the c1m chart ($fmt)"
		}
	done
}
c1m_section

# The open loop's latency over time (bench/intervals.gp), for the models
# whose first round kept its interval lines. Sets intervals_drawn.
intervals_chart() {
	local rate m ymax with=()
	intervals_drawn=0
	rm -f "$run_dir/intervals.png" "$run_dir/intervals.svg"
	rate=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		$c["workload"] == "open" { print $c["x"]; exit }' "$run_dir/raw.csv")
	[[ -n $rate ]] || return 0
	for m in "${models[@]}"; do
		[[ ! -s "$run_dir/intervals/open-$rate-$m-r1.csv" ]] || with+=("$m")
	done
	((${#with[@]} > 0)) || return 0
	# One latency axis for every panel: up to the largest max of any of them.
	ymax=$(for m in "${with[@]}"; do cat "$run_dir/intervals/open-$rate-$m-r1.csv"; done |
		awk -F, '$8 + 0 > y { y = $8 + 0 } END { print (y > 100 ? y : 100) }')
	for fmt in png svg; do
		gnuplot -e "rundir='$run_dir'; fmt='$fmt'; models='${with[*]}'; rate=$rate; ymax=$ymax" "$BENCH_DIR/intervals.gp" \
			2>"$run_dir/data/intervals.$fmt.log" || {
			cat "$run_dir/data/intervals.$fmt.log" >&2
			die "gnuplot failed on the intervals chart ($fmt)"
		}
	done
	intervals_drawn=1
}
intervals_chart

# The summary: the charts and their tables, the gaps (bench/summary.awk);
# then the pairwise verdicts at the headline points, paired by round
# (bench/verdicts.awk); then the points whose interval is too wide to trust.
summary() {
	awk -v run="$run_id" -v machine="Machine: $machine." -v setup="$setup" -v models="${models[*]}" \
		-v banner="$unpinned_label" -v drawn="${drawn[*]}" -v part_only="$1" -v intervals="$intervals_drawn" \
		-v lead="$([[ -f "$run_dir/data/capacity.md" ]] && echo "$run_dir/data/capacity.md")" \
		-f "$BENCH_DIR/labels.awk" -f "$BENCH_DIR/summary.awk" "$run_dir/agg.csv"
}
# The transport chart and section: the closed loop over TCP and over a Unix
# socket at the largest connection count both have.
transport_section() {
	local md conns
	rm -f "$run_dir/transport.png" "$run_dir/transport.svg" "$run_dir/data/transport.dat"
	md=$(awk -v models="${models[*]}" -v dat="$run_dir/data/transport.dat" \
		-f "$BENCH_DIR/stats.awk" -f "$BENCH_DIR/labels.awk" -f "$BENCH_DIR/transport.awk" "$run_dir/raw.csv")
	[[ -n $md && -s "$run_dir/data/transport.dat" ]] || return 0
	conns=$(sed -n 's/^The closed loop at \([0-9]*\) connections.*/\1/p' <<<"$md")
	for fmt in png svg; do
		gnuplot -e "rundir='$run_dir'; fmt='$fmt'; conns=$conns" "$BENCH_DIR/transport.gp" \
			2>"$run_dir/data/transport.$fmt.log" || {
			cat "$run_dir/data/transport.$fmt.log" >&2
			die "gnuplot failed on the transport chart ($fmt)"
		}
	done
	printf '%s\n\n' "$md"
}
{
	summary main
	[[ ! -s "$run_dir/data/c1m.md" ]] || cat "$run_dir/data/c1m.md"
	transport_section
	awk -v models="${models[*]}" -f "$BENCH_DIR/stats.awk" -f "$BENCH_DIR/labels.awk" -f "$BENCH_DIR/verdicts.awk" "$run_dir/raw.csv"
	summary unresolved
} >"$run_dir/README.md.tmp"
# The figures the project README quotes: closed loop at 64, 256 and 1024
# connections for the designs issue 8 compares (bench/figures.sh prints the
# same table for several runs side by side).
if awk -v check=1 -f "$BENCH_DIR/figures.awk" "$run_dir/agg.csv"; then
	{
		printf '## Figures for the README\n\n'
		awk -f "$BENCH_DIR/figures.awk" label="$([[ $pinned == 0 ]] && echo UNPINNED || echo pinned)" "$run_dir/agg.csv"
		printf '%s\n' "The same table for a pinned and an unpinned run side by side: \`bench/figures.sh PINNED_RUN UNPINNED_RUN\`."
	} >>"$run_dir/README.md.tmp"
fi
# make syscalls (bench/syscalls.sh) may leave its table beside the run: link it.
if [[ -f "$run_dir/syscalls.md" ]]; then
	printf '\n## System calls per message\n\n[syscalls.md](syscalls.md): %s\n' \
		"system calls per echoed message, by call, for every model (make syscalls)." >>"$run_dir/README.md.tmp"
fi
mv "$run_dir/README.md.tmp" "$run_dir/README.md"
echo "report: $run_dir/README.md, ${#drawn[@]} charts" >&2
