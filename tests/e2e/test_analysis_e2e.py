"""End to end: AnalysisPanel alone in a real JupyterLab (light, then dark theme) in headless Debian chromium, and
the HTML report of the same table opened from another folder with its videos gone. Clicks must reach Python as
filter_request, the hostile class name must show literally, the cell's output must hold the widget and nothing
else. Screenshots go to artifacts/e2e/analysis/."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from harness import ARTIFACTS, JupyterLab, chromium_page, prerequisites_missing, write_notebook

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

SHOTS = ARTIFACTS / "analysis"
HOSTILE = "<img src=x onerror=alert(1)>"

# 13 classes, 3 clips each; class i is mistaken for the next class in i % 3 of its clips, plus a hostile class,
# an unlabelled clip and a failed one. The report's clips point at copies of the shared videos.
SETUP = """\
import itertools, shutil
from pathlib import Path
import vidwidget as vw
from vidwidget.clip import Clip
from vidwidget.inference.results import prediction_row, results_frame
from vidwidget.models.base import Prediction
from vidwidget.widgets import AnalysisPanel

HOSTILE = {hostile!r}
videos = itertools.cycle(sorted(Path({videos!r}).iterdir()))
names = ["abseiling", "archery", "arm wrestling", "bowling", "cleaning pool", "dancing ballet", "diving",
         "filling eyebrows", "juggling balls", "surfing water", "tai chi", "yoga", HOSTILE]
rows = []
for i, name in enumerate(names):
    for j in range(3):
        pred = names[(i + 1) % len(names)] if j < i % 3 else name
        others = [n for n in names if n != pred][:4]
        rows.append(prediction_row(Clip(f"{{name}}/{{j}}", label=name, path=next(videos)),
                                   Prediction((pred, *others), (0.6, 0.2, 0.1, 0.05, 0.05), tuple(range(5))), 5))
rows.append(prediction_row(Clip("u/0", label=None, path=next(videos)),
                           Prediction(tuple(names[:5]), (0.5, 0.2, 0.1, 0.1, 0.1), tuple(range(5))), 5))
rows.append(prediction_row(Clip("yoga/broken", label="yoga", path=Path("gone.mp4")), None, 5, error="cannot decode"))
df = results_frame(rows, 5)
df.attrs["model"] = "kinetics-400"
"""
WIDGET = "panel = AnalysisPanel(df, caption='kinetics-400 · 64 frames')\npanel"
ASK = "print(json.dumps(panel.filter_spec), len(vw.filter_results(df, panel.filter_spec)))"
STALE = "panel.update(df, stale=True)\nout = vw.save_report(df, 'report.html', title='Run of ' + HOSTILE)\nprint(out)"


def _run_cell(page, index: int) -> None:
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function("(el) => /\\[\\d+\\]/.test(el.textContent)",
                           arg=cell.locator(".jp-InputArea-prompt").element_handle(), timeout=120_000)


def _output(page, index: int) -> str:
    out = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea-output").first
    out.wait_for(timeout=60_000)
    return out.inner_text()


def _dark_theme(page) -> None:
    """Settings → Theme → JupyterLab Dark, as a user switches it."""
    assert page.evaluate("() => document.body.dataset.jpThemeLight") == "true"
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^JupyterLab Dark$")).click()
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)


def _check_panel(page, theme: str) -> None:
    panel = page.locator(".vw-analysis").first
    panel.wait_for(timeout=60_000)
    cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
    outputs = cell.locator(".jp-OutputArea-output")
    assert outputs.count() == 1, cell.inner_text()  # the widget and nothing else (no stderr, no traceback)
    assert cell.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert page.locator(".vw-an-class").count() == 13
    assert panel.locator("img").count() == 0
    assert HOSTILE in panel.locator(".vw-an-table").inner_text()
    assert page.locator(".vw-an-figure-value").first.inner_text() == "69.2%"  # 27 of 39 right
    # sort by errors: the classes with 2 errors come first
    page.locator('th[data-key="errors"] .vw-an-sort').click()
    first = page.locator(".vw-an-class").first
    assert first.locator("td").nth(4).inner_text() == "2"
    # hover a matrix cell: the readout names it; click it: Python receives the filter and it selects its clips
    cell_loc = page.locator('td.vw-an-cell[data-true="archery"][data-predicted="arm wrestling"]')
    cell_loc.hover()
    assert page.locator(".vw-an-readout").inner_text() == "true archery · predicted arm wrestling · 1 clip"
    page.screenshot(path=str(SHOTS / f"{theme}-page.png"))
    cell_loc.click()
    assert "vw-an-active" in (cell_loc.get_attribute("class") or "")
    panel.screenshot(path=str(SHOTS / f"{theme}-panel-cell-clicked.png"))
    _run_cell(page, 2)
    assert _output(page, 2).strip() == '{"true": "archery", "predicted": "arm wrestling"} 1'


def test_analysis_panel_in_jupyterlab_and_the_report(tmp_path, shared_videos):
    missing = prerequisites_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"end-to-end prerequisites missing in CI: {missing}")
        pytest.skip(f"{missing} — run scripts/install-e2e.sh (scripts/test.sh does)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    videos = tmp_path / "videos"  # copies, deleted before the report is opened
    videos.mkdir()
    for name in ("arm_wrestling.mp4", "cleaning_pool_32frames.mp4", "filling_eyebrows_mpeg4.avi"):
        shutil.copy(shared_videos / name, videos / name)

    lab = JupyterLab(tmp_path / "lab")
    write_notebook(lab.root / "analysis.ipynb", [
        "import json\n" + SETUP.format(hostile=HOSTILE, videos=str(videos)), WIDGET, ASK, STALE])
    lab.start()
    console: list[str] = []
    try:
        with chromium_page(viewport=(1400, 1500)) as (page, messages):
            try:
                page.goto(lab.notebook_url("analysis.ipynb"))
                page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor", timeout=90_000)
                page.get_by_text(re.compile(r"\| Idle")).first.wait_for(timeout=120_000)
                _run_cell(page, 0)
                for theme in ("light", "dark"):
                    if theme == "dark":
                        _dark_theme(page)
                    _run_cell(page, 1)  # a fresh panel each time
                    _check_panel(page, theme)
                # stale: greyed with a note; the report is written beside the notebook
                _run_cell(page, 3)
                assert _output(page, 3).strip().endswith("report.html")
                note = page.locator(".vw-an-stale-note")
                note.wait_for(state="visible", timeout=30_000)
                assert "other settings" in note.inner_text()
                page.locator(".vw-analysis").first.screenshot(path=str(SHOTS / "dark-panel-stale.png"))
            except Exception:
                page.screenshot(path=str(SHOTS / "zz-failure.png"))
                raise
            finally:
                console += messages
        assert not [m for m in console if m.startswith(("pageerror", "dialog"))], console

        # the report, moved to another folder, with its source videos gone, opened from disk
        moved = tmp_path / "elsewhere" / "moved report.html"
        moved.parent.mkdir()
        shutil.move(lab.root / "report.html", moved)
        shutil.rmtree(videos)
        with chromium_page(viewport=(1300, 1000)) as (page, messages):
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(moved.as_uri())
            page.wait_for_function("() => [...document.querySelectorAll('video')].length === 40 && "
                                   "[...document.querySelectorAll('video')].every(v => v.readyState >= 2 "
                                   "&& v.videoWidth > 0)", timeout=60_000)
            assert requests == [moved.as_uri()], requests[:5]  # nothing loaded from anywhere else
            assert page.locator("img").count() == 0 and page.title() == f"Run of {HOSTILE}"
            assert page.locator("article.failed .vidwidget-video-error").inner_text().startswith("cannot show")
            background = "() => getComputedStyle(document.body).backgroundColor"
            for scheme in ("light", "dark"):  # the reader's system setting, switched on the open page
                page.emulate_media(color_scheme=scheme)
                assert page.evaluate(background) == ("rgb(255, 255, 255)" if scheme == "light" else "rgb(17, 17, 17)")
                # viewport shots (a full-page shot leaves videos below the fold unpainted in headless chromium)
                page.screenshot(path=str(SHOTS / f"report-{scheme}-top.png"))
                page.locator("section.vw-analysis").last.screenshot(path=str(SHOTS / f"report-{scheme}-analysis.png"))
                page.evaluate("() => window.scrollTo(0, 0)")
            assert not [m for m in messages if m.startswith(("pageerror", "dialog"))], messages
            console += messages
    finally:
        (SHOTS / "console.log").write_text("\n".join(console))
        (SHOTS / "jupyter.log").write_text(lab.log())
        lab.stop()
