"""PredictionPanel: the summary of a run — top-1/top-5 accuracy, how many clips were right / in the top-5 /
wrong / failed, and the run's settings and time. Per-clip predictions live on the clip cards; ``.results`` is
the DataFrame the inference produced."""

from __future__ import annotations

from typing import Any

import anywidget
import pandas as pd
import traitlets

from vidwidget.widgets import _view
from vidwidget.widgets._static import asset
from vidwidget.widgets._sync import BrowserWritable


class PredictionPanel(BrowserWritable, anywidget.AnyWidget):
    """Accuracy and outcome counts of the results shown, with what made them (model, frames, time)."""

    _esm = asset("panel.js")
    _css = asset("vidwidget.css")
    _browser_writable = frozenset()

    summary = traitlets.Dict(help="{clips, scored, top1, top5, k, counts}").tag(sync=True)
    caption = traitlets.Unicode("", help="what produced the results (model, frame count, time)").tag(sync=True)
    stale = traitlets.Bool(False).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._results = pd.DataFrame()
        self.summary = _view.summary(None)

    @property
    def results(self) -> pd.DataFrame:
        """The result rows summarised (a copy)."""
        return self._results.copy()

    @property
    def top1_accuracy(self) -> float | None:
        """Top-1 accuracy over the clips with a ground truth and a prediction (None when there are none)."""
        return self.summary.get("top1")

    @property
    def top5_accuracy(self) -> float | None:
        """Top-5 accuracy (or top-k for a model giving fewer) over the same clips."""
        return self.summary.get("top5")

    @property
    def num_scored(self) -> int:
        """Clips with a ground truth and a prediction (the accuracy's denominator)."""
        return int(self.summary.get("scored", 0))

    def update(self, df: pd.DataFrame | None, caption: str | None = None, stale: bool = False) -> None:
        """Summarise ``df`` (a results DataFrame)."""
        self._results = pd.DataFrame() if df is None else df.copy()
        with self.hold_trait_notifications():
            self.summary = _view.summary(self._results)
            if caption is not None:
                self.caption = caption
            self.stale = stale

    def clear(self, caption: str = "") -> None:
        """Forget the results."""
        self.update(None, caption)
