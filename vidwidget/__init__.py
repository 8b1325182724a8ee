"""vidwidget: explore video classification in Jupyter — Kinetics clips or your own videos, a pretrained I3D,
top-5 predictions and accuracy — and the library underneath (datasets, decoding, models, evaluation).

``VideoExplorer()`` is the widget; everything it does is available as plain functions too. Names load on
first use, so ``import vidwidget`` is quick and TensorFlow starts only when a model is needed.
"""

from __future__ import annotations

import importlib
import logging

from .clip import Clip
from .errors import DownloadError, ModelError, ModelUnavailableError, UnsafeArchiveError, VideoError, VidwidgetError

__version__ = "0.1.0"

# Library convention: our log records (job tracebacks, download retries) go where the application sends logs, and
# nowhere when it configures none — never printed into a notebook cell by logging's last-resort handler.
logging.getLogger(__name__).addHandler(logging.NullHandler())

# public name → the module that defines it (imported on first access)
_LAZY = {
    "KineticsDataset": "data", "VideoFolder": "data",
    "load_clip": "video", "probe": "video", "read_frames": "video",
    "VideoModel": "models", "load_model": "models", "export_saved_model": "models",
    "evaluate_folder": "inference", "per_class_accuracy": "inference", "top_k_accuracy": "inference",
    "KineticsParts": "inference", "RayEngine": "inference",
    "confusions": "inference", "confusion_matrix": "inference", "filter_results": "inference", "outcomes": "inference",
    "class_table": "inference", "matrix_view": "inference",
    "predict_timeline": "inference", "timeline_segments": "inference", "write_timeline": "inference",
    "I3DLoader": "seed", "KineticsLoader": "seed", "compute_accuracy": "seed", "evaluate": "seed",
    "load_and_resize_video": "seed", "make_video_table": "seed", "predict": "seed", "resample_video": "seed",
    "store_results_in_dataframe": "seed", "video_acceptable": "seed",
    "VideoExplorer": "widgets", "DatasetBrowser": "widgets", "ClipPlayer": "widgets", "PredictionPanel": "widgets",
    "AnalysisPanel": "widgets",
    "save_report": "report",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vidwidget' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Clip",
    "DownloadError",
    "ModelError",
    "ModelUnavailableError",
    "UnsafeArchiveError",
    "VideoError",
    "VidwidgetError",
    *_LAZY,
]
