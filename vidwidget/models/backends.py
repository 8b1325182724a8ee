"""CPU backends for the native I3D: TensorFlow graph (the reference and fallback), XLA, and OpenVINO.

``load_model("kinetics-400", backend=...)`` picks one: ``"auto"`` (default, or ``VIDWIDGET_BACKEND``) takes the
first of :data:`AUTO_ORDER` that is installed, converts and matches the TF reference within :data:`TOLERANCE`;
anything that fails is logged and the TF graph is used instead. Converted models are cached under
``VIDWIDGET_HOME/compiled``, keyed by weights version, backend and runtime version, written atomically and
checked by hash before use. Threads: ``threads=`` or ``VIDWIDGET_THREADS`` (default: one per core).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .._config import subdir
from ..errors import ModelError
from .base import VideoModel

log = logging.getLogger(__name__)

BACKENDS = ("tf", "xla", "openvino")
# Fastest first among the backends whose logits match TF within TOLERANCE, as measured by
# benchmarks/backends.py on a 2-core AVX-512 machine (see benchmarks/README.md). XLA is correct but several times
# slower than the TF graph on CPU (its 3-D convolutions do not use oneDNN), so "auto" never picks it.
AUTO_ORDER = ("openvino", "tf")
TOLERANCE = 1e-3
_ALIASES = {"ov": "openvino", "tensorflow": "tf", "graph": "tf", "jit": "xla"}
_MANIFEST = "manifest.json"


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


def import_openvino():
    """``import openvino`` without its usage telemetry.

    Importing ``openvino`` sends a usage event to Intel (package ``openvino_telemetry``) unless the user opted out;
    a library should not do that on its users' behalf. OpenVINO supports running without that package (it falls
    back to a stub), so it is hidden while OpenVINO is first imported. Raises ``ImportError`` if not installed.
    """
    if "openvino" in sys.modules or "openvino_telemetry" in sys.modules:
        return importlib.import_module("openvino")  # already imported by someone else: nothing to change
    sys.modules["openvino_telemetry"] = None  # makes `import openvino_telemetry` raise ImportError
    try:
        return importlib.import_module("openvino")
    finally:
        if sys.modules.get("openvino_telemetry", ...) is None:
            del sys.modules["openvino_telemetry"]


def installed(backend: str) -> bool:
    """Whether the runtime a backend needs can be imported (TF and XLA always can)."""
    if backend != "openvino":
        return backend in BACKENDS
    try:
        import_openvino()
    except ImportError:
        return False
    return True


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
) -> VideoModel:
    """A :class:`VideoModel` of ``keras_model`` run by the requested backend, falling back to the TF graph (with
    a log message saying why) when that runtime is missing, fails to convert, or disagrees with TF."""
    wanted = requested_backend(backend)
    count = requested_threads(threads)
    configure_tf_threads(count)

    def fn(x):
        return keras_model(x, training=False)

    def tf_model(kind: str = "tf") -> VideoModel:
        return VideoModel(name, labels, fn, min_frames=min_frames, source=source, keras_model=keras_model,
                          backend=kind)

    if wanted in ("tf", "xla"):
        return tf_model(wanted)
    candidates = [wanted] if wanted != "auto" else [b for b in AUTO_ORDER if b != "tf"]
    for candidate in candidates:
        if not installed(candidate):
            level = logging.WARNING if wanted != "auto" else logging.INFO
            log.log(level, "The %s backend is not installed (pip install %s); using the TensorFlow backend",
                    candidate, candidate)
            continue
        try:
            runner = openvino_runner(keras_model, weights_key=weights_key, threads=count,
                                     reference=tf_model(), min_frames=min_frames)
        except Exception as exc:  # any runtime failure: the TF reference path still works
            log.warning("The %s backend failed (%s: %s); using the TensorFlow backend",
                        candidate, type(exc).__name__, exc)
            continue
        return VideoModel(name, labels, fn, min_frames=min_frames, source=source, keras_model=keras_model,
                          backend=candidate, runner=runner)
    return tf_model()


# ---- OpenVINO -------------------------------------------------------------------------------------------------


def _openvino_version() -> str:
    return import_openvino().__version__.split("-")[0]


def cache_entry(weights_key: str, backend: str, runtime_version: str) -> Path:
    """Folder of the compiled-model cache entry for these weights, backend and runtime version."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{weights_key}-{backend}-{runtime_version}")
    return subdir("compiled") / safe


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _entry_is_valid(entry: Path) -> bool:
    """True when ``entry`` holds a manifest whose files all exist with the recorded sha256."""
    try:
        manifest = json.loads((entry / _MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        return bool(files) and all(_sha256(entry / f) == h for f, h in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _write_entry(entry: Path, write: Callable[[Path], None]) -> None:
    """Create the cache folder ``entry`` atomically: ``write(tmp)`` fills a temporary sibling folder, a
    manifest of sha256 hashes is added, then the folder is renamed into place."""
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=entry.parent))
    try:
        write(tmp)
        files = {p.name: _sha256(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        (tmp / _MANIFEST).write_text(json.dumps({"files": files}, indent=1), encoding="utf-8")
        if entry.exists():
            if _entry_is_valid(entry):  # another process finished the same conversion first: keep theirs
                return
            shutil.rmtree(entry, ignore_errors=True)
        try:
            os.replace(tmp, entry)
        except OSError:
            if not _entry_is_valid(entry):  # not another process's finished entry: a real failure
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _convert_openvino(keras_model, tmp: Path) -> None:
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


def compiled_openvino_model(keras_model, weights_key: str) -> tuple[Path, bool]:
    """The OpenVINO IR of ``keras_model`` in the compiled-model cache, converted on a miss; a damaged entry is
    rebuilt. Returns ``(model.xml path, whether it was converted now)``."""
    entry = cache_entry(weights_key, "openvino", _openvino_version())
    if _entry_is_valid(entry):
        return entry / "model.xml", False
    if entry.exists():
        log.warning("The compiled-model cache entry %s is damaged or incomplete; rebuilding it", entry)
    log.info("Converting the model to OpenVINO (once; cached in %s)", entry)
    _write_entry(entry, lambda tmp: _convert_openvino(keras_model, tmp))
    return entry / "model.xml", True


class OpenVINORunner:
    """Runs a cached OpenVINO IR on numpy batches: uint8 input is cast and scaled to [0, 1] inside OpenVINO
    (its preprocessing step), float32 input goes straight in. Compiled for fp32 so results match TF."""

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


def openvino_runner(keras_model, *, weights_key: str, threads: int | None, reference: VideoModel,
                    min_frames: int = 9) -> OpenVINORunner:
    """An :class:`OpenVINORunner` for ``keras_model``. After a fresh conversion its logits are checked against
    the TF ``reference`` on a random clip (batch 2, ``min_frames`` frames); a mismatch beyond
    :data:`TOLERANCE` raises :class:`ModelError` and the entry is removed so it is not reused."""
    xml, converted = compiled_openvino_model(keras_model, weights_key)
    runner = OpenVINORunner(xml, threads)
    if converted:
        probe = np.random.default_rng(0).integers(0, 256, size=(2, min_frames, 224, 224, 3), dtype=np.uint8)
        diff = float(np.abs(runner(probe) - reference.reference_logits(probe)).max())
        if not diff <= TOLERANCE:
            shutil.rmtree(xml.parent, ignore_errors=True)
            raise ModelError(f"OpenVINO logits differ from TensorFlow's by {diff:.2g} (> {TOLERANCE})")
        log.info("OpenVINO conversion verified against TensorFlow (max |Δlogit| %.2g)", diff)
    return runner
