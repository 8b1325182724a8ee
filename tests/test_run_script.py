"""``bash scripts/run.sh`` as a new user runs it: from a fresh checkout with no ../shared beside it, it streams a
few Kinetics-400 validation clips (here from the loopback mirror) and classifies them; offline it says so in one
sentence. The checkout uses the test run's venv through VIDWIDGET_VENV, so nothing is installed anywhere."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from kinetics_mirror import MirrorServer, build_mirror
from seed_helpers import share_model_caches

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent  # the venv running the tests, used as is


def fresh_checkout(dest: Path) -> Path:
    """The repository's tracked files (as in the working tree) copied to ``dest``: what a clone holds."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True)
    for name in filter(None, listed.stdout.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    assert not (dest.parent / "shared").exists()
    return dest


def run_sh(checkout: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VIDWIDGET_", "PYTHON"))}
    return subprocess.run(["bash", "scripts/run.sh", *args], cwd=checkout, env={**clean, **env},
                          capture_output=True, text=True, timeout=600)


@pytest.fixture()
def checkout(tmp_path, k400, session_home):
    home = tmp_path / "home"
    share_model_caches(Path(session_home), home)  # the session's converted model: no second conversion
    stamp = VENV / ".vidwidget-installed"
    before = stamp.stat().st_mtime_ns if stamp.exists() else None
    yield fresh_checkout(tmp_path / "vidwidget"), {"VIDWIDGET_VENV": str(VENV), "VIDWIDGET_HOME": str(home)}
    assert (stamp.stat().st_mtime_ns if stamp.exists() else None) == before, "the test venv was reinstalled"
    assert not (tmp_path / "vidwidget" / ".venv").exists()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_run_sh_streams_and_classifies_kinetics_without_shared(checkout, tmp_path, label_server):
    clone, env = checkout
    mirror = build_mirror(tmp_path / "bucket", part_sizes=(10,), big_first_part=False, work=tmp_path / "src")
    with MirrorServer(tmp_path / "bucket") as server:
        env = {**env, "VIDWIDGET_KINETICS_URL": server.url, "VIDWIDGET_LABELS_URL": label_server.url}
        done = run_sh(clone, env, "-f", "16")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "streaming 8 Kinetics-400 validation clips" in done.stdout and "Traceback" not in done.stderr
    out = clone / "results" / "kinetics-400-val"
    df = pd.read_csv(out / "results.csv")
    labels = {c.clip_id: c.label for c in mirror.all_clips}
    assert len(df) == 8 and df["error"].isna().all() and set(df["clip_id"]) <= set(labels)
    assert list(df["Ground_Truth"]) == [labels[c] for c in df["clip_id"]]
    for clip_id, top1 in zip(df["clip_id"], df["pred_1"], strict=True):  # each clip's verdict is printed
        assert re.search(rf"^\s*{re.escape(clip_id)}\s+.*{re.escape(top1)}", done.stdout, re.M)
    assert re.search(r"^top-1 accuracy: \d+\.\d\d%$", done.stdout, re.M)
    assert re.search(r"^top-5 accuracy: \d+\.\d\d%$", done.stdout, re.M)


@pytest.mark.timeout(120)
def test_run_sh_offline_says_so_in_one_sentence(checkout):
    clone, env = checkout
    done = run_sh(clone, {**env, "VIDWIDGET_KINETICS_URL": "http://127.0.0.1:9/"})
    assert done.returncode == 4 and "Traceback" not in done.stdout + done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "cannot reach Kinetics at http://127.0.0.1:9/" in done.stderr
    assert "bash scripts/run.sh path/to/videos" in done.stderr and "VIDWIDGET_KINETICS_URL" in done.stderr
    assert "Connection refused" in (clone / "results" / "kinetics-400-val" / "download.log").read_text()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_run_sh_keeps_one_results_folder_per_input_folder(checkout, tmp_path, shared_videos, label_server):
    clone, env = checkout
    env = {**env, "VIDWIDGET_LABELS_URL": label_server.url}
    folder = tmp_path / "a" / "videos"
    (folder / "cleaning pool").mkdir(parents=True)
    shutil.copy(shared_videos / "cleaning_pool_32frames.mp4", folder / "cleaning pool" / "clip.mp4")
    done = run_sh(clone, env, str(folder), "-f", "16")
    assert done.returncode == 0, done.stdout + done.stderr
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:8]
    df = pd.read_csv(clone / "results" / f"videos-{digest}" / "results.csv")
    assert list(df["pred_1"]) == ["cleaning pool"] and "top-1 accuracy: 100.00%" in done.stdout
    missing = run_sh(clone, env, str(tmp_path / "b" / "videos"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
