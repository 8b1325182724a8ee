"""VideoFolder: recursive discovery, labels from subfolders / CSV / none, odd names and extensions."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from vidwidget.data import VideoFolder, is_video_file
from vidwidget.errors import VidwidgetError

VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos"
HTML = "<img src=x onerror=alert(1)>"


@pytest.fixture
def tree(tmp_path) -> Path:
    root = tmp_path / "my videos"
    small = VIDEOS / "cleaning_pool_32frames.mp4"
    files = {
        "arm wrestling/a.mp4": VIDEOS / "arm_wrestling.mp4",
        "arm wrestling/deeper/b.MP4": small,
        "cleaning pool/c.MOV": small,
        "cleaning pool/c.mp4": small,
        f"{HTML}/{HTML}.mp4": small,
        "eyebrows/e.AVI": VIDEOS / "filling_eyebrows_mpeg4.avi",
        "loose.WebM": small,
        "notes.txt": None,
        ".hidden/h.mp4": small,
        "arm wrestling/.x.mp4.part": small,
    }
    for rel, src in files.items():
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest) if src else dest.write_text("not a video")
    return root


def test_subfolder_labels(tree):
    folder = VideoFolder(tree)
    got = {c.id: c.label for c in folder.clips()}
    assert got == {
        "arm wrestling/a": "arm wrestling",
        "arm wrestling/deeper/b": "deeper",  # the immediate parent folder
        "cleaning pool/c.MOV": "cleaning pool",  # same stem twice: ids keep the extension
        "cleaning pool/c.mp4": "cleaning pool",
        f"{HTML}/{HTML}": HTML,
        "eyebrows/e": "eyebrows",
        "loose": None,
    }
    assert len(folder) == 7 and folder.labels == sorted(["arm wrestling", "deeper", "cleaning pool", HTML,
                                                         "eyebrows"])
    assert all(c.path is not None and c.path.is_file() for c in folder.clips())
    assert len({c.id for c in folder.clips()}) == len(folder)


def test_unlabeled(tree):
    folder = VideoFolder(tree, labels="none")
    assert len(folder) == 7 and folder.labels == [] and all(c.label is None for c in folder.clips())


def test_csv_labels_relative_absolute_and_missing(tree, tmp_path, caplog):
    csv = tmp_path / "labels.csv"
    csv.write_text(
        "path,label\n"
        f"my videos/arm wrestling/a.mp4,arm wrestling\n"
        f"{tree / 'eyebrows' / 'e.AVI'},filling eyebrows\n"
        f"\"my videos/{HTML}/{HTML}.mp4\",\"{HTML}\"\n"
        "my videos/gone.mp4,ghost\n"
        "my videos/loose.WebM,\n"
    )
    with caplog.at_level(logging.WARNING, logger="vidwidget.data"):
        folder = VideoFolder(tree, labels=csv)
    assert [(c.id, c.label) for c in folder.clips()] == [
        ("arm wrestling/a", "arm wrestling"), ("eyebrows/e", "filling eyebrows"), (f"{HTML}/{HTML}", HTML),
        ("loose", None)]
    assert folder.missing_files == [tmp_path / "my videos" / "gone.mp4"]
    assert "gone.mp4" in caplog.text
    assert folder.labels == sorted(["arm wrestling", "filling eyebrows", HTML])


def test_bad_inputs(tmp_path, tree):
    with pytest.raises(VidwidgetError, match="does not exist"):
        VideoFolder(tmp_path / "nope")
    with pytest.raises(VidwidgetError, match="does not exist"):
        VideoFolder(tree, labels=tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("file,label\na.mp4,x\n")
    with pytest.raises(VidwidgetError, match="'path' column"):
        VideoFolder(tree, labels=bad)


def test_video_extensions():
    for name in ("a.mp4", "b.MKV", "c.webm", "d.MpEg", "e.3gp", "f.ogv", "g.ts", "h.m4v", "i.wmv", "j.flv"):
        assert is_video_file(name), name
    for name in ("a.txt", "b.part", "c", "d.mp4.part", "e.jpg"):
        assert not is_video_file(name), name


def test_symlinked_file_keeps_its_place_in_the_folder(tmp_path):
    from vidwidget.data import VideoFolder

    target = tmp_path / "elsewhere" / "real.mp4"
    target.parent.mkdir()
    target.write_bytes(b"\x00" * 16)
    (tmp_path / "root" / "dancing").mkdir(parents=True)
    (tmp_path / "root" / "dancing" / "link.mp4").symlink_to(target)
    (clip,) = VideoFolder(tmp_path / "root").clips()
    assert clip.id == "dancing/link" and clip.label == "dancing"
