#!/usr/bin/env bash
# Idempotent: SUMO 1.28 from PyPI (eclipse-sumo wheel) in .venv-sumo/, and the RESCO
# benchmark scenarios from the sumo-rl==1.4.5 wheel unpacked into .setup/resco/ (their
# licences allow benchmark use only: they are never committed). Used by `make bench-signals`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-sumo
if [ ! -x "$venv/bin/sumo" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q "eclipse-sumo==1.28.0"
fi
echo "$("$venv/bin/sumo" --version 2>/dev/null | sed -n 1p)"
if [ ! -d .setup/resco/cologne8 ]; then
  mkdir -p .setup/sumo-rl .setup/resco
  "$venv/bin/pip" download -q --no-deps "sumo-rl==1.4.5" -d .setup/sumo-rl
  wheel=$(ls .setup/sumo-rl/sumo_rl-1.4.5-*.whl)
  echo "sumo-rl wheel: $wheel sha256 $(sha256sum "$wheel" | cut -d' ' -f1)"
  tmp=$(mktemp -d)
  "$venv/bin/python" -m zipfile -e "$wheel" "$tmp"
  cp -r "$tmp"/sumo_rl/nets/RESCO/* .setup/resco/
  rm -rf "$tmp"
fi
echo "setup-sumo: ready ($venv, .setup/resco)"
