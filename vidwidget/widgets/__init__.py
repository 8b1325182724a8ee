"""Jupyter widgets (anywidget) for exploring video classification: :class:`VideoExplorer` and its parts."""

from __future__ import annotations

from vidwidget.widgets.analysis import AnalysisPanel
from vidwidget.widgets.browser import DatasetBrowser
from vidwidget.widgets.controls import ExplorerControls
from vidwidget.widgets.explorer import VideoExplorer
from vidwidget.widgets.panel import PredictionPanel
from vidwidget.widgets.player import ClipPlayer

__all__ = ["AnalysisPanel", "ClipPlayer", "DatasetBrowser", "ExplorerControls", "PredictionPanel", "VideoExplorer"]
