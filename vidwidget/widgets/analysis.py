"""AnalysisPanel: the analysis of a labelled results table — summary, per-class accuracy, the most frequent
confusions and a confusion matrix — where a click on a class, a confusion or a cell asks for the matching clips.

The figures come from :mod:`vidwidget.inference.analysis` on the results DataFrame passed to :meth:`update`; the
widget keeps only what it draws (a bounded payload: a 400-class run sends its per-class rows and the matrix's
shown cells, not 160,000 of them) and no copy of the table.
"""

from __future__ import annotations

import math
from typing import Any

import anywidget
import pandas as pd
import traitlets

from vidwidget.inference.analysis import OUTCOMES, class_table, confusions, matrix_view, summary
from vidwidget.widgets._static import asset

_FILTER_KEYS = ("true", "predicted", "outcome")


def _number(value: Any) -> float | None:
    """A JSON-safe float (NaN becomes None)."""
    value = float(value)
    return None if math.isnan(value) else value


class AnalysisPanel(anywidget.AnyWidget):
    """Per-class accuracy (sortable), most frequent confusions and a confusion matrix of a results table.

    ``AnalysisPanel(df)`` shows the analysis of ``df`` (columns of :func:`vidwidget.evaluate`); ``update(df)``
    redraws it. Clicking a class row, a confusion or a matrix cell sets :attr:`filter_request`, whose
    :attr:`filter_spec` is a spec for :func:`vidwidget.filter_results` (the explorer forwards it to its grid).
    """

    _esm = asset("analysis.js")
    _css = asset("analysis.css")

    summary = traitlets.Dict(help="clips, scored, correct, top_k, wrong, unlabelled, failed, top1, top5, k").tag(
        sync=True
    )
    classes = traitlets.List(traitlets.Dict(), help="per true class: {name, clips, top1, top5, errors, failed}").tag(
        sync=True
    )
    confusions = traitlets.List(traitlets.Dict(), help="most frequent first: {true, predicted, clips}").tag(sync=True)
    confusions_total = traitlets.Int(0, help="distinct (true, predicted) confusions, shown or not").tag(sync=True)
    matrix = traitlets.Dict(help="{rows, columns, counts (row-major flat list), other, hidden_rows, "
                                 "hidden_columns, max_count}").tag(sync=True)
    stale = traitlets.Bool(False, help="the results were made with other settings: greyed, with a note").tag(
        sync=True
    )
    caption = traitlets.Unicode("", help="what produced the results (model, frame count)").tag(sync=True)
    collapsed = traitlets.Bool(False, help="folded to one line: accuracy and outcome chips only").tag(sync=True)
    class_sort = traitlets.Dict({"key": "name", "descending": False},
                                help="sort of the per-class table: key in name/clips/top1/top5/errors").tag(sync=True)
    filter_request = traitlets.Dict(
        {"true": None, "predicted": None, "outcome": None, "nonce": 0},
        help="the last filter asked for by a click: {true, predicted, outcome, nonce}; nonce grows with each click",
    ).tag(sync=True)
    max_confusions = traitlets.Int(15, help="confusions listed (applies from the next update)")
    max_matrix_rows = traitlets.Int(30, help="true classes drawn in the matrix, most errors then clips first")
    max_matrix_columns = traitlets.Int(40, help="predicted classes drawn in the matrix")

    def __init__(self, results: pd.DataFrame | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.update(results)

    @traitlets.validate("filter_request")
    def _check_filter(self, proposal: dict) -> dict:
        value = dict(proposal["value"])
        unknown = set(value) - {*_FILTER_KEYS, "nonce"}
        if unknown:
            raise traitlets.TraitError(f"unknown filter_request keys {sorted(unknown)}")
        if value.get("outcome") not in (None, *OUTCOMES):
            raise traitlets.TraitError(f"filter_request outcome must be one of {OUTCOMES} or None")
        for key in ("true", "predicted"):
            if value.get(key) is not None and not isinstance(value[key], str):
                raise traitlets.TraitError(f"filter_request {key} must be a class name or None")
        return {**{key: value.get(key) for key in _FILTER_KEYS}, "nonce": int(value.get("nonce") or 0)}

    @property
    def filter_spec(self) -> dict[str, str]:
        """The last click as a :func:`vidwidget.filter_results` spec (only the keys that are set)."""
        return {key: self.filter_request[key] for key in _FILTER_KEYS if self.filter_request.get(key) is not None}

    def request_filter(self, true: str | None = None, predicted: str | None = None,
                       outcome: str | None = None) -> None:
        """Set :attr:`filter_request` from Python (as a click would), e.g. when the explorer's own filter changes;
        all None clears it."""
        self.filter_request = {"true": true, "predicted": predicted, "outcome": outcome,
                               "nonce": self.filter_request.get("nonce", 0) + 1}

    def update(self, results: pd.DataFrame | None, *, stale: bool | None = None, caption: str | None = None) -> None:
        """Redraw from ``results`` (None or an empty table: the empty state). ``stale`` / ``caption`` update those
        traitlets when given."""
        df = results if results is not None else pd.DataFrame()
        figures = summary(df)
        table = class_table(df)
        confused = confusions(df) if figures["k"] else pd.DataFrame(columns=["true", "predicted", "clips"])
        view = matrix_view(df, self.max_matrix_rows, self.max_matrix_columns) if figures["k"] else None
        with self.hold_sync():
            self.summary = figures
            self.classes = [
                {"name": str(name), "clips": int(row.clips), "top1": _number(row.top1), "top5": _number(row.top5),
                 "errors": int(row.errors), "failed": int(row.failed)}
                for name, row in table.iterrows()
            ]
            self.confusions = [
                {"true": str(r["true"]), "predicted": str(r["predicted"]), "clips": int(r["clips"])}
                for r in confused.head(self.max_confusions).to_dict("records")
            ]
            self.confusions_total = len(confused)
            self.matrix = {} if view is None or not view.rows else {
                "rows": view.rows,
                "columns": view.columns,
                "counts": [c for row in view.counts for c in row],
                "other": view.other,
                "hidden_rows": view.hidden_rows,
                "hidden_columns": view.hidden_columns,
                "max_count": view.max_count,
            }
            if stale is not None:
                self.stale = stale
            if caption is not None:
                self.caption = caption
