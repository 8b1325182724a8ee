"""``vidwidget timeline``: segments printed, CSV/JSON written, usage errors, and Ctrl-C (a real SIGINT to a real
subprocess) leaving no output file behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from timeline_helpers import brightness_model, level_frames
from video_gen import write_video

from vidwidget import cli, models

TESTS = Path(__file__).resolve().parent


@pytest.fixture()
def dark_grey_light(tmp_path):
    """6 s at 10 fps: 2 s dark, 2 s grey, 2 s light."""
    return write_video(tmp_path / "dgl.mp4", level_frames([30] * 20 + [128] * 20 + [220] * 20))


@pytest.fixture()
def fake_model(monkeypatch):
    monkeypatch.setattr(models, "load_model", lambda *a, **k: brightness_model())


def test_timeline_prints_segments_and_writes_json(dark_grey_light, tmp_path, capsys, fake_model):
    out = tmp_path / "out" / "t.json"
    code = cli.main(["timeline", str(dark_grey_light), "-o", str(out), "--window", "1", "--stride", "0.5", "-f", "4",
                     "-k", "2", "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    lines = [line.split() for line in printed.splitlines()]
    assert [row[2] for row in lines[2:5]] == ["dark", "grey", "light"]  # after the summary and header lines
    assert "11 windows of 1.00 s every 0.50 s" in printed and f"timeline: {out}" in printed
    data = json.loads(out.read_text("utf-8"))
    assert len(data["windows"]) == 11 and set(data["windows"][0]) == {"window", "start", "end", "label_1",
                                                                      "label_2", "prob_1", "prob_2"}


def test_timeline_csv_with_progress_and_min_segment(dark_grey_light, tmp_path, capsys, fake_model):
    out = tmp_path / "t.csv"
    assert cli.main(["timeline", str(dark_grey_light), "-o", str(out), "--window", "1", "-f", "4",
                     "--min-segment", "100"]) == 0
    captured = capsys.readouterr()
    assert "window" in captured.err  # tqdm's bar
    assert len(captured.out.splitlines()) == 4  # summary, header, one merged segment, output path
    assert out.read_text().splitlines()[0].startswith("window,start,end,label_1")


@pytest.mark.parametrize(("extra", "message"), [
    (["-o", "t.xlsx"], ".csv or .json"), (["--window", "0"], "positive seconds"),
    (["--stride", "nan"], "positive seconds"), (["--min-segment", "-1"], "zero or more"), (["-f", "0"], "positive"),
])
def test_timeline_usage_errors(dark_grey_light, capsys, fake_model, extra, message):
    assert cli.main(["timeline", str(dark_grey_light), *extra, "--no-progress"]) == cli.EXIT_USAGE
    assert message in capsys.readouterr().err


def test_timeline_unreadable_video_is_bad_data(tmp_path, capsys, fake_model):
    assert cli.main(["timeline", str(tmp_path / "missing.mp4"), "--no-progress"]) == cli.EXIT_DATA
    assert "not found" in capsys.readouterr().err


_CHILD = """
import sys
from pathlib import Path
from timeline_helpers import brightness_model
from vidwidget import cli, models
started = Path(sys.argv[1])
models.load_model = lambda *a, **k: brightness_model(seconds=0.5, started=started)
sys.exit(cli.main(sys.argv[2:]))
"""


def test_ctrl_c_leaves_no_output_file(dark_grey_light, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    started = tmp_path / "started"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(started), "timeline", str(dark_grey_light), "-o", str(out_dir / "t.json"),
         "--window", "1", "--stride", "0.25", "-f", "4", "-b", "1", "--no-progress"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), f"the child never reached the model: {proc.communicate()}"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == cli.EXIT_INTERRUPTED, err
    assert "interrupted; no output file was written" in err
    assert list(out_dir.iterdir()) == []  # neither the file nor a temporary part of it
