"""The ``vidwidget`` command: evaluate a model over Kinetics or a folder of videos (resumable), download
Kinetics clips, export the I3D as a SavedModel, and classify a long video over time (``timeline``).

Options may also be read from a file: ``vidwidget evaluate @options.txt`` (one option or value per line).
Exit codes: 0 done, 2 bad usage (also: the output is being written by another process, or holds results of
another input or settings), 3 model unavailable, 4 download failed, 5 bad data, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_USAGE, EXIT_MODEL, EXIT_DOWNLOAD, EXIT_DATA, EXIT_INTERRUPTED = 0, 2, 3, 4, 5, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidwidget", fromfile_prefix_chars="@",
        description="Video classification with I3D on Kinetics or your own videos.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", fromfile_prefix_chars="@", help="predict clips and report accuracy (resumable)",
                        description="Predict clips and write results.csv, per_class.csv and summary.json to the "
                        "output directory. Re-running with the same output continues where the last run stopped.")
    source = ev.add_mutually_exclusive_group()
    source.add_argument("--kinetics", metavar="VERSION", default=None,
                        help="Kinetics version: 400, 600 or 700-2020 (default: 400 unless --folder is given)")
    source.add_argument("--folder", type=Path, help="a folder of videos (labels from subfolder names)")
    ev.add_argument("--labels-csv", type=Path, help="with --folder: a CSV with path,label columns")
    ev.add_argument("--split", default="val", choices=["train", "val", "test"])
    ev.add_argument("--model", default="kinetics-400",
                    help="kinetics-400 (offline), kinetics-600 (TF Hub), a TF Hub URL or a SavedModel folder")
    ev.add_argument("--backend", choices=["auto", "tf", "xla", "openvino"], default=None,
                    help="runtime of the native I3D (default: VIDWIDGET_BACKEND or auto, the fastest that matches TF)")
    ev.add_argument("--threads", type=int, default=None, help="inference threads (default: one per core)")
    ev.add_argument("--precision", choices=["fp32", "int8"], default=None,
                    help="fp32 (default, or VIDWIDGET_PRECISION) or int8: a faster model whose top-1 may differ "
                    "from fp32 on close calls (see the README); int8 calibrates once on --calibration")
    ev.add_argument("--calibration", type=Path, metavar="FOLDER",
                    help="with --precision int8: a folder of videos to calibrate on (default: the first clips "
                    "being evaluated)")
    ev.add_argument("--calibration-clips", type=int, default=None, metavar="N",
                    help="with --precision int8: calibrate on N clips (default 16)")
    ev.add_argument("--num-clips", "-n", type=int,
                    help="evaluate this many clips (Kinetics: downloads what is missing)")
    ev.add_argument("--batch-size", "-b", type=int, default=4)
    ev.add_argument("--num-frames", "-f", type=int, default=64,
                    help="frames per clip after resampling (0: the fewest frames in each batch, the seed's rule)")
    ev.add_argument("--top-n", "-k", type=int, default=5)
    ev.add_argument("--mode", choices=["crop", "pad"], default="crop", help="make frames square by center crop or pad")
    ev.add_argument("--output-dir", "-o", type=Path, default=Path("vidwidget-results"))
    ev.add_argument("--no-progress", action="store_true")
    ev.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                    help="run on a Ray cluster (pip install 'vidwidget[ray]'): ADDRESS is the head's host:port (from a "
                    "node of the cluster; not ray://, Ray Client cannot run it) or auto; none: RAY_ADDRESS, else a "
                    "Ray instance on this machine. With --kinetics the workers stream the parts themselves")

    dl = sub.add_parser("download", fromfile_prefix_chars="@", help="download Kinetics clips or whole parts")
    dl.add_argument("--kinetics", metavar="VERSION", default="400")
    dl.add_argument("--split", default="val", choices=["train", "val", "test"])
    dl.add_argument("--num-clips", "-n", type=int, help="stream just this many clips out of the parts")
    dl.add_argument("--classes", nargs="+", help="only clips of these classes")
    dl.add_argument("--per-class", type=int, help="this many clips of each class")
    dl.add_argument("--parts", nargs="*", help="whole parts (indices or names; none given = all), with resume")
    dl.add_argument("--no-progress", action="store_true")

    tl = sub.add_parser("timeline", fromfile_prefix_chars="@", help="predictions over time for one (long) video",
                        description="Classify a sliding window over the video and print the segments of its top-1 "
                        "class. The video is decoded once, in a stream; memory does not grow with its length.")
    tl.add_argument("video", type=Path)
    tl.add_argument("--output", "-o", type=Path,
                    help="write the windows to a .csv or .json file (written at the end, atomically)")
    tl.add_argument("--window", type=float, help="window length in seconds (default: NUM_FRAMES frames of the video)")
    tl.add_argument("--stride", type=float, help="seconds between window starts (default: half a window)")
    tl.add_argument("--num-frames", "-f", type=int, default=64, help="frames per window after resampling")
    tl.add_argument("--model", default="kinetics-400",
                    help="kinetics-400 (offline), kinetics-600 (TF Hub), a TF Hub URL or a SavedModel folder")
    tl.add_argument("--backend", choices=["auto", "tf", "xla", "openvino"], default=None,
                    help="runtime of the native I3D (default: VIDWIDGET_BACKEND or auto)")
    tl.add_argument("--threads", type=int, default=None, help="inference threads (default: one per core)")
    tl.add_argument("--top-n", "-k", type=int, default=5)
    tl.add_argument("--batch-size", "-b", type=int, default=4)
    tl.add_argument("--mode", choices=["crop", "pad"], default="crop", help="make frames square by center crop or pad")
    tl.add_argument("--min-segment", type=float, default=0.0,
                    help="merge printed segments shorter than this many seconds into a neighbour")
    tl.add_argument("--no-progress", action="store_true")

    ex = sub.add_parser("export", help="export a model as a TF SavedModel (TF Hub signature)")
    ex.add_argument("output", type=Path)
    ex.add_argument("--model", default="kinetics-400")
    return parser


def _clips_for_evaluate(args):
    from .data import KineticsDataset, VideoFolder
    from .errors import VidwidgetError

    if args.folder is not None:
        labels = str(args.labels_csv) if args.labels_csv else "subfolders"
        clips = VideoFolder(args.folder, labels=labels).clips()
        if not clips:
            raise VidwidgetError(f"no videos found under {args.folder}")
        return clips[: args.num_clips] if args.num_clips else clips
    dataset = KineticsDataset(args.kinetics or "400", args.split)
    if args.ray is not None:  # the Ray workers stream the parts: nothing is downloaded here
        from .inference import KineticsParts

        return KineticsParts(dataset, args.num_clips or None)
    if args.num_clips:
        clips = dataset.download(args.num_clips, progress=not args.no_progress)
        return clips[: args.num_clips]
    clips = dataset.clips(downloaded_only=True)
    if not clips:
        raise VidwidgetError(f"no Kinetics-{dataset.version} {args.split} clips are downloaded in "
                             f"{dataset.videos_dir}; pass --num-clips N to download N clips")
    return clips


def _fail(code: int, message: str) -> int:
    print(f"vidwidget: error: {message}", file=sys.stderr)
    return code


def _dataset_name(args) -> str:
    """What the evaluated clips are, recorded with the results: an output holding another input's is refused."""
    if args.folder is not None:
        labels = f" labels={args.labels_csv.resolve()}" if args.labels_csv else ""
        return f"folder:{args.folder.resolve()}{labels}"
    from .data.kinetics import normalize_version

    return f"kinetics-{normalize_version(args.kinetics or '400')}:{args.split}"


def _precision_options(args, clips) -> dict:
    """``load_model`` options for ``--precision``: int8 calibrates on ``--calibration`` or on the first clips to be
    evaluated, with as many frames as are evaluated (at most the library's default)."""
    from .models.backends import requested_precision
    from .models.calibration import DEFAULT_CLIPS, DEFAULT_FRAMES

    options = {"precision": args.precision}
    if requested_precision(args.precision) == "int8":
        count = args.calibration_clips or DEFAULT_CLIPS
        options.update(calibration=args.calibration or clips[:count], calibration_clips=count,
                       calibration_frames=max(9, min(args.num_frames or DEFAULT_FRAMES, DEFAULT_FRAMES)))
    return options


def cmd_evaluate(args) -> int:
    from ._lock import OutputLock

    if args.batch_size < 1 or args.top_n < 1 or (args.num_frames and args.num_frames < 1):
        return _fail(EXIT_USAGE, "--batch-size, --top-n and --num-frames must be positive")
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    with OutputLock(out, f"the output folder {out}"):  # one writer per folder, from the first result to the summary
        return _evaluate_into(args, out)


def _evaluate_into(args, out: Path) -> int:
    from . import _json
    from ._atomic import write_atomic
    from .inference import evaluate, per_class_accuracy, top_k_accuracy
    from .inference.results import result_columns
    from .models import load_model
    from .models.backends import requested_precision

    # The model loads first, so one that cannot load fails before any download; int8 calibrated on the clips
    # being evaluated needs them first.
    int8 = requested_precision(args.precision) == "int8"
    if int8 and args.ray is not None:
        return _fail(EXIT_USAGE, "--precision int8 runs locally only (the Ray engine ships fp32 models); drop --ray "
                     "or use --precision fp32")
    calibrate_on_clips = int8 and args.calibration is None
    model = None if calibrate_on_clips else load_model(args.model, backend=args.backend, threads=args.threads,
                                                       **_precision_options(args, []))
    clips = _clips_for_evaluate(args)
    if model is None:
        model = load_model(args.model, backend=args.backend, threads=args.threads, **_precision_options(args, clips))
    results_csv = out / "results.csv"
    engine = "local" if args.ray is None else "ray"
    df = evaluate(clips, model, num_frames=args.num_frames or None, batch_size=args.batch_size, top_k=args.top_n,
                  mode=args.mode, progress=not args.no_progress, output=results_csv, dataset=_dataset_name(args),
                  engine=engine, address=args.ray or None)
    if isinstance(clips, list):  # KineticsParts (--ray): the rows are exactly the clips the workers found
        wanted = {c.id for c in clips}
        df = df[df["clip_id"].astype(str).isin(wanted)]
    df = df.reindex(columns=result_columns(args.top_n))
    top1, topn = top_k_accuracy(df, 1), top_k_accuracy(df, args.top_n)
    failed = int(df["error"].notna().sum())
    per_class_accuracy(df, ks=sorted({1, args.top_n})).to_csv(out / "per_class.csv")
    summary = {"model": model.name, "clips": len(df), "failed": failed, "top1": top1, f"top{args.top_n}": topn,
               "num_frames": args.num_frames or None, "results": str(results_csv)}
    summary["precision"] = model.precision
    write_atomic(out / "summary.json", _json.dumps(summary, indent=1).encode("utf-8"))
    if len(df) <= 20:  # a small run: show every clip's verdict
        shown = df[["clip_id", "Ground_Truth", "pred_1", "score_1", "error"]].rename(
            columns={"clip_id": "clip", "Ground_Truth": "truth", "pred_1": "top-1", "score_1": "p"})
        text = ["truth", "top-1", "error"]
        shown[text] = shown[text].astype(object).fillna("-")  # all-missing columns are float: fill them as text
        print(shown.to_string(index=False, na_rep="-", float_format=lambda p: f"{p:.3f}", max_colwidth=60))
    print(f"{len(df)} clips, {failed} could not be read")
    if top1 != top1:  # NaN: no clip has a ground truth
        print("no clip has a ground-truth label, so there is no accuracy to report")
    else:
        print(f"top-1 accuracy: {100 * top1:.2f}%")
        print(f"top-{args.top_n} accuracy: {100 * topn:.2f}%")
    print(f"results: {results_csv}")
    if failed:
        print(f"see the 'error' column of {results_csv} for the clips that could not be read", file=sys.stderr)
    return EXIT_OK


def cmd_download(args) -> int:
    from .data import KineticsDataset

    dataset = KineticsDataset(args.kinetics, args.split)
    if args.parts is not None:
        clips = dataset.download_parts(args.parts or None, progress=not args.no_progress)
    elif args.num_clips is None and args.per_class is None:
        return _fail(EXIT_USAGE, "say what to download: --num-clips N, --per-class K, or --parts [...]")
    else:
        clips = dataset.download(args.num_clips, classes=args.classes, per_class=args.per_class,
                                 progress=not args.no_progress)
    print(f"{len(clips)} clips in {dataset.videos_dir}")
    return EXIT_OK


def cmd_timeline(args) -> int:
    from .inference import predict_timeline, timeline_segments, write_timeline
    from .models import load_model

    if args.output is not None and args.output.suffix.lower() not in (".csv", ".json"):
        return _fail(EXIT_USAGE, f"--output must end in .csv or .json, got {args.output.name!r}")
    if args.batch_size < 1 or args.top_n < 1 or args.num_frames < 1:
        return _fail(EXIT_USAGE, "--batch-size, --top-n and --num-frames must be positive")
    seconds = [v for v in (args.window, args.stride) if v is not None]
    if not all(math.isfinite(v) and v > 0 for v in seconds) or not (0 <= args.min_segment < math.inf):
        return _fail(EXIT_USAGE, "--window and --stride must be positive seconds, --min-segment zero or more")
    bar = None

    def on_progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        model = load_model(args.model, backend=args.backend, threads=args.threads)
        if not args.no_progress:
            from tqdm.auto import tqdm

            bar = tqdm(unit="window", desc=args.video.name)
        df = predict_timeline(args.video, model, window=args.window, stride=args.stride, num_frames=args.num_frames,
                              top_k=args.top_n, batch_size=args.batch_size, mode=args.mode,
                              on_progress=on_progress if bar is not None else None)
        if args.output is not None:
            write_timeline(df, args.output)
    except KeyboardInterrupt:
        return _fail(EXIT_INTERRUPTED, "interrupted; no output file was written")
    finally:
        if bar is not None:
            bar.close()
    segments = timeline_segments(df, min_duration=args.min_segment)
    print(f"{args.video}: {df.attrs['duration']:.2f} s, {len(df)} windows of {df.attrs['window']:.2f} s every "
          f"{df.attrs['stride']:.2f} s ({args.num_frames} frames each), {model.name}")
    print(segments.to_string(index=False, float_format=lambda v: f"{v:.2f}", max_colwidth=60))
    if df.attrs["error"]:
        reached = df["end"].max() if len(df) else 0.0
        print(f"vidwidget: warning: {df.attrs['error']}; the timeline stops at {reached:.2f} s", file=sys.stderr)
    if args.output is not None:
        print(f"timeline: {args.output}")
    return EXIT_OK


def cmd_export(args) -> int:
    from .models import export_saved_model, load_model

    path = export_saved_model(load_model(args.model), args.output)
    print(f"SavedModel written to {path}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``vidwidget`` console script; returns the exit code."""
    from .errors import DownloadError, ModelError, ModelUnavailableError, OutputConflictError, VidwidgetError

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter is not for shell users
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="vidwidget: %(levelname)s: %(message)s")
    handlers = {"evaluate": cmd_evaluate, "download": cmd_download, "export": cmd_export, "timeline": cmd_timeline}
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        return _fail(EXIT_INTERRUPTED, "interrupted; finished batches are saved — run the same command to resume")
    except (ModelUnavailableError, ModelError) as exc:
        return _fail(EXIT_MODEL, str(exc))
    except DownloadError as exc:
        return _fail(EXIT_DOWNLOAD, str(exc))
    except OutputConflictError as exc:
        return _fail(EXIT_USAGE, str(exc))
    except (VidwidgetError, ValueError, OSError) as exc:
        return _fail(EXIT_DATA, str(exc))


if __name__ == "__main__":
    sys.exit(main())
