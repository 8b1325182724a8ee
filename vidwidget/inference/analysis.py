"""Analysis of a labelled results table: each clip's outcome, the most frequent confusions, a confusion matrix,
and filtering/sorting of clips by outcome, confidence and class.

Everything here is computed from the results DataFrame of :func:`vidwidget.inference.evaluate` (columns
``clip_id, Ground_Truth, pred_1..k, score_1..k, error``), so the widget, the HTML report and a notebook user
all see the same numbers and nothing keeps a second copy of the truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .results import _scored, hits, top_k_accuracy, top_k_of

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


def summary(df: pd.DataFrame) -> dict[str, Any]:
    """Headline figures of a results table: ``clips`` (rows), ``scored`` (labelled and classified), one count per
    :data:`OUTCOMES` (``top-k`` as ``top_k``), ``top1`` / ``top5`` accuracy (0..1, None when nothing is scored;
    ``top5`` is top-``k`` when the table has fewer than 5 predictions) and ``k`` (predictions per clip)."""
    k = top_k_of(df) if len(df.columns) else 0
    counts = outcomes(df).value_counts() if k else pd.Series(dtype=int)
    out: dict[str, Any] = {"clips": len(df), "k": k}
    for name in OUTCOMES:
        out[name.replace("-", "_")] = int(counts.get(name, 0))
    if not k:  # a table without predictions (e.g. every clip failed before the model ran): nothing scored
        out["failed"] = len(df)
    out["scored"] = out["correct"] + out["top_k"] + out["wrong"]
    out["top1"] = float(top_k_accuracy(df, 1)) if out["scored"] else None
    out["top5"] = float(top_k_accuracy(df, min(5, k))) if out["scored"] else None
    return out


def class_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per ground-truth class (index ``class``, sorted by name): ``clips`` scored, ``top1`` / ``top5`` accuracy
    (top-``k`` when the table has fewer than 5 predictions), ``errors`` (clips whose top-1 is wrong) and
    ``failed`` (clips of that class that could not be classified)."""
    columns = ["clips", "top1", "top5", "errors", "failed"]
    k = top_k_of(df) if len(df.columns) else 0
    if not k or df.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="class")).astype(
            {"clips": int, "top1": float, "top5": float, "errors": int, "failed": int})
    scored = _scored(df)
    scored = scored[scored["pred_1"].notna()]
    truth = scored["Ground_Truth"].astype(str)
    top1 = hits(scored, 1)
    table = pd.DataFrame({
        "clips": truth.groupby(truth).size(),
        "top1": top1.groupby(truth).mean(),
        "top5": hits(scored, min(5, k)).groupby(truth).mean(),
        "errors": (~top1).groupby(truth).sum(),
    })
    labelled_failed = outcomes(df).eq("failed") & df["Ground_Truth"].notna()
    failed = df.loc[labelled_failed, "Ground_Truth"].astype(str).value_counts()
    table = table.reindex(table.index.union(failed.index))
    table["failed"] = failed.reindex(table.index).fillna(0)
    table[["clips", "errors", "failed"]] = table[["clips", "errors", "failed"]].fillna(0).astype(int)
    table.index.name = "class"
    return table[columns].sort_index()


@dataclass(frozen=True)
class MatrixView:
    """The part of a confusion matrix worth drawing: ``counts[i][j]`` clips of true class ``rows[i]`` predicted
    as ``columns[j]``; ``other[i]`` clips of ``rows[i]`` predicted as a class not among the columns, so every
    row still adds up; ``hidden_rows`` / ``hidden_columns`` say how many classes were left out."""

    rows: list[str]
    columns: list[str]
    counts: list[list[int]]
    other: list[int]
    hidden_rows: int
    hidden_columns: int

    @property
    def max_count(self) -> int:
        """The largest shown cell (0 for an empty view), for scaling a heatmap."""
        return max((c for row in self.counts for c in row), default=0)


def matrix_view(df: pd.DataFrame, max_rows: int = 30, max_columns: int = 40) -> MatrixView:
    """The confusion matrix cut to at most ``max_rows`` true classes and ``max_columns`` predicted classes, so a
    400-class run stays drawable. Rows are the true classes with most top-1 errors, then most clips (ties by
    name), in that order; columns are those classes in the same order (the diagonal stays the diagonal), then the
    other classes most often predicted for them."""
    if max_rows < 1 or max_columns < 1:
        raise ValueError("max_rows and max_columns must be at least 1")
    full = confusion_matrix(df) if top_k_of(df) else pd.DataFrame()
    if full.empty:
        return MatrixView([], [], [], [], 0, 0)
    totals = full.sum(axis=1)
    correct = pd.Series({c: full.at[c, c] for c in full.index})
    rank = pd.DataFrame({"errors": totals - correct, "clips": totals, "name": full.index}, index=full.index)
    rank = rank.sort_values(["errors", "clips", "name"], ascending=[False, False, True], kind="stable")
    rows = list(rank.index[:max_rows])
    columns = rows[:max_columns]
    shown = full.loc[rows]
    extra = shown.drop(columns=columns).sum(axis=0)
    extra = extra[extra > 0]
    extra = pd.DataFrame({"n": extra, "name": extra.index}).sort_values(["n", "name"], ascending=[False, True])
    columns += list(extra.index[: max_columns - len(columns)])
    counts = shown[columns].astype(int)
    return MatrixView(
        rows=[str(r) for r in rows],
        columns=[str(c) for c in columns],
        counts=counts.to_numpy().tolist(),
        other=(shown.sum(axis=1) - counts.sum(axis=1)).astype(int).tolist(),
        hidden_rows=len(full.index) - len(rows),
        hidden_columns=len(full.columns) - len(columns),
    )
