"""vidwidget.video on generated awkward inputs: broken files give a VideoError that says what is wrong,
odd-but-valid files (one frame, portrait, rotated, 1x1, odd sizes) give correct frames."""

from __future__ import annotations

import av
import numpy as np
import pytest
from video_gen import VIDEOS, numbered_frames, remux_faststart, write_video

from vidwidget.errors import VideoError
from vidwidget.video import probe, read_frames


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDWIDGET_HOME", str(tmp_path / "home"))


def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match="not found"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(VideoError, match="not found"):
        read_frames(tmp_path / "nope.mp4", 4)


def test_directory(tmp_path):
    with pytest.raises(VideoError, match="directory"):
        probe(tmp_path)


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(VideoError, match=r"empty \(0 bytes\)"):
        probe(p)
    with pytest.raises(VideoError, match=r"empty \(0 bytes\)"):
        read_frames(p, 4)


def test_random_bytes(tmp_path):
    p = tmp_path / "random.mp4"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError, match="Cannot read .* as a video.*not a video"):
        probe(p)
    with pytest.raises(VideoError, match="Cannot read"):
        read_frames(p, 4)


def test_truncated_mp4_index_at_end(tmp_path):
    """The sample's index (moov) is at the end: the first 40% has none and cannot be read."""
    data = (VIDEOS / "arm_wrestling.mp4").read_bytes()
    p = tmp_path / "truncated.mp4"
    p.write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(VideoError, match="truncated"):
        probe(p)


def test_truncated_mp4_index_first_uses_what_decodes(tmp_path):
    """With the index first, 40% of the file still holds the first ~40% of frames: they are counted and used."""
    fast = remux_faststart(VIDEOS / "arm_wrestling.mp4", tmp_path / "fast.mp4")
    assert probe(fast).num_frames == 280
    data = fast.read_bytes()
    p = tmp_path / "fast_truncated.mp4"
    p.write_bytes(data[: int(len(data) * 0.4)])
    info = probe(p)
    assert 20 < info.num_frames < 280
    frames = read_frames(p, 16, size=32)
    assert frames.shape == (16, 32, 32, 3)
    whole = read_frames(fast, 280, size=32)
    np.testing.assert_allclose(frames[0], whole[0], atol=2)
    idx = [info.num_frames * i // 16 for i in range(16)]
    diff = np.abs(frames[:-1].astype(int) - whole[idx[:-1]].astype(int))
    assert diff.max() <= 2


def test_no_video_stream(tmp_path):
    p = tmp_path / "audio.wav"
    with av.open(str(p), "w") as out:
        s = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 8000, 0
        for packet in [*s.encode(frame), *s.encode(None)]:
            out.mux(packet)
    with pytest.raises(VideoError, match=r"no video stream \(streams found: audio\)"):
        probe(p)
    with pytest.raises(VideoError, match="no video stream"):
        read_frames(p, 4)


def test_zero_frames(tmp_path):
    p = write_video(tmp_path / "noframes.avi", [], codec="mpeg4")
    with pytest.raises(VideoError, match="has a video stream but no frames"):
        probe(p)
    with pytest.raises(VideoError, match="no frames"):
        read_frames(p, 4)


def test_one_frame_video(tmp_path):
    p = write_video(tmp_path / "one.mp4", numbered_frames(1, 32, 48))
    info = probe(p)
    assert info.num_frames == 1 and (info.width, info.height) == (48, 32)
    frames = read_frames(p, 4, size=16)
    assert frames.shape == (4, 16, 16, 3)
    assert all(np.array_equal(frames[0], f) for f in frames)
    assert abs(int(frames[0].mean()) - 16) <= 3


def test_frame_count_of_matroska_without_header_count(tmp_path):
    """Matroska stores no frame count (stream.frames == 0): probe counts packets instead."""
    p = write_video(tmp_path / "ten.mkv", numbered_frames(10), codec="mpeg4")
    with av.open(str(p)) as c:
        assert c.streams.video[0].frames == 0
    assert probe(p).num_frames == 10
    frames = read_frames(p, 5, size=8)
    levels = frames.reshape(5, -1).mean(axis=1)
    expected = [16 + 8 * (10 * i // 5) for i in range(5)]
    np.testing.assert_allclose(levels, expected, atol=3)


def test_portrait_video(tmp_path):
    rgb = np.zeros((640, 360, 3), np.uint8)
    rgb[:140] = (255, 0, 0)  # above the centre square: red
    rgb[140:500] = (0, 255, 0)  # the centre square: green
    rgb[500:] = (0, 0, 255)  # below: blue
    p = write_video(tmp_path / "portrait.mp4", [rgb] * 3)
    info = probe(p)
    assert (info.width, info.height, info.rotation) == (360, 640, 0)
    assert (info.display_width, info.display_height) == (360, 640)
    crop = read_frames(p, 1, size=32)[0].astype(int)
    assert crop[..., 1].min() > 200 and crop[..., 0].max() < 40 and crop[..., 2].max() < 40
    pad = read_frames(p, 1, mode="pad", size=64)[0].astype(int)
    # 360x640 on a 640 square -> content columns 140..500 of 640 -> about 14..50 of 64; black beside it
    assert pad[:, :12].max() < 20 and pad[:, -12:].max() < 20
    assert pad[2:8, 20:44, 0].mean() > 200 and pad[-8:-2, 20:44, 2].mean() > 200


def _marker_frame(h: int = 48, w: int = 96) -> np.ndarray:
    """A stored landscape frame: white block at the top-left, red block at the top-right, grey elsewhere."""
    rgb = np.full((h, w, 3), 60, np.uint8)
    rgb[:16, :16] = 255
    rgb[:16, -16:] = (255, 0, 0)
    return rgb


def _display(stored: np.ndarray, ccw_degrees: int, hflip: bool) -> np.ndarray:
    """What a player shows for PyAV's set_display_rotation(ccw_degrees, hflip): rotate, then mirror."""
    shown = np.rot90(stored, ccw_degrees // 90)
    return shown[:, ::-1] if hflip else shown


@pytest.mark.parametrize(
    "ccw, hflip, rotation",
    [(90, False, 270), (-90, False, 90), (180, False, 180), (0, True, 180), (90, True, 270)],
)
def test_display_matrix_rotation_is_applied(tmp_path, ccw, hflip, rotation):
    stored = _marker_frame()
    p = write_video(tmp_path / "rotated.mp4", [stored] * 2, rotation=ccw, hflip=hflip)
    info = probe(p)
    assert info.rotation == rotation
    expected = _display(stored, ccw, hflip)
    assert (info.display_height, info.display_width) == expected.shape[:2]
    side = max(expected.shape[:2])
    got = read_frames(p, 1, mode="pad", size=side)[0].astype(int)
    top, left = (side - expected.shape[0]) // 2, (side - expected.shape[1]) // 2
    region = got[top : top + expected.shape[0], left : left + expected.shape[1]]
    assert np.abs(region - expected.astype(int)).mean() < 6


def test_rotate_tag_is_applied(tmp_path):
    """Without a display matrix, a legacy ``rotate`` tag (clockwise degrees; Matroska stores it as ROTATE)."""
    stored = _marker_frame()
    p = write_video(tmp_path / "tagged.mkv", [stored] * 2, codec="mpeg4", metadata={"rotate": "90"})
    info = probe(p)
    assert info.rotation == 90 and (info.display_width, info.display_height) == (48, 96)
    got = read_frames(p, 1, mode="pad", size=96)[0].astype(int)
    upright = np.rot90(stored, -1).astype(int)  # clockwise
    assert np.abs(got[:, 24:72] - upright).mean() < 8


@pytest.mark.parametrize("codec, container", [("mpeg4", "avi"), ("ffv1", "mkv")])
def test_one_by_one_video(tmp_path, codec, container):
    frame = np.full((1, 1, 3), (200, 100, 50), np.uint8)
    pix_fmt = "yuv420p" if codec == "mpeg4" else "bgr0"
    p = write_video(tmp_path / f"tiny.{container}", [frame] * 3, codec=codec, pix_fmt=pix_fmt)
    info = probe(p)
    assert (info.width, info.height, info.num_frames) == (1, 1, 3)
    frames = read_frames(p, 2)
    assert frames.shape == (2, 224, 224, 3)
    if codec == "ffv1":  # lossless RGB: exact colour everywhere
        assert (frames == np.array([200, 100, 50], np.uint8)).all()
    else:  # 4:2:0 chroma of a single pixel is approximate; it must still be uniform
        assert (frames == frames[0, 0, 0]).all()


def test_odd_sized_video(tmp_path):
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (5, 3, 3), dtype=np.uint8) for _ in range(2)]
    p = write_video(tmp_path / "odd.mkv", frames, codec="ffv1", pix_fmt="bgr0")
    assert (probe(p).width, probe(p).height) == (3, 5)
    crop = read_frames(p, 2, size=3)
    np.testing.assert_array_equal(crop, np.stack([f[1:4] for f in frames]))
    pad = read_frames(p, 2, mode="pad", size=5)
    np.testing.assert_array_equal(pad[:, :, 1:4], np.stack(frames))
    assert pad[:, :, [0, 4]].max() == 0
