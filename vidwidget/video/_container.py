"""Open a file as a video with PyAV, turning each way that can fail into a :class:`VideoError` saying why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import av.container
import av.video.stream

from .. import _config
from ..errors import VideoError


def check_file(path: str | Path) -> Path:
    """``path`` as a ``Path``, checked to name a non-empty regular file (else :class:`VideoError`)."""
    p = Path(path)
    if not p.exists():
        raise VideoError(f"Video file not found: {p}. Check the path, or download the clip first.")
    if not p.is_file():
        raise VideoError(f"Not a video file: {p} is a directory or special file; pass a video file's path.")
    if p.stat().st_size == 0:
        raise VideoError(
            f"Video file is empty (0 bytes): {p}. The download or copy probably failed; fetch the file again."
        )
    return p


@contextmanager
def open_video(path: str | Path) -> Iterator[tuple[av.container.InputContainer, av.video.stream.VideoStream]]:
    """Open ``path`` and yield ``(container, first video stream)``, closing the container afterwards.

    Raises :class:`VideoError` for a missing or empty file, a file FFmpeg cannot parse (random bytes, an mp4
    cut before its index), a file without a video stream, and frames of more than ``_config.max_pixels()``
    pixels. FFmpeg's own ``max_pixels`` limit is also set, for probing the container and for the stream's
    decoder, so a small file claiming a huge picture (a size only decoding reveals, or a size change mid-stream)
    is refused before anything that size is allocated; at twice the limit, as decoders count padded frames.
    """
    p = check_file(path)
    limit = _config.max_pixels()
    ffmpeg_limit = str(2 * limit)
    try:
        container = av.open(str(p), mode="r", options={"max_pixels": ffmpeg_limit})
    except av.error.FFmpegError as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise VideoError(
            f"Cannot read {p} as a video: FFmpeg says '{reason}'. The file is not a video, is corrupt, or is "
            "truncated (an incomplete download); download or re-encode it."
        ) from e
    try:
        if not container.streams.video:
            kinds = ", ".join(s.type for s in container.streams) or "none"
            raise VideoError(f"{p} has no video stream (streams found: {kinds}); pass a file that contains video.")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if ctx.width * ctx.height > limit:
            raise VideoError(f"{p} has {ctx.width}×{ctx.height} frames, more than the {limit:,} pixels vidwidget "
                             "decodes (VIDWIDGET_MAX_PIXELS); scale the video down, or raise the limit.")
        ctx.options = {**ctx.options, "max_pixels": ffmpeg_limit}
        yield container, stream
    finally:
        container.close()


def pixel_limit_hint(stream: av.video.stream.VideoStream) -> str:
    """The words to add when no frame decoded from a stream whose header gave no picture size: FFmpeg's
    ``max_pixels`` refusal looks like any other decoding error ("Invalid argument")."""
    ctx = stream.codec_context
    if ctx.width and ctx.height:
        return ""
    return f" or its frames exceed the {_config.max_pixels():,}-pixel limit (VIDWIDGET_MAX_PIXELS)"


def ffmpeg_reason(e: BaseException) -> str:
    """A short human-readable reason for a PyAV/FFmpeg exception."""
    return getattr(e, "strerror", None) or str(e) or type(e).__name__
