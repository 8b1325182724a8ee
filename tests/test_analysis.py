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
