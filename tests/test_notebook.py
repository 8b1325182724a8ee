"""The tutorial notebook runs top to bottom on local videos (no network), and tells the right story."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "tutorial.ipynb"


@pytest.mark.timeout(600)
def test_tutorial_executes(tmp_path, shared_videos, monkeypatch):
    folder = tmp_path / "videos"
    for label, name in [("arm wrestling", "arm_wrestling.mp4"), ("cleaning pool", "cleaning_pool_32frames.mp4"),
                        ("filling eyebrows", "filling_eyebrows_mpeg4.avi")]:
        (folder / label).mkdir(parents=True)
        shutil.copy(shared_videos / name, folder / label / name)
    monkeypatch.setenv("VIDWIDGET_TUTORIAL_VIDEOS", str(folder))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(
        str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))
        for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
    )
    assert "3 clips" in text
    assert "top-1 accuracy: 100.00%" in text and "top-5 accuracy: 100.00%" in text
    assert "scores (3, 400) float32, labels (3, 400)" in text  # the seed's predict on a batch
    assert "arm wrestling" in text
    mime = "application/vnd.jupyter.widget-view+json"
    widget_outputs = [o for o in nb.cells[-2].outputs if mime in o.get("data", {})]
    assert widget_outputs, "the VideoExplorer cell must display a widget"
