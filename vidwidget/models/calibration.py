"""Calibration clips for int8 quantization: real clips from where the model runs, never data shipped with vidwidget.

A calibration source is a folder of videos, video files or :class:`~vidwidget.clip.Clip` records (e.g. the first
clips of the dataset being evaluated), or already decoded uint8 clips ``[T, 224, 224, 3]``. With no source,
:func:`vidwidget.models.load_model` uses ``VIDWIDGET_CALIBRATION`` (a folder), else the int8 model it calibrated
last, else the Kinetics clips downloaded under ``VIDWIDGET_HOME``. Each input has an identity (file path, size
and modification time, or a content hash), so the quantized model is cached per calibration set and rebuilt
when a file changes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import _config
from ..errors import ModelError

DEFAULT_CLIPS = 16
"""Calibration inputs used when the caller does not say (the benchmark measured agreement with this many)."""
DEFAULT_FRAMES = 32
"""Frames per calibration input, half the usual 64 to halve the calibration time; the int8 model runs any T ≥ 9.
Measured: calibrated on 16 inputs of 32 frames, int8 agreed with fp32 on 48 of 48 held-out 64-frame inputs
(max |Δlogit| 2.0, benchmarks/README.md); 8 inputs of 16 frames gave a max |Δlogit| of 12.8 (top-1 still agreed)."""
# When there are fewer files than inputs wanted, each file gives more inputs: flipped, then padded (not cropped).
VARIANTS = (("crop", False), ("crop", True), ("pad", False), ("pad", True))

CalibrationSource = str | os.PathLike | np.ndarray | Sequence[object]


@dataclass(frozen=True)
class CalibrationInput:
    """One calibration input: ``identity`` says what it is made from, ``load()`` gives uint8 ``[T, 224, 224, 3]``."""

    identity: str
    load: Callable[[], np.ndarray]


def _file_identity(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def _video_files(folder: Path) -> list[Path]:
    from ..data.folder import is_video_file

    return sorted(p for p in folder.rglob("*") if p.is_file() and is_video_file(p))


def _as_paths(source: CalibrationSource) -> list[Path] | None:
    """Video files named by ``source`` (a folder, a file, or a sequence of paths / Clip records), or None when
    ``source`` is decoded frames."""
    if isinstance(source, str | os.PathLike):
        path = Path(source).expanduser()
        if path.is_dir():
            return _video_files(path)
        if path.is_file():
            return [path]
        raise ModelError(f"calibration source {path} is neither a folder of videos nor a video file")
    if isinstance(source, np.ndarray):
        return None
    items = list(source)
    if items and all(isinstance(x, np.ndarray) for x in items):
        return None
    paths = []
    for item in items:
        path = getattr(item, "path", item)  # a Clip record or a path
        if path is None:
            continue  # a Clip that is not downloaded
        if not isinstance(path, str | os.PathLike):
            raise ModelError(f"calibration items must be video paths, Clip records or uint8 clips; got {item!r}")
        paths.append(Path(path))
    return paths


def _frames_input(clip: np.ndarray) -> CalibrationInput:
    clip = np.asarray(clip)
    if clip.dtype != np.uint8 or clip.ndim != 4 or clip.shape[1:] != (224, 224, 3):
        raise ModelError(f"calibration clips must be uint8 [T, 224, 224, 3]; got {clip.dtype} {clip.shape}")
    digest = hashlib.sha256(np.ascontiguousarray(clip).data).hexdigest()
    return CalibrationInput(f"frames|{clip.shape[0]}|{digest}", lambda: clip)


def _file_input(path: Path, variant: int, frames: int) -> CalibrationInput:
    mode, flip = VARIANTS[variant % len(VARIANTS)]

    def load() -> np.ndarray:
        from ..video import load_clip

        clip = load_clip(path, frames, mode=mode)
        return np.ascontiguousarray(clip[:, :, ::-1]) if flip else clip

    return CalibrationInput(f"{_file_identity(path)}|{frames}|{mode}|{'flip' if flip else 'orig'}", load)


def calibration_inputs(source: CalibrationSource, *, count: int = DEFAULT_CLIPS,
                       frames: int = DEFAULT_FRAMES) -> list[CalibrationInput]:
    """Up to ``count`` calibration inputs from ``source``: the first ``count`` video files (each resampled to
    ``frames`` frames, center-cropped), cycling through flipped and padded variants when there are fewer files;
    or the given decoded clips as they are. Raises :class:`ModelError` when ``source`` holds nothing usable."""
    if count < 1 or frames < 9:
        raise ModelError(f"calibration needs at least 1 input of at least 9 frames; got {count} of {frames}")
    paths = _as_paths(source)
    if paths is None:
        clips = list(source) if not isinstance(source, np.ndarray) or source.ndim == 5 else [source]
        inputs = [_frames_input(c) for c in clips[:count]]
    else:
        paths = [p for p in paths if p.is_file()]
        rounds = min(len(VARIANTS), -(-count // len(paths))) if paths else 0
        inputs = [_file_input(p, v, frames) for v in range(rounds) for p in paths][:count]
    if not inputs:
        raise ModelError(f"no calibration clips in {source!r}: give a folder of videos, video files, or clips")
    return inputs


def calibration_id(inputs: Iterable[CalibrationInput]) -> str:
    """A short hash naming a calibration set (its inputs' identities, in order)."""
    return hashlib.sha256(json.dumps([i.identity for i in inputs]).encode()).hexdigest()[:16]


def env_source() -> Path | None:
    """The folder named by ``VIDWIDGET_CALIBRATION``, or None when it is not set."""
    env = os.environ.get("VIDWIDGET_CALIBRATION", "").strip()
    if not env:
        return None
    folder = Path(env).expanduser()
    if not folder.is_dir():
        raise ModelError(f"VIDWIDGET_CALIBRATION={env} is not a folder; point it at a folder of videos")
    return folder


def downloaded_clips(count: int = DEFAULT_CLIPS) -> list[Path]:
    """Up to ``count`` Kinetics clips already downloaded under ``VIDWIDGET_HOME/kinetics`` (sorted by path)."""
    kinetics = _config.home() / "kinetics"
    return _video_files(kinetics)[:count] if kinetics.is_dir() else []


NO_CALIBRATION_HELP = (
    "int8 needs a few real clips to calibrate on (once; the result is cached). Give them with "
    "load_model(..., precision='int8', calibration='path/to/videos') (a folder, video files or Clip records), "
    "set VIDWIDGET_CALIBRATION to a folder of videos, download some Kinetics clips first "
    "(vidwidget download --num-clips 16), or use precision='fp32'. `vidwidget evaluate --precision int8` "
    "calibrates on the first clips it evaluates."
)
