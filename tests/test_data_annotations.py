"""Kinetics annotation layouts (400 CSV, 600 .txt, unlabeled test split) and clip-id parsing."""

from __future__ import annotations

import io

import pytest
from kinetics_mirror import SHARED, MirrorServer

from vidwidget.data import KineticsDataset, make_clip_id, normalize_version, parse_clip_id, read_annotations
from vidwidget.data.kinetics import annotations_path
from vidwidget.errors import VidwidgetError

K600_VAL = SHARED / "kinetics" / "k600_val.csv"


def test_parse_clip_ids():
    assert parse_clip_id("-5ZUl3Z5yW0_000000_000010") == ("-5ZUl3Z5yW0", 0, 10)
    assert parse_clip_id("--_a-b_c-d-_000123_000133.mp4") == ("--_a-b_c-d-", 123, 133)
    assert parse_clip_id("-5ZUl3Z5yW0_000000_000010").youtube_id == "-5ZUl3Z5yW0"
    for bad in ("abc_000000_000010", "-5ZUl3Z5yW0_00000_000010", "-5ZUl3Z5yW0_000000_000010.avi",
                "../5ZUl3Z5yW_000000_000010", "-5ZUl3Z5yW0_000000_000010_x", "holiday"):
        assert parse_clip_id(bad) is None, bad
    assert make_clip_id("-5ZUl3Z5yW0", 7, 17) == "-5ZUl3Z5yW0_000007_000017"


def test_versions_and_annotation_paths():
    assert [normalize_version(v) for v in (400, "600", "700-2020", "700_2020", "k400", "Kinetics-600")] == [
        "400", "600", "700_2020", "700_2020", "400", "600"]
    with pytest.raises(VidwidgetError):
        normalize_version(700)
    assert annotations_path("400", "train") == "400/annotations/train.csv"
    assert annotations_path("600", "train") == "600/annotations/train.txt"
    assert annotations_path("600", "test") == "600/annotations/test.csv"
    assert annotations_path("700_2020", "val") == "700_2020/annotations/val.csv"


def test_400_csv_layout():
    df = read_annotations(SHARED / "kinetics" / "k400_val.csv")
    assert len(df) == 19906 and df["label"].nunique() == 400
    assert df["is_cc"].isin([0, 1]).all() and df["time_start"].dtype == "int64"
    assert df["clip_id"].map(parse_clip_id).notna().all()
    labels = (SHARED / "kinetics" / "label_map_400.txt").read_text().split("\n")
    assert sorted(df["label"].unique()) == sorted(x for x in labels if x)


def test_600_layout_without_is_cc_and_tab_separated_txt():
    df = read_annotations(K600_VAL)
    assert "is_cc" not in df.columns and df["label"].nunique() == 600
    tsv = K600_VAL.read_text().replace(",", "\t")
    tab = read_annotations(io.StringIO(tsv))
    assert tab["clip_id"].tolist() == df["clip_id"].tolist()


def test_unlabeled_split_and_damaged_files():
    df = read_annotations(io.StringIO("youtube_id,time_start,time_end,split\n-abcdefghij,5,15,test\n"))
    assert df["clip_id"].tolist() == ["-abcdefghij_000005_000015"] and "label" not in df.columns
    with pytest.raises(VidwidgetError, match="columns.*time_end.*missing"):
        read_annotations(io.StringIO("youtube_id,time_start\nabc,1\n"))
    with pytest.raises(VidwidgetError, match="row 3 has a non-numeric time_start"):
        read_annotations(io.StringIO("youtube_id,time_start,time_end\na,1,2\nb,x,3\n"))


def test_600_txt_and_unlabeled_test_split_through_the_dataset(tmp_path, monkeypatch):
    bucket = tmp_path / "bucket"
    (bucket / "600/annotations").mkdir(parents=True)
    (bucket / "600/annotations/val.txt").write_bytes(K600_VAL.read_bytes())
    (bucket / "600/annotations/test.csv").write_text("youtube_id,time_start,time_end,split\n-abcdefghij,5,15,test\n")
    with MirrorServer(bucket) as srv:
        monkeypatch.setenv("VIDWIDGET_KINETICS_URL", srv.url)
        monkeypatch.setenv("VIDWIDGET_HOME", str(tmp_path / "home"))
        val = KineticsDataset("600", "val")
        assert len(val.labels) == 600 and len(val.annotations) == len(read_annotations(K600_VAL))
        test = KineticsDataset("600", "test")
        assert test.labels == []
        assert [(c.id, c.label, c.path) for c in test.clips()] == [("-abcdefghij_000005_000015", None, None)]
        with pytest.raises(VidwidgetError, match="no labels"):
            test.download(per_class=1, progress=False)
        assert (tmp_path / "home/kinetics/600/val/annotations/val.txt").is_file()  # cached
