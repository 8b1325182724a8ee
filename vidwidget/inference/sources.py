"""Clip sources that are not a list of files yet: the clips of a Kinetics split still inside its remote parts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..clip import Clip
from ..data import KineticsDataset


@dataclass(frozen=True)
class KineticsParts:
    """Clips of a Kinetics split that are left in the split's ``tar.gz`` parts.

    ``evaluate(KineticsParts(dataset, 200), engine="ray")`` has each Ray worker stream its own part and evaluate
    the clips it finds, so the driver downloads only the annotations and the part list. ``num_clips`` takes the
    first clips found in part order (None: every clip of the chosen ``parts``, all parts by default). The local
    engine downloads the same clips onto this machine first (:meth:`download`).
    """

    dataset: KineticsDataset
    num_clips: int | None = None
    parts: Sequence[int] | None = None

    def part_urls(self) -> list[str]:
        urls = self.dataset.part_urls()
        if self.parts is None:
            return urls
        bad = [p for p in self.parts if not 0 <= p < len(urls)]
        if bad:
            raise ValueError(f"part indices {bad} are out of range: this split has {len(urls)} parts")
        return [urls[p] for p in self.parts]

    def download(self, progress: bool = False) -> list[Clip]:
        """The same clips downloaded onto this machine (what the local engine evaluates)."""
        if self.parts is not None:
            clips = self.dataset.download_parts(list(self.parts), progress=progress)
            return clips[: self.num_clips] if self.num_clips is not None else clips
        if self.num_clips is None:
            return self.dataset.download_parts(None, progress=progress)
        return self.dataset.download(self.num_clips, progress=progress)
