"""int8 inference: the real I3D quantized with NNCF agrees with fp32 on the shared clips (on inputs cut from frames
no calibration input was made from), the int8 cache is keyed by calibration set and settings and rebuilt when
damaged, calibration sources and errors, and ``vidwidget evaluate --precision int8``. Cache and source mechanics
run on a tiny Keras model so they take seconds."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from test_backends import LABELS, X, tiny_keras

from vidwidget import cli
from vidwidget.errors import ModelError
from vidwidget.models import _int8, backends, calibration, load_model
from vidwidget.video import read_frames
from vidwidget.video.preprocess import resample_video

EXPECTED = {
    "arm_wrestling.mp4": "arm wrestling",
    "cleaning_pool.mp4": "cleaning pool",
    "filling_eyebrows_mpeg4.avi": "filling eyebrows",
}


# ---- the real I3D ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def halves(shared_videos):
    """Each shared clip decoded whole (center crop and pad), split in time: first half, second half."""
    out = {}
    for name in EXPECTED:
        for mode in ("crop", "pad"):
            frames = read_frames(shared_videos / name, None, mode=mode)
            out[(name, mode)] = (frames[: len(frames) // 2], frames[len(frames) // 2 :])
    return out


@pytest.fixture(scope="module")
def int8_k400(halves):
    """The real K400 model in int8, calibrated on 8 inputs of 16 frames from the first halves of the shared clips
    (crop and pad, some flipped)."""
    cal = []
    for i, (first, _) in enumerate(halves.values()):
        x = resample_video(first, 16)
        cal += [x, np.ascontiguousarray(x[:, :, ::-1])] if i < 2 else [x]
    assert len(cal) == 8
    return load_model("kinetics-400", precision="int8", calibration=cal, calibration_clips=len(cal))


@pytest.mark.slow
def test_int8_agrees_with_fp32_on_held_out_inputs(int8_k400, k400, halves):
    assert int8_k400.precision == "int8" and int8_k400.backend == "openvino"
    assert k400.precision == "fp32" and "precision='int8'" in repr(int8_k400)
    # Held out: 64 frames from the second half of each clip, never seen by calibration.
    held = np.stack([resample_video(second, 64) for _, second in halves.values()])
    ref, ours = k400.logits(held), int8_k400.logits(held)
    assert ours.shape == ref.shape == (6, 400)
    assert (ours.argmax(1) == ref.argmax(1)).all(), (ours.argmax(1), ref.argmax(1))
    labels = [int8_k400.labels[i] for i in ours.argmax(1)]
    assert labels == [EXPECTED[name] for name, _ in halves]
    assert not np.allclose(ours, ref, atol=1e-3)  # really quantized: not the fp32 model under another name
    for a, b in zip(np.argsort(-ours, 1)[:, :5], np.argsort(-ref, 1)[:, :5], strict=True):
        assert len(set(a) & set(b)) >= 3  # top-5 mostly shared


@pytest.mark.slow
def test_int8_top1_on_whole_shared_clips(int8_k400, k400, shared_videos):
    from vidwidget.video import load_clip

    names = [*EXPECTED, "cleaning_pool_32frames.mp4"]
    clips = np.stack([load_clip(shared_videos / n, 64) for n in names])
    ours = int8_k400.predict(clips, k=5)
    ref = k400.predict(clips, k=5)
    assert [p.top1 for p in ours] == [p.top1 for p in ref] == [*EXPECTED.values(), "cleaning pool"]
    for a, b in zip(ours, ref, strict=True):
        assert len(set(a.labels) & set(b.labels)) >= 3  # top-5 mostly shared


# ---- selection, cache and calibration sources on a tiny model -------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    return tiny_keras()


def build(tiny, key="tiny-int8", **kwargs):
    kwargs.setdefault("precision", "int8")
    return backends.build_model(tiny, name="tiny", labels=LABELS, weights_key=key, **kwargs)


CAL = [np.random.default_rng(i).integers(0, 256, size=(9, 224, 224, 3), dtype=np.uint8) for i in range(4)]


def counting_quantize(monkeypatch) -> list:
    calls = []
    real = _int8.quantize
    monkeypatch.setattr(_int8, "quantize", lambda *a: (calls.append(a), real(*a)))
    return calls


def entries(key: str) -> list:
    from vidwidget.models._cache import cache_entry

    base = cache_entry(key)
    return sorted(p.name for p in base.parent.glob(base.name + "-openvino-*-int8-*"))


def test_requested_precision(monkeypatch):
    monkeypatch.delenv("VIDWIDGET_PRECISION", raising=False)
    assert backends.requested_precision() == "fp32"
    assert backends.requested_precision("INT8") == "int8"
    monkeypatch.setenv("VIDWIDGET_PRECISION", "int8")
    assert backends.requested_precision() == "int8"
    assert backends.requested_precision("fp32") == "fp32"  # the argument wins over the environment
    monkeypatch.setenv("VIDWIDGET_PRECISION", "fp16")
    with pytest.raises(ModelError, match="VIDWIDGET_PRECISION.*fp32, int8"):
        backends.requested_precision()


def test_tiny_int8_close_to_fp32(tiny):
    model = build(tiny, calibration=CAL, calibration_clips=4)
    assert model.backend == "openvino" and model.precision == "int8"
    ours, ref = model.logits(X), model.reference_logits(X)
    assert ours.shape == (2, 5)
    assert np.abs(ours - ref).max() < 0.1 * np.abs(ref).max()
    fp32 = build(tiny, key="tiny-int8-fp32", precision="fp32")
    assert fp32.precision == "fp32" and fp32.backend == "openvino"


def test_int8_cache_keyed_by_calibration_and_settings_and_rebuilt(tiny, monkeypatch, caplog):
    calls = counting_quantize(monkeypatch)
    build(tiny, key="tiny-key", calibration=CAL, calibration_clips=4)
    assert len(calls) == 1 and len(entries("tiny-key")) == 1
    (entry_name,) = entries("tiny-key")
    from vidwidget.models._cache import cache_entry

    entry = cache_entry(entry_name)
    info = json.loads((entry / "manifest.json").read_text())["info"]
    assert info["settings"]["activations"] == "minmax" and len(info["calibration"]) == 4
    assert info["nncf"] == _int8.nncf_version() and info["openvino"]

    build(tiny, key="tiny-key", calibration=CAL, calibration_clips=4)  # same set: a hit
    assert len(calls) == 1
    build(tiny, key="tiny-key", calibration=CAL[:3], calibration_clips=3)  # another set: another entry
    assert len(calls) == 2 and len(entries("tiny-key")) == 2
    other = _int8.Int8Settings(activations="nncf-default")
    build(tiny, key="tiny-key", calibration=CAL, calibration_clips=4, int8_settings=other)
    assert len(calls) == 3 and len(entries("tiny-key")) == 3

    weights = entry / "model.bin"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="vidwidget.models"):
        rebuilt = build(tiny, key="tiny-key", calibration=CAL, calibration_clips=4)
    assert len(calls) == 4 and "damaged or incomplete; rebuilding" in caplog.text
    assert np.isfinite(rebuilt.logits(X)).all()


def test_int8_without_calibration_reuses_the_latest_or_says_how(tiny, monkeypatch, tmp_path, shared_videos):
    monkeypatch.setenv("VIDWIDGET_HOME", str(tmp_path / "home"))  # no downloaded Kinetics clips to fall back on
    monkeypatch.delenv("VIDWIDGET_CALIBRATION", raising=False)
    with pytest.raises(ModelError, match="calibrate on.*VIDWIDGET_CALIBRATION.*precision='fp32'"):
        build(tiny, key="tiny-nocal")
    calls = counting_quantize(monkeypatch)
    build(tiny, key="tiny-nocal", calibration=CAL[:2], calibration_clips=2)
    again = build(tiny, key="tiny-nocal")  # no calibration given: the int8 model calibrated last
    assert len(calls) == 1 and again.precision == "int8"

    folder = tmp_path / "cal"
    folder.mkdir()
    shutil.copy(shared_videos / "cleaning_pool_32frames.mp4", folder / "a.mp4")
    monkeypatch.setenv("VIDWIDGET_CALIBRATION", str(folder))
    build(tiny, key="tiny-nocal", calibration_clips=2, calibration_frames=9)
    assert len(calls) == 2
    identities = [i.identity for i in calls[-1][1]]  # one file, two variants: as is and flipped
    assert len(identities) == 2 and all(str(folder / "a.mp4") in i for i in identities)
    assert identities[0].endswith("crop|orig") and identities[1].endswith("crop|flip")
    os.utime(folder / "a.mp4", ns=(1, 1))  # the file changed: a new calibration set
    build(tiny, key="tiny-nocal", calibration_clips=2, calibration_frames=9)
    assert len(calls) == 3
    monkeypatch.setenv("VIDWIDGET_CALIBRATION", str(tmp_path / "missing"))
    with pytest.raises(ModelError, match="VIDWIDGET_CALIBRATION=.* is not a folder"):
        build(tiny, key="tiny-nocal")


def test_calibration_inputs_sources(tmp_path, shared_videos):
    from vidwidget.clip import Clip

    files = [shared_videos / "cleaning_pool_32frames.mp4", shared_videos / "arm_wrestling.mp4"]
    from_paths = calibration.calibration_inputs(files, count=5, frames=9)
    assert [i.identity.rsplit("|", 2)[1:] for i in from_paths] == [
        ["crop", "orig"], ["crop", "orig"], ["crop", "flip"], ["crop", "flip"], ["pad", "orig"]]
    clip = from_paths[2].load()
    assert clip.shape == (9, 224, 224, 3) and clip.dtype == np.uint8
    np.testing.assert_array_equal(clip, from_paths[0].load()[:, :, ::-1])
    clips = [Clip(id="a", label=None, path=files[1]), Clip(id="b", label=None, path=None)]
    assert len(calibration.calibration_inputs(clips, count=1, frames=9)) == 1
    same = calibration.calibration_inputs(CAL, count=2)
    assert calibration.calibration_id(same) == calibration.calibration_id(calibration.calibration_inputs(CAL[:2]))
    assert calibration.calibration_id(same) != calibration.calibration_id(calibration.calibration_inputs(CAL[1:3]))
    with pytest.raises(ModelError, match="no calibration clips"):
        calibration.calibration_inputs(tmp_path)
    with pytest.raises(ModelError, match=r"uint8 \[T, 224, 224, 3\]"):
        calibration.calibration_inputs([np.zeros((9, 10, 10, 3), np.uint8)])


def test_int8_needs_openvino_and_the_native_model(tiny, monkeypatch):
    with pytest.raises(ModelError, match="int8 runs on OpenVINO, not on the tf backend"):
        build(tiny, backend="tf", calibration=CAL)
    with pytest.raises(ModelError, match="native kinetics-400 model only"):
        load_model("kinetics-600", precision="int8")


# ---- the CLI --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_evaluate_int8_calibrates_on_the_first_clips(tmp_path, shared_videos, capsys, monkeypatch):
    root = tmp_path / "videos"
    for label, name in (("arm wrestling", "arm_wrestling.mp4"), ("cleaning pool", "cleaning_pool_32frames.mp4")):
        (root / label).mkdir(parents=True)
        for i in range(2):
            shutil.copy(shared_videos / name, root / label / f"{i}_{name}")
    calls = counting_quantize(monkeypatch)
    out = tmp_path / "out"
    args = ["evaluate", "--folder", str(root), "--precision", "int8", "--calibration-clips", "2", "-f", "16",
            "-b", "2", "-o", str(out), "--no-progress"]
    assert cli.main(args) == 0
    assert "top-1 accuracy: 100.00%" in capsys.readouterr().out
    assert len(calls) == 1
    identities = [i.identity for i in calls[0][1]]
    assert len(identities) == 2 and all("|16|crop|orig" in i for i in identities)  # the first 2 clips, 16 frames
    summary = json.loads((out / "summary.json").read_text())
    assert summary["precision"] == "int8" and summary["top1"] == 1.0
    assert len(pd.read_csv(out / "results.csv")) == 4
    assert cli.main([*args[:-3], "-o", str(tmp_path / "again"), "--no-progress"]) == 0
    assert len(calls) == 1  # same clips: the cached int8 model


def test_nncf_is_imported_without_telemetry():
    code = (
        "import sys\n"
        "from vidwidget.models._int8 import import_nncf\n"
        "import_nncf()\n"
        "from nncf.telemetry import wrapper\n"
        "print(type(wrapper.telemetry).__name__, 'openvino_telemetry' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL", "NNCF_CI", "NNCF_DEV")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.split() == ["MagicMock", "False"]
