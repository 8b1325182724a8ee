"""Self-contained HTML for clips: videos embedded as browser-safe data URIs, so a saved page keeps playing
after it is moved or mailed (a link to the clip file would break). :func:`save_report` writes a whole results
table this way, with its accuracy, per-class figures, confusions and confusion matrix."""

from __future__ import annotations

import base64
import html
import logging
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from ._atomic import write_atomic
from .errors import VidwidgetError
from .inference.analysis import OUTCOMES, MatrixView, class_table, confusions, matrix_view, outcomes, summary
from .video import browser_preview

_log = logging.getLogger(__name__)

_CSP = "default-src 'none'; img-src data:; media-src data:; style-src 'unsafe-inline'"
"""Content Security Policy of a report: nothing is fetched from anywhere and no script runs."""



def _outcome_text(outcome: str, k: int) -> str:
    return f"in top-{min(k, 5) if k else 5}" if outcome == "top-k" else outcome

_TOP_CONFUSIONS = 20


def video_tag(path: str | os.PathLike, max_width: int = 320, *, on_error: str = "message") -> str:
    """One ``<video>`` element playing the clip at ``path``, embedded as an H.264 preview (at most
    ``max_width`` px wide; see :func:`vidwidget.video.browser_preview`) in a ``data:`` URI.

    A clip that cannot be read gives an escaped "cannot show this clip" note instead (``on_error="message"``,
    so a table of many clips still renders), or raises :class:`vidwidget.VideoError` (``on_error="raise"``).
    """
    if on_error not in ("message", "raise"):
        raise ValueError(f'on_error must be "message" or "raise", got {on_error!r}')
    name = html.escape(Path(path).name, quote=True)
    try:
        data = base64.b64encode(browser_preview(path, max_width=max_width).read_bytes()).decode("ascii")
    except (VidwidgetError, OSError) as exc:
        if on_error == "raise":
            raise
        return f'<div class="vidwidget-video-error">cannot show this clip: {html.escape(str(exc))}</div>'
    return (f'<video controls muted loop playsinline preload="metadata" title="{name}" '
            f'style="max-width:{int(max_width)}px;width:100%" src="data:video/mp4;base64,{data}"></video>')


def _e(value: Any) -> str:
    """Escaped text for HTML content and attribute values."""
    return html.escape(str(value), quote=True)


def _percent(value: float | None) -> str:
    return "–" if _missing(value) else f"{round(value * 100, 1):g}%"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _missing(value: Any) -> bool:
    """None, NaN, NaT or pd.NA: a cell with nothing in it."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _clip_numbers(df: pd.DataFrame) -> list[int]:
    """Each row's clip number: a ``number`` column when the table has one (the explorer's grid numbers), else
    the row's integer index + 1, so a filtered table keeps the numbers of the full one, else its position."""
    if "number" in df.columns:
        return [pos if _missing(n) else int(n) for pos, n in enumerate(df["number"], start=1)]
    if pd.api.types.is_integer_dtype(df.index):
        return [int(i) + 1 for i in df.index]
    return list(range(1, len(df) + 1))


def _media(path: Any, max_width: int, previews: bool) -> str:
    if not previews:
        return ""
    if _missing(path) or not str(path):
        return '<div class="vidwidget-video-error">no video file recorded for this clip</div>'
    try:
        return video_tag(path, max_width=max_width)
    except Exception as exc:  # one clip must never break the report; video_tag already handles the usual cases
        _log.warning("no preview for %s", path, exc_info=True)
        return f'<div class="vidwidget-video-error">cannot show this clip: {_e(exc)}</div>'


def _card(number: int, row: dict, outcome: str, k: int, max_width: int, previews: bool) -> str:
    truth = row.get("Ground_Truth")
    truth = None if _missing(truth) else str(truth)
    path = row.get("path")
    has_path = not _missing(path) and bool(str(path))
    name = Path(str(path)).name if has_path else str(row.get("clip_id", row.get("YouTube_Id", "")))
    items = []
    for i in range(1, k + 1):
        label = row.get(f"pred_{i}")
        if _missing(label):
            continue
        label = str(label)
        score = row.get(f"score_{i}")
        score = None if _missing(score) else max(0.0, min(1.0, float(score)))
        css = "hit" if truth is not None and label == truth else ("miss" if i == 1 and truth is not None else "")
        mark = " ✓" if css == "hit" else ""
        width = 0 if score is None else round(score * 100, 1)
        items.append(f'<li class="{css}"><span class="label">{_e(label)}{mark}</span>'
                     f'<span class="track"><span class="bar" style="width:{width}%"></span></span>'
                     f'<span class="pct">{_percent(score)}</span></li>')
    error = row.get("error")
    if outcome == "failed":
        reason = "no prediction" if _missing(error) else str(error)
        body = f'<div class="fail-reason">failed: {_e(reason)}</div>'
    else:
        body = f'<ol class="top">{"".join(items)}</ol>'
        if truth is not None and outcome == "wrong":
            body += f'<div class="muted">ground truth not in the top {len(items)}</div>'
    truth_text = "unknown" if truth is None else truth
    return (f'<article class="card {outcome}" id="clip-{number}">{_media(path, max_width, previews)}'
            f'<div class="card-head"><span class="num">#{number}</span><span class="name" title="{_e(name)}">'
            f'{_e(name)}</span><span class="badge {outcome}">{_e(_outcome_text(outcome, k))}</span></div>'
            f'<div class="truth"><span class="muted">ground truth: </span>{_e(truth_text)}</div>{body}</article>')


def _summary_html(s: dict) -> str:
    parts = []
    if s["scored"]:
        k = s["k"] if s["k"] < 5 else 5
        for value, label in ((_percent(s["top1"]), "top-1 accuracy"), (_percent(s["top5"]), f"top-{k} accuracy"),
                             (str(s["scored"]), "clips scored")):
            parts.append(f'<div class="vw-an-figure"><span class="vw-an-figure-value">{_e(value)}</span>'
                         f'<span class="vw-muted">{_e(label)}</span></div>')
    chips = "".join(f'<span class="chip {name}">{s[name.replace("-", "_")]} {_e(_outcome_text(name, s["k"]))}</span>'
                    for name in OUTCOMES if s[name.replace("-", "_")])
    return f'<div class="vw-an-figures">{"".join(parts)}</div><div class="chips">{chips}</div>'


def _classes_html(table: pd.DataFrame, k: int) -> str:
    failed = bool(table["failed"].any())
    head = ["class", "clips", "top-1", f"top-{min(k, 5)}", "errors"] + (["failed"] if failed else [])
    cells = "".join(f'<th class="{"vw-an-th" if i == 0 else "vw-an-th vw-an-num"}">{_e(h)}</th>'
                    for i, h in enumerate(head))
    rows = []
    for name, r in table.iterrows():
        accuracy = "".join(
            f'<td class="vw-an-num"><span class="vw-an-acc-text">{_percent(v)}</span>'
            f'<span class="vw-an-acc-bar" style="width:{0 if _missing(v) else round(v * 100, 1)}%"></span></td>'
            for v in (r.top1, r.top5))
        bad = ' vw-an-bad' if r.errors else ""
        extra = f'<td class="vw-an-num">{int(r.failed)}</td>' if failed else ""
        rows.append(f'<tr><td class="vw-an-name">{_e(name)}</td><td class="vw-an-num">{int(r.clips)}</td>{accuracy}'
                    f'<td class="vw-an-num{bad}">{int(r.errors)}</td>{extra}</tr>')
    return (f'<h3 class="vw-an-heading">Per-class accuracy <span class="vw-muted vw-an-count">'
            f'{_e(_plural(len(table), "class", "classes"))}</span></h3><div class="vw-an-scroll">'
            f'<table class="vw-an-table"><thead><tr>{cells}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def _confusions_html(confused: pd.DataFrame, top: int) -> str:
    head = '<h3 class="vw-an-heading">Most frequent confusions'
    if len(confused) > top:
        head += f' <span class="vw-muted vw-an-count">{top} of {len(confused)}</span>'
    head += "</h3>"
    if confused.empty:
        return head + '<div class="vw-an-note">No confusions: every top-1 prediction is right.</div>'
    shown = confused.head(top)
    most = max(int(shown["clips"].max()), 1)
    items = "".join(
        f'<li class="vw-an-confusion"><span class="vw-an-pair"><span class="vw-an-true">{_e(r["true"])}</span>'
        f' → <span class="vw-an-pred">{_e(r["predicted"])}</span></span><span class="vw-an-count-track">'
        f'<span class="vw-an-count-bar" style="width:{round(100 * r["clips"] / most, 1)}%"></span></span>'
        f'<span class="vw-an-clips">{int(r["clips"])}</span></li>'
        for r in shown.to_dict("records"))
    return f'{head}<ol class="vw-an-confusion-list">{items}</ol>'


def _matrix_html(view: MatrixView) -> str:
    head = '<h3 class="vw-an-heading">Confusion matrix</h3>'
    if not view.rows:
        return head + '<div class="vw-an-note">No labelled, classified clips to draw.</div>'
    note = "Rows: true class; columns: top-1 prediction; hover a cell for its classes."
    if view.hidden_rows or view.hidden_columns:
        note = (f"Showing {_plural(len(view.rows), 'true class', 'true classes')} with the most errors, then clips "
                f"({view.hidden_rows} hidden), and {_plural(len(view.columns), 'predicted class', 'predicted classes')}"
                f" ({view.hidden_columns} hidden). " + note)
    any_other = any(view.other)
    top = max([view.max_count, *view.other, 1])

    def cell(n: int, true: str, predicted: str | None) -> str:
        kind = "vw-an-diag" if predicted == true else "vw-an-off"
        extra = " vw-an-other" if predicted is None else ""
        hot = " vw-an-hot" if n / top > 0.55 else ""
        tip = f"true: {true}\npredicted: {'a class not shown' if predicted is None else predicted}\nclips: {n}"
        return (f'<td class="vw-an-cell {kind}{extra}{hot}" style="--vw-heat:{n / top:.3f}" title="{_e(tip)}">'
                f'{n or ""}</td>')

    columns = "".join(f'<th class="vw-an-col" title="{_e(c)}"><span class="vw-an-col-label">{_e(c)}</span></th>'
                      for c in view.columns)
    if any_other:
        columns += '<th class="vw-an-col vw-an-other"><span class="vw-an-col-label">other</span></th>'
    rows = []
    for i, true in enumerate(view.rows):
        cells = "".join(cell(n, true, c) for n, c in zip(view.counts[i], view.columns, strict=True))
        if any_other:
            cells += cell(view.other[i], true, None)
        rows.append(f'<tr><th class="vw-an-row" title="{_e(true)}">{_e(true)}</th>{cells}</tr>')
    return (f'{head}<div class="vw-an-note vw-an-matrix-note">{_e(note)}</div>'
            f'<div class="vw-an-scroll vw-an-matrix-scroll"><table class="vw-an-heatmap"><thead><tr>'
            f'<th class="vw-an-corner">true \\ predicted</th>{columns}</tr></thead><tbody>{"".join(rows)}</tbody>'
            f'</table></div>')


def _caption(df: pd.DataFrame) -> str:
    parts = []
    if df.attrs.get("model"):
        parts.append(f"model {df.attrs['model']}")
    seconds = df.attrs.get("seconds")
    if isinstance(seconds, int | float) and not math.isnan(seconds):
        parts.append(f"run took {seconds:.1f} s")
    if df.attrs.get("cancelled"):
        parts.append("run cancelled before the end")
    return " · ".join(parts)


def save_report(results_df: pd.DataFrame, path: str | os.PathLike, *, title: str | None = None,
                max_width: int = 320, previews: bool = True) -> Path:
    """Write ONE self-contained HTML file for a results table (columns of :func:`vidwidget.evaluate`): each clip
    with its number, an embedded browser-safe preview (``max_width`` px; ``previews=False`` leaves them out),
    ground truth and top-k coloured right/wrong; top-1/top-5 accuracy, per-class accuracy, the most frequent
    confusions and the confusion matrix. It needs no kernel and loads nothing from outside (a Content Security
    Policy forbids it), so it opens from anywhere; light and dark follow the reader's system setting. A clip whose
    file is missing or unreadable gets a placeholder. Returns the path written."""
    if not isinstance(results_df, pd.DataFrame):
        raise TypeError(f"save_report needs a results DataFrame, got {type(results_df).__name__}")
    if isinstance(max_width, bool) or not isinstance(max_width, int) or max_width < 2:
        raise ValueError(f"max_width must be an integer of at least 2 pixels, got {max_width!r}")
    out = Path(path)
    if out.is_dir():
        raise IsADirectoryError(f"{out} is a folder; give save_report a file name such as {out / 'report.html'}")
    df = results_df
    title = title or "Video classification report"
    figures = summary(df)
    k = figures["k"]
    kinds = outcomes(df) if k else pd.Series("failed", index=df.index, dtype=object)
    records = df.to_dict("records")
    cards = "".join(_card(n, row, kind, k, max_width, previews)
                    for n, row, kind in zip(_clip_numbers(df), records, kinds, strict=True))
    meta = [_plural(figures["clips"], "clip"), *filter(None, [_caption(df)]),
            f"saved {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"]
    if figures["clips"] == 0:
        analysis = '<p class="vw-an-empty">No results in this table.</p>'
    elif figures["scored"] == 0:
        analysis = ('<p class="vw-an-empty">No clip has both a ground-truth label and a prediction, so there is no '
                    "accuracy to show.</p>")
    else:
        analysis = (f'<div class="vw-an-body"><section class="vw-an-section vw-an-classes">'
                    f'{_classes_html(class_table(df), k)}</section><section class="vw-an-section vw-an-confusions">'
                    f'{_confusions_html(confusions(df), _TOP_CONFUSIONS)}</section>'
                    f'<section class="vw-an-section vw-an-matrix">{_matrix_html(matrix_view(df))}</section></div>')
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f'<meta name="generator" content="vidwidget {_e(__version__)}"><title>{_e(title)}</title>'
        f"<style>{_stylesheet()}</style></head><body>"
        f'<header><h1>{_e(title)}</h1><p class="muted">{_e(" · ".join(meta))}</p></header>'
        f'<main><section class="vw-root vw-analysis"><div class="vw-an-summary">{_summary_html(figures)}</div>'
        f"</section>"
        f'<section class="clips"><h2>Clips</h2><div class="grid" style="--card:{int(max_width)}px">{cards}</div>'
        f'</section><section class="vw-root vw-analysis"><h2>Analysis</h2>{analysis}</section></main>'
        f'<footer class="muted">Made with vidwidget {_e(__version__)}. This file is self-contained: videos and '
        f"styles are embedded, so it can be moved, mailed or opened offline.</footer></body></html>\n"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, page.encode("utf-8"))
    return out


def _stylesheet() -> str:
    """The report's own CSS (cards, page, light/dark palette) followed by the analysis panel's, so the report's
    tables and matrix look like the widget's."""
    from .widgets._static import asset

    return (Path(__file__).with_name("report.css").read_text(encoding="utf-8")
            + asset("analysis.css").read_text(encoding="utf-8"))
