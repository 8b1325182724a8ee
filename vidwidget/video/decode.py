"""Decode only the frames a clip needs, turned upright and preprocessed to uint8 ``[N, size, size, 3]``."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from ..errors import VideoError
from ._container import ffmpeg_reason, open_video
from ._orientation import Orientation, detect_orientation
from .preprocess import MODES, Mode, preprocess_frame, resample_indices
from .probe import probe


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 1


def check_read_args(num_frames: int | None, mode: str, size: int) -> None:
    """Raise ``ValueError`` unless ``num_frames`` is a positive int or None, ``mode`` known, ``size`` positive."""
    if num_frames is not None and not _is_positive_int(num_frames):
        raise ValueError(f"num_frames must be a positive integer or None (all frames), got {num_frames!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be 'crop' or 'pad', got {mode!r}")
    if not _is_positive_int(size):
        raise ValueError(f"size must be a positive integer (pixels), got {size!r}")


def _decode_selected(
    path: Path, total: int, n: int, mode: Mode, size: int
) -> tuple[np.ndarray | None, int, Exception | None]:
    """One sequential decoding pass keeping only frames at ``resample_indices(total, n)``.

    Returns ``(frames, decoded, error)``: ``frames`` is None when the stream ended (or broke) before the last
    wanted index, ``decoded`` how many frames decoded before stopping, ``error`` what stopped it early.
    """
    indices = resample_indices(total, n)
    slots: dict[int, list[int]] = {}
    for slot, index in enumerate(indices.tolist()):
        slots.setdefault(index, []).append(slot)
    last = int(indices[-1])
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    decoded = 0
    error: Exception | None = None
    orientation: Orientation | None = None
    with open_video(path) as (container, stream):
        # Slice threads, not frame threads: frame threading spent ~30% more CPU for the same frames
        # (benchmarks/README.md), and evaluate() already decodes several clips at once beside the model.
        stream.thread_type = "SLICE"
        try:
            for frame in container.decode(stream):
                if orientation is None:
                    orientation = detect_orientation(frame, stream.metadata)
                wanted = slots.get(decoded)
                if wanted:
                    rgb = orientation.apply(frame.to_ndarray(format="rgb24"))
                    out[wanted] = preprocess_frame(rgb, mode, size)
                decoded += 1
                if decoded > last:
                    return out, decoded, None
        except av.error.FFmpegError as e:
            error = e
    return None, decoded, error


def read_frames(path: str | Path, num_frames: int | None = None, *, mode: Mode = "crop", size: int = 224) -> np.ndarray:
    """``num_frames`` frames of the video at ``path`` (all of them when None) as uint8 RGB
    ``[N, size, size, 3]``, at indices ``floor(T*i/N)`` of its ``T`` frames (repeats when ``T < N``).

    Frames are decoded sequentially with PyAV; only the selected ones are converted to RGB, turned upright
    (display matrix / rotate tag), made square (``mode``: centre ``"crop"`` or black ``"pad"``) and resized,
    so memory holds the output and one frame. Decoding stops after the last selected frame. If the file
    yields fewer frames than :func:`probe` counted (a truncated or damaged tail), the indices are recomputed
    from the frames that really decode and a second pass reads those. Raises :class:`VideoError` when no
    frame decodes, ``ValueError`` for bad arguments.
    """
    check_read_args(num_frames, mode, size)
    info = probe(path)
    total = info.num_frames
    n = total if num_frames is None else int(num_frames)
    frames, decoded, error = _decode_selected(info.path, total, n, mode, int(size))
    if frames is not None:
        return frames
    if decoded == 0:
        why = f"FFmpeg says '{ffmpeg_reason(error)}'" if error else "the stream ended before the first frame"
        raise VideoError(
            f"No frame of {info.path} could be decoded ({why}); the file is corrupt or truncated. "
            "Re-download or re-encode it."
        )
    real = decoded
    if num_frames is None:
        n = real
    frames, decoded, error = _decode_selected(info.path, real, n, mode, int(size))
    if frames is None:
        raise VideoError(
            f"Decoding {info.path} is not repeatable: {real} frames decoded the first time, {decoded} the "
            f"second ({ffmpeg_reason(error) if error else 'early end of stream'}); the file may be changing "
            "on disk or damaged. Re-download or re-encode it."
        )
    return frames
