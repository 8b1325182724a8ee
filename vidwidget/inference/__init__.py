"""Inference: batched, pipelined prediction and evaluation into result tables, and accuracy figures."""

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
    "result_columns",
    "results_frame",
    "run_batch",
    "top_k_accuracy",
]
