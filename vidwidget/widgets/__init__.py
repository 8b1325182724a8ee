"""Jupyter widgets (anywidget) for exploring video classification: :class:`VideoExplorer` and its parts.

:class:`AnalysisPanel` loads on first use: its figures come from :mod:`vidwidget.inference`, which starts
TensorFlow, and building a widget in a notebook cell must neither wait for that nor print its start-up lines.
"""

from __future__ import annotations

from typing import Any

from vidwidget.widgets.browser import DatasetBrowser
from vidwidget.widgets.controls import ExplorerControls
from vidwidget.widgets.explorer import VideoExplorer
from vidwidget.widgets.panel import PredictionPanel
from vidwidget.widgets.player import ClipPlayer

__all__ = ["AnalysisPanel", "ClipPlayer", "DatasetBrowser", "ExplorerControls", "PredictionPanel", "VideoExplorer"]


def __getattr__(name: str) -> Any:
    if name == "AnalysisPanel":
        from vidwidget.widgets._quiet import import_inference

        import_inference()  # quietly: TensorFlow's start-up lines go to the log
        from vidwidget.widgets.analysis import AnalysisPanel

        globals()[name] = AnalysisPanel
        return AnalysisPanel
    raise AttributeError(f"module 'vidwidget.widgets' has no attribute {name!r}")
