"""Exceptions that say what failed, why, and what to do; one base class so callers can catch them all."""

from __future__ import annotations


class VidwidgetError(Exception):
    """Base class of every error vidwidget raises on purpose."""


class VideoError(VidwidgetError, ValueError):
    """A video cannot be read or used (missing, empty, corrupt, no video stream, no frames, bad size)."""


class ModelError(VidwidgetError):
    """A model cannot be built, loaded, or called with the given input."""


class ModelUnavailableError(ModelError):
    """A model's weights are not available here (offline, not installed) — the message says how to get them.

    ``remedy``, when given, is that advice alone (a sentence of the message), for a UI that shows a short headline
    with what to do apart from the technical details."""

    def __init__(self, message: str, *, remedy: str | None = None) -> None:
        super().__init__(message)
        self.remedy = remedy


class DownloadError(VidwidgetError):
    """A download failed for good (after retries) or its data did not verify."""


class UnsafeArchiveError(VidwidgetError):
    """An archive member tried to write outside the target folder, or is not a regular file."""


class OutputConflictError(VidwidgetError):
    """An output cannot be written: another process is writing it, or it holds results of another input or
    other settings."""
