"""Result rows and tables: the seed's columns (``YouTube_Id, Ground_Truth, pred_1..k, score_1..k``) plus
``clip_id``, ``error`` and ``seconds``; accuracy figures computed from them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..clip import Clip
from ..models.base import Prediction


def result_columns(k: int) -> list[str]:
    """Column order of a results table with top-``k`` predictions."""
    return (
        ["clip_id", "YouTube_Id", "Ground_Truth"]
        + [f"pred_{i}" for i in range(1, k + 1)]
        + [f"score_{i}" for i in range(1, k + 1)]
        + ["error", "seconds", "path"]
    )


def prediction_row(clip: Clip, prediction: Prediction | None, k: int, *, error: str | None = None,
                   seconds: float = float("nan")) -> dict:
    """One results row for ``clip``: its top-``k`` prediction, or empty predictions and the ``error`` reason."""
    row: dict = {
        "clip_id": clip.id,
        "YouTube_Id": clip.youtube_id,
        "Ground_Truth": clip.label,
        "error": error,
        "seconds": seconds,
        "path": str(clip.path) if clip.path is not None else None,
    }
    for i in range(k):
        has = prediction is not None and i < len(prediction.labels)
        row[f"pred_{i + 1}"] = prediction.labels[i] if has else None
        row[f"score_{i + 1}"] = prediction.probabilities[i] if has else np.nan
    return row


def results_frame(rows: Sequence[dict], k: int) -> pd.DataFrame:
    """A results DataFrame with the standard columns in order (empty rows allowed)."""
    return pd.DataFrame(list(rows), columns=result_columns(k))


def top_k_of(df: pd.DataFrame) -> int:
    """How many ``pred_i`` columns a results table has."""
    return sum(1 for c in df.columns if c.startswith("pred_") and c[5:].isdigit())


def _scored(df: pd.DataFrame) -> pd.DataFrame:
    """Rows that count toward accuracy: a ground truth and no error."""
    mask = df["Ground_Truth"].notna()
    if "error" in df.columns:
        mask &= df["error"].isna()
    return df[mask]


def hits(df: pd.DataFrame, k: int = 1) -> pd.Series:
    """Per row: is the ground truth among the first ``k`` predictions?"""
    k = min(k, top_k_of(df))
    if k < 1:
        raise ValueError("the results table has no pred_1.. columns")
    preds = df[[f"pred_{i}" for i in range(1, k + 1)]]
    return preds.eq(df["Ground_Truth"], axis=0).any(axis=1)


def top_k_accuracy(df: pd.DataFrame, k: int = 1) -> float:
    """Fraction (0..1) of labelled, error-free rows whose ground truth is in the top ``k``; NaN if none."""
    scored = _scored(df)
    if scored.empty:
        return float("nan")
    if k > top_k_of(df):
        raise ValueError(f"top-{k} accuracy needs pred_1..pred_{k}; the table has only {top_k_of(df)}")
    return float(hits(scored, k).mean())


def per_class_accuracy(df: pd.DataFrame, ks: Sequence[int] = (1, 5)) -> pd.DataFrame:
    """Per ground-truth class: number of clips and top-k accuracy for each k (k beyond the table is skipped)."""
    scored = _scored(df)
    ks = [k for k in ks if k <= top_k_of(df)]
    out = pd.DataFrame({"clips": scored.groupby("Ground_Truth").size()})
    for k in ks:
        out[f"top{k}"] = hits(scored, k).groupby(scored["Ground_Truth"]).mean()
    return out.sort_index()
