"""The seed tutorial's API (``vidbench``), kept as thin functions over vidwidget's modules.

The seed notebook (``KineticsLoader``, ``I3DLoader``, ``predict``, ``store_results_in_dataframe``,
``compute_accuracy``, ``evaluate``, ``make_video_table``, ``resample_video``, ``load_and_resize_video``,
``video_acceptable``) runs as written with ``from vidwidget import ...``: the names, argument names, return
shapes, columns and file locations are the seed's. Its bugs are not: batches may be partial, short clips are
resampled instead of rejected, caches hold uint8 (not float32), downloads stream only the clips asked for, and
the HTML table embeds its videos so it survives moving the notebook.

Where a seed name and a native one differ in contract, the native one lives in a subpackage:
``vidwidget.resample_video`` (seed: ``[1, T, H, W, C]`` in, batch out) vs ``vidwidget.video.resample_video``
(one clip ``[T, ...]``); ``vidwidget.predict`` (seed: whole sorted arrays) vs ``vidwidget.inference.predict``
(top-k ``Prediction`` records); ``vidwidget.evaluate`` (seed: ``evaluate(model, loader, ...)``) vs
``vidwidget.inference.evaluate`` (``evaluate(clips, model, ...)``).
"""

from __future__ import annotations

import functools
import html
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ._atomic import atomic_write
from .clip import Clip
from .errors import VidwidgetError
from .inference import evaluate as _native_evaluate
from .inference.results import result_columns, top_k_accuracy
from .models import VideoModel, load_model
from .report import video_tag
from .video import ClipCache, load_clip, probe, resample_indices

_RESIZE_TYPES = ("crop", "pad")


def load_and_resize_video(path: str | os.PathLike, resize_type: str = "crop", *, num_frames: int | None = None,
                          size: int = 224) -> np.ndarray:
    """The seed's loader: float32 ``[T, 224, 224, 3]`` RGB in [0, 1], every frame (or ``num_frames``).

    ``resize_type`` is ``"crop"`` (central square, the seed's way) or ``"pad"`` (black bars). Decoding and
    resizing happen in uint8 (:func:`vidwidget.load_clip`, which returns uint8 and is the native call); only the
    result becomes float, because that is what the seed's cells expect.
    """
    if resize_type not in _RESIZE_TYPES:
        raise ValueError(f"resize_type must be one of {_RESIZE_TYPES}, got {resize_type!r}")
    return load_clip(path, num_frames, mode=resize_type, size=size).astype(np.float32) / 255.0


def resample_video(video: np.ndarray, num_frames: int) -> np.ndarray:
    """The seed's resampler: a batch ``[B, T, H, W, C]`` (the seed passes ``video[None]``) to ``num_frames``
    frames at indices ``floor(T*i/num_frames)``, repeating frames when T is smaller. A 4-D ``[T, H, W, C]`` clip
    is resampled along its first axis. For one clip, the native call is :func:`vidwidget.video.resample_video`.
    """
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


def _model_name(trained_on: str | int) -> str:
    return f"kinetics-{trained_on}" if str(trained_on).isdigit() else str(trained_on)


class I3DLoader:
    """The seed's model holder: ``I3DLoader(trained_on="kinetics-400")`` (or ``"kinetics-600"``, TF Hub,
    online once); ``.labels``, ``.model`` (the native :class:`vidwidget.VideoModel`), and calling it on frames
    gives logits. Native call: ``vidwidget.load_model("kinetics-400")``. Extra keywords (``backend``,
    ``threads``) go to :func:`vidwidget.load_model`."""

    def __init__(self, trained_on: str | int = "kinetics-400", **kwargs) -> None:
        self.trained_on = _model_name(trained_on)
        self.model: VideoModel = load_model(self.trained_on, **kwargs)

    def __repr__(self) -> str:
        return f"I3DLoader(trained_on={self.trained_on!r})"

    @property
    def labels(self) -> list[str]:
        """The model's class names, in output order."""
        return list(self.model.labels)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return self.model.logits(frames)


def _as_model(model) -> VideoModel:
    if isinstance(model, I3DLoader):
        return model.model
    if isinstance(model, VideoModel):
        return model
    return load_model(model)


def predict(sample_video: np.ndarray, model, verbose: bool = True, *, num_top_classes: int | None = None
            ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | int]:
    """The seed's ``predict``: for a batch ``[B, T, 224, 224, 3]`` (float in [0, 1] or uint8) returns
    ``(scores, predictions, seconds, argmax)`` — ``scores`` float32 ``[B, C]`` sorted descending per row,
    ``predictions`` the label strings ``[B, C]`` in the same order (a numpy ``<U`` array), the model's run time
    in seconds, and each clip's top class index ``[B]``. A single clip ``[T, H, W, 3]`` gives ``[C]`` rows and
    an int. ``num_top_classes`` keeps only the first k columns; ``verbose`` prints each clip's top 5.

    The native call, :func:`vidwidget.inference.predict`, returns top-k :class:`vidwidget.models.Prediction`.
    """
    net = _as_model(model)
    frames = np.asarray(sample_video)
    single = frames.ndim == 4
    start = time.perf_counter()
    probs = net.probabilities(frames)
    seconds = time.perf_counter() - start
    order = np.argsort(-probs, axis=1, kind="stable")
    if num_top_classes is not None:
        order = order[:, :num_top_classes]
    scores = np.take_along_axis(probs, order, axis=1).astype(np.float32)
    predictions = np.asarray(net.labels)[order]
    argmax = order[:, 0]
    if verbose:
        for i, (names, values) in enumerate(zip(predictions, scores, strict=True)):
            top = ", ".join(f"{n} ({v:.3f})" for n, v in zip(names[:5], values[:5], strict=False))
            print(f"video {i}: {top}")
        print(f"run time: {seconds:.2f} s")
    if single:
        return scores[0], predictions[0], seconds, int(argmax[0])
    return scores, predictions, seconds, argmax


def _seed_columns(k: int) -> list[str]:
    """The seed's result columns, in vidwidget's order: ``YouTube_Id, Ground_Truth, pred_1..k, score_1..k``."""
    return [c for c in result_columns(k) if c in ("YouTube_Id", "Ground_Truth") or c[:5] in ("pred_", "score")]


def _seed_view(df: pd.DataFrame, k: int) -> pd.DataFrame:
    """A results table as the seed shows it: its columns first (then vidwidget's ``clip_id``, ``error``, ...),
    indexed ``video_id`` 0..n-1."""
    first = _seed_columns(k)
    out = df[first + [c for c in df.columns if c not in first]].reset_index(drop=True)
    out.index.name = "video_id"
    return out


def store_results_in_dataframe(results: Mapping[str, Sequence]) -> pd.DataFrame:
    """The seed's results table from its dict ``{"YouTube_Id": [...], "Ground_Truth": [...], "scores":
    [[top scores], ...], "preds": [[top labels], ...]}``: columns ``YouTube_Id, Ground_Truth, pred_1..k,
    score_1..k`` (k = the longest list), index ``video_id`` 0..n-1. Native results come from
    :func:`vidwidget.inference.evaluate` already in this shape (plus ``clip_id``, ``error``, ...)."""
    missing = [key for key in ("YouTube_Id", "scores", "preds") if key not in results]
    if missing:
        raise ValueError(f"results needs the keys YouTube_Id, scores and preds (Ground_Truth optional); "
                         f"missing {missing}")
    ids, scores, preds = list(results["YouTube_Id"]), list(results["scores"]), list(results["preds"])
    truths = list(results["Ground_Truth"]) if "Ground_Truth" in results else [None] * len(ids)
    if not len(ids) == len(truths) == len(scores) == len(preds):
        raise ValueError(f"results lists differ in length: {len(ids)} ids, {len(truths)} ground truths, "
                         f"{len(scores)} score lists, {len(preds)} prediction lists")
    k = max((len(p) for p in preds), default=0)
    table: dict[str, list] = {"YouTube_Id": ids, "Ground_Truth": truths}
    for i in range(k):
        table[f"pred_{i + 1}"] = [str(p[i]) if i < len(p) else None for p in preds]
    for i in range(k):
        table[f"score_{i + 1}"] = [float(s[i]) if i < len(s) else np.nan for s in scores]
    return _seed_view(pd.DataFrame(table, columns=_seed_columns(k)), k)


def compute_accuracy(df: pd.DataFrame, num_top_classes: int = 1) -> float:
    """The seed's accuracy: prints ``top-k accuracy: 50.00%`` and returns the percentage (0..100) of clips whose
    ground truth is among their top ``num_top_classes`` predictions (unreadable clips and clips without a ground
    truth do not count). Native call: :func:`vidwidget.top_k_accuracy` (a fraction, prints nothing)."""
    value = 100.0 * top_k_accuracy(df, num_top_classes)
    if value != value:  # NaN
        print(f"top-{num_top_classes} accuracy: n/a (no clip has both a ground truth and a prediction)")
    else:
        print(f"top-{num_top_classes} accuracy: {value:.2f}%")
    return value


# ---- evaluate ----------------------------------------------------------------------------------------------
def _is_model(obj) -> bool:
    """Whether the first argument of :func:`evaluate` is a model (seed order) rather than clips (native order)."""
    return isinstance(obj, I3DLoader | VideoModel | str | os.PathLike)


def _loader_clips(loader, num_videos: int | None) -> list[Clip]:
    if isinstance(loader, KineticsLoader):
        return loader.first_clips(num_videos)
    if hasattr(loader, "clips"):
        clips = loader.clips()
    else:
        clips = [c if isinstance(c, Clip) else Clip.from_path(c) for c in loader]
    return clips if num_videos is None else clips[:num_videos]


def _seed_evaluate(model, loader, num_videos: int | None = None, batch_size: int = 8, top_n_results: int = 5,
                   num_frames: int | None = None, savefile: str | os.PathLike | None = None,
                   **kwargs) -> pd.DataFrame:
    """The seed's ``evaluate(model, loader, ...)``: predict the first ``num_videos`` clips of ``loader`` (a
    :class:`KineticsLoader`, which downloads what is missing; also a dataset with ``.clips()`` or a list of clips
    or paths) in batches of ``batch_size`` (the last one may be partial), each clip resampled to ``num_frames``
    (None: the fewest frames in each batch, the seed's rule). Returns the seed's table (index ``video_id``;
    ``YouTube_Id, Ground_Truth, pred_1..k, score_1..k`` with k = ``top_n_results``, then vidwidget's
    ``clip_id``, ``error``, ``seconds``, ``path``); with ``savefile`` the rows go to that CSV batch by batch,
    and a re-run resumes from it. Other keywords (``progress``, ``cancel``, ``on_batch``, ``workers``,
    ``engine``, ...) go to :func:`vidwidget.inference.evaluate`, which does the work.

    ``vidwidget.evaluate`` also accepts the native order ``evaluate(clips, model, **options)`` and hands it to
    :func:`vidwidget.inference.evaluate` unchanged; new code should call that one directly.
    """
    clips = _loader_clips(loader, num_videos)
    if isinstance(loader, KineticsLoader):
        kwargs.setdefault("cache", loader.cache)
    df = _native_evaluate(clips, _as_model(model), num_frames=num_frames, batch_size=batch_size,
                          top_k=top_n_results, output=savefile, **kwargs)
    wanted = {c.id for c in clips}  # a resumed savefile may hold rows of other clips
    df = df[df["clip_id"].astype(str).isin(wanted)]
    return _seed_view(df, top_n_results)


@functools.wraps(_seed_evaluate)
def evaluate(*args, **kwargs) -> pd.DataFrame:
    first = args[0] if args else kwargs.get("model")
    if _is_model(first) or "loader" in kwargs:
        return _seed_evaluate(*args, **kwargs)
    if isinstance(first, KineticsLoader) or hasattr(first, "clips"):
        raise TypeError("vidwidget.evaluate takes the model first, as the seed does: evaluate(model, loader, "
                        "num_videos=..., batch_size=..., num_frames=...); with clips first, call "
                        "vidwidget.inference.evaluate(loader.clips(), model, ...)")
    return _native_evaluate(*args, **kwargs)


evaluate.__name__ = evaluate.__qualname__ = "evaluate"


# ---- HTML table --------------------------------------------------------------------------------------------
class VideoTable(str):
    """HTML markup (a ``str``, so ``IPython.display.HTML`` accepts it) that also renders as HTML when it is the
    value of a notebook cell."""

    def _repr_html_(self) -> str:
        return str(self)


def _files_by_id(folder: Path, ids: Iterable[str]) -> dict[str, Path | None]:
    """The video file of each YouTube id in ``folder``: the first whose name starts with the id (the seed's
    ``glob(f"{folder}/{id}*")``, without glob's special characters)."""
    from .data.folder import is_video_file

    names = sorted(p for p in folder.iterdir() if p.is_file() and is_video_file(p)) if folder.is_dir() else []
    return {i: next((p for p in names if p.name.startswith(i)), None) for i in ids}


def _cell(number: int, path: Path | None, missing: str, truth, pred, max_width: int) -> str:
    media = video_tag(path, max_width) if path is not None else (
        f'<div class="vidwidget-video-error">{html.escape(missing)}</div>')
    parts = [media, f"<div>{number}</div>"]
    if truth is not None and truth == truth:
        parts.append(f"<div>{html.escape(str(truth))}</div>")
    if pred is not None and pred == pred:
        wrong = truth is not None and truth == truth and str(pred) != str(truth)
        style = ' style="color:red"' if wrong else ""
        parts.append(f'<div class="{"wrong" if wrong else "right"}"{style}>{html.escape(str(pred))}</div>')
    return "<td>" + "".join(parts) + "</td>"


def make_video_table(data_dir: str | os.PathLike | pd.DataFrame, youtube_ids: Sequence[str] | None = None,
                     ground_truth_labels: Sequence[str | None] | None = None,
                     predictions: Sequence[str | None] | None = None, *, columns: int = 4,
                     max_width: int = 320) -> VideoTable:
    """The seed's table of playable clips, ``columns`` wide: each cell shows the clip, its number, its ground
    truth and (if given) the prediction, in red when it differs from the truth.

    Seed form: ``make_video_table(loader.data_dir, youtube_ids, ground_truth_labels[, predictions])`` finds each
    clip in ``data_dir`` by its YouTube id. Also ``make_video_table(results_df)`` for a native results table
    (``path``, ``Ground_Truth``, ``pred_1`` columns). Videos are embedded as browser-safe H.264 previews
    (:func:`vidwidget.report.video_tag`), so the HTML plays in a notebook and in a saved file moved elsewhere;
    every text is escaped. Returns the markup as a :class:`VideoTable` (a ``str``; pass it to
    ``IPython.display.HTML`` as the seed does, or show it directly).
    """
    if isinstance(data_dir, pd.DataFrame):
        df = data_dir
        if "path" not in df.columns:
            raise ValueError("make_video_table(df) needs a 'path' column (a vidwidget results table); for the "
                             "seed's form pass make_video_table(folder, youtube_ids, ground_truth_labels)")
        paths = [Path(p) if isinstance(p, str | os.PathLike) else None for p in df["path"]]
        missing = ["no file for this clip"] * len(df)
        truths = list(df["Ground_Truth"]) if "Ground_Truth" in df.columns else [None] * len(df)
        preds = list(df["pred_1"]) if "pred_1" in df.columns else [None] * len(df)
    else:
        if youtube_ids is None:
            raise TypeError("make_video_table(data_dir, youtube_ids, ground_truth_labels[, predictions]) needs the "
                            "YouTube ids of the clips to show")
        folder, ids = Path(data_dir), [str(i) for i in youtube_ids]
        found = _files_by_id(folder, ids)
        paths = [found[i] for i in ids]
        missing = [f"no clip file for {i} in {folder}" for i in ids]
        truths = list(ground_truth_labels) if ground_truth_labels is not None else [None] * len(ids)
        preds = list(predictions) if predictions is not None else [None] * len(ids)
        if not len(ids) == len(truths) == len(preds):
            raise ValueError(f"{len(ids)} ids, {len(truths)} ground truths and {len(preds)} predictions: "
                             "give one of each per clip")
    cells = [_cell(i, p, m, t, q, max_width)
             for i, (p, m, t, q) in enumerate(zip(paths, missing, truths, preds, strict=True))]
    rows = ["<tr>" + "".join(cells[i : i + columns]) + "</tr>" for i in range(0, len(cells), columns)]
    return VideoTable('<table class="vidwidget-video-table">' + "".join(rows) + "</table>")


# ---- Kinetics ----------------------------------------------------------------------------------------------
class _FullLengthCache(ClipCache):
    """A :class:`ClipCache` that also serves any frame count from a clip's full-length entry (which
    :meth:`KineticsLoader.load_and_cache_video_examples` writes), resampled with the seed's indices."""

    def get(self, path, num_frames, mode, size):
        hit = super().get(path, num_frames, mode, size)
        if hit is None and num_frames is not None:
            full = super().get(path, None, mode, size)
            if full is not None:
                return full[resample_indices(len(full), num_frames)]
        return hit


class KineticsLoader:
    """The seed's Kinetics helper over :class:`vidwidget.KineticsDataset` (the native class).

    ``data_dir`` holds the downloaded clips (``{youtube_id}_{start:06d}_{end:06d}.mp4``) and the split's
    annotations as ``{split}.csv`` (fetched when the loader is made, as the seed did). ``download_n_videos(n)``
    streams only the clips asked for out of the archive parts; preprocessed clips are cached as uint8.
    """

    def __init__(self, version: str | int = "400", split: str = "val", root: str | os.PathLike | None = None
                 ) -> None:
        from .data import KineticsDataset

        self.dataset = KineticsDataset(version, split, root)
        self.cache: ClipCache = _FullLengthCache()
        self.errors: dict[str, str] = {}
        self._processed: dict[str, Path] = {}
        self._write_split_csv()

    def __repr__(self) -> str:
        return f"KineticsLoader(version={self.dataset.version!r}, split={self.dataset.split!r})"

    def _write_split_csv(self) -> None:
        """Put the split's annotations beside the clips as ``{split}.csv`` (the seed read them from there), in
        the K400 CSV layout ``label,youtube_id,time_start,time_end,split,is_cc`` whatever the source format."""
        target = self.data_dir / f"{self.dataset.split}.csv"
        if target.is_file():
            return
        table = self.dataset.annotations.drop(columns=["clip_id"])
        with atomic_write(target) as fh:
            fh.write(table.to_csv(index=False).encode("utf-8"))

    @property
    def data_dir(self) -> Path:
        """Folder holding the downloaded clip files and ``{split}.csv``."""
        return self.dataset.videos_dir

    def download_n_videos(self, n: int, progress: bool = True, **kwargs) -> list[str]:
        """Make sure ``n`` clips are on disk (streamed out of the parts, not whole archives); their paths."""
        return [str(c.path) for c in self.dataset.download(n, progress=progress, **kwargs)]

    def clips(self) -> list[Clip]:
        """The downloaded clips (with labels), in file-name order."""
        return sorted(self.dataset.clips(downloaded_only=True), key=lambda c: c.path.name)

    def first_clips(self, n: int | None) -> list[Clip]:
        """The first ``n`` downloaded clips (all when None), downloading more first when fewer are on disk."""
        clips = self.clips()
        if n is not None and len(clips) < n:
            self.dataset.download(n, progress=False)
            clips = self.clips()
        return clips if n is None else clips[:n]

    @property
    def video_filenames(self) -> list[str]:
        """Full paths of the downloaded clip files, sorted by name (each name starts with the YouTube id)."""
        return [str(c.path) for c in self.clips()]

    @property
    def num_videos_downloaded(self) -> int:
        return len(self.clips())

    @property
    def num_videos_processed(self) -> int:
        """Clips preprocessed by :meth:`load_and_cache_video_examples` in this session."""
        return len(self._processed)

    def load_and_cache_video_examples(self, num_videos: int | None = None, *, num_frames: int | None = None,
                                      resize_type: str = "crop") -> None:
        """Decode, crop and resize the first ``num_videos`` clips (downloading missing ones) into the uint8 clip
        cache, printing ``Processing <path>`` for each; :func:`evaluate` and :meth:`get_batches` then read them
        from there at any frame count. ``num_frames=None`` caches every frame (~45 MB per 10 s clip at 30 fps),
        a number caches just that many. Clips that cannot be read are printed and kept in :attr:`errors`."""
        for clip in self.first_clips(num_videos):
            print(f"Processing {clip.path}")
            try:
                load_clip(clip.path, num_frames, mode=resize_type, cache=self.cache)
                self._processed[clip.id] = clip.path
                self.errors.pop(clip.id, None)
            except VidwidgetError as exc:
                self.errors[clip.id] = str(exc)
                print(f"Cannot read {clip.path}: {exc}")

    def get_batches(self, batch_size: int, num_frames: int = 64, resize_type: str = "crop"
                    ) -> Iterator[tuple[np.ndarray, list[str], list[str | None]]]:
        """Yield ``(videos float32 [B, T, 224, 224, 3] in [0, 1], clip ids, ground truths)``, the last batch
        possibly smaller; unreadable clips are skipped and kept in :attr:`errors`."""
        clips = self.clips()
        for start in range(0, len(clips), batch_size):
            good = []
            for clip in clips[start : start + batch_size]:
                try:
                    good.append((clip, load_clip(clip.path, num_frames, mode=resize_type, cache=self.cache)))
                except VidwidgetError as exc:
                    self.errors[clip.id] = str(exc)
            if good:
                videos = np.stack([f for _, f in good]).astype(np.float32) / 255.0
                yield videos, [c.id for c, _ in good], [c.label for c, _ in good]

    def ground_truth_labels(self, video_ids: Sequence[str] | None = None) -> list[str | None]:
        """Labels of the given clip ids (or of every downloaded clip), from the annotations."""
        ann = self.dataset.annotations.drop_duplicates("clip_id").set_index("clip_id")["label"]
        ids = [c.id for c in self.clips()] if video_ids is None else [Path(str(v)).stem for v in video_ids]
        return [ann.get(i) for i in ids]
