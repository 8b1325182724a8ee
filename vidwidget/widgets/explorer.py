"""VideoExplorer: the toolbar with its one status area, the analysis of the results shown (accuracy, outcome
counts, per-class figures, confusions), the grid of clip cards (with filters and a detail view) and the dataset
table, with downloads, model loading and inference in one background worker.

Each fact has one place: the status line says what is happening or happened (state, counts, time, failures),
the analysis panel says how good the results are (accuracy and outcome counts), each card says how its clip did.

Settings changes (frame count, model) cancel a running classification and mark the shown results stale at
once; results stay visible until new ones replace them, and a failed model load or a cancel never erases them.
The re-run happens on Classify, or automatically after a short pause when ``auto_rerun`` is on — I3D on a CPU
takes seconds per clip, so re-running on every slider step by default would waste minutes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets
import pandas as pd

from vidwidget.clip import Clip
from vidwidget.widgets import _view
from vidwidget.widgets._jobs import Job, JobRunner
from vidwidget.widgets._quiet import import_inference, keep_worker_logs_out_of_the_notebook, native_stderr_to_log
from vidwidget.widgets._sync import safe_handler
from vidwidget.widgets._text import describe_error, kinetics_unreachable, plural, unavailable_model
from vidwidget.widgets.analysis import AnalysisPanel
from vidwidget.widgets.browser import DatasetBrowser, DownloadCancelled
from vidwidget.widgets.controls import MAX_FRAMES, ExplorerControls
from vidwidget.widgets.player import DETAIL_TOP, ClipPlayer

log = logging.getLogger(__name__)

MODEL_CHOICES = (
    ("I3D Kinetics-400", "kinetics-400"),
    ("I3D Kinetics-400 · int8 (faster)", "kinetics-400@int8"),
    ("I3D Kinetics-600", "kinetics-600"),
)
"""The model dropdown. A ``@int8`` choice runs the same network quantized (``load_model(..., precision="int8")``,
calibrated on the explorer's own clips); being its own choice, it gets its own results, stale marks and cache."""
CALIBRATION_CLIPS = 16


def model_choice(key: str) -> tuple[str, str]:
    """``(model name, precision)`` of a model dropdown value such as ``"kinetics-400@int8"``."""
    name, _, precision = key.partition("@")
    return name, precision or "fp32"
AUTO_RERUN_DELAY = 1.0
Key = tuple[str, int]


def _default_dataset() -> Any:
    from vidwidget.data import KineticsDataset

    return KineticsDataset(version="400", split="val")


def _folder_dataset(path: Path) -> Any:
    from vidwidget.data import VideoFolder

    if not path.is_dir():
        raise FileNotFoundError(f"video folder {path} does not exist; pass a folder of video files")
    return VideoFolder(path)


def _describe_kinetics_failure(exc: BaseException) -> str:
    return kinetics_unreachable(exc) or describe_error(exc, "Could not load the Kinetics-400 validation set")


class VideoExplorer(ipywidgets.VBox):
    """Explore a video classifier in a notebook: pick clips, watch them, see what frames the model gets, and
    classify them in the background with results shown clip by clip.

    ``source``: None (Kinetics-400 validation, downloading a few clips on demand), a folder of videos, a dataset
    object (``.clips()``) or a list of :class:`Clip`. ``model``: a name (``"kinetics-400"``, ``"kinetics-600"``)
    or a loaded model object (``.name``, ``.labels``, ``.min_frames``, ``.logits``). Failures are shown in the
    widget in one sentence; their tracebacks go to the ``vidwidget`` logger and :attr:`last_error`.
    """

    def __init__(self, source: Any = None, model: Any = "kinetics-400", num_frames: int = 64, *,
                 sample_size: int = 4, columns: int = 4, seed: int = 0, batch_size: int = 1, mode: str = "crop",
                 auto_rerun: bool = False, page_size: int = 12) -> None:
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
        if not isinstance(source, str | os.PathLike | Sequence | type(None)) and not callable(
                getattr(source, "clips", None)):
            raise TypeError(
                f"source must be None, a folder path, a dataset with .clips() or a list of Clip; "
                f"got {type(source).__name__}"
            )
        keep_worker_logs_out_of_the_notebook()
        self.batch_size = batch_size
        self.mode = mode
        self.last_error: BaseException | None = None
        self.controls = ExplorerControls(model_options=options, model_name=model_key, max_frames=MAX_FRAMES,
                                         sample_size=sample_size, auto_rerun=auto_rerun)
        if model_key in self._models:
            self.controls.min_frames = int(getattr(self._models[model_key], "min_frames", 1))
        self.controls.num_frames = num_frames
        self.player = ClipPlayer(columns=columns, num_frames=self.controls.num_frames, mode=mode,
                                 page_size=page_size)
        self.browser = DatasetBrowser(sample_n=sample_size, seed=seed, embedded=True)
        self.analysis: Any = None  # the AnalysisPanel, made with the first results (see _show_analysis)
        self._analysis_slot = ipywidgets.Box(layout=ipywidgets.Layout(display="block"))
        super().__init__([self.controls, self._analysis_slot, self.player, self.browser])
        self.add_class("vidwidget-explorer")

        self._runner = JobRunner("vidwidget-explorer")
        self.player.timeline_model = lambda job: self._get_model(self.controls.model_name, job)  # timelines
        self._table: pd.DataFrame | None = None  # one row per clip id: the results shown (the one truth)
        self._row_keys: dict[str, Key] = {}  # which settings made each row
        self._cancelled: set[str] = set()  # clips a cancelled run did not reach ...
        self._cancelled_key: Key | None = None  # ... with these settings (marked while they are current)
        self._run: dict[str, Any] | None = None  # the last run: key, ids, done, started, seconds
        self._error = ""  # the last failure, in words, until the next action ...
        self._error_detail = ""  # ... and its details (what to do, then the technical rest), shown smaller
        self._timer: threading.Timer | None = None
        self._adjusting = False

        self.controls.observe(self._sample_size_changed, ["sample_size"])
        self.controls.observe(self._settings_changed, ["num_frames", "model_name"])
        self.browser.observe(self._selection_changed, ["selected_ids"])
        self.browser.observe(self._browser_error, ["error"])
        self.browser.observe(self._browser_busy, ["busy"])
        self.browser.on_loaded(self._dataset_loaded)
        self.controls.on_msg(safe_handler(self._on_controls_msg))

        if isinstance(source, str | os.PathLike):
            path = Path(source).expanduser()
            self.browser.load(lambda: _folder_dataset(path), what=f"video folder {path}")
        elif source is None:
            self.browser.load(_default_dataset, what="Kinetics-400 validation set",
                              describe=_describe_kinetics_failure)
        else:
            self.browser.load(lambda: source, what="dataset")
        self.controls.show("loading", "Listing the clips…")
        self._prefetch_model()

    # -- public API ----------------------------------------------------------------------------------------
    @property
    def results(self) -> pd.DataFrame:
        """The results shown, one row per clip in number order: the columns of
        :func:`vidwidget.inference.evaluate` with the top-5 (the detail view's ranks 6-10 are kept for it), plus
        ``number`` (the clip's number in the grid and the table) and ``model`` / ``num_frames``, the settings
        that made each row (rows made with other settings than the current ones are the stale ones)."""
        rows = _view.scored_view(self._shown_rows())
        if rows is None:
            return pd.DataFrame()
        out = rows.copy()
        ids = [str(c) for c in out["clip_id"]]
        out["number"] = [self.player.number(c) for c in ids]
        out["model"] = [self._row_keys[c][0] for c in ids]
        out["num_frames"] = [self._row_keys[c][1] for c in ids]
        return out.reset_index(drop=True)

    def save_html(self, path: str | os.PathLike, *, title: str | None = None) -> Path:
        """Write the results shown as ONE self-contained HTML file (embedded previews, predictions, accuracy,
        per-class accuracy, confusions) that opens in a browser with no kernel; see
        :func:`vidwidget.report.save_report`. Returns the path written."""
        results = self.results
        if results.empty:
            raise ValueError("there are no results to save yet: press Classify first, then save_html(path)")
        from vidwidget.report import save_report

        if title is None:
            title = f"vidwidget: {self._caption(with_time=True)}"
        return save_report(results, path, title=title)

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
    def state(self) -> str:
        """The one current state (see :data:`vidwidget.widgets.controls.STATES`)."""
        return self.controls.state

    @property
    def stale(self) -> bool:
        """True when some shown results were made with another model or frame count."""
        return bool(self._stale_ids())

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

    def classify(self) -> Job | None:
        """Classify the shown clips with the chosen model and frame count in the background (downloading a
        few first when a downloadable dataset has none); results replace the shown ones clip by clip. Returns
        the job (``job.done`` is an Event), or None when there is nothing to classify (the status says why)."""
        self._cancel_timer()
        clips = [c for c in self.browser.selection if c.path is not None and Path(c.path).is_file()]
        reason = None if clips or self.browser.can_download else self._nothing_to_classify()
        if reason:
            self._error, self._error_detail = reason, ""
            self._show_rest()
            return None
        self._error = self._error_detail = ""
        key = (self.controls.model_name, self.controls.num_frames)
        first = "downloading" if not clips else "loading" if key[0] not in self._models else "classifying"
        self.controls.show(first, "Downloading clips…" if not clips else "Starting…", 0.0)
        return self._runner.submit("classify", lambda job: self._classify(job, clips, key),
                                   on_error=self._job_failed, on_finish=self._job_finished)

    def cancel(self) -> None:
        """Stop the running work now; the clip being computed finishes in the background, unseen. Results
        already shown stay; clips the run did not reach are marked cancelled."""
        self._cancel_timer()
        job = self._runner.cancel()
        if job is None:
            return
        run = self._run
        if job.name == "classify" and run is not None and run.get("job") is job:
            self._cancelled = {cid for cid in run["ids"] if cid not in run["done"]}
            self._cancelled_key = run["key"]
            run["cancelled"] = True
        elif job.name == "classify":
            run = self._run = {"job": job, "ids": [], "done": set(), "cancelled": True, "key": None}
        self._refresh_results()
        self._show_rest()

    # -- background work -----------------------------------------------------------------------------------
    def _get_model(self, name: str, job: Job) -> Any:
        model = self._models.get(name)
        if model is None:
            job.post(self.controls.show, "loading", f"Loading model {name}…")
            import_inference()
            from vidwidget.models import load_model

            model_name, precision = model_choice(name)
            options: dict[str, Any] = {}
            if precision != "fp32":  # int8 calibrates on this explorer's own clips (cached per calibration set)
                paths = [c.path for c in self.browser.all_clips if c.path is not None and Path(c.path).is_file()]
                options = {"precision": precision, "calibration": paths[:CALIBRATION_CLIPS] or None}
            with native_stderr_to_log(f"loading {name}"):
                model = load_model(model_name, **options)
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
        self._runner.submit("load-model", lambda job: self._load_model_job(job, name),
                            on_error=self._job_failed, on_finish=self._job_finished)

    def _load_model_job(self, job: Job, name: str) -> None:
        self._get_model(name, job)

    def _classify(self, job: Job, clips: list[Clip], key: Key) -> None:
        if not clips:
            clips = self._download_for_classify(job)
            if job.cancelled:
                return
        name, num_frames = key
        model = self._get_model(name, job)
        import_inference()
        from vidwidget.inference import evaluate

        num_frames = max(num_frames, int(getattr(model, "min_frames", 1)))
        key = (name, num_frames)
        total = len(clips)
        run = {"job": job, "key": key, "ids": [c.id for c in clips], "done": set(), "started": time.monotonic(),
               "cancelled": False}
        job.post(self._run_started, run)

        def on_batch(frame: pd.DataFrame) -> None:
            job.post(self._batch_done, run, frame)

        num_classes = int(getattr(model, "num_classes", len(model.labels)))
        frame = evaluate(clips, model, num_frames=num_frames, batch_size=self.batch_size,
                         top_k=min(DETAIL_TOP, num_classes), mode=self.mode, on_batch=on_batch,
                         cancel=job.cancel_event)
        if total and not job.cancelled:
            job.post(self._run_done, run, frame)

    def _download_for_classify(self, job: Job) -> list[Clip]:
        n = max(1, self.controls.sample_size)

        def on_progress(event: Any) -> None:
            total = int(getattr(event, "clips_total", 0) or 0) or n
            done = int(getattr(event, "clips_done", 0) or 0)
            message = f"Downloading {done}/{plural(total, 'clip')} from Kinetics…"
            if not job.post(self.controls.show, "downloading", message, done / total if total else -1.0):
                raise DownloadCancelled("cancelled")

        job.post(self.controls.show, "downloading", f"Downloading 0/{plural(n, 'clip')} from Kinetics…", 0.0)
        try:
            chosen = self.browser.fetch(n, on_progress=on_progress)
        except DownloadCancelled:
            return []
        if not chosen:
            raise RuntimeError("the download finished without any playable clip; try again or use another "
                               "Kinetics mirror (VIDWIDGET_KINETICS_URL)")
        ids = [c.id for c in chosen]
        job.post(self._apply_download, ids)
        return chosen

    def _apply_download(self, ids: list[str]) -> None:
        self._adjusting = True
        try:
            self.browser.refresh(select=ids)
            self._show_selection()
        finally:
            self._adjusting = False

    # -- results (posted from the worker) --------------------------------------------------------------------
    def _run_started(self, run: dict[str, Any]) -> None:
        self._run = run
        self._cancelled -= set(run["ids"])
        self._show_progress(run)

    def _batch_done(self, run: dict[str, Any], frame: pd.DataFrame) -> None:
        if frame is None or frame.empty:
            return
        ids = [str(i) for i in frame["clip_id"]]
        old = self._table
        if old is not None:
            old = old[~old["clip_id"].astype(str).isin(set(ids))]
        self._table = frame.copy() if old is None or old.empty else pd.concat([old, frame], ignore_index=True)
        for cid in ids:
            self._row_keys[cid] = run["key"]
        run["done"].update(ids)
        self._refresh_results()
        self._show_progress(run)

    def _run_done(self, run: dict[str, Any], frame: pd.DataFrame) -> None:
        run["seconds"] = time.monotonic() - run["started"]
        self._refresh_results()
        self._show_rest()

    def _show_progress(self, run: dict[str, Any]) -> None:
        done, total = len(run["done"]), len(run["ids"])
        message = f"Classifying {done}/{plural(total, 'clip')} with {run['key'][0]} at {run['key'][1]} frames"
        if done:
            left = (time.monotonic() - run["started"]) / done * (total - done)
            message += f", about {left:.0f} s left" if total > done else ""
        self.controls.show("classifying", message + "…", done / total if total else -1.0)

    def _job_failed(self, exc: BaseException) -> None:
        self.last_error = exc
        job = self._runner.current
        name = job.name if job else ""
        from vidwidget.errors import ModelError

        if isinstance(exc, ModelError) or name == "load-model":
            doing = f"Could not load model {self.controls.model_name}"
        elif name == "classify":
            doing = "Classification failed"
        else:
            doing = "Failed"
        text = kinetics_unreachable(exc) if name == "classify" and self.browser.can_download else None
        headline, detail = unavailable_model(exc, self.controls.model_name) or (None, "")
        self._error = text or (f"{headline}." if headline else describe_error(exc, doing))
        self._error_detail = "" if text else detail
        if self._shown_rows() is not None:
            self._error += " The results shown were kept."
        self._show_rest()

    def _job_finished(self, job: Job) -> None:
        if job.error is not None and not job.cancelled:
            return  # _job_failed has shown it
        with self._runner._lock:
            if self._runner.current is job and self.controls.busy and not self.browser.busy:
                self._show_rest()

    # -- what the widget shows -----------------------------------------------------------------------------
    def _shown_rows(self) -> pd.DataFrame | None:
        if self._table is None or self._table.empty:
            return None
        shown = [c.id for c in self.player.clip_objects]
        rows = self._table[self._table["clip_id"].astype(str).isin(set(shown))]
        if rows.empty:
            return None
        position = {cid: i for i, cid in enumerate(shown)}
        return rows.iloc[sorted(range(len(rows)), key=lambda i: position[str(rows["clip_id"].iloc[i])])]

    def _stale_ids(self) -> set[str]:
        rows = self._shown_rows()
        if rows is None:
            return set()
        key = (self.controls.model_name, self.controls.num_frames)
        return {str(c) for c in rows["clip_id"] if self._row_keys.get(str(c)) != key}

    def _caption(self, with_time: bool = False) -> str:
        """What made the results shown (model, frame count), with the last run's time when asked (the status
        line says it in the widget)."""
        rows = self._shown_rows()
        keys = set() if rows is None else {self._row_keys[str(c)] for c in rows["clip_id"]}
        if not keys:
            return ""
        parts = [f"{m}, {f} frames" for m, f in sorted(keys)]
        run = self._run
        if with_time and run is not None and run.get("seconds") is not None and len(keys) == 1 and run["key"] in keys:
            parts[0] += f", {len(run['done'])} in {run['seconds']:.0f} s"
        return "; ".join(parts)

    def _refresh_results(self) -> None:
        rows = self._shown_rows()
        stale = self._stale_ids()
        marks = {cid: "stale" for cid in stale}
        if self._cancelled_key == (self.controls.model_name, self.controls.num_frames):
            marks.update({cid: "cancelled" for cid in self._cancelled})
        caption = self._caption()
        self.player.set_results(rows, marks, caption=caption)  # all ranks: the detail view shows the top-10
        scored = _view.scored_view(rows)
        self._show_analysis(scored, caption, bool(stale))

    def _show_analysis(self, rows: pd.DataFrame | None, caption: str, stale: bool) -> None:
        """Feed the AnalysisPanel, made with the first results (an empty analysis would only take room); its
        clicks filter the grid."""
        if self.analysis is None:
            if rows is None:
                return
            self.analysis = AnalysisPanel()
            self.analysis.observe(self._analysis_clicked, ["filter_request"])
            self.player.observe(self._grid_filtered, ["filter"])
            self._analysis_slot.children = (self.analysis,)
        self.analysis.update(rows, stale=stale, caption=caption)

    def _analysis_clicked(self, _change: Any) -> None:
        self.player.filter = self.analysis.filter_spec
        self.player.page = 0

    def _grid_filtered(self, change: Any) -> None:
        """Keep the panel's highlighted class / confusion in line with the grid's own filter bar."""
        spec = {k: v for k, v in change["new"].items() if k in ("true", "predicted", "outcome")}
        if spec != self.analysis.filter_spec:
            self.analysis.request_filter(**spec)

    def _nothing_to_classify(self) -> str:
        b = self.browser
        if b.busy:
            return "Nothing to classify yet: the clips are still being listed."
        if b.error:
            return f"Nothing to classify. {b.error}"
        if b.num_clips == 0:
            return "Nothing to classify: this dataset has no videos. Pass a folder of video files."
        if b.num_downloaded == 0:
            return f"Nothing to classify: none of the {plural(b.num_clips, 'clip')} is on disk."
        return "Nothing to classify: no clips are selected. Tick clips in the table below or press Sample."

    def _show_rest(self) -> None:
        """Show the resting state (no job running): error, stale, cancelled, done or idle, in that order."""
        if self._error:
            self.controls.show("error", self._error, detail=self._error_detail)
            return
        rows = self._shown_rows()
        stale = self._stale_ids()
        n_shown = len(self.player.clip_objects)
        run = self._run
        if run is not None and run.get("cancelled"):  # the user's last action: say what it did
            done, total = len(run["done"]), len(run["ids"])
            text = (f"Cancelled after {done} of {plural(total, 'clip')}; {plural(len(self._cancelled), 'clip')} "
                    "not reached (marked)" if total else "Cancelled before any clip was classified")
            if stale:
                text += f"; {plural(len(stale), 'result')} shown were made with other settings"
            self.controls.show("cancelled", text + ". Press Classify to run again.")
        elif stale:
            m, f = self.controls.model_name, self.controls.num_frames
            self.controls.show("stale", f"{plural(len(stale), 'result')} made with other settings: press Classify "
                                        f"to update them for {m} at {f} frames.")
        elif rows is not None:  # what happened; how good it is is the analysis panel's to say
            self.controls.show("done", self._done_text(rows, n_shown))
        elif self.browser.busy:
            self.controls.show("loading", "Listing the clips…")
        elif n_shown:
            self.controls.show("idle", f"{plural(n_shown, 'clip')} ready: press Classify to run "
                                       f"{self.controls.model_name} at {self.controls.num_frames} frames.")
        elif self.browser.can_download:
            self.controls.show("idle", f"No clips downloaded yet: press Classify to download "
                                       f"{plural(max(1, self.controls.sample_size), 'clip')} and classify them.")
        else:
            self.controls.show("idle", self._nothing_to_classify())
        self.controls.has_clips = bool(n_shown) or self.browser.can_download

    def _done_text(self, rows: pd.DataFrame, n_shown: int) -> str:
        """The status line once results are in: clips classified, the last run's time, failures, clips left."""
        text = f"Classified {plural(len(rows), 'clip')}"
        run = self._run
        if run is not None and run.get("seconds") is not None and run["done"]:
            n_run = len(run["done"])
            took = f"{run['seconds']:.1f} s" if run["seconds"] < 10 else f"{run['seconds']:.0f} s"
            text += f" in {took}" if n_run == len(rows) else f" (the last run: {n_run} in {took})"
        parts = [text]
        failed = _view.summary(_view.scored_view(rows))["counts"].get("failed", 0)
        if failed:
            parts.append(f"{plural(failed, 'clip')} failed (see {'its card' if failed == 1 else 'the cards'})")
        not_run = n_shown - len(rows)
        if not_run:
            parts.append(f"{not_run} not run yet")
        return "; ".join(parts) + "."

    # -- reactions -----------------------------------------------------------------------------------------
    def _show_selection(self) -> None:
        clips = self.browser.selection
        numbers = {c.id: self.browser.number(c.id) or i for i, c in enumerate(clips, start=1)}
        self.player.set_clips(clips, numbers)
        self._refresh_results()

    def _end_cancelled(self) -> None:
        if self._run is not None:
            self._run["cancelled"] = False

    def _running_classify(self) -> bool:
        job = self._runner.current
        return job is not None and not job.done.is_set() and job.name == "classify"

    def _settings_changed(self, change: Any) -> None:
        self.player.num_frames = self.controls.num_frames
        if self._adjusting:
            return
        was_running = self._running_classify()
        if was_running:
            self.cancel()
        self._end_cancelled()
        self._error = self._error_detail = ""
        self._refresh_results()
        rerun = self.controls.auto_rerun and (self.stale or was_running)
        if change["name"] == "model_name":
            name = self.controls.model_name
            if name in self._models:
                self._model_ready(name, self._models[name])
            elif not rerun:  # load it now (in the worker) so errors and its minimum frame count show early
                self._prefetch_model()
                self.controls.show("loading", f"Loading model {name}…")
                return
        if rerun:
            self._schedule_rerun()
        if not self.controls.busy or was_running:
            self._show_rest()

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
        self.browser.sample_n = self.controls.sample_size
        if self.browser.num_clips:
            self.browser.sample()

    def _selection_changed(self, _change: Any) -> None:
        if not self._adjusting and self._running_classify():
            self.cancel()
        self._end_cancelled()
        self._show_selection()
        if not self._runner.busy:
            self._show_rest()

    def _dataset_loaded(self) -> None:
        self._show_selection()
        if not self._runner.busy:
            self._show_rest()

    def _browser_error(self, change: Any) -> None:
        if change["new"]:
            self._error, self._error_detail = change["new"], ""
            if not self._runner.busy:
                self._show_rest()

    def _browser_busy(self, change: Any) -> None:
        if not change["new"] and not self._runner.busy:
            self._show_rest()

    def _on_controls_msg(self, content: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "classify":
            self.classify()
        elif kind == "cancel":
            self.cancel()
        else:
            log.info("vidwidget: unknown request %r from the explorer's toolbar", kind)
