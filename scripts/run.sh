#!/usr/bin/env bash
# Set up (if needed) and run the main job: classify a folder of videos with I3D Kinetics-400 and print
# top-1/top-5 accuracy. Default folder: ../shared/data/videos. Extra arguments go to `vidwidget evaluate`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Offline, the Kinetics label maps come from the shared sample data when it is there (a URL or folder works).
if [ -z "${VIDWIDGET_LABELS_URL:-}" ] && [ -d ../shared/data/kinetics ]; then
  export VIDWIDGET_LABELS_URL=../shared/data/kinetics
fi
folder=${1:-../shared/data/videos}
shift || true
exec .venv/bin/vidwidget evaluate --folder "$folder" --output-dir results "$@"
