"""save_report: one self-contained HTML file for a results table — it parses, references nothing outside itself,
embeds playable previews, shows hostile labels and file names as text, survives its folder moving and its videos
disappearing, and shows the same figures as vidwidget.inference.analysis."""

from __future__ import annotations

import base64
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import av
import pytest

import vidwidget as vw
from vidwidget.clip import Clip
from vidwidget.inference.results import prediction_row, results_frame
from vidwidget.models.base import Prediction

HOSTILE = "<img src=x onerror=alert(1)>"
REST = ["yoga", "zumba", "juggling balls"]


class Page(HTMLParser):
    """Every start tag with its attributes, the text, and whether the tags nest properly."""

    VOID = {"meta", "link", "img", "br", "hr", "input", "source", "col", "wbr"}

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.feed(markup)
        self.close()
        if self.stack:
            self.problems.append(f"unclosed {self.stack}")

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag: str, cls: str | None = None) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and (cls is None or cls in (a.get("class") or "").split())]

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def _row(cid, truth, labels, probs, path, error=None):
    pred = None if labels is None else Prediction(tuple(labels), tuple(probs), tuple(range(len(labels))))
    return prediction_row(Clip(cid, label=truth, path=path), pred, 5, error=error)


@pytest.fixture(scope="module")
def clips(shared_videos, tmp_path_factory) -> Path:
    """A folder of clips with a hostile file name, an AVI browsers cannot play, and a file that is no video."""
    folder = tmp_path_factory.mktemp("clips")
    shutil.copy(shared_videos / "cleaning_pool_32frames.mp4", folder / "pool.mp4")
    shutil.copy(shared_videos / "cleaning_pool_32frames.mp4", folder / f"{HOSTILE}.mp4")
    shutil.copy(shared_videos / "filling_eyebrows_mpeg4.avi", folder / "eyebrows.avi")
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    return folder


def _table(folder: Path):
    df = results_frame([
        _row("pool", "cleaning pool", ["cleaning pool", "swimming", *REST], [0.8, 0.1, 0.05, 0.03, 0.02],
             folder / "pool.mp4"),
        _row("hostile", HOSTILE, ["cleaning pool", HOSTILE, *REST], [0.5, 0.3, 0.1, 0.05, 0.05],
             folder / f"{HOSTILE}.mp4"),
        _row("eyebrows", "filling eyebrows", ["waxing eyebrows", "filling eyebrows", *REST],
             [0.6, 0.3, 0.05, 0.03, 0.02], folder / "eyebrows.avi"),
        _row("gone", "yoga", ["zumba", "tai chi", "swimming", "diving", "surfing"], [0.4, 0.3, 0.1, 0.1, 0.1],
             folder / "deleted.mp4"),
        _row("broken", "yoga", ["yoga", *REST[1:], "a", "b"], [0.9, 0.05, 0.02, 0.02, 0.01], folder / "broken.mp4"),
        _row("failed", "yoga", None, None, folder / "pool.mp4", error="cannot decode: <b>bad</b> data"),
        _row("unlabelled", None, ["swimming", "diving", *REST], [0.6, 0.2, 0.1, 0.05, 0.05], None),
    ], 5)
    df.attrs.update(model="kinetics-400", seconds=3.5)
    return df


@pytest.fixture(scope="module")
def report(clips, tmp_path_factory) -> tuple[Path, object]:
    """The report of the table, written, then moved to another folder with the videos deleted."""
    df = _table(clips)
    written = vw.save_report(df, tmp_path_factory.mktemp("out") / "sub" / "report.html", title=f"Run {HOSTILE}",
                             max_width=160)
    moved = tmp_path_factory.mktemp("elsewhere") / "moved report.html"
    shutil.move(written, moved)
    return moved, df


def test_report_parses_and_references_nothing_outside_itself(report):
    path, _ = report
    markup = path.read_text(encoding="utf-8")
    page = Page(markup)
    assert markup.startswith("<!DOCTYPE html>") and not page.problems, page.problems[:5]
    csp = [a for a in page.find("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]["content"] and "script-src" not in csp[0]["content"]
    assert not page.find("script") and not page.find("link") and not page.find("iframe")
    for tag, attrs in page.tags:
        for name in ("src", "href", "poster", "srcset", "action", "data"):
            value = attrs.get(name)
            assert value is None or value.startswith(("data:", "#")), (tag, name, value[:80])
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
    assert not re.search(r"url\(|@import|https?://", "".join(re.findall(r"<style>(.*?)</style>", markup, re.S)))


def test_report_embeds_playable_previews_and_placeholders(report):
    path, _ = report
    page = Page(path.read_text(encoding="utf-8"))
    videos = page.find("video")
    assert len(videos) == 4  # pool, the hostile name, eyebrows.avi (re-encoded), and the failed clip's file
    for attrs in videos:
        data = base64.b64decode(attrs["src"].split(",", 1)[1])
        assert attrs["src"].startswith("data:video/mp4;base64,")
        out = path.parent / "check.mp4"
        out.write_bytes(data)
        with av.open(str(out)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264" and stream.codec_context.width <= 160
    notes = [t for t in page.text if t.startswith(("cannot show this clip", "no video file"))]
    assert len(notes) == 3, notes  # deleted, broken, and the unlabelled row without a path


def test_report_shows_hostile_labels_and_names_as_text(report):
    path, _ = report
    markup = path.read_text(encoding="utf-8")
    page = Page(markup)
    assert HOSTILE not in markup and "<b>bad</b>" not in markup  # never raw in the markup
    assert not page.find("img") and not page.find("b")
    text = page.all_text
    assert f"Run {HOSTILE}" in text  # title
    assert text.count(HOSTILE) >= 5  # file name, ground truth, prediction, per-class row, confusion, matrix
    assert "failed: cannot decode: <b>bad</b> data" in text


def test_report_cards_numbers_truth_and_top5_colours(report):
    path, df = report
    page = Page(path.read_text(encoding="utf-8"))
    cards = page.find("article")
    assert [a["id"] for a in cards] == [f"clip-{i}" for i in range(1, 8)]
    kinds = [a["class"].split()[1] for a in cards]
    assert kinds == list(vw.outcomes(df))
    assert len(page.find("li", "hit")) == 4  # the truth marked where it is in the top-5
    assert len(page.find("li", "miss")) == 3  # a wrong top-1 of a labelled clip
    text = page.all_text
    assert "top-1 accuracy" in text and "model kinetics-400" in text and "7 clips" in text
    from vidwidget.inference import summary

    s = summary(df)
    assert f"{round(s['top1'] * 100, 1):g}%" in text and f"{round(s['top5'] * 100, 1):g}%" in text


def test_report_analysis_matches_the_library(report):
    path, df = report
    page = Page(path.read_text(encoding="utf-8"))
    cells = page.find("td", "vw-an-cell")
    view = vw.matrix_view(df)
    assert len(cells) == len(view.rows) * len(view.columns)
    titles = [c["title"] for c in cells if c["title"].endswith("clips: 1")]
    assert f"true: {HOSTILE}\npredicted: cleaning pool\nclips: 1" in titles
    assert len(page.find("li", "vw-an-confusion")) == len(vw.confusions(df))
    assert len(page.find("tr")) - 1 - (len(view.rows) + 1) == len(vw.class_table(df))  # header rows excluded


def test_numbers_follow_the_full_table_after_filtering(clips, tmp_path):
    df = _table(clips)
    in_top_k = vw.filter_results(df, {"outcome": "top-k"})
    out = vw.save_report(in_top_k, tmp_path / "top-k.html", previews=False)
    page = Page(out.read_text(encoding="utf-8"))
    assert [a["id"] for a in page.find("article")] == ["clip-2", "clip-3"]
    assert not page.find("video")
    numbered = df.assign(number=[10, None, 30, 40, 50, 60, 70]).iloc[:3]
    page = Page(vw.save_report(numbered, tmp_path / "n.html", previews=False).read_text(encoding="utf-8"))
    assert [a["id"] for a in page.find("article")] == ["clip-10", "clip-2", "clip-30"]  # no number: its position


def test_a_seed_style_table_without_paths_or_errors(tmp_path):
    """The seed's columns only (YouTube_Id, Ground_Truth, pred_i, score_i): no clip_id, path nor error."""
    import pandas as pd

    df = pd.DataFrame({"YouTube_Id": ["abc", "def"], "Ground_Truth": ["yoga", "zumba"],
                       "pred_1": ["yoga", "yoga"], "score_1": [0.9, 0.6], "pred_2": ["zumba", "zumba"],
                       "score_2": [0.05, 0.3]})
    page = Page(vw.save_report(df, tmp_path / "seed.html").read_text(encoding="utf-8"))
    assert not page.problems and "top-1 accuracy" in page.all_text and "top-2 accuracy" in page.all_text
    assert [a["class"].split()[1] for a in page.find("article")] == ["correct", "top-k"]
    assert "abc" in page.all_text and page.all_text.count("no video file recorded for this clip") == 2
    panel = vw.AnalysisPanel(df)
    assert panel.summary["top1"] == 0.5 and panel.confusions == [{"true": "zumba", "predicted": "yoga", "clips": 1}]


def test_empty_and_unlabelled_tables_say_so(tmp_path):
    page = Page(vw.save_report(results_frame([], 5), tmp_path / "e.html").read_text(encoding="utf-8"))
    assert "No results in this table." in page.all_text and not page.problems
    unlabelled = results_frame([_row("u", None, ["a", "b", "c", "d", "e"], [0.5, 0.2, 0.1, 0.1, 0.1], None)], 5)
    page = Page(vw.save_report(unlabelled, tmp_path / "u.html", previews=False).read_text(encoding="utf-8"))
    assert "no accuracy to show" in page.all_text and "1 unlabelled" in page.all_text


def test_bad_arguments_are_refused_with_a_reason(tmp_path):
    df = results_frame([], 5)
    with pytest.raises(ValueError, match="max_width"):
        vw.save_report(df, tmp_path / "r.html", max_width=0)
    with pytest.raises(IsADirectoryError, match="report.html"):
        vw.save_report(df, tmp_path)
    with pytest.raises(TypeError, match="DataFrame"):
        vw.save_report([1, 2], tmp_path / "r.html")
