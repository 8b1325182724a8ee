"""ExplorerControls: the VideoExplorer toolbar (model, frames as slider + number box + presets, sample size,
auto re-run, Classify / Cancel) and its one status area, which always shows the single current state."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

from vidwidget.widgets._static import asset
from vidwidget.widgets._sync import BrowserWritable

MAX_FRAMES = 300
STATES = ("idle", "loading", "downloading", "classifying", "done", "stale", "cancelled", "error")
"""The explorer's states: nothing run yet; loading the model or the dataset; downloading clips; classifying;
results fresh; results made with other settings; the last run was cancelled; something failed."""
BUSY_STATES = frozenset({"loading", "downloading", "classifying"})


class ExplorerControls(BrowserWritable, anywidget.AnyWidget):
    """The explorer's toolbar and status line. The page may set only the model, the frame count, the sample
    size and auto re-run; the frame cap and the state are Python's."""

    _esm = asset("controls.js")
    _css = asset("vidwidget.css")
    _browser_writable = frozenset({"model_name", "num_frames", "sample_size", "auto_rerun"})

    model_name = traitlets.Unicode("kinetics-400").tag(sync=True)
    model_options = traitlets.List(traitlets.List(), help="[[label, value], ...] of the model dropdown").tag(
        sync=True
    )
    num_frames = traitlets.Int(64).tag(sync=True)
    min_frames = traitlets.Int(1, help="the loaded model's minimum (1 until a model is loaded)").tag(sync=True)
    max_frames = traitlets.Int(MAX_FRAMES, help="the cap; set in Python only").tag(sync=True)
    sample_size = traitlets.Int(4).tag(sync=True)
    auto_rerun = traitlets.Bool(False).tag(sync=True)
    state = traitlets.Enum(STATES, "idle").tag(sync=True)
    message = traitlets.Unicode("", help="one sentence: the current state and what to do").tag(sync=True)
    detail = traitlets.Unicode("", help="the message's details (what to do, then the technical rest), shown "
                                        "smaller under it and folded to one line until expanded").tag(sync=True)
    progress = traitlets.Float(-1.0, help="0..1 of the running step; -1 when unknown or idle").tag(sync=True)
    has_clips = traitlets.Bool(False, help="whether Classify has anything to work on").tag(sync=True)

    @property
    def busy(self) -> bool:
        """True while the state is a running one (loading, downloading, classifying)."""
        return self.state in BUSY_STATES

    @property
    def stale(self) -> bool:
        """True when the shown results were made with other settings."""
        return self.state == "stale"

    def show(self, state: str, message: str, progress: float = -1.0, detail: str = "") -> None:
        """Set the one current state, its sentence, its details (none by default) and progress together — in one
        message to the page, so it never shows a new state with the old sentence."""
        with self.hold_sync(), self.hold_trait_notifications():
            self.state = state
            self.message = message
            self.detail = detail
            self.progress = float(progress)

    @traitlets.validate("model_name")
    def _valid_model(self, proposal: Any) -> str:
        value = proposal["value"]
        allowed = [opt[1] for opt in self.model_options]
        if allowed and value not in allowed:
            raise traitlets.TraitError(f"unknown model {value!r}; choose one of {allowed}")
        return value

    @traitlets.validate("num_frames")
    def _valid_frames(self, proposal: Any) -> int:
        return int(min(max(int(proposal["value"]), self.min_frames, 1), self.max_frames))

    @traitlets.validate("max_frames")
    def _valid_cap(self, proposal: Any) -> int:
        return int(min(max(int(proposal["value"]), 1), MAX_FRAMES))

    @traitlets.validate("sample_size")
    def _valid_sample(self, proposal: Any) -> int:
        return int(min(max(0, int(proposal["value"])), 10_000))
