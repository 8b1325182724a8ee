"""vidwidget: explore video classification in Jupyter — Kinetics clips or your own videos, a pretrained I3D,
top-5 predictions and accuracy — and the library underneath (datasets, decoding, models, evaluation).

``VideoExplorer()`` is the widget; everything it does is available as plain functions too.
"""

from __future__ import annotations

from .clip import Clip
from .errors import DownloadError, ModelError, ModelUnavailableError, UnsafeArchiveError, VideoError, VidwidgetError
from .inference import evaluate_folder, per_class_accuracy, top_k_accuracy
from .models import VideoModel, export_saved_model, load_model
from .seed import (
    I3DLoader,
    KineticsLoader,
    compute_accuracy,
    evaluate,
    load_and_resize_video,
    make_video_table,
    predict,
    resample_video,
    store_results_in_dataframe,
    video_acceptable,
)
from .video import load_clip, probe, read_frames

__version__ = "0.1.0"


def __getattr__(name: str):
    # Datasets and widgets load on first use: importing vidwidget stays light.
    if name in {"KineticsDataset", "VideoFolder"}:
        from . import data

        return getattr(data, name)
    if name in {"VideoExplorer", "DatasetBrowser", "ClipPlayer", "PredictionPanel"}:
        from . import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module 'vidwidget' has no attribute {name!r}")


__all__ = [
    "Clip",
    "ClipPlayer",
    "DatasetBrowser",
    "DownloadError",
    "I3DLoader",
    "KineticsDataset",
    "KineticsLoader",
    "ModelError",
    "ModelUnavailableError",
    "PredictionPanel",
    "UnsafeArchiveError",
    "VideoError",
    "VideoExplorer",
    "VideoFolder",
    "VideoModel",
    "VidwidgetError",
    "compute_accuracy",
    "evaluate",
    "evaluate_folder",
    "export_saved_model",
    "load_and_resize_video",
    "load_clip",
    "load_model",
    "make_video_table",
    "per_class_accuracy",
    "predict",
    "probe",
    "read_frames",
    "resample_video",
    "store_results_in_dataframe",
    "top_k_accuracy",
    "video_acceptable",
]
