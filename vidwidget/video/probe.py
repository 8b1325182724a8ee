"""What a video file holds (frame count, rate, size, codec, orientation), read without decoding the clip."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av
import av.container
import av.video.stream

from ..errors import VideoError
from ._container import ffmpeg_reason, open_video, pixel_limit_hint
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


@dataclass(frozen=True)
class PacketIndex:
    """The video packets of a file in decode order, as demuxed once: presentation and decode timestamps (None
    where the container has none) and key-frame flags. ``demux_error`` is what stopped demuxing early (a cut or
    corrupt file), else None. :mod:`vidwidget.video.decode` plans seeks from it."""

    pts: tuple[int | None, ...]
    dts: tuple[int | None, ...]
    keyframe: tuple[bool, ...]
    demux_error: Exception | None = None

    @property
    def count(self) -> int:
        """How many packets (= frames, for the codecs used here) the file holds."""
        return len(self.pts)


def scan(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, *, decode_first: bool = True
) -> tuple[PacketIndex, av.VideoFrame | None]:
    """Demux every packet of ``stream`` once (no decoding) into a :class:`PacketIndex`; with ``decode_first``
    also decode the first frame on the way (probe's check that the stream decodes, and its display matrix).
    Empty and discarded packets are not counted: the decoder never turns them into frames."""
    pts: list[int | None] = []
    dts: list[int | None] = []
    keyframe: list[bool] = []
    first = None
    demux_error: Exception | None = None
    try:
        for packet in container.demux(stream):
            if packet.size == 0 or packet.is_discard:
                continue
            pts.append(packet.pts)
            dts.append(packet.dts)
            keyframe.append(bool(packet.is_keyframe))
            if decode_first and first is None:
                try:
                    frames = stream.decode(packet)
                except av.error.FFmpegError:
                    frames = []  # a damaged packet; a later one may still decode
                if frames:
                    first = frames[0]
    except av.error.FFmpegError as e:  # cut or corrupt mid-file: what was demuxed so far stands
        demux_error = e
    if decode_first and first is None and pts:
        try:
            frames = stream.decode(None)  # flush: decoders with delay return their first frame here
        except av.error.FFmpegError:
            frames = []
        first = frames[0] if frames else None
    return PacketIndex(tuple(pts), tuple(dts), tuple(keyframe), demux_error), first


def no_frames_error(path: Path, index: PacketIndex) -> VideoError:
    """The error for a video stream without a single packet."""
    extra = f" (FFmpeg stopped with '{ffmpeg_reason(index.demux_error)}')" if index.demux_error else ""
    return VideoError(
        f"{path} has a video stream but no frames{extra}; the file is empty of video or truncated. "
        "Re-download or re-encode it."
    )


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
        index, first = scan(container, stream)
        count = index.count
        if count == 0:
            raise no_frames_error(p, index)
        if first is None:
            limit = pixel_limit_hint(stream)
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
