"""Analysis of a labelled results table: each clip's outcome, the most frequent confusions, a confusion matrix,
and filtering/sorting of clips by outcome, confidence and class.

Everything here is computed from the results DataFrame of :func:`vidwidget.inference.evaluate` (columns
``clip_id, Ground_Truth, pred_1..k, score_1..k, error``), so the widget, the HTML report and a notebook user
all see the same numbers and nothing keeps a second copy of the truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .results import _scored, hits, top_k_of

OUTCOMES: tuple[str, ...] = ("correct", "top-k", "wrong", "unlabelled", "failed")
"""Outcome of one clip: top-1 right; truth elsewhere in the top-k; truth not in the top-k; no ground truth to
compare with; no prediction (the clip could not be decoded or classified)."""

SORT_KEYS: tuple[str, ...] = ("number", "confidence", "-confidence", "true", "predicted")


def outcomes(df: pd.DataFrame) -> pd.Series:
    """Per row, one of :data:`OUTCOMES` (index aligned with ``df``)."""
    out = pd.Series("unlabelled", index=df.index, dtype=object)
    if df.empty:
        return out
    failed = df["pred_1"].isna()
    if "error" in df.columns:
        failed |= df["error"].notna()
    labelled = df["Ground_Truth"].notna() & ~failed
    k = top_k_of(df)
    top1 = hits(df, 1)
    topk = hits(df, k)
    out[labelled & topk & ~top1] = "top-k"
    out[labelled & ~topk] = "wrong"
    out[labelled & top1] = "correct"
    out[failed] = "failed"
    return out


def confusions(df: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """Wrong top-1 predictions counted by (true class, predicted class), most frequent first (ties by name).

    Columns ``true, predicted, clips``; ``top`` keeps only the first rows.
    """
    scored = _scored(df)
    wrong = scored[scored["pred_1"].notna() & scored["pred_1"].ne(scored["Ground_Truth"])]
    counts = (
        wrong.groupby(["Ground_Truth", "pred_1"]).size().rename("clips").reset_index()
        .rename(columns={"Ground_Truth": "true", "pred_1": "predicted"})
    )
    counts = counts.sort_values(["clips", "true", "predicted"], ascending=[False, True, True], kind="stable")
    counts = counts.reset_index(drop=True)
    return counts.head(top) if top is not None else counts


def confusion_matrix(df: pd.DataFrame) -> pd.DataFrame:
    """Counts of top-1 predictions per true class: rows are the true classes present, columns those classes plus
    any other class predicted for them (sorted by name, true classes first), integer counts."""
    scored = _scored(df)
    scored = scored[scored["pred_1"].notna()]
    truths = sorted(scored["Ground_Truth"].astype(str).unique())
    others = sorted(set(scored["pred_1"].astype(str)) - set(truths))
    table = pd.crosstab(scored["Ground_Truth"].astype(str), scored["pred_1"].astype(str))
    table = table.reindex(index=truths, columns=truths + others, fill_value=0).astype(int)
    table.index.name, table.columns.name = "true", "predicted"
    return table


def filter_results(df: pd.DataFrame, spec: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The rows of ``df`` that match ``spec``, in the order it asks for.

    ``spec`` keys (all optional): ``outcome`` (one of :data:`OUTCOMES`, or ``"all"``), ``true`` / ``predicted``
    (a class name: the ground truth / the top-1 prediction), ``min_confidence`` / ``max_confidence`` (bounds on
    the top-1 probability, 0..1), ``sort`` (one of :data:`SORT_KEYS`; ``"number"`` keeps the table's order).
    Unknown keys or values raise ``ValueError`` so a typo never silently shows everything.
    """
    spec = dict(spec or {})
    unknown = set(spec) - {"outcome", "true", "predicted", "min_confidence", "max_confidence", "sort"}
    if unknown:
        raise ValueError(f"unknown filter keys {sorted(unknown)}")
    mask = pd.Series(True, index=df.index)
    outcome = spec.get("outcome")
    if outcome not in (None, "all"):
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES} or 'all', got {outcome!r}")
        mask &= outcomes(df).eq(outcome)
    if spec.get("true") is not None:
        mask &= df["Ground_Truth"].eq(spec["true"])
    if spec.get("predicted") is not None:
        mask &= df["pred_1"].eq(spec["predicted"])
    confidence = pd.to_numeric(df["score_1"], errors="coerce")
    if spec.get("min_confidence") is not None:
        mask &= confidence.ge(float(spec["min_confidence"]))
    if spec.get("max_confidence") is not None:
        mask &= confidence.le(float(spec["max_confidence"]))
    out = df[mask]
    sort = spec.get("sort") or "number"
    if sort not in SORT_KEYS:
        raise ValueError(f"sort must be one of {SORT_KEYS}, got {sort!r}")
    if sort in ("confidence", "-confidence"):
        out = out.assign(_c=confidence[mask]).sort_values("_c", ascending=sort == "confidence", kind="stable",
                                                           na_position="last").drop(columns="_c")
    elif sort == "true":
        out = out.sort_values("Ground_Truth", kind="stable", na_position="last")
    elif sort == "predicted":
        out = out.sort_values("pred_1", kind="stable", na_position="last")
    return out
