"""Bytes the widgets send to the browser: a clip's browser-safe preview video and the filmstrip of the frames
the model receives. Thin wrappers over :mod:`vidwidget.video` (imported lazily: it is only needed on request)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

_VIDEO_MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm", ".ogv": "video/ogg"}


def preview_bytes(path: Path, max_width: int = 320) -> tuple[bytes, str]:
    """The bytes and MIME type of a browser-playable preview of ``path`` (H.264 mp4, cached by the video module)."""
    from vidwidget.video import browser_preview

    preview = Path(browser_preview(path, max_width=max_width))
    return preview.read_bytes(), _VIDEO_MIME.get(preview.suffix.lower(), "video/mp4")


def encode_thumbnails(frames: np.ndarray, height: int = 64, quality: int = 80) -> list[bytes]:
    """JPEG-encode each RGB uint8 frame of ``frames`` [T,H,W,3], downscaled to ``height`` pixels high."""
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected frames shaped [T,H,W,3], got {frames.shape}")
    out: list[bytes] = []
    for frame in frames:
        h, w = frame.shape[:2]
        width = max(1, round(w * height / h))
        small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise ValueError("OpenCV could not JPEG-encode a filmstrip frame")
        out.append(buf.tobytes())
    return out


def filmstrip_bytes(path: Path, num_frames: int, mode: str = "crop", height: int = 64) -> list[bytes]:
    """JPEG thumbnails of the ``num_frames`` frames the model receives from ``path`` (after crop and resampling)."""
    from vidwidget.video import load_clip

    frames = load_clip(path, num_frames, mode=mode)
    return encode_thumbnails(np.asarray(frames), height=height)
