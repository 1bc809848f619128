#!/usr/bin/env bash
# bench/demo-all.sh - every model's demo under the same slow clients, and
# one sheet of their timelines on a shared time axis, in teaching order.
#
#   bench/demo-all.sh            (or: make demo-all)
#
# Runs bench/demo.sh for every model of bench/models.txt in teaching order
# (the same DEMO_CLIENTS, DEMO_RATE, DEMO_SECONDS for each), its text into
# DEMO_OUT/MODEL.txt and its picture and trace beside it (demo.sh), then
# draws DEMO_OUT/all.png and .svg from the traces (bench/timeline.sh). A
# model that cannot run here is left out of the sheet, with the reason.
# Environment: as bench/demo.sh (DEMO_OUT: results/demo). Exit status: 0
# when every model that can run here ran and the sheet was drawn, 1
# otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEMO_OUT=${DEMO_OUT:-$ROOT/results/demo}
# shellcheck source=bench/models.sh disable=SC1091 # ALL_MODELS
source "$ROOT/bench/models.sh"

mkdir -p "$DEMO_OUT"
traces=() failed=0
for model in "${ALL_MODELS[@]}"; do
	rm -f "$DEMO_OUT/$model.trace"
	if ! "$ROOT/bench/demo.sh" "$model" >"$DEMO_OUT/$model.txt" 2>&1; then
		echo "demo-all: $model failed: $(tail -n 1 "$DEMO_OUT/$model.txt")" >&2
		failed=1
		continue
	fi
	if [[ -s "$DEMO_OUT/$model.trace" ]]; then
		traces+=("$DEMO_OUT/$model.trace")
		echo "demo-all: $model: $DEMO_OUT/$model.txt, $DEMO_OUT/$model.png" >&2
	else
		echo "demo-all: $model left out: $(grep -m 1 '^# demo:' "$DEMO_OUT/$model.txt" || echo 'no trace')" >&2
	fi
done
((${#traces[@]} > 0)) || {
	echo "demo-all: no model ran" >&2
	exit 1
}
"$ROOT/bench/timeline.sh" -o "$DEMO_OUT/all" "${traces[@]}" >/dev/null
echo "demo-all: the sheet: $DEMO_OUT/all.png and .svg" >&2
exit "$failed"
