"""The timeline with the real I3D on one video made of three shared clips back to back: its segments name the
clips in order, with boundaries within one stride of the true cuts."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from vidwidget import predict_timeline, timeline_segments

CLIPS = [("arm_wrestling.mp4", "arm wrestling"), ("cleaning_pool.mp4", "cleaning pool"),
         ("filling_eyebrows_mpeg4.avi", "filling eyebrows")]
FPS, SIZE = 25, (320, 240)


def concatenate(sources: list[Path], target: Path) -> list[float]:
    """Re-encode ``sources`` one after the other into ``target`` (H.264, one size and rate: each source frame
    shown at its own time, resampled to 25 fps); returns the times (s) where each source ends."""
    ends = []
    shown = 0
    with av.open(str(target), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(FPS))
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "18"}
        for source in sources:
            with av.open(str(source)) as inp:
                rate = float(inp.streams.video[0].average_rate)
                frames = [f.to_ndarray(format="rgb24") for f in inp.decode(video=0)]
            for i in range(round(len(frames) / rate * FPS)):
                rgb = cv2.resize(frames[min(int(i * rate / FPS), len(frames) - 1)], SIZE, interpolation=cv2.INTER_AREA)
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts = shown
                shown += 1
                for packet in stream.encode(frame):
                    out.mux(packet)
            ends.append(shown / FPS)
        for packet in stream.encode(None):
            out.mux(packet)
    return ends


@pytest.fixture(scope="module")
def three_clips(shared_videos, tmp_path_factory):
    target = tmp_path_factory.mktemp("timeline") / "three_clips.mp4"
    ends = concatenate([shared_videos / name for name, _ in CLIPS], target)
    return target, ends


def test_segments_of_concatenated_clips_follow_the_cuts(k400, three_clips):
    path, ends = three_clips
    assert ends == pytest.approx([10.0, 20.0, 26.56])
    # 10 windows of 64 frames. Shorter or sparser windows are cheaper but I3D then reads the eyebrow clip as
    # "applying cream" (its whole 6.56 s at 32 frames already does; at 64 frames it says "filling eyebrows").
    window, stride = 5.0, 2.5
    df = predict_timeline(path, k400, window=window, stride=stride, num_frames=64, batch_size=4)
    assert not df.attrs["cancelled"] and df.attrs["error"] is None
    assert df["end"].iloc[-1] == pytest.approx(ends[-1])
    segments = timeline_segments(df)
    assert segments["label"].tolist() == [label for _, label in CLIPS], segments
    cuts = segments["end"].to_numpy()[:-1]
    assert np.all(np.abs(cuts - np.array(ends[:-1])) <= stride), (cuts, ends)
    assert segments["start"].iloc[0] == 0 and segments["end"].iloc[-1] == pytest.approx(ends[-1])
