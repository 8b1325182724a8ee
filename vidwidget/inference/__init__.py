"""Inference: batched, pipelined prediction and evaluation into result tables, accuracy figures and analysis,
and timelines of long videos (predictions per sliding window, merged into segments).

Names load on first use (as in the top-level package), so the analysis functions — which only need pandas —
can be imported by the widgets without starting TensorFlow.
"""

from __future__ import annotations

import importlib
import sys
import types

# public name → the submodule that defines it
_LAZY = {
    "OUTCOMES": "analysis", "MatrixView": "analysis", "class_table": "analysis", "confusion_matrix": "analysis",
    "confusions": "analysis", "filter_results": "analysis", "matrix_view": "analysis", "outcomes": "analysis",
    "summary": "analysis",
    "KineticsParts": "sources", "RayEngine": "_ray_engine",
    "as_clips": "evaluate", "evaluate": "evaluate", "evaluate_folder": "evaluate", "run_batch": "evaluate",
    "predict": "predict",
    "per_class_accuracy": "results", "result_columns": "results", "results_frame": "results",
    "top_k_accuracy": "results",
    "predict_timeline": "timeline", "timeline_segments": "timeline", "timeline_view": "timeline",
    "write_timeline": "timeline",
}


class _Package(types.ModuleType):
    """Keeps ``evaluate``/``predict`` the functions: importing a submodule of the same name directly (``import
    vidwidget.inference.evaluate``) would otherwise rebind the package attribute to the module."""

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, types.ModuleType) and _LAZY.get(name) == name:
            return  # the submodule stays reachable through sys.modules and ``from .evaluate import ...``
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vidwidget.inference' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = sorted(_LAZY)
