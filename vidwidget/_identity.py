"""What a source file is, as text a results row can record: ``size:mtime_ns:sha256-prefix``.

Size and modification time tell at once whether a file is untouched; the content hash recognises the same bytes
after a copy that changed the mtime (hashing costs about 1 ms per MB, see ``benchmarks/identity.py``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_CHUNK = 1 << 20


def content_hash(path: str | os.PathLike) -> str:
    """The first 32 hex digits of the sha256 of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()[:32]


def file_identity(path: str | os.PathLike | None) -> str:
    """``size:mtime_ns:hash`` of the file at ``path``; ``""`` when there is no path or no regular file there."""
    if path is None:
        return ""
    try:
        st = os.stat(path)
        if not Path(path).is_file():
            return ""
        return f"{st.st_size}:{st.st_mtime_ns}:{content_hash(path)}"
    except OSError:
        return ""


def same_file(recorded: str | None, path: str | os.PathLike | None) -> bool:
    """Whether ``path`` still holds the file a row recorded as ``recorded`` (see :func:`file_identity`): same
    size and mtime, or same size and content hash. An empty record matches only a missing file."""
    recorded = recorded if isinstance(recorded, str) else ""
    if not recorded or path is None:
        return recorded == "" and (path is None or not Path(path).is_file())
    parts = recorded.split(":")
    if len(parts) != 3:
        return False
    try:
        st = os.stat(path)
        if not Path(path).is_file() or str(st.st_size) != parts[0]:
            return False
        return str(st.st_mtime_ns) == parts[1] or content_hash(path) == parts[2]
    except OSError:
        return False
