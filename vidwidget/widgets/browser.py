"""DatasetBrowser: a dataset's clips as a sortable, filterable, paged table with counts, seeded sampling (N at
random or N per class) and "download more" with progress. Filtering and sorting happen in Python, so a
20,000-clip Kinetics split costs the browser one page of rows."""

from __future__ import annotations

import inspect
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from vidwidget.clip import Clip
from vidwidget.widgets._jobs import Job, JobRunner
from vidwidget.widgets._static import asset
from vidwidget.widgets._sync import BrowserWritable, safe_handler
from vidwidget.widgets._text import describe_error, kinetics_unreachable, plural

log = logging.getLogger(__name__)


def _downloaded(clip: Clip) -> bool:
    return clip.path is not None and Path(clip.path).is_file()


class DownloadCancelled(Exception):
    """Raised from a download's progress callback to stop it (the dataset leaves no partial clip behind)."""


def list_clips(dataset: Any) -> list[Clip]:
    """All clips of ``dataset`` (downloaded or not when the dataset can tell), or of a plain list of clips."""
    if isinstance(dataset, Sequence) and not isinstance(dataset, str | bytes):
        clips = list(dataset)
    else:
        method = getattr(dataset, "clips", None)
        if method is None:
            raise TypeError(
                f"{type(dataset).__name__} is not a dataset: expected an object with a .clips() method "
                "(KineticsDataset, VideoFolder) or a list of Clip"
            )
        if "downloaded_only" in inspect.signature(method).parameters:
            clips = list(method(downloaded_only=False))
        else:
            clips = list(method())
    bad = [c for c in clips if not isinstance(c, Clip)]
    if bad:
        raise TypeError(f"a dataset must give Clip objects, got {type(bad[0]).__name__}")
    return clips


class DatasetBrowser(BrowserWritable, anywidget.AnyWidget):
    """The clips of a dataset as a table: class search, downloaded filter, sorting, counts, seeded sampling
    into ``selected_ids`` and, for downloadable datasets, "download more" with progress. A dataset object is
    listed in the background (see :meth:`wait`); a list of clips at once. Each clip's number is its position in
    the dataset (from 1), the same the explorer's grid shows."""

    _esm = asset("browser.js")
    _css = asset("vidwidget.css")
    _browser_writable = frozenset({"query", "downloaded_filter", "sort_by", "sort_desc", "page", "sample_n",
                                   "per_class", "seed", "download_n"})

    rows = traitlets.List(traitlets.Dict(), help="the current page: [{id, label, downloaded, selected}]").tag(
        sync=True
    )
    num_clips = traitlets.Int(0).tag(sync=True)
    num_downloaded = traitlets.Int(0).tag(sync=True)
    num_classes = traitlets.Int(0).tag(sync=True)
    num_matching = traitlets.Int(0).tag(sync=True)
    matching_classes = traitlets.Int(0).tag(sync=True)
    selected_classes = traitlets.Int(0).tag(sync=True)
    query = traitlets.Unicode("", help="class search (case-insensitive substring of the label)").tag(sync=True)
    downloaded_filter = traitlets.Enum(["all", "downloaded", "missing"], "all").tag(sync=True)
    sort_by = traitlets.Enum(["index", "id", "label", "downloaded"], "index").tag(sync=True)
    sort_desc = traitlets.Bool(False).tag(sync=True)
    page = traitlets.Int(0).tag(sync=True)
    page_size = traitlets.Int(25).tag(sync=True)
    selected_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    sample_n = traitlets.Int(4).tag(sync=True)
    per_class = traitlets.Bool(False, help="sample (or download) sample_n clips per matching class").tag(sync=True)
    seed = traitlets.Int(0).tag(sync=True)
    can_download = traitlets.Bool(False).tag(sync=True)
    download_n = traitlets.Int(4).tag(sync=True)
    progress = traitlets.Dict(help="{bytes_done, bytes_total, clips_done, clips_total} of the running download").tag(
        sync=True
    )
    busy = traitlets.Unicode("", help="what the browser is doing ('' when idle)").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    embedded = traitlets.Bool(False, help="inside a VideoExplorer, whose status area shows status and errors").tag(
        sync=True
    )

    @traitlets.validate("sample_n", "download_n")
    def _valid_count(self, proposal: Any) -> int:
        return int(min(max(0, int(proposal["value"])), 10_000))

    @traitlets.validate("page_size")
    def _valid_page_size(self, proposal: Any) -> int:
        return int(min(max(1, int(proposal["value"])), 200))

    def __init__(self, dataset: Any = None, *, sample_n: int = 4, seed: int = 0, runner: JobRunner | None = None,
                 **kwargs: Any) -> None:
        super().__init__(sample_n=sample_n, seed=seed, **kwargs)
        self._dataset: Any = None
        self._clips: list[Clip] = []
        self._index: dict[str, int] = {}
        self._runner = runner or JobRunner("vidwidget-browser")
        self._on_loaded: list[Callable[[], Any]] = []
        self.on_msg(safe_handler(self.handle_request))
        self.observe(self._refresh_rows, ["query", "downloaded_filter", "sort_by", "sort_desc", "page", "page_size"])
        if isinstance(dataset, Sequence) and not isinstance(dataset, str | bytes):
            self.set_dataset(dataset, sample=True)
        elif dataset is not None:  # listing may read or download annotations: do it off the kernel's thread
            self.load(lambda: dataset)

    # -- data ----------------------------------------------------------------------------------------------
    @property
    def dataset(self) -> Any:
        """The dataset shown (None when built from a plain list)."""
        return self._dataset

    @property
    def all_clips(self) -> list[Clip]:
        """Every clip of the dataset, in dataset order."""
        return list(self._clips)

    @property
    def selection(self) -> list[Clip]:
        """The selected clips, in selection order."""
        return [self._clips[self._index[i]] for i in self.selected_ids if i in self._index]

    def number(self, clip_id: str) -> int | None:
        """The clip's number: its position in the dataset, from 1 (None for an unknown id)."""
        i = self._index.get(clip_id)
        return None if i is None else i + 1

    def set_dataset(self, dataset: Any, *, sample: bool = True) -> None:
        """Show ``dataset`` (an object with ``.clips()`` or a list of clips) and, if ``sample``, select a seeded
        sample of ``sample_n`` downloaded clips."""
        self._dataset = None if isinstance(dataset, Sequence) else dataset
        self.can_download = callable(getattr(self._dataset, "download", None))
        self.set_clips(list_clips(dataset), keep_selection=False)
        if sample:
            self.sample()

    def set_clips(self, clips: Iterable[Clip], *, keep_selection: bool = True) -> None:
        """Replace the table's clips (e.g. after a download); keeps the selection of clips still present."""
        self._clips = list(clips)
        self._index = {c.id: i for i, c in enumerate(self._clips)}
        self.num_clips = len(self._clips)
        self.num_downloaded = sum(_downloaded(c) for c in self._clips)
        self.num_classes = len({c.label for c in self._clips if c.label is not None})
        ids = [i for i in self.selected_ids if i in self._index] if keep_selection else []
        self._set_selection(ids)

    def on_loaded(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` whenever a background load or download has replaced the clips."""
        self._on_loaded.append(callback)

    def load(self, factory: Callable[[], Any], *, what: str = "dataset",
             describe: Callable[[BaseException], str] | None = None) -> Job:
        """Build the dataset with ``factory()`` in the background (it may read or download annotations), then
        show it and select a sample; failures appear in ``error`` (in the words of ``describe(exc)`` when
        given)."""
        describe = describe or (lambda e: describe_error(e, f"Could not load the {what}"))

        def work(job: Job) -> None:
            dataset = factory()
            clips = list_clips(dataset)
            job.post(self._loaded, dataset, clips)

        self.busy = f"loading {what}…"
        self.error = ""
        return self._runner.submit("load", work, on_error=lambda e: setattr(self, "error", describe(e)),
                                   on_finish=self._finished)

    def _loaded(self, dataset: Any, clips: list[Clip]) -> None:
        self._dataset = None if isinstance(dataset, Sequence) else dataset
        self.can_download = callable(getattr(self._dataset, "download", None))
        self.set_clips(clips, keep_selection=False)
        self.sample()
        self.status = self._counts_text()
        for callback in self._on_loaded:
            callback()

    def _counts_text(self) -> str:
        parts = [plural(self.num_clips, "clip"), f"{self.num_downloaded} downloaded"]
        if self.num_classes:
            parts.append(plural(self.num_classes, "class", "classes"))
        return ", ".join(parts)

    def _failed(self, exc: BaseException, doing: str) -> None:
        self.error = kinetics_unreachable(exc) or describe_error(exc, doing)

    def _finished(self, job: Job) -> None:
        if self._runner.current is job:
            self.busy = ""

    # -- table ---------------------------------------------------------------------------------------------
    def matching(self) -> list[Clip]:
        """The clips passing the class search and the downloaded filter, in the table's sort order."""
        query = self.query.strip().lower()
        out = []
        for clip in self._clips:
            if query and query not in (clip.label or "").lower() and query not in clip.id.lower():
                continue
            if self.downloaded_filter != "all" and _downloaded(clip) != (self.downloaded_filter == "downloaded"):
                continue
            out.append(clip)
        if self.sort_by == "id":
            out.sort(key=lambda c: c.id, reverse=self.sort_desc)
        elif self.sort_by == "label":
            out.sort(key=lambda c: ((c.label or "").lower(), c.id), reverse=self.sort_desc)
        elif self.sort_by == "downloaded":
            out.sort(key=lambda c: (_downloaded(c), self._index[c.id]), reverse=self.sort_desc)
        elif self.sort_desc:
            out.reverse()
        return out

    def _refresh_rows(self, _change: Any = None) -> None:
        matching = self.matching()
        self.num_matching = len(matching)
        self.matching_classes = len({c.label for c in matching if c.label is not None})
        size = max(1, self.page_size)
        last = max(0, (len(matching) - 1) // size)
        if self.page > last or self.page < 0:
            self.page = min(max(self.page, 0), last)  # re-enters via the observer
            return
        selected = set(self.selected_ids)
        self.rows = [
            {"id": c.id, "index": self._index[c.id] + 1, "label": c.label, "downloaded": _downloaded(c),
             "selected": c.id in selected}
            for c in matching[self.page * size:(self.page + 1) * size]
        ]

    def _set_selection(self, ids: list[str]) -> None:
        seen: dict[str, None] = {}
        for i in ids:
            if i in self._index:
                seen.setdefault(i, None)
        self.selected_ids = list(seen)
        self.selected_classes = len({c.label for c in self.selection if c.label is not None})
        self._refresh_rows()

    def select(self, ids: Iterable[str]) -> None:
        """Select exactly the clips ``ids`` (unknown ids are ignored)."""
        self._set_selection(list(ids))

    # -- sampling and downloads -----------------------------------------------------------------------------
    def sample(self, n: int | None = None, *, per_class: bool | None = None, seed: int | None = None) -> list[Clip]:
        """Select ``n`` downloaded clips among the matching ones at random with ``seed`` (or ``n`` per class);
        returns them. Not-downloaded clips cannot be played or classified, so they are never sampled."""
        n = self.sample_n if n is None else n
        per_class = self.per_class if per_class is None else per_class
        seed = self.seed if seed is None else seed
        if n < 0:
            raise ValueError(f"sample size must be ≥ 0, got {n}")
        pool = [c for c in self.matching() if _downloaded(c)]
        pool.sort(key=lambda c: self._index[c.id])
        rng = random.Random(seed)
        if per_class:
            by_class: dict[str | None, list[Clip]] = {}
            for clip in pool:
                by_class.setdefault(clip.label, []).append(clip)
            chosen = []
            for label in sorted(by_class, key=lambda x: (x is None, x or "")):
                members = by_class[label]
                chosen.extend(rng.sample(members, min(n, len(members))))
        else:
            chosen = rng.sample(pool, min(n, len(pool)))
            chosen.sort(key=lambda c: self._index[c.id])
        self._set_selection([c.id for c in chosen])
        missing = self.num_matching - len(pool)
        what = f"{n} per class" if per_class else f"{n} at random"
        self.status = (f"sampled {plural(len(chosen), 'clip')} ({what}, seed {seed}) from {len(pool)} downloaded "
                       f"matching" + (f"; {plural(missing, 'matching clip')} not downloaded" if missing else ""))
        return chosen

    def fetch(self, n: int, on_progress: Callable[[Any], Any] | None = None) -> list[Clip]:
        """Download ``n`` clips of the dataset now, in the calling thread (the explorer's worker), and return
        them; the table is not touched — call :meth:`refresh` (on the widget's side) to show them. Raise
        :class:`DownloadCancelled` from ``on_progress`` to stop."""
        if not self.can_download:
            raise TypeError("this dataset cannot download clips (it is a local folder or a list)")
        if n <= 0:
            raise ValueError(f"number of clips to download must be ≥ 1, got {n}")
        chosen = self._dataset.download(n=n, progress=False, on_progress=on_progress)
        return [c for c in chosen if _downloaded(c)]

    def refresh(self, select: Iterable[str] | None = None) -> None:
        """Re-list the dataset's clips (after a download) and, with ``select``, select exactly those ids."""
        if self._dataset is None:
            return
        self.set_clips(list_clips(self._dataset))
        if select is not None:
            self.select(select)
        self.status = self._counts_text()

    def download(self, n: int | None = None) -> Job:
        """Download ``n`` more clips (``download_n`` by default) of the matching classes — or, with
        ``per_class``, make sure ``n`` clips of each matching class are on disk — in the background with
        progress, then refresh the table."""
        if not self.can_download:
            raise TypeError("this dataset cannot download clips (it is a local folder or a list)")
        n = self.download_n if n is None else n
        if n <= 0:
            raise ValueError(f"number of clips to download must be ≥ 1, got {n}")
        dataset = self._dataset
        matching = self.matching()
        classes = sorted({c.label for c in matching if c.label is not None}) if self.query.strip() else None
        if self.query.strip() and not classes:
            raise ValueError(f"no class matches {self.query!r}; clear the search to download any class")
        kwargs: dict[str, Any] = {"classes": classes}
        if self.per_class:
            kwargs["per_class"] = n
        else:  # the dataset counts clips already on disk, so ask for those plus n
            pool = matching if classes is not None else self._clips
            kwargs["n"] = sum(_downloaded(c) for c in pool) + n

        def work(job: Job) -> None:
            def on_progress(event: Any) -> None:
                if not job.post(self._progress, event):
                    raise DownloadCancelled("download cancelled")

            before = self.num_downloaded
            try:
                dataset.download(**kwargs, progress=False, on_progress=on_progress)
            except DownloadCancelled:
                return
            clips = list_clips(dataset)
            job.post(self._downloaded_done, clips, before)

        self.busy = "downloading…"
        self.error = ""
        self.progress = {}
        return self._runner.submit("download", work, on_error=lambda e: self._failed(e, "Download failed"),
                                   on_finish=self._finished)

    def _progress(self, event: Any) -> None:
        self.progress = {k: int(getattr(event, k, 0) or 0)
                         for k in ("bytes_done", "bytes_total", "clips_done", "clips_total")}

    def _downloaded_done(self, clips: list[Clip], before: int) -> None:
        self.set_clips(clips)
        self.status = (f"downloaded {plural(self.num_downloaded - before, 'clip')}; "
                       f"{self.num_downloaded} available")
        for callback in self._on_loaded:
            callback()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the background load or download is done (for scripts and tests)."""
        return self._runner.wait(timeout)

    def cancel(self) -> None:
        """Stop the running load or download (the current archive member finishes in the background)."""
        if self._runner.cancel() is not None:
            self.busy = ""
            self.status = "cancelled"

    # -- messages from the browser ---------------------------------------------------------------------------
    def handle_request(self, content: Any) -> None:
        """Act on a browser message: ``toggle`` (a clip id), ``sample``, ``download``, ``cancel``."""
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if kind == "toggle":
                clip_id = content.get("id")
                if not isinstance(clip_id, str) or clip_id not in self._index:
                    self.error = "no clip with this id in the dataset"
                    return
                ids = list(self.selected_ids)
                self._set_selection([i for i in ids if i != clip_id] if clip_id in ids else [*ids, clip_id])
            elif kind == "sample":
                self.error = ""
                self.sample()
            elif kind == "download":
                self.download()
            elif kind == "cancel":
                self.cancel()
            else:
                self.error = f"unknown request {kind!r}"
        except (TypeError, ValueError) as exc:
            self.error = describe_error(exc)
