"""Where vidwidget keeps its files and which servers it talks to, all overridable by environment variables."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

KINETICS_URL = "https://s3.amazonaws.com/kinetics/"
LABELS_URL = "https://raw.githubusercontent.com/deepmind/kinetics-i3d/master/data/"


def home() -> Path:
    """Root for downloads, caches and converted weights (``VIDWIDGET_HOME``, else the user cache dir)."""
    env = os.environ.get("VIDWIDGET_HOME")
    root = Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("vidwidget"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def subdir(name: str) -> Path:
    """A named folder under :func:`home`, created on first use."""
    path = home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _as_url(value: str) -> str:
    """A URL as given, or a local folder path turned into a ``file://`` URL (for offline mirrors)."""
    if "://" in value:
        return _with_slash(value)
    return _with_slash(Path(value).expanduser().resolve().as_uri())


def kinetics_url() -> str:
    """Base URL of the Kinetics bucket (``VIDWIDGET_KINETICS_URL``); tests point it at a loopback mirror."""
    return _as_url(os.environ.get("VIDWIDGET_KINETICS_URL", KINETICS_URL))


def labels_url() -> str:
    """Base URL (or local folder) holding ``label_map.txt`` and ``label_map_600.txt`` (``VIDWIDGET_LABELS_URL``)."""
    return _as_url(os.environ.get("VIDWIDGET_LABELS_URL", LABELS_URL))


#: Largest frame decoded, in pixels (8192×8192); ``VIDWIDGET_MAX_PIXELS`` overrides it.
MAX_PIXELS = 8192 * 8192


def max_pixels() -> int:
    """Frames with more pixels than this are refused before decoding (``VIDWIDGET_MAX_PIXELS``), so a tiny file
    claiming a huge picture cannot allocate gigabytes."""
    return _int_env("VIDWIDGET_MAX_PIXELS", MAX_PIXELS)


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    try:
        return max(1, int(value)) if value else default
    except ValueError:
        raise ValueError(f"{name} must be a positive whole number, got {value!r}") from None


def max_download_bytes() -> int:
    """Most bytes one download of unknown size may bring (``VIDWIDGET_MAX_DOWNLOAD_BYTES``, default 64 GiB;
    free disk space bounds it further)."""
    return _int_env("VIDWIDGET_MAX_DOWNLOAD_BYTES", 64 << 30)


def max_member_bytes() -> int:
    """Largest archive member accepted, extracted or skipped (``VIDWIDGET_MAX_MEMBER_BYTES``, default 2 GiB;
    a Kinetics clip is a few MB)."""
    return _int_env("VIDWIDGET_MAX_MEMBER_BYTES", 2 << 30)
