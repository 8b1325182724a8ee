"""Shared set-up for the benchmarks: an offline VIDWIDGET_HOME seeded with the Kinetics-400 label map from
``../shared/data``, and the workload of real clips."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
VIDEOS = SHARED / "videos"
# The real clips (the 32-frame one is a cut of cleaning_pool and is left out to keep clips full length).
CLIP_NAMES = ("arm_wrestling.mp4", "cleaning_pool.mp4", "filling_eyebrows_mpeg4.avi")


def prepare_home() -> Path:
    """Use ``VIDWIDGET_HOME`` if set, else a benchmark home in the temp dir (kept between runs so converted
    weights and compiled models are reused); make sure the K400 label map is there without any network."""
    home = Path(os.environ.setdefault("VIDWIDGET_HOME", str(Path(tempfile.gettempdir()) / "vidwidget-bench")))
    labels = home / "labels" / "label_map.txt"
    if not labels.is_file():
        labels.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHARED / "kinetics" / "label_map_400.txt", labels)
    return home


def workload(count: int = 16) -> list[Path]:
    """``count`` clip paths cycling over the real clips in ../shared/data/videos."""
    paths = [VIDEOS / name for name in CLIP_NAMES]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"benchmark data missing: {missing} (../shared must sit beside the project root)")
    return [paths[i % len(paths)] for i in range(count)]
