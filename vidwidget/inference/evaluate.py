"""Evaluate a model over many clips: decode ahead in worker threads while the model runs, batch by batch.

Decoding (PyAV/FFmpeg and OpenCV release the GIL) overlaps inference on the current batch, through a bounded
queue of pending clips so memory stays bounded. A clip that cannot be decoded becomes a row with its reason;
the rest goes on. Results reach the caller per batch (``on_batch``), can be appended to a CSV that a later run
resumes from, and the job stops promptly when ``cancel`` is set.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from .._identity import file_identity
from ..clip import Clip
from ..models import VideoModel, load_model
from ..models.base import top_k
from ..video import ClipCache, batch_frame_count, load_clip, probe
from ._ray_engine import RayEngine
from ._resume import ResultsFile, run_settings
from .results import prediction_row, result_columns, results_frame
from .sources import KineticsParts

BatchCallback = Callable[[pd.DataFrame], None]


def as_clips(items: Iterable[Clip | str | os.PathLike]) -> list[Clip]:
    """Clips from Clip records or file paths (a path becomes an unlabeled clip named after the file)."""
    return [item if isinstance(item, Clip) else Clip.from_path(item) for item in items]


def default_workers() -> int:
    """Decoder threads: one per core, at least two. On 2 cores, with a model as fast as int8, two threads kept the
    model busier than one at every batch size (``benchmarks/pipeline.py``'s balance table)."""
    return max(2, os.cpu_count() or 2)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, ValueError | OSError) else f"{type(exc).__name__}: {text}"


class _Loader:
    """Submits clip decodes to a thread pool, at most ``depth`` ahead of the consumer."""

    def __init__(self, clips: list[Clip], num_frames: int | None, mode: str, cache, workers: int, depth: int):
        self.clips, self.num_frames, self.mode, self.cache = clips, num_frames, mode, cache
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vidwidget-decode")
        self.pending: deque[tuple[Clip, Future]] = deque()
        self.next_index = 0
        self.depth = depth
        self.end = len(clips)  # no clip at or past this index is submitted (the seed's rule: the current batch)

    def _task(self, clip: Clip, n: int | None):
        if clip.path is None:
            raise FileNotFoundError(f"clip {clip.id} is not downloaded (no local file)")
        source = file_identity(clip.path)  # taken before decoding: a file changed meanwhile is redone on resume
        return source, load_clip(clip.path, n, mode=self.mode, cache=self.cache)

    def fill(self) -> None:
        while len(self.pending) < self.depth and self.next_index < self.end:
            clip = self.clips[self.next_index]
            self.next_index += 1
            self.pending.append((clip, self.pool.submit(self._task, clip, self.num_frames)))

    def take(self, count: int) -> list[tuple[Clip, Future]]:
        out = []
        while len(out) < count and (self.pending or self.next_index < self.end):
            self.fill()
            out.append(self.pending.popleft())
        self.fill()
        return out

    def close(self) -> None:
        for _, fut in self.pending:
            fut.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)


def _seed_rule_frames(batch: list[Clip], minimum: int) -> tuple[int, dict[str, str]]:
    """The seed's rule when no frame count is given: the fewest frames of any readable clip in the batch."""
    counts, errors = [], {}
    for clip in batch:
        try:
            if clip.path is None:
                raise FileNotFoundError(f"clip {clip.id} is not downloaded (no local file)")
            counts.append(probe(clip.path).num_frames)
        except Exception as exc:  # the clip's own decode will report it as a row
            errors[clip.id] = _reason(exc)
    return (max(batch_frame_count(counts), minimum) if counts else minimum), errors


def run_batch(model: VideoModel, items: list[tuple[Clip, np.ndarray | None, str | None]], k: int,
              sources: dict[str, str] | None = None) -> list[dict]:
    """Predict the decoded clips of one batch and return rows in input order (failed clips keep their error);
    ``sources`` maps clip ids to the identity of the file each was read from (the ``source`` column)."""
    sources = sources or {}
    good = [(i, frames) for i, (_, frames, err) in enumerate(items) if err is None]
    predictions: dict[int, object] = {}
    seconds = float("nan")
    if good:
        batch = np.stack([frames for _, frames in good])
        probs = model.probabilities(batch)
        seconds = model.last_seconds / len(good)
        for (i, _), pred in zip(good, top_k(probs, model.labels, k), strict=True):
            predictions[i] = pred
    return [
        prediction_row(clip, predictions.get(i), k, error=err, seconds=seconds if err is None else float("nan"),
                       source=sources.get(clip.id, ""))
        for i, (clip, _, err) in enumerate(items)
    ]


def evaluate(
    clips: Iterable[Clip | str | os.PathLike],
    model: VideoModel | str = "kinetics-400",
    *,
    num_frames: int | None = 64,
    batch_size: int = 4,
    top_k: int = 5,
    mode: str = "crop",
    on_batch: BatchCallback | None = None,
    cancel: threading.Event | None = None,
    progress: bool = False,
    output: str | os.PathLike | None = None,
    cache: ClipCache | bool | None = None,
    workers: int | None = None,
    dataset: str | None = None,
    engine: str | RayEngine = "local",
    address: str | None = None,
) -> pd.DataFrame:
    """Predict every clip and return a results table (see :func:`result_columns`).

    ``num_frames=None`` uses, per batch, the fewest frames of its clips (the seed's rule, raised to the model's
    minimum). With ``output`` the rows are appended to that CSV after each batch and clips already there are
    skipped while their files are unchanged (a changed file is computed again, its new row replacing the old),
    so a killed run resumes where it stopped; only one process may write an ``output`` at a time
    (:class:`~vidwidget.errors.OutputConflictError` otherwise). ``dataset`` names where the clips come from (e.g.
    a folder's absolute path): it is stored with the results, and an output holding another dataset's results is
    refused before anything is written. ``cancel`` stops between batches: the rows done so far are returned
    with ``df.attrs["cancelled"] = True``.

    ``engine="ray"`` (or a :class:`RayEngine`) runs the same evaluation on a Ray cluster at ``address`` (see
    :mod:`vidwidget.inference._ray_engine`; needs ``pip install 'vidwidget[ray]'``); ``clips`` may then also be
    :class:`KineticsParts`, streamed by the workers.
    """
    if engine != "local":
        return _evaluate_elsewhere(clips, model, engine, address, num_frames=num_frames, batch_size=batch_size,
                                   top_k=top_k, mode=mode, on_batch=on_batch, cancel=cancel, progress=progress,
                                   output=output, cache=cache, dataset=dataset)
    if isinstance(clips, KineticsParts):
        clips = clips.download(progress=progress)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    model = load_model(model) if isinstance(model, str | os.PathLike) else model
    if num_frames is not None and num_frames < model.min_frames:
        raise ValueError(f"{model.name} needs num_frames ≥ {model.min_frames}, got {num_frames}")
    clips = as_clips(clips)
    columns = result_columns(top_k)
    store = None
    done: list[pd.DataFrame] = []
    if output is not None:
        settings = run_settings(model, num_frames=num_frames, top_k=top_k, mode=mode, dataset=dataset)
        store = ResultsFile(output, settings, columns)  # locked until the run ends (closed in `finally` below)
        try:
            previous = store.read()
            if not previous.empty:
                clips = store.pending(clips, previous)
                redo = {c.id for c in clips}
                done.append(previous[~previous["clip_id"].astype(str).isin(redo)])  # superseded rows left out
        except BaseException:
            store.close()
            raise
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(clips), unit="clip", desc=f"{model.name}")
    cancelled = False
    depth = batch_size * 2 if num_frames is not None else 0
    loader = _Loader(clips, num_frames, mode, cache, workers or default_workers(), depth)
    started = time.perf_counter()
    try:
        position = 0
        while position < len(clips):
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            if num_frames is None:
                batch_clips = clips[position : position + batch_size]
                n, probe_errors = _seed_rule_frames(batch_clips, model.min_frames)
                # decode just this batch, at its own count: a clip of the next batch submitted now would be
                # decoded at this batch's count instead of its own
                loader.num_frames, loader.depth, loader.end = n, len(batch_clips), position + len(batch_clips)
                taken = loader.take(len(batch_clips))
            else:
                taken = loader.take(batch_size)
                probe_errors = {}
            position += len(taken)
            items, sources = [], {}
            for clip, fut in taken:
                if clip.id in probe_errors:
                    fut.cancel()
                    items.append((clip, None, probe_errors[clip.id]))
                    sources[clip.id] = file_identity(clip.path)
                    continue
                try:
                    sources[clip.id], frames = fut.result()
                    items.append((clip, frames, None))
                except Exception as exc:  # a bad clip is a row with its reason, never the end of the run
                    items.append((clip, None, _reason(exc)))
                    sources[clip.id] = file_identity(clip.path)
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            frame = results_frame(run_batch(model, items, top_k, sources), top_k)
            if store is not None:
                store.append(frame)
            done.append(frame)
            if bar is not None:
                bar.update(len(items))
            if on_batch is not None:
                on_batch(frame)
    finally:
        loader.close()
        if bar is not None:
            bar.close()
        if store is not None:
            store.close()
    result = pd.concat(done, ignore_index=True) if done else pd.DataFrame(columns=columns)
    result = result.reindex(columns=columns)
    result.attrs["cancelled"] = cancelled
    result.attrs["seconds"] = time.perf_counter() - started
    result.attrs["model"] = model.name
    return result


def _evaluate_elsewhere(clips, model, engine, address, **kwargs) -> pd.DataFrame:
    """Hand the evaluation to another engine (only Ray so far), imported only when asked for."""
    if isinstance(engine, str) and engine.lower() != "ray":
        raise ValueError(f"unknown engine {engine!r}: use 'local' or 'ray'")
    from ._ray_engine import evaluate_on_ray

    if isinstance(engine, str):
        engine = RayEngine(address=address)
    elif address is not None:
        engine = dataclasses.replace(engine, address=address)
    return evaluate_on_ray(clips, model, engine=engine, **kwargs)


def evaluate_folder(folder: str | Path, model: VideoModel | str = "kinetics-400", **kwargs) -> pd.DataFrame:
    """:func:`evaluate` over the videos of a folder (labels from subfolders), see ``vidwidget.data.VideoFolder``."""
    from ..data import VideoFolder

    return evaluate(VideoFolder(folder).clips(), model, **kwargs)
