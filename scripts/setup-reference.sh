#!/usr/bin/env bash
# The Python reference pipeline of the edge benchmark (benches/reference/): a venv with
# the pinned OpenCV, ONNX Runtime and supervision from PyPI. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv-reference"
req="$root/benches/reference/requirements.txt"
stamp="$venv/.requirements"
if [ ! -f "$stamp" ] || ! cmp -s "$req" "$stamp"; then
  echo "setup-reference: installing $(grep -v '^#' "$req" | tr '\n' ' ')into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$req"
  cp "$req" "$stamp"
fi
