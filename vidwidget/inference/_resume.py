"""The results file of a resumable evaluation: a CSV appended batch by batch, plus a JSON of its settings.

A killed run may leave half a line at the end; it is cut off on reopening. Re-running with the same settings
skips every clip already in the file; different settings are refused, so results never mix.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ..errors import VidwidgetError


class ResultsFile:
    """Append-only CSV of result rows at ``path`` with its settings in ``path + '.json'``."""

    def __init__(self, path: str | os.PathLike, settings: dict, columns: list[str]) -> None:
        self.path = Path(path)
        self.meta = self.path.with_name(self.path.name + ".json")
        self.columns = columns
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.meta.exists():
            old = json.loads(self.meta.read_text("utf-8"))
            if old != settings:
                changed = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
                raise VidwidgetError(
                    f"{self.path} holds results made with other settings ({', '.join(changed)} differ: "
                    f"{ {k: old.get(k) for k in changed} } vs { {k: settings.get(k) for k in changed} }). "
                    "Use another output, or delete the file to start over."
                )
        elif self.path.exists():
            raise VidwidgetError(f"{self.path} exists but was not written by vidwidget evaluate ({self.meta.name} is "
                                 "missing); choose another output or delete it.")
        else:
            self.meta.write_text(json.dumps(settings, indent=1, sort_keys=True), "utf-8")
        self._repair_tail()

    def _repair_tail(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as fh:
                fh.truncate(data.rfind(b"\n") + 1)

    def read(self) -> pd.DataFrame:
        """The rows written so far (empty frame with the columns when there are none)."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return pd.DataFrame(columns=self.columns)
        df = pd.read_csv(self.path, dtype={"clip_id": str, "YouTube_Id": str})
        return df.reindex(columns=self.columns)

    def done_ids(self) -> set[str]:
        return set(self.read()["clip_id"].astype(str))

    def append(self, rows: pd.DataFrame) -> None:
        """Append ``rows`` and flush them to disk, so a kill after this call loses none of them."""
        header = not self.path.exists() or self.path.stat().st_size == 0
        with open(self.path, "a", encoding="utf-8", newline="") as fh:
            rows.reindex(columns=self.columns).to_csv(fh, header=header, index=False)
            fh.flush()
            os.fsync(fh.fileno())
