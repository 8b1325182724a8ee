"""Display orientation of a video (display matrix side data or ``rotate`` tag) and how to apply it to frames.

FFmpeg's command line is the reference: ``ffmpeg`` auto-rotates with ``transpose``/``hflip``/``vflip``
filters chosen from the display matrix, and :func:`orientation_from_matrix` makes the same choices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

_OPS = {
    "clock": lambda a: np.rot90(a, -1),
    "cclock": lambda a: np.rot90(a, 1),
    "cclock_flip": lambda a: a.swapaxes(0, 1),
    "clock_flip": lambda a: a[::-1, ::-1].swapaxes(0, 1),
    "hflip": lambda a: a[:, ::-1],
    "vflip": lambda a: a[::-1],
}


@dataclass(frozen=True)
class Orientation:
    """How to turn a stored frame upright: ``rotation`` is the clockwise angle in degrees (0/90/180/270, the
    convention of the legacy ``rotate`` tag), ``ops`` the FFmpeg-style steps giving the display image."""

    rotation: int = 0
    ops: tuple[str, ...] = ()

    @property
    def swaps_axes(self) -> bool:
        """True when the displayed frame has width and height swapped."""
        return self.rotation in (90, 270)

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """The frame ``[H, W, ...]`` as it should be displayed (a view when possible)."""
        for op in self.ops:
            frame = _OPS[op](frame)
        return frame


IDENTITY = Orientation()

Rect = tuple[int, int, int, int]
"""``(top, left, height, width)`` of a rectangle of pixels."""

# Where each op moves a rectangle of a (rows, cols) frame, in the op's output frame (the same moves as _OPS).
_RECT_OPS = {
    "clock": lambda r, rows, cols: (r[1], rows - r[0] - r[2], r[3], r[2]),
    "cclock": lambda r, rows, cols: (cols - r[1] - r[3], r[0], r[3], r[2]),
    "cclock_flip": lambda r, rows, cols: (r[1], r[0], r[3], r[2]),
    "clock_flip": lambda r, rows, cols: (cols - r[1] - r[3], rows - r[0] - r[2], r[3], r[2]),
    "hflip": lambda r, rows, cols: (r[0], cols - r[1] - r[3], r[2], r[3]),
    "vflip": lambda r, rows, cols: (rows - r[0] - r[2], r[1], r[2], r[3]),
}


_INVERSE = {"clock": "cclock", "cclock": "clock"}  # the others undo themselves
_SWAPS = {"clock", "cclock", "cclock_flip", "clock_flip"}


def _move_rect(ops: tuple[str, ...], rect: Rect, rows: int, cols: int) -> Rect:
    for op in ops:
        rect = _RECT_OPS[op](rect, rows, cols)
        if op in _SWAPS:
            rows, cols = cols, rows
    return rect


def displayed_rect(orientation: Orientation, rect: Rect, rows: int, cols: int) -> Rect:
    """Where the rectangle ``rect`` of a stored ``rows`` × ``cols`` frame lands in the displayed frame."""
    return _move_rect(orientation.ops, rect, rows, cols)


def stored_rect(orientation: Orientation, rect: Rect, rows: int, cols: int) -> Rect:
    """The rectangle of a stored ``rows`` × ``cols`` frame that is shown as ``rect`` of the displayed frame, so
    a crop can happen before the frame is turned upright (the ops only move whole rows and columns)."""
    if orientation.swaps_axes:
        rows, cols = cols, rows
    inverse = tuple(_INVERSE.get(op, op) for op in reversed(orientation.ops))
    return _move_rect(inverse, rect, rows, cols)


def orientation_from_matrix(matrix: np.ndarray) -> Orientation:
    """The orientation FFmpeg applies for a 3×3 display matrix (9 int32, 16.16 fixed point), angles snapped
    to the nearest multiple of 90 degrees."""
    m = [int(v) for v in np.asarray(matrix).reshape(-1)[:9]]
    s0 = math.hypot(m[0], m[3])
    s1 = math.hypot(m[1], m[4])
    if s0 == 0 or s1 == 0:
        return IDENTITY
    theta = math.degrees(math.atan2(m[1] / s1, m[0] / s0))
    theta = (round(theta / 90) * 90) % 360
    if theta == 90:
        return Orientation(90, ("cclock_flip",) if m[3] > 0 else ("clock",))
    if theta == 180:
        ops = (("hflip",) if m[0] < 0 else ()) + (("vflip",) if m[4] < 0 else ())
        return Orientation(180, ops)
    if theta == 270:
        return Orientation(270, ("clock_flip",) if m[3] < 0 else ("cclock",))
    return Orientation(0, ("vflip",) if m[4] < 0 else ())


def orientation_from_tag(degrees: int) -> Orientation:
    """The orientation for a legacy ``rotate`` tag (clockwise degrees), snapped to a multiple of 90."""
    rotation = (round(degrees / 90) * 90) % 360
    ops = {0: (), 90: ("clock",), 180: ("clock", "clock"), 270: ("cclock",)}[rotation]
    return Orientation(rotation, ops)


def frame_display_matrix(frame: object) -> np.ndarray | None:
    """The display matrix attached to a decoded PyAV frame, or None."""
    if hasattr(frame, "reformat"):
        # PyAV 18 never frees a frame once its side_data has been looked at (measured: one decoded picture per
        # call, 13 MB at 4K), so the side data is read from a 2x2 copy that carries the same side data: at
        # most that copy stays behind.
        frame = frame.reformat(width=2, height=2, format="gray", interpolation="POINT")
    side_data = getattr(frame, "side_data", None)
    if side_data is None:
        return None
    for sd in side_data:
        if getattr(getattr(sd, "type", None), "name", "") == "DISPLAYMATRIX":
            raw = bytes(sd)
            if len(raw) >= 36:
                return np.frombuffer(raw[:36], dtype=np.int32)
    return None


def rotate_tag(metadata: Mapping[str, str]) -> int | None:
    """The value of a ``rotate`` metadata tag (any case, e.g. Matroska's ``ROTATE``), or None."""
    for key, value in metadata.items():
        if key.lower() == "rotate":
            try:
                return int(float(value))
            except ValueError:
                return None
    return None


def detect_orientation(frame: object, metadata: Mapping[str, str]) -> Orientation:
    """Orientation from the frame's display matrix (what FFmpeg exports from mp4/mov ``tkhd`` matrices), else
    from a ``rotate`` tag in the stream metadata, else upright."""
    matrix = frame_display_matrix(frame)
    if matrix is not None:
        return orientation_from_matrix(matrix)
    tag = rotate_tag(metadata)
    if tag is not None:
        return orientation_from_tag(tag)
    return IDENTITY
