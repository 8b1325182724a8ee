"""Where the widgets' ES modules live: ``js/`` next to the package in a source checkout, ``vidwidget/static``
in an installed wheel (the wheel force-includes ``js/`` there)."""

from __future__ import annotations

import re
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


_LOCAL_IMPORT = re.compile(r'^import \{[^}]*\} from "\./([\w-]+\.js)";\n', re.M)


def module_text(name: str) -> str:
    """The ES module ``name`` with its imports of sibling modules (``import {…} from "./x.js";``) replaced by
    their text: anywidget loads one module from a string, where relative imports cannot resolve, while the
    unit tests import the files as they are. Inlined modules must not reuse the importer's top-level names."""
    seen: set[str] = set()

    def inline(match: re.Match) -> str:
        dep = match.group(1)
        if dep in seen:
            return ""
        seen.add(dep)
        return _LOCAL_IMPORT.sub(inline, asset(dep).read_text("utf-8")) + "\n"

    return _LOCAL_IMPORT.sub(inline, asset(name).read_text("utf-8"))


def joined(*names: str) -> str:
    """Several style sheets as one (a widget has one ``_css``)."""
    return "\n".join(asset(name).read_text("utf-8") for name in names)
