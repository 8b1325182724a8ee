"""The one identity of a video clip that every stage passes along, and the escaping that makes any file name
a safe, printable, reversible id."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# A backslash, an undecodable byte (a lone surrogate from os.fsdecode's surrogateescape), a C0 control or DEL.
_UNSAFE = re.compile(r"[\\\udc80-\udcff\x00-\x1f\x7f]")
_ESCAPE = re.compile(r"\\(\\|x[0-9a-fA-F]{2})")


def _escape_one(match: re.Match) -> str:
    ch = match.group()
    if ch == "\\":
        return "\\\\"
    code = ord(ch)
    return f"\\x{code - 0xDC00 if code >= 0xDC80 else code:02x}"


def escape_name(name: str) -> str:
    """``name`` (as ``os.fsdecode`` gives it) as valid, single-line UTF-8 text: a byte that is not UTF-8 becomes
    ``\\xHH``, so does a control character, and a backslash becomes ``\\\\``. Reversed by :func:`unescape_name`,
    so ids made from any name a filesystem allows survive CSV, JSON and the browser."""
    return _UNSAFE.sub(_escape_one, name)


def _unescape_one(match: re.Match) -> str:
    body = match.group(1)
    if body == "\\":
        return "\\"
    code = int(body[1:], 16)
    return chr(0xDC00 + code) if code >= 0x80 else chr(code)


def unescape_name(text: str) -> str:
    """The file name (``os.fsdecode`` form) that :func:`escape_name` turned into ``text``."""
    return _ESCAPE.sub(_unescape_one, text)


def display_path(path: str | os.PathLike) -> str:
    """A path as escaped text (see :func:`escape_name`), e.g. for a results table."""
    return escape_name(os.fspath(path))


@dataclass(frozen=True)
class Clip:
    """A clip: its id (Kinetics ``{youtube_id}_{start:06d}_{end:06d}`` or a file stem), its ground-truth label
    (None when unlabeled), where it lies on disk (None while not downloaded), and its source times in seconds.
    Ids and labels made from file names are escaped with :func:`escape_name`: always valid UTF-8 text."""

    id: str
    label: str | None = None
    path: Path | None = None
    start: float | None = None
    end: float | None = None

    @property
    def youtube_id(self) -> str:
        """The YouTube id for Kinetics clips (the id without its time suffix), else the id itself."""
        parts = self.id.rsplit("_", 2)
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit() and len(parts[0]) == 11:
            return parts[0]
        return self.id

    @classmethod
    def from_path(cls, path: str | Path, label: str | None = None) -> Clip:
        """A clip for a file, identified by its file name without extension (escaped, see :func:`escape_name`)."""
        p = Path(path)
        return cls(id=escape_name(p.stem), label=label, path=p)
