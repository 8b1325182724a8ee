"""Kinetics end to end against a loopback mirror: the seed's KineticsLoader flow and the CLI's download and
evaluate commands (the network never leaves 127.0.0.1)."""

from __future__ import annotations

import pandas as pd
import pytest
from cli_helpers import count_model_calls, kill_after_first_batch
from kinetics_mirror import MirrorServer, build_mirror

import vidwidget
from vidwidget import cli


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


def test_seed_kinetics_loader_flow(kinetics_env, k400):
    loader = vidwidget.KineticsLoader("400", "val")
    paths = loader.download_n_videos(5, progress=False)
    assert len(paths) == 5 and all(p.parent == loader.data_dir for p in paths)
    assert loader.num_videos_downloaded == 5 and loader.video_filenames == sorted(paths)
    assert loader.load_and_cache_video_examples(num_frames=16) == {}
    assert loader.num_videos_processed == 5
    batches = list(loader.get_batches(batch_size=2, num_frames=16))
    assert [len(b[0]) for b in batches] == [2, 2, 1]  # the partial last batch is there (the seed crashed)
    videos, ids, truths = batches[0]
    assert videos.dtype.name == "float32" and videos.shape[1:] == (16, 224, 224, 3)
    expected = {c.clip_id: c.label for c in kinetics_env.all_clips}
    assert truths == [expected[i] for i in ids] == loader.ground_truth_labels(ids)
    probs, labels, _, _ = vidwidget.predict(videos[:1], k400)
    assert len(labels) == 5 and probs[0] >= probs[-1]
    df = vidwidget.evaluate(loader, k400, num_frames=16, batch_size=4)
    assert len(df) == 5 and df["Ground_Truth"].notna().all() and df["error"].isna().all()
    assert 0 <= vidwidget.compute_accuracy(df, num_top_classes=5) <= 100


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
