"""The widget layer's one owner of result-to-display conversion: from the results DataFrame of
:func:`vidwidget.inference.evaluate` to what a card, the detail view and the summary show, and the grid's
filtered order. Correctness, top-k and accuracy come from :mod:`vidwidget.inference.analysis` and
:mod:`vidwidget.inference.results`; nothing here re-derives them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from vidwidget.inference import analysis
from vidwidget.inference.analysis import OUTCOMES, SORT_KEYS

NOT_RUN = "not run"
SCORED_K = 5
"""Predictions per clip that count for outcomes and accuracy (the detail view may show more ranks)."""
GRID_OUTCOMES: tuple[str, ...] = ("all", *OUTCOMES, NOT_RUN)
"""What the grid's outcome filter offers: the analysis outcomes plus clips with no result yet."""
FILTER_KEYS = frozenset({"outcome", "true", "predicted", "min_confidence", "max_confidence", "sort"})


def clean(value: Any) -> Any:
    """JSON-safe scalar: NaN/None -> None, numpy scalars -> Python."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def scored_view(df: pd.DataFrame | None, k: int = SCORED_K) -> pd.DataFrame | None:
    """``df`` with its predictions cut to the top ``k``: what outcomes, accuracy, filters and the analysis are
    computed on, so "in top-5" means the same on a card, in the summary and in the analysis, even when the table
    keeps more ranks for the detail view."""
    if df is None:
        return None
    extra = [c for c in df.columns if c.startswith(("pred_", "score_")) and c.split("_")[1].isdigit()
             and int(c.split("_")[1]) > k]
    return df.drop(columns=extra) if extra else df


def clip_views(df: pd.DataFrame | None, k: int | None = None) -> dict[str, dict[str, Any]]:
    """Per clip id what its card shows: ``outcome`` (see :data:`OUTCOMES`, judged on the top
    :data:`SCORED_K`), ``truth``, ``top`` (up to ``k`` ``{label, score, truth}`` items, best first),
    ``confidence`` (top-1 probability) and ``error``."""
    if df is None or df.empty:
        return {}
    kinds = analysis.outcomes(scored_view(df))
    depth = analysis.top_k_of(df)
    depth = depth if k is None else min(k, depth)
    views: dict[str, dict[str, Any]] = {}
    for (_, rec), outcome in zip(df.iterrows(), kinds, strict=True):
        truth = clean(rec.get("Ground_Truth"))
        top = []
        for i in range(1, depth + 1):
            label = clean(rec.get(f"pred_{i}"))
            if label is None:
                continue
            score = clean(rec.get(f"score_{i}"))
            top.append({"label": str(label), "score": None if score is None else float(score),
                        "truth": truth is not None and str(label) == str(truth)})
        error = clean(rec.get("error"))
        views[str(rec["clip_id"])] = {
            "outcome": outcome,
            "truth": None if truth is None else str(truth),
            "top": top,
            "confidence": top[0]["score"] if top else None,
            "error": None if error is None else str(error),
        }
    return views


def summary(df: pd.DataFrame | None) -> dict[str, Any]:
    """What the summary line shows: :func:`vidwidget.inference.analysis.summary` (clips, scored, top-1/top-5,
    k) with its outcome counts under ``counts`` keyed by outcome name."""
    if df is None or df.empty:
        return {"clips": 0, "scored": 0, "top1": None, "top5": None, "k": 0, "counts": {}}
    figures = analysis.summary(scored_view(df))
    counts = {o: figures[o.replace("-", "_")] for o in OUTCOMES if figures.get(o.replace("-", "_"))}
    return {"clips": figures["clips"], "scored": figures["scored"], "top1": figures["top1"],
            "top5": figures["top5"], "k": min(5, figures["k"]), "counts": counts}


def validate_spec(spec: Any) -> dict[str, Any]:
    """A grid filter spec from the browser, checked: the keys of :func:`filter_results`, an outcome from
    :data:`GRID_OUTCOMES`, class names as text, confidences in [0, 1]. Raises ``ValueError`` otherwise."""
    if not isinstance(spec, Mapping):
        raise ValueError("a filter must be an object")
    unknown = set(spec) - FILTER_KEYS
    if unknown:
        raise ValueError(f"unknown filter keys {sorted(unknown)}")
    out: dict[str, Any] = {}
    outcome = spec.get("outcome")
    if outcome not in (None, *GRID_OUTCOMES):
        raise ValueError(f"outcome must be one of {GRID_OUTCOMES}")
    if outcome not in (None, "all"):
        out["outcome"] = outcome
    for key in ("true", "predicted"):
        value = spec.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise ValueError(f"{key} must be a class name")
            out[key] = value
    for key in ("min_confidence", "max_confidence"):
        value = spec.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{key} must be a number from 0 to 1")
            out[key] = float(value)
    sort = spec.get("sort")
    if sort not in (None, *SORT_KEYS):
        raise ValueError(f"sort must be one of {SORT_KEYS}")
    if sort not in (None, "number"):
        out["sort"] = sort
    return out


def visible_order(ids: Sequence[str], labels: Mapping[str, str | None], df: pd.DataFrame | None,
                  spec: Mapping[str, Any]) -> list[str]:
    """The clip ids the grid shows for ``spec`` (already validated), in its order.

    ``ids`` are the shown clips in number order, ``labels`` their ground truth. Clips with a result are filtered
    and sorted by :func:`filter_results`; clips without one ("not run") pass only filters that do not need a
    prediction (none, or the true class) and come after the others unless the order is by number."""
    spec = dict(spec)
    outcome = spec.get("outcome")
    shown = set(ids)
    df = scored_view(df)
    rows = df[df["clip_id"].astype(str).isin(shown)] if df is not None and not df.empty else None
    have = set() if rows is None else set(rows["clip_id"].astype(str))
    not_run = [i for i in ids if i not in have]
    if outcome == NOT_RUN:
        return [i for i in not_run if spec.get("true") is None or labels.get(i) == spec["true"]]
    picked: list[str] = []
    if rows is not None:
        picked = [str(i) for i in analysis.filter_results(rows, spec)["clip_id"]]
    needs_prediction = outcome is not None or any(
        spec.get(key) is not None for key in ("predicted", "min_confidence", "max_confidence"))
    extra = [] if needs_prediction else [i for i in not_run if spec.get("true") in (None, labels.get(i))]
    if spec.get("sort") in (None, "number"):
        keep = set(picked) | set(extra)
        return [i for i in ids if i in keep]
    return picked + extra
