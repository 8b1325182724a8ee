"""VideoExplorer: the dataset browser, the clip grid and the prediction panel under one toolbar (model,
frame count, sample size, Classify / Cancel, progress), with inference running in a background thread.

Settings changes (frame count, model) cancel a running classification and mark the shown predictions stale at
once; the re-run happens on Classify, or automatically after a short pause when ``auto_rerun`` is on — I3D
on a CPU takes tens of seconds per clip, so re-running on every slider step by default would waste minutes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import traitlets

from vidwidget.clip import Clip
from vidwidget.widgets._jobs import Job, JobRunner
from vidwidget.widgets._static import asset
from vidwidget.widgets._text import describe_error
from vidwidget.widgets.browser import DatasetBrowser, DownloadCancelled, list_clips
from vidwidget.widgets.panel import PredictionPanel
from vidwidget.widgets.player import ClipPlayer

log = logging.getLogger(__name__)

MODEL_CHOICES = (("I3D Kinetics-400", "kinetics-400"), ("I3D Kinetics-600", "kinetics-600"))
MAX_FRAMES = 300
AUTO_RERUN_DELAY = 1.0


class ExplorerControls(anywidget.AnyWidget):
    """The explorer's toolbar: model choice, frame-count slider, sample size, Classify/Cancel, progress, and
    the status / error line."""

    _esm = asset("controls.js")
    _css = asset("vidwidget.css")

    model_name = traitlets.Unicode("kinetics-400").tag(sync=True)
    model_options = traitlets.List(traitlets.List(), help="[[label, value], ...] of the model dropdown").tag(
        sync=True
    )
    num_frames = traitlets.Int(64).tag(sync=True)
    min_frames = traitlets.Int(1, help="the loaded model's minimum (1 until a model is loaded)").tag(sync=True)
    max_frames = traitlets.Int(MAX_FRAMES).tag(sync=True)
    sample_size = traitlets.Int(4).tag(sync=True)
    auto_rerun = traitlets.Bool(False).tag(sync=True)
    running = traitlets.Bool(False).tag(sync=True)
    progress = traitlets.Float(0.0, help="0..1 of the running job").tag(sync=True)
    progress_text = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    stale = traitlets.Bool(False).tag(sync=True)

    @traitlets.validate("model_name")
    def _valid_model(self, proposal: Any) -> str:
        value = proposal["value"]
        allowed = [opt[1] for opt in self.model_options]
        if allowed and value not in allowed:
            raise traitlets.TraitError(f"unknown model {value!r}; choose one of {allowed}")
        return value

    @traitlets.validate("num_frames")
    def _valid_frames(self, proposal: Any) -> int:
        return int(min(max(proposal["value"], self.min_frames), self.max_frames))

    @traitlets.validate("sample_size")
    def _valid_sample(self, proposal: Any) -> int:
        return max(0, int(proposal["value"]))


def _default_dataset() -> Any:
    from vidwidget.data import KineticsDataset

    return KineticsDataset(version="400", split="val")


def _folder_dataset(path: Path) -> Any:
    from vidwidget.data import VideoFolder

    if not path.is_dir():
        raise FileNotFoundError(f"video folder {path} does not exist; pass a folder of video files")
    return VideoFolder(path)


class VideoExplorer(ipywidgets.VBox):
    """Explore a video classifier in a notebook: pick clips, watch them, see what frames the model gets, and
    classify them in the background with results shown clip by clip.

    ``source``: None (Kinetics-400 validation, downloading a few clips on demand), a folder of videos, a dataset
    object (``.clips()``) or a list of :class:`Clip`. ``model``: a name (``"kinetics-400"``, ``"kinetics-600"``)
    or a loaded model object (``.name``, ``.labels``, ``.min_frames``, ``.logits``).
    """

    def __init__(self, source: Any = None, model: Any = "kinetics-400", num_frames: int = 64, *,
                 sample_size: int = 4, columns: int = 4, seed: int = 0, batch_size: int = 1, mode: str = "crop",
                 auto_rerun: bool = False) -> None:
        self._models: dict[str, Any] = {}
        options = [list(opt) for opt in MODEL_CHOICES]
        if isinstance(model, str | os.PathLike):
            model_key = os.fspath(model)
            if model_key not in [o[1] for o in options]:
                options.append([model_key, model_key])
        else:
            if not callable(getattr(model, "logits", None)):
                raise TypeError(f"model must be a name or a model object with .logits(), got {type(model).__name__}")
            model_key = str(getattr(model, "name", "custom model"))
            self._models[model_key] = model
            options = [[model_key, model_key], *[o for o in options if o[1] != model_key]]
        if batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
        self.batch_size = batch_size
        self.mode = mode
        self.controls = ExplorerControls(model_options=options, model_name=model_key, max_frames=MAX_FRAMES,
                                         sample_size=sample_size, auto_rerun=auto_rerun)
        if model_key in self._models:
            self.controls.min_frames = int(getattr(self._models[model_key], "min_frames", 1))
        self.controls.num_frames = num_frames
        self.browser = DatasetBrowser(sample_n=sample_size, seed=seed)
        self.player = ClipPlayer(columns=columns, num_frames=self.controls.num_frames, mode=mode)
        self.panel = PredictionPanel()
        super().__init__([self.controls, self.player, self.panel, self.browser])
        self.add_class("vidwidget-explorer")

        self._runner = JobRunner("vidwidget-explorer")
        self._results_key: tuple[str, int] | None = None
        self._timer: threading.Timer | None = None
        self._adjusting = False

        traitlets.link((self.controls, "sample_size"), (self.browser, "sample_n"))
        self.controls.observe(self._settings_changed, ["num_frames", "model_name"])
        self.controls.observe(self._sample_size_changed, ["sample_size"])
        self.browser.observe(self._selection_changed, ["selected_ids"])
        self.browser.on_loaded(self._dataset_loaded)
        self.browser.observe(self._browser_error, ["error"])
        self.controls.on_msg(self._on_controls_msg)

        if isinstance(source, str | os.PathLike):
            path = Path(source).expanduser()
            self.browser.load(lambda: _folder_dataset(path), what=f"video folder {path}")
        elif source is None:
            self.browser.load(_default_dataset, what="Kinetics-400 validation set")
        elif isinstance(source, Sequence) or callable(getattr(source, "clips", None)):
            self.browser.load(lambda: source, what="dataset")
        else:
            raise TypeError(
                f"source must be None, a folder path, a dataset with .clips() or a list of Clip; "
                f"got {type(source).__name__}"
            )
        self._prefetch_model()

    # -- public API ----------------------------------------------------------------------------------------
    @property
    def results(self):  # -> pd.DataFrame
        """The predictions shown (the DataFrame of :func:`vidwidget.inference.evaluate`)."""
        return self.panel.results

    @property
    def num_frames(self) -> int:
        """The frame count the model receives (the slider)."""
        return self.controls.num_frames

    @num_frames.setter
    def num_frames(self, value: int) -> None:
        self.controls.num_frames = value

    @property
    def model_name(self) -> str:
        """The chosen model's name (the dropdown)."""
        return self.controls.model_name

    @model_name.setter
    def model_name(self, value: str) -> None:
        self.controls.model_name = value

    @property
    def stale(self) -> bool:
        """True when the shown predictions were made with another model or frame count."""
        return self.controls.stale

    @property
    def busy(self) -> bool:
        """True while a background job (model load, download or classification) runs."""
        return self._runner.busy

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the background work (dataset load, classification) is done; for scripts and tests."""
        deadline = None if timeout is None else time.monotonic() + timeout
        ok = self.browser.wait(timeout)
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self._runner.wait(remaining) and ok

    def classify(self) -> Job:
        """Classify the selected clips with the chosen model and frame count in the background; results appear
        batch by batch in the grid and the panel. Returns the job (``job.done`` is an Event)."""
        self._cancel_timer()
        clips = self.browser.selection
        key = (self.controls.model_name, self.controls.num_frames)
        self.controls.error = ""
        self.controls.running = True
        self.controls.progress = 0.0
        self.controls.progress_text = "starting…"
        self.player.clear_predictions()
        self.panel.clear([c.id for c in self.player.clip_objects])
        self._set_stale(False)
        self._results_key = None
        return self._runner.submit("classify", lambda job: self._classify(job, clips, key),
                                   on_error=self._job_failed, on_finish=self._job_finished)

    def cancel(self) -> None:
        """Stop the running classification now; the clip being computed finishes in the background, unseen."""
        self._cancel_timer()
        job = self._runner.cancel()
        if job is not None:
            self.controls.running = False
            done = len(self.panel.rows)
            self.controls.status = f"cancelled after {done} clip{'s' * (done != 1)}"
            self.controls.progress_text = "cancelled"

    # -- background work -----------------------------------------------------------------------------------
    def _get_model(self, name: str, job: Job) -> Any:
        model = self._models.get(name)
        if model is None:
            from vidwidget.models import load_model

            job.post(setattr, self.controls, "progress_text", f"loading model {name}…")
            model = load_model(name)
            self._models[name] = model
        job.post(self._model_ready, name, model)
        return model

    def _model_ready(self, name: str, model: Any) -> None:
        if self.controls.model_name != name:
            return
        min_frames = int(getattr(model, "min_frames", 1))
        self._adjusting = True
        try:
            self.controls.min_frames = min_frames
            if self.controls.num_frames < min_frames:
                self.controls.num_frames = min_frames
        finally:
            self._adjusting = False
        self.player.num_frames = self.controls.num_frames

    def _prefetch_model(self) -> None:
        name = self.controls.model_name
        if name in self._models:
            return
        self.controls.error = ""
        self.controls.running = True
        self.controls.progress_text = f"loading model {name}…"
        self._runner.submit("load-model", lambda job: self._load_model_job(job, name),
                            on_error=self._job_failed, on_finish=self._job_finished)

    def _load_model_job(self, job: Job, name: str) -> None:
        self._get_model(name, job)
        job.post(setattr, self.controls, "status", f"model {name} ready")

    def _classify(self, job: Job, clips: list[Clip], key: tuple[str, int]) -> None:
        from vidwidget.inference import evaluate

        name, num_frames = key
        clips = [c for c in clips if c.path is not None and Path(c.path).is_file()]
        if not clips:
            clips = self._download_for_classify(job)
        if job.cancelled:
            return
        if not clips:
            raise ValueError("the download finished without any clip on disk; see the log for what failed")
        model = self._get_model(name, job)
        num_frames = max(num_frames, int(getattr(model, "min_frames", 1)))
        key = (name, num_frames)
        total = len(clips)
        job.post(self._run_started, key, [c.id for c in clips])
        started = time.monotonic()
        state = {"done": 0}

        def on_batch(frame: Any) -> None:
            state["done"] += len(frame)
            job.post(self._batch_done, frame, state["done"], total)

        frame = evaluate(clips, model, num_frames=num_frames, batch_size=self.batch_size,
                         top_k=min(5, int(getattr(model, "num_classes", len(model.labels)))), mode=self.mode,
                         on_batch=on_batch, cancel=job.cancel_event)
        job.post(self._run_done, frame, time.monotonic() - started)

    def _download_for_classify(self, job: Job) -> list[Clip]:
        dataset = self.browser.dataset
        if dataset is None or not callable(getattr(dataset, "download", None)):
            raise ValueError("no downloaded clips are selected: choose clips in the table or sample some")
        n = max(1, self.controls.sample_size)
        job.post(setattr, self.controls, "progress_text", f"downloading {n} clips…")

        def on_progress(event: Any) -> None:
            total = getattr(event, "clips_total", 0) or 0
            done = getattr(event, "clips_done", 0) or 0
            if not job.post(self._download_progress, done, total):
                raise DownloadCancelled("cancelled")

        try:
            chosen = list(dataset.download(n=n, progress=False, on_progress=on_progress))
        except DownloadCancelled:
            return []
        clips = list_clips(dataset)
        job.post(self._apply_download, dataset, clips, [c.id for c in chosen])
        return [c for c in chosen if c.path is not None]

    def _apply_download(self, dataset: Any, clips: list[Clip], chosen: list[str]) -> None:
        self._adjusting = True
        try:
            self.browser._loaded(dataset, clips)
            self.browser.select(chosen)
        finally:
            self._adjusting = False

    def _download_progress(self, done: int, total: int) -> None:
        self.controls.progress = done / total if total else 0.0
        self.controls.progress_text = f"downloaded {done}/{total} clips"

    def _run_started(self, key: tuple[str, int], ids: list[str]) -> None:
        self._results_key = key
        self.player.clear_predictions()
        order = [c.id for c in self.player.clip_objects]
        self.panel.clear(order + [i for i in ids if i not in order], caption=f"{key[0]}, {key[1]} frames per clip")
        self.controls.progress = 0.0
        self.controls.progress_text = f"classifying 0/{len(ids)} clips"
        self._update_stale()

    def _batch_done(self, frame: Any, done: int, total: int) -> None:
        self.panel.add_batch(frame)
        self.player.add_results(frame)
        self.controls.progress = done / total if total else 1.0
        self.controls.progress_text = f"classifying {done}/{total} clips"

    def _run_done(self, frame: Any, seconds: float) -> None:
        errors = int(frame["error"].notna().sum()) if "error" in getattr(frame, "columns", ()) else 0
        parts = [f"classified {len(frame)} clips in {seconds:.0f} s"]
        if self.panel.top1_accuracy is not None:
            parts.append(f"top-1 {self.panel.top1_accuracy:.0%}")
        if self.panel.top5_accuracy is not None:
            parts.append(f"top-5 {self.panel.top5_accuracy:.0%}")
        if errors:
            parts.append(f"{errors} clip{'s' * (errors != 1)} failed (see the grid)")
        if getattr(frame, "attrs", {}).get("cancelled"):
            parts.insert(0, "cancelled:")
        self.controls.status = ", ".join(parts)
        self.controls.progress = 1.0
        self.controls.progress_text = "done"

    def _job_failed(self, exc: BaseException) -> None:
        job = self._runner.current
        doing = {"classify": "Classification failed", "load-model": "Could not load the model"}.get(
            job.name if job else "", "Failed")
        if job is not None and job.name in ("classify", "load-model"):
            from vidwidget.errors import ModelError

            if isinstance(exc, ModelError):
                doing = f"Could not load model {self.controls.model_name!r}"
        self.controls.error = describe_error(exc, doing)
        self.controls.status = ""
        self.controls.progress = 0.0
        self.controls.progress_text = "failed"

    def _job_finished(self, job: Job) -> None:
        with self._runner._lock:
            if self._runner.current is job and not job.cancelled:
                self.controls.running = False

    # -- reactions -----------------------------------------------------------------------------------------
    def _set_stale(self, stale: bool) -> None:
        self.controls.stale = stale
        self.player.stale = stale
        self.panel.stale = stale

    def _update_stale(self) -> None:
        key = (self.controls.model_name, self.controls.num_frames)
        shown = bool(self.panel.rows) and self._results_key is not None
        self._set_stale(shown and key != self._results_key)

    def _settings_changed(self, change: Any) -> None:
        self.player.num_frames = self.controls.num_frames
        if self._adjusting:
            return
        job = self._runner.current
        was_running = job is not None and not job.done.is_set() and job.name == "classify"
        if was_running:
            self.cancel()
            self.controls.status = "settings changed: classification cancelled"
        self._update_stale()
        rerun = self.controls.auto_rerun and (self.controls.stale or was_running)
        if change["name"] == "model_name":
            self.controls.error = ""
            if self.controls.model_name in self._models:
                self._model_ready(self.controls.model_name, self._models[self.controls.model_name])
            elif not rerun:  # load it now (in the worker) so errors and its minimum frame count show early
                self._prefetch_model()
        if rerun:
            self._schedule_rerun()
        elif self.controls.stale:
            self.controls.status = "settings changed: predictions are stale — press Classify to update"

    def _schedule_rerun(self) -> None:
        self._cancel_timer()
        self._timer = threading.Timer(AUTO_RERUN_DELAY, self.classify)
        self._timer.daemon = True
        self._timer.start()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _sample_size_changed(self, _change: Any) -> None:
        if self.browser.num_clips:
            self.browser.sample()

    def _selection_changed(self, _change: Any) -> None:
        job = self._runner.current
        if not self._adjusting and job is not None and not job.done.is_set() and job.name == "classify":
            self.cancel()
        self.player.set_clips(self.browser.selection)
        self.panel.clear([c.id for c in self.player.clip_objects])
        self._results_key = None
        self._set_stale(False)

    def _dataset_loaded(self) -> None:
        self.player.set_clips(self.browser.selection)
        if self.browser.error:
            self.controls.error = self.browser.error
        elif not self.browser.selection:
            if self.browser.can_download:
                self.controls.status = ("no clips downloaded yet: press Classify to download "
                                        f"{self.controls.sample_size} and classify them, or use 'download more'")
            else:
                self.controls.status = "no playable clips in this dataset"

    def _browser_error(self, change: Any) -> None:
        if change["new"]:
            self.controls.error = change["new"]

    def _on_controls_msg(self, _widget: Any, content: Any, _buffers: Sequence[Any]) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "classify":
            self.classify()
        elif kind == "cancel":
            self.cancel()
        else:
            self.controls.error = f"unknown request {kind!r}"
