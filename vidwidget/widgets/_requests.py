"""A widget's bounded request queue: one worker thread per widget (started on demand, gone when idle), at most
``max_pending`` waiting requests, repeated requests for the same thing coalesced, and waiting requests dropped
when the page no longer needs them (e.g. the user moved to another page of the grid)."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any

log = logging.getLogger(__name__)


class RequestQueue:
    """Runs submitted callables one at a time, newest-priority items first when asked, with a bounded backlog."""

    def __init__(self, name: str, max_pending: int = 24) -> None:
        self._name = name
        self._max = max_pending
        self._lock = threading.Lock()
        self._pending: OrderedDict[Hashable, tuple[Callable[[], Any], Future]] = OrderedDict()
        self._thread: threading.Thread | None = None
        self.threads_started = 0

    def submit(self, key: Hashable, fn: Callable[[], Any], *, urgent: bool = False) -> Future:
        """Queue ``fn()`` under ``key`` (a waiting request with the same key is answered by this one); urgent
        requests run before the others. When the backlog is full the oldest waiting request is dropped."""
        future: Future = Future()
        with self._lock:
            old = self._pending.pop(key, None)
            if old is not None:
                old[1].cancel()
            self._pending[key] = (fn, future)
            if urgent:
                self._pending.move_to_end(key, last=False)
            while len(self._pending) > self._max:
                _, (_, dropped) = self._pending.popitem(last=not urgent)
                dropped.cancel()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=f"{self._name}-requests", daemon=True)
                self.threads_started += 1
                self._thread.start()
        return future

    def drop(self, keep: Callable[[Hashable], bool]) -> int:
        """Forget the waiting requests whose key ``keep`` refuses; returns how many were dropped."""
        with self._lock:
            gone = [k for k in self._pending if not keep(k)]
            for k in gone:
                self._pending.pop(k)[1].cancel()
        return len(gone)

    @property
    def pending(self) -> int:
        """How many requests wait (not counting the one running)."""
        return len(self._pending)

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._thread = None
                    return
                _, (fn, future) = self._pending.popitem(last=False)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - the caller's fn reports its own failures
                log.debug("vidwidget request failed", exc_info=exc)
                future.set_exception(exc)
