"""Decode only the frames a clip needs, turned upright and preprocessed to uint8 ``[N, size, size, 3]``.

One container open serves both the probe (every packet demuxed once, no decoding: frame count, timestamps,
key frames) and the decoding. Wanted frames are found by their presentation timestamp, so decoding can
jump: for each wanted frame the decoder seeks to the last key frame at or before it, unless it is already
decoding the stretch that leads there (shared stretches are decoded once). Non-reference frames that are not
wanted are skipped inside FFmpeg (``skip_frame="NONREF"``: nothing else depends on them, so every other frame
decodes bit-identically), and only wanted frames reach the scaler (:class:`~._scaler.FrameScaler`).

When the timestamps cannot be trusted (no or duplicate pts, AVI's guessed pts, a decoder that does not hand
back the expected pts, a seek that lands after the key frame it aimed at, a decode error), the clip is
decoded sequentially from the start instead, counting frames as they come out: the same rule as before, and
the reference that tests compare the seek-based path against.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.container
import av.video.stream
import numpy as np

from ..errors import VideoError
from ._container import ffmpeg_reason, open_video, pixel_limit_hint
from ._orientation import Orientation, detect_orientation
from ._scaler import FrameScaler
from .preprocess import MODES, Mode, resample_indices
from .probe import PacketIndex, no_frames_error, scan

_NO_PTS_FORMATS = {"avi"}
"""Demuxers whose packet pts FFmpeg guesses from decode order; with packed B-frames (the shared MPEG-4 AVI)
the decoder's frames come back with pts that do not match them."""


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


@dataclass
class DecodeStats:
    """What decoding one clip cost: ``packets`` fed to the decoder (an upper bound on frames decoded: it counts
    the unwanted non-reference frames FFmpeg skipped), ``frames`` the decoder returned, ``seeks`` done, and
    ``method``: ``"seek"`` (by timestamps) or ``"sequential"`` (counting frames from the start)."""

    packets: int = 0
    frames: int = 0
    seeks: int = 0
    method: str = "seek"


class _Unreliable(Exception):
    """The timestamps or a seek did not behave as the index said: decode sequentially instead."""


class _Timeline:
    """Presentation order of the packets of a :class:`PacketIndex` whose pts are all known and distinct."""

    def __init__(self, index: PacketIndex) -> None:
        pts = index.pts
        self.order = sorted(range(len(pts)), key=lambda i: pts[i])  # presentation index -> decode position
        self.pts = [pts[i] for i in self.order]  # presentation index -> pts
        self.rank = {p: r for r, p in enumerate(self.pts)}
        self.position = {p: i for i, p in enumerate(pts)}
        self.keys = [i for i, k in enumerate(index.keyframe) if k]
        self.index = index

    @classmethod
    def of(cls, index: PacketIndex, container: av.container.InputContainer) -> _Timeline | None:
        """The timeline, or None when the pts cannot identify frames."""
        pts = index.pts
        if container.format.name in _NO_PTS_FORMATS or any(p is None for p in pts) or len(set(pts)) != len(pts):
            return None
        timeline = cls(index)
        return timeline if timeline.keys else None

    def key_for(self, rank: int) -> int:
        """Decode position of the key frame a decoder must start from to output frame ``rank`` exactly: the
        last key frame at or before its packet, and not after it in presentation order (an open-GOP key
        frame's leading pictures need the key frame before it)."""
        target = self.order[rank]
        pts = self.pts[rank]
        i = bisect.bisect_right(self.keys, target) - 1
        while i >= 0 and self.index.pts[self.keys[i]] > pts:
            i -= 1
        if i < 0:
            raise _Unreliable(f"no key frame before frame {rank}")
        return self.keys[i]


def fewest_packets(index: PacketIndex, ranks: list[int]) -> int:
    """The fewest packets exact decoding of frames ``ranks`` (presentation indices) needs given the key frames
    of ``index``: each frame decoded from the key frame before it, stretches shared by several frames once."""
    timeline = _Timeline(index)
    spans = sorted((timeline.key_for(r), timeline.order[r]) for r in set(ranks))
    total, end = 0, -1
    for start, stop in spans:
        if stop > end:
            total += stop - max(start, end + 1) + 1
            end = stop
    return total


def _seek(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    timeline: _Timeline,
    key: int,
    stats: DecodeStats,
) -> tuple[Iterator[av.Packet], int]:
    """Seek so that demuxing starts at the key frame at decode position ``key`` (or an earlier key frame).
    Returns the packets from there and the pts of the key frame landed on. Demuxers index key frames by pts
    (mp4) or dts (AVI-like): the pts is tried first, then the dts."""
    targets = dict.fromkeys(t for t in (timeline.index.pts[key], timeline.index.dts[key]) if t is not None)
    for target in targets:
        container.seek(target, stream=stream, backward=True)
        stats.seeks += 1
        packets = container.demux(stream)
        for packet in packets:
            if packet.size and not packet.is_discard:
                break
        else:
            continue
        pos = timeline.position.get(packet.pts)
        if pos is not None and pos <= key and timeline.index.keyframe[pos]:
            return itertools.chain((packet,), packets), packet.pts
    raise _Unreliable(f"no seek reached the key frame at packet {key}")


def _decode_by_pts(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    timeline: _Timeline,
    slots: dict[int, list[int]],
    out: np.ndarray,
    mode: Mode,
    stats: DecodeStats,
) -> None:
    """Fill ``out[slots[rank]]`` for every wanted presentation index, seeking to key frames as planned."""
    wanted = sorted(slots)
    wanted_pts = {timeline.pts[r] for r in wanted}
    codec = stream.codec_context
    scaler: FrameScaler | None = None
    packets = None
    position = -1  # decode position of the last packet fed
    trusted_from = 0  # pts of the key frame decoding (re)started at; earlier pts are open-GOP leading pictures
    last_rank = -1
    done: set[int] = set()
    i = 0
    while i < len(wanted):
        key = timeline.key_for(wanted[i])
        if packets is None or key > position:
            packets, trusted_from = _seek(container, stream, timeline, key, stats)
            position, last_rank = -1, -1
        for packet in packets:
            if packet.size == 0:  # end of stream: drain the frames the decoder still holds
                frames = stream.decode(packet)
                position = timeline.index.count
            else:
                if packet.is_discard:
                    continue
                pos = timeline.position.get(packet.pts)
                if pos is None:
                    raise _Unreliable(f"packet pts {packet.pts} is not in the index")
                position = pos
                skip = packet.pts not in wanted_pts
                codec.skip_frame = "NONREF" if skip else "DEFAULT"
                stats.packets += 1
                frames = stream.decode(packet)
            stats.frames += len(frames)
            for frame in frames:
                if frame.pts is None or frame.pts not in timeline.rank:
                    raise _Unreliable(f"decoded frame has pts {frame.pts}, not in the index")
                if frame.pts < trusted_from:
                    continue
                rank = timeline.rank[frame.pts]
                if rank <= last_rank:
                    raise _Unreliable(f"frames came out of order ({rank} after {last_rank})")
                last_rank = rank
                if rank in slots and rank not in done:
                    if scaler is None:
                        scaler = FrameScaler(mode, out.shape[1], detect_orientation(frame, stream.metadata))
                    out[slots[rank]] = scaler(frame)
                    done.add(rank)
            if wanted[i] in done:
                while i < len(wanted) and wanted[i] in done:
                    i += 1
                break  # re-plan: the next wanted frame may be better reached by a seek
        else:
            raise _Unreliable("the stream ended before every wanted frame was decoded")
    codec.skip_frame = "DEFAULT"


def _slots(indices: np.ndarray) -> dict[int, list[int]]:
    slots: dict[int, list[int]] = {}
    for slot, index in enumerate(indices.tolist()):
        slots.setdefault(index, []).append(slot)
    return slots


def _decode_sequential(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    total: int,
    n: int,
    mode: Mode,
    size: int,
    stats: DecodeStats,
    first: tuple[int | None, int | None] | None = None,
) -> tuple[np.ndarray | None, int, Exception | None]:
    """One sequential decoding pass keeping only frames at ``resample_indices(total, n)``; ``first`` is the
    ``(pts, dts)`` the first packet must have (after a seek back to the start), else :class:`_Unreliable`.

    Returns ``(frames, decoded, error)``: ``frames`` is None when the stream ended (or broke) before the last
    wanted index, ``decoded`` how many frames decoded before stopping, ``error`` what stopped it early.
    """
    indices = resample_indices(total, n)
    slots = _slots(indices)
    last = int(indices[-1])
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    decoded = 0
    scaler: FrameScaler | None = None
    orientation: Orientation | None = None
    stats.method = "sequential"
    try:
        for packet in container.demux(stream):
            if packet.size and not packet.is_discard:
                if first is not None and (packet.pts, packet.dts) != first:
                    raise _Unreliable("seeking back did not reach the first packet")
                first = None
                stats.packets += 1
            frames = stream.decode(packet)
            stats.frames += len(frames)
            for frame in frames:
                if orientation is None:
                    orientation = detect_orientation(frame, stream.metadata)
                    scaler = FrameScaler(mode, size, orientation)
                wanted = slots.get(decoded)
                if wanted:
                    out[wanted] = scaler(frame)
                decoded += 1
                if decoded > last:
                    return out, decoded, None
    except av.error.FFmpegError as e:
        return None, decoded, e
    return None, decoded, None


def _read_open(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    path: Path,
    num_frames: int | None,
    mode: Mode,
    size: int,
    stats: DecodeStats,
) -> np.ndarray:
    # Slice threads, not frame threads: frame threading spent ~30% more CPU for the same frames
    # (benchmarks/README.md), evaluate() already decodes several clips at once beside the model, and
    # skip_frame can only change between packets when one thread decodes them in order.
    stream.thread_type = "SLICE"
    index, _ = scan(container, stream, decode_first=False)
    total = index.count
    if total == 0:
        raise no_frames_error(path, index)
    n = total if num_frames is None else int(num_frames)
    timeline = _Timeline.of(index, container)
    if timeline is not None:
        out = np.empty((n, size, size, 3), dtype=np.uint8)
        try:
            _decode_by_pts(container, stream, timeline, _slots(resample_indices(total, n)), out, mode, stats)
            return out
        except (_Unreliable, av.error.FFmpegError):
            pass  # the sequential pass below decides, with its own handling of damaged files
    return _sequential_with_retry(container, stream, index, path, num_frames, mode, size, stats)


def _sequential_pass(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    index: PacketIndex,
    path: Path,
    total: int,
    n: int,
    mode: Mode,
    size: int,
    stats: DecodeStats,
) -> tuple[np.ndarray | None, int, Exception | None]:
    """:func:`_decode_sequential` from the start of the open file, or of the file opened again when seeking
    back to its first packet fails."""
    try:
        container.seek(0, backward=True)
        stream.codec_context.skip_frame = "DEFAULT"
        return _decode_sequential(container, stream, total, n, mode, size, stats, (index.pts[0], index.dts[0]))
    except (_Unreliable, av.error.FFmpegError):
        pass
    with open_video(path) as (again, again_stream):
        again_stream.thread_type = "SLICE"
        return _decode_sequential(again, again_stream, total, n, mode, size, stats)


def _sequential_with_retry(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    index: PacketIndex,
    path: Path,
    num_frames: int | None,
    mode: Mode,
    size: int,
    stats: DecodeStats,
) -> np.ndarray:
    """Sequential decoding with the old rule for damaged files: if fewer frames decode than the file has
    packets, the indices are recomputed from the frames that really decode and a second pass reads those."""
    total = index.count
    n = total if num_frames is None else int(num_frames)
    frames, decoded, error = _sequential_pass(container, stream, index, path, total, n, mode, size, stats)
    if frames is not None:
        return frames
    if decoded == 0:
        why = f"FFmpeg says '{ffmpeg_reason(error)}'" if error else "the stream ended before the first frame"
        raise VideoError(
            f"No frame of {path} could be decoded ({why}); the file is corrupt or truncated"
            f"{pixel_limit_hint(stream)}. Re-download or re-encode it."
        )
    real = decoded
    if num_frames is None:
        n = real
    frames, decoded, error = _sequential_pass(container, stream, index, path, real, n, mode, size, stats)
    if frames is None:
        raise VideoError(
            f"Decoding {path} is not repeatable: {real} frames decoded the first time, {decoded} the "
            f"second ({ffmpeg_reason(error) if error else 'early end of stream'}); the file may be changing "
            "on disk or damaged. Re-download or re-encode it."
        )
    return frames


def read_frames_with_stats(
    path: str | Path, num_frames: int | None = None, *, mode: Mode = "crop", size: int = 224
) -> tuple[np.ndarray, DecodeStats]:
    """:func:`read_frames` and what it cost (:class:`DecodeStats`), for benchmarks and tests."""
    check_read_args(num_frames, mode, size)
    stats = DecodeStats()
    with open_video(path) as (container, stream):
        frames = _read_open(container, stream, Path(path), num_frames, mode, int(size), stats)
    return frames, stats


def read_frames(path: str | Path, num_frames: int | None = None, *, mode: Mode = "crop", size: int = 224) -> np.ndarray:
    """``num_frames`` frames of the video at ``path`` (all of them when None) as uint8 RGB
    ``[N, size, size, 3]``, at indices ``floor(T*i/N)`` of its ``T`` frames (repeats when ``T < N``), where
    ``T`` is the number of video packets (:func:`probe`'s ``num_frames``) and frame ``i`` the ``i``-th in
    presentation order.

    The file is opened once: its packets are indexed, then only what the wanted frames need is decoded
    (seeking to the key frame before a wanted frame when that skips work, skipping unwanted non-reference
    frames). Only wanted frames are converted: cropped (``mode="crop"``, centred) or fitted on black
    (``"pad"``), resized and converted to RGB in one FFmpeg ``swscale`` pass, then turned upright (display
    matrix / rotate tag), so memory holds the output and what the decoder itself keeps. If the file yields
    fewer frames than it has packets (a truncated or damaged tail), the indices are recomputed from the frames
    that really decode and a second pass reads those. Raises :class:`VideoError` when no frame decodes,
    ``ValueError`` for bad arguments.
    """
    return read_frames_with_stats(path, num_frames, mode=mode, size=size)[0]
