"""Opening cache entries safely: only a regular file is trusted; anything else found at an entry's path (a
directory, a fifo, a socket, a symlink) is removed so the entry is rebuilt, and is never opened blocking."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger("vidwidget")


def remove_entry(path: Path) -> None:
    """Remove whatever is at ``path`` (a file, link, fifo, or a whole directory); missing is fine."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def is_regular(path: Path, nonempty: bool = False) -> bool:
    """Whether ``path`` itself (not a symlink's target) is a regular file (and, with ``nonempty``, not empty)."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and (st.st_size > 0 or not nonempty)


def open_regular(path: Path) -> BinaryIO | None:
    """``path`` opened for binary reading if it is a regular file; None if nothing is there. Anything else at
    that path is removed (and None returned), so the caller rebuilds the entry. Opened with ``O_NONBLOCK`` and
    ``O_NOFOLLOW`` and checked with ``fstat``, so a fifo planted there cannot block and a symlink is not
    followed."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError:  # a symlink (ELOOP), a directory on some systems, no permission...
        log.warning("cache entry %s is not a regular file; removing it", path)
        remove_entry(path)
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            log.warning("cache entry %s is not a regular file; removing it", path)
            remove_entry(path)
            return None
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise
