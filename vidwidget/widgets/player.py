"""ClipPlayer: the grid of clip cards (video, number, ground truth, top-5 bars, a mark for not run / stale /
cancelled / failed), filtered and sorted in Python, one page at a time, and a detail view of one clip (large
player, top-10, the frames the model receives). The browser asks for video bytes by clip id only and gets them
as binary buffers, through one bounded request queue per player."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import anywidget
import pandas as pd
import traitlets

from vidwidget.clip import Clip
from vidwidget.widgets import _media, _view
from vidwidget.widgets._requests import RequestQueue
from vidwidget.widgets._static import joined, module_text
from vidwidget.widgets._sync import BrowserWritable, safe_handler
from vidwidget.widgets._text import describe_error
from vidwidget.widgets._timeline import ModelSource, TimelineJobs
from vidwidget.widgets.controls import MAX_FRAMES

log = logging.getLogger(__name__)

CARD_TOP = 5
DETAIL_TOP = 10
FILMSTRIP_HEIGHT = 96
MARKS = ("not run", "stale", "cancelled", "failed")


def _is_downloaded(clip: Clip) -> bool:
    return clip.path is not None and Path(clip.path).is_file()


def _short(text: str | None, clip: Clip) -> str | None:
    """``text`` with the clip's full path replaced by its file name: a card has no room for temp-dir paths (the
    full message stays in the results and the log)."""
    if text is None or clip.path is None:
        return text
    return text.replace(str(clip.path), Path(clip.path).name)


class ClipPlayer(BrowserWritable, anywidget.AnyWidget):
    """A paged grid (``columns`` per row) of clip cards and a detail view of one clip.

    Each clip keeps one number everywhere (its position in the dataset, or in the list given), whatever the
    filter, sort or sample. Results come from :meth:`set_results` (a results DataFrame); the grid's filter
    (``filter``, keys of :func:`vidwidget.inference.filter_results` plus the outcome ``"not run"``) is applied in
    Python and the page gets only its own cards.
    """

    _esm = module_text("player.js")  # with js/timeline.js inlined
    _css = joined("vidwidget.css", "timeline.css")
    _browser_writable = frozenset({"page", "page_size", "filter", "detail_id"})

    cards = traitlets.List(traitlets.Dict(), help="the current page: [{id, number, label, name, available, mark, "
                                                  "result}]").tag(sync=True)
    num_clips = traitlets.Int(0).tag(sync=True)
    num_visible = traitlets.Int(0, help="clips passing the filter").tag(sync=True)
    page = traitlets.Int(0).tag(sync=True)
    page_size = traitlets.Int(12).tag(sync=True)
    filter = traitlets.Dict(help="the grid filter/sort spec").tag(sync=True)
    classes = traitlets.List(traitlets.Unicode(), help="classes for the filter menus (truth and predicted)").tag(
        sync=True
    )
    detail_id = traitlets.Unicode("", help="the clip shown in the detail view ('' = closed)").tag(sync=True)
    detail = traitlets.Dict(help="what the detail view shows (computed)").tag(sync=True)
    columns = traitlets.Int(4).tag(sync=True)
    num_frames = traitlets.Int(64, help="frame count the filmstrips show (the model's input length)").tag(sync=True)
    mode = traitlets.Unicode("crop").tag(sync=True)
    caption = traitlets.Unicode("", help="what made the results (model, frames)").tag(sync=True)
    timeline = traitlets.Dict(help="the detail clip's timeline: {id, state, done, total, message, view}").tag(
        sync=True
    )

    def __init__(self, clips: Iterable[Clip] = (), *, columns: int = 4, num_frames: int = 64, mode: str = "crop",
                 page_size: int = 12, **kwargs: Any) -> None:
        super().__init__(columns=columns, num_frames=num_frames, mode=mode, page_size=page_size, **kwargs)
        self._clips: dict[str, Clip] = {}
        self._numbers: dict[str, int] = {}
        self._results: pd.DataFrame | None = None
        self._views: dict[str, dict[str, Any]] = {}
        self._marks: dict[str, str] = {}
        self._order: list[str] = []
        self._requests = RequestQueue("vidwidget-player")
        self._timelines = TimelineJobs(self._set_timeline)
        self.timeline_model: ModelSource | None = None  # the explorer's models; else Kinetics-400, loaded once
        self._own_model: Any = None
        self.on_msg(safe_handler(self.handle_request))
        self.observe(self._refresh, ["filter", "page", "page_size"])
        self.observe(self._refresh_detail, ["detail_id"])
        self.set_clips(clips)

    # -- validation of what the page may set ----------------------------------------------------------------
    @traitlets.validate("num_frames")
    def _valid_frames(self, proposal: Any) -> int:
        return int(min(max(int(proposal["value"]), 1), MAX_FRAMES))

    @traitlets.validate("page_size")
    def _valid_page_size(self, proposal: Any) -> int:
        return int(min(max(int(proposal["value"]), 1), 48))

    @traitlets.validate("page")
    def _valid_page(self, proposal: Any) -> int:
        last = max(0, (self.num_visible - 1) // max(1, self.page_size))
        return int(min(max(int(proposal["value"]), 0), last))

    @traitlets.validate("filter")
    def _valid_filter(self, proposal: Any) -> dict[str, Any]:
        try:
            return _view.validate_spec(proposal["value"])
        except ValueError as exc:
            raise traitlets.TraitError(str(exc)) from exc

    @traitlets.validate("detail_id")
    def _valid_detail(self, proposal: Any) -> str:
        value = proposal["value"]
        if value and value not in self._clips:
            raise traitlets.TraitError("no clip with this id is shown in this player")
        return value

    # -- state ---------------------------------------------------------------------------------------------
    @property
    def clip_objects(self) -> list[Clip]:
        """The clips shown, in number order."""
        return list(self._clips.values())

    @property
    def visible_ids(self) -> list[str]:
        """The ids passing the filter, in the grid's order (all pages)."""
        return list(self._order)

    def number(self, clip_id: str) -> int | None:
        """The clip's number (the same in the table, the grid, the detail view and the analysis)."""
        return self._numbers.get(clip_id)

    def set_clips(self, clips: Iterable[Clip], numbers: Mapping[str, int] | None = None) -> None:
        """Show ``clips``; ``numbers`` gives each clip's number (default: its position in ``clips``, from 1).
        Results of clips no longer shown are kept for when they come back but not displayed."""
        new: dict[str, Clip] = {}
        for clip in clips:
            if not isinstance(clip, Clip):
                raise TypeError(f"ClipPlayer shows Clip objects, got {type(clip).__name__}")
            new.setdefault(clip.id, clip)
        nums = {cid: int(numbers[cid]) if numbers and cid in numbers else i
                for i, cid in enumerate(new, start=1)}
        order = sorted(new, key=lambda cid: nums[cid])
        self._clips = {cid: new[cid] for cid in order}
        self._numbers = nums
        self.num_clips = len(self._clips)
        if self.detail_id and self.detail_id not in self._clips:
            self.detail_id = ""
        self._refresh_classes()
        self._refresh()

    def set_results(self, df: pd.DataFrame | None, marks: Mapping[str, str] | None = None,
                    caption: str | None = None) -> None:
        """Show the results in ``df`` (one row per clip id; rows of clips not shown are ignored) with ``marks``
        (clip id -> one of :data:`MARKS`: 'stale' and 'cancelled' are given by the caller; 'not run' and
        'failed' follow from the rows)."""
        self._results = None if df is None or df.empty else df.reset_index(drop=True)
        self._views = _view.clip_views(self._results, DETAIL_TOP)
        self._marks = {k: v for k, v in (marks or {}).items() if v in MARKS}
        if caption is not None:
            self.caption = caption
        self._refresh_classes()
        self._refresh()

    def add_results(self, frame: pd.DataFrame) -> None:
        """Add (or replace, by clip id) result rows — for using the player on its own."""
        if frame is None or frame.empty:
            return
        old = self._results
        if old is not None:
            old = old[~old["clip_id"].astype(str).isin(set(frame["clip_id"].astype(str)))]
        merged = frame if old is None or old.empty else pd.concat([old, frame], ignore_index=True)
        self.set_results(merged, self._marks)

    def clear_predictions(self) -> None:
        """Remove all shown results and marks."""
        self.set_results(None)

    def mark_of(self, clip_id: str) -> str | None:
        """The card's mark: 'not run', 'stale', 'cancelled', 'failed' or None (a fresh result)."""
        view = self._views.get(clip_id)
        given = self._marks.get(clip_id)
        if given == "cancelled" or view is None:
            return given if given == "cancelled" else "not run"
        if given == "stale":
            return "stale"
        return "failed" if view["outcome"] == "failed" else None

    def _card(self, clip_id: str, top: int) -> dict[str, Any]:
        clip = self._clips[clip_id]
        view = self._views.get(clip_id)
        if view is not None:
            view = {**view, "top": view["top"][:top], "error": _short(view["error"], clip)}
        return {
            "id": clip.id,
            "number": self._numbers[clip_id],
            "label": clip.label,
            "name": clip.path.name if clip.path is not None else clip.id,
            "available": _is_downloaded(clip),
            "mark": self.mark_of(clip_id),
            "result": view,
        }

    def _refresh_classes(self) -> None:
        names = {c.label for c in self._clips.values() if c.label is not None}
        for cid, view in self._views.items():
            if cid in self._clips and view["top"]:
                names.add(view["top"][0]["label"])
        self.classes = sorted(names)

    def _refresh(self, _change: Any = None) -> None:
        labels = {cid: c.label for cid, c in self._clips.items()}
        self._order = _view.visible_order(list(self._clips), labels, self._results, self.filter)
        self.num_visible = len(self._order)
        size = max(1, self.page_size)
        page = min(self.page, max(0, (len(self._order) - 1) // size))
        if page != self.page:
            self.page = page  # re-enters through the observer
            return
        page_ids = self._order[page * size:(page + 1) * size]
        self.cards = [self._card(cid, CARD_TOP) for cid in page_ids]
        wanted = set(page_ids) | ({self.detail_id} if self.detail_id else set())
        self._requests.drop(lambda key: key[1] in wanted)
        self._refresh_detail()

    def _refresh_detail(self, _change: Any = None) -> None:
        cid = self.detail_id
        if self.timeline.get("id") != cid:
            self.timeline = {}
        if not cid or cid not in self._clips:
            self.detail = {}
            return
        order = self._order if cid in self._order else list(self._clips)
        pos = order.index(cid)
        self.detail = {
            **self._card(cid, DETAIL_TOP),
            "position": pos + 1,
            "total": len(order),
            "prev_id": order[pos - 1] if pos > 0 else None,
            "next_id": order[pos + 1] if pos + 1 < len(order) else None,
        }
        size = max(1, self.page_size)
        if cid in self._order and self._order.index(cid) // size != self.page:
            self.page = self._order.index(cid) // size  # the grid follows the detail view

    # -- requests from the browser -------------------------------------------------------------------------
    def _reply_error(self, kind: str, clip_id: Any, message: str) -> None:
        self.send({"type": "error", "request": kind, "id": clip_id if isinstance(clip_id, str) else None,
                   "message": message})

    def handle_request(self, content: Any) -> Future | None:
        """Answer a browser request ``{"type": "video"|"filmstrip", "id": clip id}`` (queued; returns its future),
        ``{"type": "timeline", "id": clip id}`` (compute its timeline in the background, state in ``timeline``),
        ``{"type": "timeline_cancel"}``, or ``{"type": "cancel"}`` (drop waiting requests for clips off the page);
        anything else — an unknown id, a path, extra keys — is refused with an error message."""
        if not isinstance(content, dict):
            self._reply_error("unknown", None, "request must be an object with 'type' and 'id'")
            return None
        kind, clip_id = content.get("type"), content.get("id")
        if kind == "cancel" and set(content) == {"type"}:
            wanted = {c["id"] for c in self.cards} | {self.detail_id}
            self._requests.drop(lambda key: key[1] in wanted)
            return None
        if kind == "timeline_cancel" and set(content) == {"type"}:
            self._timelines.cancel()
            return None
        if kind not in ("video", "filmstrip", "timeline"):
            self._reply_error(str(kind), clip_id, f"unknown request type {kind!r}")
            return None
        if set(content) - {"type", "id"}:
            self._reply_error(kind, clip_id, "requests name a clip by id only")
            return None
        if not isinstance(clip_id, str) or clip_id not in self._clips:
            self._reply_error(kind, clip_id, "no clip with this id is shown in this player")
            return None
        clip = self._clips[clip_id]
        if not _is_downloaded(clip):
            self._reply_error(kind, clip_id, f"clip {clip_id} is not downloaded yet")
            return None
        if kind == "timeline":
            self._timelines.start(clip, self._timeline_model_for, self.num_frames, self.mode)
            return None
        work = self._send_video if kind == "video" else self._send_filmstrip
        return self._requests.submit((kind, clip_id), lambda: self._guard(work, kind, clip),
                                     urgent=kind == "filmstrip")

    # -- timelines (js/timeline.js under the detail view's player) -------------------------------------------
    def _set_timeline(self, state: dict[str, Any]) -> None:
        self.timeline = state

    def _timeline_model_for(self, job: Any) -> Any:
        if self.timeline_model is not None:
            return self.timeline_model(job)
        if self._own_model is None:
            from vidwidget.models import load_model

            self._own_model = load_model("kinetics-400")
        return self._own_model

    def wait_timeline(self, timeout: float | None = None) -> bool:
        """Wait until no timeline is being computed (for scripts and tests); True when idle."""
        return self._timelines.wait(timeout)

    def _guard(self, work: Any, kind: str, clip: Clip) -> None:
        try:
            work(clip)
        except Exception as exc:  # noqa: BLE001 - a failed preview must show in the grid, not only in the log
            log.info("vidwidget: %s for clip %s failed", kind, clip.id, exc_info=exc)
            self._reply_error(kind, clip.id, _short(describe_error(exc), clip))

    def _send_video(self, clip: Clip) -> None:
        data, mime = _media.preview_bytes(Path(clip.path))
        self.send({"type": "video", "id": clip.id, "mime": mime}, buffers=[data])

    def _send_filmstrip(self, clip: Clip) -> None:
        num_frames = self.num_frames
        frames = _media.filmstrip_bytes(Path(clip.path), num_frames, mode=self.mode, height=FILMSTRIP_HEIGHT)
        self.send({"type": "filmstrip", "id": clip.id, "num_frames": num_frames, "mime": "image/jpeg"},
                  buffers=frames)
