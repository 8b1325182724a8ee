"""Kinetics annotation files (CSV ``label,youtube_id,time_start,time_end,split[,is_cc]``, also as ``.txt``)
parsed into a DataFrame with a ``clip_id`` column."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from vidwidget.errors import VidwidgetError

REQUIRED = ("youtube_id", "time_start", "time_end")


def _delimiter(first_line: str) -> str:
    try:
        return csv.Sniffer().sniff(first_line, delimiters=",\t;").delimiter
    except csv.Error:
        return ","


def read_annotations(source: str | Path | io.TextIOBase) -> pd.DataFrame:
    """Parse a Kinetics annotation file (any of the CSV/TXT layouts; ``label``, ``split`` and ``is_cc`` are
    optional) into a DataFrame with ``clip_id`` = ``{youtube_id}_{start:06d}_{end:06d}`` and integer times."""
    name = str(source) if isinstance(source, str | Path) else "annotations"
    text = Path(source).read_text(encoding="utf-8-sig") if isinstance(source, str | Path) else source.read()
    first = text.split("\n", 1)[0]
    df = pd.read_csv(io.StringIO(text), sep=_delimiter(first), dtype=str, keep_default_na=False)
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise VidwidgetError(
            f"{name} is not a Kinetics annotation file: columns {missing} are missing (found "
            f"{list(df.columns)}). Expected a header like label,youtube_id,time_start,time_end,split.")
    for col in ("time_start", "time_end"):
        values = pd.to_numeric(df[col].str.strip(), errors="coerce")
        bad = values.isna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise VidwidgetError(f"{name}: row {row + 2} has a non-numeric {col} {df[col].iloc[row]!r}; the "
                                 "file is damaged. Delete it from the cache so it is downloaded again.")
        df[col] = values.astype("int64")
    df["youtube_id"] = df["youtube_id"].str.strip()
    if "label" in df.columns:
        df["label"] = df["label"].str.strip().replace("", None)
    if "is_cc" in df.columns:
        df["is_cc"] = pd.to_numeric(df["is_cc"], errors="coerce").astype("Int64")
    df["clip_id"] = (df["youtube_id"] + "_" + df["time_start"].astype(str).str.zfill(6) + "_"
                     + df["time_end"].astype(str).str.zfill(6))
    return df
