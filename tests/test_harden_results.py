"""Issue 12, items 1-5 and 9: results keyed by the file they came from, any file name, one writer per output,
no NA guessing, strict JSON, torn rows of any shape. A tiny TF model stands in for I3D (these are about the
results file, not the network), and the videos are generated, so every test takes seconds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from cli_helpers import count_model_calls
from video_gen import write_video

from vidwidget import cli, errors
from vidwidget.data import VideoFolder
from vidwidget.inference import evaluate, result_columns, top_k_accuracy
from vidwidget.inference._resume import ResultsFile
from vidwidget.models.base import VideoModel

LABELS = ["NA", "None", "null", "nan", "red", "green", "blue"]


def _fake_logits(x):
    """Logits from the mean colour: red, green and blue clips are told apart, the NA-like labels score low."""
    m = tf.reduce_mean(x, axis=[1, 2, 3])  # [B, 3]
    return tf.concat([tf.zeros_like(m[:, :1]) + 0.1 * i for i in range(4)] + [m * 10.0], axis=1)


@pytest.fixture(scope="module")
def model():
    return VideoModel("fake-colour", LABELS, _fake_logits, min_frames=4, size=224)


@pytest.fixture()
def calls(monkeypatch):
    return count_model_calls(monkeypatch)


def _video(path, rgb, n=6):
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_video(path, [np.full((32, 48, 3), rgb, np.uint8)] * n)


RED, GREEN, BLUE = (220, 10, 10), (10, 220, 10), (10, 10, 220)


def _run(model, clips, out, **kw):
    return evaluate(clips, model, num_frames=4, batch_size=2, top_k=3, output=out, **kw)


# --- item 1: results belong to the file they came from ---------------------------------------------------------

def test_changed_file_is_recomputed_and_its_row_superseded(model, calls, tmp_path):
    folder = tmp_path / "v"
    _video(folder / "red" / "a.mp4", RED)
    _video(folder / "green" / "b.mp4", GREEN)
    out = tmp_path / "results.csv"
    first = _run(model, VideoFolder(folder).clips(), out)
    assert dict(zip(first["clip_id"], first["pred_1"], strict=True)) == {"red/a": "red", "green/b": "green"}
    assert sum(calls) == 2
    # a.mp4 is replaced by a blue video under the same name: it must be computed again, never served from disk
    _video(folder / "red" / "a.mp4", BLUE, n=7)
    calls.clear()
    second = _run(model, VideoFolder(folder).clips(), out)
    assert sum(calls) == 1
    assert len(second) == 2 and second["clip_id"].is_unique
    assert second.set_index("clip_id").loc["red/a", "pred_1"] == "blue"
    # the superseded row is gone from the file itself once the run closes it: a plain read_csv sees one row per clip
    on_disk = pd.read_csv(out)
    assert len(on_disk) == 2 and on_disk["clip_id"].is_unique
    assert on_disk.set_index("clip_id").loc["red/a", "pred_1"] == "blue"
    calls.clear()
    third = _run(model, VideoFolder(folder).clips(), out)
    assert sum(calls) == 0 and third.set_index("clip_id").loc["red/a", "pred_1"] == "blue"


def test_copied_folder_with_new_mtimes_is_recognised_by_content(model, calls, tmp_path):
    folder = tmp_path / "v"
    _video(folder / "red" / "a.mp4", RED)
    out = tmp_path / "results.csv"
    _run(model, VideoFolder(folder).clips(), out)
    moved = tmp_path / "moved"
    shutil.copytree(folder, moved, copy_function=shutil.copyfile)  # new mtimes, same bytes
    os.utime(moved / "red" / "a.mp4", ns=(1, 1))
    calls.clear()
    df = _run(model, VideoFolder(moved).clips(), out)
    assert sum(calls) == 0 and list(df["pred_1"]) == ["red"]


def test_cli_refuses_an_output_of_another_input_and_writes_nothing(model, tmp_path, monkeypatch, capsys):
    """The issue's recipe: a pool video copied as arm_wrestling.mp4 must never be served the real clip's result."""
    monkeypatch.setattr("vidwidget.models.load_model", lambda *a, **k: model)
    real, trick = tmp_path / "real", tmp_path / "trick"
    _video(real / "arm_wrestling.mp4", RED)
    _video(trick / "arm_wrestling.mp4", BLUE)
    out = tmp_path / "results"
    args = ["evaluate", "-f", "4", "-k", "3", "-o", str(out), "--no-progress"]
    assert cli.main([*args, "--folder", str(real)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    capsys.readouterr()
    assert cli.main([*args, "--folder", str(trick)]) == 2
    err = capsys.readouterr().err
    assert "results of another input" in err and str(real) in err
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before
    summary = json.loads((out / "summary.json").read_text())
    assert summary["clips"] == 1 and len(pd.read_csv(out / "results.csv")) == 1


# --- item 2: any file name --------------------------------------------------------------------------------------

def test_non_utf8_and_control_character_names_round_trip(model, calls, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("vidwidget.models.load_model", lambda *a, **k: model)
    root = tmp_path / "v"
    names = [b"\xff\xfe clip.mp4", b"new\nline.mp4", b"back\\slash.mp4", b"caf\xc3\xa9 <b>x&amp;.mp4"]
    for i, raw in enumerate(names):
        label = b"red" if i % 2 else b"gr\xe9en"
        (root / os.fsdecode(label)).mkdir(parents=True, exist_ok=True)
        _video(root / os.fsdecode(label) / os.fsdecode(raw), RED if i % 2 else GREEN)
    out = tmp_path / "out"
    assert cli.main(["evaluate", "--folder", str(root), "-f", "4", "-k", "3", "-o", str(out), "--no-progress"]) == 0
    from vidwidget.clip import unescape_name
    from vidwidget.inference.results import read_results

    text = (out / "results.csv").read_bytes().decode("utf-8")  # strict UTF-8
    df = read_results(out / "results.csv")
    assert len(df) == 4 and df["error"].isna().all(), df["error"].tolist()
    on_disk = {os.fsdecode(os.path.join(os.fsencode(lab), n)).rsplit(".", 1)[0]
               for lab in os.listdir(os.fsencode(root)) for n in os.listdir(os.path.join(os.fsencode(root), lab))}
    assert {unescape_name(i) for i in df["clip_id"]} == on_disk
    assert "\\xff\\xfe clip" in text and "gr\\xe9en" in set(df["Ground_Truth"])
    json.loads((out / "summary.json").read_text("utf-8"))
    calls.clear()
    assert cli.main(["evaluate", "--folder", str(root), "-f", "4", "-k", "3", "-o", str(out), "--no-progress"]) == 0
    assert sum(calls) == 0  # escaped ids resume like any other


# --- item 3: one writer per output ------------------------------------------------------------------------------

def test_second_writer_is_refused_and_writes_nothing(model, tmp_path):
    out = tmp_path / "results.csv"
    columns = result_columns(3)
    with ResultsFile(out, {"model": "a", "top_k": 3}, columns):
        with pytest.raises(errors.VidwidgetError, match="another process"):
            ResultsFile(out, {"model": "a", "top_k": 5}, result_columns(5))
        with pytest.raises(errors.VidwidgetError, match="another process"):
            _run(model, [], out)
    assert json.loads((tmp_path / "results.csv.json").read_text()) == {"model": "a", "top_k": 3}
    ResultsFile(out, {"model": "a", "top_k": 3}, columns).close()  # released: the next writer gets in


def test_cli_refuses_while_another_process_writes(tmp_path, capsys):
    from vidwidget._lock import OutputLock

    out = tmp_path / "out"
    out.mkdir()
    code = "import sys; from vidwidget._lock import OutputLock; l = OutputLock(sys.argv[1], 'x'); " \
           "print('locked', flush=True); sys.stdin.read()"
    holder = subprocess.Popen([sys.executable, "-c", code, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        assert cli.main(["evaluate", "--folder", str(tmp_path), "-o", str(out), "--no-progress"]) == 2
        assert time.monotonic() - started < 60  # refused at once, not after waiting
        assert "being written by another process" in capsys.readouterr().err
        assert list(out.iterdir()) == []
    finally:
        holder.stdin.close()
        holder.wait(30)
    with OutputLock(out, "out"):  # the holder's exit released it
        pass


# --- item 4: no NA guessing -------------------------------------------------------------------------------------

def test_na_like_ids_and_labels_round_trip(model, calls, tmp_path):
    root = tmp_path / "v"
    for label in ["NA", "None", "null", "nan"]:
        _video(root / label / f"{label}.mp4", RED)
    _video(root / "red" / "NaN.mp4", RED)
    out = tmp_path / "results.csv"
    first = _run(model, VideoFolder(root).clips(), out)
    acc = top_k_accuracy(first, 1)
    calls.clear()
    second = _run(model, VideoFolder(root).clips(), out)
    assert sum(calls) == 0 and len(second) == 5
    assert set(second["clip_id"]) == {"NA/NA", "None/None", "null/null", "nan/nan", "red/NaN"}
    assert set(second["Ground_Truth"]) == {"NA", "None", "null", "nan", "red"}
    assert top_k_accuracy(second, 1) == acc == 0.2
    assert len(pd.read_csv(out)) == 5


# --- item 5: strict JSON ----------------------------------------------------------------------------------------

def test_summary_is_strict_json_with_null_for_no_accuracy(model, tmp_path, monkeypatch):
    monkeypatch.setattr("vidwidget.models.load_model", lambda *a, **k: model)
    root = tmp_path / "v"
    _video(root / "unlabelled.mp4", RED)
    out = tmp_path / "out"
    assert cli.main(["evaluate", "--folder", str(root), "-f", "4", "-k", "3", "-o", str(out), "--no-progress"]) == 0

    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    summary = json.loads((out / "summary.json").read_text(), parse_constant=refuse)
    assert summary["top1"] is None and summary["top3"] is None
    json.loads((out / "results.csv.json").read_text(), parse_constant=refuse)


# --- item 9: torn rows of any shape -----------------------------------------------------------------------------

@pytest.mark.parametrize("tail", [
    'x,"a clip\nwith a newline',            # killed inside a quoted field that holds a newline
    'x,"a clip\n',                          # ... exactly after the newline
    'x,y,z\n',                              # a row with the wrong number of fields
    'x,"bad"quote,z\n',                     # stray quote
    "\x00\x00\x00\x00\n",                   # zero-filled block after a crash
    "red/a,red,red,red,gr",                 # half a line
])
def test_torn_rows_are_dropped_on_resume(model, calls, tmp_path, tail):
    root = tmp_path / "v"
    _video(root / "red" / "a.mp4", RED)
    _video(root / "green" / "b.mp4", GREEN)
    out = tmp_path / "results.csv"
    _run(model, VideoFolder(root).clips()[:1], out)
    with open(out, "a", encoding="utf-8", newline="") as fh:
        fh.write(tail)
    calls.clear()
    df = _run(model, VideoFolder(root).clips(), out)
    assert sum(calls) == 1 and sorted(df["clip_id"]) == ["green/b", "red/a"]
    again = pd.read_csv(out, keep_default_na=False)
    assert list(again.columns) == result_columns(3) and len(again) == 2
