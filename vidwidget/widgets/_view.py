"""The widget layer's one owner of result-to-display conversion: from the results DataFrame of
:func:`vidwidget.inference.evaluate` to what a card, the detail view and the summary show, and the grid's
filtered order. Correctness, top-k and accuracy come from :mod:`vidwidget.inference.analysis` and
:mod:`vidwidget.inference.results`; nothing here re-derives them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from vidwidget.widgets._quiet import import_inference

# The same as vidwidget.inference.analysis.OUTCOMES / SORT_KEYS (checked by the tests): importing that package
# starts TensorFlow, which must not happen when the widget is merely built in the kernel's main thread.
OUTCOMES: tuple[str, ...] = ("correct", "top-k", "wrong", "unlabelled", "failed")
SORT_KEYS: tuple[str, ...] = ("number", "confidence", "-confidence", "true", "predicted")
NOT_RUN = "not run"
GRID_OUTCOMES: tuple[str, ...] = ("all", *OUTCOMES, NOT_RUN)
"""What the grid's outcome filter offers: the analysis outcomes plus clips with no result yet."""
FILTER_KEYS = frozenset({"outcome", "true", "predicted", "min_confidence", "max_confidence", "sort"})


def _analysis() -> Any:
    """:mod:`vidwidget.inference.analysis`, imported quietly (TensorFlow's start-up lines go to the log)."""
    import_inference()
    from vidwidget.inference import analysis

    return analysis


def _results_module() -> Any:
    import_inference()
    from vidwidget.inference import results

    return results


def clean(value: Any) -> Any:
    """JSON-safe scalar: NaN/None -> None, numpy scalars -> Python."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def clip_views(df: pd.DataFrame | None, k: int | None = None) -> dict[str, dict[str, Any]]:
    """Per clip id what its card shows: ``outcome`` (see :data:`OUTCOMES`), ``truth``, ``top`` (up to ``k``
    ``{label, score, truth}`` items, best first), ``confidence`` (top-1 probability) and ``error``."""
    if df is None or df.empty:
        return {}
    analysis = _analysis()
    kinds = analysis.outcomes(df)
    depth = _results_module().top_k_of(df)
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
    """What the summary panel shows: clips with a result, clips scored against a ground truth, top-1/top-5
    accuracy (None when nothing is scored) and the count of each outcome."""
    if df is None or df.empty:
        return {"clips": 0, "scored": 0, "top1": None, "top5": None, "k": 0, "counts": {}}
    analysis = _analysis()
    kinds = analysis.outcomes(df)
    counts = {o: int(n) for o, n in kinds.value_counts().items() if n}
    scored = int(sum(counts.get(o, 0) for o in ("correct", "top-k", "wrong")))
    results = _results_module()
    k = results.top_k_of(df)
    return {
        "clips": len(df),
        "scored": scored,
        "top1": float(results.top_k_accuracy(df, 1)) if scored else None,
        "top5": float(results.top_k_accuracy(df, min(5, k))) if scored and k else None,
        "k": min(5, k),
        "counts": counts,
    }


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
    rows = df[df["clip_id"].astype(str).isin(shown)] if df is not None and not df.empty else None
    have = set() if rows is None else set(rows["clip_id"].astype(str))
    not_run = [i for i in ids if i not in have]
    if outcome == NOT_RUN:
        return [i for i in not_run if spec.get("true") is None or labels.get(i) == spec["true"]]
    picked: list[str] = []
    if rows is not None:
        picked = [str(i) for i in _analysis().filter_results(rows, spec)["clip_id"]]
    needs_prediction = outcome is not None or any(
        spec.get(key) is not None for key in ("predicted", "min_confidence", "max_confidence"))
    extra = [] if needs_prediction else [i for i in not_run if spec.get("true") in (None, labels.get(i))]
    if spec.get("sort") in (None, "number"):
        keep = set(picked) | set(extra)
        return [i for i in ids if i in keep]
    return picked + extra
