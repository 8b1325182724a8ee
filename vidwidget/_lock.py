"""One writer per output: an exclusive, non-blocking OS lock held for as long as a writer runs."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .errors import OutputConflictError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


class OutputLock:
    """An exclusive lock on ``path`` (a lock file, created if missing, or an existing directory), taken at once
    or refused with :class:`OutputConflictError`; released by :meth:`release` or when the process ends, so a
    killed writer never leaves a stale lock behind."""

    def __init__(self, path: str | os.PathLike, what: str) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
        else:
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        self._fd: int | None = os.open(self.path, flags, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                msvcrt.locking(self._fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            os.close(self._fd)
            self._fd = None
            raise OutputConflictError(
                f"{what} is being written by another process (it holds the lock on {self.path}). Wait for it to "
                "finish, or choose another output.") from None

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> OutputLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
