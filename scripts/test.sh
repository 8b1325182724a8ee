#!/usr/bin/env bash
# Run every check: set up (incl. browser test tools), lint, Python tests (unit, real-model, loopback
# downloads, JupyterLab-in-Chromium end to end) and the JS unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --e2e
export TF_CPP_MIN_LOG_LEVEL=2
.venv/bin/ruff check .
npm test --silent
.venv/bin/python -m pytest "$@"
