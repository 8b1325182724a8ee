"""The results file of a resumable evaluation: a CSV appended batch by batch, plus a JSON of its settings.

One writer at a time: an OS lock (``results.csv.lock``) is held while a :class:`ResultsFile` is open, and a
second writer is refused before it writes anything. Rows record the identity of the file they were computed
from (``source``: size, mtime, content hash), so a resumed run skips a clip only while its file is unchanged; a
changed file is computed again and its new row replaces the old one when the file is closed (until then both
are on disk and readers take the latest), so whoever reads the CSV directly never sees a superseded row. A
killed run may leave a torn row of any shape at the end (half a line, an open quote, a wrong number of
fields): it is dropped on reopening.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from .. import _json
from .._atomic import write_atomic
from .._identity import same_file
from .._lock import OutputLock
from ..clip import Clip
from ..errors import OutputConflictError
from .results import read_results

log = logging.getLogger("vidwidget.inference")


def _records(text: str) -> Iterator[tuple[list[str] | None, str]]:
    """Split CSV ``text`` into records, yielding ``(fields, raw text)``; ``fields`` is None for text that does
    not parse (an open quote at the end, stray quotes, a record without its final newline)."""
    lines = io.StringIO(text, newline="")
    taken: list[str] = []  # the lines the reader pulled for the record it is on

    def feed() -> Iterator[str]:
        for line in lines:
            taken.append(line)
            yield line

    while True:
        taken.clear()
        reader = csv.reader(feed(), strict=True)
        try:
            for fields in reader:
                raw = "".join(taken)
                taken.clear()
                yield (fields if raw.endswith(("\n", "\r")) else None), raw
            return
        except csv.Error:
            yield None, "".join(taken)  # skip what the broken record consumed and parse on after it


def run_settings(model, *, num_frames: int | None, top_k: int, mode: str, dataset: str | None) -> dict:
    """What a results file's rows depend on, recorded beside it and compared on resume: the model (its name and
    numeric precision — int8 rows must never be mixed with fp32 ones), frame count, top-k, crop/pad and input."""
    settings = {"model": model.name, "num_frames": num_frames, "top_k": top_k, "mode": mode}
    precision = getattr(model, "precision", "fp32")
    if precision != "fp32":  # fp32 files written before precisions existed keep resuming
        settings["precision"] = precision
        settings["variant"] = getattr(model, "variant", None)
    if dataset is not None:
        settings["dataset"] = dataset
    return settings


class ResultsFile:
    """Append-only CSV of result rows at ``path`` with its settings in ``path + '.json'``, locked against other
    writers from construction until :meth:`close` (also a context manager).

    Raises :class:`OutputConflictError` when another process holds the lock, or the file holds results made with
    other settings (or in another layout); nothing is written then."""

    def __init__(self, path: str | os.PathLike, settings: dict, columns: list[str]) -> None:
        self.path = Path(path)
        self.meta = self.path.with_name(self.path.name + ".json")
        self.columns = list(columns)
        self.settings = json.loads(_json.dumps(settings))  # the form it has once stored (tuples → lists, NaN → null)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock: OutputLock | None = OutputLock(self.path.with_name(self.path.name + ".lock"), str(self.path))
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        has_rows = self.path.exists() and self.path.stat().st_size > 0
        if has_rows and self.meta.exists():
            try:
                old = json.loads(self.meta.read_text("utf-8"))
            except (ValueError, UnicodeDecodeError):
                old = None
            if not isinstance(old, dict):
                raise OutputConflictError(f"{self.meta} is damaged, so the results in {self.path} cannot be "
                                          "trusted to match these settings; choose another output or delete both.")
            if old.get("dataset") != self.settings.get("dataset"):
                raise OutputConflictError(
                    f"{self.path} holds results of another input ({old.get('dataset') or 'not recorded'}; this run "
                    f"is {self.settings.get('dataset') or 'not named'}). Use one output per input, or delete the "
                    "file to start over.")
            if old != self.settings:
                changed = sorted(k for k in set(old) | set(self.settings) if old.get(k) != self.settings.get(k))
                raise OutputConflictError(
                    f"{self.path} holds results made with other settings ({', '.join(changed)} differ: "
                    f"{ {k: old.get(k) for k in changed} } vs { {k: self.settings.get(k) for k in changed} }). "
                    "Use another output, or delete the file to start over."
                )
        elif has_rows:
            raise OutputConflictError(f"{self.path} exists but was not written by vidwidget evaluate "
                                      f"({self.meta.name} is missing); choose another output or delete it.")
        if has_rows:
            self._repair()
        if not has_rows or not self.meta.exists():
            write_atomic(self.meta, _json.dumps(self.settings, indent=1, sort_keys=True).encode("utf-8"))

    def _repair(self) -> None:
        """Check the header and drop torn or malformed rows (rewriting the file atomically when any are found)."""
        text = self.path.read_bytes().decode("utf-8", "surrogateescape")
        records = _records(text)
        header, raw_header = next(records, (None, ""))
        if header != self.columns:
            raise OutputConflictError(
                f"{self.path} has the columns {header} but these settings write {self.columns} (a file from another "
                "vidwidget version or top-k). Use another output, or delete the file to start over.")
        kept, dropped = [raw_header], 0
        for fields, raw in records:
            good = fields is not None and len(fields) == len(self.columns)
            if good and not any("\x00" in f or any("\udc80" <= ch <= "\udcff" for ch in f) for f in fields):
                kept.append(raw)
            else:
                dropped += 1
        if dropped:
            log.warning("%s: dropped %d torn or malformed row(s) (an interrupted or concurrent write)",
                        self.path, dropped)
            write_atomic(self.path, "".join(kept).encode("utf-8"))

    def read(self) -> pd.DataFrame:
        """The rows written so far, the latest one per clip (empty frame with the columns when there are none)."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return pd.DataFrame(columns=self.columns)
        df = read_results(self.path)
        df = df.drop_duplicates("clip_id", keep="last").reset_index(drop=True)
        return df.reindex(columns=self.columns)

    def done_ids(self) -> set[str]:
        """Ids of the clips with a row (whatever their files are now; see :meth:`pending`)."""
        return set(self.read()["clip_id"].astype(str))

    def pending(self, clips: Iterable[Clip], previous: pd.DataFrame | None = None) -> list[Clip]:
        """The clips still to compute: those without a row, or whose file is no longer the one their row
        records (changed, replaced, newly downloaded)."""
        previous = self.read() if previous is None else previous
        recorded = dict(zip(previous["clip_id"].astype(str), previous["source"], strict=True))
        return [c for c in clips if c.id not in recorded or not same_file(recorded[c.id], c.path)]

    def append(self, rows: pd.DataFrame) -> None:
        """Append ``rows`` and flush them to disk, so a kill after this call loses none of them."""
        if self._lock is None:
            raise ValueError(f"{self.path} was closed; open a new ResultsFile to write")
        header = not self.path.exists() or self.path.stat().st_size == 0
        with open(self.path, "a", encoding="utf-8", newline="") as fh:
            rows.reindex(columns=self.columns).to_csv(fh, header=header, index=False, lineterminator="\n")
            fh.flush()
            os.fsync(fh.fileno())

    def close(self) -> None:
        """Replace superseded rows by their latest version (an atomic rewrite, only when there are any), then
        release the lock (the file stays)."""
        if self._lock is None:
            return
        try:
            self._compact()
        except OSError as exc:  # the rows are all still there; the next open compacts again
            log.warning("%s: could not drop superseded rows (%s)", self.path, exc)
        finally:
            self._lock.release()
            self._lock = None

    def _compact(self) -> None:
        """Keep only the last row of each clip, byte for byte, in the order those rows were written."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        text = self.path.read_bytes().decode("utf-8", "surrogateescape")
        records = _records(text)
        _, raw_header = next(records, (None, ""))
        id_column = self.columns.index("clip_id")
        rows = [(fields[id_column], raw) for fields, raw in records if fields is not None]
        last = {clip_id: i for i, (clip_id, _) in enumerate(rows)}
        if len(last) == len(rows):
            return
        kept = [raw for i, (clip_id, raw) in enumerate(rows) if last[clip_id] == i]
        log.info("%s: replaced %d superseded row(s) by their recomputed versions", self.path, len(rows) - len(kept))
        write_atomic(self.path, (raw_header + "".join(kept)).encode("utf-8", "surrogateescape"))

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
