"""Label maps (URL, cache, annotations fallback, clear failure) and the seed tutorial's API."""

from __future__ import annotations

import os
import re

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


@pytest.mark.parametrize("kind", ["directory", "fifo", "symlink"])
def test_non_regular_label_cache_is_removed_and_rebuilt(label_server, tmp_path, kind):
    """Anything but a regular file at the cache path is neither read (a planted symlink could point at another
    label file, a fifo would block) nor in the way of rewriting it."""
    cache = tmp_path / "home" / "labels" / "label_map.txt"
    cache.parent.mkdir(parents=True)
    if kind == "directory":
        (cache / "inner").mkdir(parents=True)
    elif kind == "fifo":
        os.mkfifo(cache)
    else:
        elsewhere = tmp_path / "elsewhere.txt"
        elsewhere.write_text("\n".join(f"planted {i}" for i in range(400)) + "\n")
        cache.symlink_to(elsewhere)
    assert list(labels_mod.kinetics_labels(400)) == _truth(400)
    assert cache.is_file() and not cache.is_symlink()
    assert cache.read_text().splitlines() == _truth(400)


# ---- the seed tutorial's API -------------------------------------------------------------------------------
def test_seed_functions(k400, shared_videos, capsys):
    video = vidwidget.load_and_resize_video(shared_videos / "cleaning_pool_32frames.mp4", resize_type="crop")
    assert video.dtype == np.float32 and video.shape == (32, 224, 224, 3) and video.min() >= 0 and video.max() <= 1
    with pytest.raises(ValueError, match="resize_type"):
        vidwidget.load_and_resize_video(shared_videos / "cleaning_pool_32frames.mp4", resize_type="stretch")
    sample = vidwidget.resample_video(video[None], 64)
    assert sample.shape == (1, 64, 224, 224, 3)
    np.testing.assert_array_equal(sample[0, 1], video[0])  # floor(32*1/64) = 0: frames repeat when T < n
    np.testing.assert_array_equal(sample[0, 63], video[31])
    batch = np.concatenate([sample, vidwidget.resample_video(video[None], 64)[:, ::-1]])
    scores, labels, seconds, argmax = vidwidget.predict(batch, k400, verbose=True)
    printed = capsys.readouterr().out
    assert "video 0: cleaning pool (" in printed and "run time:" in printed
    assert scores.shape == labels.shape == (2, 400) and scores.dtype == np.float32 and labels.dtype.kind == "U"
    assert (np.diff(scores, axis=1) <= 0).all() and np.allclose(scores.sum(axis=1), 1, atol=1e-4)
    assert labels[0, 0] == "cleaning pool" and list(argmax) == [k400.labels.index(labels[r, 0]) for r in range(2)]
    assert sorted(labels[0]) == sorted(k400.labels) and seconds > 0
    one_scores, one_labels, _, one_argmax = vidwidget.predict(video, k400, verbose=False, num_top_classes=5)
    assert one_scores.shape == one_labels.shape == (5,) and k400.labels[one_argmax] == "cleaning pool"
    assert capsys.readouterr().out == ""

    results = {"YouTube_Id": ["abcdefghijk", "bcdefghijkl"], "Ground_Truth": ["cleaning pool", "archery"],
               "scores": [list(s[:5]) for s in scores], "preds": [list(p[:5]) for p in labels]}
    df = vidwidget.store_results_in_dataframe(results)
    assert list(df.columns) == ["YouTube_Id", "Ground_Truth", *[f"pred_{i}" for i in range(1, 6)],
                                *[f"score_{i}" for i in range(1, 6)]]
    assert df.index.name == "video_id" and list(df.index) == [0, 1] and df.loc[0, "pred_1"] == "cleaning pool"
    assert vidwidget.compute_accuracy(df, num_top_classes=1) == 50.0
    assert capsys.readouterr().out == "top-1 accuracy: 50.00%\n"
    with pytest.raises(ValueError, match="differ in length"):
        vidwidget.store_results_in_dataframe({**results, "preds": results["preds"][:1]})
    assert vidwidget.video_acceptable(shared_videos / "cleaning_pool_32frames.mp4")  # no arbitrary 100-frame rule
    assert not vidwidget.video_acceptable(shared_videos / "missing.mp4")


def test_i3d_loader(k400, monkeypatch):
    from vidwidget import seed

    asked = []
    monkeypatch.setattr(seed, "load_model", lambda name, **kw: asked.append((name, kw)) or k400)
    loader = vidwidget.I3DLoader(trained_on="kinetics-400")
    assert loader.model is k400 and len(loader.labels) == 400 and loader.labels[0] == "abseiling"
    vidwidget.I3DLoader(600, threads=1)
    assert asked == [("kinetics-400", {}), ("kinetics-600", {"threads": 1})]


def test_make_video_table_seed_form(shared_videos, tmp_path):
    import shutil

    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(shared_videos / "cleaning_pool_32frames.mp4", folder / "-abcdefghij_000001_000011.mp4")
    shutil.copy(shared_videos / "cleaning_pool_32frames.mp4", folder / "zyxwvutsrqp_000002_000012.mp4")
    (folder / "val.csv").write_text("label,youtube_id\n")
    ids = ["-abcdefghij", "zyxwvutsrqp", "missingid00", "-abcdefghij", "zyxwvutsrqp"]
    truths = ["cleaning pool", "<i>tag</i>", "archery", "x", "y"]
    out = vidwidget.make_video_table(folder, ids, truths, ["cleaning pool", "wrong", None, "x", "z"])
    assert isinstance(out, str) and out._repr_html_() == out
    assert out.count("<tr>") == 2 and out.count("<td>") == 5  # four wide
    assert out.count("data:video/mp4;base64,") == 4 and f"no clip file for missingid00 in {folder}" in out
    assert re.findall(r'(?:src|href)="([^":]*):', out) == ["data"] * 4  # nothing points at a file: it can move
    assert "&lt;i&gt;tag&lt;/i&gt;" in out and "<i>" not in out
    assert out.count('style="color:red"') == 2  # "wrong" and "z"; a right prediction stays black
    assert '<div class="right">cleaning pool</div>' in out
    from IPython.display import HTML

    assert HTML(out).data == out  # the seed passes the result to display.HTML
    with pytest.raises(ValueError, match="one of each"):
        vidwidget.make_video_table(folder, ids, truths[:2])


def test_make_video_table_is_self_contained_and_escaped(shared_videos, tmp_path):
    import shutil

    hostile = tmp_path / "<img src=x onerror=alert(1)>.mp4"
    shutil.copy(shared_videos / "cleaning_pool_32frames.mp4", hostile)
    df = pd.DataFrame({"path": [str(hostile), str(tmp_path / "gone.mp4")],
                       "Ground_Truth": ["<b>bold</b>", None], "pred_1": ["cleaning pool", None]})
    markup = vidwidget.make_video_table(df)
    assert "data:video/mp4;base64," in markup  # embedded: survives moving the notebook
    assert "<img" not in markup and "&lt;img src=x onerror=alert(1)&gt;" in markup
    assert "&lt;b&gt;bold&lt;/b&gt;" in markup and "cannot show this clip" in markup
    with pytest.raises(ValueError, match="path"):
        vidwidget.make_video_table(df.drop(columns="path"))
