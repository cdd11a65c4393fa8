#!/usr/bin/env bash
# Idempotent setup for a fresh Debian 12 machine (and every CI run):
#   1. Debian packages: GStreamer (+ RTSP server, plugins, libav), clang, mosquitto,
#      PostgreSQL (tests start their own cluster), SQLite headers…
#   2. ONNX Runtime's shared library from the pinned `onnxruntime` wheel on PyPI
#      (loaded at run time by ort's `load-dynamic`; nothing is downloaded elsewhere).
#   3. The shared assets (detector weights, sample clips, ground truth), checked
#      against the sha256 in the model manifests and in the assets' SHA256SUMS.
# Writes .setup/env, which the Makefile sources. Re-running does only what is missing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
ORT_VERSION=1.31.1
APT_PACKAGES=(
  build-essential pkg-config clang libclang-dev python3-venv ffmpeg
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstrtspserver-1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools gstreamer1.0-rtsp
  mosquitto mosquitto-clients libsqlite3-dev postgresql curl openssl snmpd chromium
)
# Node.js for the dashboard's npm packages and its browser tests: Debian's, unless a
# node is already installed (a newer one from elsewhere is kept).
command -v node >/dev/null && command -v npm >/dev/null || APT_PACKAGES+=(nodejs npm)

say() { printf 'setup: %s\n' "$*"; }
fail() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# 1. Debian packages -----------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || fail "need root (or sudo) to install: ${missing[*]}"
    sudo=sudo
  fi
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Rust toolchain (Debian's rustc is too old; rustup is the supported installer).
if ! command -v cargo >/dev/null; then
  [ -x "$HOME/.cargo/bin/cargo" ] || {
    say "installing the Rust toolchain with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  }
  export PATH="$HOME/.cargo/bin:$PATH"
fi

# 2. ONNX Runtime from PyPI ------------------------------------------------------------
venv="$root/.venv"
ort_lib="$venv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION"
if [ ! -f "$ort_lib" ]; then
  say "installing onnxruntime==$ORT_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "onnxruntime==$ORT_VERSION"
  ort_lib=$(ls "$venv"/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so."$ORT_VERSION" 2>/dev/null | head -1)
  [ -f "$ort_lib" ] || fail "onnxruntime wheel installed but libonnxruntime.so.$ORT_VERSION not found"
fi

# 2b. Dashboard libraries (npm, locked) and the API contract tester (PyPI, pinned) ------
web="$root/central/web"
if [ ! -f "$web/node_modules/.package-lock.json" ] || [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  say "installing the dashboard's npm packages (central/web/package-lock.json)"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci in $web failed"
fi
SCHEMATHESIS_VERSION=4.32.5
contract="$root/.venv-contract"
if ! "$contract/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  say "installing schemathesis==$SCHEMATHESIS_VERSION into $contract"
  python3 -m venv "$contract"
  "$contract/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" || fail "pip install schemathesis failed"
fi
# The open-data export's validator (central/tests/export.rs runs `frictionless validate`).
FRICTIONLESS_VERSION=5.21.0
if ! "$venv/bin/frictionless" --version 2>/dev/null | grep -q "$FRICTIONLESS_VERSION"; then
  say "installing frictionless==$FRICTIONLESS_VERSION into $venv"
  "$venv/bin/pip" install -q "frictionless==$FRICTIONLESS_VERSION" || fail "pip install frictionless failed"
fi

# 3. Assets ------------------------------------------------------------------------------
assets="${TRAFFIC_ASSETS:-$root/../shared/assets}"
[ -d "$assets" ] || fail "assets folder $assets not found: download the assets with 'bash scripts/fetch-assets.sh' (into \$TRAFFIC_ASSETS if set, else ../shared/assets; it says how to get groundtruth/), or set TRAFFIC_ASSETS to an existing assets folder"
assets=$(cd "$assets" && pwd)
stamp="$root/.setup/assets.ok"
mkdir -p "$root/.setup"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$assets" ]; then
  for manifest in models/manifests/*.toml; do
    file=$(sed -n 's/^file = "\(.*\)"/\1/p' "$manifest")
    want=$(sed -n 's/^sha256 = "\(.*\)"/\1/p' "$manifest")
    path="$assets/models/$file"
    [ -f "$path" ] || fail "model file $path (from $manifest) is missing"
    got=$(sha256sum "$path" | cut -d' ' -f1)
    [ "$got" = "$want" ] || fail "model file $path: sha256 $got does not match $manifest ($want)"
  done
  for f in clips/multilane_road_360p.mp4 clips/vn_intersection_1080p.mp4 clips/overhead_road_short.mp4 \
           images/hpc203_bus.jpg; do
    [ -f "$assets/$f" ] || fail "asset $assets/$f is missing"
    (cd "$assets" && grep " $f\$" SHA256SUMS | sha256sum -c --quiet -) || fail "asset $assets/$f: sha256 mismatch with SHA256SUMS"
  done
  for f in groundtruth/multilane_road_360p.json groundtruth/vn_intersection_1080p.json; do
    [ -f "$assets/$f" ] || fail "ground truth $assets/$f is missing"
  done
  echo "$assets" > "$stamp"
  say "assets verified in $assets"
fi

cat > "$root/.setup/env" <<ENV
export ORT_DYLIB_PATH="$ort_lib"
export TRAFFIC_ASSETS="$assets"
export PATH="\$HOME/.cargo/bin:\$PATH"
ENV
say "ready (ONNX Runtime $ORT_VERSION, assets $assets)"
