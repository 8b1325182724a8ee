"""Kinetics label maps: class index → name, for the 400- and 600-class models.

Resolved in this order and cached under ``VIDWIDGET_HOME/labels``: the cache; DeepMind's
``label_map.txt`` / ``label_map_600.txt`` (or ``label_map_400.txt``) from ``VIDWIDGET_LABELS_URL`` (a URL
or a local folder); the sorted unique labels of the Kinetics validation
annotations (which equal the label map for 400 and 600). Every source is count-checked.
"""

from __future__ import annotations

import functools
from pathlib import Path

from .._atomic import write_atomic
from .._cachefile import open_regular, remove_entry
from .._config import labels_url, subdir
from .._http import fetch_bytes
from ..errors import DownloadError, ModelUnavailableError

FILE_NAMES = {400: "label_map.txt", 600: "label_map_600.txt"}


def parse_label_map(text: str) -> list[str]:
    """One label per line, blank lines ignored, surrounding whitespace stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _check(labels: list[str], num_classes: int, source: str) -> list[str]:
    if len(labels) != num_classes:
        raise ValueError(f"{source} has {len(labels)} labels, expected {num_classes}")
    if len(set(labels)) != num_classes:
        raise ValueError(f"{source} has duplicate labels")
    return labels


def _from_annotations(num_classes: int) -> list[str]:
    from ..data import KineticsDataset  # the data layer knows where annotations live and caches them

    return sorted(set(KineticsDataset(str(num_classes), "val").annotations["label"].dropna()))


@functools.cache
def kinetics_labels(num_classes: int) -> tuple[str, ...]:
    """The Kinetics-400 or -600 class names in model output order (cached on disk after the first fetch)."""
    if num_classes not in FILE_NAMES:
        raise ValueError(f"no Kinetics label map with {num_classes} classes (known: 400, 600)")
    cache = subdir("labels") / FILE_NAMES[num_classes]
    tried: list[str] = []
    cached = open_regular(cache)  # anything but a regular file there (dir, fifo, symlink) is removed and rebuilt
    if cached is not None:
        with cached:
            data = cached.read()
        try:
            return tuple(_check(parse_label_map(data.decode("utf-8")), num_classes, str(cache)))
        except (ValueError, UnicodeDecodeError) as exc:
            tried.append(f"cache {cache}: {exc} (removed)")
            remove_entry(cache)
    labels = None
    # DeepMind's file name, then the plain label_map_{n}.txt
    for name in dict.fromkeys([FILE_NAMES[num_classes], f"label_map_{num_classes}.txt"]):
        url = labels_url() + name
        try:
            labels = _check(parse_label_map(fetch_bytes(url).decode("utf-8")), num_classes, url)
            break
        except (OSError, ValueError, UnicodeDecodeError, DownloadError) as exc:
            tried.append(f"{url}: {exc}")
    if labels is None:
        try:
            labels = _check(_from_annotations(num_classes), num_classes, f"Kinetics-{num_classes} annotations")
        except Exception as exc2:  # any failure here only means this source is unavailable
            tried.append(f"Kinetics-{num_classes} validation annotations: {exc2}")
            raise ModelUnavailableError(
                f"Could not get the Kinetics-{num_classes} label map. Tried: " + "; ".join(tried) + ". "
                f"Set VIDWIDGET_LABELS_URL to a server or folder holding {FILE_NAMES[num_classes]}, or save the file "
                f"(one label per line) as {cache}."
            ) from None
    write_atomic(cache, ("\n".join(labels) + "\n").encode("utf-8"))
    return tuple(labels)


def read_label_file(path: str | Path) -> list[str]:
    """Labels from a text file, one per line."""
    return parse_label_map(Path(path).read_text("utf-8"))
