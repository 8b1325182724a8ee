"""Helpers for the video tests: where the shared sample clips are, and small generated videos (written with
PyAV into a test's tmp_path, never into the repository)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VIDEOS = DATA / "videos"


def write_video(
    path: Path,
    frames: Sequence[np.ndarray],
    *,
    codec: str = "libx264",
    rate: int = 10,
    pix_fmt: str = "yuv420p",
    rotation: float | None = None,
    hflip: bool = False,
    metadata: dict[str, str] | None = None,
    options: dict[str, str] | None = None,
    pts: Sequence[int] | None = None,
) -> Path:
    """Encode RGB uint8 ``frames`` ([H, W, 3]) into ``path``; ``rotation``/``hflip`` set the display matrix
    (counter-clockwise degrees, PyAV's convention), ``metadata`` the stream tags, ``pts`` each frame's
    timestamp in units of ``1/rate`` s (default 0, 1, 2…; uneven steps make a variable-frame-rate file)."""
    h, w = frames[0].shape[:2] if frames else (16, 16)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=Fraction(rate))
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        if options:
            stream.options = options
        if rotation is not None or hflip:
            stream.set_display_rotation(rotation or 0, hflip=hflip)
        for key, value in (metadata or {}).items():
            stream.metadata[key] = value
        if not frames:
            out.start_encoding()  # a header with a video stream and no packets
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = i if pts is None else int(pts[i])
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def numbered_frames(n: int, h: int = 32, w: int = 48) -> list[np.ndarray]:
    """``n`` frames whose grey level encodes their index (8*i+16), easy to tell apart after lossy coding."""
    return [np.full((h, w, 3), 16 + 8 * i, dtype=np.uint8) for i in range(n)]


def remux_faststart(src: Path, dst: Path) -> Path:
    """Copy the video stream of ``src`` into an mp4 whose index (moov) precedes the data (``+faststart``)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"movflags": "+faststart"}) as out:
        istream = inp.streams.video[0]
        ostream = out.add_stream_from_template(istream)
        for packet in inp.demux(istream):
            if packet.dts is None:
                continue
            packet.stream = ostream
            out.mux(packet)
    return dst


def top_level_atoms(path: Path) -> list[str]:
    """The names of the top-level boxes of an mp4 file, in file order."""
    names = []
    data = path.read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        names.append(data[pos + 4 : pos + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        if size < 8:
            break
        pos += size
    return names
