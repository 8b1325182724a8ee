"""Inference: batched, pipelined prediction and evaluation into result tables, accuracy figures, and
timelines of long videos (predictions per sliding window, merged into segments)."""

from .analysis import (
    OUTCOMES,
    MatrixView,
    class_table,
    confusion_matrix,
    confusions,
    filter_results,
    matrix_view,
    outcomes,
    summary,
)
from .evaluate import as_clips, evaluate, evaluate_folder, run_batch
from .predict import predict
from .results import per_class_accuracy, result_columns, results_frame, top_k_accuracy
from .timeline import predict_timeline, timeline_segments, timeline_view, write_timeline

__all__ = [
    "OUTCOMES",
    "MatrixView",
    "class_table",
    "matrix_view",
    "summary",
    "confusion_matrix",
    "confusions",
    "filter_results",
    "outcomes",
    "as_clips",
    "evaluate",
    "evaluate_folder",
    "per_class_accuracy",
    "predict",
    "predict_timeline",
    "result_columns",
    "results_frame",
    "run_batch",
    "timeline_segments",
    "timeline_view",
    "top_k_accuracy",
    "write_timeline",
]
