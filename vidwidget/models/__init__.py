"""Video classification models: the I3D Keras port with packaged Kinetics-400 weights (fp32 or int8), TF Hub /
SavedModel models, label maps, and :func:`load_model` which picks the right one from a name, a handle or a
folder."""

from __future__ import annotations

from .backends import BACKENDS, PRECISIONS, configure_tf_threads, requested_backend, requested_threads
from .base import Prediction, VideoModel, softmax, top_k
from .calibration import calibration_inputs
from .hub import HANDLES, export_saved_model, load_hub_model
from .labels import kinetics_labels
from .loading import MODEL_NAMES, i3d_kinetics400_model, load_model

__all__ = [
    "BACKENDS",
    "HANDLES",
    "MODEL_NAMES",
    "PRECISIONS",
    "Prediction",
    "VideoModel",
    "calibration_inputs",
    "configure_tf_threads",
    "export_saved_model",
    "i3d_kinetics400_model",
    "kinetics_labels",
    "load_hub_model",
    "load_model",
    "requested_backend",
    "requested_threads",
    "softmax",
    "top_k",
]
