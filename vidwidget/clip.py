"""The one identity of a video clip that every stage passes along."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Clip:
    """A clip: its id (Kinetics ``{youtube_id}_{start:06d}_{end:06d}`` or a file stem), its ground-truth label
    (None when unlabeled), where it lies on disk (None while not downloaded), and its source times in seconds."""

    id: str
    label: str | None = None
    path: Path | None = None
    start: float | None = None
    end: float | None = None

    @property
    def youtube_id(self) -> str:
        """The YouTube id for Kinetics clips (the id without its time suffix), else the id itself."""
        parts = self.id.rsplit("_", 2)
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit() and len(parts[0]) == 11:
            return parts[0]
        return self.id

    @classmethod
    def from_path(cls, path: str | Path, label: str | None = None) -> Clip:
        """A clip for a file, identified by its file name without extension."""
        p = Path(path)
        return cls(id=p.stem, label=label, path=p)
