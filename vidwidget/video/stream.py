"""Sliding windows over a long video, decoded once in a stream.

Windows are planned in seconds from the frames' presentation timestamps (read by demuxing, no decoding), so
variable-frame-rate videos get the frames that really fall in each window. Then one sequential decoding pass
converts only the frames some window needs (upright, square and resized by the same
:class:`~vidwidget.video._scaler.FrameScaler` as :func:`~vidwidget.video.read_frames`) and hands each window
out as soon as its last frame arrived. Only the windows still open are held in memory — a few times
``window / stride`` clips of ``num_frames`` frames — so memory stays flat however long the video is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from ..errors import VideoError
from ._container import ffmpeg_reason, open_video
from ._orientation import detect_orientation
from ._scaler import FrameScaler
from .decode import _NO_PTS_FORMATS, check_read_args
from .preprocess import Mode, resample_indices
from .probe import no_frames_error, scan

_TOL = 1e-6  # seconds: timestamps closer than this count as equal (float rounding of k * stride)


@dataclass(frozen=True)
class FrameTimes:
    """Presentation times of a video's frames in seconds from the first one (sorted), its average rate, and
    the reason demuxing stopped early (a cut or damaged file) or None."""

    times: np.ndarray
    fps: float
    duration: float
    error: str | None = None


@dataclass(frozen=True)
class Window:
    """One window of a video: its number, start and end in seconds, and its frames uint8 ``[N, size, size, 3]``."""

    index: int
    start: float
    end: float
    frames: np.ndarray


@dataclass(frozen=True)
class WindowPlan:
    """Where the windows of a video lie: ``starts``/``ends`` in seconds and, per window, the ``num_frames``
    frame indices (into the video's frames in presentation order) it is made of."""

    starts: np.ndarray
    ends: np.ndarray
    indices: list[np.ndarray]
    window: float
    stride: float

    def __len__(self) -> int:
        return len(self.starts)


def read_frame_times(path: str | Path) -> FrameTimes:
    """Demux ``path`` (no decoding) and return its frames' presentation times.

    Packet timestamps are sorted into presentation order (B-frames arrive out of order). Where they are
    missing or only guessed by FFmpeg (AVI), frames are ``1 / fps`` apart. ``duration`` runs to the end of the
    last frame.
    Raises :class:`VideoError` when the file cannot be opened or holds no video packets.
    """
    with open_video(path) as (container, stream):
        index, _ = scan(container, stream, decode_first=False)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        time_base = stream.time_base
        listed = stream.frames  # the index's count (mp4): more than demuxed means the file was cut
        guessed_pts = container.format.name in _NO_PTS_FORMATS
    stamps = [p if p is not None else d for p, d in zip(index.pts, index.dts, strict=True)]
    error = ffmpeg_reason(index.demux_error) if index.demux_error else None
    if error is None and listed > len(stamps) > 0:
        error = f"the file lists {listed} frames but only {len(stamps)} could be read; it is probably truncated"
    if not stamps:
        raise no_frames_error(Path(path), index)
    fps = float(rate) if rate else 0.0
    if guessed_pts or any(s is None for s in stamps) or time_base is None:
        if fps <= 0:
            fps = 25.0  # nothing to go by: FFmpeg's own default rate
        times = np.arange(len(stamps), dtype=np.float64) / fps
    else:
        ticks = np.sort(np.asarray(stamps, dtype=np.int64))
        times = (ticks - ticks[0]) * float(time_base)
        if fps <= 0:
            span = float(times[-1])
            fps = (len(times) - 1) / span if span > 0 else 25.0
    gaps = np.diff(times)
    last = float(np.median(gaps)) if len(gaps) else 1.0 / fps
    return FrameTimes(times=times, fps=fps, duration=float(times[-1]) + last, error=error)


def window_bounds(duration: float, window: float, stride: float) -> list[tuple[float, float]]:
    """``(start, end)`` of each window: one every ``stride`` seconds from 0, each ``window`` long, plus a last
    window aligned to the end of the video when the regular ones stop short of it. A video no longer than
    one window gives one window, the whole video."""
    if window <= 0 or stride <= 0:
        raise ValueError(f"window and stride must be positive seconds, got window={window!r}, stride={stride!r}")
    if duration <= window + _TOL:
        return [(0.0, float(duration))]
    count = int(np.floor((duration - window + _TOL) / stride)) + 1
    bounds = [(k * stride, k * stride + window) for k in range(count)]
    if bounds[-1][1] < duration - _TOL:
        bounds.append((duration - window, float(duration)))
    return bounds


def plan_windows(times: np.ndarray, duration: float, window: float, stride: float, num_frames: int) -> WindowPlan:
    """The windows over frames shown at ``times`` (sorted seconds), each resampled to ``num_frames`` frames with
    the clip rule ``floor(T*i/N)`` over the ``T`` frames whose timestamp falls in ``[start, end)``. A window
    too short to contain a frame uses the frame on screen at its start."""
    times = np.asarray(times, dtype=np.float64)
    bounds = window_bounds(duration, window, stride)
    indices = []
    for start, end in bounds:
        lo = int(np.searchsorted(times, start - _TOL, side="left"))
        hi = int(np.searchsorted(times, end - _TOL, side="left"))
        if hi <= lo:
            lo = max(int(np.searchsorted(times, start + _TOL, side="right")) - 1, 0)
            hi = lo + 1
        indices.append(lo + resample_indices(hi - lo, num_frames))
    starts = np.array([b[0] for b in bounds], dtype=np.float64)
    ends = np.array([b[1] for b in bounds], dtype=np.float64)
    return WindowPlan(starts=starts, ends=ends, indices=indices, window=float(window), stride=float(stride))


class WindowStream:
    """Iterate over the windows of the video at ``path``, decoding it once.

    ``window`` and ``stride`` are seconds (defaults: ``num_frames`` frames at the video's average rate, and half
    a window). After iteration, ``error`` says why decoding stopped before the last window (a broken tail) and
    ``decoded`` counts the frames decoded; the windows yielded before that are complete and valid.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        window: float | None = None,
        stride: float | None = None,
        num_frames: int = 64,
        mode: Mode = "crop",
        size: int = 224,
    ) -> None:
        check_read_args(num_frames, mode, size)
        for name, value in (("window", window), ("stride", stride)):
            if value is not None and not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        self.path = Path(path)
        self.num_frames, self.mode, self.size = int(num_frames), mode, int(size)
        self.times = read_frame_times(self.path)
        self.window = float(window) if window is not None else self.num_frames / self.times.fps
        self.stride = float(stride) if stride is not None else self.window / 2
        self.plan = plan_windows(self.times.times, self.times.duration, self.window, self.stride, self.num_frames)
        self.error: str | None = self.times.error
        self.decoded = 0

    @property
    def fps(self) -> float:
        return self.times.fps

    @property
    def duration(self) -> float:
        return self.times.duration

    def __len__(self) -> int:
        return len(self.plan)

    def __iter__(self) -> Iterator[Window]:
        plan = self.plan
        count = len(plan)
        shape = (self.num_frames, self.size, self.size, 3)
        open_: dict[int, np.ndarray] = {}  # window number -> its frames being filled
        next_open = next_emit = 0
        scaler: FrameScaler | None = None
        self.decoded = 0
        self.error = self.times.error
        with open_video(self.path) as (container, stream):
            stream.thread_type = "SLICE"  # as read_frames: frame threads cost more CPU for the same frames
            try:
                for frame in container.decode(stream):
                    k = self.decoded
                    self.decoded += 1
                    if scaler is None:  # the display matrix rides on the first frame
                        scaler = FrameScaler(self.mode, self.size, detect_orientation(frame, stream.metadata))
                    while next_open < count and plan.indices[next_open][0] <= k:
                        open_[next_open] = np.empty(shape, dtype=np.uint8)
                        next_open += 1
                    model_frame = None
                    for w, out in open_.items():
                        wanted = plan.indices[w]
                        left = int(np.searchsorted(wanted, k, side="left"))
                        right = int(np.searchsorted(wanted, k, side="right"))
                        if left == right:
                            continue
                        if model_frame is None:
                            model_frame = scaler(frame)
                        out[left:right] = model_frame
                    while next_emit < next_open and plan.indices[next_emit][-1] <= k:
                        yield Window(next_emit, float(plan.starts[next_emit]), float(plan.ends[next_emit]),
                                     open_.pop(next_emit))
                        next_emit += 1
                    if next_emit == count:
                        return
            except av.error.FFmpegError as e:
                self.error = f"decoding stopped at frame {self.decoded}: FFmpeg says '{ffmpeg_reason(e)}'"
        if self.decoded == 0:
            raise VideoError(f"No frame of {self.path} could be decoded ({self.error or 'the stream is empty'}); "
                             "the file is corrupt or truncated. Re-download or re-encode it.")
        if next_emit < count and self.error is None:
            self.error = f"the video stream ended after {self.decoded} of {len(self.times.times)} frames"
