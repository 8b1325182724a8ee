"""HTTP plumbing for downloads: transient-failure detection, backoff, Range requests, a resuming reader."""

from __future__ import annotations

import contextlib
import http.client
import io
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from vidwidget.errors import DownloadError

log = logging.getLogger("vidwidget.data")

TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")
USER_AGENT = "vidwidget"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` tries without progress, waits of ``backoff`` seconds doubling up to
    ``max_backoff``, and a socket ``timeout``."""

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 60.0
    timeout: float = 60.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure."""
        return min(self.max_backoff, self.backoff * 2 ** max(0, failures - 1))


class Truncated(Exception):
    """A response ended before the length it announced (the connection closed early)."""


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: resets, refusals, timeouts, short reads and 5xx/429 answers."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code in TRANSIENT_STATUS
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        return isinstance(reason, BaseException) and is_transient(reason) or "timed out" in str(reason)
    return isinstance(exc, Truncated | ConnectionError | TimeoutError | http.client.HTTPException)


def describe(exc: BaseException) -> str:
    """A short human description of a failure."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"{exc.reason}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@dataclass
class Opened:
    """An open response: where it starts, the full size if known, and whether the server honoured Range."""

    response: http.client.HTTPResponse
    start: int
    total: int | None
    validator: str | None


def open_at(url: str, start: int, timeout: float, if_range: str | None = None) -> Opened:
    """GET ``url`` from byte ``start`` (Range request when start > 0); the result's ``start`` is 0 when the
    server ignored the Range (or ``If-Range`` said the file changed) and sends the whole file."""
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if start > 0:
        headers["Range"] = f"bytes={start}-"
        if if_range:
            headers["If-Range"] = if_range
    resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    validator = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
    length = resp.headers.get("Content-Length")
    if resp.status == 206:
        m = _CONTENT_RANGE.match(resp.headers.get("Content-Range", "").strip())
        if m is None or int(m[1]) != start:
            resp.close()
            raise DownloadError(
                f"{url}: asked for bytes from {start} but the server answered Content-Range "
                f"{resp.headers.get('Content-Range')!r}; the server's Range support is broken, so the "
                "download cannot be resumed safely. Delete the partial file and try again, or use another "
                "mirror.")
        total = int(m[3]) if m[3] != "*" else None
        return Opened(resp, start, total, validator)
    return Opened(resp, 0, int(length) if length is not None else None, validator)


def open_with_retries(url: str, start: int, policy: RetryPolicy, if_range: str | None = None,
                      sleep: Callable[[float], None] = time.sleep) -> Opened:
    """:func:`open_at` with retries and backoff on transient failures; DownloadError when they run out."""
    failures = 0
    while True:
        try:
            return open_at(url, start, policy.timeout, if_range)
        except DownloadError:
            raise
        except Exception as exc:  # classified below
            if not is_transient(exc):
                raise DownloadError(f"Could not download {url}: {describe(exc)}. Check the URL "
                                    "(VIDWIDGET_KINETICS_URL for Kinetics) and your connection.") from exc
            failures += 1
            if failures >= policy.attempts:
                raise DownloadError(f"Could not download {url}: {describe(exc)}, still failing after "
                                    f"{failures} attempts. Check that the server is reachable (the Kinetics "
                                    "mirror is set by VIDWIDGET_KINETICS_URL) or try again later.") from exc
            wait = policy.delay(failures)
            log.warning("%s: %s; retrying in %.1fs (%d/%d)", url, describe(exc), wait, failures,
                        policy.attempts)
            sleep(wait)


class ResumingReader(io.RawIOBase):
    """A read-only stream over an HTTP resource that reconnects with ``Range: bytes=<consumed>-`` when the
    connection drops, so a consumer (a gzip/tar stream) never notices; it checks the server honours the Range
    and that the file did not change, and raises DownloadError after ``policy.attempts`` tries without
    progress."""

    def __init__(self, url: str, policy: RetryPolicy, on_bytes: Callable[[int], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__()
        self.url = url
        self.policy = policy
        self.pos = 0
        self._on_bytes = on_bytes
        self._sleep = sleep
        self._failures = 0
        self.reconnects = 0
        opened = open_with_retries(url, 0, policy, sleep=sleep)
        self._resp: http.client.HTTPResponse | None = opened.response
        self.total = opened.total
        self._validator = opened.validator

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        """Read up to ``len(b)`` bytes, reconnecting transparently on transient failures."""
        while True:
            if self.total is not None and self.pos >= self.total:
                return 0
            if self.closed:
                raise ValueError("read from a closed stream")
            try:
                if self._resp is None:
                    self._reopen()
                assert self._resp is not None
                n = self._resp.readinto(b)
                if not n and len(b):
                    if self.total is None:
                        return 0
                    raise Truncated(f"connection closed at byte {self.pos} of {self.total}")
            except DownloadError:
                raise
            except Exception as exc:  # classified here
                if not is_transient(exc):
                    raise DownloadError(f"{self.url}: {describe(exc)} at byte {self.pos}.") from exc
                self._close_response()
                self._failed(exc)
                continue
            self.pos += n
            self._failures = 0
            if self._on_bytes is not None:
                self._on_bytes(n)
            return n

    def _failed(self, exc: BaseException) -> None:
        self._failures += 1
        if self._failures >= self.policy.attempts:
            raise DownloadError(
                f"{self.url}: the connection kept failing at byte {self.pos} of {self.total or 'unknown'} "
                f"({describe(exc)}; {self._failures} attempts without progress). The file may be truncated "
                "on the server or the network is down; try again later.") from exc
        wait = self.policy.delay(self._failures)
        log.warning("%s: %s at byte %d; resuming in %.1fs", self.url, describe(exc), self.pos, wait)
        self._sleep(wait)

    def _reopen(self) -> None:
        opened = open_at(self.url, self.pos, self.policy.timeout)
        self.reconnects += 1
        if self._validator and opened.validator and opened.validator != self._validator:
            opened.response.close()
            raise DownloadError(f"{self.url} changed on the server while it was being read "
                                f"({self._validator} -> {opened.validator}); start the download again.")
        if opened.total is not None and self.total is not None and opened.total != self.total:
            opened.response.close()
            raise DownloadError(f"{self.url} changed size on the server while it was being read "
                                f"({self.total} -> {opened.total} bytes); start the download again.")
        self._resp = opened.response
        if opened.start != self.pos:  # the server ignored Range: skip what was already consumed
            log.warning("%s: server ignored the Range request; skipping %d bytes already read", self.url,
                        self.pos)
            self._skip(self.pos)

    def _skip(self, count: int) -> None:
        assert self._resp is not None
        buf = bytearray(1 << 16)
        left = count
        while left:
            n = self._resp.readinto(memoryview(buf)[: min(left, len(buf))])
            if not n:
                raise Truncated(f"connection closed while skipping to byte {count}")
            left -= n

    def _close_response(self) -> None:
        if self._resp is not None:
            with contextlib.suppress(OSError):
                self._resp.close()
            self._resp = None

    def close(self) -> None:
        """Close the connection (stops the transfer)."""
        self._close_response()
        super().close()
