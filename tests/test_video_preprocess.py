"""Pure preprocessing: square crop/pad, resize (and the evidence for its interpolation), resampling."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vidwidget.video import batch_frame_count, center_crop_square, pad_to_square, resample_video, resize


def test_center_crop_square_landscape_portrait_odd():
    a = np.arange(3 * 5).reshape(3, 5).astype(np.uint8)
    np.testing.assert_array_equal(center_crop_square(a), a[:, 1:4])
    b = np.arange(6 * 3 * 3).reshape(6, 3, 3).astype(np.uint8)
    np.testing.assert_array_equal(center_crop_square(b), b[1:4])
    c = np.zeros((4, 7, 3), np.uint8)
    assert center_crop_square(c).shape == (4, 4, 3)  # (7-4)//2 = 1 column left, 2 right
    one = np.full((1, 1, 3), 9, np.uint8)
    np.testing.assert_array_equal(center_crop_square(one), one)


def test_pad_to_square_centres_on_black():
    a = np.full((3, 5, 3), 200, np.uint8)
    p = pad_to_square(a)
    assert p.shape == (5, 5, 3) and p.dtype == np.uint8
    np.testing.assert_array_equal(p[1:4], a)
    assert p[0].max() == 0 and p[4].max() == 0
    b = np.full((4, 1), 7, np.uint8)
    q = pad_to_square(b)
    assert q.shape == (4, 4) and (q[:, 1] == 7).all() and q[:, [0, 2, 3]].max() == 0


def test_bad_frames_are_rejected():
    with pytest.raises(ValueError, match="expected a frame"):
        center_crop_square(np.zeros((0, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="expected a frame"):
        pad_to_square(np.zeros((4,), np.uint8))
    with pytest.raises(ValueError, match="size must be at least 1"):
        resize(np.zeros((4, 4, 3), np.uint8), 0)


@pytest.mark.parametrize("shape", [(1, 1, 3), (3, 3, 3), (5, 5, 3), (256, 256, 3), (300, 300, 1), (7, 7)])
def test_resize_shapes_and_dtype(shape):
    frame = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    out = resize(frame, 224)
    assert out.shape == (224, 224, *shape[2:]) and out.dtype == np.uint8
    assert out.flags.c_contiguous


def test_resize_same_size_is_a_copy():
    frame = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    out = resize(frame, 8)
    np.testing.assert_array_equal(out, frame)
    assert not np.shares_memory(out, frame)


def test_resize_accepts_views_with_negative_strides():
    frame = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    view = np.rot90(frame)[:, ::-1]
    np.testing.assert_array_equal(resize(view, 20), resize(np.ascontiguousarray(view), 20))


def _stripes(side: int, period: float) -> np.ndarray:
    x = np.arange(side)
    return np.tile(127.5 + 127.5 * np.sin(2 * np.pi * x / period), (side, 1)).round().astype(np.uint8)


@pytest.mark.parametrize("side", [480, 720])
def test_evidence_area_interpolation_avoids_moire_when_shrinking(side):
    """Stripes finer than the 224 output can show must average to flat grey. INTER_AREA (what resize uses
    when shrinking) leaves much less false pattern than INTER_LINEAR: at 480->224 about 2.4x less, at
    720->224 about 10x less (std 27 vs 66 and 6 vs 64 grey levels)."""
    img = _stripes(side, 3.0)
    ours = resize(img, 224).astype(float)
    linear = cv2.resize(img, (224, 224), interpolation=cv2.INTER_LINEAR).astype(float)
    assert ours.std() < 0.5 * linear.std()
    assert abs(ours.mean() - 127.5) < 3


def test_evidence_linear_interpolation_when_enlarging():
    """Enlarging a smooth ramp: INTER_LINEAR (what resize uses) stays smooth, INTER_AREA would give blocks."""
    ramp = np.tile(np.linspace(0, 255, 8), (8, 1)).astype(np.uint8)
    ours = resize(ramp, 224).astype(int)
    area = cv2.resize(ramp, (224, 224), interpolation=cv2.INTER_AREA).astype(int)
    assert np.abs(np.diff(ours[0])).max() < np.abs(np.diff(area[0])).max()
    assert len(np.unique(ours[0])) > 3 * len(np.unique(area[0]))


def test_resample_video_and_batch_frame_count():
    clip = np.arange(10)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    out = resample_video(clip, 4)
    assert out.shape == (4, 2, 2, 3) and out[:, 0, 0, 0].tolist() == [0, 2, 5, 7]
    assert resample_video(clip[:3], 6)[:, 0, 0, 0].tolist() == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="T >= 1"):
        resample_video(np.zeros((0, 2, 2, 3), np.uint8), 4)
    assert batch_frame_count([280, 32, 300]) == 32
    assert batch_frame_count(iter([5])) == 5
    with pytest.raises(ValueError, match="at least one"):
        batch_frame_count([])
    with pytest.raises(ValueError, match="at least one frame"):
        batch_frame_count([10, 0])
