#!/usr/bin/env bash
# `make bench`: every benchmark, side by side in one run on this machine, printed and
# written to benches/RESULTS.md (machine, versions, date, then each table with the
# command that produced it). Nothing here is a pass/fail test: the figures are for
# comparison within one run, not across machines.
set -euo pipefail
cd "$(dirname "$0")/.."
source .setup/env
bin=target/release
clips="$TRAFFIC_ASSETS/clips"
out=benches/RESULTS.md
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# 10,000 simulated agents each hold a connection (the bench and Mosquitto inherit this).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

section() { printf '\n## %s\n\n' "$1" | tee -a "$tmp"; }
# Results name assets relative to the assets folder ($TRAFFIC_ASSETS), never by this
# machine's absolute path, so runs on different machines compare line by line.
portable() { sed "s|$TRAFFIC_ASSETS|\$TRAFFIC_ASSETS|g"; }
run() {
  printf '`%s`\n\n```\n' "$*" | portable | tee -a "$tmp"
  "$@" 2>&1 | portable | tee -a "$tmp"
  printf '```\n' | tee -a "$tmp"
}

{
  echo "# Benchmark results"
  echo
  echo "Written by \`make bench\` ($(date -u '+%Y-%m-%d %H:%M UTC'))."
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| machine | $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB |"
  echo "| OS | $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r) |"
  echo "| rustc | $(rustc --version) |"
  echo "| ONNX Runtime | $(basename "$ORT_DYLIB_PATH") |"
  echo "| GStreamer | $(gst-launch-1.0 --version | sed -n 's/^GStreamer //p' | head -1) |"
  echo "| Mosquitto | $(mosquitto -h 2>/dev/null | head -1 | sed 's/^mosquitto //') |"
  echo "| Python reference | $(.venv-reference/bin/python -c 'import supervision, onnxruntime, cv2, numpy; print(f"supervision {supervision.__version__}, onnxruntime {onnxruntime.__version__}, OpenCV {cv2.__version__}, NumPy {numpy.__version__}")' 2>/dev/null || echo missing) |"
} | tee "$tmp"

section "1–2. Edge pipeline vs its inference limit and vs the Python reference (1 inference thread)"
run $bin/edge --clip "$clips/multilane_road_360p.mp4" --line right_cw:125,200,600,200 --line left_cw:30,60,215,60 --threads 1
run $bin/edge --clip "$clips/vn_intersection_1080p.mp4" --line main:0,540,1919,540 --threads 1
run $bin/edge --clip "$clips/hcmc_dense_720p.mp4" --line main:0,460,1279,460 --threads 1
run $bin/edge --clip "$clips/vn_dense_b.mp4" --line main:15,580,1000,580 --threads 1

section "3–4. Several cameras on one box: N streams sharing one ONNX Runtime session"
run $bin/streams --clip "$clips/multilane_road_360p.mp4" --line right_cw:125,200,600,200 --streams 1,2,4
run $bin/streams --clip "$clips/vn_intersection_1080p.mp4" --line main:0,540,1919,540 --streams 1,2,4
run $bin/streams --clip "$clips/multilane_road_360p.mp4" --line right_cw:125,200,600,200 --streams 1,2,4 --realtime
run $bin/streams --clip "$clips/vn_intersection_1080p.mp4" --line main:0,540,1919,540 --streams 1,2,4 --realtime

section "5. Central at city scale"
# Realistic: one report a minute per camera; 10x that.
run $bin/ingest --agents 1000 --per-agent 20 --rate 17 --latency-seconds 30
run $bin/ingest --agents 1000 --per-agent 20 --rate 167 --latency-seconds 30
run $bin/ingest --agents 10000 --per-agent 5 --rate 167 --latency-seconds 30
run $bin/ingest --agents 10000 --per-agent 5 --rate 1667 --latency-seconds 30
run $bin/retime --junctions 200
run $bin/forecast --dataset los-loop --cameras 1000

section "Forecasting accuracy (issue 5's tables)"
run $bin/forecast --dataset pems-1det

mv "$tmp" "$out"
trap - EXIT
echo
echo "bench: written to $out"
