"""The OpenVINO runtime of the native I3D: the Keras model converted once to OpenVINO IR (fp32 weights) and cached
under ``VIDWIDGET_HOME/compiled``, checked against the TF reference after conversion, and run on numpy batches.
The int8 model (:mod:`vidwidget.models._int8`) is quantized from this IR and runs through the same runner."""

from __future__ import annotations

import importlib
import logging
import shutil
import sys
import threading
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ._cache import cache_entry, entry_is_valid, write_entry
from .base import VideoModel

log = logging.getLogger(__name__)

TOLERANCE = 1e-3
"""Largest |Δlogit| allowed between a freshly converted fp32 IR and the TF reference."""


def hidden_telemetry_import(module: str):
    """``import module`` with the ``openvino_telemetry`` package hidden.

    Importing ``openvino`` (or ``nncf``) sends a usage event to Intel (package ``openvino_telemetry``) unless the
    user opted out; a library should not do that on its users' behalf. Both support running without that package
    (they fall back to a stub), so it is hidden while they are first imported. Raises ``ImportError`` if
    ``module`` is not installed.
    """
    if module in sys.modules or "openvino_telemetry" in sys.modules:
        return importlib.import_module(module)  # already imported by someone else: nothing to change
    sys.modules["openvino_telemetry"] = None  # makes `import openvino_telemetry` raise ImportError
    try:
        return importlib.import_module(module)
    finally:
        if sys.modules.get("openvino_telemetry", ...) is None:
            del sys.modules["openvino_telemetry"]


def import_openvino():
    """``import openvino`` without its usage telemetry (see :func:`hidden_telemetry_import`)."""
    return hidden_telemetry_import("openvino")


def installed() -> bool:
    """Whether OpenVINO can be imported."""
    try:
        import_openvino()
    except ImportError:
        return False
    return True


def openvino_version() -> str:
    return import_openvino().__version__.split("-")[0]


def convert(keras_model, tmp: Path) -> None:
    """Write ``keras_model`` as OpenVINO IR (``model.xml`` + ``model.bin``) into ``tmp``.

    The graph is frozen and read by OpenVINO's TensorFlow frontend rather than through ``openvino.convert_model``,
    because the latter sends usage telemetry to Intel unless the user has opted out; the result is the same model.
    """
    import tensorflow as tf

    ov = import_openvino()
    from openvino.frontend import FrontEndManager
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    spec = tf.TensorSpec([None, None, 224, 224, 3], tf.float32, name="rgb_input")
    function = tf.function(lambda x: keras_model(x, training=False), input_signature=[spec])
    frozen = convert_variables_to_constants_v2(function.get_concrete_function())
    graph_file = tmp / "frozen.pb"
    graph_file.write_bytes(frozen.graph.as_graph_def().SerializeToString())
    frontend = FrontEndManager().load_by_framework("tf")
    ov_model = frontend.convert(frontend.load(str(graph_file)))
    graph_file.unlink()
    # fp16 compression would change the logits by ~1e-2; keep the weights in fp32.
    ov.save_model(ov_model, str(tmp / "model.xml"), compress_to_fp16=False)


def fp32_entry(weights_key: str) -> Path:
    """Cache folder of the fp32 IR of the weights ``weights_key`` for the installed OpenVINO."""
    return cache_entry(weights_key, "openvino", openvino_version())


def compiled_openvino_model(keras_model, weights_key: str) -> tuple[Path, bool]:
    """The OpenVINO IR of ``keras_model`` in the compiled-model cache, converted on a miss; a damaged entry is
    rebuilt. Returns ``(model.xml path, whether it was converted now)``."""
    entry = fp32_entry(weights_key)
    if entry_is_valid(entry):
        return entry / "model.xml", False
    if entry.exists():
        log.warning("The compiled-model cache entry %s is damaged or incomplete; rebuilding it", entry)
    log.info("Converting the model to OpenVINO (once; cached in %s)", entry)
    write_entry(entry, lambda tmp: convert(keras_model, tmp))
    return entry / "model.xml", True


class OpenVINORunner:
    """Runs a cached OpenVINO IR on numpy batches: uint8 input is cast and scaled to [0, 1] inside OpenVINO
    (its preprocessing step), float32 input goes straight in. Compiled with an fp32 inference hint, so an fp32
    IR matches TF and an int8 IR runs its quantized layers in int8 and the rest in fp32 (not bf16)."""

    def __init__(self, xml: Path, threads: int | None) -> None:
        ov = import_openvino()
        from openvino.preprocess import PrePostProcessor

        self.core = ov.Core()
        # Read the weights into memory rather than mapping the cache file: a cache entry rebuilt or damaged
        # while this model is alive must not pull the pages from under it (SIGBUS).
        self.core.set_property({"ENABLE_MMAP": False})
        self.config = {
            "INFERENCE_PRECISION_HINT": "f32",  # the default bf16 on AVX-512 CPUs is off by ~0.1 in logits
            "PERFORMANCE_HINT": "LATENCY",  # one stream using every thread: measured fastest on 2 cores
            "INFERENCE_NUM_THREADS": int(threads or 0),  # 0: one per core
            "CPU_DENORMALS_OPTIMIZATION": True,  # flush denormals to zero, as TensorFlow does
        }
        float_model = self.core.read_model(str(xml))
        u8 = float_model.clone()
        ppp = PrePostProcessor(u8)
        ppp.input().tensor().set_element_type(ov.Type.u8)
        ppp.input().preprocess().convert_element_type(ov.Type.f32).scale(255.0)
        self._uint8 = self.core.compile_model(ppp.build(), "CPU", self.config)
        self._float_model = float_model
        self._float = None
        self._lock = threading.Lock()

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        with self._lock:
            if frames.dtype == np.uint8:
                compiled = self._uint8
            else:
                if self._float is None:
                    self._float = self.core.compile_model(self._float_model, "CPU", self.config)
                compiled = self._float
                frames = frames.astype(np.float32, copy=False)
            result = compiled(np.ascontiguousarray(frames), share_inputs=True)
            return np.array(result[0], dtype=np.float32, copy=True)


def verified_ir(keras_model, *, weights_key: str, reference: VideoModel, min_frames: int = 9) -> Path:
    """The cached fp32 IR of ``keras_model``. After a fresh conversion its logits are checked against the TF
    ``reference`` on a random clip (batch 2, ``min_frames`` frames); a mismatch beyond :data:`TOLERANCE` raises
    :class:`ModelError` and the entry is removed so it is not reused."""
    xml, converted = compiled_openvino_model(keras_model, weights_key)
    if converted:
        probe = np.random.default_rng(0).integers(0, 256, size=(2, min_frames, 224, 224, 3), dtype=np.uint8)
        diff = float(np.abs(OpenVINORunner(xml, None)(probe) - reference.reference_logits(probe)).max())
        if not diff <= TOLERANCE:
            shutil.rmtree(xml.parent, ignore_errors=True)
            raise ModelError(f"OpenVINO logits differ from TensorFlow's by {diff:.2g} (> {TOLERANCE})")
        log.info("OpenVINO conversion verified against TensorFlow (max |Δlogit| %.2g)", diff)
    return xml
