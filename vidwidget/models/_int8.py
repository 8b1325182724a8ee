"""int8 I3D: NNCF post-training quantization of the cached fp32 OpenVINO IR, calibrated on real clips and cached
like the fp32 model (atomic entry, sha256 manifest, damaged → rebuilt), keyed by the weights, the calibration
set, the OpenVINO and NNCF versions and the quantization settings.

The settings (:data:`DEFAULT_SETTINGS`) were chosen by measurement (``benchmarks/int8.py``, numbers in
benchmarks/README.md): NNCF's default activation ranges clip the large activations of I3D's late layers, so
activations use plain MINMAX ranges.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ._cache import cache_entry, read_manifest, write_entry
from ._openvino_backend import hidden_telemetry_import, import_openvino, openvino_version
from .calibration import (
    DEFAULT_CLIPS,
    DEFAULT_FRAMES,
    NO_CALIBRATION_HELP,
    CalibrationInput,
    CalibrationSource,
    calibration_id,
    calibration_inputs,
    downloaded_clips,
    env_source,
)

log = logging.getLogger(__name__)

ACTIVATION_RANGES = ("minmax", "nncf-default", "mean-minmax")
PRESETS = ("performance", "mixed")
KEEPABLE = ("first-conv", "last-conv")
"""Layers that can stay fp32: the first convolution (it sees raw pixels) and the last one (the logits layer).
Named by position because OpenVINO's TensorFlow frontend does not keep the Keras layer names."""


@dataclass(frozen=True)
class Int8Settings:
    """How the fp32 IR is quantized. ``activations``: range estimator of activation quantizers (``"minmax"``:
    global min/max over the calibration set; ``"nncf-default"``: NNCF's own, quantile-based for some layers;
    ``"mean-minmax"``: mean of per-input min/max); ``preset``: NNCF's symmetric (``"performance"``) or
    asymmetric-activation (``"mixed"``) quantizers; ``keep_fp32``: layers left unquantized (:data:`KEEPABLE`);
    ``bias_correction``: NNCF's fast bias correction on or off."""

    activations: str = "minmax"
    preset: str = "performance"
    keep_fp32: tuple[str, ...] = field(default_factory=tuple)
    bias_correction: bool = True

    def __post_init__(self) -> None:
        if self.activations not in ACTIVATION_RANGES:
            raise ModelError(f"activations must be one of {ACTIVATION_RANGES}, got {self.activations!r}")
        if self.preset not in PRESETS:
            raise ModelError(f"preset must be one of {PRESETS}, got {self.preset!r}")
        if not set(self.keep_fp32) <= set(KEEPABLE):
            raise ModelError(f"keep_fp32 may hold {KEEPABLE}, got {self.keep_fp32!r}")

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


DEFAULT_SETTINGS = Int8Settings()


_NO_NNCF = "int8 inference needs NNCF, which is not installed: pip install 'vidwidget[int8]' (or pip install nncf)"


def import_nncf():
    """``import nncf`` without its usage telemetry (it shares OpenVINO's telemetry package)."""
    try:
        return hidden_telemetry_import("nncf")
    except ImportError:
        raise ModelError(_NO_NNCF) from None


def nncf_version() -> str:
    """The installed NNCF version, read from its metadata (importing NNCF takes a second; a cache hit needs
    only the version)."""
    try:
        return metadata.version("nncf")
    except metadata.PackageNotFoundError:
        raise ModelError(_NO_NNCF) from None


def _entry_prefix(weights_key: str, settings: Int8Settings) -> str:
    return f"{weights_key}-openvino-{openvino_version()}-int8-nncf{nncf_version()}-s{settings.key()}"


def int8_entry(weights_key: str, settings: Int8Settings, calibration: str) -> Path:
    """Cache folder of the int8 IR for these weights, settings and calibration set (``calibration_id``)."""
    return cache_entry(_entry_prefix(weights_key, settings), f"c{calibration}")


def latest_int8_entry(weights_key: str, settings: Int8Settings) -> Path | None:
    """The most recently built valid int8 entry for these weights, settings and versions, whatever it was
    calibrated on (used when the caller gives no calibration clips), or None."""
    prefix = cache_entry(_entry_prefix(weights_key, settings), "c")
    entries = sorted(prefix.parent.glob(prefix.name + "*"), key=lambda p: p.stat().st_mtime, reverse=True)
    return next((e for e in entries if read_manifest(e) is not None), None)


def _nncf_arguments(nncf, settings: Int8Settings, subset: int, model) -> dict:
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    ranges = {"minmax": RangeEstimatorParametersSet.MINMAX, "mean-minmax": RangeEstimatorParametersSet.MEAN_MINMAX,
              "nncf-default": None}[settings.activations]
    advanced = AdvancedQuantizationParameters(activations_range_estimator_params=ranges,
                                              disable_bias_correction=not settings.bias_correction)
    kwargs = {
        "preset": {"performance": nncf.QuantizationPreset.PERFORMANCE,
                   "mixed": nncf.QuantizationPreset.MIXED}[settings.preset],
        "subset_size": subset,
        "advanced_parameters": advanced,
    }
    if settings.keep_fp32:
        convs = [op.get_friendly_name() for op in model.get_ordered_ops() if op.get_type_name() == "Convolution"]
        names = {"first-conv": convs[0], "last-conv": convs[-1]}
        kwargs["ignored_scope"] = nncf.IgnoredScope(names=[names[k] for k in settings.keep_fp32])
    return kwargs


def quantize(fp32_xml: Path, inputs: list[CalibrationInput], settings: Int8Settings, tmp: Path) -> None:
    """Quantize the fp32 IR at ``fp32_xml`` with NNCF on ``inputs`` and write ``model.xml``/``model.bin`` to
    ``tmp``. The calibration clips are decoded once and held as uint8 (NNCF may pass over them more than once)."""
    ov = import_openvino()
    nncf = import_nncf()
    clips = [i.load() for i in inputs]
    dataset = nncf.Dataset(clips, lambda clip: (clip[None].astype(np.float32) * np.float32(1 / 255)))
    model = ov.Core().read_model(str(fp32_xml))
    quantized = nncf.quantize(model, dataset, **_nncf_arguments(nncf, settings, len(clips), model))
    ov.save_model(quantized, str(tmp / "model.xml"), compress_to_fp16=False)


def quantized_ir(fp32_xml: Path, *, weights_key: str, inputs: list[CalibrationInput],
                 settings: Int8Settings = DEFAULT_SETTINGS) -> tuple[Path, bool]:
    """The int8 IR calibrated on ``inputs`` in the compiled-model cache, quantized on a miss (a damaged entry is
    rebuilt). Returns ``(model.xml path, whether it was quantized now)``."""
    cal_id = calibration_id(inputs)
    entry = int8_entry(weights_key, settings, cal_id)
    if read_manifest(entry) is not None:
        return entry / "model.xml", False
    if entry.exists():
        log.warning("The int8 cache entry %s is damaged or incomplete; rebuilding it", entry)
    log.info("Quantizing the model to int8 with NNCF on %d calibration clips (once; cached in %s)", len(inputs), entry)
    info = {"weights": weights_key, "settings": asdict(settings), "calibration_id": cal_id,
            "calibration": [i.identity for i in inputs], "openvino": openvino_version(), "nncf": nncf_version()}
    write_entry(entry, lambda tmp: quantize(fp32_xml, inputs, settings, tmp), info=info)
    return entry / "model.xml", True


def int8_ir(fp32_xml: Path, *, weights_key: str, calibration: CalibrationSource | None,
            settings: Int8Settings = DEFAULT_SETTINGS, count: int = DEFAULT_CLIPS,
            frames: int = DEFAULT_FRAMES) -> tuple[Path, bool]:
    """The int8 IR to run, from the first source that applies: ``calibration`` (``count`` inputs of ``frames``
    frames), the folder in ``VIDWIDGET_CALIBRATION``, the int8 model calibrated last (any calibration set, same
    weights, settings and versions), the Kinetics clips downloaded under ``VIDWIDGET_HOME``. With none of them,
    :class:`ModelError` says how to give calibration clips."""
    source = calibration if calibration is not None else env_source()
    if source is None:
        entry = latest_int8_entry(weights_key, settings)
        if entry is not None:
            log.info("Using the cached int8 model %s (give calibration= to calibrate on other clips)", entry)
            return entry / "model.xml", False
        source = downloaded_clips(count) or None
    if source is None:
        raise ModelError(NO_CALIBRATION_HELP)
    return quantized_ir(fp32_xml, weights_key=weights_key, settings=settings,
                        inputs=calibration_inputs(source, count=count, frames=frames))
