"""ClipPlayer: a grid of playable clips with index, ground truth and top-1 prediction, and a per-clip filmstrip
of the frames the model receives; the browser asks for video bytes by clip id and gets them as binary buffers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anywidget
import pandas as pd
import traitlets

from vidwidget.clip import Clip
from vidwidget.widgets import _media
from vidwidget.widgets._static import asset
from vidwidget.widgets._text import describe_error

log = logging.getLogger(__name__)

_executor_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _media_executor() -> ThreadPoolExecutor:
    """Two threads shared by all players for previews and filmstrips, so a transcode never blocks the kernel."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vidwidget-media")
        return _executor


def _is_downloaded(clip: Clip) -> bool:
    return clip.path is not None and Path(clip.path).is_file()


class ClipPlayer(anywidget.AnyWidget):
    """A grid (``columns`` per row) of playable clips; shows each clip's index, ground truth and, once predicted,
    its top-1 label in green (right) or red (wrong), and on request the filmstrip at ``num_frames`` frames."""

    _esm = asset("player.js")
    _css = asset("vidwidget.css")

    clips = traitlets.List(traitlets.Dict(), help="[{id, index, label, name, available}] shown in the grid").tag(
        sync=True
    )
    predictions = traitlets.Dict(help="clip id -> {top1, score, correct, error}").tag(sync=True)
    columns = traitlets.Int(4).tag(sync=True)
    num_frames = traitlets.Int(64, help="frame count the filmstrips show (the model's input length)").tag(sync=True)
    mode = traitlets.Unicode("crop").tag(sync=True)
    stale = traitlets.Bool(False, help="predictions were made with other settings").tag(sync=True)

    def __init__(self, clips: Iterable[Clip] = (), *, columns: int = 4, num_frames: int = 64, mode: str = "crop",
                 **kwargs: Any) -> None:
        super().__init__(columns=columns, num_frames=num_frames, mode=mode, **kwargs)
        self._clips: dict[str, Clip] = {}
        self.on_msg(self._on_custom_msg)
        self.set_clips(clips)

    # -- state ---------------------------------------------------------------------------------------------
    @property
    def clip_objects(self) -> list[Clip]:
        """The clips shown, in grid order."""
        return list(self._clips.values())

    def set_clips(self, clips: Iterable[Clip]) -> None:
        """Show ``clips`` (in order) and drop the predictions of clips no longer shown."""
        new: dict[str, Clip] = {}
        for clip in clips:
            if not isinstance(clip, Clip):
                raise TypeError(f"ClipPlayer shows Clip objects, got {type(clip).__name__}")
            new.setdefault(clip.id, clip)
        if list(new.values()) == list(self._clips.values()) and self.clips:
            return  # same clips: keep the browser's loaded videos
        self._clips = new
        self.predictions = {k: v for k, v in self.predictions.items() if k in self._clips}
        self.clips = [
            {
                "id": clip.id,
                "index": i,
                "label": clip.label,
                "name": clip.path.name if clip.path is not None else clip.id,
                "available": _is_downloaded(clip),
            }
            for i, clip in enumerate(self._clips.values(), start=1)
        ]

    def clear_predictions(self) -> None:
        """Remove all shown predictions (e.g. when a new run starts)."""
        self.predictions = {}
        self.stale = False

    def add_results(self, frame: pd.DataFrame) -> None:
        """Show the top-1 prediction of each result row (columns ``clip_id``, ``Ground_Truth``, ``pred_1``,
        ``score_1``, ``error``) of clips in the grid."""
        updated = dict(self.predictions)
        for row in frame.to_dict("records"):
            clip_id = str(row.get("clip_id"))
            if clip_id not in self._clips:
                continue
            error = row.get("error")
            error = None if error is None or (isinstance(error, float) and pd.isna(error)) else str(error)
            top1 = row.get("pred_1")
            top1 = None if top1 is None or (isinstance(top1, float) and pd.isna(top1)) else str(top1)
            truth = self._clips[clip_id].label
            score = row.get("score_1")
            updated[clip_id] = {
                "top1": top1,
                "score": None if score is None or pd.isna(score) else float(score),
                "correct": None if (truth is None or top1 is None) else bool(top1 == truth),
                "error": error,
            }
        self.predictions = updated

    # -- requests from the browser -------------------------------------------------------------------------
    def _reply_error(self, kind: str, clip_id: Any, message: str) -> None:
        self.send({"type": "error", "request": kind, "id": clip_id if isinstance(clip_id, str) else None,
                   "message": message})

    def _on_custom_msg(self, _widget: Any, content: Any, _buffers: Sequence[Any]) -> None:
        self.handle_request(content)

    def handle_request(self, content: Any) -> Future | None:
        """Answer a browser request ``{"type": "video"|"filmstrip", "id": clip id}``; anything else — an unknown
        id, a path, extra keys — is refused with an error message. Returns the future doing the work, if any."""
        if not isinstance(content, dict):
            self._reply_error("unknown", None, "request must be an object with 'type' and 'id'")
            return None
        kind, clip_id = content.get("type"), content.get("id")
        if kind not in ("video", "filmstrip"):
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
        work = self._send_video if kind == "video" else self._send_filmstrip
        return _media_executor().submit(self._guard, work, kind, clip)

    def _guard(self, work: Any, kind: str, clip: Clip) -> None:
        try:
            work(clip)
        except Exception as exc:  # noqa: BLE001 - a failed preview must show in the grid, not only in the log
            log.warning("vidwidget: %s for clip %s failed", kind, clip.id, exc_info=exc)
            self._reply_error(kind, clip.id, describe_error(exc))

    def _send_video(self, clip: Clip) -> None:
        data, mime = _media.preview_bytes(Path(clip.path))
        self.send({"type": "video", "id": clip.id, "mime": mime}, buffers=[data])

    def _send_filmstrip(self, clip: Clip) -> None:
        num_frames = self.num_frames
        frames = _media.filmstrip_bytes(Path(clip.path), num_frames, mode=self.mode)
        self.send({"type": "filmstrip", "id": clip.id, "num_frames": num_frames, "mime": "image/jpeg"},
                  buffers=frames)
