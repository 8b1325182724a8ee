"""Decoded frames to model input in FFmpeg's scaler: crop (or fit for padding), scale and convert to RGB in one
``swscale`` pass from the decoder's own YUV planes, so no full-resolution RGB copy of a frame is ever made.

The crop is a view of the decoded planes (FFmpeg's ``crop`` filter moves pointers), and ``scale`` writes the
``size``×``size`` RGB result directly: memory per frame is the output, whatever the source resolution.
Shrinking uses swscale's ``area`` filter, which averages every source pixel under an output pixel like
OpenCV's ``INTER_AREA`` (same anti-aliasing on the stripe test in tests/test_video_scaler.py); enlarging
uses ``bilinear``, like :func:`vidwidget.video.preprocess.resize`. ``accurate_rnd`` and ``full_chroma_int``
keep the colour conversion within about one grey level of PyAV's ``to_ndarray("rgb24")`` + OpenCV.
"""

from __future__ import annotations

from fractions import Fraction

import av
import av.filter
import numpy as np

from ._orientation import Orientation, stored_rect
from .preprocess import Mode

_FLAGS = "+accurate_rnd+full_chroma_int"


def _square_layout(mode: Mode, rows: int, cols: int, size: int) -> tuple[tuple[int, int, int, int], int, int, int]:
    """For a displayed ``rows`` × ``cols`` frame: the displayed rectangle to keep, the size it is scaled to
    (``out_rows``, ``out_cols``) and the square side it is measured against (to choose area or bilinear)."""
    if mode == "crop":
        side = min(rows, cols)
        return ((rows - side) // 2, (cols - side) // 2, side, side), size, size, side
    side = max(rows, cols)
    # pad: the whole frame, scaled as it would be on a black side×side square, then placed on black
    out_rows = max(1, round(rows * size / side))
    out_cols = max(1, round(cols * size / side))
    return (0, 0, rows, cols), out_rows, out_cols, side


class FrameScaler:
    """Turns decoded frames of one stream into uint8 RGB ``[size, size, 3]`` model frames: upright
    (``orientation``), square (``mode``: centre crop, or black padding) and resized. The filter graph is built
    for the first frame's size and pixel format and rebuilt if a later frame differs."""

    def __init__(self, mode: Mode, size: int, orientation: Orientation) -> None:
        self.mode, self.size, self.orientation = mode, int(size), orientation
        self._key: tuple | None = None
        self._graph: av.filter.Graph | None = None
        self._place: tuple[int, int] = (0, 0)

    def _build(self, frame: av.VideoFrame) -> None:
        rows, cols = frame.height, frame.width
        swapped = self.orientation.swaps_axes
        drows, dcols = (cols, rows) if swapped else (rows, cols)
        rect, out_rows, out_cols, side = _square_layout(self.mode, drows, dcols, self.size)
        top, left, h, w = stored_rect(self.orientation, rect, rows, cols)
        scaled_h, scaled_w = (out_cols, out_rows) if swapped else (out_rows, out_cols)
        method = "area" if self.size <= side else "bilinear"
        graph = av.filter.Graph()
        graph.threads = 1  # decoding already runs beside other clips' decoding and the model
        nodes = [
            graph.add_buffer(
                width=cols, height=rows, format=frame.format, time_base=frame.time_base or Fraction(1, 1)
            )
        ]
        if (h, w) != (rows, cols):
            nodes.append(graph.add("crop", f"{w}:{h}:{left}:{top}:exact=1"))
        nodes.append(graph.add("scale", f"{scaled_w}:{scaled_h}:flags={method}{_FLAGS}"))
        nodes.append(graph.add("format", "rgb24"))
        nodes.append(graph.add("buffersink"))
        graph.link_nodes(*nodes)
        graph.configure()
        self._graph = graph
        self._place = ((self.size - out_rows) // 2, (self.size - out_cols) // 2)

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        """The model frame for ``frame`` (a new ``[size, size, 3]`` uint8 array)."""
        key = (frame.width, frame.height, frame.format.name)
        if key != self._key:
            self._build(frame)
            self._key = key
        assert self._graph is not None
        self._graph.push(frame)
        rgb = self.orientation.apply(self._graph.pull().to_ndarray(format="rgb24"))
        if rgb.shape[:2] == (self.size, self.size):
            return np.ascontiguousarray(rgb)
        out = np.zeros((self.size, self.size, 3), np.uint8)
        top, left = self._place
        out[top : top + rgb.shape[0], left : left + rgb.shape[1]] = rgb
        return out
