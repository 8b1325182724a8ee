"""Result rows and tables: the seed's columns (``YouTube_Id, Ground_Truth, pred_1..k, score_1..k``) plus
``clip_id``, ``error``, ``seconds``, ``path`` and ``source`` (the identity of the file the row was computed from,
see ``vidwidget._identity``); reading a results CSV back; accuracy figures computed from them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..clip import Clip, display_path

if TYPE_CHECKING:
    from ..models.base import Prediction


def result_columns(k: int) -> list[str]:
    """Column order of a results table with top-``k`` predictions."""
    return (
        ["clip_id", "YouTube_Id", "Ground_Truth"]
        + [f"pred_{i}" for i in range(1, k + 1)]
        + [f"score_{i}" for i in range(1, k + 1)]
        + ["error", "seconds", "path", "source"]
    )


def _is_numeric(column: str) -> bool:
    return column == "seconds" or (column.startswith("score_") and column[6:].isdigit())


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    """A results CSV as :func:`evaluate` wrote it: text columns kept as written (an id or label ``NA``, ``None``,
    ``null`` or ``nan`` stays text; only an empty field is missing), scores and seconds as floats."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    for column in df.columns:
        if _is_numeric(column):
            df[column] = pd.to_numeric(df[column], errors="coerce")
    return df


def _text(value: str | None) -> str | None:
    """``value`` as text any UTF-8 writer accepts (undecodable bytes of file names shown as ``\\xHH``)."""
    if value is None:
        return None
    return value.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def prediction_row(clip: Clip, prediction: Prediction | None, k: int, *, error: str | None = None,
                   seconds: float = float("nan"), source: str | None = None) -> dict:
    """One results row for ``clip``: its top-``k`` prediction, or empty predictions and the ``error`` reason;
    ``source`` is the identity of the file it was computed from (``vidwidget._identity.file_identity``)."""
    row: dict = {
        "clip_id": _text(clip.id),
        "YouTube_Id": _text(clip.youtube_id),
        "Ground_Truth": _text(clip.label),
        "error": _text(error),
        "seconds": seconds,
        "path": display_path(clip.path) if clip.path is not None else None,
        "source": source,
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
