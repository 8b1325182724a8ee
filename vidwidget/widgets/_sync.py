"""What the browser may change: each widget names the traits a user sets from the page; anything else a
message carries (caps, computed state) is ignored, and a value a trait refuses is logged and sent back corrected,
so a hostile or stale page can neither raise into the cell output nor lift a limit."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import traitlets

log = logging.getLogger("vidwidget.widgets")


class BrowserWritable:
    """Mixin for an anywidget: only the traits in ``_browser_writable`` accept updates from the page."""

    _browser_writable: ClassVar[frozenset[str]] = frozenset()

    def set_state(self, sync_data: dict[str, Any]) -> None:  # called by ipywidgets for every update from the page
        refused = []
        for name, value in sync_data.items():
            if name not in self._browser_writable:
                refused.append(name)
                continue
            try:
                super().set_state({name: value})  # type: ignore[misc]
            except (traitlets.TraitError, TypeError, ValueError) as exc:
                log.info("vidwidget: refused %s=%r from the browser: %s", name, value, exc)
                refused.append(name)
        if refused:
            log.info("vidwidget: %s ignored browser updates of %s", type(self).__name__, sorted(refused))
            known = [n for n in refused if n in self.keys]  # type: ignore[attr-defined]
            if known:
                self.send_state(known)  # type: ignore[attr-defined] - put the page back in line with Python


def safe_handler(handler: Callable[[Any], Any]) -> Callable[[Any, Any, Sequence[Any]], None]:
    """An ``on_msg`` callback calling ``handler(content)`` that logs any exception instead of letting ipywidgets
    print a traceback into the cell output."""

    def on_msg(_widget: Any, content: Any, _buffers: Sequence[Any]) -> None:
        try:
            handler(content)
        except Exception:  # noqa: BLE001 - logged; the widget shows its own message
            log.exception("vidwidget: handling the browser message %r failed", content)

    return on_msg
