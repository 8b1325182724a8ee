"""``VideoModel``: one interface for every video classifier vidwidget runs (native Keras I3D, TF Hub, SavedModel).

It owns the model boundary: frames arrive as uint8 RGB ``[B, T, 224, 224, 3]`` and are converted to float in
[0, 1] exactly once, inside the compiled call. Inputs are validated with messages that say what to change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from ..errors import ModelError


@dataclass(frozen=True)
class Prediction:
    """Top-k result for one clip: labels and probabilities sorted by decreasing probability."""

    labels: tuple[str, ...]
    probabilities: tuple[float, ...]
    indices: tuple[int, ...]

    @property
    def top1(self) -> str:
        return self.labels[0]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def top_k(probabilities: np.ndarray, labels: Sequence[str], k: int) -> list[Prediction]:
    """Top-k predictions for each row of ``probabilities`` (ties broken by class index)."""
    k = max(1, min(k, probabilities.shape[-1]))
    order = np.argsort(-probabilities, axis=-1, kind="stable")[:, :k]
    return [
        Prediction(
            labels=tuple(labels[i] for i in row),
            probabilities=tuple(float(p) for p in probs[row]),
            indices=tuple(int(i) for i in row),
        )
        for row, probs in zip(order, probabilities, strict=True)
    ]


class VideoModel:
    """A video classifier: ``logits(frames)`` → ``[B, C]``, with its class ``labels`` and input constraints.

    ``fn`` maps float32 ``[B, T, size, size, 3]`` in [0, 1] to logits; it is wrapped in a ``tf.function`` that
    also performs the uint8 → float conversion, so the float copy of a batch exists only inside TensorFlow.
    That TF path is the reference. ``backend`` names what runs :meth:`logits`: ``"tf"``, ``"xla"`` (the same
    functions with ``jit_compile=True``) or another runtime given as ``runner`` (numpy uint8 or float32 batch →
    logits), see :mod:`vidwidget.models.backends`; ``precision`` is ``"fp32"`` or ``"int8"`` (a quantized
    ``runner``, whose logits approximate the fp32 reference rather than match it).
    """

    def __init__(
        self,
        name: str,
        labels: Sequence[str],
        fn: Callable[[tf.Tensor], tf.Tensor],
        *,
        min_frames: int = 9,
        size: int = 224,
        source: str = "",
        keras_model=None,
        backend: str = "tf",
        runner: Callable[[np.ndarray], np.ndarray] | None = None,
        precision: str = "fp32",
    ) -> None:
        self.name = name
        self.labels = list(labels)
        self.min_frames = min_frames
        self.size = size
        self.source = source
        self.keras_model = keras_model
        self.backend = backend
        self.precision = precision
        self.variant: str | None = None  # for int8: the cache entry of its quantization (calibration set, settings)
        self._fn = fn
        self._runner = runner
        spec = [None, None, size, size, 3]

        def from_uint8(x):
            return fn(tf.cast(x, tf.float32) * (1.0 / 255.0))

        u8, f32 = [tf.TensorSpec(spec, tf.uint8)], [tf.TensorSpec(spec, tf.float32)]
        self._ref_uint8 = tf.function(from_uint8, input_signature=u8)
        self._ref_float = tf.function(fn, input_signature=f32)
        if backend == "xla":
            self._from_uint8 = tf.function(from_uint8, input_signature=u8, jit_compile=True)
            self._from_float = tf.function(fn, input_signature=f32, jit_compile=True)
        else:
            self._from_uint8, self._from_float = self._ref_uint8, self._ref_float
        self.last_seconds = 0.0

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return (
            f"VideoModel({self.name!r}, classes={self.num_classes}, min_frames={self.min_frames}, "
            f"backend={self.backend!r}, precision={self.precision!r})"
        )

    def check_input(self, frames: np.ndarray) -> np.ndarray:
        """Validate and return ``frames`` as a 5-D batch; raise :class:`ModelError` saying what to change."""
        frames = np.asarray(frames)
        if frames.ndim == 4:
            frames = frames[None]
        if frames.ndim != 5 or frames.shape[-1] != 3:
            raise ModelError(f"{self.name} expects RGB frames [B, T, H, W, 3]; got an array of shape {frames.shape}")
        _, t, h, w, _ = frames.shape
        if (h, w) != (self.size, self.size):
            raise ModelError(
                f"{self.name} expects {self.size}×{self.size} frames; got {h}×{w}. "
                f"Preprocess with vidwidget.video.read_frames(path, n, size={self.size})."
            )
        if t < self.min_frames:
            raise ModelError(
                f"{self.name} needs at least {self.min_frames} frames per clip (its pooling shrinks time 8-fold); "
                f"got {t}. Resample to more frames: frames are repeated when a clip is shorter."
            )
        if frames.dtype == np.uint8:
            return frames
        if np.issubdtype(frames.dtype, np.floating):
            if frames.size and (float(frames.min()) < -1e-3 or float(frames.max()) > 1.0 + 1e-3):
                raise ModelError(f"{self.name} expects float frames in [0, 1] (or uint8 0..255)")
            return frames.astype(np.float32, copy=False)
        raise ModelError(f"{self.name} expects uint8 or float frames, got {frames.dtype}")

    def logits(self, frames: np.ndarray) -> np.ndarray:
        """Logits ``[B, C]`` for uint8 RGB frames (or float in [0, 1]); any batch size, any T ≥ ``min_frames``."""
        frames = self.check_input(frames)
        start = time.perf_counter()
        if self._runner is not None:
            out = np.asarray(self._runner(np.ascontiguousarray(frames)))
        else:
            fn = self._from_uint8 if frames.dtype == np.uint8 else self._from_float
            out = fn(tf.constant(frames)).numpy()
        self.last_seconds = time.perf_counter() - start
        return self._check_output(out)

    def reference_logits(self, frames: np.ndarray) -> np.ndarray:
        """Logits from the TF graph path (the reference every other backend is checked against)."""
        frames = self.check_input(frames)
        fn = self._ref_uint8 if frames.dtype == np.uint8 else self._ref_float
        return self._check_output(fn(tf.constant(frames)).numpy())

    def _check_output(self, out: np.ndarray) -> np.ndarray:
        if out.ndim != 2 or out.shape[1] != self.num_classes:
            raise ModelError(f"{self.name} returned logits of shape {out.shape}, expected [B, {self.num_classes}]")
        return out

    def probabilities(self, frames: np.ndarray) -> np.ndarray:
        """Softmax of :meth:`logits`."""
        return softmax(self.logits(frames).astype(np.float64)).astype(np.float32)

    def predict(self, frames: np.ndarray, k: int = 5) -> list[Prediction]:
        """Top-k labels with probabilities for each clip in the batch."""
        return top_k(self.probabilities(frames), self.labels, k)
