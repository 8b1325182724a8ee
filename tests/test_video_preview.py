"""Browser previews: H.264/yuv420p mp4 re-encodes with PyAV, cached; browser-safe small files as is."""

from __future__ import annotations

import shutil

import av
import numpy as np
import pytest
from video_gen import VIDEOS, top_level_atoms, write_video

import vidwidget.video.preview as preview_mod
from vidwidget.errors import VideoError
from vidwidget.video import browser_preview, is_browser_safe, probe


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDWIDGET_HOME", str(tmp_path / "home"))


def read_back(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        kinds = [s.type for s in c.streams]
        frames = sum(1 for _ in c.decode(v))
        return v.codec_context.name, v.codec_context.pix_fmt, v.width, v.height, kinds, frames


def test_avi_becomes_h264_mp4(tmp_path, monkeypatch):
    src = VIDEOS / "filling_eyebrows_mpeg4.avi"
    assert not is_browser_safe(src)
    out = browser_preview(src, cache_dir=tmp_path / "p")
    assert out.parent == tmp_path / "p" and out.suffix == ".mp4"
    codec, pix_fmt, w, h, kinds, frames = read_back(out)
    assert (codec, pix_fmt, kinds) == ("h264", "yuv420p", ["video"])  # audio dropped
    assert w <= 320 and w % 2 == 0 and h % 2 == 0 and (w, h) == (320, 240)
    assert frames == 164
    atoms = top_level_atoms(out)
    assert atoms.index("moov") < atoms.index("mdat")  # +faststart
    assert is_browser_safe(out)
    assert not list((tmp_path / "p").glob(".tmp-*"))
    # cached: a second call does not encode again
    monkeypatch.setattr(preview_mod, "_encode", lambda *a, **k: pytest.fail("re-encoded a cached preview"))
    assert browser_preview(src, cache_dir=tmp_path / "p") == out


def test_default_cache_dir_is_under_vidwidget_home(tmp_path):
    out = browser_preview(VIDEOS / "filling_eyebrows_mpeg4.avi", max_width=160)
    assert out.parent == tmp_path / "home" / "previews"
    assert read_back(out)[2:4] == (160, 120)


def test_small_browser_safe_mp4_is_returned_as_is(tmp_path):
    src = VIDEOS / "cleaning_pool_32frames.mp4"  # H.264 yuv420p, 340 wide, 158 kB
    assert is_browser_safe(src)
    assert browser_preview(src, max_width=340, cache_dir=tmp_path / "p") == src
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())
    narrower = browser_preview(src, max_width=320, cache_dir=tmp_path / "p")  # too wide: re-encoded
    # stored 340x256 with sample aspect ratio 1024/765 is shown 16:9 -> square pixels 320x180
    assert narrower != src and read_back(narrower)[2:4] == (320, 180)


def test_changed_source_gets_a_new_preview(tmp_path):
    src = tmp_path / "clip.avi"
    shutil.copyfile(VIDEOS / "filling_eyebrows_mpeg4.avi", src)
    first = browser_preview(src, max_width=64, cache_dir=tmp_path / "p")
    src.write_bytes(src.read_bytes())  # same content, new mtime
    assert browser_preview(src, max_width=64, cache_dir=tmp_path / "p") != first


def test_rotated_and_odd_sources_become_upright_even_sized(tmp_path):
    stored = np.full((48, 96, 3), 60, np.uint8)
    stored[:16, :16] = 255
    rotated = write_video(tmp_path / "rot.mp4", [stored] * 3, rotation=90)
    assert probe(rotated).rotation == 270
    out = browser_preview(rotated, cache_dir=tmp_path / "p")
    assert read_back(out)[2:4] == (48, 96)  # display size, written upright (no display matrix)
    with av.open(str(out)) as c:
        first = next(c.decode(video=0))
        assert first.rotation == 0
        rgb = first.to_ndarray(format="rgb24").astype(int)
    upright = np.rot90(stored, 1).astype(int)
    assert np.abs(rgb - upright).mean() < 8
    tiny = write_video(tmp_path / "tiny.avi", [np.full((1, 1, 3), 128, np.uint8)] * 2, codec="mpeg4")
    assert read_back(browser_preview(tiny, cache_dir=tmp_path / "p"))[2:4] == (2, 2)


def test_no_h264_encoder_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(preview_mod, "H264_ENCODERS", ("no_such_encoder_a", "no_such_encoder_b"))
    with pytest.raises(VideoError, match="no H.264 encoder .*no_such_encoder_a"):
        browser_preview(VIDEOS / "filling_eyebrows_mpeg4.avi", cache_dir=tmp_path / "p")
    assert not list((tmp_path / "p").glob("*"))


def test_encoder_fallback_order(monkeypatch):
    monkeypatch.setattr(preview_mod, "H264_ENCODERS", ("no_such_encoder", "libx264"))
    assert preview_mod.h264_encoder() == "libx264"


def test_bad_inputs(tmp_path):
    with pytest.raises(VideoError, match="not found"):
        browser_preview(tmp_path / "gone.mp4", cache_dir=tmp_path / "p")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    with pytest.raises(VideoError, match="Cannot read"):
        is_browser_safe(junk)
    with pytest.raises(ValueError, match="max_width"):
        browser_preview(VIDEOS / "cleaning_pool_32frames.mp4", max_width=0)
