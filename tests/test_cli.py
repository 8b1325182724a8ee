"""The ``vidwidget`` command: evaluation of a folder, resume after a real kill, @file options, exit codes."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from cli_helpers import count_model_calls, kill_after_first_batch

from vidwidget import cli


@pytest.fixture()
def labelled_folder(tmp_path, shared_videos):
    """Eight clips in class subfolders (copies of the shared videos under other names)."""
    root = tmp_path / "videos"
    plan = {"arm wrestling": ["arm_wrestling.mp4"], "cleaning pool": ["cleaning_pool_32frames.mp4"]}
    for label, names in plan.items():
        (root / label).mkdir(parents=True)
        for name in names:
            for i in range(4):
                shutil.copy(shared_videos / name, root / label / f"{i}_{name}")
    return root


def test_evaluate_folder_writes_seed_columns(labelled_folder, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    calls = count_model_calls(monkeypatch)
    code = cli.main(["evaluate", "--folder", str(labelled_folder), "-f", "16", "-b", "3", "-k", "5", "-o", str(out),
                     "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "top-1 accuracy: 100.00%" in printed and "top-5 accuracy: 100.00%" in printed
    df = pd.read_csv(out / "results.csv")
    seed_columns = ["YouTube_Id", "Ground_Truth", *(f"pred_{i}" for i in range(1, 6)),
                    *(f"score_{i}" for i in range(1, 6))]
    assert set(seed_columns) <= set(df.columns)
    assert len(df) == 8 and sum(calls) == 8 and calls == [3, 3, 2]  # the partial last batch ran
    assert (out / "per_class.csv").is_file() and (out / "summary.json").is_file()


def test_killed_evaluation_resumes_without_recomputing(labelled_folder, tmp_path, monkeypatch):
    out = tmp_path / "out"
    args = ["evaluate", "--folder", str(labelled_folder), "-f", "32", "-b", "2", "-o", str(out), "--no-progress"]
    done_before = kill_after_first_batch(args, out / "results.csv")
    assert 2 <= len(done_before) < 8, f"the kill came too late to test resume ({len(done_before)} rows done)"
    calls = count_model_calls(monkeypatch)
    assert cli.main(args) == 0
    assert sum(calls) == 8 - len(done_before)  # finished clips were not run again
    final = pd.read_csv(out / "results.csv")
    assert len(final) == 8 and final["clip_id"].is_unique


def test_options_from_file(labelled_folder, tmp_path, capsys):
    opts = tmp_path / "opts.txt"
    opts.write_text(f"--folder\n{labelled_folder}\n--num-frames\n16\n--num-clips\n2\n--output-dir\n{tmp_path / 'o'}\n"
                    "--no-progress\n")
    assert cli.main(["evaluate", f"@{opts}"]) == 0
    assert len(pd.read_csv(tmp_path / "o" / "results.csv")) == 2


def test_exit_codes(tmp_path, capsys):
    code = cli.main(["evaluate", "--folder", str(tmp_path), "--no-progress", "-o", str(tmp_path / "o")])
    assert code == cli.EXIT_DATA
    assert "no videos found" in capsys.readouterr().err
    code = cli.main(["evaluate", "--model", "kinetics-600", "--folder", str(tmp_path), "-o", str(tmp_path / "o")])
    assert code == cli.EXIT_MODEL and "TF Hub" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli.main(["evaluate", "--batch-size", "many"])
    assert info.value.code == 2
    assert cli.main(["download", "--kinetics", "400"]) == cli.EXIT_USAGE
