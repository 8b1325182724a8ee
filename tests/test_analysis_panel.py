"""AnalysisPanel's Python side: traitlets computed from a hand-made results table (summary, per-class rows,
confusions, a bounded matrix), the empty and unlabelled states, and filter requests that select the clips the
clicked cell counts."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import traitlets

import vidwidget as vw
from vidwidget.clip import Clip
from vidwidget.inference.results import prediction_row, results_frame
from vidwidget.models.base import Prediction
from vidwidget.widgets import AnalysisPanel

HOSTILE = "<img src=x onerror=alert(1)>"
DATA = ("summary", "classes", "confusions", "confusions_total", "matrix", "stale", "caption", "class_sort",
        "filter_request")


def _row(cid: str, truth: str | None, labels: list[str] | None, error: str | None = None) -> dict:
    pred = None
    if labels is not None:
        probs = [0.6, 0.2, 0.1, 0.05, 0.05][: len(labels)]
        pred = Prediction(tuple(labels), tuple(probs), tuple(range(len(labels))))
    return prediction_row(Clip(cid, label=truth), pred, 5, error=error)


def _table() -> pd.DataFrame:
    rest = ["p", "q", "r"]
    return results_frame([
        _row("1", "cat", ["cat", "dog", *rest]),            # correct
        _row("2", "cat", ["cat", "dog", *rest]),            # correct
        _row("3", "dog", ["cat", "dog", *rest]),            # in top-5, top-1 wrong
        _row("4", "dog", ["cat", "cow", *rest]),            # wrong
        _row("5", HOSTILE, ["dog", "cat", *rest]),          # wrong, hostile class name
        _row("6", None, ["dog", "cat", *rest]),             # unlabelled
        _row("7", "cow", None, error="cannot decode"),      # failed
    ], 5)


def test_traitlets_from_a_hand_made_table():
    panel = AnalysisPanel(_table(), caption="tiny · 16 frames")
    assert set(DATA) <= set(panel.keys)  # these are synced to the browser
    assert panel.summary == {"clips": 7, "k": 5, "correct": 2, "top_k": 1, "wrong": 2, "unlabelled": 1, "failed": 1,
                             "scored": 5, "top1": pytest.approx(0.4), "top5": pytest.approx(0.6)}
    classes = {c["name"]: c for c in panel.classes}
    assert set(classes) == {"cat", "dog", "cow", HOSTILE}
    assert classes["dog"] == {"name": "dog", "clips": 2, "top1": 0.0, "top5": 0.5, "errors": 2, "failed": 0}
    assert classes["cow"] == {"name": "cow", "clips": 0, "top1": None, "top5": None, "errors": 0, "failed": 1}
    assert panel.confusions == [{"true": "dog", "predicted": "cat", "clips": 2},
                                {"true": HOSTILE, "predicted": "dog", "clips": 1}]
    assert panel.confusions_total == 2
    m = panel.matrix
    assert m["rows"][0] == "dog" and m["columns"][: len(m["rows"])] == m["rows"]
    assert len(m["counts"]) == len(m["rows"]) * len(m["columns"]) and m["max_count"] == 2
    assert m["counts"][m["columns"].index("cat")] == 2  # dog → cat, row-major
    assert panel.caption == "tiny · 16 frames" and panel.stale is False
    json.dumps({name: getattr(panel, name) for name in DATA})  # everything synced is plain JSON


def test_update_redraws_and_marks_stale_without_keeping_the_table():
    panel = AnalysisPanel()
    assert panel.summary["clips"] == 0 and panel.classes == [] and panel.matrix == {}
    df = _table()
    panel.update(df, stale=True, caption="kinetics-400 · 64 frames")
    assert panel.summary["clips"] == 7 and panel.stale is True
    assert not any(value is df for value in vars(panel).values())  # no copy nor reference of the truth
    panel.update(df.iloc[:2], stale=False)
    assert panel.summary["top1"] == 1.0 and panel.confusions == [] and panel.stale is False
    panel.update(None)
    assert panel.summary["clips"] == 0 and panel.confusions == [] and panel.matrix == {}


def test_unlabelled_and_failed_only_tables_are_not_scored():
    unlabelled = results_frame([_row("1", None, ["a", "b", "c", "d", "e"])], 5)
    panel = AnalysisPanel(unlabelled)
    assert panel.summary["scored"] == 0 and panel.summary["unlabelled"] == 1 and panel.summary["top1"] is None
    assert panel.classes == [] and panel.matrix == {}
    failed = results_frame([_row("1", "a", None, error="cannot decode")], 5)
    panel.update(failed)
    assert panel.summary["failed"] == 1 and panel.matrix == {}


def test_each_filter_request_selects_the_clips_the_click_counted():
    df = _table()
    panel = AnalysisPanel(df)
    m = panel.matrix
    for i, true in enumerate(m["rows"]):
        for j, predicted in enumerate(m["columns"]):
            panel.filter_request = {"true": true, "predicted": predicted, "outcome": None,
                                    "nonce": panel.filter_request["nonce"] + 1}
            assert len(vw.filter_results(df, panel.filter_spec)) == m["counts"][i * len(m["columns"]) + j]
    for confusion in panel.confusions:
        panel.request_filter(confusion["true"], confusion["predicted"])
        assert len(vw.filter_results(df, panel.filter_spec)) == confusion["clips"]
    for row in panel.classes:
        panel.request_filter(true=row["name"])
        selected = vw.filter_results(df, panel.filter_spec)
        assert len(selected) == row["clips"] + row["failed"]
    panel.request_filter(outcome="wrong")
    assert panel.filter_spec == {"outcome": "wrong"}
    assert len(vw.filter_results(df, panel.filter_spec)) == panel.summary["wrong"]


def test_filter_request_nonce_grows_and_bad_requests_are_refused():
    panel = AnalysisPanel(_table())
    seen = []
    panel.observe(lambda change: seen.append(change["new"]), "filter_request")
    panel.request_filter(true="dog")
    panel.request_filter(true="dog")  # the same click again still fires
    assert [r["nonce"] for r in seen] == [1, 2] and seen[-1]["true"] == "dog"
    panel.request_filter()
    assert panel.filter_spec == {}
    with pytest.raises(traitlets.TraitError):
        panel.filter_request = {"true": "dog", "colour": "red", "nonce": 9}
    with pytest.raises(traitlets.TraitError):
        panel.filter_request = {"outcome": "mistaken", "nonce": 9}
    with pytest.raises(traitlets.TraitError):
        panel.filter_request = {"true": 3, "nonce": 9}
    panel.filter_request = {"predicted": "cat", "nonce": 10}  # missing keys are filled in
    assert panel.filter_request == {"true": None, "predicted": "cat", "outcome": None, "nonce": 10}


def test_payload_stays_bounded_for_400_classes():
    names = [f"class {i:03d}" for i in range(400)]
    rows = [_row(f"{n}/{j}", n, [names[(i + j) % 400], n, "x", "y", "z"]) for i, n in enumerate(names)
            for j in range(3)]
    panel = AnalysisPanel(results_frame(rows, 5))
    m = panel.matrix
    assert len(m["rows"]) == 30 and len(m["columns"]) <= 40 and len(m["counts"]) <= 30 * 40
    assert m["hidden_rows"] == 370
    assert len(panel.confusions) == 15 and panel.confusions_total == 800
    size = len(json.dumps({name: getattr(panel, name) for name in DATA}))
    assert size < 60_000, size
