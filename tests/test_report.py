"""video_tag: one embedded, escaped <video> element that keeps playing when the HTML file moves."""

from __future__ import annotations

import base64
import re
import shutil

import av
import pytest

from vidwidget.errors import VideoError
from vidwidget.report import video_tag


def test_video_tag_embeds_a_playable_h264_preview(shared_videos, tmp_path):
    src = tmp_path / 'a "quoted" <name>.avi'
    shutil.copy(shared_videos / "filling_eyebrows_mpeg4.avi", src)  # MPEG-4 part 2: browsers cannot play it
    tag = video_tag(src, max_width=160)
    assert tag.startswith("<video ") and tag.endswith("</video>")
    assert 'title="a &quot;quoted&quot; &lt;name&gt;.avi"' in tag and "<name>" not in tag
    data = re.search(r'src="data:video/mp4;base64,([A-Za-z0-9+/=]+)"', tag).group(1)
    mp4 = tmp_path / "embedded.mp4"
    mp4.write_bytes(base64.b64decode(data))
    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert stream.codec_context.width <= 160


def test_video_tag_unreadable_clip(tmp_path):
    bad = tmp_path / "<script>x<script>.mp4"
    bad.write_bytes(b"not a video")
    note = video_tag(bad)
    assert "cannot show this clip" in note and "<script>" not in note and "&lt;script&gt;" in note
    with pytest.raises(VideoError):
        video_tag(bad, on_error="raise")
    with pytest.raises(ValueError):
        video_tag(bad, on_error="ignore")
