"""Browser-playable previews of clips: small H.264/yuv420p mp4 files, re-encoded with PyAV and cached."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from .. import _config
from .._cachefile import is_regular, remove_entry
from ..errors import VideoError
from ._container import ffmpeg_reason, open_video
from ._orientation import Orientation, detect_orientation
from .probe import probe

PREVIEW_VERSION = 1
AS_IS_MAX_BYTES = 2 * 1024 * 1024
"""A browser-safe file at most this big (and narrow enough) is served as is instead of re-encoded."""

H264_ENCODERS: tuple[str, ...] = ("libx264", "libopenh264", "h264")
"""Encoders tried in order; ``h264`` is whatever FFmpeg registered as the default H.264 encoder."""

_BROWSER_AUDIO = {"aac", "mp3", "opus"}
_MP4_EXTENSIONS = {".mp4", ".m4v"}


def is_browser_safe(path: str | Path) -> bool:
    """True when every common browser plays the file as is: an ``.mp4`` (MP4 container) whose video is
    H.264 in 8-bit ``yuv420p`` and whose audio, if any, is AAC, MP3 or Opus. Size is not considered (see
    :func:`browser_preview`). Raises :class:`VideoError` when the file cannot be opened as a video."""
    p = Path(path)
    with open_video(p) as (container, stream):
        return (
            p.suffix.lower() in _MP4_EXTENSIONS
            and "mp4" in container.format.name.split(",")
            and stream.codec_context.name == "h264"
            and stream.codec_context.pix_fmt == "yuv420p"
            and all(a.codec_context.name in _BROWSER_AUDIO for a in container.streams.audio)
        )


def h264_encoder() -> str:
    """The name of the first H.264 encoder this PyAV build can open (``libx264`` in PyPI wheels), else a
    :class:`VideoError` that says what was tried."""
    for name in H264_ENCODERS:
        try:
            av.codec.Codec(name, "w")
        except (av.codec.codec.UnknownCodecError, ValueError):
            continue
        return name
    raise VideoError(
        f"This PyAV/FFmpeg build has no H.264 encoder (tried {', '.join(H264_ENCODERS)}), so browser previews "
        "cannot be made. Install the PyAV wheels from PyPI (`pip install --force-reinstall av`), which bundle "
        "libx264."
    )


def _target_size(width: float, height: float, max_width: int) -> tuple[int, int]:
    """Even ``(w, h)`` no wider than ``max_width`` keeping the aspect ratio of a ``width``×``height`` picture
    (in square pixels), at least 2×2 as yuv420p needs."""
    w = min(round(width), max_width)
    h = height * w / width
    w = max(2, int(w) // 2 * 2)
    h = max(2, int(round(h / 2)) * 2)
    return w, h


def _preview_path(path: Path, max_width: int, cache_dir: Path) -> Path:
    st = path.stat()
    key = json.dumps([PREVIEW_VERSION, str(path.resolve()), st.st_size, st.st_mtime_ns, max_width])
    return cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.mp4"


def browser_preview(path: str | Path, *, max_width: int = 320, cache_dir: str | Path | None = None) -> Path:
    """A file a browser can play showing the video at ``path``: the file itself when it is browser-safe
    (:func:`is_browser_safe`), at most ``max_width`` px wide and at most 2 MiB; else an H.264/yuv420p mp4
    (``+faststart``, no audio, upright, square pixels at the display aspect ratio, at most ``max_width``
    wide, even dimensions, constant frame rate) re-encoded with PyAV and cached under ``cache_dir`` (default
    ``VIDWIDGET_HOME/previews``), keyed by the file's path, size and mtime. Written atomically, so
    concurrent callers never see a partial file. Raises :class:`VideoError` for unreadable input or when
    PyAV has no H.264 encoder."""
    if isinstance(max_width, bool) or not isinstance(max_width, int) or max_width < 2:
        raise ValueError(f"max_width must be an integer of at least 2 pixels, got {max_width!r}")
    p = Path(path)
    info = probe(p)
    if (
        info.display_width <= max_width
        and info.rotation == 0
        and p.stat().st_size <= AS_IS_MAX_BYTES
        and is_browser_safe(p)
    ):
        return p
    root = Path(cache_dir) if cache_dir is not None else _config.subdir("previews")
    root.mkdir(parents=True, exist_ok=True)
    out = _preview_path(p, max_width, root)
    if is_regular(out, nonempty=True):
        return out
    remove_entry(out)  # an empty file, or a directory/fifo/symlink squatting the name: never trusted
    encoder = h264_encoder()
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".tmp-", suffix=".mp4")
    os.close(fd)
    try:
        _encode(p, Path(tmp), max_width, encoder)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return out


def _encode(src: Path, dst: Path, max_width: int, encoder: str) -> None:
    """Re-encode the video stream of ``src`` into ``dst`` (mp4, H.264 yuv420p), upright and scaled down."""
    with open_video(src) as (container, stream):
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        rate = Fraction(rate).limit_denominator(1001)
        sar = stream.sample_aspect_ratio
        sar = float(sar) if sar and sar > 0 else 1.0
        stream.thread_type = "AUTO"
        written = 0
        with av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            ostream = None
            orientation: Orientation | None = None
            try:
                for frame in container.decode(stream):
                    if orientation is None:
                        orientation = detect_orientation(frame, stream.metadata)
                    rgb = orientation.apply(frame.to_ndarray(format="rgb24"))
                    if ostream is None:
                        rows, cols = rgb.shape[:2]  # SAR stretches stored columns, i.e. rows once transposed
                        physical = (cols, rows * sar) if orientation.swaps_axes else (cols * sar, rows)
                        w, h = _target_size(*physical, max_width)
                        ostream = out.add_stream(encoder, rate=rate)
                        ostream.width, ostream.height, ostream.pix_fmt = w, h, "yuv420p"
                        if encoder == "libx264":
                            ostream.options = {"preset": "veryfast", "crf": "23"}
                    if rgb.shape[:2] != (h, w):
                        shrink = w <= rgb.shape[1] and h <= rgb.shape[0]
                        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
                        rgb = cv2.resize(np.ascontiguousarray(rgb), (w, h), interpolation=interp)
                    vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
                    vf.pts = written
                    for packet in ostream.encode(vf):
                        out.mux(packet)
                    written += 1
            except av.error.FFmpegError as e:
                if written == 0:
                    raise VideoError(f"Cannot make a preview of {src}: decoding failed ('{ffmpeg_reason(e)}').") from e
                # a damaged tail: the preview keeps what decoded
            if ostream is None:
                raise VideoError(f"Cannot make a preview of {src}: no frame could be decoded.")
            for packet in ostream.encode(None):
                out.mux(packet)
