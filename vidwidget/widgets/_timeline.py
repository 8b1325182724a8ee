"""Timelines for the detail view: :func:`vidwidget.inference.predict_timeline` run off the kernel's main thread,
one at a time (a new request cancels the running one), with progress, cancellable, and cached per (clip file,
model, settings) so reopening a clip shows its timeline at once."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vidwidget.clip import Clip
from vidwidget.widgets._jobs import Job, JobRunner
from vidwidget.widgets._text import describe_error

Publish = Callable[[dict[str, Any]], None]
ModelSource = Callable[[Job], Any]  # the job (for status posts) -> a loaded model

CURVES = 3  # classes drawn as probability curves
BATCH = 2  # windows per model call: progress every ~2 s on a CPU


def _file_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


class TimelineJobs:
    """Computes and caches timelines; every state change goes to ``publish`` as
    ``{id, state: running|done|cancelled|error, done, total, message, view}`` (``view``: :func:`timeline_view`)."""

    def __init__(self, publish: Publish, max_cached: int = 16) -> None:
        self._publish = publish
        self._runner = JobRunner("vidwidget-timeline")
        self._cache: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self._max = max_cached

    def start(self, clip: Clip, get_model: ModelSource, num_frames: int, mode: str) -> Job:
        """Compute ``clip``'s timeline in the background (cancelling a running one)."""
        return self._runner.submit(
            f"timeline {clip.id}", lambda job: self._work(job, clip, get_model, num_frames, mode),
            on_error=lambda exc: self._publish({"id": clip.id, "state": "error", "message": describe_error(exc)}),
        )

    def cancel(self) -> None:
        """Stop the running timeline between batches (its state becomes ``cancelled``)."""
        self._runner.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no timeline is running; True when idle."""
        return self._runner.wait(timeout)

    def _work(self, job: Job, clip: Clip, get_model: ModelSource, num_frames: int, mode: str) -> None:
        from vidwidget.inference import predict_timeline, timeline_view

        if clip.path is None:
            raise FileNotFoundError(f"clip {clip.id} is not downloaded (no local file)")
        base = {"id": clip.id, "done": 0, "total": 0}
        job.post(self._publish, {**base, "state": "running", "message": "loading the model…"})
        model = get_model(job)
        num_frames = max(int(num_frames), int(getattr(model, "min_frames", 1)))
        key = (*_file_key(Path(clip.path)), model.name, num_frames, mode)
        if key in self._cache:
            self._cache.move_to_end(key)
            job.post(self._publish, self._cache[key])
            return

        def progress(done: int, total: int) -> None:
            job.post(self._publish, {**base, "state": "running", "done": done, "total": total})

        df = predict_timeline(clip.path, model, num_frames=num_frames, batch_size=BATCH, mode=mode,
                              on_progress=progress, cancel=job.cancel_event)
        counts = {"done": len(df), "total": df.attrs["windows_total"]}
        if df.attrs["cancelled"]:
            # posted past the job's own cancel: the page must learn that the run stopped
            self._publish({**base, **counts, "state": "cancelled"})
            return
        state = {**base, **counts, "state": "done", "view": timeline_view(df, classes=CURVES)}
        self._cache[key] = state
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        job.post(self._publish, state)
