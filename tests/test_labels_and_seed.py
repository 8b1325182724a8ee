"""Label maps (URL, cache, annotations fallback, clear failure) and the seed tutorial's API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import KINETICS, StaticServer

import vidwidget
from vidwidget.errors import ModelUnavailableError
from vidwidget.models import labels as labels_mod


@pytest.fixture(autouse=True)
def fresh_labels(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDWIDGET_HOME", str(tmp_path / "home"))
    labels_mod.kinetics_labels.cache_clear()
    yield
    labels_mod.kinetics_labels.cache_clear()


def _truth(n):
    return (KINETICS / f"label_map_{n}.txt").read_text().splitlines()


def test_labels_from_url_then_cache(label_server, tmp_path):
    before = len(label_server.requests)
    assert list(labels_mod.kinetics_labels(600)) == _truth(600)
    assert (tmp_path / "home" / "labels" / "label_map_600.txt").is_file()
    labels_mod.kinetics_labels.cache_clear()
    assert list(labels_mod.kinetics_labels(600)) == _truth(600)
    assert len(label_server.requests) == before + 1  # the second time came from the disk cache


def test_labels_from_a_local_folder(monkeypatch):
    monkeypatch.setenv("VIDWIDGET_LABELS_URL", str(KINETICS))  # a folder path; holds label_map_400.txt
    assert list(labels_mod.kinetics_labels(400)) == _truth(400)
    assert list(labels_mod.kinetics_labels(600)) == _truth(600)


def test_wrong_count_falls_back_to_annotations(monkeypatch):
    bad = StaticServer({"/label_map.txt": b"abseiling\nair drumming\n"})
    mirror = StaticServer({"/400/annotations/val.csv": (KINETICS / "k400_val.csv").read_bytes()})
    try:
        monkeypatch.setenv("VIDWIDGET_LABELS_URL", bad.url)
        monkeypatch.setenv("VIDWIDGET_KINETICS_URL", mirror.url)
        assert list(labels_mod.kinetics_labels(400)) == _truth(400)
    finally:
        bad.close()
        mirror.close()


def test_no_source_gives_actionable_error(monkeypatch, tmp_path):
    monkeypatch.setenv("VIDWIDGET_LABELS_URL", "http://127.0.0.1:9/")
    with pytest.raises(ModelUnavailableError) as info:
        labels_mod.kinetics_labels(400)
    text = str(info.value)
    assert "VIDWIDGET_LABELS_URL" in text and "label_map.txt" in text and str(tmp_path / "home") in text


def test_damaged_cache_is_replaced(label_server, tmp_path):
    cache = tmp_path / "home" / "labels" / "label_map.txt"
    cache.parent.mkdir(parents=True)
    cache.write_text("only\nthree\nlabels\n")
    assert list(labels_mod.kinetics_labels(400)) == _truth(400)
    assert cache.read_text().splitlines() == _truth(400)


# ---- the seed tutorial's API -------------------------------------------------------------------------------
def test_seed_functions(k400, shared_videos):
    video = vidwidget.load_and_resize_video(shared_videos / "cleaning_pool_32frames.mp4")
    assert video.dtype == np.float32 and video.shape == (32, 224, 224, 3) and video.min() >= 0 and video.max() <= 1
    sample = vidwidget.resample_video(video[None], 64)
    assert sample.shape == (1, 64, 224, 224, 3)
    np.testing.assert_array_equal(sample[0, 1], video[0])  # floor(32*1/64) = 0: frames repeat when T < n
    probs, labels, seconds, argmax = vidwidget.predict(sample, k400, num_top_classes=5)
    assert labels[0] == "cleaning pool" and k400.labels[argmax] == "cleaning pool"
    assert list(probs) == sorted(probs, reverse=True) and seconds > 0 and len(labels) == 5
    df = vidwidget.store_results_in_dataframe(["abc"], ["cleaning pool"], [labels], [probs], num_top_classes=5)
    for col in ["YouTube_Id", "Ground_Truth", "pred_1", "pred_5", "score_1", "score_5"]:
        assert col in df.columns
    assert vidwidget.compute_accuracy(df, num_top_classes=1) == 100.0
    assert vidwidget.video_acceptable(shared_videos / "cleaning_pool_32frames.mp4")  # no arbitrary 100-frame rule
    assert not vidwidget.video_acceptable(shared_videos / "missing.mp4")


def test_make_video_table_is_self_contained_and_escaped(shared_videos, tmp_path):
    import shutil

    hostile = tmp_path / "<img src=x onerror=alert(1)>.mp4"
    shutil.copy(shared_videos / "cleaning_pool_32frames.mp4", hostile)
    df = pd.DataFrame({"path": [str(hostile), str(tmp_path / "gone.mp4")],
                       "Ground_Truth": ["<b>bold</b>", None], "pred_1": ["cleaning pool", None]})
    out = vidwidget.make_video_table(df)
    markup = out.data if hasattr(out, "data") else out
    assert "data:video/mp4;base64," in markup  # embedded: survives moving the notebook
    assert "<img" not in markup and "&lt;img src=x onerror=alert(1)&gt;" in markup
    assert "&lt;b&gt;bold&lt;/b&gt;" in markup and "cannot show this clip" in markup
