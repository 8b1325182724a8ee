#!/usr/bin/env bash
# Idempotent installer of what the widget's browser and JS tests need on a fresh Debian/Ubuntu machine:
# Debian `chromium` (Playwright drives it; `playwright install` is never used), the Python dev extras
# (playwright, jupyterlab, notebook 7, nbclient) into the project's venv, and the JS test tools (vitest, jsdom) via npm.
# Usage: scripts/install-e2e.sh   (run from anywhere; uses sudo for apt when not root)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"

if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "install-e2e: installing Debian chromium"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
else
  echo "install-e2e: /usr/bin/chromium present"
fi

if [ -x "$PY" ]; then
  if ! "$PY" -c "import playwright, jupyterlab, notebook, nbclient" 2>/dev/null; then
    echo "install-e2e: installing playwright, jupyterlab, notebook, nbclient into $PY"
    "$PY" -m pip install --quiet "playwright>=1.40" "jupyterlab>=4" "notebook>=7" "nbclient>=0.9" "nbformat>=5"
  else
    echo "install-e2e: playwright, jupyterlab, notebook, nbclient present"
  fi
else
  echo "install-e2e: no venv python at $PY (set PYTHON=...); skipping Python packages" >&2
fi

if command -v npm >/dev/null 2>&1; then
  cd "$ROOT"
  if [ -f package-lock.json ]; then
    echo "install-e2e: npm ci"
    npm ci --no-audit --no-fund
  else
    echo "install-e2e: npm install"
    npm install --no-audit --no-fund
  fi
else
  echo "install-e2e: npm not found; install Node.js >= 20 to run the JS unit tests" >&2
  exit 1
fi
echo "install-e2e: done"
