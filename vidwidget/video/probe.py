"""What a video file holds (frame count, rate, size, codec, orientation), read without decoding the clip."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av

from .._config import max_pixels
from ..errors import VideoError
from ._container import ffmpeg_reason, open_video
from ._orientation import detect_orientation


@dataclass(frozen=True)
class VideoInfo:
    """Facts about a video file. ``width``/``height`` are the stored frame size; ``rotation`` is the clockwise
    angle (0/90/180/270) that turns stored frames upright, and ``display_width``/``display_height`` the size
    after it. ``codec`` is FFmpeg's decoder name (``h264``, ``mpeg4``…); ``pix_fmt`` and ``container`` (the
    demuxer name, e.g. ``mov,mp4,m4a,3gp,3g2,mj2``) help decide whether a browser can play the file.
    ``sample_aspect_ratio`` is the stored pixels' width/height (the Kinetics samples are anamorphic, 64/51:
    340×256 shown as 16:9); model inputs use stored pixels as they are, previews correct for it."""

    path: Path
    num_frames: int
    fps: float
    duration: float
    width: int
    height: int
    codec: str
    rotation: int = 0
    pix_fmt: str | None = None
    container: str = ""
    has_audio: bool = False
    sample_aspect_ratio: float = 1.0
    display_width: int = field(init=False)
    display_height: int = field(init=False)

    def __post_init__(self) -> None:
        swapped = self.rotation % 180 == 90
        object.__setattr__(self, "display_width", self.height if swapped else self.width)
        object.__setattr__(self, "display_height", self.width if swapped else self.height)


def probe(path: str | Path) -> VideoInfo:
    """Probe ``path``: count its frames, read rate, size, codec and orientation.

    ``num_frames`` is the number of video packets found by demuxing the whole file (reading packets, not
    decoding them: milliseconds for a 10 s clip). The container's own count (``stream.frames``) is not
    trusted: it is 0 for Matroska/WebM, in AVI it is a header field an interrupted writer may never have
    fixed up, and in an mp4 whose index sits before the data it still lists the samples a truncated
    download lost. Packets are what the decoder will actually get (one frame each for the codecs
    used here). Only the first frame is decoded, to check that the stream decodes at all and to read the
    display matrix FFmpeg attaches to frames. ``duration`` is ``num_frames / fps``.

    Raises :class:`VideoError` for a missing, empty, unreadable or corrupt file, a file without a video
    stream, and a video stream with no frames or none that decodes.
    """
    with open_video(path) as (container, stream):
        p = Path(path)
        count = 0
        first = None
        demux_error: Exception | None = None
        try:
            for packet in container.demux(stream):
                if packet.size == 0 or packet.is_discard:
                    continue
                count += 1
                if first is None:
                    try:
                        frames = stream.decode(packet)
                    except av.error.FFmpegError:
                        frames = []  # a damaged packet; a later one may still decode
                    if frames:
                        first = frames[0]
        except av.error.FFmpegError as e:  # cut or corrupt mid-file: what was demuxed so far stands
            demux_error = e
        if first is None and count:
            try:
                frames = stream.decode(None)  # flush: decoders with delay return their first frame here
            except av.error.FFmpegError:
                frames = []
            first = frames[0] if frames else None
        if count == 0:
            extra = f" (FFmpeg stopped with '{ffmpeg_reason(demux_error)}')" if demux_error else ""
            raise VideoError(
                f"{p} has a video stream but no frames{extra}; the file is empty of video or truncated. "
                "Re-download or re-encode it."
            )
        if first is None:
            unsized = not (stream.codec_context.width and stream.codec_context.height)
            limit = f" or its frames exceed the {max_pixels():,}-pixel limit (VIDWIDGET_MAX_PIXELS)" if unsized else ""
            raise VideoError(
                f"No frame of {p} could be decoded ({count} packets of {stream.codec_context.name} data "
                f"found); the file is corrupt or truncated{limit}. Re-download or re-encode it."
            )
        orientation = detect_orientation(first, stream.metadata)
        sar = stream.sample_aspect_ratio
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if fps > 0:
            duration = count / fps
        elif container.duration:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        return VideoInfo(
            path=p,
            num_frames=count,
            fps=fps,
            duration=duration,
            width=first.width,
            height=first.height,
            codec=stream.codec_context.name,
            rotation=orientation.rotation,
            pix_fmt=stream.codec_context.pix_fmt,
            container=container.format.name,
            has_audio=bool(container.streams.audio),
            sample_aspect_ratio=float(sar) if sar and sar > 0 else 1.0,
        )
