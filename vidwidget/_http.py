"""The package's one HTTP client: GET with a User-Agent, Range requests, one retry policy (backoff on transient
failures, reset by progress), a minimum transfer rate and an optional overall deadline on every read, a
resuming reader for streams, and small bounded fetches (label maps)."""

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

from .errors import DownloadError

log = logging.getLogger("vidwidget.data")

USER_AGENT = "vidwidget/0.1 (+https://pypi.org/project/vidwidget)"
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try, and how long to wait: ``attempts`` tries without progress, waits of ``backoff`` seconds
    doubling up to ``max_backoff``, a socket ``timeout``; a transfer slower than ``min_rate`` bytes/s over
    ``rate_window`` seconds counts as a failed attempt (it is resumed), and ``deadline`` (seconds, None: none)
    bounds one whole download."""

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 60.0
    timeout: float = 60.0
    min_rate: float = 1024.0
    rate_window: float = 60.0
    deadline: float | None = None

    def delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure."""
        return min(self.max_backoff, self.backoff * 2 ** max(0, failures - 1))


#: The policy used when a caller passes none; tests replace it with short backoffs.
DEFAULT_RETRY = RetryPolicy()


class Truncated(Exception):
    """A response ended before the length it announced (the connection closed early)."""


class TooSlow(TimeoutError):
    """A transfer ran below the minimum rate: treated like a timeout (retried, resumed where it stopped)."""


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


class Retrier:
    """The one backoff loop: call :meth:`failed` with each exception (it raises DownloadError for a permanent
    failure or when ``policy.attempts`` consecutive failures pass without :meth:`progressed`, else logs and
    sleeps), and :meth:`progressed` when bytes arrived."""

    def __init__(self, url: str, policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep,
                 hint: str = "Check the URL (VIDWIDGET_KINETICS_URL for Kinetics) and your connection.") -> None:
        self.url, self.policy, self._sleep, self.hint = url, policy, sleep, hint
        self.failures = 0

    def progressed(self) -> None:
        self.failures = 0

    def failed(self, exc: BaseException, where: str = "") -> None:
        if isinstance(exc, DownloadError):
            raise exc
        if not is_transient(exc):
            raise DownloadError(f"Could not download {self.url}{where}: {describe(exc)}. {self.hint}") from exc
        self.failures += 1
        if self.failures >= self.policy.attempts:
            raise DownloadError(f"Could not download {self.url}{where}: the connection kept failing ({describe(exc)}; "
                                f"{self.failures} attempts without progress). The file may be truncated on the "
                                f"server or the network is down. {self.hint} Or try again later.") from exc
        wait = self.policy.delay(self.failures)
        log.warning("%s%s: %s; retrying in %.1fs (%d/%d)", self.url, where, describe(exc), wait, self.failures,
                    self.policy.attempts)
        self._sleep(wait)


class Pace:
    """Watches one download's progress: :meth:`check` after every read raises :class:`TooSlow` when fewer than
    ``min_rate × rate_window`` bytes came in the last window, and DownloadError past the overall deadline."""

    def __init__(self, url: str, policy: RetryPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.url, self.policy, self._clock = url, policy, clock
        now = clock()
        self._deadline = now + policy.deadline if policy.deadline is not None else None
        self.restart()

    def restart(self) -> None:
        """Start a new rate window (after a reconnect: the wait for the answer is not the server's dripping)."""
        self._window_start, self._window_bytes = self._clock(), 0

    def check(self, nbytes: int) -> None:
        now = self._clock()
        if self._deadline is not None and now > self._deadline:
            raise DownloadError(f"{self.url}: the download did not finish within {self.policy.deadline:.0f} s; "
                                "the server is too slow or the file is larger than expected. Try again later.")
        self._window_bytes += nbytes
        elapsed = now - self._window_start
        if elapsed >= self.policy.rate_window:
            if self._window_bytes < self.policy.min_rate * elapsed:
                raise TooSlow(f"only {self._window_bytes} bytes in {elapsed:.1f} s, below the minimum of "
                              f"{self.policy.min_rate:.0f} bytes/s")
            self._window_start, self._window_bytes = now, 0


def read_some(resp: http.client.HTTPResponse, size: int) -> bytes:
    """At most ``size`` bytes, returning after one read from the socket (never waiting to fill the buffer, so a
    dripping server is noticed by :class:`Pace`)."""
    return resp.read1(size)


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
    return Opened(resp, 0, int(length) if length is not None and length.isdigit() else None, validator)


def open_with_retries(url: str, start: int, policy: RetryPolicy, if_range: str | None = None,
                      sleep: Callable[[float], None] = time.sleep) -> Opened:
    """:func:`open_at` with the retry policy; DownloadError when it gives up."""
    retrier = Retrier(url, policy, sleep)
    while True:
        try:
            return open_at(url, start, policy.timeout, if_range)
        except Exception as exc:  # classified by the retrier
            retrier.failed(exc)


def fetch_bytes(url: str, *, max_bytes: int = 16 << 20, retry: RetryPolicy | None = None,
                sleep: Callable[[float], None] = time.sleep) -> bytes:
    """GET a small file (a label map, a list) whole, with the retry policy and the rate limits; refuses a body
    larger than ``max_bytes`` (DownloadError)."""
    policy = retry or RetryPolicy(attempts=2, backoff=0.5, timeout=30.0)
    retrier = Retrier(url, policy, sleep)
    while True:
        try:
            opened = open_at(url, 0, policy.timeout)
            with opened.response as resp:
                if opened.total is not None and opened.total > max_bytes:
                    raise DownloadError(f"{url} is {opened.total} bytes, more than the {max_bytes} expected here.")
                pace, body = Pace(url, policy), bytearray()
                while chunk := read_some(resp, 1 << 16):
                    body += chunk
                    pace.check(len(chunk))
                    if len(body) > max_bytes:
                        raise DownloadError(f"{url} sent more than the {max_bytes} bytes expected here.")
                if opened.total is not None and len(body) != opened.total:
                    raise Truncated(f"connection closed at byte {len(body)} of {opened.total}")
                return bytes(body)
        except Exception as exc:  # classified by the retrier
            retrier.failed(exc)


class ResumingReader(io.RawIOBase):
    """A read-only stream over an HTTP resource that reconnects with ``Range: bytes=<consumed>-`` when the
    connection drops or runs too slow, so a consumer (a gzip/tar stream) never notices; it checks the server
    honours the Range and that the file did not change, and raises DownloadError when the retry policy gives
    up, past the deadline, or beyond ``max_bytes`` when the server announced no size (a stream must not be
    endless)."""

    def __init__(self, url: str, policy: RetryPolicy, on_bytes: Callable[[int], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_bytes: int | None = None) -> None:
        super().__init__()
        self.url = url
        self.policy = policy
        self.pos = 0
        self.max_bytes = max_bytes
        self._on_bytes = on_bytes
        self._retrier = Retrier(url, policy, sleep)
        self._pace = Pace(url, policy)
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
                data = read_some(self._resp, len(b))
                n = len(data)
                if not n and len(b):
                    if self.total is None:
                        return 0
                    raise Truncated(f"connection closed at byte {self.pos} of {self.total}")
                self._pace.check(n)
            except Exception as exc:  # classified by the retrier
                self._close_response()
                self._retrier.failed(exc, f" at byte {self.pos}")
                self._pace.restart()
                continue
            b[:n] = data
            self.pos += n
            if self.total is None and self.max_bytes is not None and self.pos > self.max_bytes:
                raise DownloadError(f"{self.url} sent more than {self.max_bytes:,} bytes without announcing a size "
                                    "(VIDWIDGET_MAX_DOWNLOAD_BYTES bounds it); refusing it.")
            self._retrier.progressed()
            if self._on_bytes is not None:
                self._on_bytes(n)
            return n

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
        left = count
        while left:
            chunk = read_some(self._resp, min(left, 1 << 16))
            if not chunk:
                raise Truncated(f"connection closed while skipping to byte {count}")
            left -= len(chunk)
            self._pace.check(len(chunk))

    def _close_response(self) -> None:
        if self._resp is not None:
            with contextlib.suppress(OSError):
                self._resp.close()
            self._resp = None

    def close(self) -> None:
        """Close the connection (stops the transfer)."""
        self._close_response()
        super().close()
