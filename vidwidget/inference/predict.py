"""Predict a few clips directly: files or frame arrays in, top-k predictions out."""

from __future__ import annotations

import os

import numpy as np

from ..models import Prediction, VideoModel, load_model
from ..video import load_clip


def predict(
    clips: list[str | os.PathLike] | np.ndarray,
    model: VideoModel | str = "kinetics-400",
    *,
    num_frames: int = 64,
    k: int = 5,
    mode: str = "crop",
) -> list[Prediction]:
    """Top-``k`` predictions for video files (decoded to ``num_frames`` frames) or a uint8 frame batch."""
    model = load_model(model) if isinstance(model, str | os.PathLike) else model
    if isinstance(clips, np.ndarray):
        batch = clips
    else:
        batch = np.stack([load_clip(path, num_frames, mode=mode) for path in clips])
    return model.predict(batch, k)
