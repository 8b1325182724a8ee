"""Which runtime and precision run the native I3D: the TF graph (the reference and fallback), XLA, or OpenVINO,
in fp32 or int8. Each runtime lives in its own module (``_tf_backend``, ``_openvino_backend``, ``_int8``); this
one reads the user's choice and builds the model.

``load_model("kinetics-400", backend=..., precision=...)`` picks: ``backend="auto"`` (default, or
``VIDWIDGET_BACKEND``) takes the first of :data:`AUTO_ORDER` that is installed, converts and matches the TF
reference within :data:`TOLERANCE`; anything that fails is logged and the TF graph is used instead.
``precision="int8"`` (or ``VIDWIDGET_PRECISION``) runs an NNCF-quantized OpenVINO model; it is never replaced
by fp32 silently: what stops it raises :class:`ModelError` saying what to do. Converted models are cached under
``VIDWIDGET_HOME/compiled``. Threads: ``threads=`` or ``VIDWIDGET_THREADS`` (default: one per core).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from ..errors import ModelError
from . import _int8, _openvino_backend
from ._openvino_backend import TOLERANCE, OpenVINORunner, import_openvino
from ._tf_backend import configure_tf_threads, tf_model
from .base import VideoModel
from .calibration import DEFAULT_CLIPS, DEFAULT_FRAMES, CalibrationSource

log = logging.getLogger(__name__)

BACKENDS = ("tf", "xla", "openvino")
# Fastest first among the backends whose logits match TF within TOLERANCE, as measured by
# benchmarks/backends.py on a 2-core AVX-512 machine (see benchmarks/README.md). XLA is correct but several times
# slower than the TF graph on CPU (its 3-D convolutions do not use oneDNN), so "auto" never picks it.
AUTO_ORDER = ("openvino", "tf")
PRECISIONS = ("fp32", "int8")
DEFAULT_PRECISION = "fp32"
"""fp32 unless asked: int8 needs calibration clips and changes some predictions (benchmarks/README.md)."""
_ALIASES = {"ov": "openvino", "tensorflow": "tf", "graph": "tf", "jit": "xla"}
_PRECISION_ALIASES = {"float32": "fp32", "f32": "fp32", "i8": "int8", "u8": "int8"}

__all__ = [
    "AUTO_ORDER", "BACKENDS", "PRECISIONS", "TOLERANCE", "OpenVINORunner", "build_model", "configure_tf_threads",
    "import_openvino", "installed", "requested_backend", "requested_precision", "requested_threads",
]


def requested_backend(backend: str | None = None) -> str:
    """The backend asked for: ``backend``, else ``VIDWIDGET_BACKEND``, else ``"auto"`` (validated, lower case)."""
    value = backend if backend is not None else os.environ.get("VIDWIDGET_BACKEND", "")
    value = value.strip().lower() or "auto"
    value = _ALIASES.get(value, value)
    if value != "auto" and value not in BACKENDS:
        raise ModelError(
            f"unknown backend {value!r} (from {'the backend argument' if backend is not None else 'VIDWIDGET_BACKEND'}"
            f"): use 'auto' or one of {', '.join(BACKENDS)}"
        )
    return value


def requested_precision(precision: str | None = None) -> str:
    """The precision asked for: ``precision``, else ``VIDWIDGET_PRECISION``, else :data:`DEFAULT_PRECISION`."""
    value = precision if precision is not None else os.environ.get("VIDWIDGET_PRECISION", "")
    value = value.strip().lower() or DEFAULT_PRECISION
    value = _PRECISION_ALIASES.get(value, value)
    if value not in PRECISIONS:
        source = "the precision argument" if precision is not None else "VIDWIDGET_PRECISION"
        raise ModelError(f"unknown precision {value!r} (from {source}): use one of {', '.join(PRECISIONS)}")
    return value


def requested_threads(threads: int | None = None) -> int | None:
    """Compute threads for the model: ``threads``, else ``VIDWIDGET_THREADS``, else None: each runtime's
    default of one per core, which measured fastest on 2 cores (benchmarks/README.md)."""
    source = "threads"
    if threads is None and os.environ.get("VIDWIDGET_THREADS", "").strip():
        source, threads = "VIDWIDGET_THREADS", os.environ["VIDWIDGET_THREADS"].strip()
    if threads is None:
        return None
    try:
        value = int(threads)
    except (TypeError, ValueError):
        value = 0
    if value < 1 or str(threads).strip() != str(value):
        raise ModelError(f"{source} must be a positive whole number of threads, got {threads!r}")
    return value


def installed(backend: str) -> bool:
    """Whether the runtime a backend needs can be imported (TF and XLA always can)."""
    if backend != "openvino":
        return backend in BACKENDS
    return _openvino_backend.installed()


def build_model(
    keras_model,
    *,
    name: str,
    labels: Sequence[str],
    weights_key: str,
    min_frames: int = 9,
    source: str = "",
    backend: str | None = None,
    threads: int | None = None,
    precision: str | None = None,
    calibration: CalibrationSource | None = None,
    calibration_clips: int = DEFAULT_CLIPS,
    calibration_frames: int = DEFAULT_FRAMES,
    int8_settings: _int8.Int8Settings = _int8.DEFAULT_SETTINGS,
) -> VideoModel:
    """A :class:`VideoModel` of ``keras_model`` run by the requested backend and precision. fp32 falls back to the
    TF graph (with a log message saying why) when the runtime is missing, fails to convert, or disagrees with TF;
    int8 (OpenVINO + NNCF, calibrated on ``calibration``, see :func:`vidwidget.models._int8.int8_ir`) raises
    :class:`ModelError` instead, since running fp32 would not be what was asked for."""
    wanted = requested_backend(backend)
    count = requested_threads(threads)
    exact = requested_precision(precision)
    configure_tf_threads(count)
    common = {"name": name, "labels": labels, "min_frames": min_frames, "source": source}
    reference = tf_model(keras_model, **common)
    if exact == "int8":
        return _int8_model(keras_model, wanted, count, reference, common, weights_key, calibration,
                           calibration_clips, calibration_frames, int8_settings)
    if wanted in ("tf", "xla"):
        return tf_model(keras_model, **common, backend=wanted)
    candidates = [wanted] if wanted != "auto" else [b for b in AUTO_ORDER if b != "tf"]
    for candidate in candidates:
        if not installed(candidate):
            level = logging.WARNING if wanted != "auto" else logging.INFO
            log.log(level, "The %s backend is not installed (pip install %s); using the TensorFlow backend",
                    candidate, candidate)
            continue
        try:
            xml = _openvino_backend.verified_ir(keras_model, weights_key=weights_key, reference=reference,
                                                min_frames=min_frames)
            runner = OpenVINORunner(xml, count)
        except Exception as exc:  # any runtime failure: the TF reference path still works
            log.warning("The %s backend failed (%s: %s); using the TensorFlow backend",
                        candidate, type(exc).__name__, exc)
            continue
        return tf_model(keras_model, **common, backend=candidate, runner=runner)
    return reference


def _int8_model(keras_model, wanted, threads, reference, common, weights_key, calibration, clips, frames,
                settings) -> VideoModel:
    if wanted in ("tf", "xla"):
        raise ModelError(f"int8 runs on OpenVINO, not on the {wanted} backend: use backend='openvino' or 'auto', "
                         "or precision='fp32'")
    if not installed("openvino"):
        raise ModelError("int8 runs on OpenVINO, which is not installed: pip install openvino nncf "
                         "(or use precision='fp32')")
    fp32_xml = _openvino_backend.verified_ir(keras_model, weights_key=weights_key, reference=reference,
                                             min_frames=common["min_frames"])
    xml, _ = _int8.int8_ir(fp32_xml, weights_key=weights_key, calibration=calibration, settings=settings,
                           count=clips, frames=frames)
    model = tf_model(keras_model, **common, backend="openvino", runner=OpenVINORunner(xml, threads), precision="int8")
    model.variant = xml.parent.name  # which quantization (weights, settings, calibration set): results record it
    return model
