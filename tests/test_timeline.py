"""Timelines of long videos with a tiny brightness "classifier": window planning (short video, tail window,
stride > window, VFR timestamps), the streamed decoder against read_frames, a broken tail, cancel, progress,
segments and the CSV/JSON writers."""

from __future__ import annotations

import json
import threading
from fractions import Fraction

import av
import numpy as np
import pandas as pd
import pytest
from timeline_helpers import LEVELS, brightness_model, level_frames
from video_gen import remux_faststart, write_video

from vidwidget.errors import VideoError
from vidwidget.inference import predict_timeline, timeline_segments, timeline_view, write_timeline
from vidwidget.models.base import VideoModel
from vidwidget.video import read_frames
from vidwidget.video.stream import WindowStream, plan_windows, read_frame_times, window_bounds


def graded_video(path, n: int, rate: int = 10):
    """``n`` frames whose grey level is ``10 + 4*i``: the level tells which frame a window got."""
    return write_video(path, level_frames([10 + 4 * i for i in range(n)]), rate=rate, options={"crf": "0"})


def frame_index(frames: np.ndarray) -> np.ndarray:
    return np.rint((frames.reshape(len(frames), -1).mean(axis=1) - 10) / 4).astype(int)


# ---- planning --------------------------------------------------------------------------------------------

def test_window_bounds_short_video_is_one_window():
    assert window_bounds(1.5, 2.0, 1.0) == [(0.0, 1.5)]
    assert window_bounds(2.0, 2.0, 1.0) == [(0.0, 2.0)]


def test_window_bounds_tail_window_is_aligned_to_the_end():
    assert window_bounds(5.0, 2.0, 1.0) == [(0, 2), (1, 3), (2, 4), (3, 5)]  # exact fit: no extra window
    bounds = window_bounds(5.5, 2.0, 1.0)
    assert bounds[:-1] == [(0, 2), (1, 3), (2, 4), (3, 5)] and bounds[-1] == pytest.approx((3.5, 5.5))


def test_window_bounds_stride_longer_than_window_leaves_gaps():
    assert window_bounds(10.0, 1.0, 3.0) == [(0, 1), (3, 4), (6, 7), (9, 10)]
    assert window_bounds(11.0, 1.0, 3.0)[-1] == (10.0, 11.0)
    with pytest.raises(ValueError, match="positive"):
        window_bounds(10.0, 0.0, 1.0)


def test_plan_uses_timestamps_for_variable_frame_rate():
    # 10 frames 0.1 s apart, then 20 frames 0.025 s apart (a phone slowing down / speeding up its capture)
    times = np.concatenate([np.arange(10) * 0.1, 1.0 + np.arange(20) * 0.025])
    plan = plan_windows(times, 1.5, window=0.5, stride=0.5, num_frames=4)
    assert plan.starts.tolist() == [0.0, 0.5, 1.0]
    assert plan.indices[0].tolist() == [0, 1, 2, 3]  # 5 frames in [0, 0.5): floor(5*i/4)
    assert plan.indices[1].tolist() == [5, 6, 7, 8]
    assert plan.indices[2].tolist() == [10, 15, 20, 25]  # 20 frames in [1.0, 1.5)


def test_plan_window_between_frames_takes_the_frame_on_screen():
    plan = plan_windows(np.array([0.0, 1.0]), 2.0, window=0.2, stride=0.5, num_frames=3)
    assert [ix.tolist() for ix in plan.indices[:3]] == [[0, 0, 0], [0, 0, 0], [1, 1, 1]]


# ---- streamed decoding -----------------------------------------------------------------------------------

def test_stream_windows_hold_the_planned_frames(tmp_path):
    path = graded_video(tmp_path / "graded.mp4", 45)  # 4.5 s at 10 fps
    stream = WindowStream(path, window=1.0, stride=0.5, num_frames=5, size=16)
    assert stream.fps == 10 and stream.duration == pytest.approx(4.5)
    windows = list(stream)
    assert [w.index for w in windows] == list(range(len(stream))) and stream.error is None
    assert [(w.start, w.end) for w in windows][-2:] == [(3.0, 4.0), (3.5, 4.5)]
    for w in windows:
        assert w.frames.shape == (5, 16, 16, 3) and w.frames.dtype == np.uint8
        first = int(round(w.start * 10))
        assert frame_index(w.frames).tolist() == [first + 2 * i for i in range(5)]


def test_default_window_is_num_frames_at_the_video_rate(tmp_path):
    path = graded_video(tmp_path / "graded.mp4", 40, rate=20)
    stream = WindowStream(path, num_frames=16, size=16)
    assert stream.window == pytest.approx(0.8) and stream.stride == pytest.approx(0.4)


def test_short_video_is_one_window_equal_to_read_frames(tmp_path):
    """A video shorter than the window is one window: the same frames read_frames gives (rotation applied)."""
    stored = np.zeros((24, 40, 3), np.uint8)
    stored[:, :10] = 255  # a bright left edge shows which way the frame was turned
    path = write_video(tmp_path / "rotated.mp4", [stored] * 6, rotation=90)
    stream = WindowStream(path, window=5.0, num_frames=8, size=16)
    (window,) = list(stream)
    assert (window.start, window.end) == (0.0, pytest.approx(0.6))
    np.testing.assert_array_equal(window.frames, read_frames(path, 8, size=16))


def test_variable_frame_rate_video_windows_follow_time(tmp_path):
    path = tmp_path / "vfr.mkv"
    pts_ms = [*(100 * i for i in range(10)), *(1000 + 25 * i for i in range(20))]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=Fraction(40))
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for i, pts in enumerate(pts_ms):
            frame = av.VideoFrame.from_ndarray(level_frames([10 + 4 * i])[0], format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    times = read_frame_times(path).times
    np.testing.assert_allclose(times, np.array(pts_ms) / 1000, atol=1e-3)
    windows = list(WindowStream(path, window=0.5, stride=0.5, num_frames=4, size=16))
    assert abs(frame_index(windows[0].frames) - [0, 1, 2, 3]).max() <= 1
    assert abs(frame_index(windows[2].frames) - [10, 15, 20, 25]).max() <= 1


def test_broken_tail_stops_with_the_windows_done(tmp_path):
    whole = graded_video(tmp_path / "graded.mp4", 50)
    fast = remux_faststart(whole, tmp_path / "fast.mp4")
    cut = tmp_path / "cut.mp4"
    data = fast.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])
    df = predict_timeline(cut, brightness_model(), window=1.0, stride=0.5, num_frames=4)
    assert 0 < len(df) < len(window_bounds(5.0, 1.0, 0.5))
    assert df.attrs["error"] and not df.attrs["cancelled"]
    assert df["window"].tolist() == list(range(len(df)))


def test_undecodable_file_raises(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\0" * 5000)
    with pytest.raises(VideoError):
        predict_timeline(bad, brightness_model())


# ---- predict_timeline ------------------------------------------------------------------------------------

@pytest.fixture()
def dark_grey_light(tmp_path):
    """6 s at 10 fps: 2 s dark, 2 s grey, 2 s light."""
    return write_video(tmp_path / "dgl.mp4", level_frames([30] * 20 + [128] * 20 + [220] * 20))


def test_public_names():
    import vidwidget

    assert (vidwidget.predict_timeline, vidwidget.timeline_segments, vidwidget.write_timeline) == (
        predict_timeline, timeline_segments, write_timeline)


def test_predict_timeline_table_and_attrs(dark_grey_light):
    calls: list[int] = []
    progress: list[tuple[int, int]] = []
    df = predict_timeline(dark_grey_light, brightness_model(calls), window=1.0, stride=0.5, num_frames=4,
                          top_k=2, batch_size=3, on_progress=lambda d, t: progress.append((d, t)))
    assert list(df.columns) == ["window", "start", "end", "label_1", "label_2", "prob_1", "prob_2"]
    assert len(df) == 11 and calls == [3, 3, 3, 2]
    assert progress == [(0, 11), (3, 11), (6, 11), (9, 11), (11, 11)]
    # windows straddling a change hold two frames of each side; their mean is nearer dark, then light
    assert df["label_1"].tolist() == ["dark"] * 4 + ["grey"] * 3 + ["light"] * 4
    assert (df["prob_1"] >= df["prob_2"]).all()
    probs = df.attrs["probabilities"]
    assert probs.dtype == np.float32 and probs.shape == (11, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(probs.max(axis=1), df["prob_1"], rtol=1e-6)
    attrs = df.attrs
    assert attrs["labels"] == LEVELS and attrs["fps"] == 10 and attrs["duration"] == pytest.approx(6.0)
    assert (attrs["window"], attrs["stride"], attrs["num_frames"], attrs["model"]) == (1.0, 0.5, 4, "brightness")
    assert attrs["cancelled"] is False and attrs["error"] is None and attrs["windows_total"] == 11


def test_cancel_stops_between_batches(dark_grey_light):
    cancel = threading.Event()
    calls: list[int] = []

    def on_progress(done, total):
        if done >= 2:
            cancel.set()

    df = predict_timeline(dark_grey_light, brightness_model(calls), window=1.0, stride=0.5, num_frames=4,
                          batch_size=2, on_progress=on_progress, cancel=cancel)
    assert calls == [2] and len(df) == 2 and df.attrs["cancelled"] is True
    assert df.attrs["probabilities"].shape == (2, 3)
    cancel.set()
    none = predict_timeline(dark_grey_light, brightness_model(), window=1.0, num_frames=4, cancel=cancel)
    assert len(none) == 0 and none.attrs["cancelled"] and list(none.columns)[:3] == ["window", "start", "end"]
    assert len(timeline_segments(none)) == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"num_frames": 0}, "num_frames"), ({"batch_size": 0}, "batch_size"), ({"top_k": 0}, "top_k"),
    ({"window": -1.0}, "window"), ({"stride": float("nan")}, "stride"), ({"mode": "zoom"}, "mode"),
])
def test_bad_arguments(dark_grey_light, kwargs, message):
    with pytest.raises(ValueError, match=message):
        predict_timeline(dark_grey_light, brightness_model(), **kwargs)


def test_num_frames_below_model_minimum(dark_grey_light):
    model = VideoModel("needs9", LEVELS, lambda x: x[:, 0, 0, 0, :], min_frames=9, size=16)
    with pytest.raises(ValueError, match="at least 9 frames"):
        predict_timeline(dark_grey_light, model, num_frames=8)


# ---- segments --------------------------------------------------------------------------------------------

def fake_timeline(labels: list[str], window: float = 2.0, stride: float = 1.0) -> pd.DataFrame:
    starts = np.arange(len(labels)) * stride
    return pd.DataFrame({"window": range(len(labels)), "start": starts, "end": starts + window,
                         "label_1": labels, "prob_1": [0.9] * len(labels)})


def test_segments_tile_the_video_at_window_midpoints(dark_grey_light):
    df = predict_timeline(dark_grey_light, brightness_model(), window=1.0, stride=0.5, num_frames=4)
    seg = timeline_segments(df)
    assert list(seg.columns) == ["start", "end", "label", "windows", "mean_prob"]
    assert seg["label"].tolist() == LEVELS and seg["windows"].tolist() == [4, 3, 4]
    assert seg["start"].iloc[0] == 0 and seg["end"].iloc[-1] == pytest.approx(6.0)
    assert (seg["start"].to_numpy()[1:] == seg["end"].to_numpy()[:-1]).all()
    # true changes at 2 s and 4 s; boundaries sit within one stride of them
    np.testing.assert_allclose(seg["end"].to_numpy()[:-1], [2.0, 4.0], atol=0.5)
    assert seg["mean_prob"].between(0.5, 1).all()


def test_segments_merge_short_ones_into_a_neighbour():
    df = fake_timeline(["a", "a", "a", "b", "a", "a", "c", "c", "c", "c"])
    seg = timeline_segments(df)
    assert seg["label"].tolist() == ["a", "b", "a", "c"]
    assert seg["end"].tolist() == [3.5, 4.5, 6.5, 11.0] and seg["start"].tolist() == [0, 3.5, 4.5, 6.5]
    merged = timeline_segments(df, min_duration=1.5)
    assert merged["label"].tolist() == ["a", "c"] and merged["windows"].tolist() == [6, 4]
    assert merged["end"].tolist() == [6.5, 11.0]
    assert merged["mean_prob"].iloc[0] == pytest.approx(0.75)  # one window of the six gave 'a' no probability
    assert timeline_segments(df, min_duration=100)["label"].tolist() == ["a"]  # one segment stays


def test_segments_short_one_joins_the_more_probable_neighbour():
    df = fake_timeline(["a", "a", "x", "b", "b"])
    df["label_2"], df["prob_2"] = ["b", "b", "b", "a", "a"], [0.05, 0.05, 0.08, 0.05, 0.05]
    assert timeline_segments(df, min_duration=1.5)["label"].tolist() == ["a", "b"]
    assert timeline_segments(df, min_duration=1.5)["end"].tolist() == [2.5, 6.0]
    with pytest.raises(ValueError, match="min_duration"):
        timeline_segments(df, min_duration=-1)


# ---- writers ---------------------------------------------------------------------------------------------

def test_write_csv_and_strict_json(dark_grey_light, tmp_path):
    df = predict_timeline(dark_grey_light, brightness_model(), window=1.0, stride=0.5, num_frames=4, top_k=2)
    csv = write_timeline(df, tmp_path / "t.csv")
    back = pd.read_csv(csv)
    assert list(back.columns) == list(df.columns)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    df.loc[0, "prob_2"] = np.nan  # must become null, never NaN
    out = write_timeline(df, tmp_path / "t.json")

    def refuse(name):
        raise AssertionError(f"non-strict JSON constant {name}")

    data = json.loads(out.read_text("utf-8"), parse_constant=refuse)
    assert data["model"] == "brightness" and data["window"] == 1.0 and data["fps"] == 10.0
    assert len(data["windows"]) == len(df) and data["windows"][0]["prob_2"] is None
    assert [s["label"] for s in data["segments"]] == LEVELS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dgl.mp4", "t.csv", "t.json"]  # no temp files left


def test_write_rejects_unknown_format_and_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match=r"\.csv or \.json"):
        write_timeline(fake_timeline(["a"]), tmp_path / "t.xlsx")
    assert not list(tmp_path.iterdir())


def test_decoding_error_mid_stream_keeps_the_windows_before_it(dark_grey_light, monkeypatch):
    from contextlib import contextmanager

    from vidwidget.video import stream as stream_module

    real_open = stream_module.open_video

    @contextmanager
    def breaking_open(path):
        with real_open(path) as (container, video):
            class Breaking:
                def __getattr__(self, name):
                    return getattr(container, name)

                def decode(self, s):
                    for i, frame in enumerate(container.decode(s)):
                        if i == 25:
                            raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")
                        yield frame

            yield Breaking(), video

    monkeypatch.setattr(stream_module, "open_video", breaking_open)
    df = predict_timeline(dark_grey_light, brightness_model(), window=1.0, stride=0.5, num_frames=4)
    assert len(df) == 4  # windows ending by frame 24 (2.5 s)
    assert "decoding stopped at frame 25" in df.attrs["error"] and "Invalid data" in df.attrs["error"]


def test_timeline_view_for_the_widget(dark_grey_light):
    df = predict_timeline(dark_grey_light, brightness_model(), window=1.0, stride=0.5, num_frames=4)
    view = timeline_view(df, classes=2)
    json.dumps(view, allow_nan=False)  # JSON-ready as it is
    assert view["duration"] == pytest.approx(6.0) and view["window"] == 1.0 and view["cancelled"] is False
    assert [s["label"] for s in view["segments"]] == LEVELS
    assert view["curves"]["times"][:2] == [0.5, 1.0] and len(view["curves"]["times"]) == len(df)
    series = view["curves"]["series"]
    assert [s["label"] for s in series] == ["dark", "light"]  # the two longest segments' labels (tie: first)
    np.testing.assert_allclose(series[1]["values"], df.attrs["probabilities"][:, 2], atol=1e-4)
    assert [s["label"] for s in timeline_view(df, classes=3)["curves"]["series"]] == ["dark", "light", "grey"]
