"""The compiled-model cache under ``VIDWIDGET_HOME/compiled``: one folder per converted model, written atomically
(filled in a temporary sibling, then renamed into place) with a manifest of sha256 hashes; an entry whose files do
not match their manifest is never used, so a damaged or half-written entry is rebuilt rather than loaded."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from .._config import subdir

MANIFEST = "manifest.json"


def cache_entry(*parts: str) -> Path:
    """Folder of the cache entry named by ``parts`` (joined with ``-``, unsafe characters replaced)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(parts))
    return subdir("compiled") / safe


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(entry: Path) -> dict | None:
    """The manifest of a valid entry (every listed file present with its recorded sha256), else None."""
    try:
        manifest = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        if files and all(sha256_file(entry / f) == h for f, h in files.items()):
            return manifest
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


def entry_is_valid(entry: Path) -> bool:
    """True when ``entry`` holds a manifest whose files all exist with the recorded sha256."""
    return read_manifest(entry) is not None


def write_entry(entry: Path, write: Callable[[Path], None], info: dict | None = None) -> None:
    """Create the cache folder ``entry`` atomically: ``write(tmp)`` fills a temporary sibling folder, a manifest of
    sha256 hashes (plus ``info``, e.g. what the entry was built from) is added, then the folder is renamed into
    place. If another process finished the same entry first, theirs is kept."""
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=entry.parent))
    try:
        write(tmp)
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest = {"files": files, **({"info": info} if info else {})}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        if entry.exists():
            if entry_is_valid(entry):
                return
            shutil.rmtree(entry, ignore_errors=True)
        try:
            os.replace(tmp, entry)
        except OSError:
            if not entry_is_valid(entry):  # not another process's finished entry: a real failure
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
