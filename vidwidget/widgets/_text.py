"""Turning exceptions into the short sentences the widgets show (the traceback still goes to the log)."""

from __future__ import annotations

from vidwidget.errors import VidwidgetError


def describe_error(exc: BaseException, doing: str | None = None) -> str:
    """A one-paragraph, user-facing description of ``exc``, prefixed by what was being done when given."""
    text = str(exc).strip()
    if not isinstance(exc, VidwidgetError) or not text:
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return f"{doing}: {text}" if doing else text
