"""Timeline of a long video: peak memory and seconds per window for synthetic 1-minute and 10-minute videos.

    python benchmarks/timeline.py                       # I3D Kinetics-400 on both (10 min: ~8 min of compute)
    python benchmarks/timeline.py --model stub          # decode + preprocess + pipeline only (model returns 0s)
    python benchmarks/timeline.py --minutes 1 --model kinetics-400

The videos (160×120, 25 fps, moving gradient with noise, libx264) are generated at run time into the temp dir.
Each video runs in a fresh interpreter: it first makes a timeline of an 8-second video with the same settings
(so libraries, decoder and model buffers are resident), then resets the peak-RSS mark and measures the long
video. Memory should be flat with length (the ratio 10 min ÷ 1 min near 1); time grows with the number of
windows. The last line is JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import prepare_home  # noqa: E402

FPS, WIDTH, HEIGHT = 25, 160, 120


def synthetic_video(path: Path, seconds: float) -> Path:
    """A ``seconds`` long video whose content moves every frame (so the decoder does real work)."""
    import av
    import numpy as np

    if path.is_file():
        return path
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 40, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    x = np.arange(WIDTH, dtype=np.int32)
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(FPS))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for i in range(int(seconds * FPS)):
            row = ((x + 3 * i) % 256).astype(np.uint8)
            rgb = np.broadcast_to(row[None, :, None], (HEIGHT, WIDTH, 3)) + noise
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    tmp.replace(path)
    return path


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _stub_model():
    import numpy as np
    import tensorflow as tf

    from vidwidget.models import VideoModel

    return VideoModel("stub", [f"class {i}" for i in range(400)], lambda x: tf.zeros((tf.shape(x)[0], 400)),
                      backend="stub", runner=lambda x: np.zeros((len(x), 400), np.float32))


def _child(model_name: str, warm: str, path: str, frames: int, batch: int) -> None:
    """Measure one video in this (fresh) process; print one JSON line."""
    from vidwidget.inference import predict_timeline
    from vidwidget.models import load_model

    model = _stub_model() if model_name == "stub" else load_model(model_name)
    model_seconds = [0.0]
    original = model.probabilities

    def timed(x):
        start = time.perf_counter()
        try:
            return original(x)
        finally:
            model_seconds[0] += time.perf_counter() - start

    model.probabilities = timed
    predict_timeline(warm, model, num_frames=frames, batch_size=batch)
    model_seconds[0] = 0.0
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM to the current RSS
    before = _status_kib("VmRSS")
    start = time.perf_counter()
    cpu = time.process_time()
    df = predict_timeline(path, model, num_frames=frames, batch_size=batch)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    windows = len(df)
    print(json.dumps({
        "windows": windows, "seconds": round(seconds, 2), "s_per_window": round(seconds / windows, 4),
        "model_s_per_window": round(model_seconds[0] / windows, 4),
        "cpu_s_per_window": round((time.process_time() - cpu) / windows, 4),
        "peak_mb": round((peak - before) / 1024, 1), "duration": round(df.attrs["duration"], 1),
        "window_s": round(df.attrs["window"], 3), "stride_s": round(df.attrs["stride"], 3),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10])
    parser.add_argument("--model", default="kinetics-400", help="kinetics-400 (default) or stub (no model cost)")
    parser.add_argument("--frames", type=int, default=64, help="frames per window (window = this many at 25 fps)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        model, warm, path, frames, batch = args.child
        _child(model, warm, path, int(frames), int(batch))
        return
    prepare_home()
    folder = Path(tempfile.gettempdir()) / "vidwidget-bench-timeline"
    folder.mkdir(exist_ok=True)
    warm = synthetic_video(folder / "warm-8s.mp4", 8)  # ≥ 2 batches of windows: every batch shape is warm
    results = {}
    for minutes in args.minutes:
        video = synthetic_video(folder / f"synthetic-{minutes:g}min.mp4", minutes * 60)
        out = subprocess.run([sys.executable, __file__, "--child", args.model, str(warm), str(video),
                              str(args.frames), str(args.batch)], capture_output=True, text=True, check=True).stdout
        results[f"{minutes:g}min"] = row = json.loads(out.strip().splitlines()[-1])
        print(f"{minutes:g} min ({row['windows']} windows of {row['window_s']} s every {row['stride_s']} s): "
              f"{row['s_per_window']} s/window (model {row['model_s_per_window']}), peak RSS growth "
              f"{row['peak_mb']} MB", flush=True)
    summary = {"model": args.model, "frames": args.frames, "batch": args.batch, "videos": results,
               "load_average_end": round(os.getloadavg()[0], 1)}
    keys = list(results)
    if len(keys) >= 2:
        first, last = results[keys[0]], results[keys[-1]]
        summary["peak_mb_ratio"] = round(last["peak_mb"] / first["peak_mb"], 3)
        summary["s_per_window_ratio"] = round(last["s_per_window"] / first["s_per_window"], 3)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
