"""Predictions over time for long videos: a sliding window of clips through the model, merged into segments.

The video is decoded once, in a stream (:class:`~vidwidget.video.stream.WindowStream`), in a background thread
a batch ahead of the model; windows go through the model in batches. The result is a DataFrame with one row
per window (``window, start, end, label_1..k, prob_1..k``) and the full class probabilities in ``df.attrs``.
"""

from __future__ import annotations

import math
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import write_atomic
from .._json import dumps as strict_json
from .._json import finite
from ..models import VideoModel, load_model
from ..video.preprocess import Mode
from ..video.stream import WindowStream

ProgressCallback = Callable[[int, int], None]
SEGMENT_COLUMNS = ["start", "end", "label", "windows", "mean_prob"]


def timeline_columns(k: int) -> list[str]:
    """The columns of a timeline with top-``k`` predictions."""
    return ["window", "start", "end", *(f"label_{i}" for i in range(1, k + 1)), *(f"prob_{i}" for i in range(1, k + 1))]


class _Prefetch:
    """Runs an iterable in a daemon thread, at most ``depth`` items ahead of the consumer; ``close()`` stops it."""

    def __init__(self, iterable: Iterable, depth: int) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iterable,), daemon=True,
                                        name="vidwidget-timeline-decode")
        self._thread.start()

    def _put(self, item: tuple) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
            except queue.Full:
                continue
            return not self._stop.is_set()  # closed meanwhile: decode nothing more
        return False

    def _run(self, iterable: Iterable) -> None:
        iterator = iter(iterable)
        try:
            for item in iterator:
                if not self._put(("item", item)):
                    return
            self._put(("end", None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(("error", exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Iterator:
        while True:
            kind, value = self._queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value

    def close(self) -> None:
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def predict_timeline(
    path: str | os.PathLike,
    model: VideoModel | str = "kinetics-400",
    *,
    window: float | None = None,
    stride: float | None = None,
    num_frames: int = 64,
    top_k: int = 5,
    batch_size: int = 4,
    mode: Mode = "crop",
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> pd.DataFrame:
    """Top-``top_k`` predictions for each window of the video at ``path``.

    Windows are ``window`` seconds long, one every ``stride`` seconds (defaults: ``num_frames`` frames at the
    video's frame rate — 64 frames, I3D's natural clip, about 2.5 s — and half a window), plus a last window
    aligned to the end so the tail is covered; a video shorter than a window is one window. Each window is
    resampled to ``num_frames`` frames like any clip (``floor(T*i/N)`` over the frames whose timestamps fall
    in it) and made square by ``mode`` (``"crop"``/``"pad"``). ``model`` is a :class:`VideoModel` or a name
    for :func:`~vidwidget.models.load_model`.

    ``on_progress(done, total)`` is called before the first batch and after each one; ``cancel`` (a
    ``threading.Event``) stops between batches and the windows done so far are returned. ``df.attrs`` holds
    ``probabilities`` (float32 ``[W, C]``), ``labels``, ``fps``, ``duration``, ``window``, ``stride``,
    ``num_frames``, ``model``, ``path``, ``cancelled``, ``windows_total`` (windows planned) and ``error``
    (None, or why decoding stopped early — a damaged tail — with the windows before it returned).
    Raises :class:`~vidwidget.errors.VideoError` for a video with no decodable frame, ``ValueError`` for bad
    arguments.
    """
    batch_size = _positive_int("batch_size", batch_size)
    top_k = _positive_int("top_k", top_k)
    num_frames = _positive_int("num_frames", num_frames)
    if not isinstance(model, VideoModel):
        model = load_model(model)
    if num_frames < model.min_frames:
        raise ValueError(f"{model.name} needs at least {model.min_frames} frames per window; got num_frames="
                         f"{num_frames}. Pass num_frames={model.min_frames} or more.")
    stream = WindowStream(path, window=window, stride=stride, num_frames=num_frames, mode=mode, size=model.size)
    total = len(stream)
    spans: list[tuple[int, float, float]] = []
    probabilities: list[np.ndarray] = []
    cancelled = False
    if on_progress is not None:
        on_progress(0, total)
    prefetch = _Prefetch(stream, depth=batch_size)
    try:
        for batch in _batches(prefetch, batch_size):
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            probabilities.append(model.probabilities(np.stack([w.frames for w in batch])))
            spans.extend((w.index, w.start, w.end) for w in batch)
            if on_progress is not None:
                on_progress(len(spans), total)
            if cancel is not None and cancel.is_set() and len(spans) < total:
                cancelled = True
                break
    finally:
        prefetch.close()
    probs = np.concatenate(probabilities) if probabilities else np.zeros((0, model.num_classes), np.float32)
    df = _timeline_frame(spans, probs.astype(np.float32, copy=False), model.labels, min(top_k, model.num_classes))
    df.attrs.update(
        probabilities=probs.astype(np.float32, copy=False), labels=list(model.labels), fps=stream.fps,
        duration=stream.duration, window=stream.window, stride=stream.stride, num_frames=num_frames,
        model=model.name, path=str(path), cancelled=cancelled, windows_total=total,
        error=None if cancelled else stream.error,
    )
    return df


def _timeline_frame(spans: list[tuple[int, float, float]], probs: np.ndarray, labels: list[str], k: int
                    ) -> pd.DataFrame:
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    data: dict[str, object] = {
        "window": np.array([s[0] for s in spans], dtype=np.int64),
        "start": np.array([s[1] for s in spans], dtype=np.float64),
        "end": np.array([s[2] for s in spans], dtype=np.float64),
    }
    names = np.asarray(labels, dtype=object)
    for i in range(k):
        data[f"label_{i + 1}"] = names[order[:, i]] if len(spans) else np.array([], dtype=object)
    for i in range(k):
        data[f"prob_{i + 1}"] = np.take_along_axis(probs, order[:, i : i + 1], axis=1)[:, 0].astype(np.float64)
    return pd.DataFrame(data, columns=timeline_columns(k))


def _label_probability(df: pd.DataFrame, rows: list[int], label: str) -> np.ndarray:
    """Each window's probability of ``label``: from ``df.attrs["probabilities"]`` when present, else from the
    top-k columns (0 where the label is not among them)."""
    probs, labels = df.attrs.get("probabilities"), df.attrs.get("labels")
    if probs is not None and labels is not None and len(probs) == len(df) and label in labels:
        return np.asarray(probs)[rows, list(labels).index(label)].astype(np.float64)
    out = np.zeros(len(rows))
    k = sum(c.startswith("label_") for c in df.columns)
    for i in range(1, k + 1):
        hit = df[f"label_{i}"].to_numpy()[rows] == label
        out[hit] = df[f"prob_{i}"].to_numpy()[rows][hit]
    return out


def timeline_segments(df: pd.DataFrame, min_duration: float = 0.0) -> pd.DataFrame:
    """Segments of a timeline (``start, end, label, windows, mean_prob``): consecutive windows with the same
    top-1 label merged.

    Windows overlap, so each window owns the stretch between the midpoints of its centre and its neighbours'
    centres (the first from its start, the last to its end): segments tile the video without overlap.
    Segments shorter than ``min_duration`` seconds are merged, shortest first, into the neighbour whose label
    the short segment's windows find more probable (on a tie, the longer neighbour). ``mean_prob`` is the
    mean probability of the segment's label over its windows.
    """
    if not (isinstance(min_duration, int | float) and math.isfinite(min_duration) and min_duration >= 0):
        raise ValueError(f"min_duration must be a non-negative number of seconds, got {min_duration!r}")
    if len(df) == 0:
        return pd.DataFrame(columns=SEGMENT_COLUMNS)
    starts, ends = df["start"].to_numpy(float), df["end"].to_numpy(float)
    centres = (starts + ends) / 2
    edges = np.concatenate([[starts[0]], (centres[:-1] + centres[1:]) / 2, [ends.max()]])
    top1 = df["label_1"].to_numpy()
    segments: list[dict] = []
    for row, label in enumerate(top1):
        if segments and segments[-1]["label"] == label:
            segments[-1]["rows"].append(row)
        else:
            segments.append({"label": label, "rows": [row]})

    def span(seg: dict) -> float:
        return edges[seg["rows"][-1] + 1] - edges[seg["rows"][0]]

    while len(segments) > 1:
        short = [i for i, s in enumerate(segments) if span(s) < min_duration - 1e-9]
        if not short:
            break
        i = min(short, key=lambda j: span(segments[j]))
        rows = segments[i]["rows"]
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(segments)]
        j = max(neighbours, key=lambda n: (_label_probability(df, rows, segments[n]["label"]).mean(),
                                           span(segments[n])))
        first, second = sorted((i, j))
        merged = {"label": segments[j]["label"], "rows": segments[first]["rows"] + segments[second]["rows"]}
        segments[first : second + 1] = [merged]
        for a in (first - 1, first):  # the merge may have made two same-label segments adjacent
            if 0 <= a < len(segments) - 1 and segments[a]["label"] == segments[a + 1]["label"]:
                segments[a : a + 2] = [{"label": segments[a]["label"],
                                        "rows": segments[a]["rows"] + segments[a + 1]["rows"]}]
    return pd.DataFrame(
        [{"start": float(edges[s["rows"][0]]), "end": float(edges[s["rows"][-1] + 1]), "label": s["label"],
          "windows": len(s["rows"]), "mean_prob": float(_label_probability(df, s["rows"], s["label"]).mean())}
         for s in segments],
        columns=SEGMENT_COLUMNS,
    )


def timeline_view(df: pd.DataFrame, classes: int = 3, min_duration: float = 0.0) -> dict:
    """What a timeline view draws, as JSON-ready data: ``duration``, the ``segments`` (records of
    :func:`timeline_segments`) and ``curves`` — the probability over time (at window centres) of ``classes``
    classes: the segments' labels by total length first, then the most probable on average — plus the settings
    (``window``, ``stride``, ``num_frames``, ``model``, ``cancelled``, ``error``). Needs ``df.attrs`` from
    :func:`predict_timeline`."""
    classes = _positive_int("classes", classes)
    probs = np.asarray(df.attrs["probabilities"], dtype=np.float64)
    labels = list(df.attrs["labels"])
    segments = timeline_segments(df, min_duration)
    chosen: list[str] = []
    if len(segments):
        lengths = (segments["end"] - segments["start"]).groupby(segments["label"], sort=False).sum()
        chosen = list(lengths.sort_values(ascending=False, kind="stable").index[:classes])
    if len(df):
        for i in np.argsort(-probs.mean(axis=0), kind="stable"):
            if len(chosen) >= classes:
                break
            if labels[i] not in chosen:
                chosen.append(labels[i])
    centres = ((df["start"] + df["end"]) / 2).round(4).tolist()
    series = [{"label": label, "values": probs[:, labels.index(label)].round(4).tolist()} for label in chosen]
    view = {key: df.attrs.get(key) for key in ("duration", "window", "stride", "num_frames", "model", "cancelled",
                                                "error")}
    view.update(segments=segments.to_dict(orient="records"), curves={"times": centres, "series": series})
    return finite(view)


_META = ("model", "path", "fps", "duration", "window", "stride", "num_frames", "cancelled", "windows_total", "error")


def write_timeline(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a timeline to ``path``, atomically (readers never see half a file; an interrupted write leaves
    none): ``.csv`` — the table; ``.json`` — strict JSON (no NaN) with the settings from ``df.attrs``, the
    ``windows`` as records and the ``segments`` of :func:`timeline_segments`. Returns the path."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        data = df.to_csv(index=False).encode("utf-8")
    elif suffix == ".json":
        payload = {key: df.attrs.get(key) for key in _META}
        payload["windows"] = df.to_dict(orient="records")
        payload["segments"] = timeline_segments(df).to_dict(orient="records")
        data = strict_json(payload, ensure_ascii=False, indent=1).encode("utf-8")
    else:
        raise ValueError(f"cannot write a timeline as {target.name!r}: use a .csv or .json file name")
    write_atomic(target, data)
    return target
