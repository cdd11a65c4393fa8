#!/usr/bin/env bash
# Idempotent: the Python environment for models/training/ in .venv-train/ (pinned
# requirements from PyPI; yolox-datamint without its heavy optional dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-train
stamp="$venv/.requirements.sha256"
want=$(sha256sum models/training/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r models/training/requirements.txt
  "$venv/bin/pip" install -q --no-deps yolox-datamint==0.3.1
  echo "$want" > "$stamp"
fi
echo "setup-training: ready ($venv)"
