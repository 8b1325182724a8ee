"""Small HTTP helpers shared by the modules that fetch text files (label maps, annotations)."""

from __future__ import annotations

import os
import tempfile
import urllib.request
from pathlib import Path

USER_AGENT = "vidwidget/0.1 (+https://pypi.org/project/vidwidget)"


def fetch_bytes(url: str, timeout: float = 30.0) -> bytes:
    """GET ``url`` and return the body; raises ``urllib.error.URLError``/``OSError`` on failure."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
