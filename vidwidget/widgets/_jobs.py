"""A one-job-at-a-time background runner: the widgets' long work (dataset listing, downloads, model loading,
inference) runs off the kernel's main thread, can be cancelled, and posts its updates back only while current.

Each runner owns at most one worker thread and one waiting slot: a burst of requests (2,000 "classify" messages)
coalesces into the newest one instead of piling up threads or queued work."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Job:
    """One unit of background work: its name, the cancel Event the work checks, and whether it is still current.

    The work function receives the job and calls :meth:`post` to apply updates (traitlet changes); a post from a
    job that was cancelled or superseded is dropped, so stale results never reach the widget.
    """

    def __init__(self, runner: JobRunner, name: str, work: Callable[[Job], Any],
                 on_error: Callable[[BaseException], Any] | None,
                 on_finish: Callable[[Job], Any] | None) -> None:
        self.name = name
        self.cancel_event = threading.Event()
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._runner = runner
        self._work = work
        self._on_error = on_error
        self._on_finish = on_finish

    @property
    def cancelled(self) -> bool:
        """True once :meth:`JobRunner.cancel` (or a newer job) asked this job to stop."""
        return self.cancel_event.is_set()

    def post(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Run ``fn(*args, **kwargs)`` unless this job was cancelled; returns whether it ran."""
        with self._runner._lock:
            if self.cancel_event.is_set():
                return False
            fn(*args, **kwargs)
            return True

    def _run(self) -> None:
        try:
            if not self.cancelled:
                self._work(self)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the widget (and the log)
            self.error = exc
            log.info("vidwidget job %r failed", self.name, exc_info=exc)
            if self._on_error is not None:
                self.post(self._on_error, exc)
        finally:
            self._finish()

    def _finish(self) -> None:
        self.done.set()
        if self._on_finish is not None:
            try:
                self._on_finish(self)
            except Exception:  # noqa: BLE001 - a UI update must never kill the worker
                log.exception("vidwidget job %r: on_finish failed", self.name)


class JobRunner:
    """Runs one job at a time in one worker thread; submitting a job cancels the running one and replaces any job
    still waiting, so the work queue never holds more than one job.

    The next job starts when the running one has finished its current step (the cancel is checked between
    clips), so two heavy jobs never compete for the CPU, while the caller returns at once.
    """

    def __init__(self, name: str = "vidwidget") -> None:
        self._name = name
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._current: Job | None = None
        self._pending: Job | None = None
        self._running: Job | None = None
        self._thread: threading.Thread | None = None
        self._started = 0

    @property
    def current(self) -> Job | None:
        """The latest submitted job, finished or not (None before the first)."""
        return self._current

    @property
    def busy(self) -> bool:
        """True while the latest job has not finished."""
        job = self._current
        return job is not None and not job.done.is_set()

    @property
    def threads_started(self) -> int:
        """How many worker threads this runner has started so far (for tests of the bound)."""
        return self._started

    def submit(
        self,
        name: str,
        work: Callable[[Job], Any],
        *,
        on_error: Callable[[BaseException], Any] | None = None,
        on_finish: Callable[[Job], Any] | None = None,
    ) -> Job:
        """Cancel the running job and queue ``work(job)``; returns the new job at once.

        ``on_error(exc)`` is posted when ``work`` raises (and the job is still current); ``on_finish(job)`` is
        always called at the end — cancelled, replaced before it started, or not — so a widget can clear its
        busy state.
        """
        job = Job(self, name, work, on_error, on_finish)
        with self._lock:
            replaced = self._pending
            if self._running is not None:
                self._running.cancel_event.set()
            if replaced is not None:
                replaced.cancel_event.set()
            self._pending = job
            self._current = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=f"{self._name}-worker", daemon=True)
                self._started += 1
                self._thread.start()
        if replaced is not None:
            replaced._finish()
        return job

    def _loop(self) -> None:
        while True:
            with self._lock:
                job = self._pending
                self._pending = None
                self._running = job
                if job is None:
                    self._thread = None
                    self._idle.notify_all()
                    return
            job._run()
            with self._lock:
                self._running = None

    def cancel(self) -> Job | None:
        """Ask the running or waiting job to stop; its later posts are dropped. Returns that job (None if idle)."""
        with self._lock:
            job = self._current
            if job is not None and not job.done.is_set():
                job.cancel_event.set()
                return job
            return None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job runs or waits (for tests and scripts); returns False on timeout."""
        with self._lock:
            return self._idle.wait_for(lambda: self._thread is None, timeout)
