"""Seek-based decoding (by timestamps, from the key frame before each wanted frame, skipping unwanted
non-reference frames) returns exactly the frames sequential decoding returns, on the shared clips and on
generated files with B-frames, open GOPs, variable frame rate; and decodes close to the fewest packets the key
frames allow. Also: FFmpeg's scaler (crop + area scale + RGB) against OpenCV, and its anti-aliasing."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest
from video_gen import VIDEOS, write_video

import vidwidget.video.decode as decode
from vidwidget.video import read_frames
from vidwidget.video._orientation import IDENTITY, Orientation, displayed_rect, stored_rect
from vidwidget.video._scaler import FrameScaler
from vidwidget.video.preprocess import preprocess_frame


def sequential(monkeypatch, path, n, **kwargs):
    """The reference: the same call with seeking disabled (frames counted as they come out of the decoder)."""
    with monkeypatch.context() as m:
        m.setattr(decode._Timeline, "of", classmethod(lambda cls, index, container: None))
        frames, stats = decode.read_frames_with_stats(path, n, **kwargs)
    assert stats.method == "sequential" and stats.seeks == 0
    return frames


def moving_frames(n: int, h: int = 48, w: int = 64, seed: int = 0) -> list[np.ndarray]:
    """Textured frames that move (so P/B-frames carry real motion), each with a centre block coding its index
    (read back by :func:`index_levels`)."""
    base = np.random.default_rng(seed).integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    out = []
    for i in range(n):
        f = np.kron(np.roll(base, i, axis=1), np.ones((8, 8, 1), np.uint8))
        f[h // 4 : 3 * h // 4, w // 2 - h // 4 : w // 2 + h // 4] = (i * 7) % 256
        out.append(f)
    return out


def index_levels(frames: np.ndarray) -> np.ndarray:
    """The grey level of the centre block of each centre-cropped output frame."""
    size = frames.shape[1]
    return frames[:, 3 * size // 8 : 5 * size // 8, 3 * size // 8 : 5 * size // 8].astype(float).mean(axis=(1, 2, 3))


X264_B = "keyint=15:min-keyint=15:bframes=3:b-pyramid=normal:scenecut=0"
GENERATED = {
    "b_frames.mp4": dict(options={"x264-params": X264_B}),
    "open_gop.mp4": dict(options={"x264-params": "keyint=12:min-keyint=12:open-gop=1:bframes=3:scenecut=0"}),
    "open_gop.mkv": dict(options={"x264-params": "keyint=12:min-keyint=12:open-gop=1:bframes=3:scenecut=0"}),
    "vfr.mp4": dict(rate=1000, pts="vfr", options={"x264-params": "keyint=10:bframes=2:scenecut=0"}),
    "mpeg4_b.mkv": dict(codec="mpeg4", options={"bf": "2", "g": "12"}),
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("seek")
    steps = np.random.default_rng(1).integers(20, 90, 90)  # 11-50 fps, changing every frame
    files = {}
    for name, spec in GENERATED.items():
        spec = dict(spec)
        if spec.get("pts") == "vfr":
            spec["pts"] = np.cumsum(steps).tolist()
        files[name] = write_video(root / name, moving_frames(90), **spec)
    return files


@pytest.mark.parametrize("name", ["arm_wrestling.mp4", "cleaning_pool.mp4", "cleaning_pool_32frames.mp4"])
@pytest.mark.parametrize("n", [64, 9])
def test_seek_matches_sequential_on_shared_clips(monkeypatch, name, n):
    path = VIDEOS / name
    frames, stats = decode.read_frames_with_stats(path, n, size=112)
    assert stats.method == "seek"
    np.testing.assert_array_equal(frames, sequential(monkeypatch, path, n, size=112))


def test_avi_without_real_timestamps_decodes_sequentially(monkeypatch):
    """AVI stores no presentation timestamps (FFmpeg guesses them; with packed B-frames they do not match
    the frames): such files are decoded sequentially, with the same result."""
    frames, stats = decode.read_frames_with_stats(VIDEOS / "filling_eyebrows_mpeg4.avi", 16, size=64)
    assert stats.method == "sequential"
    assert frames.shape == (16, 64, 64, 3)


@pytest.mark.parametrize("name", sorted(GENERATED))
@pytest.mark.parametrize("n", [9, 30, None])
def test_seek_matches_sequential_on_generated_files(monkeypatch, generated, name, n):
    path = generated[name]
    frames, stats = decode.read_frames_with_stats(path, n, size=32)
    assert stats.method == "seek", stats
    if n == 9:  # sparse: later key frames are reached by seeking, and fewer packets are decoded than exist
        assert stats.seeks > 1 and stats.packets < 90, stats
    expected = sequential(monkeypatch, path, n, size=32)
    np.testing.assert_array_equal(frames, expected)
    # and they are the right frames: the centre block codes the frame index
    idx = np.arange(90) if n is None else np.arange(n) * 90 // n
    np.testing.assert_allclose(index_levels(frames), (idx * 7) % 256, atol=12)


def test_open_gop_files_really_have_leading_pictures(generated):
    """The open-GOP fixture is what it claims: key frames whose following packets show earlier frames."""
    with av.open(str(generated["open_gop.mp4"])) as c:
        packets = [(p.pts, p.is_keyframe) for p in c.demux(video=0) if p.size]
    keys = [i for i, (_, k) in enumerate(packets) if k and i > 0]
    assert keys and any(packets[k + 1][0] < packets[k][0] for k in keys)


def test_long_file_decodes_near_the_fewest_packets(tmp_path):
    """16 frames out of 1500 with a key frame every 50: decoding stays within 10% of the minimum the key
    frames allow (each wanted frame from the key frame before it), far below the whole file."""
    path = write_video(tmp_path / "long.mp4", moving_frames(1500, 32, 32),
                       options={"preset": "ultrafast", "x264-params": "keyint=50:min-keyint=50:scenecut=0"})
    frames, stats = decode.read_frames_with_stats(path, 16, size=16)
    with av.open(str(path)) as c:
        index, _ = decode.scan(c, c.streams.video[0], decode_first=False)
    wanted = (np.arange(16) * 1500 // 16).tolist()
    fewest = decode.fewest_packets(index, wanted)
    assert fewest < 1500 // 2
    assert stats.method == "seek" and stats.packets <= 1.1 * fewest, (stats, fewest)
    np.testing.assert_allclose(index_levels(frames), (np.array(wanted) * 7) % 256, atol=12)


def test_fewest_packets_counts_shared_stretches_once():
    index = decode.PacketIndex(tuple(range(20)), tuple(range(20)), tuple(i % 10 == 0 for i in range(20)))
    assert decode.fewest_packets(index, [3]) == 4  # 0..3
    assert decode.fewest_packets(index, [3, 5]) == 6  # 0..5 once
    assert decode.fewest_packets(index, [3, 12]) == 4 + 3  # 0..3 and 10..12


# ---- the scaler ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["arm_wrestling.mp4", "filling_eyebrows_mpeg4.avi"])
def test_scaler_is_close_to_opencv_area(name):
    """swscale's area filter + its YUV->RGB against PyAV's RGB + OpenCV INTER_AREA (the previous method):
    rounding and chroma interpolation only."""
    with av.open(str(VIDEOS / name)) as c:
        frames = [f for i, f in enumerate(c.decode(video=0)) if i % 20 == 0]
    scaler = FrameScaler("crop", 224, IDENTITY)
    ours = np.stack([scaler(f) for f in frames]).astype(int)
    ref = np.stack([preprocess_frame(f.to_ndarray(format="rgb24"), "crop", 224) for f in frames]).astype(int)
    diff = np.abs(ours - ref)
    assert diff.mean() < 1.5 and np.percentile(diff, 99) <= 6, (diff.mean(), np.percentile(diff, 99))


@pytest.mark.parametrize("side", [480, 720])
def test_scaler_avoids_moire_when_shrinking(tmp_path, side):
    """Stripes finer than 224 pixels can show average to grey through read_frames (FFmpeg area scaling), as
    with OpenCV INTER_AREA, instead of the false pattern INTER_LINEAR leaves."""
    x = np.arange(side)
    stripes = np.tile(127.5 + 127.5 * np.sin(2 * np.pi * x / 3.0), (side, 1)).round().astype(np.uint8)
    rgb = np.repeat(stripes[:, :, None], 3, axis=2)
    path = write_video(tmp_path / "stripes.mkv", [rgb], codec="ffv1", pix_fmt="bgr0")
    ours = read_frames(path, 1)[0, :, :, 1].astype(float)
    linear = cv2.resize(stripes, (224, 224), interpolation=cv2.INTER_LINEAR).astype(float)
    area = cv2.resize(stripes, (224, 224), interpolation=cv2.INTER_AREA).astype(float)
    assert ours.std() < 0.5 * linear.std()
    assert ours.std() < area.std() + 2
    assert abs(ours.mean() - 127.5) < 3


OPS = [(), ("clock",), ("cclock",), ("cclock_flip",), ("clock_flip",), ("hflip",), ("vflip",), ("hflip", "vflip")]


@pytest.mark.parametrize("ops", OPS)
def test_stored_rect_is_the_displayed_crop(ops):
    """A crop taken on the stored frame, then turned upright, equals the crop of the upright frame."""
    rotation = 90 if ops and ops[0] in ("clock", "cclock", "cclock_flip", "clock_flip") else 0
    orientation = Orientation(rotation, ops)
    rng = np.random.default_rng(len(ops))
    stored = rng.integers(0, 256, (7, 11))
    shown = orientation.apply(stored)
    for _ in range(30):
        rows, cols = shown.shape
        h, w = rng.integers(1, rows + 1), rng.integers(1, cols + 1)
        t, left = rng.integers(0, rows - h + 1), rng.integers(0, cols - w + 1)
        top, lft, sh, sw = stored_rect(orientation, (t, left, h, w), 7, 11)
        np.testing.assert_array_equal(orientation.apply(stored[top : top + sh, lft : lft + sw]),
                                      shown[t : t + h, left : left + w])
        assert displayed_rect(orientation, (top, lft, sh, sw), 7, 11) == (t, left, h, w)
