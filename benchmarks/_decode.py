"""Decoder measurements for benchmarks/pipeline.py: the FFmpeg floor (every frame decoded, nothing converted),
memory over the decoder for a 4K source, decoded packets for a 10-minute file, and the pipeline balance with a
fast stand-in model. Test files are generated at run time in a temporary folder, never committed."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def ffmpeg_floor_cpu(paths: list[Path]) -> float:
    """CPU seconds per clip for PyAV/FFmpeg decoding every frame of ``paths`` with no conversion, the same
    threading as vidwidget (slice threads): the floor for exact frames."""
    cpu0 = time.process_time()
    for p in paths:
        with av.open(str(p)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"
            for _ in container.decode(stream):
                pass
    return (time.process_time() - cpu0) / len(paths)


def write_test_video(path: Path, frames: int, width: int, height: int, keyint: int, rate: int = 30) -> Path:
    """A moving gradient encoded with x264 ultrafast (cheap to make), a key frame every ``keyint`` frames."""
    y, x = np.mgrid[0:height, 0:width]
    base = ((x * 255 // max(1, width - 1)) ^ (y * 255 // max(1, height - 1))).astype(np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(rate))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0"}
        for i in range(frames):
            plane = np.roll(base, 4 * i, axis=1)
            yuv = np.concatenate([plane, np.full((height // 2, width), 128, np.uint8)])
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def memory_child(method: str, path: str, frames: int, warm: Path) -> None:
    """Child side of :func:`memory_4k`: warm up on a small clip, reset the peak-RSS mark, then either decode
    every frame of ``path`` with no conversion (``decode``) or prepare a ``frames``-frame clip (``vidwidget``),
    and print the peak RSS growth in MB."""
    from vidwidget.video import load_clip

    load_clip(warm, 8)
    Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM to the current RSS
    before = _status_kib("VmRSS")
    if method == "decode":
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"
            for _ in container.decode(stream):
                pass
    else:
        clip = load_clip(path, frames)
        assert clip.shape[0] == frames
    print(json.dumps({"mb": (_status_kib("VmHWM") - before) / 1024}))


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _child_mb(script: str, method: str, path: Path, frames: int) -> float:
    out = subprocess.run([sys.executable, script, "--decode-memory-probe", method, str(path), str(frames)],
                         capture_output=True, text=True, check=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["mb"])


def memory_4k(script: str, frames: int, rounds: int = 2) -> dict[str, float]:
    """Peak RSS growth (MB, best of ``rounds`` fresh processes each) of decoding a generated 4096×2160 file with
    no conversion, and of preparing a ``frames``-frame clip from it; their difference is what preprocessing
    adds over the decoder."""
    with tempfile.TemporaryDirectory(prefix="vidwidget-4k-") as tmp:
        path = write_test_video(Path(tmp) / "4k.mp4", frames + 8, 4096, 2160, keyint=250)
        decoder = min(_child_mb(script, "decode", path, frames) for _ in range(rounds))
        ours = min(_child_mb(script, "vidwidget", path, frames) for _ in range(rounds))
    return {"decoder_mb_4k": decoder, "prepare_mb_4k": ours, "preprocess_mb_over_decoder_4k": ours - decoder}


def long_video(frames: int = 64, minutes: float = 10.0) -> dict[str, float]:
    """64 frames from a 10-minute 160×120 30 fps file with a key frame every 250 and every 30 frames: packets
    decoded ÷ the fewest exact frames need (each from the key frame before it, shared stretches once), and
    wall time; the whole-file sequential decode (the previous way) is timed beside it."""
    import vidwidget.video.decode as decode

    total = int(minutes * 60 * 30)
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="vidwidget-long-") as tmp:
        for keyint in (250, 30):
            path = write_test_video(Path(tmp) / f"long{keyint}.mp4", total, 160, 120, keyint)
            start = time.perf_counter()
            _, stats = decode.read_frames_with_stats(path, frames)
            wall = time.perf_counter() - start
            with av.open(str(path)) as container:
                index, _ = decode.scan(container, container.streams.video[0], decode_first=False)
            wanted = (np.arange(frames) * index.count // frames).tolist()
            fewest = decode.fewest_packets(index, wanted)
            start = time.perf_counter()
            original = decode._Timeline.of
            decode._Timeline.of = classmethod(lambda cls, index, container: None)
            try:
                decode.read_frames(path, frames)
            finally:
                decode._Timeline.of = original
            sequential = time.perf_counter() - start
            print(f"10-minute file ({index.count} frames, key frame every {keyint}): {frames} frames in {wall:.2f} s "
                  f"wall, {stats.packets} packets decoded, fewest possible {fewest} "
                  f"(ratio {stats.packets / fewest:.3f}, {stats.seeks} seeks); whole-file sequential "
                  f"decode {sequential:.2f} s", flush=True)
            result[f"long_video_wall_s_keyint{keyint}"] = round(wall, 3)
            result[f"long_video_sequential_wall_s_keyint{keyint}"] = round(sequential, 3)
            result[f"long_video_decoded_frames_ratio_keyint{keyint}"] = round(stats.packets / fewest, 3)
    result["long_video_decoded_frames_ratio"] = result["long_video_decoded_frames_ratio_keyint250"]
    return result


class StandInModel:
    """A CPU-bound stand-in for a fast model: float32 matrix multiplies in TensorFlow's thread pool (one thread
    per core, GIL released, like the real backends), calibrated to ``seconds_per_clip`` when run alone.
    (OpenBLAS was tried first: its spinning threads collapse as soon as decode threads share the cores, which
    no real backend here does.)"""

    def __init__(self, seconds_per_clip: float = 0.2, n: int = 768) -> None:
        import tensorflow as tf

        rng = np.random.default_rng(0)
        self.a = tf.constant(rng.random((n, n), dtype=np.float32))
        self.step = tf.function(lambda a, reps: tf.reduce_sum(
            tf.foldl(lambda acc, _: acc + tf.linalg.matmul(a, a)[0, 0], tf.range(reps), 0.0)))
        self.step(self.a, tf.constant(1))
        reps, elapsed = 1, 0.0
        while elapsed < 0.5:
            reps *= 2
            start = time.perf_counter()
            self.step(self.a, tf.constant(reps)).numpy()
            elapsed = time.perf_counter() - start
        self.reps_per_clip = max(1, round(reps * seconds_per_clip / elapsed))

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        self.step(self.a, tf.constant(self.reps_per_clip * len(frames))).numpy()
        return np.zeros((len(frames), 400), np.float32)


def balance(paths: list[Path], frames: int, labels: list[str], decode_cpu_s: float, cores: int,
            seconds_per_clip: float = 0.2, rounds: int = 2) -> dict:
    """End-to-end efficiency of evaluate() with a fast stand-in model (``seconds_per_clip`` alone) for decode
    workers 1/2 and batch 1/2/4: stand-in alone ÷ end to end, against the CPU-share bound
    model ÷ (model + decode CPU ÷ cores). Interleaved rounds, the best time of each configuration kept, so
    load from other processes hurts all alike."""
    import tensorflow as tf

    from vidwidget.inference import evaluate
    from vidwidget.models.base import VideoModel

    standin = StandInModel(seconds_per_clip)
    model = VideoModel("stand-in", labels, lambda x: tf.zeros((tf.shape(x)[0], len(labels))), backend="stand-in",
                       runner=standin)
    x = np.zeros((1, frames, 224, 224, 3), np.uint8)
    configs = [(w, b) for w in (1, 2) for b in (1, 2, 4)]
    alone, walls = float("inf"), {c: float("inf") for c in configs}
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in paths:
            standin(x)
        alone = min(alone, time.perf_counter() - start)
        for workers, batch in configs:
            start = time.perf_counter()
            evaluate(paths, model, num_frames=frames, batch_size=batch, workers=workers)
            walls[workers, batch] = min(walls[workers, batch], time.perf_counter() - start)
    bound = alone / (alone + decode_cpu_s * len(paths) / cores)
    table = {}
    for (workers, batch), wall in walls.items():
        table[f"w{workers}_b{batch}"] = round(alone / wall, 3)
        print(f"stand-in model ({alone / len(paths):.3f} s/clip alone): workers {workers}, batch {batch}: "
              f"{len(paths) / wall:.2f} clips/s, efficiency {alone / wall:.3f} (CPU-share bound {bound:.3f})",
              flush=True)
    return {"standin_s_per_clip": round(alone / len(paths), 3), "standin_cpu_bound": round(bound, 3),
            "standin_efficiency": table}
