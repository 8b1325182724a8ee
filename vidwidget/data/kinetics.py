"""Kinetics 400/600/700-2020 on CVDF's bucket (or a mirror): annotations, part lists, local clips, and
downloads of a few clips (streamed) or of whole parts."""

from __future__ import annotations

import difflib
import logging
import re
import tarfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd

from vidwidget import _config
from vidwidget._http import RetryPolicy
from vidwidget.clip import Clip
from vidwidget.data.annotations import read_annotations
from vidwidget.data.clip_ids import parse_clip_id
from vidwidget.data.download import check_free_space, download_file, stream_extract
from vidwidget.data.extract import safe_extract_members
from vidwidget.data.folder import is_video_file
from vidwidget.data.progress import ProgressCallback, Reporter
from vidwidget.errors import DownloadError, VidwidgetError

log = logging.getLogger("vidwidget.data")

VERSIONS = ("400", "600", "700_2020")
SPLITS = ("train", "val", "test")
_ALIASES = {"400": "400", "600": "600", "700_2020": "700_2020", "700-2020": "700_2020", "700 2020": "700_2020"}


def normalize_version(version: str | int) -> str:
    """The bucket folder of a Kinetics version: "400", "600" or "700_2020" (accepts 400, 600, "700-2020")."""
    key = re.sub(r"^(kinetics[-_ ]?|k)", "", str(version).strip().lower())
    if key in _ALIASES:
        return _ALIASES[key]
    raise VidwidgetError(f"Unknown Kinetics version {version!r}; use one of 400, 600 or 700-2020.")


def annotations_path(version: str, split: str) -> str:
    """Where a split's annotation file lies, relative to the bucket's base URL."""
    if version == "600" and split in ("train", "val"):
        return f"600/annotations/{split}.txt"
    return f"{version}/annotations/{split}.csv"


def read_path_list(path: Path) -> list[str]:
    """The part URLs listed in a ``k*_path.txt`` file (blank and ``#`` lines skipped); ValueError when a line is
    not a ``.tar.gz`` URL or path, e.g. for an HTML error page served instead of the list."""
    lines = [ln.strip() for ln in Path(path).read_text(encoding="utf-8").splitlines()]
    parts = [ln for ln in lines if ln and not ln.startswith("#")]
    bad = [ln for ln in parts if not ln.endswith(".tar.gz") or any(ch.isspace() or ch in "<>\"'" for ch in ln)]
    if bad or not parts:
        raise ValueError(f"{path} is not a list of .tar.gz parts (first bad line: {(bad or [''])[0][:80]!r})")
    return parts


class _Selection:
    """Which clip ids a download still wants: N clips, clips of some classes, or N per class."""

    def __init__(self, ann: pd.DataFrame, n: int | None, classes: Sequence[str] | None,
                 per_class: int | None) -> None:
        labels = ann["label"] if "label" in ann.columns else pd.Series([None] * len(ann), index=ann.index)
        self.label_of: dict[str, str | None] = dict(zip(ann["clip_id"], labels, strict=True))
        if (classes is not None or per_class is not None) and "label" not in ann.columns:
            raise VidwidgetError("This split has no labels (test split?), so clips cannot be chosen by class; "
                                 "ask for a number of clips instead.")
        known = sorted({lab for lab in self.label_of.values() if lab is not None})
        if classes is not None:
            unknown = [c for c in classes if c not in set(known)]
            if unknown:
                hints = {c: difflib.get_close_matches(c, known, n=3) for c in unknown}
                raise VidwidgetError(f"Unknown class(es) {unknown}; close matches: {hints}. See the dataset's "
                                     "`labels` for the exact names.")
        self.classes = set(classes) if classes is not None else None
        self.n, self.per_class = n, per_class
        available = Counter(lab for lab in self.label_of.values()
                            if lab is not None and (self.classes is None or lab in self.classes))
        self.quota = {lab: min(per_class, cnt) for lab, cnt in available.items()} if per_class else {}
        self.possible = sum(self.quota.values()) if per_class else (
            sum(available.values()) if self.classes is not None else len(self.label_of))
        self.total = min(n, self.possible) if n is not None else self.possible
        self.counts: Counter[str | None] = Counter()
        self.taken: dict[str, Path] = {}

    @property
    def satisfied(self) -> bool:
        return len(self.taken) >= self.total

    def wants(self, clip_id: str) -> bool:
        if self.satisfied or clip_id in self.taken or clip_id not in self.label_of:
            return False
        label = self.label_of[clip_id]
        if self.classes is not None and label not in self.classes:
            return False
        return not self.per_class or self.counts[label] < self.quota.get(label, 0)

    def take(self, clip_id: str, path: Path) -> None:
        self.taken[clip_id] = path
        self.counts[self.label_of.get(clip_id)] += 1


class KineticsDataset:
    """One split of one Kinetics version: annotations (fetched once and cached under ``root``), the list of
    archive parts, the clips already on disk, and downloads of chosen clips or whole parts."""

    def __init__(self, version: str | int = "400", split: str = "val", root: str | Path | None = None, *,
                 base_url: str | None = None, retry: RetryPolicy | None = None) -> None:
        self.version = normalize_version(version)
        if split not in SPLITS:
            raise VidwidgetError(f"Unknown split {split!r}; use one of {', '.join(SPLITS)}.")
        self.split = split
        base = base_url or _config.kinetics_url()
        self.base_url = base if base.endswith("/") else base + "/"
        self.root = Path(root) if root is not None else _config.subdir("kinetics") / self.version / split
        self.retry = retry
        self.unmatched_files: list[Path] = []
        self._annotations: pd.DataFrame | None = None
        self._part_urls: list[str] | None = None

    def __repr__(self) -> str:
        return f"KineticsDataset(version={self.version!r}, split={self.split!r}, root={str(self.root)!r})"

    # --- where things are -------------------------------------------------------------------------------
    @property
    def videos_dir(self) -> Path:
        """Folder holding the clip files (``{youtube_id}_{start:06d}_{end:06d}.mp4``)."""
        return self.root / "videos"

    @property
    def parts_dir(self) -> Path:
        """Folder holding whole ``part_N.tar.gz`` archives when they are downloaded and kept."""
        return self.root / "parts"

    @property
    def annotations_url(self) -> str:
        return self.base_url + annotations_path(self.version, self.split)

    @property
    def path_list_url(self) -> str:
        return f"{self.base_url}{self.version}/{self.split}/k{self.version}_{self.split}_path.txt"

    # --- annotations and parts --------------------------------------------------------------------------
    def _cached_download(self, url: str, dest: Path, parse):
        """``parse(path)`` of the file at ``url``, downloaded to ``dest`` once and checked by ``parse`` before it
        is kept; a cached copy that no longer parses (an error page cached by an older version, a damaged
        file) is replaced by a fresh download."""
        local = download_file(url, dest, retry=self.retry, progress=False, check_space=False, validate=parse)
        try:
            return parse(local)
        except (ValueError, UnicodeDecodeError, VidwidgetError) as exc:
            log.warning("The cached %s is not valid (%s); downloading it again", local, exc)
            local.unlink(missing_ok=True)
        return parse(download_file(url, dest, retry=self.retry, progress=False, check_space=False, validate=parse))

    @property
    def annotations(self) -> pd.DataFrame:
        """The split's annotations with a ``clip_id`` column (downloaded on first use, checked to be an annotation
        table before it is cached, then read from disk)."""
        if self._annotations is None:
            url = self.annotations_url
            self._annotations = self._cached_download(
                url, self.root / "annotations" / url.rsplit("/", 1)[-1], read_annotations)
        return self._annotations

    @property
    def labels(self) -> list[str]:
        """Sorted unique class names of the split (empty for an unlabeled split)."""
        if "label" not in self.annotations.columns:
            return []
        return sorted(self.annotations["label"].dropna().unique().tolist())

    def map_url(self, url: str) -> str:
        """Map a part URL from the path list (which names CVDF's S3 bucket) onto the configured base URL by
        keeping the path from the version folder on, so a mirror serves it."""
        url = url.strip()
        parts = urlsplit(url)
        path = "/" + (parts.path if parts.scheme else url).lstrip("/")
        marker = f"/{self.version}/"
        at = path.find(marker)
        if at >= 0:
            return self.base_url + path[at + 1:]
        if not parts.scheme:
            return f"{self.base_url}{self.version}/{self.split}/{path.lstrip('/')}"
        raise DownloadError(f"Part URL {url!r} has no '{self.version}/' folder, so it cannot be mapped onto "
                            f"{self.base_url}; the path list at {self.path_list_url} looks wrong.")

    def part_urls(self) -> list[str]:
        """The URLs of the split's ``tar.gz`` parts, mapped onto the configured base URL."""
        if self._part_urls is None:
            url = self.path_list_url
            lines = self._cached_download(url, self.root / url.rsplit("/", 1)[-1], read_path_list)
            self._part_urls = [self.map_url(ln) for ln in lines]
        return list(self._part_urls)

    # --- local clips -------------------------------------------------------------------------------------
    def local_files(self) -> list[Path]:
        """Video files present in :attr:`videos_dir` (temporary ``.part`` files excluded), sorted."""
        if not self.videos_dir.is_dir():
            return []
        return sorted(p for p in self.videos_dir.iterdir()
                      if p.is_file() and not p.name.startswith(".") and is_video_file(p))

    def local_index(self) -> pd.DataFrame:
        """Annotation rows of the clips on disk, with a ``path`` column. Files whose name is not a clip id of
        this split are not guessed: they are listed in :attr:`unmatched_files` (and ``df.attrs``) and logged."""
        ann = self.annotations.drop_duplicates("clip_id").set_index("clip_id")
        ids, paths, unmatched = [], [], []
        for path in self.local_files():
            parsed = parse_clip_id(path.stem)
            cid = path.stem if parsed is not None else None
            if cid is None or cid not in ann.index:
                unmatched.append(path)
            else:
                ids.append(cid)
                paths.append(path)
        self.unmatched_files = unmatched
        if unmatched:
            log.warning("%d file(s) in %s match no clip of Kinetics-%s %s and are ignored: %s", len(unmatched),
                        self.videos_dir, self.version, self.split, ", ".join(p.name for p in unmatched[:5]))
        df = ann.loc[ids].reset_index()
        df["path"] = paths
        df.attrs["unmatched_files"] = unmatched
        return df

    def _clip(self, row, path: Path | None) -> Clip:
        label = getattr(row, "label", None)
        return Clip(id=row.clip_id, label=label if isinstance(label, str) else None, path=path,
                    start=float(row.time_start), end=float(row.time_end))

    def clips(self, downloaded_only: bool = False) -> list[Clip]:
        """A Clip per annotated clip (``path`` set when on disk), or only the downloaded ones."""
        local = {p.stem: p for p in self.local_files()}
        rows = self.annotations.itertuples(index=False)
        out = [self._clip(r, local.get(r.clip_id)) for r in rows]
        return [c for c in out if c.path is not None] if downloaded_only else out

    # --- downloads ---------------------------------------------------------------------------------------
    def download(self, n: int | None = None, classes: Iterable[str] | None = None, per_class: int | None = None,
                 progress: bool = True, on_progress: ProgressCallback | None = None) -> list[Clip]:
        """Make sure ``n`` clips (optionally only of ``classes``, or ``per_class`` of each class) are on disk
        and return them. Clips already on disk count; the rest are extracted from the parts' ``tar.gz``
        streams as they pass, and each stream is closed as soon as the request is met. To cancel (e.g. from a
        widget), raise from ``on_progress``: the exception propagates and no partial clip is left behind."""
        if n is not None and n < 0 or per_class is not None and per_class < 1:
            raise VidwidgetError("n must be >= 0 and per_class >= 1.")
        if isinstance(classes, str):
            classes = [classes]
        sel = _Selection(self.annotations, n, list(classes) if classes is not None else None, per_class)
        for cid, path in ((p.stem, p) for p in self.local_files()):
            if sel.wants(cid):
                sel.take(cid, path)
        rep = Reporter(f"Kinetics-{self.version} {self.split}", show_bar=progress, callback=on_progress,
                       clips_total=sel.total)
        rep.clips_done = len(sel.taken)

        def extracted(cid: str, path: Path) -> None:
            sel.take(cid, path)
            rep.add_clip()

        try:
            if not sel.satisfied:  # clips already on disk may suffice: then no network at all
                for url in self.part_urls():
                    stream_extract(url, self.videos_dir, select=sel.wants, until=lambda: sel.satisfied,
                                   on_extracted=extracted, retry=self.retry, reporter=rep)
                    if sel.satisfied:
                        break
        finally:
            rep.close()
        if not sel.satisfied:
            log.warning("Only %d of the %d clips asked for were found in the parts of Kinetics-%s %s.",
                        len(sel.taken), sel.total, self.version, self.split)
        ann = self.annotations
        rows = ann[ann["clip_id"].isin(sel.taken.keys())].drop_duplicates("clip_id")
        by_id = {r.clip_id: r for r in rows.itertuples(index=False)}
        return [self._clip(by_id[cid], path) for cid, path in sel.taken.items()]

    def download_parts(self, parts: Iterable[int | str] | None = None, *, extract: bool = True,
                       keep_archives: bool = False, progress: bool = True,
                       on_progress: ProgressCallback | None = None) -> list[Clip]:
        """Download whole parts (all when ``parts`` is None; by index, "3", or file name) with Range resume and size
        checks, then (if ``extract``) unpack their clips safely into :attr:`videos_dir`. Archives are deleted
        after extraction unless ``keep_archives``. Returns the clips extracted (none when not extracting)."""
        urls = self.part_urls()
        by_name = {u.rsplit("/", 1)[-1]: u for u in urls}
        chosen: list[str] = []
        for p in range(len(urls)) if parts is None else parts:
            if isinstance(p, str) and p.strip().isdigit():  # "3" from a command line means index 3
                p = int(p)
            if isinstance(p, int):
                if not 0 <= p < len(urls):
                    raise VidwidgetError(f"Part index {p} is out of range: this split has {len(urls)} parts.")
                chosen.append(urls[p])
            elif p in by_name or f"{p}.tar.gz" in by_name:
                chosen.append(by_name.get(p) or by_name[f"{p}.tar.gz"])
            else:
                raise VidwidgetError(f"Unknown part {p!r}; parts are named like {next(iter(by_name), 'none')}.")
        rep = Reporter(f"Kinetics-{self.version} {self.split}", show_bar=progress, callback=on_progress)
        done: dict[str, Path] = {}
        try:
            for url in chosen:
                archive = download_file(url, self.parts_dir / url.rsplit("/", 1)[-1], retry=self.retry,
                                        reporter=rep)
                if extract:
                    done.update(self._unpack(archive, rep))
                    if not keep_archives:
                        archive.unlink()
        finally:
            rep.close()
        return [c for c in self.clips() if c.id in done]

    def _unpack(self, archive: Path, rep: Reporter) -> dict[str, Path]:
        check_free_space(self.videos_dir, archive.stat().st_size, f"unpacking {archive.name}")
        try:
            with tarfile.open(archive, "r:gz") as tar:
                report = safe_extract_members(tar, self.videos_dir, source=str(archive),
                                              on_extracted=lambda cid, path: rep.add_clip())
        except tarfile.TarError as exc:
            raise DownloadError(f"{archive} is not a readable tar.gz archive ({exc}); delete it and download "
                                "it again.") from exc
        return {p.stem: p for p in report.extracted}
