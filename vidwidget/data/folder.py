"""A dataset of your own videos: a folder searched recursively, labels from subfolder names, from a CSV
(``path,label``), or none."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pandas as pd

from vidwidget.clip import Clip, escape_name
from vidwidget.errors import VidwidgetError

log = logging.getLogger("vidwidget.data")

#: File extensions of containers FFmpeg (and so PyAV) reads; compared case-insensitively.
VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".qt", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".mpe", ".m2v", ".m1v", ".vob",
    ".wmv", ".asf", ".flv", ".f4v", ".3gp", ".3g2", ".ogv", ".ogg", ".ts", ".mts", ".m2ts", ".mxf", ".dv",
    ".nut", ".y4m", ".gif", ".divx", ".rm", ".rmvb", ".h264", ".264", ".hevc", ".h265", ".ivf",
})


def is_video_file(path: str | Path) -> bool:
    """True when the file's extension is one of :data:`VIDEO_EXTENSIONS` (any case)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


class VideoFolder:
    """Videos under ``root`` (recursively, hidden files and folders skipped). ``labels`` is "subfolders" (the
    immediate parent folder's name; files directly in root are unlabeled), "none", or the path of a CSV with
    columns ``path,label`` (paths relative to the CSV's folder, or absolute). Clip ids are the paths relative
    to root without extension, so they are unique; ids and labels are escaped (``vidwidget.clip.escape_name``),
    so a file name that is not UTF-8 still gives valid text."""

    def __init__(self, root: str | Path, labels: str | Path = "subfolders") -> None:
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise VidwidgetError(f"Video folder {self.root} does not exist or is not a folder.")
        self.missing_files: list[Path] = []
        self.skipped_rows: list[int] = []
        if str(labels) in ("subfolders", "none"):
            self.label_source = str(labels)
            self._clips = self._scan(by_subfolder=str(labels) == "subfolders")
        else:
            self.label_source = str(labels)
            self._clips = self._from_csv(Path(labels).expanduser())

    def __repr__(self) -> str:
        return f"VideoFolder({str(self.root)!r}, labels={self.label_source!r}): {len(self)} videos"

    def __len__(self) -> int:
        return len(self._clips)

    def _id(self, path: Path) -> str:
        # Lexical, not resolved: a symlinked file keeps the id of where it sits in the folder.
        try:
            rel = path.absolute().relative_to(self.root.absolute())
        except ValueError:  # a CSV row pointing outside the root: keep its absolute path as id
            rel = path.absolute()
        return escape_name(rel.with_suffix("").as_posix())

    def _scan(self, by_subfolder: bool) -> list[Clip]:
        found = []
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if any(part.startswith(".") for part in rel.parts) or not path.is_file() or not is_video_file(path):
                continue
            label = escape_name(rel.parent.name) if by_subfolder and len(rel.parts) > 1 else None
            found.append(Clip(id=self._id(path), label=label, path=path))
        # x.mp4 and x.avi side by side: keep the extension in both ids so ids stay unique
        stems = Counter(c.id for c in found)
        return [replace(c, id=escape_name(c.path.relative_to(self.root).as_posix()))
                if stems[c.id] > 1 and c.path is not None else c for c in found]

    def _from_csv(self, csv_path: Path) -> list[Clip]:
        if not csv_path.is_absolute() and not csv_path.exists():
            csv_path = self.root / csv_path
        if not csv_path.is_file():
            raise VidwidgetError(f"labels must be 'subfolders', 'none' or a CSV file; {csv_path} does not exist.")
        df = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        df.columns = [str(c).strip().lower() for c in df.columns]
        if "path" not in df.columns:
            raise VidwidgetError(f"{csv_path} needs a 'path' column (and a 'label' column); found "
                                 f"{list(df.columns)}.")
        clips, seen = [], set()
        for i, row in enumerate(df.itertuples(index=False)):
            text = row.path.strip()
            if not text:
                self.skipped_rows.append(i + 2)
                continue
            path = Path(text).expanduser()
            path = path if path.is_absolute() else csv_path.parent / path
            if not path.is_file():
                self.missing_files.append(path)
                continue
            label = getattr(row, "label", "").strip() or None
            clip = Clip(id=self._id(path), label=label, path=path)
            if clip.id in seen:
                log.warning("%s: %s is listed more than once; keeping the first row", csv_path, text)
                continue
            seen.add(clip.id)
            clips.append(clip)
        if self.missing_files:
            log.warning("%s: %d listed file(s) do not exist and are skipped: %s", csv_path,
                        len(self.missing_files), ", ".join(str(p) for p in self.missing_files[:5]))
        return clips

    def clips(self) -> list[Clip]:
        """The videos as Clips (sorted by path for folder scans; in file order for a CSV)."""
        return list(self._clips)

    @property
    def labels(self) -> list[str]:
        """Sorted unique labels (empty when unlabeled)."""
        return sorted({c.label for c in self._clips if c.label is not None})
