"""Helpers of the seed tests (notebook cells, scripts/run.sh)."""

from __future__ import annotations

from pathlib import Path


def share_model_caches(session_home: Path, home: Path) -> None:
    """Let a fresh VIDWIDGET_HOME use the session's converted K400 weights and compiled model (the ``k400``
    fixture made them), so the seed's ``I3DLoader`` does not convert them again."""
    home.mkdir(parents=True, exist_ok=True)
    for name in ("weights", "compiled"):
        if (session_home / name).is_dir() and not (home / name).exists():
            (home / name).symlink_to(session_home / name, target_is_directory=True)
