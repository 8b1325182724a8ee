"""Frame preprocessing for the model: square crop or pad, resize, and the uniform frame-index rule.

All functions take and return uint8 arrays (``[H, W]`` or ``[H, W, C]`` frames, ``[T, ...]`` clips);
nothing here converts to float.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import cv2
import numpy as np

Mode = Literal["crop", "pad"]
MODES: tuple[str, ...] = ("crop", "pad")


def resample_indices(total: int, n: int) -> np.ndarray:
    """Indices ``floor(total * i / n)`` for ``i`` in ``0..n-1``: ``n`` frames spread uniformly over ``total``,
    repeating frames when ``total < n`` (the seed tutorial's rule). Exact integer arithmetic, int64."""
    total, n = int(total), int(n)
    if total < 1:
        raise ValueError(f"total must be at least 1 frame, got {total}")
    if n < 1:
        raise ValueError(f"n must be at least 1 frame, got {n}")
    return (np.arange(n, dtype=np.int64) * total) // n


def resample_video(frames: np.ndarray, n: int) -> np.ndarray:
    """``n`` frames of the clip ``frames`` (``[T, ...]``) picked by :func:`resample_indices` (a new array)."""
    frames = np.asarray(frames)
    if frames.ndim < 1 or frames.shape[0] == 0:
        raise ValueError(f"resample_video needs a clip [T, ...] with T >= 1, got shape {frames.shape}")
    return frames[resample_indices(frames.shape[0], n)]


def batch_frame_count(counts: Iterable[int]) -> int:
    """The frame count to use for a batch when none is given: the fewest frames of any clip in it, so that no
    clip repeats frames (the seed tutorial's rule)."""
    values = [int(c) for c in counts]
    if not values:
        raise ValueError("batch_frame_count needs at least one clip's frame count, got none")
    smallest = min(values)
    if smallest < 1:
        raise ValueError(f"every clip needs at least one frame, got counts {values}")
    return smallest


def _check_frame(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim not in (2, 3) or frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"expected a frame [H, W] or [H, W, C] with H, W >= 1, got shape {frame.shape}")
    return frame


def center_crop_square(frame: np.ndarray) -> np.ndarray:
    """The largest centred square of ``frame`` (a view); the odd pixel left over goes to the right/bottom."""
    frame = _check_frame(frame)
    h, w = frame.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return frame[top : top + side, left : left + side]


def pad_to_square(frame: np.ndarray) -> np.ndarray:
    """``frame`` centred on a black square whose side is its longer edge (the odd pixel goes right/bottom)."""
    frame = _check_frame(frame)
    h, w = frame.shape[:2]
    side = max(h, w)
    out = np.zeros((side, side, *frame.shape[2:]), dtype=frame.dtype)
    top, left = (side - h) // 2, (side - w) // 2
    out[top : top + h, left : left + w] = frame
    return out


def to_square(frame: np.ndarray, mode: Mode = "crop") -> np.ndarray:
    """``frame`` made square: :func:`center_crop_square` (``"crop"``) or :func:`pad_to_square` (``"pad"``)."""
    if mode == "crop":
        return center_crop_square(frame)
    if mode == "pad":
        return pad_to_square(frame)
    raise ValueError(f"mode must be 'crop' or 'pad', got {mode!r}")


def resize(frame: np.ndarray, size: int = 224) -> np.ndarray:
    """``frame`` resized to ``size``×``size`` (crop or pad to square first, or it is stretched).

    Interpolation: ``cv2.INTER_AREA`` when shrinking — it averages every source pixel under an output pixel,
    so fine detail (text, fences, textured water) does not alias into moiré the way ``INTER_LINEAR``'s
    2×2-tap sampling does (tests/test_video_preprocess.py measures this on a fine stripe pattern) — and
    ``cv2.INTER_LINEAR`` when enlarging, where ``INTER_AREA`` degenerates to blocky nearest-neighbour
    output. A frame already of the target size is returned as a contiguous copy.
    """
    frame = _check_frame(frame)
    size = int(size)
    if size < 1:
        raise ValueError(f"size must be at least 1 pixel, got {size}")
    h, w = frame.shape[:2]
    if (h, w) == (size, size):
        return np.array(frame, copy=True, order="C")
    shrinking = size <= h and size <= w
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    src = np.ascontiguousarray(frame)
    out = cv2.resize(src, (size, size), interpolation=interpolation)
    if frame.ndim == 3 and out.ndim == 2:  # OpenCV drops a single channel axis
        out = out[:, :, None]
    return out


def preprocess_frame(frame: np.ndarray, mode: Mode = "crop", size: int = 224) -> np.ndarray:
    """Square (crop or pad) on the original frame, then resize to ``size``×``size``: a model input frame."""
    return resize(to_square(frame, mode), size)
