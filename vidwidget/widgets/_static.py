"""Where the widgets' ES modules live: ``js/`` next to the package in a source checkout, ``vidwidget/static``
in an installed wheel (the wheel force-includes ``js/`` there)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def static_dir() -> Path:
    """The folder holding the widgets' ``.js`` and ``.css`` files, installed or in a source checkout."""
    for candidate in (_PACKAGE / "static", _PACKAGE.parent / "js"):
        if (candidate / "player.js").is_file():
            return candidate
    raise FileNotFoundError(
        f"vidwidget's widget modules were not found in {_PACKAGE / 'static'} nor {_PACKAGE.parent / 'js'}; "
        "reinstall the package (the wheel ships them as vidwidget/static)."
    )


def asset(name: str) -> Path:
    """The path of one widget asset (e.g. ``player.js``), for an anywidget ``_esm``/``_css`` trait."""
    path = static_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"vidwidget widget asset {name!r} is missing from {path.parent}")
    return path
