"""The seed tutorial's API (``vidbench``), kept as thin functions over vidwidget's modules.

Names and contracts are the seed's; its bugs are not: batches may be partial, short clips are resampled
instead of rejected, caches hold uint8 (not float32), and the HTML table embeds its videos so it survives
moving the notebook.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .clip import Clip
from .errors import VidwidgetError
from .inference import evaluate as _evaluate
from .inference.results import prediction_row, results_frame, top_k_accuracy
from .models import Prediction, VideoModel, load_model
from .report import video_tag
from .video import ClipCache, load_clip, probe, resample_indices


def load_and_resize_video(path: str | os.PathLike, num_frames: int | None = None, *, mode: str = "crop",
                          size: int = 224) -> np.ndarray:
    """The seed's loader: float32 ``[T, 224, 224, 3]`` in [0, 1] (all frames unless ``num_frames``).

    Decoding and resizing happen in uint8 (see :func:`vidwidget.video.read_frames`); only the result is float.
    """
    return load_clip(path, num_frames, mode=mode, size=size).astype(np.float32) / 255.0


def resample_video(video: np.ndarray, num_frames: int) -> np.ndarray:
    """Resample ``[1, T, H, W, C]`` (or ``[T, H, W, C]``) to ``num_frames`` frames at ``floor(T*i/n)``."""
    video = np.asarray(video)
    axis = 1 if video.ndim == 5 else 0
    return np.take(video, resample_indices(video.shape[axis], num_frames), axis=axis)


def video_acceptable(path: str | os.PathLike, min_frames: int = 1) -> bool:
    """Whether a file is a readable video with at least ``min_frames`` frames.

    The seed demanded 100 frames; any readable clip can be resampled to the model's frame count, so the
    default here is 1.
    """
    try:
        return probe(path).num_frames >= min_frames
    except (VidwidgetError, OSError, ValueError):
        return False


class I3DLoader:
    """The seed's model holder: ``I3DLoader()`` loads I3D Kinetics-400; ``.model``, ``.labels``, ``.load()``."""

    def __init__(self, version: str | int = "400") -> None:
        self.model: VideoModel = load_model(f"kinetics-{version}" if str(version).isdigit() else str(version))

    def load(self, version: str | int = "400") -> I3DLoader:
        self.model = load_model(f"kinetics-{version}" if str(version).isdigit() else str(version))
        return self

    @property
    def labels(self) -> list[str]:
        return self.model.labels

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return self.model.logits(frames)


def _as_model(model) -> VideoModel:
    if isinstance(model, I3DLoader):
        return model.model
    if isinstance(model, VideoModel):
        return model
    return load_model(model)


def predict(sample_video: np.ndarray, model, labels: Sequence[str] | None = None,
            num_top_classes: int = 5) -> tuple[np.ndarray, list[str], float, int]:
    """The seed's ``predict`` for one clip ``[1, T, 224, 224, 3]`` (float [0, 1] or uint8): returns
    (sorted probabilities, sorted labels, run time in seconds, argmax class index)."""
    net = _as_model(model)
    start = time.perf_counter()
    probs = net.probabilities(np.asarray(sample_video))[0]
    seconds = time.perf_counter() - start
    order = np.argsort(-probs, kind="stable")[:num_top_classes]
    names = list(labels) if labels is not None else net.labels
    return probs[order], [names[i] for i in order], seconds, int(order[0])


def store_results_in_dataframe(video_ids: Sequence[str], ground_truth: Sequence[str | None],
                               sorted_labels: Sequence[Sequence[str]], sorted_probabilities: Sequence[Sequence[float]],
                               num_top_classes: int = 5) -> pd.DataFrame:
    """The seed's results table: ``YouTube_Id, Ground_Truth, pred_1..k, score_1..k`` (plus vidwidget's
    ``clip_id``, ``error``, ``seconds``, ``path``) from per-clip sorted labels and probabilities."""
    rows = []
    for vid, truth, names, probs in zip(video_ids, ground_truth, sorted_labels, sorted_probabilities, strict=True):
        k = min(num_top_classes, len(names))
        pred = Prediction(tuple(names[:k]), tuple(float(p) for p in probs[:k]), tuple(range(k)))
        rows.append(prediction_row(Clip(str(vid), label=truth), pred, num_top_classes))
    return results_frame(rows, num_top_classes)


def compute_accuracy(df: pd.DataFrame, num_top_classes: int = 1) -> float:
    """The seed's accuracy: percentage (0..100) of clips whose ground truth is in the top ``num_top_classes``."""
    return 100.0 * top_k_accuracy(df, num_top_classes)


def evaluate(clips, model="kinetics-400", **kwargs) -> pd.DataFrame:
    """Evaluate clips (a list, a ``KineticsLoader``, a dataset with ``.clips()``) with a model or ``I3DLoader``."""
    if isinstance(clips, KineticsLoader):
        clips = clips.clips()
    elif hasattr(clips, "clips"):
        clips = clips.clips(downloaded_only=True) if "downloaded_only" in _params(clips.clips) else clips.clips()
    return _evaluate(clips, _as_model(model), **kwargs)


def _params(fn) -> set[str]:
    import inspect

    return set(inspect.signature(fn).parameters)


def make_video_table(videos: Sequence[str | os.PathLike] | pd.DataFrame, labels: Sequence[str | None] | None = None,
                     columns: int = 4, max_width: int = 320):
    """A self-contained HTML table of playable clips (the seed linked files by relative path, which broke
    whenever the notebook moved). Videos are embedded as browser-safe H.264 previews; every text is escaped.

    ``videos`` is a list of paths or a results DataFrame with a ``path`` column (its ``Ground_Truth`` and
    ``pred_1`` are shown). Returns an ``IPython.display.HTML`` when IPython is present, else the HTML string.
    """
    if isinstance(videos, pd.DataFrame):
        df = videos
        paths = list(df["path"])
        captions = [f"truth: {t} · predicted: {p}" for t, p in zip(df.get("Ground_Truth", [None] * len(df)),
                                                                    df.get("pred_1", [None] * len(df)), strict=True)]
    else:
        paths = list(videos)
        captions = [f"{lab}" if lab is not None else "" for lab in (labels or [None] * len(paths))]
    cells = []
    for i, (path, caption) in enumerate(zip(paths, captions, strict=True)):
        name = html.escape(Path(path).name)
        cells.append(f"<td>{video_tag(path, max_width)}<div>{i}: {name}</div><div>{html.escape(caption)}</div></td>")
    rows = ["<tr>" + "".join(cells[i : i + columns]) + "</tr>" for i in range(0, len(cells), columns)]
    markup = "<table>" + "".join(rows) + "</table>"
    try:
        from IPython.display import HTML
    except ImportError:
        return markup
    return HTML(markup)


class KineticsLoader:
    """The seed's Kinetics helper over :class:`vidwidget.data.KineticsDataset`.

    ``download_n_videos(n)`` streams only the clips asked for; preprocessed clips are cached as uint8; ``get_batches``
    yields the last, partial batch too.
    """

    def __init__(self, version: str | int = "400", split: str = "val", root: str | os.PathLike | None = None) -> None:
        from .data import KineticsDataset

        self.dataset = KineticsDataset(version, split, root)
        self.cache = ClipCache()
        self._processed: dict[str, Path] = {}

    @property
    def data_dir(self) -> Path:
        """Folder holding the downloaded clip files."""
        return self.dataset.videos_dir

    def download_n_videos(self, n: int, progress: bool = True, **kwargs) -> list[Path]:
        """Make sure ``n`` clips are on disk (streamed out of the parts, not whole archives); their paths."""
        return [c.path for c in self.dataset.download(n, progress=progress, **kwargs)]

    def clips(self) -> list[Clip]:
        return self.dataset.clips(downloaded_only=True)

    @property
    def video_filenames(self) -> list[Path]:
        """Downloaded clip files, sorted by name."""
        return sorted(c.path for c in self.clips())

    @property
    def num_videos_downloaded(self) -> int:
        return len(self.video_filenames)

    @property
    def num_videos_processed(self) -> int:
        """Clips preprocessed by :meth:`load_and_cache_video_examples` in this session."""
        return len(self._processed)

    def load_and_cache_video_examples(self, num_frames: int | None = 64, mode: str = "crop") -> dict[str, str]:
        """Decode and preprocess every downloaded clip into the uint8 cache; returns ``{clip_id: error}`` for
        the clips that could not be read (the seed silently dropped them)."""
        errors = {}
        for clip in self.clips():
            try:
                load_clip(clip.path, num_frames, mode=mode, cache=self.cache)
                self._processed[clip.id] = clip.path
            except VidwidgetError as exc:
                errors[clip.id] = str(exc)
        return errors

    def get_batches(self, batch_size: int, num_frames: int = 64, mode: str = "crop"
                    ) -> Iterator[tuple[np.ndarray, list[str], list[str | None]]]:
        """Yield ``(videos float32 [B, T, 224, 224, 3] in [0, 1], clip ids, ground truths)``, the last batch
        possibly smaller; unreadable clips are skipped (see :meth:`load_and_cache_video_examples`)."""
        clips = self.clips()
        for start in range(0, len(clips), batch_size):
            good = []
            for clip in clips[start : start + batch_size]:
                try:
                    good.append((clip, load_clip(clip.path, num_frames, mode=mode, cache=self.cache)))
                except VidwidgetError:
                    continue
            if good:
                videos = np.stack([f for _, f in good]).astype(np.float32) / 255.0
                yield videos, [c.id for c, _ in good], [c.label for c, _ in good]

    def ground_truth_labels(self, video_ids: Sequence[str] | None = None) -> list[str | None]:
        """Labels of the given clip ids (or of every downloaded clip), from the annotations."""
        ann = self.dataset.annotations.drop_duplicates("clip_id").set_index("clip_id")["label"]
        ids = [c.id for c in self.clips()] if video_ids is None else [Path(str(v)).stem for v in video_ids]
        return [ann.get(i) for i in ids]
