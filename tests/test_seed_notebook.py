"""The seed tutorial runs as written: its code cells, parsed from ../shared/seed at test time, executed in order in
one IPython namespace against the loopback Kinetics mirror, with only the ``vidbench`` imports rewritten and the
sizes shrunk. The assertions check what the seed's printed outputs show."""

from __future__ import annotations

import ast
import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from kinetics_mirror import MirrorServer, build_mirror
from seed_helpers import share_model_caches

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / "000_967a5272c2b93b17.txt"
CELL_MARK = re.compile(r"^In \[(\d+|None| )\]:\s*$")
SEED_COLUMNS = ["YouTube_Id", "Ground_Truth", *[f"pred_{i}" for i in range(1, 6)], *[f"score_{i}" for i in range(1, 6)]]
ACCURACY_LINE = re.compile(r"^top-(\d) accuracy: \d+\.\d\d%$")

# (literal in the seed, its smaller stand-in): each must occur exactly once in the code cells
SHRINK = [
    ("loader.download_n_videos(500)", "loader.download_n_videos(12)"),
    ("NUM_VIDEOS = 8", "NUM_VIDEOS = 4"),
    ("num_frames = 128", "num_frames = 32"),
    ("num_videos = 64", "num_videos = 8"),
    ("batch_size=8", "batch_size=3"),  # 8 clips in batches of 3: the last batch is partial
    ("num_frames=100", "num_frames=16"),
]
IMPORT = re.compile(r"^from vidbench(\.[\w.]+)? import ", re.M)


@dataclass
class Cell:
    index: int  # position among the seed's cells (the pip cell is 0)
    label: str  # the N of "In [N]:" ("None" for cells the seed never ran)
    code: str
    output: str  # what follows the code up to the next cell: the seed's printed output, then prose


def _is_code(text: str) -> bool:
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


def _pure_expression(text: str) -> bool:
    """A paragraph that parses on its own as nothing but expressions: a printed value (``(76, 720, 406, 3)``,
    ``['abseiling', ...]``, ``array(...)``), never code that continues the cell."""
    try:
        body = ast.parse(text).body
    except SyntaxError:
        return False
    return bool(body) and all(isinstance(node, ast.Expr) for node in body)


def parse_seed(text: str) -> list[Cell]:
    """Split the notebook text into cells. A cell's code is its first paragraph plus each following paragraph
    (paragraphs are separated by blank lines) that keeps the whole valid Python and is not a printed value."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if CELL_MARK.match(line)]
    cells = []
    for n, start in enumerate(starts):
        body = lines[start + 1 : starts[n + 1] if n + 1 < len(starts) else len(lines)]
        paragraphs: list[list[str]] = [[]]
        for line in body:
            if line.strip():
                paragraphs[-1].append(line)
            elif paragraphs[-1]:
                paragraphs.append([])
        paragraphs = [p for p in paragraphs if p]
        code = "\n".join(paragraphs[0])
        taken = 1
        for para in paragraphs[1:]:
            candidate = code + "\n\n" + "\n".join(para)
            if _pure_expression("\n".join(para)) or not _is_code(candidate):
                break
            code, taken = candidate, taken + 1
        output = "\n".join("\n".join(p) for p in paragraphs[taken:])
        cells.append(Cell(n, CELL_MARK.match(lines[start])[1], code, output))
    return cells


def _runnable(cells: list[Cell]) -> list[Cell]:
    """The code cells with only the ``vidbench`` imports rewritten and the sizes shrunk; the ``!pip`` cell out."""
    out = [c for c in cells if "!pip install" not in c.code]
    assert len(cells) - len(out) == 1, "the seed has exactly one pip cell"
    for old, new in SHRINK:
        hits = [c for c in out if old in c.code]
        assert len(hits) == 1 and hits[0].code.count(old) == 1, f"{old!r} should occur once in the seed's code"
        hits[0].code = hits[0].code.replace(old, new)
    for c in out:
        c.code = IMPORT.sub("from vidwidget import ", c.code)
        assert "vidbench" not in c.code
    return out


def test_parser_reads_the_seed_cells():
    cells = parse_seed(SEED.read_text(encoding="utf-8"))
    assert [c.label for c in cells] == ["None", "1", "2", "3", "None", "4", "5", "5", "6", "7", "8", "9", "10",
                                        "11", "12", "13", "14", "15", "13", "16", "17", "18", "19", "20", "21", "22",
                                        "5", "6", "7", "8"]
    by_code = {c.code.splitlines()[-1]: c for c in cells}
    assert by_code["predictions"].output.startswith("array([['playing harmonica'")  # a printed value, not code
    assert by_code["results_df = store_results_in_dataframe(results)"].code.startswith("# collect metadata")
    assert "return np.concatenate" in cells[14].code  # blank lines inside a function stay in the cell
    assert cells[25].output.splitlines()[:2] == ["top-1 accuracy: 50.00%", "top-5 accuracy: 87.50%"]
    assert all(ACCURACY_LINE.match(line) for line in cells[25].output.splitlines()[:2])


@pytest.fixture()
def seed_mirror(tmp_path, monkeypatch):
    built = build_mirror(tmp_path / "bucket", part_sizes=(14,), big_first_part=False, work=tmp_path / "src")
    with MirrorServer(tmp_path / "bucket") as server:
        monkeypatch.setenv("VIDWIDGET_KINETICS_URL", server.url)
        monkeypatch.setenv("VIDWIDGET_HOME", str(tmp_path / "home"))
        monkeypatch.chdir(tmp_path)  # the seed's evaluate writes small_sample_results_i3d.csv here
        yield built


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_seed_notebook_runs_as_written(seed_mirror, k400, session_home, tmp_path):
    from IPython.core.interactiveshell import InteractiveShell

    share_model_caches(Path(session_home), tmp_path / "home")
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(colors="nocolor")
    shown: dict[str, object] = {}
    printed: dict[str, str] = {}
    try:
        for cell in _runnable(parse_seed(SEED.read_text(encoding="utf-8"))):
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                result = shell.run_cell(cell.code, store_history=False, silent=False)
            if not result.success:
                error = result.error_before_exec or result.error_in_exec
                raise AssertionError(f"seed cell In [{cell.label}] (#{cell.index}) failed:\n{cell.code}\n"
                                     f"{buffer.getvalue()[-3000:]}") from error
            shown[f"{cell.index}:{cell.label}"] = result.result
            printed[f"{cell.index}:{cell.label}"] = buffer.getvalue()
        ns = dict(shell.user_ns)
    finally:
        InteractiveShell.clear_instance()
    _check_outputs(ns, shown, printed, seed_mirror)


def _check_outputs(ns, shown, printed, mirror) -> None:
    loader = ns["loader"]
    # In [4]: the K400 annotations beside the clips; In [5]: full paths starting with the 11-char YouTube id
    assert list(ns["ground_truth_labels_df"].columns) == ["label", "youtube_id", "time_start", "time_end", "split",
                                                          "is_cc"]
    assert len(loader.video_filenames) == 12 and all(Path(p).is_absolute() for p in loader.video_filenames)
    assert set(ns["available_youtube_ids"]) <= set(ns["ground_truth_labels_df"]["youtube_id"])
    assert len(ns["available_videos_metadata_df"]) == 12 and ns["pathname"] == str(loader.data_dir)
    mirror_labels = {c.clip_id[:11]: c.label for c in mirror.all_clips}
    sample = ns["video_sample"]
    assert len(sample) == 4
    assert all(mirror_labels[y] == lab for y, lab in zip(sample["youtube_id"], sample["label"], strict=True))
    # In [9]: a self-contained table, four wide, with the truths
    table = shown["11:9"]
    assert "data:video/mp4;base64," in table.data and table.data.count("<td>") == 4
    assert all(lab in table.data for lab in sample["label"])
    # In [11]: one shape line per sampled clip (frames, height, width, 3)
    shapes = printed["13:11"].splitlines()
    assert len(shapes) == 4 and all(re.fullmatch(r"\(\d+, \d+, \d+, 3\)", s) for s in shapes)
    # In [14]: the batch tensor; In [13]: 400 labels
    assert shown["16:14"] == (4, 32, 224, 224, 3) and ns["videos_tensor"].dtype == np.float32
    assert len(ns["i3d400"].labels) == 400 and shown["18:13"] == ns["i3d400"].labels[:20]
    # In [17], In [18]: labels and scores [B, 400], sorted descending per row
    predictions, scores = shown["20:17"], shown["21:18"]
    assert predictions.shape == scores.shape == (4, 400) and predictions.dtype.kind == "U"
    assert scores.dtype == np.float32 and (np.diff(scores, axis=1) <= 0).all()
    assert printed["19:16"] == ""  # verbose=False
    # In [20]: the seed's columns, index video_id
    results_df = shown["23:20"]
    assert list(results_df.columns) == SEED_COLUMNS and results_df.index.name == "video_id"
    assert list(results_df["pred_1"]) == list(predictions[:, 0])
    # In [21]: the same table with predictions, wrong ones in red
    table = shown["24:21"].data
    wrong = int((results_df["pred_1"] != results_df["Ground_Truth"]).sum())
    assert table.count('style="color:red"') == wrong
    # In [22]: the accuracy lines
    lines = printed["25:22"].splitlines()
    assert [ACCURACY_LINE.match(line)[1] for line in lines] == ["1", "5"]
    top1 = 100 * (results_df["pred_1"] == results_df["Ground_Truth"]).mean()
    assert lines[0] == f"top-1 accuracy: {top1:.2f}%"
    # second In [5]: a number of videos, one Processing line each
    assert printed["26:5"].splitlines() == [f"Processing {p}" for p in loader.video_filenames[:8]]
    # In [6], In [7]: 8 clips in batches of 3 (the last one partial), the seed's table
    final = shown["28:7"]
    assert len(final) == 8 and final.index.name == "video_id" and list(final.index) == list(range(8))
    assert list(final.columns[:12]) == SEED_COLUMNS and final["error"].isna().all()
    assert final["Ground_Truth"].tolist() == [mirror_labels[Path(p).name[:11]] for p in loader.video_filenames[:8]]
    assert (final[[f"score_{i}" for i in range(1, 6)]].diff(axis=1).iloc[:, 1:] <= 0).all().all()
    assert Path("small_sample_results_i3d.csv").is_file()
    # In [8]
    assert [ACCURACY_LINE.match(line)[1] for line in printed["29:8"].splitlines()] == ["1", "5"]
