#!/usr/bin/env bash
# `make demo`: the whole system on one box. A looping RTSP stream of the shared
# vn_intersection_1080p clip (gst-rtsp-server), central with its embedded MQTT broker,
# SQLite and the HTTP API on 127.0.0.1:8080, and an edge agent counting the stream in
# 10 s intervals, and a signal-junction agent (dry-run) that runs central's signed
# timing plans. Central prints each interval as it is stored. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
source .setup/env
bin=target/release
out=target/demo
mkdir -p "$out"
pids=()
cleanup() {
    trap - INT TERM EXIT
    echo
    echo "demo: stopping (agent drains its outbox, then central)…"
    # Agent first so its last interval reaches central; the junction; then central, then the stream.
    for pid in "${pids[@]:3:1}" "${pids[@]:2:1}" "${pids[@]:1:1}" "${pids[@]:0:1}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    echo "demo: stopped. Stored intervals stay in $out/central.db"
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

clip="$TRAFFIC_ASSETS/clips/vn_intersection_1080p.mp4"
# Each part runs in its own session (setsid) so Ctrl-C reaches only this script, which
# then stops them in order.
setsid "$bin/clip-rtsp-server" --clip "$clip" --loop > "$out/rtsp.url" &
pids+=($!)
for _ in $(seq 300); do [ -s "$out/rtsp.url" ] && break; sleep 0.1; done
url=$(head -1 "$out/rtsp.url")
[ -n "$url" ] || { echo "demo: the RTSP server did not start" >&2; exit 1; }
echo "demo: camera stream $url (looping vn_intersection_1080p)"

# Plan-signing key for the demo (the junction trusts its public half).
if [ ! -s "$out/plan.key" ] || [ ! -s "$out/plan.pub" ]; then
    rm -f "$out/plan.key" "$out/plan.pub"
    "$bin/central" keygen --out "$out/plan.key" > "$out/plan.pub"
fi
setsid "$bin/central" run --config configs/demo/central.toml --print-intervals &
pids+=($!)
for _ in $(seq 100); do curl -fs http://127.0.0.1:8080/healthz > /dev/null 2>&1 && break; sleep 0.1; done
echo "demo: central up. Dashboard: http://127.0.0.1:8080/  (log in as operator / demo-operator;"
echo "      viewer / demo-viewer, admin / demo-admin)   also /api/openapi.json  /metrics  /healthz"

RUST_LOG=${RUST_LOG:-warn} setsid "$bin/junction-agent" --profile configs/demo/junction.toml \
    --trust "demo=$(cat "$out/plan.pub")" --dry-run > "$out/junction.jsonl" &
pids+=($!)
echo "demo: junction agent up (local plan until central's first plan, after the first complete 5 minutes):"
echo "      http://127.0.0.1:8080/#/junction/demo_junction   camera: http://127.0.0.1:8080/#/camera/vn-demo-cam"

# The sample camera config, pointed at the stream, 10 s intervals, publishing to central.
sed -e "s|^source = .*|source = \"$url\"|" -e "s|^interval_s = .*|interval_s = 10|" \
    -e "s|^id = \"sample-vn-intersection\"|id = \"vn-demo-cam\"|" configs/vn_intersection_1080p.toml > "$out/agent.toml"
cat >> "$out/agent.toml" <<CONF

[mqtt]
host = "127.0.0.1"
port = 1883
status_interval_s = 10

[outbox]
dir = "outbox"
CONF
"$bin/edge-agent" validate --config "$out/agent.toml" > /dev/null
RUST_LOG=${RUST_LOG:-warn,ort=error} setsid "$bin/edge-agent" run --config "$out/agent.toml" > "$out/agent.jsonl" &
pids+=($!)
echo "demo: edge agent counting; intervals appear below every 10 s (Ctrl-C to stop)"
wait "${pids[1]}"
