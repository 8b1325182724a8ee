"""Self-contained HTML for clips: videos embedded as browser-safe data URIs, so a saved page keeps playing
after it is moved or mailed (a link to the clip file would break)."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

from .errors import VidwidgetError
from .video import browser_preview


def video_tag(path: str | os.PathLike, max_width: int = 320, *, on_error: str = "message") -> str:
    """One ``<video>`` element playing the clip at ``path``, embedded as an H.264 preview (at most
    ``max_width`` px wide; see :func:`vidwidget.video.browser_preview`) in a ``data:`` URI.

    A clip that cannot be read gives an escaped "cannot show this clip" note instead (``on_error="message"``,
    so a table of many clips still renders), or raises :class:`vidwidget.VideoError` (``on_error="raise"``).
    """
    if on_error not in ("message", "raise"):
        raise ValueError(f'on_error must be "message" or "raise", got {on_error!r}')
    name = html.escape(Path(path).name, quote=True)
    try:
        data = base64.b64encode(browser_preview(path, max_width=max_width).read_bytes()).decode("ascii")
    except (VidwidgetError, OSError) as exc:
        if on_error == "raise":
            raise
        return f'<div class="vidwidget-video-error">cannot show this clip: {html.escape(str(exc))}</div>'
    return (f'<video controls muted loop playsinline preload="metadata" title="{name}" '
            f'style="max-width:{int(max_width)}px;width:100%" src="data:video/mp4;base64,{data}"></video>')
