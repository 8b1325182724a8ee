"""Progress of downloads in bytes and clips: a tqdm bar in a terminal and/or a callback a widget can use."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tqdm import tqdm


@dataclass(frozen=True)
class ProgressEvent:
    """A snapshot of a download: bytes received so far and expected (None if unknown), clips done and wanted."""

    bytes_done: int
    bytes_total: int | None
    clips_done: int
    clips_total: int | None
    current: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


class Reporter:
    """Feeds one tqdm bar and one callback from byte and clip counts; callbacks are throttled to ``interval``."""

    def __init__(
        self,
        desc: str,
        *,
        show_bar: bool = True,
        callback: ProgressCallback | None = None,
        bytes_total: int | None = None,
        clips_total: int | None = None,
        interval: float = 0.1,
    ) -> None:
        self.bytes_done = 0
        self.bytes_total = bytes_total
        self.clips_done = 0
        self.clips_total = clips_total
        self.current = desc
        self._callback = callback
        self._interval = interval
        self._last = 0.0
        self._bar = tqdm(total=bytes_total, desc=desc, unit="B", unit_scale=True, disable=not show_bar,
                         leave=False)

    def event(self) -> ProgressEvent:
        """The current state as an event."""
        return ProgressEvent(self.bytes_done, self.bytes_total, self.clips_done, self.clips_total, self.current)

    def _emit(self, force: bool = False) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        if force or now - self._last >= self._interval:
            self._last = now
            self._callback(self.event())

    def start(self, current: str, bytes_total: int | None, bytes_done: int = 0) -> None:
        """Begin (or resume at ``bytes_done``) a new file or stream of ``bytes_total`` bytes."""
        self.current, self.bytes_total, self.bytes_done = current, bytes_total, bytes_done
        self._bar.reset(total=bytes_total)
        self._bar.update(bytes_done)
        self._bar.set_description(current, refresh=False)
        self._emit(force=True)

    def restart_bytes(self, bytes_done: int) -> None:
        """Set the byte count back (e.g. when a server ignored a Range request and the file starts over)."""
        self._bar.update(bytes_done - self.bytes_done)
        self.bytes_done = bytes_done
        self._emit(force=True)

    def add_bytes(self, n: int) -> None:
        """Count ``n`` more bytes received."""
        self.bytes_done += n
        self._bar.update(n)
        self._emit()

    def add_clip(self) -> None:
        """Count one more clip completed."""
        self.clips_done += 1
        total = f"/{self.clips_total}" if self.clips_total is not None else ""
        self._bar.set_postfix_str(f"clips {self.clips_done}{total}", refresh=False)
        self._emit(force=True)

    def close(self) -> None:
        """Close the bar and send the final state."""
        self._bar.close()
        self._emit(force=True)
