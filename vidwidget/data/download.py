"""Downloads that survive bad networks and hostile servers: whole files with Range resume, size checks, a byte
cap when the size is unknown and validation before the file is kept; and streamed extraction of a few clips
from a remote ``tar.gz`` that stops reading as soon as it has what was asked."""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import time
import urllib.error
from collections.abc import Callable
from pathlib import Path

from vidwidget import _config, _http
from vidwidget._http import Pace, ResumingReader, Retrier, RetryPolicy, Truncated, open_at, read_some
from vidwidget.data.extract import SPACE_RESERVE, ExtractReport, check_expansion, safe_extract_members, temp_name
from vidwidget.data.progress import ProgressCallback, Reporter
from vidwidget.errors import DownloadError, VidwidgetError

log = logging.getLogger("vidwidget.data")

#: Retry policy used when a call passes none (the package's one default); tests may replace it.
DEFAULT_RETRY = _http.DEFAULT_RETRY
#: Free space kept in reserve on top of a download's size.
SPACE_MARGIN = SPACE_RESERVE

_CHUNK = 1 << 20

__all__ = ["DEFAULT_RETRY", "RetryPolicy", "check_free_space", "download_file", "stream_extract"]

Validator = Callable[[Path], None]
"""Checks a downloaded file before it is kept (raises ValueError/VidwidgetError saying what is wrong)."""


def byte_cap(folder: Path, known: int | None = None) -> int:
    """Most bytes a download into ``folder`` may bring: its size when known; else the configured cap
    (``VIDWIDGET_MAX_DOWNLOAD_BYTES``), and never more than the free space less the reserve."""
    if known is not None:
        return known
    folder.mkdir(parents=True, exist_ok=True)
    return max(0, min(_config.max_download_bytes(), shutil.disk_usage(folder).free - SPACE_MARGIN))


def check_free_space(folder: Path, needed: int, what: str) -> None:
    """Raise DownloadError when ``folder``'s disk has less than ``needed`` bytes (plus a margin) free."""
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed + SPACE_MARGIN:
        raise DownloadError(
            f"Not enough free disk space for {what}: it needs {needed / 1e6:,.0f} MB "
            f"(+{SPACE_MARGIN >> 20} MB reserve) but {folder} has {free / 1e6:,.0f} MB free. Free some "
            "space, or point VIDWIDGET_HOME (or the dataset root) at a larger disk.")


class _StartOver(Exception):
    """The server refused to resume (416): the partial file was deleted and the download starts again."""


def _fetch_once(url: str, tmp: Path, name: str, policy: RetryPolicy, rep: Reporter, check_space: bool,
                validator: list[str | None], pace: Pace) -> None:
    """One request: append to ``tmp`` from where it stops; returns when ``tmp`` is complete."""
    start = tmp.stat().st_size if tmp.is_file() else 0
    try:
        opened = open_at(url, start, policy.timeout, if_range=validator[0])
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start > 0:
            log.warning("%s: server refused resuming at byte %d; starting over", url, start)
            tmp.unlink()
            raise _StartOver from exc
        raise
    validator[0] = opened.validator
    if opened.start != start:
        log.warning("%s: server ignored the Range request (or the file changed); restarting from byte 0", url)
        start = 0
    with opened.response as resp:
        if check_space and opened.total is not None:
            check_free_space(tmp.parent, opened.total - start, name)
        rep.start(name, opened.total, start)
        cap = byte_cap(tmp.parent) + start if opened.total is None else None
        pace.restart()
        with open(tmp, "ab" if start else "wb") as out:
            size = start
            while chunk := read_some(resp, _CHUNK):
                out.write(chunk)
                size += len(chunk)
                rep.add_bytes(len(chunk))
                pace.check(len(chunk))
                if cap is not None and size > cap:
                    out.close()
                    tmp.unlink()
                    raise DownloadError(
                        f"{url} sent more than {cap:,} bytes without announcing its size; the download was "
                        "stopped and deleted. The cap is the free disk space (less a reserve) or "
                        "VIDWIDGET_MAX_DOWNLOAD_BYTES, whichever is smaller.")
    size = tmp.stat().st_size
    if opened.total is None or size == opened.total:
        return
    if size > opened.total:
        tmp.unlink()
        raise DownloadError(f"{url}: received {size} bytes but the server announced {opened.total}; the "
                            "partial file was deleted, try again.")
    raise Truncated(f"connection closed at byte {size} of {opened.total}")


def download_file(
    url: str,
    dest: str | Path,
    *,
    retry: RetryPolicy | None = None,
    progress: bool = True,
    on_progress: ProgressCallback | None = None,
    check_space: bool = True,
    reporter: Reporter | None = None,
    sleep: Callable[[float], None] = time.sleep,
    validate: Validator | None = None,
) -> Path:
    """Download ``url`` to ``dest``, resuming a previous partial download with HTTP Range, retrying transient
    failures with backoff (a transfer below the policy's minimum rate is one), verifying the size, and renaming
    the ``.name.part`` file into place only when complete and accepted by ``validate`` (a file it rejects is
    deleted, DownloadError). A body of unknown size is capped (:func:`byte_cap`). An existing ``dest`` is taken
    as complete and returned at once."""
    dest = Path(dest)
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    policy = retry or DEFAULT_RETRY
    tmp = temp_name(dest)
    rep = reporter or Reporter(dest.name, show_bar=progress, callback=on_progress)
    retrier = Retrier(url, policy, sleep, hint=f"Check the URL and your connection; the partial file {tmp} is "
                      "kept and will be resumed.")
    pace = Pace(url, policy)
    validator: list[str | None] = [None]
    try:
        while True:
            before = tmp.stat().st_size if tmp.is_file() else 0
            try:
                _fetch_once(url, tmp, dest.name, policy, rep, check_space, validator, pace)
                _accept(url, tmp, dest, validate)
                return dest
            except _StartOver:
                continue
            except Exception as exc:  # classified by the retrier
                if (tmp.stat().st_size if tmp.is_file() else 0) > before:
                    retrier.progressed()
                retrier.failed(exc)
    finally:
        if reporter is None:
            rep.close()


def _accept(url: str, tmp: Path, dest: Path, validate: Validator | None) -> None:
    """Rename the complete ``tmp`` onto ``dest`` if ``validate`` accepts it; else delete it (DownloadError)."""
    if validate is not None:
        try:
            validate(tmp)
        except (ValueError, UnicodeDecodeError, VidwidgetError) as exc:
            tmp.unlink(missing_ok=True)
            raise DownloadError(f"{url} did not send the expected file, so it was not kept: {exc}") from exc
    os.replace(tmp, dest)


def stream_extract(
    url: str,
    dest: str | Path,
    *,
    select: Callable[[str], bool] | None = None,
    until: Callable[[], bool] | None = None,
    on_extracted: Callable[[str, Path], None] | None = None,
    retry: RetryPolicy | None = None,
    reporter: Reporter | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ExtractReport:
    """Read the ``tar.gz`` at ``url`` as a stream and extract the members ``select`` wants into ``dest``,
    closing the connection as soon as ``until()`` is true (so a few clips never cost a whole archive).
    A dropped or too slow connection is resumed with Range where the stream stopped; a stream that stays broken
    raises DownloadError and leaves no partial file. A stream of unknown size is capped
    (``VIDWIDGET_MAX_DOWNLOAD_BYTES``; what is written is checked against free space member by member), and
    members are bounded in size and in how much they inflate (see :func:`safe_extract_members`)."""
    policy = retry or DEFAULT_RETRY
    dest = Path(dest)
    opened: list[tarfile.TarFile] = []

    def on_bytes(n: int) -> None:
        if reporter is not None:
            reporter.add_bytes(n)
        if opened:  # checked as compressed bytes arrive, so even skipping one huge member is interrupted
            check_expansion(opened[0].fileobj.tell(), reader.pos, url)

    reader = ResumingReader(url, policy, on_bytes=on_bytes, sleep=sleep, max_bytes=_config.max_download_bytes())
    if reporter is not None:
        reporter.start(url.rsplit("/", 1)[-1], reader.total)
    try:
        with tarfile.open(fileobj=reader, mode="r|gz") as tar:
            opened.append(tar)
            return safe_extract_members(tar, dest, select=select, until=until, on_extracted=on_extracted,
                                        source=url, compressed_bytes=lambda: reader.pos)
    except tarfile.TarError as exc:  # safe_extract_members wraps its own; this is the archive header
        raise DownloadError(f"{url} is not a readable tar.gz archive ({exc}).") from exc
    finally:
        reader.close()
        log.debug("%s: read %d of %s bytes (%d reconnects)", url, reader.pos, reader.total, reader.reconnects)

