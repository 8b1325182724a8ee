"""PredictionPanel: per clip the top-k labels with probability bars and the ground truth marked, plus the
batch's top-1 and top-5 accuracy; ``.results`` is the DataFrame the inference produced."""

from __future__ import annotations

import math
from typing import Any

import anywidget
import pandas as pd
import traitlets

from vidwidget.widgets._static import asset


def _clean(value: Any) -> Any:
    """JSON-safe scalar: NaN/None -> None, numpy scalars -> Python."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    return value


def _top_k(frame: pd.DataFrame) -> int:
    k = 0
    while f"pred_{k + 1}" in frame.columns:
        k += 1
    return k


class PredictionPanel(anywidget.AnyWidget):
    """Per-clip top-k predictions with probability bars (ground truth marked) and the batch accuracy."""

    _esm = asset("panel.js")
    _css = asset("vidwidget.css")

    rows = traitlets.List(traitlets.Dict(), help="[{clip_id, index, ground_truth, top: [{label, score}], error}]").tag(
        sync=True
    )
    top1_accuracy = traitlets.Float(None, allow_none=True).tag(sync=True)
    top5_accuracy = traitlets.Float(None, allow_none=True).tag(sync=True)
    num_scored = traitlets.Int(0, help="rows with ground truth and no error (the accuracy's denominator)").tag(
        sync=True
    )
    stale = traitlets.Bool(False).tag(sync=True)
    caption = traitlets.Unicode("", help="what produced the results (model, frame count)").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._frames: list[pd.DataFrame] = []
        self._order: dict[str, int] = {}

    @property
    def results(self) -> pd.DataFrame:
        """All result rows so far (seed columns ``YouTube_Id, Ground_Truth, pred_*, score_*`` plus ``clip_id``,
        ``error``, ``seconds``), as a new DataFrame."""
        if not self._frames:
            return pd.DataFrame()
        frame = pd.concat(self._frames, ignore_index=True)
        frame.attrs = dict(self._frames[-1].attrs)
        return frame

    def clear(self, order: list[str] | None = None, caption: str = "") -> None:
        """Forget all results; ``order`` gives the grid index of each clip id for the rows to come."""
        self._frames = []
        self._order = {cid: i for i, cid in enumerate(order or [], start=1)}
        self.rows = []
        self.top1_accuracy = None
        self.top5_accuracy = None
        self.num_scored = 0
        self.stale = False
        self.caption = caption

    def add_batch(self, frame: pd.DataFrame) -> None:
        """Append one batch of result rows and update the accuracies."""
        if frame is None or len(frame) == 0:
            return
        self._frames.append(frame.copy())
        k = _top_k(frame)
        new_rows = []
        for rec in frame.to_dict("records"):
            clip_id = str(rec.get("clip_id", rec.get("YouTube_Id")))
            top = []
            for i in range(1, k + 1):
                label = _clean(rec.get(f"pred_{i}"))
                if label is None:
                    continue
                score = _clean(rec.get(f"score_{i}"))
                top.append({"label": str(label), "score": None if score is None else float(score)})
            error = _clean(rec.get("error"))
            truth = _clean(rec.get("Ground_Truth"))
            new_rows.append({
                "clip_id": clip_id,
                "index": self._order.get(clip_id),
                "ground_truth": None if truth is None else str(truth),
                "top": top,
                "error": None if error is None else str(error),
                "seconds": _clean(rec.get("seconds")),
            })
        self.rows = [*self.rows, *new_rows]
        self._update_accuracy()

    def _update_accuracy(self) -> None:
        from vidwidget.inference import top_k_accuracy

        frame = self.results
        scored = frame
        if "error" in frame.columns:
            scored = scored[scored["error"].isna()]
        if "Ground_Truth" in frame.columns:
            scored = scored[scored["Ground_Truth"].notna()]
        self.num_scored = len(scored)
        if len(scored) == 0:
            self.top1_accuracy = None
            self.top5_accuracy = None
            return
        k = _top_k(frame)
        self.top1_accuracy = float(top_k_accuracy(frame, 1))
        self.top5_accuracy = float(top_k_accuracy(frame, min(5, k))) if k else None
