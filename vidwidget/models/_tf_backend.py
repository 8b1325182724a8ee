"""The TensorFlow runtimes of the native I3D: the TF graph (the reference every other backend is checked against,
and the fallback) and XLA (the same ``tf.function`` compiled with ``jit_compile=True``). Both run inside
:class:`~vidwidget.models.base.VideoModel`; this module builds them and sizes TF's thread pools."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from .base import VideoModel

log = logging.getLogger(__name__)


def configure_tf_threads(threads: int | None) -> bool:
    """Set TensorFlow's intra-op thread pool to ``threads`` (None: leave TF's default); returns False (and logs)
    when TF has already started its thread pools with another size, which it cannot change afterwards."""
    import tensorflow as tf

    if threads is None:
        return True
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        return True
    except RuntimeError:
        current = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
        log.info(
            "TensorFlow is already initialised with %s intra-op threads; it cannot switch to %d in this process "
            "(set VIDWIDGET_THREADS before the first model is loaded)", current, threads,
        )
        return False


def tf_model(keras_model, *, name: str, labels: Sequence[str], min_frames: int, source: str,
             backend: str = "tf", runner=None, precision: str = "fp32") -> VideoModel:
    """A :class:`VideoModel` of ``keras_model``: run by the TF graph (``backend="tf"``), by XLA (``"xla"``), or by
    ``runner`` (another runtime, of ``precision``) with the TF graph kept as its reference."""

    def fn(x):
        return keras_model(x, training=False)

    return VideoModel(name, labels, fn, min_frames=min_frames, source=source, keras_model=keras_model,
                      backend=backend, runner=runner, precision=precision)
