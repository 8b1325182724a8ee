"""Kinetics clip ids: ``{youtube_id}_{start:06d}_{end:06d}``, parsed by pattern and never guessed."""

from __future__ import annotations

import re
from typing import NamedTuple

# YouTube ids are 11 characters of [A-Za-z0-9_-]; they may start with "-" (so never pass them as CLI flags).
CLIP_ID_RE = re.compile(r"^(?P<yt>[A-Za-z0-9_-]{11})_(?P<start>\d{6})_(?P<end>\d{6})$")
CLIP_SUFFIX = ".mp4"


class ClipId(NamedTuple):
    """The parts of a Kinetics clip id."""

    youtube_id: str
    start: int
    end: int


def make_clip_id(youtube_id: str, start: float, end: float) -> str:
    """The Kinetics clip id (and member/file stem) of a YouTube id and its start/end second."""
    return f"{youtube_id}_{int(start):06d}_{int(end):06d}"


def parse_clip_id(name: str) -> ClipId | None:
    """Parse a clip id or a clip file name (``.mp4`` suffix optional); None when it is not a Kinetics clip id."""
    stem = name[: -len(CLIP_SUFFIX)] if name.lower().endswith(CLIP_SUFFIX) else name
    m = CLIP_ID_RE.match(stem)
    if m is None:
        return None
    return ClipId(m["yt"], int(m["start"]), int(m["end"]))


def is_clip_file_name(name: str) -> bool:
    """True for a bare Kinetics clip file name such as ``-abc123def45_000010_000020.mp4``."""
    return name.endswith(CLIP_SUFFIX) and parse_clip_id(name) is not None
