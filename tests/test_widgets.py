"""Python-level tests of the widgets: state and event flow (results batch by batch, stale marking on slider and
model changes, cancel, errors surfaced in traitlets), and clip requests by id only. A small deterministic model
stands in for I3D here (the real one runs in the e2e test)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vidwidget.clip import Clip
from vidwidget.widgets import ClipPlayer, DatasetBrowser, PredictionPanel, VideoExplorer
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


def test_assets_are_found_in_the_source_tree():
    folder = static_dir()
    for name in ("player.js", "panel.js", "browser.js", "controls.js", "vidwidget.css"):
        assert (folder / name).is_file()


# -- player ----------------------------------------------------------------------------------------------------
def test_player_sends_a_clip_by_id_and_refuses_anything_else(tmp_path):
    clips = [Clip.from_path(VIDEOS / "cleaning_pool_32frames.mp4", "cleaning pool"),
             Clip("not_here", "yoga", None)]
    player = ClipPlayer(clips, num_frames=8)
    sent = Sent(player)
    assert [c["index"] for c in player.clips] == [1, 2]
    assert [c["available"] for c in player.clips] == [True, False]

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


def test_player_reports_an_unreadable_clip_in_words(video_folder):
    clip = Clip.from_path(video_folder / "yoga" / "broken.mp4", "yoga")
    player = ClipPlayer([clip])
    sent = Sent(player)
    player.handle_request({"type": "video", "id": "broken"}).result(60)
    content, _ = sent.last()
    assert content["type"] == "error" and content["id"] == "broken" and len(content["message"]) > 10


def test_player_marks_right_and_wrong_predictions():
    clips = [Clip("a", "arm wrestling", None), Clip("b", "yoga", None), Clip("c", None, None)]
    player = ClipPlayer(clips)
    frame = pd.DataFrame({"clip_id": ["a", "b", "c", "zzz"], "pred_1": ["arm wrestling", "zumba", "yoga", "x"],
                          "score_1": [0.9, 0.5, 0.4, 0.1], "error": [None, None, None, None]})
    player.add_results(frame)
    assert player.predictions["a"]["correct"] is True
    assert player.predictions["b"]["correct"] is False
    assert player.predictions["c"]["correct"] is None
    assert "zzz" not in player.predictions
    player.set_clips(clips[:1])
    assert list(player.predictions) == ["a"]


# -- panel -----------------------------------------------------------------------------------------------------
def test_panel_accumulates_batches_and_computes_accuracy():
    panel = PredictionPanel()
    panel.clear(["a", "b", "c"])
    batch1 = pd.DataFrame({"YouTube_Id": ["a"], "Ground_Truth": ["x"], "pred_1": ["x"], "pred_2": ["y"],
                           "score_1": [0.7], "score_2": [0.2], "clip_id": ["a"], "error": [None], "seconds": [1.0]})
    batch2 = pd.DataFrame({"YouTube_Id": ["b", "c"], "Ground_Truth": ["x", "y"], "pred_1": ["y", None],
                           "pred_2": ["x", None], "score_1": [0.6, np.nan], "score_2": [0.3, np.nan],
                           "clip_id": ["b", "c"], "error": [None, "cannot decode"], "seconds": [1.0, np.nan]})
    panel.add_batch(batch1)
    assert panel.top1_accuracy == 1.0 and len(panel.rows) == 1
    panel.add_batch(batch2)
    assert [r["index"] for r in panel.rows] == [1, 2, 3]
    assert panel.rows[0]["top"] == [{"label": "x", "score": pytest.approx(0.7)},
                                    {"label": "y", "score": pytest.approx(0.2)}]
    assert panel.rows[2]["error"] == "cannot decode" and panel.rows[2]["top"] == []
    assert panel.num_scored == 2
    assert panel.top1_accuracy == 0.5 and panel.top5_accuracy == 1.0
    assert list(panel.results["clip_id"]) == ["a", "b", "c"]


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
    assert len(explorer.player.clips) == 4 and explorer.controls.error == ""

    batches: list[int] = []
    explorer.panel.observe(lambda ch: batches.append(len(ch["new"])), "rows")
    explorer.controls._handle_custom_msg({"type": "classify"}, [])  # as the Classify button does
    assert explorer.wait(60)
    assert batches[-1] == 4 and len(set(batches) - {0}) == 4  # one batch (clip) at a time
    df = explorer.results
    assert {"YouTube_Id", "Ground_Truth", "pred_1", "score_5", "clip_id", "error"} <= set(df.columns)
    broken = df.set_index("clip_id").loc["yoga/broken"]
    assert isinstance(broken["error"], str) and broken["error"]
    assert explorer.player.predictions["yoga/broken"]["error"]
    good = [p for k, p in explorer.player.predictions.items() if k != "yoga/broken"]
    assert all(isinstance(p["correct"], bool) for p in good)
    assert explorer.controls.running is False and explorer.controls.progress == 1.0
    assert "classified 4 clips" in explorer.controls.status and "1 clip failed" in explorer.controls.status
    assert explorer.panel.num_scored == 3 and explorer.panel.top1_accuracy is not None


def test_explorer_marks_stale_on_slider_and_model_change(video_folder):
    explorer = VideoExplorer(video_folder, model=TinyModel(), num_frames=8)
    explorer.wait(30)
    explorer.classify()
    explorer.wait(60)
    assert not explorer.stale
    explorer.controls.num_frames = 12  # as the slider does
    assert explorer.stale and explorer.player.stale and explorer.panel.stale
    assert explorer.player.num_frames == 12
    assert "stale" in explorer.controls.status
    explorer.controls.num_frames = 8
    assert not explorer.stale
    explorer.controls.num_frames = 3  # below the model's minimum: clamped
    assert explorer.controls.num_frames == 4
    explorer.controls.num_frames = 8

    explorer.controls.model_name = "kinetics-600"  # offline: TF Hub is unreachable
    assert explorer.stale and explorer.panel.stale
    explorer.wait(60)
    error = explorer.controls.error
    assert "kinetics-600" in error and "TF Hub" in error
    assert explorer.controls.running is False
    with pytest.raises(Exception, match="unknown model"):
        explorer.controls.model_name = "/etc/passwd"


def test_explorer_cancel_stops_at_once_and_drops_late_results(video_folder):
    gate = threading.Event()
    model = TinyModel(gate=gate)
    explorer = VideoExplorer(video_folder, model=model, num_frames=8)
    explorer.wait(30)
    job = explorer.classify()
    assert model.entered.wait(30)  # the first clip is inside the model
    assert explorer.controls.running
    explorer.controls._handle_custom_msg({"type": "cancel"}, [])
    assert explorer.controls.running is False and "cancelled" in explorer.controls.status
    gate.set()
    assert job.done.wait(30)
    assert explorer.panel.rows == [] and explorer.player.predictions == {}
    assert model.calls == 1  # the run stopped after the clip in flight


def test_explorer_slider_change_cancels_a_running_classification(video_folder):
    gate = threading.Event()
    model = TinyModel(gate=gate)
    explorer = VideoExplorer(video_folder, model=model, num_frames=8)
    explorer.wait(30)
    job = explorer.classify()
    assert model.entered.wait(30)
    explorer.num_frames = 16
    assert job.cancelled and explorer.controls.running is False
    gate.set()
    assert explorer.wait(30) and explorer.panel.rows == []


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
    wait_for(lambda: not explorer.stale and len(explorer.panel.rows) == 4 and not explorer.controls.running)
    assert model.calls == 2 * calls  # one re-run (3 readable clips), not three
    assert explorer.panel.caption.startswith("tiny, 11 frames")


def test_explorer_shows_a_missing_folder_in_words(tmp_path):
    explorer = VideoExplorer(tmp_path / "nope", model=TinyModel())
    explorer.wait(30)
    assert "does not exist" in explorer.controls.error
    assert explorer.browser.error == explorer.controls.error
    explorer.classify()
    explorer.wait(30)
    assert "no downloaded clips" in explorer.controls.error


def test_explorer_rejects_bad_arguments(video_folder):
    with pytest.raises(TypeError, match="source"):
        VideoExplorer(42, model=TinyModel())
    with pytest.raises(TypeError, match="model"):
        VideoExplorer(video_folder, model=object())


def test_explorer_resamples_when_the_sample_size_changes(video_folder):
    explorer = VideoExplorer(video_folder, model=TinyModel(), sample_size=2)
    explorer.wait(30)
    assert len(explorer.player.clips) == 2
    explorer.controls.sample_size = 3
    assert explorer.browser.sample_n == 3 and len(explorer.player.clips) == 3


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
    assert browser.num_classes == 400 and explorer.player.clips == []
    assert "no clips downloaded yet" in explorer.controls.status

    explorer.classify()
    assert explorer.wait(120), "classification did not finish"
    assert explorer.controls.error == ""
    first_two = [m.clip_id for m in mirror.parts["part_0.tar.gz"][:2]]
    assert browser.num_downloaded == 2 and sorted(browser.selected_ids) == sorted(first_two)
    assert [c["id"] for c in explorer.player.clips] == browser.selected_ids
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
    assert "Could not load the Kinetics-400 validation set" in explorer.controls.error
    assert explorer.browser.num_clips == 0
