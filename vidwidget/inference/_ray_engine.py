"""The Ray engine of :func:`vidwidget.inference.evaluate`: the local flow spread over a Ray cluster with Ray Data.

Groups of clips (the local engine's batches) form a dataset → each group is decoded by a CPU task with the
library's own :func:`~vidwidget.video.load_clip` (Ray's video reader yields one row per frame, the wrong shape)
→ an actor pool runs the model, one model per actor with as many threads as the actor has CPUs → result rows
stream back to the driver, which alone appends them to the resumable results file and drops duplicates that
Ray's retries may deliver. Kinetics parts are streamed and decoded by the workers themselves, so the driver
never downloads the split. Only frames and small JSON rows move; no TensorFlow object is ever pickled: actors
receive the OpenVINO IR compiled on the driver (bytes), or build the model from the package weights.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._identity import file_identity
from ..clip import Clip
from ..errors import ModelError, VidwidgetError
from ._resume import ResultsFile, run_settings
from .results import result_columns, results_frame
from .sources import KineticsParts

log = logging.getLogger(__name__)

RAY_EXTRA = "pip install 'vidwidget[ray]'"
# Loader names of the models vidwidget names itself (VideoModel.name -> load_model name).
_LOADER_NAMES = {"i3d-kinetics-400": "kinetics-400", "i3d-kinetics-600": "kinetics-600",
                 "i3d-kinetics-400-hub": "hub:kinetics-400"}


def import_ray():
    """``ray`` with Ray Data, or a :class:`VidwidgetError` naming the extra to install."""
    try:
        import ray
        import ray.data  # noqa: F401 - the engine needs Ray Data, not only Ray Core
    except ImportError as exc:
        raise VidwidgetError(f"engine='ray' needs Ray Data, which is not installed ({exc}). Install the extra: "
                             f"{RAY_EXTRA}") from exc
    return ray


@dataclass(frozen=True)
class RayEngine:
    """Where and how to run on Ray. ``address``: None (``RAY_ADDRESS``, else a Ray instance started on this
    machine for the run), ``"auto"`` (the cluster already running on this machine) or ``"host:port"`` (the head's
    GCS address; Ray Client ``ray://`` addresses are refused: Ray Data does not run over Ray Client). ``actors``:
    model actors (default: one per node). ``actor_cpus`` / ``decode_cpus``: CPUs each model actor / decode task
    reserves (default: the smallest node's CPUs minus what one decode task needs, ½ CPU on nodes of up to 2 CPUs,
    else 1). ``ship_ir``: send the OpenVINO IR compiled on the driver to the actors (default) instead of having
    each actor build its model from the package weights."""

    address: str | None = None
    actors: int | None = None
    actor_cpus: float | None = None
    decode_cpus: float | None = None
    ship_ir: bool = True


# ---- work items and rows -------------------------------------------------------------------------------------


def _clip_dict(clip: Clip, error: str | None = None, source: str = "") -> dict:
    return {"id": clip.id, "label": clip.label, "path": str(clip.path) if clip.path is not None else None,
            "start": clip.start, "end": clip.end, "error": error, "source": source}


def _clip_of(d: dict) -> Clip:
    return Clip(id=d["id"], label=d["label"], path=Path(d["path"]) if d["path"] else None, start=d["start"],
                end=d["end"])


def _decoded_row(items: list[tuple[Clip, np.ndarray | None, str | None, str]]) -> dict:
    """One dataset row per group: the clips (JSON, with their decode errors) and the good clips' uint8 frames
    as raw bytes with their shape (plain bytes move through Arrow as they are, whatever the shape)."""
    good = [f for _, f, err, _ in items if err is None]
    frames = np.stack(good) if good else np.zeros((0,), np.uint8)
    return {"clips": json.dumps([_clip_dict(c, err, src) for c, _, err, src in items]), "frames": frames.tobytes(),
            "shape": json.dumps(frames.shape)}


def _frames_of(data, shape) -> np.ndarray:
    return np.frombuffer(data, np.uint8).reshape(json.loads(str(shape)))


def _decode_item(clip: Clip, n: int | None, mode: str, cache, keep_source: bool):
    """``(clip, frames, None, source)``, or ``(clip, None, reason, source)`` when it cannot be decoded (a row, not
    the end of the run). ``source`` is the file's identity, taken before decoding as locally (a file changed
    meanwhile is redone on resume); streamed clips are temporary files and record none."""
    from ..video import load_clip
    from .evaluate import _reason

    source = file_identity(clip.path) if keep_source else ""
    try:
        if clip.path is None:
            raise FileNotFoundError(f"clip {clip.id} is not downloaded (no local file)")
        return clip, load_clip(clip.path, n, mode=mode, cache=cache), None, source
    except Exception as exc:
        return clip, None, _reason(exc), source


def _decode_group(clips: list[Clip], num_frames: int | None, mode: str, min_frames: int, cache,
                  keep_source: bool = True) -> dict:
    from .evaluate import _seed_rule_frames

    n, errors = (num_frames, {}) if num_frames is not None else _seed_rule_frames(clips, min_frames)
    items = [(c, None, errors[c.id], file_identity(c.path) if keep_source else "") if c.id in errors
             else _decode_item(c, n, mode, cache, keep_source) for c in clips]
    return _decoded_row(items)


def _decode_row(row: dict, *, args: tuple) -> dict:
    """Ray Data task: decode one group of clip files (a row of JSON clip records) into frames."""
    return _decode_group([_clip_of(d) for d in json.loads(row["clips"])], *args)


def _stream_part(url: str, wanted: set[str], info: dict[str, tuple], limit: int | None, batch_size: int,
                 args: tuple) -> Iterator[dict]:
    """Stream one Kinetics part into a temporary folder on this worker, decode the wanted clips as they arrive
    and yield them in groups of ``batch_size``; each clip file is deleted once decoded. A part that cannot be
    read to the end yields a row with no clips and the reason (the clips already yielded stand)."""
    from ..data.download import stream_extract

    found: queue.Queue = queue.Queue(maxsize=2 * batch_size)  # bounded: extraction waits for decoding
    taken: list[str] = []
    done = object()
    failure: list[str] = []
    stop = threading.Event()

    def extract(folder: Path) -> None:
        def select(cid: str) -> bool:
            return cid in wanted and cid not in taken and (limit is None or len(taken) < limit)

        def extracted(cid: str, path: Path) -> None:
            taken.append(cid)
            while not stop.is_set():
                with contextlib.suppress(queue.Full):
                    found.put((cid, path), timeout=0.5)
                    return

        try:
            stream_extract(url, folder, select=select, on_extracted=extracted,
                           until=lambda: stop.is_set() or (limit is not None and len(taken) >= limit))
        except Exception as exc:  # reported as a part error row; the clips extracted before it stand
            failure.append(f"{url}: {exc}")
        finally:
            found.put(done)

    folder = Path(tempfile.mkdtemp(prefix="vidwidget-part-"))
    thread = threading.Thread(target=extract, args=(folder,), daemon=True, name="vidwidget-part")
    thread.start()
    try:
        group: list[Clip] = []
        while True:
            item = found.get()
            if item is not done:
                cid, path = item
                label, start, end = info[cid]
                group.append(Clip(id=cid, label=label, path=path, start=start, end=end))
            if group and (len(group) == batch_size or item is done):
                row = _decode_group(group, *args, keep_source=False)
                # the clip file was temporary (deleted below): its row names no path, as nothing is kept
                row["clips"] = json.dumps([{**d, "path": None} for d in json.loads(row["clips"])])
                for clip in group:
                    clip.path.unlink(missing_ok=True)
                yield row
                group = []
            if item is done:
                break
        if failure:
            yield {**_decoded_row([]), "part_error": failure[0]}
    finally:
        stop.set()
        thread.join(30)
        shutil.rmtree(folder, ignore_errors=True)


def _stream_parts(batch: dict, *, shared, limit: int | None, batch_size: int, args: tuple) -> Iterator[dict]:
    """Ray Data task: stream the Kinetics parts of a batch of part rows, yielding one decoded group at a time."""
    import ray

    wanted, info = ray.get(shared) if isinstance(shared, ray.ObjectRef) else shared
    for url in batch["url"]:
        for row in _stream_part(str(url), wanted, info, limit, batch_size, args):
            row.setdefault("part_error", "")
            yield {k: np.array([v], dtype=object) for k, v in row.items()}


# ---- the model in an actor ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ModelPlan:
    """How each actor gets its model: the driver's OpenVINO IR (``ir``: xml and bin bytes), or
    ``load_model(loader, backend=...)`` on the actor."""

    loader: str
    name: str
    backend: str | None
    labels: tuple[str, ...]
    min_frames: int
    ir: tuple[bytes, bytes] | None = None
    precision: str = "fp32"
    variant: str | None = None


def _no_reference(_x):
    raise ModelError("this model was shipped as OpenVINO IR and has no TensorFlow reference path")


def _plan_model(model, ship_ir: bool) -> _ModelPlan:
    """The plan for ``model`` (a VideoModel, or a name loaded here once: the driver checks the model and names
    it in the results file's settings exactly as a local run does). With ``ship_ir`` and the native K400 model
    on OpenVINO, the IR the driver runs (compiled once, cached, checked against TF) is read to be shipped."""
    from ..models import VideoModel, load_model
    from ..models._openvino_backend import compiled_openvino_model
    from ..models._weights import weights_key

    if not isinstance(model, VideoModel):
        model = load_model(model)
    if model.precision != "fp32":  # the actors would otherwise run the fp32 weights under an int8 name
        raise ModelError(f"The Ray engine ships fp32 models only; {model.name} is {model.precision}. Use "
                         "precision='fp32' with engine='ray' (or evaluate int8 locally).")
    loader = _LOADER_NAMES.get(model.name, model.source or model.name)
    ir = None
    if ship_ir and model.backend == "openvino" and loader == "kinetics-400" and model.keras_model is not None:
        xml, _ = compiled_openvino_model(model.keras_model, weights_key())
        ir = (xml.read_bytes(), xml.with_suffix(".bin").read_bytes())
    return _ModelPlan(loader, model.name, model.backend, tuple(model.labels), model.min_frames, ir)


def _build_model(plan: _ModelPlan, threads: int):
    """The model an actor runs (built on the actor: nothing TensorFlow crosses the network)."""
    from ..models import VideoModel, load_model

    if plan.ir is None:
        return load_model(plan.loader, backend=plan.backend, threads=threads)
    from ..models.backends import OpenVINORunner

    folder = Path(tempfile.mkdtemp(prefix="vidwidget-ir-"))
    try:
        (folder / "model.xml").write_bytes(plan.ir[0])
        (folder / "model.bin").write_bytes(plan.ir[1])
        runner = OpenVINORunner(folder / "model.xml", threads)  # reads the weights into memory (no mmap)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return VideoModel(plan.name, plan.labels, _no_reference, min_frames=plan.min_frames, backend="openvino",
                      runner=runner)


def actor_threads() -> int:
    """Threads for this actor's model: the CPUs Ray assigned to it (at least one)."""
    import ray

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
    return max(1, int(cpus + 0.5))


class _Predictor:
    """Ray Data actor: one model per actor; predicts one decoded group per call and returns its rows as JSON."""

    def __init__(self, plan: _ModelPlan, top_k: int) -> None:
        self.model = _build_model(plan, actor_threads())
        self.top_k = top_k

    def __call__(self, batch: dict) -> dict:
        from .evaluate import run_batch

        rows: list[str] = []
        for clips_json, data, shape in zip(batch["clips"], batch["frames"], batch["shape"], strict=True):
            clips = json.loads(str(clips_json))
            good = iter(_frames_of(data, shape))
            items = [(_clip_of(d), next(good) if d["error"] is None else None, d["error"]) for d in clips]
            sources = {d["id"]: d["source"] for d in clips}
            rows += [json.dumps(r) for r in run_batch(self.model, items, self.top_k, sources)]
        part_errors = [str(e) for e in batch.get("part_error", ()) if str(e)]
        rows += [json.dumps({"part_error": e}) for e in part_errors]
        return {"row": np.array(rows, dtype=object)}


# ---- the driver -----------------------------------------------------------------------------------------------


def _groups(clips: list[Clip], batch_size: int) -> list[dict]:
    return [{"clips": json.dumps([_clip_dict(c) for c in clips[i:i + batch_size]])}
            for i in range(0, len(clips), batch_size)]


def _resources(ray, engine: RayEngine) -> tuple[int, float, float]:
    """(actors, CPUs per actor, CPUs per decode task) for this cluster and ``engine``."""
    alive = [n for n in ray.nodes() if n.get("Alive")]
    node_cpus = min((n["Resources"].get("CPU", 0.0) for n in alive), default=0.0)
    if node_cpus <= 0:
        raise VidwidgetError("the Ray cluster has no node with CPUs; start nodes with --num-cpus >= 1")
    reserve = 0.5 if node_cpus <= 2 else 1.0
    decode = engine.decode_cpus if engine.decode_cpus is not None else reserve
    actor = engine.actor_cpus if engine.actor_cpus is not None else max(0.5, node_cpus - decode)
    actors = engine.actors if engine.actors is not None else max(1, len(alive))
    return actors, actor, decode


#: How long the driver waits for a TCP answer from a cluster's address before calling it unreachable.
CONNECT_TIMEOUT = 10.0
_CLIENT_REFUSAL = ("Ray Client addresses (ray://...) cannot run the Ray engine: Ray Data, which streams the clips "
                   "through the model actors, does not support Ray Client. Run the evaluation on a node of the "
                   "cluster with the head's address (address='HOST:6379', or 'auto' on a node), or submit it as a "
                   "Ray Job: ray job submit --address http://HOST:8265 -- vidwidget evaluate ... --ray auto")


def check_address(address: str | None) -> None:
    """Refuse an address the engine cannot use, and fail fast where ``ray.init`` would wait: it retries an
    address where nothing listens for minutes (still retrying after 5 minutes here). ``address`` None means
    ``RAY_ADDRESS``, else a Ray instance started for the run; ``"auto"`` is resolved by Ray (a cluster started
    with ``ray start`` on this machine; Ray says at once when there is none)."""
    target = address if address is not None else os.environ.get("RAY_ADDRESS") or None
    if target is None or target in ("auto", "local"):
        return
    if target.startswith("ray://"):
        raise ValueError(_CLIENT_REFUSAL)
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"Ray address {target!r} is not HOST:PORT (the head's GCS address, e.g. head:6379), "
                         "'auto' or None")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise VidwidgetError(f"No Ray cluster answers at {target} ({reason}). Check the address (the head's GCS "
                             "address, printed by `ray start --head`, default port 6379) and that the head is "
                             "running and reachable from here.") from exc


def _check_connection(ray, address: str | None) -> None:
    """Before any work: the caller's own Ray connection must not be Ray Client, and an address to connect to
    must answer (see :func:`check_address`)."""
    if ray.is_initialized():
        from ray.util.client import ray as client

        if client.is_connected():  # connected by the caller through Ray Client
            raise ValueError(_CLIENT_REFUSAL)
    else:
        check_address(address)


@contextlib.contextmanager
def _connected(address: str | None):
    """Connect this process to Ray (left connected if it already was; else disconnected at the end)."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING, configure_logging=False)
    except ConnectionError as exc:  # e.g. "auto" with no cluster on this machine
        raise VidwidgetError(f"Cannot connect to a Ray cluster at {address or 'auto'}: {exc}") from exc
    try:
        yield ray
    finally:
        ray.shutdown()


def _kinetics_source(source: KineticsParts, done: set[str]) -> tuple[list[str], set[str], dict, int | None]:
    """(part URLs, wanted clip ids, id -> (label, start, end), clip limit) for streaming ``source``."""
    ann = source.dataset.annotations.drop_duplicates("clip_id")
    labels = ann["label"] if "label" in ann.columns else pd.Series([None] * len(ann), index=ann.index)
    info = {cid: (lab if isinstance(lab, str) else None, float(s), float(e))
            for cid, lab, s, e in zip(ann["clip_id"], labels, ann["time_start"], ann["time_end"], strict=True)}
    wanted = set(info) - done
    limit = None
    if source.num_clips is not None:
        limit = max(0, source.num_clips - len(done & set(info)))
    return source.part_urls(), wanted, info, limit


def evaluate_on_ray(clips, model, *, engine: RayEngine, num_frames: int | None, batch_size: int, top_k: int,
                    mode: str, on_batch, cancel, progress: bool, output, cache, dataset: str | None = None
                    ) -> pd.DataFrame:
    """:func:`~vidwidget.inference.evaluate` on Ray (see the module docstring); same arguments and result."""
    from .evaluate import as_clips

    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if num_frames is None and isinstance(clips, KineticsParts):
        raise ValueError("num_frames=None (per batch, the fewest frames of its clips) needs the local batches, and "
                         "streamed Kinetics parts on Ray are grouped as the clips arrive on each worker, so the "
                         "frame counts would differ from a local run. Give num_frames (e.g. 64), or download the "
                         "clips first (KineticsParts(...).download()) and evaluate that list.")
    # fail early, before the model is loaded: the extra is missing, or the address is refused or does not answer
    _check_connection(import_ray(), engine.address)
    plan = _plan_model(model, engine.ship_ir)
    if num_frames is not None and num_frames < plan.min_frames:
        raise ValueError(f"{plan.name} needs num_frames ≥ {plan.min_frames}, got {num_frames}")
    columns = result_columns(top_k)
    store, done_frames, done = None, [], set()
    if not isinstance(clips, KineticsParts):
        clips = as_clips(clips)
    if output is not None:
        settings = run_settings(plan, num_frames=num_frames, top_k=top_k, mode=mode, dataset=dataset)
        store = ResultsFile(output, settings, columns)  # locked until the run ends (closed below)
    try:
        if store is not None:
            previous = store.read()
            if not previous.empty:
                if not isinstance(clips, KineticsParts):  # as locally: a clip whose file changed is redone
                    clips = store.pending(clips, previous)
                    previous = previous[~previous["clip_id"].astype(str).isin({c.id for c in clips})]
                done_frames.append(previous)
                done = set(previous["clip_id"].astype(str))
        args = (num_frames, mode, plan.min_frames, cache)
        started = time.perf_counter()
        new: list[dict] = []
        part_errors: list[str] = []
        cancelled = False
        ordered: dict[str, int] = {}
        if cancel is not None and cancel.is_set():  # cancelled before it started: nothing is sent to the cluster
            cancelled = True
        elif isinstance(clips, KineticsParts) or clips:
            with _connected(engine.address) as ray:
                ds, expected, ordered = _pipeline(ray, engine, clips, done, plan, batch_size, top_k, args)
                if expected != 0:
                    order = _InputOrder(ordered, batch_size)
                    new, part_errors, cancelled = _collect(ds, done, expected, plan.name, store, on_batch, cancel,
                                                           progress, top_k, order)
    finally:
        if store is not None:
            store.close()
    frame = results_frame(new, top_k)
    if ordered:
        frame = frame.iloc[np.argsort([ordered.get(c, len(ordered)) for c in frame["clip_id"]], kind="stable")]
    result = pd.concat([*done_frames, frame], ignore_index=True) if done_frames else frame
    result = result.reindex(columns=columns).reset_index(drop=True)
    result.attrs.update(cancelled=cancelled, seconds=time.perf_counter() - started, model=plan.name,
                        engine="ray", computed=len(new), part_errors=part_errors)
    return result


def _pipeline(ray, engine: RayEngine, clips, done: set[str], plan: _ModelPlan, batch_size: int, top_k: int,
              args: tuple):
    """The Ray Data pipeline for ``clips`` (a list of clips to do, or KineticsParts): (dataset, clips expected
    or None when unknown, input order of the clips)."""
    from ray.data import ActorPoolStrategy, DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False  # progress is ours (tqdm / on_batch), as for local runs
    context.print_on_execution_start = False
    actors, actor_cpus, decode_cpus = _resources(ray, engine)
    ordered: dict[str, int] = {}
    if isinstance(clips, KineticsParts):
        urls, wanted, info, limit = _kinetics_source(clips, done)
        expected = limit
        ds = ray.data.from_items([{"url": u} for u in urls], override_num_blocks=max(1, len(urls)))
        # with a clip limit the parts are read one after another, in order, so the first clips are taken (as
        # a local download would); the whole split is read by as many tasks in parallel as the cluster fits
        ds = ds.map_batches(_stream_parts, batch_size=1, num_cpus=decode_cpus,
                            concurrency=1 if limit is not None else None,
                            fn_kwargs={"shared": ray.put((wanted, info)), "limit": limit, "batch_size": batch_size,
                                       "args": args})
    else:
        expected = len(clips)
        ordered = {c.id: i for i, c in enumerate(clips)}
        groups = _groups(clips, batch_size)
        ds = ray.data.from_items(groups, override_num_blocks=max(1, len(groups)))
        ds = ds.map(_decode_row, num_cpus=decode_cpus, fn_kwargs={"args": args})
    ds = ds.map_batches(_Predictor, fn_constructor_args=(plan, top_k), batch_size=1, batch_format="numpy",
                        num_cpus=actor_cpus, compute=ActorPoolStrategy(min_size=1, max_size=actors))
    # Fault tolerance is Ray Data's: a model actor whose node dies is restarted elsewhere and its tasks retried
    # there (max_restarts=-1, max_task_retries=-1); a decode task is retried on another node (Ray's
    # max_retries=3), its lost outputs rebuilt from lineage. The driver drops any second answer for a clip.
    return ds, expected, ordered


class _InputOrder:
    """Hands result rows to the caller batch by batch in input order, as the local engine does: rows arrive per
    group (a local batch) in whatever order the actors finish, and a group that arrives before an earlier one
    waits for it. Without an input order (streamed Kinetics parts) each arrival is passed on as it comes."""

    def __init__(self, ordered: dict[str, int], batch_size: int) -> None:
        self.ordered, self.batch_size = ordered, batch_size
        self.waiting: dict[int, list[dict]] = {}
        self.next = 0

    def _size(self, group: int) -> int:
        return min(self.batch_size, len(self.ordered) - group * self.batch_size)

    def _sorted(self, rows: list[dict]) -> list[dict]:
        return sorted(rows, key=lambda r: self.ordered.get(r["clip_id"], len(self.ordered)))

    def add(self, rows: list[dict]) -> list[list[dict]]:
        """The batches ``rows`` complete, in input order (none while an earlier group is still out)."""
        if not self.ordered:
            return [rows] if rows else []
        for row in rows:
            index = self.ordered.get(row["clip_id"], len(self.ordered))
            self.waiting.setdefault(index // self.batch_size, []).append(row)
        ready = []
        while len(self.waiting.get(self.next, ())) == self._size(self.next) > 0:
            ready.append(self._sorted(self.waiting.pop(self.next)))
            self.next += 1
        return ready

    def rest(self) -> list[list[dict]]:
        """The rows still waiting (the run was cancelled before an earlier group came back), in input order."""
        return [self._sorted(self.waiting.pop(group)) for group in sorted(self.waiting)]


def _collect(ds, done: set[str], expected: int | None, name: str, store: ResultsFile | None, on_batch, cancel,
             progress: bool, top_k: int, order: _InputOrder) -> tuple[list[dict], list[str], bool]:
    """Stream result rows from the cluster: drop rows of clips already seen (a retried task's second answer),
    append each arrival to the results file at once (a killed driver loses nothing that arrived), report the
    rows per batch in input order, and stop when cancelled or when a limit is reached. ``cancel`` is checked as
    each arrival comes back; once it is set nothing more is written, and the pipeline is shut down (its actors
    killed, its tasks cancelled) before this returns. Every row written is reported once and returned."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=expected, unit="clip", desc=f"{name} (ray)")
    seen = set(done)
    new: list[dict] = []
    part_errors: list[str] = []
    cancelled = False

    def report(rows: list[dict]) -> None:
        if on_batch is not None:
            on_batch(results_frame(rows, top_k))

    # closing the iterator is what shuts Ray Data's executor down at once; a dropped one waits for the GC
    batches = iter(ds.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=1))
    try:
        for batch in batches:
            if cancel is not None and cancel.is_set():  # set while this arrival was on its way: not taken
                cancelled = True
                break
            rows = []
            for text in batch["row"]:
                row = json.loads(str(text))
                if "part_error" in row:
                    log.warning("a Kinetics part could not be read to the end: %s", row["part_error"])
                    part_errors.append(row["part_error"])
                elif row["clip_id"] not in seen and (expected is None or len(new) + len(rows) < expected):
                    seen.add(row["clip_id"])
                    rows.append(row)
            if rows:
                if store is not None:
                    store.append(results_frame(rows, top_k))
                new += rows
                if bar is not None:
                    bar.update(len(rows))
                for ready in order.add(rows):
                    report(ready)
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            if expected is not None and len(new) >= expected:
                break
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
        if bar is not None:
            bar.close()
    for ready in order.rest():
        report(ready)
    return new, part_errors, cancelled
