"""TF Hub and SavedModel models: load DeepMind's I3D modules by handle, or any SavedModel directory with the
same signature, and export vidwidget's own I3D as such a SavedModel.

The signature is the TF Hub one: ``signatures["default"](rgb_input)["default"]`` → logits, input RGB float in
[0, 1], ``[B, T, 224, 224, 3]``. Exported models carry their label map as ``assets/label_map.txt``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import tensorflow as tf

from ..errors import ModelError, ModelUnavailableError
from .base import VideoModel
from .labels import kinetics_labels, read_label_file

HANDLES = {
    400: "https://tfhub.dev/deepmind/i3d-kinetics-400/1",
    600: "https://tfhub.dev/deepmind/i3d-kinetics-600/1",
}
LABEL_ASSET = "label_map.txt"


def _is_remote(handle: str) -> bool:
    return handle.startswith(("http://", "https://", "gs://"))


def _hub_load(handle: str):
    import tensorflow_hub as hub  # imported lazily: it pulls in tf_keras

    return hub.load(handle)


def _cache_dir_hint() -> str:
    return os.environ.get("TFHUB_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "tfhub_modules")


def load_hub_model(
    handle: str | os.PathLike,
    *,
    labels: Sequence[str] | str | os.PathLike | None = None,
    name: str | None = None,
    min_frames: int = 9,
) -> VideoModel:
    """Load a TF Hub handle or a local SavedModel directory through ``tensorflow_hub.load``.

    Labels come from ``labels`` (a list or a file), else the SavedModel's ``assets/label_map.txt``, else the
    Kinetics label map matching the number of classes. Failure to fetch a remote handle raises
    :class:`ModelUnavailableError` saying what is missing and how to provide it.
    """
    handle = os.fspath(handle)
    if not _is_remote(handle) and not Path(handle).is_dir():
        raise ModelError(f"{handle} is not a SavedModel directory or a TF Hub URL")
    try:
        module = _hub_load(handle)
    except Exception as exc:  # tensorflow_hub raises many kinds of errors for a missing network or file
        if _is_remote(handle):
            remedy = ("Connect to the internet once so TF Hub can cache it, or download the model elsewhere and "
                      "pass its SavedModel folder: load_model('/path/to/model').")
            raise ModelUnavailableError(
                f"Could not load the TF Hub model {handle}: {type(exc).__name__}: {exc}. "
                f"Its weights are only published on TF Hub and are not in the local cache "
                f"(TFHUB_CACHE_DIR={_cache_dir_hint()}). {remedy}",
                remedy=remedy,
            ) from exc
        raise ModelError(f"Could not load the SavedModel in {handle}: {type(exc).__name__}: {exc}") from exc
    signatures = getattr(module, "signatures", {})
    if "default" not in signatures:
        raise ModelError(f"{handle} has no 'default' signature (found: {sorted(signatures)})")
    signature = signatures["default"]
    inputs = signature.structured_input_signature[1]
    if len(inputs) != 1:
        raise ModelError(f"{handle}'s 'default' signature takes {sorted(inputs)}; expected one video input")
    input_name = next(iter(inputs))

    def fn(x: tf.Tensor) -> tf.Tensor:
        # Reached through `module` so the closure keeps the loaded variables alive.
        return module.signatures["default"](**{input_name: x})["default"]

    num_classes = int(signature.structured_outputs["default"].shape[-1])
    label_list = _resolve_labels(handle, labels, num_classes)
    return VideoModel(
        name or _default_name(handle, num_classes),
        label_list,
        fn,
        min_frames=min_frames,
        source=handle,
    )


def _default_name(handle: str, num_classes: int) -> str:
    if handle in HANDLES.values():
        return f"i3d-kinetics-{num_classes}"
    return Path(handle.rstrip("/")).name or handle


def _resolve_labels(handle: str, labels, num_classes: int) -> list[str]:
    if labels is not None:
        out = read_label_file(labels) if isinstance(labels, str | os.PathLike) else list(labels)
    elif not _is_remote(handle) and (Path(handle) / "assets" / LABEL_ASSET).is_file():
        out = read_label_file(Path(handle) / "assets" / LABEL_ASSET)
    else:
        out = list(kinetics_labels(num_classes))
    if len(out) != num_classes:
        raise ModelError(f"{handle} outputs {num_classes} classes but its label map has {len(out)} labels")
    return out


class _Exported(tf.Module):
    def __init__(self, keras_model, label_file: str):
        super().__init__()
        self.model = keras_model
        self.label_map = tf.saved_model.Asset(label_file)

    @tf.function(input_signature=[tf.TensorSpec([None, None, 224, 224, 3], tf.float32, name="rgb_input")])
    def default(self, rgb_input):
        return {"default": self.model(rgb_input, training=False)}


def export_saved_model(model: VideoModel, path: str | os.PathLike) -> Path:
    """Export a Keras-backed :class:`VideoModel` as a SavedModel that ``load_hub_model`` (and ``hub.load``) read.

    The result has a ``default`` signature with input ``rgb_input`` (float [0, 1], ``[B, T, 224, 224, 3]``)
    and output ``default`` (logits), like DeepMind's TF Hub I3D, plus ``assets/label_map.txt``.
    """
    if model.keras_model is None:
        raise ModelError(f"{model.name} is not a Keras model, so it cannot be exported (is it a SavedModel already?)")
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        raise ModelError(f"{path} exists and is not empty; choose a new folder for the SavedModel")
    with tempfile.TemporaryDirectory() as tmp:
        label_file = Path(tmp) / LABEL_ASSET
        label_file.write_text("\n".join(model.labels) + "\n", encoding="utf-8")
        module = _Exported(model.keras_model, str(label_file))
        tf.saved_model.save(module, str(path), signatures={"default": module.default})
    return path
