"""Kinetics end to end against a loopback mirror: the seed's KineticsLoader flow and the CLI's download and
evaluate commands (the network never leaves 127.0.0.1)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from cli_helpers import count_model_calls, kill_after_first_batch
from kinetics_mirror import MirrorServer, build_mirror

import vidwidget
from vidwidget import cli
from vidwidget.video import resample_indices


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirror")
    built = build_mirror(root / "bucket", part_sizes=(16,), big_first_part=False, work=root / "src")
    with MirrorServer(root / "bucket") as server:
        yield built, server


@pytest.fixture()
def kinetics_env(mirror, monkeypatch, tmp_path):
    built, server = mirror
    monkeypatch.setenv("VIDWIDGET_KINETICS_URL", server.url)
    monkeypatch.setenv("VIDWIDGET_HOME", str(tmp_path / "home"))
    return built


def test_seed_kinetics_loader_flow(kinetics_env, k400, capsys, tmp_path, monkeypatch):
    loader = vidwidget.KineticsLoader("400", "val")
    csv = pd.read_csv(f"{loader.data_dir}/val.csv")  # the annotations sit beside the clips, as in the seed
    assert list(csv.columns) == ["label", "youtube_id", "time_start", "time_end", "split", "is_cc"]
    assert len(csv) == 19906
    paths = loader.download_n_videos(5, progress=False)
    assert len(paths) == 5 and all(os.path.dirname(p) == str(loader.data_dir) for p in paths)
    assert loader.num_videos_downloaded == 5 and loader.video_filenames == sorted(paths)
    assert all(os.path.basename(p)[:11] in set(csv["youtube_id"]) for p in loader.video_filenames)
    capsys.readouterr()
    loader.load_and_cache_video_examples(3)
    assert capsys.readouterr().out.splitlines() == [f"Processing {p}" for p in loader.video_filenames[:3]]
    assert loader.num_videos_processed == 3 and loader.errors == {}
    batches = list(loader.get_batches(batch_size=2, num_frames=16))
    assert [len(b[0]) for b in batches] == [2, 2, 1]  # the partial last batch is there (the seed crashed)
    videos, ids, truths = batches[0]
    assert videos.dtype.name == "float32" and videos.shape[1:] == (16, 224, 224, 3)
    expected = {c.clip_id: c.label for c in kinetics_env.all_clips}
    assert truths == [expected[i] for i in ids] == loader.ground_truth_labels(ids)
    # the full-length cache entry serves any frame count, with the seed's resampling indices
    full = loader.cache.get(loader.video_filenames[0], None, "crop", 224)
    np.testing.assert_array_equal(videos[0], full[resample_indices(len(full), 16)].astype(np.float32) / 255)
    monkeypatch.chdir(tmp_path)
    df = vidwidget.evaluate(k400, loader, num_videos=5, batch_size=4, top_n_results=5, num_frames=16,
                            savefile="out.csv", progress=False)
    assert len(df) == 5 and df.index.name == "video_id" and list(df.index) == list(range(5))
    assert df["Ground_Truth"].notna().all() and df["error"].isna().all() and (tmp_path / "out.csv").is_file()
    assert 0 <= vidwidget.compute_accuracy(df, num_top_classes=5) <= 100
    again = vidwidget.evaluate(k400, loader, num_videos=3, batch_size=4, top_n_results=5, num_frames=16,
                               savefile="out.csv")
    assert len(again) == 3 and list(again["YouTube_Id"]) == list(df["YouTube_Id"][:3])  # resumed, trimmed
    native = vidwidget.evaluate(loader.clips(), k400, num_frames=16, batch_size=4)  # native order still works
    assert len(native) == 5 and native.index.name is None
    with pytest.raises(TypeError, match="model first"):
        vidwidget.evaluate(loader, k400)


def test_cli_download_and_evaluate(kinetics_env, mirror, tmp_path, capsys):
    _, server = mirror
    assert cli.main(["download", "--kinetics", "400", "--num-clips", "3", "--no-progress"]) == 0
    assert "3 clips" in capsys.readouterr().out
    out = tmp_path / "out"
    code = cli.main(["evaluate", "--kinetics", "400", "--num-clips", "6", "-f", "16", "-b", "4", "-k", "5",
                     "-o", str(out), "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "top-1 accuracy:" in printed and "top-5 accuracy:" in printed
    df = pd.read_csv(out / "results.csv")
    assert len(df) == 6 and df["Ground_Truth"].notna().all()
    assert {"YouTube_Id", "Ground_Truth", "pred_1", "pred_5", "score_1", "score_5"} <= set(df.columns)
    assert all(len(y) == 11 for y in df["YouTube_Id"])  # Kinetics ids, parsed from the member names


def test_cli_evaluate_on_mirror_resumes_after_kill(kinetics_env, tmp_path, monkeypatch):
    out = tmp_path / "out"
    args = ["evaluate", "--kinetics", "400", "--num-clips", "8", "-f", "32", "-b", "2", "-o", str(out),
            "--no-progress"]
    done_before = kill_after_first_batch(args, out / "results.csv")  # downloads 8 clips, then evaluates
    assert 2 <= len(done_before) < 8, f"the kill came too late to test resume ({len(done_before)} rows done)"
    calls = count_model_calls(monkeypatch)
    assert cli.main(args) == 0
    assert sum(calls) == 8 - len(done_before)  # the first batch was not run again
    final = pd.read_csv(out / "results.csv")
    assert len(final) == 8 and final["clip_id"].is_unique and final["Ground_Truth"].notna().all()
    assert {"YouTube_Id", "Ground_Truth", "pred_1", "score_1"} <= set(final.columns)


def test_cli_download_failure_exit_code(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("VIDWIDGET_HOME", str(tmp_path / "home"))
    code = cli.main(["download", "--kinetics", "400", "--num-clips", "2", "--no-progress"])  # closed port
    assert code == cli.EXIT_DOWNLOAD
    assert "error:" in capsys.readouterr().err
