"""A one-job-at-a-time background runner: the widgets' long work (dataset listing, downloads, model loading,
inference) runs off the kernel's main thread, can be cancelled, and posts its updates back only while current."""

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

    def __init__(self, runner: JobRunner, name: str) -> None:
        self.name = name
        self.cancel_event = threading.Event()
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._runner = runner

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


class JobRunner:
    """Runs one job at a time in a daemon thread; submitting a job cancels the running one first.

    The new job's thread waits for the previous thread to finish its current step (the cancel is checked between
    clips), so two heavy jobs never compete for the CPU, while the caller returns at once.
    """

    def __init__(self, name: str = "vidwidget") -> None:
        self._name = name
        self._lock = threading.RLock()
        self._current: Job | None = None
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> Job | None:
        """The latest submitted job, finished or not (None before the first)."""
        return self._current

    @property
    def busy(self) -> bool:
        """True while the latest job has not finished."""
        job = self._current
        return job is not None and not job.done.is_set()

    def submit(
        self,
        name: str,
        work: Callable[[Job], Any],
        *,
        on_error: Callable[[BaseException], Any] | None = None,
        on_finish: Callable[[Job], Any] | None = None,
    ) -> Job:
        """Cancel the running job and start ``work(job)`` in a new thread; returns the new job at once.

        ``on_error(exc)`` is posted when ``work`` raises (and the job is still current); ``on_finish(job)`` is
        always called at the end, cancelled or not, so a widget can clear its busy state.
        """
        with self._lock:
            previous_thread = self._thread
            if self._current is not None:
                self._current.cancel_event.set()
            job = Job(self, name)
            self._current = job

            def run() -> None:
                if previous_thread is not None:
                    previous_thread.join()
                try:
                    if not job.cancelled:
                        work(job)
                except BaseException as exc:  # noqa: BLE001 - every failure must reach the widget
                    job.error = exc
                    log.warning("vidwidget job %r failed", name, exc_info=exc)
                    if on_error is not None:
                        job.post(on_error, exc)
                finally:
                    job.done.set()
                    if on_finish is not None:
                        try:
                            on_finish(job)
                        except Exception:  # noqa: BLE001
                            log.exception("vidwidget job %r: on_finish failed", name)

            thread = threading.Thread(target=run, name=f"{self._name}-{name}", daemon=True)
            self._thread = thread
            thread.start()
            return job

    def cancel(self) -> Job | None:
        """Ask the running job to stop; its later posts are dropped. Returns that job (None if idle)."""
        with self._lock:
            job = self._current
            if job is not None and not job.done.is_set():
                job.cancel_event.set()
                return job
            return None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the latest job has finished (for tests and scripts); returns False on timeout."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()
