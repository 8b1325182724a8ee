"""Helpers for the timeline tests: a tiny brightness "classifier" (a real VideoModel that needs no weights) and
flat-colour frames, so windowing and segments can be checked without I3D."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from vidwidget.models.base import VideoModel

LEVELS = ["dark", "grey", "light"]


def brightness_model(calls: list[int] | None = None, *, seconds: float = 0.0, started: Path | None = None
                     ) -> VideoModel:
    """A VideoModel (16×16 input, any T ≥ 1) whose class is the clip's mean brightness: dark/grey/light.
    ``calls`` records batch sizes; ``seconds`` makes each call that slow; ``started`` is created at the first call."""
    centres = np.array([40.0, 128.0, 215.0])

    def run(frames: np.ndarray) -> np.ndarray:
        if started is not None:
            started.touch()
        if calls is not None:
            calls.append(len(frames))
        time.sleep(seconds)
        mean = frames.reshape(len(frames), -1).mean(axis=1, dtype=np.float64)
        return (-((mean[:, None] - centres) ** 2) / 200.0).astype(np.float32)

    return VideoModel("brightness", LEVELS, lambda x: x[:, 0, 0, 0, :], min_frames=1, size=16, backend="stub",
                      runner=run)


def level_frames(levels: list[int], h: int = 24, w: int = 32) -> list[np.ndarray]:
    """Flat RGB frames of the given grey levels."""
    return [np.full((h, w, 3), v, dtype=np.uint8) for v in levels]
