"""Outcomes, confusions, the confusion matrix and result filtering, on hand-made results tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import vidwidget as vw
from vidwidget.clip import Clip
from vidwidget.inference.results import prediction_row, results_frame
from vidwidget.models.base import Prediction


def _table() -> pd.DataFrame:
    def row(cid, truth, labels, probs, error=None):
        pred = None if labels is None else Prediction(tuple(labels), tuple(probs), tuple(range(len(labels))))
        return prediction_row(Clip(cid, label=truth), pred, 3, error=error)

    rows = [
        row("a", "cat", ["cat", "dog", "cow"], [0.9, 0.05, 0.01]),          # correct
        row("b", "dog", ["cat", "dog", "cow"], [0.6, 0.3, 0.1]),            # top-k
        row("c", "dog", ["cat", "cow", "pig"], [0.5, 0.3, 0.1]),            # wrong
        row("d", "cow", ["pig", "cat", "dog"], [0.4, 0.3, 0.2]),            # wrong
        row("e", None, ["pig", "cat", "dog"], [0.7, 0.2, 0.1]),             # unlabelled
        row("f", "cat", None, None, error="cannot decode"),                  # failed
        row("g", "NA", ["NA", "cat", "dog"], [0.2, 0.1, 0.05]),             # a class literally named NA
    ]
    return results_frame(rows, 3)


def test_outcomes_cover_every_case():
    assert list(vw.outcomes(_table())) == ["correct", "top-k", "wrong", "wrong", "unlabelled", "failed", "correct"]


def test_confusions_count_wrong_top1_most_frequent_first():
    df = _table()
    conf = vw.confusions(df)
    assert list(conf.columns) == ["true", "predicted", "clips"]
    assert conf.to_dict("records") == [
        {"true": "dog", "predicted": "cat", "clips": 2},
        {"true": "cow", "predicted": "pig", "clips": 1},
    ]
    assert len(vw.confusions(df, top=1)) == 1


def test_confusion_matrix_rows_are_true_classes_and_counts_add_up():
    m = vw.confusion_matrix(_table())
    assert list(m.index) == ["NA", "cat", "cow", "dog"]
    assert list(m.columns) == ["NA", "cat", "cow", "dog", "pig"]
    assert m.loc["dog", "cat"] == 2 and m.loc["cat", "cat"] == 1 and m.loc["cow", "pig"] == 1
    assert int(m.to_numpy().sum()) == 5  # scored rows with a prediction
    assert m.dtypes.map(lambda t: np.issubdtype(t, np.integer)).all()


def test_filter_by_outcome_class_confidence_and_sort():
    df = _table()
    assert list(vw.filter_results(df, {"outcome": "wrong"})["clip_id"]) == ["c", "d"]
    assert list(vw.filter_results(df, {"true": "dog", "predicted": "cat"})["clip_id"]) == ["b", "c"]
    assert list(vw.filter_results(df, {"min_confidence": 0.5})["clip_id"]) == ["a", "b", "c", "e"]
    assert list(vw.filter_results(df, {"sort": "-confidence"})["clip_id"][:3]) == ["a", "e", "b"]
    assert list(vw.filter_results(df, {"sort": "confidence"})["clip_id"])[-1] == "f"  # no score: last
    assert list(vw.filter_results(df, None)["clip_id"]) == list("abcdefg")


@pytest.mark.parametrize("spec", [{"outcome": "mistaken"}, {"colour": "red"}, {"sort": "size"}])
def test_filter_rejects_unknown_keys_and_values(spec):
    with pytest.raises(ValueError):
        vw.filter_results(_table(), spec)


def test_empty_table():
    df = results_frame([], 5)
    assert vw.outcomes(df).empty and vw.confusions(df).empty and vw.confusion_matrix(df).empty


def test_summary_counts_outcomes_and_accuracy():
    from vidwidget.inference import summary

    s = summary(_table())
    assert s == {"clips": 7, "k": 3, "correct": 2, "top_k": 1, "wrong": 2, "unlabelled": 1, "failed": 1,
                 "scored": 5, "top1": pytest.approx(2 / 5), "top5": pytest.approx(3 / 5)}
    empty = summary(results_frame([], 5))
    assert empty["clips"] == 0 and empty["scored"] == 0 and empty["top1"] is None and empty["top5"] is None
    assert summary(pd.DataFrame())["clips"] == 0  # a widget's results before any run


def test_class_table_counts_errors_and_failures_per_true_class():
    t = vw.class_table(_table())
    assert list(t.index) == ["NA", "cat", "cow", "dog"]
    assert t.loc["dog"].to_dict() == {"clips": 2, "top1": 0.0, "top5": 0.5, "errors": 2, "failed": 0}
    assert t.loc["cat"].to_dict() == {"clips": 1, "top1": 1.0, "top5": 1.0, "errors": 0, "failed": 1}
    # the same figures as per_class_accuracy, where both define them
    pca = vw.per_class_accuracy(_table(), ks=(1, 3))
    assert np.allclose(t.loc[pca.index, "top1"], pca["top1"]) and np.allclose(t.loc[pca.index, "top5"], pca["top3"])
    assert vw.class_table(results_frame([], 5)).empty


def _many_classes(n_classes: int, per_class: int = 3) -> pd.DataFrame:
    """Class i has ``per_class`` clips; the first prediction is right except that class i is mistaken for class
    0 in i % 3 of its clips (so the classes with most errors are known)."""
    rows = []
    names = [f"class {i:03d}" for i in range(n_classes)]
    for i, name in enumerate(names):
        for j in range(per_class):
            pred = names[0] if j < i % 3 else name
            rows.append(prediction_row(Clip(f"{name}/{j}", label=name),
                                       Prediction((pred, "spare"), (0.9, 0.1), (0, 1)), 2))
    return results_frame(rows, 2)


def test_matrix_view_keeps_small_matrices_whole_and_rows_add_up():
    df = _table()
    view = vw.matrix_view(df)
    full = vw.confusion_matrix(df)
    assert view.hidden_rows == 0 and view.hidden_columns == 0
    assert sorted(view.rows) == sorted(full.index) and sorted(view.columns) == sorted(full.columns)
    assert view.rows[0] == "dog"  # most errors first
    assert view.columns[: len(view.rows)] == view.rows  # the diagonal is the diagonal
    for i, r in enumerate(view.rows):
        assert sum(view.counts[i]) + view.other[i] == full.loc[r].sum()
        for j, c in enumerate(view.columns):  # each cell is exactly what the matching filter returns
            assert view.counts[i][j] == len(vw.filter_results(df, {"true": r, "predicted": c}))
    assert view.max_count == 2


def test_matrix_view_of_400_classes_is_bounded_and_says_what_is_hidden():
    df = _many_classes(400)
    view = vw.matrix_view(df, max_rows=25, max_columns=30)
    assert len(view.rows) == 25 and len(view.columns) <= 30
    assert view.hidden_rows == 375 and view.hidden_columns == 400 - len(view.columns)
    errors = vw.class_table(df)["errors"]
    assert all(errors[r] == 2 for r in view.rows)  # the classes with most errors are the ones shown
    assert view.rows == sorted(view.rows)  # ties broken by name
    assert all(sum(counts) + other == 3 for counts, other in zip(view.counts, view.other, strict=True))
    assert "class 000" in view.columns  # where the errors went is shown
    with pytest.raises(ValueError):
        vw.matrix_view(df, max_rows=0)
    assert vw.matrix_view(results_frame([], 5)).rows == []
