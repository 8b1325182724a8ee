"""The evaluation pipeline's performance contract, checked on a stub model and stub decoder (no real video, no
I3D): decoding of later clips overlaps inference on the current batch, and the number of decoded clips waiting
for the model stays bounded however long the clip list is."""

from __future__ import annotations

import importlib
import threading
import time

import numpy as np
import tensorflow as tf

from vidwidget.clip import Clip
from vidwidget.models.base import VideoModel

evaluate_module = importlib.import_module("vidwidget.inference.evaluate")

DECODE_S = 0.01
MODEL_S = 0.04


class Recorder:
    """Timestamps of every decode and model call, and the decoded-but-not-yet-inferred high-water mark."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.decodes: list[tuple[float, float]] = []
        self.calls: list[tuple[float, float, int]] = []
        self.waiting = 0
        self.max_waiting = 0

    def decode(self, path, n, mode="crop", cache=None):
        start = time.perf_counter()
        time.sleep(DECODE_S)  # stands in for PyAV, which releases the GIL while it decodes
        with self.lock:
            self.waiting += 1
            self.max_waiting = max(self.max_waiting, self.waiting)
            self.decodes.append((start, time.perf_counter()))
        return np.zeros((n, 224, 224, 3), np.uint8)

    def run(self, frames: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        with self.lock:
            self.waiting -= len(frames)
        time.sleep(MODEL_S)  # stands in for OpenVINO/TF, which release the GIL while they compute
        self.calls.append((start, time.perf_counter(), len(frames)))
        return np.zeros((len(frames), 3), np.float32)


def stub_model(recorder: Recorder) -> VideoModel:
    return VideoModel("stub", ["a", "b", "c"], lambda x: tf.zeros((tf.shape(x)[0], 3)), backend="stub",
                      runner=recorder.run)


def test_decoding_overlaps_inference_with_bounded_queue(monkeypatch, tmp_path):
    recorder = Recorder()
    monkeypatch.setattr(evaluate_module, "load_clip", recorder.decode)
    clips = [Clip(f"clip{i:02d}", path=tmp_path / f"clip{i:02d}.mp4") for i in range(24)]
    batch = 3
    df = evaluate_module.evaluate(clips, stub_model(recorder), num_frames=9, batch_size=batch, workers=2)

    assert list(df["clip_id"]) == [c.id for c in clips] and df["error"].isna().all()
    assert [size for *_, size in recorder.calls] == [batch] * 8
    # Overlap: decodes of later clips run while the model computes a batch.
    overlapped = sum(
        any(d_start < c_end and d_end > c_start for d_start, d_end in recorder.decodes)
        for c_start, c_end, _ in recorder.calls[:-1]
    )
    assert overlapped >= len(recorder.calls) - 2, (recorder.calls, recorder.decodes)
    # Bounded: never more decoded clips waiting than the read-ahead depth (2 batches) plus the batch in hand.
    assert recorder.max_waiting <= 3 * batch, recorder.max_waiting


def test_first_batch_arrives_before_the_rest_is_decoded(monkeypatch, tmp_path):
    recorder = Recorder()
    monkeypatch.setattr(evaluate_module, "load_clip", recorder.decode)
    clips = [Clip(f"clip{i:02d}", path=tmp_path / f"clip{i:02d}.mp4") for i in range(12)]
    first: list[int] = []

    def on_batch(frame):
        if not first:
            first.append(len(recorder.decodes))

    evaluate_module.evaluate(clips, stub_model(recorder), num_frames=9, batch_size=1, on_batch=on_batch)
    # With batch_size=1 (the widget's setting) the first result comes after a few decodes, not after all 12.
    assert first and first[0] <= 3, first


def test_seed_rule_decodes_each_clip_at_its_own_batch_count(monkeypatch, tmp_path):
    """``num_frames=None``: every clip is decoded at the fewest frames of *its own* batch. (The loader used to
    read ahead into the next batch at the current batch's count, so a clip could silently be classified on the
    wrong number of frames.)"""
    counts = {f"clip{i}": c for i, c in enumerate([12, 40, 300, 280, 9, 64, 100])}
    decoded: dict[str, int] = {}
    calls: list[int] = []

    class Probe:
        def __init__(self, n):
            self.num_frames = n

    def decode(path, n, mode="crop", cache=None):
        decoded[path.stem] = n
        return np.zeros((n, 224, 224, 3), np.uint8)

    def run(frames):
        calls.append(frames.shape[1])
        return np.zeros((len(frames), 3), np.float32)

    monkeypatch.setattr(evaluate_module, "probe", lambda path: Probe(counts[path.stem]))
    monkeypatch.setattr(evaluate_module, "load_clip", decode)
    model = VideoModel("stub", ["a", "b", "c"], lambda x: tf.zeros((tf.shape(x)[0], 3)), backend="stub", runner=run)
    clips = [Clip(name, path=tmp_path / f"{name}.mp4") for name in counts]
    df = evaluate_module.evaluate(clips, model, num_frames=None, batch_size=2, workers=2)

    assert df["error"].isna().all(), df["error"].tolist()
    assert calls == [12, 280, 9, 100]
    assert decoded == {"clip0": 12, "clip1": 12, "clip2": 280, "clip3": 280, "clip4": 9, "clip5": 9, "clip6": 100}
