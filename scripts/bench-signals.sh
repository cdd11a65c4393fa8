#!/usr/bin/env bash
# `make bench-signals`: every controller on every RESCO network (SEEDS seeds, JOBS
# networks at a time), then this product's loop again with imperfect cameras (20 % of
# vehicles missed, 5-s presence dropouts about once a minute, both seeded). Writes each
# run's JSON to benches/signals/ and the tables to benches/signals/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIOS=${SCENARIOS:-cologne1 cologne3 cologne8 ingolstadt1 ingolstadt7 ingolstadt21 grid4x4 arterial4x4}
SEEDS=${SEEDS:-5}
JOBS=${JOBS:-2}
BIN=${SIGNALS_BIN:-target/release/signals}
out=benches/signals
mkdir -p "$out"
started=$(date +%s)
run() { # scenario, kind, extra args…
  local s=$1 kind=$2; shift 2
  local t0; t0=$(date +%s)
  "$BIN" --scenario "$s" --seeds "$SEEDS" --json "$@" > "$out/$s.$kind.json" 2> "$out/$s.$kind.log" || { echo "bench-signals: $s ($kind) failed; see $out/$s.$kind.log" >&2; return 1; }
  echo "bench-signals: $s $kind done in $(( $(date +%s) - t0 )) s" >&2
}
export -f run
export BIN SEEDS out
{
  for s in $SCENARIOS; do echo "run $s perfect"; done
  for s in $SCENARIOS; do echo "run $s imperfect --controllers central --camera-miss 0.2 --presence-dropout 60:5"; done
} | xargs -P "$JOBS" -I{} bash -c '{}'
elapsed=$(( $(date +%s) - started ))
python3 scripts/signals_table.py "$out" $SCENARIOS --seeds "$SEEDS" --elapsed "$elapsed" --jobs "$JOBS" | tee "$out/RESULTS.md"
