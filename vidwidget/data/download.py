"""Downloads that survive bad networks: whole files with Range resume and size checks, and streamed
extraction of a few clips from a remote ``tar.gz`` that stops reading as soon as it has what was asked."""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import time
import urllib.error
from collections.abc import Callable
from pathlib import Path

from vidwidget.data._http import (
    ResumingReader,
    RetryPolicy,
    Truncated,
    describe,
    is_transient,
    open_at,
)
from vidwidget.data.extract import SPACE_RESERVE, ExtractReport, safe_extract_members, temp_name
from vidwidget.data.progress import ProgressCallback, Reporter
from vidwidget.errors import DownloadError

log = logging.getLogger("vidwidget.data")

#: Retry policy used when a call passes none; tests may replace it with short backoffs.
DEFAULT_RETRY = RetryPolicy()
#: Free space kept in reserve on top of a download's size.
SPACE_MARGIN = SPACE_RESERVE

_CHUNK = 1 << 20

__all__ = ["DEFAULT_RETRY", "RetryPolicy", "check_free_space", "download_file", "stream_extract"]


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
                validator: list[str | None]) -> None:
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
        with open(tmp, "ab" if start else "wb") as out:
            while chunk := resp.read(_CHUNK):
                out.write(chunk)
                rep.add_bytes(len(chunk))
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
) -> Path:
    """Download ``url`` to ``dest``, resuming a previous partial download with HTTP Range, retrying transient
    failures with backoff, verifying the size, and renaming the ``.name.part`` file into place only when
    complete. An existing ``dest`` is taken as complete and returned at once."""
    dest = Path(dest)
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    policy = retry or DEFAULT_RETRY
    tmp = temp_name(dest)
    rep = reporter or Reporter(dest.name, show_bar=progress, callback=on_progress)
    failures = 0
    validator: list[str | None] = [None]
    try:
        while True:
            before = tmp.stat().st_size if tmp.is_file() else 0
            try:
                _fetch_once(url, tmp, dest.name, policy, rep, check_space, validator)
                os.replace(tmp, dest)
                return dest
            except _StartOver:
                continue
            except DownloadError:
                raise
            except Exception as exc:  # classified here
                if not is_transient(exc):
                    raise DownloadError(f"Could not download {url}: {describe(exc)}. Check the URL and your "
                                        "connection; the partial file is kept and will be resumed.") from exc
                error = exc
            kept = tmp.stat().st_size if tmp.is_file() else 0
            failures = 1 if kept > before else failures + 1
            if failures >= policy.attempts:
                raise DownloadError(f"Could not download {url}: {describe(error)}, still failing after "
                                    f"{failures} attempts without progress. Run the download again later to "
                                    f"resume from the {kept} bytes kept in {tmp}.") from error
            wait = policy.delay(failures)
            log.warning("%s: %s; resuming in %.1fs (%d/%d)", url, describe(error), wait, failures,
                        policy.attempts)
            sleep(wait)
    finally:
        if reporter is None:
            rep.close()


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
    A dropped connection is resumed with Range where the stream stopped; a stream that stays broken raises
    DownloadError and leaves no partial file."""
    policy = retry or DEFAULT_RETRY
    reader = ResumingReader(url, policy, on_bytes=reporter.add_bytes if reporter else None, sleep=sleep)
    if reporter is not None:
        reporter.start(url.rsplit("/", 1)[-1], reader.total)
    try:
        with tarfile.open(fileobj=reader, mode="r|gz") as tar:
            return safe_extract_members(tar, dest, select=select, until=until, on_extracted=on_extracted,
                                        source=url)
    except tarfile.TarError as exc:  # safe_extract_members wraps its own; this is the archive header
        raise DownloadError(f"{url} is not a readable tar.gz archive ({exc}).") from exc
    finally:
        reader.close()
        log.debug("%s: read %d of %s bytes (%d reconnects)", url, reader.pos, reader.total, reader.reconnects)

