"""CPU backends: the default backend agrees with the TF graph reference on the real I3D (random input and a real
clip), falls back to TF with a log message when its runtime is missing or fails, and reuses (or rebuilds) its
compiled-model cache. Cache and fallback mechanics run on a tiny Keras model so they take seconds."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from vidwidget.errors import ModelError
from vidwidget.models import _cache, _openvino_backend, backends, load_model
from vidwidget.video import load_clip

ov = backends.import_openvino()  # a vidwidget dependency: its absence is a failure, not a skip

OV_VERSION = ov.__version__.split("-")[0]
DEFAULT = next(b for b in backends.AUTO_ORDER if backends.installed(b))


# ---- the real I3D ---------------------------------------------------------------------------------------------


def test_default_backend_is_openvino_when_installed(k400):
    assert k400.backend == DEFAULT == "openvino"
    assert "backend='openvino'" in repr(k400)


@pytest.mark.parametrize("frames", [9, 64])
def test_default_backend_matches_tf_reference(k400, frames):
    x = np.random.default_rng(frames).integers(0, 256, size=(2, frames, 224, 224, 3), dtype=np.uint8)
    ours = k400.logits(x)
    ref = k400.reference_logits(x)
    assert ours.shape == ref.shape == (2, 400)
    np.testing.assert_allclose(ours, ref, atol=backends.TOLERANCE, rtol=0)
    assert np.abs(ours[0] - ours[1]).max() > 1e-2  # distinct inputs, distinct outputs
    if frames == 9:  # float input in [0, 1] runs through OpenVINO too and agrees
        float_logits = k400.logits(x[:1].astype(np.float32) / 255)
        np.testing.assert_allclose(float_logits, ref[:1], atol=backends.TOLERANCE, rtol=0)


def test_default_backend_on_a_real_clip(k400, shared_videos):
    clip = load_clip(shared_videos / "arm_wrestling.mp4", 64)
    ours = k400.logits(clip[None])
    np.testing.assert_allclose(ours, k400.reference_logits(clip[None]), atol=backends.TOLERANCE, rtol=0)
    (pred,) = k400.predict(clip[None], k=1)
    assert pred.top1 == "arm wrestling" and pred.probabilities[0] > 0.99


# ---- backend selection, threads -------------------------------------------------------------------------------


def test_requested_backend(monkeypatch):
    monkeypatch.delenv("VIDWIDGET_BACKEND", raising=False)
    assert backends.requested_backend() == "auto"
    assert backends.requested_backend("OV") == "openvino"
    monkeypatch.setenv("VIDWIDGET_BACKEND", "tf")
    assert backends.requested_backend() == "tf"
    assert backends.requested_backend("xla") == "xla"  # the argument wins over the environment
    monkeypatch.setenv("VIDWIDGET_BACKEND", "cuda")
    with pytest.raises(ModelError, match="VIDWIDGET_BACKEND.*auto"):
        backends.requested_backend()
    with pytest.raises(ModelError, match="unknown backend 'onnx'"):
        backends.requested_backend("onnx")


def test_requested_threads(monkeypatch):
    monkeypatch.delenv("VIDWIDGET_THREADS", raising=False)
    assert backends.requested_threads() is None
    assert backends.requested_threads(3) == 3
    monkeypatch.setenv("VIDWIDGET_THREADS", "1")
    assert backends.requested_threads() == 1
    monkeypatch.setenv("VIDWIDGET_THREADS", "two")
    with pytest.raises(ModelError, match="VIDWIDGET_THREADS must be a positive whole number"):
        backends.requested_threads()
    with pytest.raises(ModelError, match="threads must be"):
        backends.requested_threads(0)


def test_tf_threads_after_initialisation_are_kept(caplog):
    import tensorflow as tf

    tf.constant(1.0) + 1.0  # TF's runtime is up: its thread pools are fixed from now on
    current = tf.config.threading.get_intra_op_parallelism_threads()
    other = 1 if current != 1 else 2
    with caplog.at_level(logging.INFO, logger="vidwidget.models._tf_backend"):
        assert backends.configure_tf_threads(other) is False
    assert "already initialised" in caplog.text
    assert tf.config.threading.get_intra_op_parallelism_threads() == current
    assert backends.configure_tf_threads(None) is True


# ---- fallback and cache on a tiny model -----------------------------------------------------------------------

LABELS = [f"class {i}" for i in range(5)]


def tiny_keras() -> keras.Model:
    """A small [B, T, 224, 224, 3] → [B, 5] network with fixed random weights (a stand-in for I3D)."""
    inputs = keras.Input(shape=(None, 224, 224, 3))
    x = keras.layers.Conv3D(4, (3, 8, 8), strides=(1, 8, 8), padding="same")(inputs)
    x = keras.layers.BatchNormalization(scale=False)(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling3D()(x)
    model = keras.Model(inputs, keras.layers.Dense(5)(x))
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) + (1.5 if w.ndim == 1 else 0)
                       for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def tiny():
    return tiny_keras()


def build(tiny, key="tiny-v1", **kwargs):
    return backends.build_model(tiny, name="tiny", labels=LABELS, weights_key=key, **kwargs)


X = np.random.default_rng(3).integers(0, 256, size=(2, 9, 224, 224, 3), dtype=np.uint8)


def test_tiny_openvino_matches_tf_any_shape(tiny):
    model = build(tiny, backend="openvino")
    assert model.backend == "openvino"
    for x in (X, X[:1], np.concatenate([X, X], axis=1), np.concatenate([X, X, X[:1]])):
        np.testing.assert_allclose(model.logits(x), model.reference_logits(x), atol=1e-4, rtol=0)


def test_thread_count_reaches_openvino(tiny, monkeypatch):
    monkeypatch.setenv("VIDWIDGET_THREADS", "1")
    model = build(tiny)
    assert model.backend == "openvino"
    assert int(model._runner._uint8.get_property("INFERENCE_NUM_THREADS")) == 1
    assert int(build(tiny, threads=2)._runner._uint8.get_property("INFERENCE_NUM_THREADS")) == 2


def test_fallback_when_runtime_missing(tiny, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` now raises ImportError
    with caplog.at_level(logging.INFO, logger="vidwidget.models.backends"):
        auto = build(tiny, key="tiny-missing", backend="auto")
        explicit = build(tiny, key="tiny-missing", backend="openvino")
    assert auto.backend == explicit.backend == "tf"
    assert "openvino backend is not installed" in caplog.text and "using the TensorFlow backend" in caplog.text
    assert any(r.levelno == logging.WARNING for r in caplog.records)  # asked for by name: a warning
    np.testing.assert_allclose(explicit.logits(X), explicit.reference_logits(X), atol=0)
    assert not _cache.cache_entry("tiny-missing", "openvino", OV_VERSION).exists()


def test_fallback_when_conversion_fails(tiny, monkeypatch, caplog):
    def broken(keras_model, tmp):
        raise RuntimeError("conversion exploded")

    monkeypatch.setattr(_openvino_backend, "convert", broken)
    with caplog.at_level(logging.WARNING, logger="vidwidget.models.backends"):
        model = build(tiny, key="tiny-broken")
    assert model.backend == "tf"
    assert "openvino backend failed (RuntimeError: conversion exploded)" in caplog.text
    entry = _cache.cache_entry("tiny-broken", "openvino", OV_VERSION)
    assert not entry.exists() and not list(entry.parent.glob(".tmp-*"))  # nothing half-written is left


def test_fallback_when_converted_model_disagrees(tiny, monkeypatch, caplog):
    real = _openvino_backend.convert

    def other_weights(keras_model, tmp):  # converts a different network: a silent conversion bug
        other = tiny_keras()
        other.set_weights([w + 0.5 for w in other.get_weights()])
        real(other, tmp)

    monkeypatch.setattr(_openvino_backend, "convert", other_weights)
    with caplog.at_level(logging.WARNING, logger="vidwidget.models.backends"):
        model = build(tiny, key="tiny-wrong")
    assert model.backend == "tf"
    assert "OpenVINO logits differ from TensorFlow's by" in caplog.text
    assert not _cache.cache_entry("tiny-wrong", "openvino", OV_VERSION).exists()


def test_compiled_cache_is_reused_and_rebuilt_when_damaged(tiny, monkeypatch, caplog):
    entry = _cache.cache_entry("tiny-cache", "openvino", OV_VERSION)
    assert entry.parent.name == "compiled" and ov.__version__.split("-")[0] in entry.name
    first = build(tiny, key="tiny-cache")
    assert first.backend == "openvino" and (entry / "model.xml").is_file() and (entry / "model.bin").is_file()
    manifest = json.loads((entry / "manifest.json").read_text())
    assert set(manifest["files"]) == {"model.xml", "model.bin"}
    expected = first.reference_logits(X)

    calls = []
    real = _openvino_backend.convert
    monkeypatch.setattr(_openvino_backend, "convert", lambda m, tmp: (calls.append(tmp), real(m, tmp)))
    again = build(tiny, key="tiny-cache")
    assert again.backend == "openvino" and calls == []  # a hit: no conversion
    np.testing.assert_allclose(again.logits(X), expected, atol=1e-4, rtol=0)

    weights = entry / "model.bin"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64  # damaged in place: same size, wrong bytes
    weights.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="vidwidget.models"):
        rebuilt = build(tiny, key="tiny-cache")
    assert len(calls) == 1 and "damaged or incomplete; rebuilding" in caplog.text
    assert rebuilt.backend == "openvino" and _cache.entry_is_valid(entry)
    np.testing.assert_allclose(rebuilt.logits(X), expected, atol=1e-4, rtol=0)

    (entry / "manifest.json").unlink()  # an interrupted write: no manifest, so not trusted
    assert build(tiny, key="tiny-cache").backend == "openvino" and len(calls) == 2


def test_xla_backend_matches_tf(tiny):
    model = build(tiny, backend="xla")
    assert model.backend == "xla"
    np.testing.assert_allclose(model.logits(X), model.reference_logits(X), atol=1e-4, rtol=0)


def test_openvino_is_imported_without_telemetry():
    code = (
        "import sys\n"
        "from vidwidget.models._openvino_backend import import_openvino\n"
        "import_openvino()\n"
        "from openvino.tools.ovc import telemetry_utils\n"
        "print(telemetry_utils.tm.__name__, 'openvino_telemetry' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.split() == ["openvino.tools.ovc.telemetry_stub", "False"]


def test_env_selects_backend_for_load_model(monkeypatch, tiny):
    monkeypatch.setenv("VIDWIDGET_BACKEND", "tf")
    assert build(tiny).backend == "tf"
    monkeypatch.setenv("VIDWIDGET_BACKEND", "nope")
    with pytest.raises(ModelError, match="unknown backend 'nope'"):
        load_model("kinetics-400")
