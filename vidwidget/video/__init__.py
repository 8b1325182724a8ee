"""Video decoding and preprocessing: probe files, decode only the frames needed, square crop/pad and resize
to uint8 RGB clips, cache them, and make browser-playable previews. No widget code lives here."""

from .cache import ClipCache, load_clip
from .decode import read_frames
from .preprocess import (
    batch_frame_count,
    center_crop_square,
    pad_to_square,
    resample_indices,
    resample_video,
    resize,
)
from .preview import browser_preview, is_browser_safe
from .probe import VideoInfo, probe
from .stream import Window, WindowStream

__all__ = [
    "ClipCache",
    "VideoInfo",
    "Window",
    "WindowStream",
    "batch_frame_count",
    "browser_preview",
    "center_crop_square",
    "is_browser_safe",
    "load_clip",
    "pad_to_square",
    "probe",
    "read_frames",
    "resample_indices",
    "resample_video",
    "resize",
]
