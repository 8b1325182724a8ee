"""An on-disk cache of preprocessed clips (uint8 ``.npy``), keyed by file identity and preprocessing options."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .. import _config
from .._atomic import atomic_write
from .._cachefile import open_regular, remove_entry
from ..errors import VideoError
from .decode import check_read_args, read_frames
from .preprocess import Mode

CACHE_VERSION = 2
"""Bump when the decoded/preprocessed output changes, so stale entries are never read (2: FFmpeg's scaler)."""

_TRAILER = struct.Struct("<4sI")
_MAGIC = b"VWc1"  # after the array: this magic and the crc32 of the array's bytes


def _digest(obj: object, n: int = 16) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:n]


def _identity(path: Path) -> tuple[str, int, int]:
    """(resolved path, size, mtime_ns) of a video file: a changed file gets a new identity."""
    try:
        st = path.stat()
    except FileNotFoundError as e:
        raise VideoError(f"Video file not found: {path}. Check the path, or download the clip first.") from e
    return str(path.resolve()), st.st_size, st.st_mtime_ns


class ClipCache:
    """Preprocessed clips as ``<root>/<path-hash>_<identity-hash>_<options-hash>.npy`` (plain uint8 arrays, no
    pickles, followed by an 8-byte trailer holding the crc32 of the pixels; ``np.load`` still reads them).
    Entries are written atomically (temp file in the same folder, then ``os.replace``), so readers never see a
    partial file; an entry that fails the header/length/crc32 check is deleted and rebuilt, and anything that is
    not a regular file at an entry's path (a directory, a fifo, a symlink) is removed without being opened
    blocking. Writing a file's entry removes entries of older versions of that file (other size or mtime)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else _config.subdir("clips")
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"ClipCache(root={str(self.root)!r})"

    def entry_path(self, path: str | Path, num_frames: int | None, mode: Mode, size: int) -> Path:
        """Where the entry for this file (as it is now on disk) and these options lives."""
        resolved, nbytes, mtime_ns = _identity(Path(path))
        num_frames = None if num_frames is None else int(num_frames)
        path_key = _digest(resolved)
        ident_key = _digest([nbytes, mtime_ns], 8)
        opts_key = _digest({"v": CACHE_VERSION, "num_frames": num_frames, "mode": mode, "size": int(size)}, 12)
        return self.root / f"{path_key}_{ident_key}_{opts_key}.npy"

    def get(self, path: str | Path, num_frames: int | None, mode: Mode, size: int) -> np.ndarray | None:
        """The cached clip, or None on a miss. A damaged entry (truncated, wrong shape or dtype, not an
        ``.npy``, pixels that fail the crc32, not a regular file) is deleted and reported as a miss."""
        entry = self.entry_path(path, num_frames, mode, size)
        f = open_regular(entry)
        if f is None:
            return None
        with f:
            array = _read_checked(f, num_frames, size)
        if array is None:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
        return array

    def put(self, path: str | Path, num_frames: int | None, mode: Mode, size: int, frames: np.ndarray) -> Path:
        """Store ``frames`` (uint8 ``[N, size, size, 3]``) for this file and options; returns the entry path."""
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != (size, size, 3):
            raise ValueError(f"expected uint8 [N, {size}, {size}, 3] frames, got {frames.dtype} {frames.shape}")
        entry = self.entry_path(path, num_frames, mode, size)
        if entry.is_dir() or entry.is_symlink():  # os.replace cannot replace a directory
            remove_entry(entry)
        frames = np.ascontiguousarray(frames)
        with atomic_write(entry, suffix=".tmp") as f:
            np.save(f, frames, allow_pickle=False)
            f.write(_TRAILER.pack(_MAGIC, zlib.crc32(frames.data)))
        self._drop_stale(entry)
        return entry

    def _drop_stale(self, entry: Path) -> None:
        path_key, ident_key, _ = entry.stem.split("_")
        for old in self.root.glob(f"{path_key}_*.npy"):
            if old.stem.split("_")[1] != ident_key:
                remove_entry(old)

    def clear(self) -> int:
        """Delete every entry (and leftover temp file); returns how many files were removed."""
        removed = 0
        for p in list(self.root.glob("*.npy")) + list(self.root.glob(".*.tmp")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed += 1
        return removed


def _read_checked(f, num_frames: int | None, size: int) -> np.ndarray | None:
    """The array in an open entry if its header says uint8 ``[N, size, size, 3]`` (``N == num_frames`` when
    given), the file length matches the header plus the trailer, and the pixels match the trailer's crc32;
    else None."""
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            return None
        if fortran or dtype != np.uint8 or len(shape) != 4 or shape[1:] != (size, size, 3) or shape[0] < 1:
            return None
        if num_frames is not None and shape[0] != num_frames:
            return None
        nbytes = int(np.prod(shape))
        if os.fstat(f.fileno()).st_size != f.tell() + nbytes + _TRAILER.size:
            return None
        array = np.empty(shape, np.uint8)
        if f.readinto(memoryview(array).cast("B")) != nbytes:
            return None
        magic, crc = _TRAILER.unpack(f.read(_TRAILER.size))
    except (ValueError, OSError, EOFError, struct.error):
        return None
    if magic != _MAGIC or zlib.crc32(array.data) != crc:
        return None
    return array


def _resolve_cache(cache: ClipCache | bool | None) -> ClipCache | None:
    if cache is None or cache is False:
        return None
    if cache is True:
        return ClipCache()
    if isinstance(cache, ClipCache):
        return cache
    raise TypeError(f"cache must be a ClipCache, True (default cache), or None/False (no cache), got {cache!r}")


def load_clip(
    path: str | Path,
    num_frames: int | None = None,
    *,
    mode: Mode = "crop",
    size: int = 224,
    cache: ClipCache | bool | None = None,
) -> np.ndarray:
    """:func:`read_frames` through a :class:`ClipCache` (``cache``: a cache, True for the default one under
    ``VIDWIDGET_HOME``, None/False for none). The file's identity is taken before decoding and checked after,
    so a file replaced while it was being read is not cached under the old identity."""
    store = _resolve_cache(cache)
    if store is None:
        return read_frames(path, num_frames, mode=mode, size=size)
    check_read_args(num_frames, mode, size)
    num_frames = None if num_frames is None else int(num_frames)
    size = int(size)
    hit = store.get(path, num_frames, mode, size)
    if hit is not None:
        return hit
    before = _identity(Path(path))
    frames = read_frames(path, num_frames, mode=mode, size=size)
    if _identity(Path(path)) == before:
        store.put(path, num_frames, mode, size, frames)
    return frames
