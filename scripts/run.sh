#!/usr/bin/env bash
# Set up (if needed) and run the main job: classify videos with I3D Kinetics-400, print each clip's top-1 and
# the top-1/top-5 accuracy, and write results/<input>/ (results.csv, per_class.csv, summary.json).
#   bash scripts/run.sh                  the sample videos in ../shared/data/videos when that folder exists,
#                                        else 8 Kinetics-400 validation clips streamed from the bucket
#                                        (VIDWIDGET_KINETICS_URL; results/kinetics-400-val)
#   bash scripts/run.sh path/to/videos   a folder of yours, labels from subfolder names
#                                        (results/<folder name>-<hash of its absolute path>)
# Further arguments go to `vidwidget evaluate` (e.g. -f 32). VIDWIDGET_VENV: see scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=${VIDWIDGET_VENV:-.venv}
PY="$VENV/bin/python"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's package, whichever venv runs it
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
# Offline, the Kinetics label maps come from the shared sample data when it is there (a URL or folder works).
if [ -z "${VIDWIDGET_LABELS_URL:-}" ] && [ -d ../shared/data/kinetics ]; then
  export VIDWIDGET_LABELS_URL=../shared/data/kinetics
fi

folder=""
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  folder=$1
  shift
elif [ -d ../shared/data/videos ]; then
  folder=../shared/data/videos
fi

if [ -n "$folder" ]; then
  if [ ! -d "$folder" ]; then
    echo "run.sh: video folder $folder does not exist; name a folder of videos: bash scripts/run.sh path/to/videos" >&2
    exit 2
  fi
  # one results folder per input folder, so runs on two folders never share (or resume) a results file
  out=$("$PY" -c 'import hashlib, pathlib, sys
p = pathlib.Path(sys.argv[1]).resolve()
name = p.name or "root"
print(f"results/{name}-{hashlib.sha256(str(p).encode()).hexdigest()[:8]}")' "$folder")
  exec "$PY" -m vidwidget.cli evaluate --folder "$folder" --output-dir "$out" "$@"
fi

# No folder: the seed tutorial's story — a few Kinetics-400 validation clips, streamed (not whole archives).
out=results/kinetics-400-val
url=$("$PY" -c 'from vidwidget._config import kinetics_url; print(kinetics_url())')
mkdir -p "$out"
echo "run.sh: no video folder given and no ../shared/data/videos; streaming 8 Kinetics-400 validation clips from $url"
if ! "$PY" -m vidwidget.cli download --kinetics 400 --split val --num-clips 8 --no-progress 2>"$out/download.log"; then
  echo "run.sh: cannot reach Kinetics at $url (details in $out/download.log), so name a folder of videos instead (bash scripts/run.sh path/to/videos) or set VIDWIDGET_KINETICS_URL to a reachable Kinetics mirror." >&2
  exit 4
fi
exec "$PY" -m vidwidget.cli evaluate --kinetics 400 --split val --num-clips 8 --output-dir "$out" "$@"
