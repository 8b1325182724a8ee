"""The detail view's timeline, Python side: computed off the main thread on a browser request, with progress,
cancellable, cached per (clip file, model, settings), reset when the detail view moves to another clip."""

from __future__ import annotations

import threading

import pytest
from timeline_helpers import brightness_model, level_frames
from video_gen import write_video

from vidwidget.clip import Clip
from vidwidget.widgets import ClipPlayer


@pytest.fixture()
def player(tmp_path):
    one = write_video(tmp_path / "dgl.mp4", level_frames([30] * 20 + [128] * 20 + [220] * 20))
    two = write_video(tmp_path / "dark.mp4", level_frames([30] * 12))
    p = ClipPlayer([Clip("dgl", "mixed", one), Clip("dark", "dark", two)], num_frames=4)
    yield p
    p.wait_timeline(30)


def test_timeline_request_computes_in_background_then_hits_the_cache(player):
    calls: list[int] = []
    states: list[dict] = []
    threads: set[str] = set()
    model = brightness_model(calls)

    def source(job):
        threads.add(threading.current_thread().name)
        return model

    player.timeline_model = source
    player.observe(lambda change: states.append(change["new"]), ["timeline"])
    player.detail_id = "dgl"
    player.handle_request({"type": "timeline", "id": "dgl"})
    assert player.wait_timeline(60)
    assert threading.current_thread().name not in threads  # the model and the work ran in the worker
    state = player.timeline
    assert state["id"] == "dgl" and state["state"] == "done"
    assert state["done"] == state["total"] == 29  # 0.4 s windows (4 frames at 10 fps) every 0.2 s
    view = state["view"]
    assert [s["label"] for s in view["segments"]] == ["dark", "grey", "light"]
    assert len(view["curves"]["series"]) == 3 and view["duration"] == pytest.approx(6.0)
    running = [s for s in states if s.get("state") == "running"]
    assert running[0]["message"] == "loading the model…"
    progress = [s["done"] for s in running[1:]]
    assert progress == [0, *range(2, 29, 2), 29] and running[-1]["total"] == 29  # per batch of 2 windows
    used = len(calls)
    player.detail_id = "dark"
    assert player.timeline == {}  # another clip: its own (not yet computed) timeline
    player.detail_id = "dgl"
    player.handle_request({"type": "timeline", "id": "dgl"})
    assert player.wait_timeline(60)
    assert player.timeline["state"] == "done" and len(calls) == used  # from the cache: no model call
    player.num_frames = 8  # other settings: computed again
    player.handle_request({"type": "timeline", "id": "dgl"})
    assert player.wait_timeline(60)
    assert len(calls) > used


def test_timeline_cancel(player):
    started = threading.Event()
    model = brightness_model(seconds=0.3)
    original = model._runner

    def runner(frames):
        started.set()
        return original(frames)

    model._runner = runner
    player.timeline_model = lambda job: model
    player.detail_id = "dgl"
    player.handle_request({"type": "timeline", "id": "dgl"})
    assert started.wait(60)
    player.handle_request({"type": "timeline_cancel"})
    assert player.wait_timeline(60)
    state = player.timeline
    assert state["state"] == "cancelled" and 0 < state["done"] < state["total"] == 29


def test_timeline_failure_is_shown_in_words(player, tmp_path):
    def broken(job):
        raise RuntimeError("no model today")

    player.timeline_model = broken
    player.detail_id = "dgl"
    player.handle_request({"type": "timeline", "id": "dgl"})
    assert player.wait_timeline(60)
    assert player.timeline["state"] == "error" and "no model today" in player.timeline["message"]


def test_timeline_requests_name_a_shown_clip_only(player):
    sent = []
    player.send = lambda content, buffers=None: sent.append(content)
    player.handle_request({"type": "timeline", "id": "../../etc/passwd"})
    player.handle_request({"type": "timeline", "id": "dgl", "path": "/tmp/x.mp4"})
    player.handle_request({"type": "timeline_cancel", "id": "dgl"})
    assert [m["type"] for m in sent] == ["error"] * 3 and player.timeline == {}
