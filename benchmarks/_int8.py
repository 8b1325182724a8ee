"""int8 measurements shared by benchmarks/int8.py and benchmarks/pipeline.py: calibration and held-out inputs cut
from the real clips in ../shared/data/videos (disjoint in time: calibration uses the first half of each clip,
agreement the second half), and how far int8 logits are from fp32 (top-1, top-5, probabilities)."""

from __future__ import annotations

import time

import numpy as np
from _common import VIDEOS

# Calibration may use every clip, including the 32-frame cut of cleaning_pool (its frames lie in the first half);
# held-out inputs come only from the second halves of the full-length clips.
CALIBRATION_CLIPS = ("arm_wrestling.mp4", "cleaning_pool.mp4", "filling_eyebrows_mpeg4.avi",
                     "cleaning_pool_32frames.mp4")
HELD_OUT_CLIPS = ("arm_wrestling.mp4", "cleaning_pool.mp4", "filling_eyebrows_mpeg4.avi")


def _window(frames: np.ndarray, start: float, length: float, n: int) -> np.ndarray:
    """``n`` frames spread uniformly over ``frames[start*T : (start+length)*T]`` (repeated when fewer)."""
    from vidwidget.video.preprocess import resample_indices

    t = len(frames)
    a = min(int(start * t), t - 1)
    b = max(a + 1, min(t, int((start + length) * t)))
    return frames[a:b][resample_indices(b - a, n)]


def _zoom(frames: np.ndarray, scale: float) -> np.ndarray:
    """A centred zoom: the middle ``1/scale`` of each frame resized back to 224×224 (a closer camera)."""
    import cv2

    side = int(round(224 / scale))
    o = (224 - side) // 2
    return np.stack([cv2.resize(f[o : o + side, o : o + side], (224, 224), interpolation=cv2.INTER_LINEAR)
                     for f in frames])


def _variants(frames: np.ndarray, n: int, half: int, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``count`` model inputs of ``n`` frames from one half (0 or 1) of a clip: windows of different offsets and
    lengths, horizontal flips, zooms, brightness/contrast changes and time reversal, chosen by ``rng``."""
    out = []
    for _ in range(count):
        length = float(rng.choice([0.5, 0.35, 0.2]))
        start = half * 0.5 + float(rng.uniform(0, 0.5 - length)) if length < 0.5 else half * 0.5
        x = _window(frames, start, length, n)
        if rng.random() < 0.5:
            x = x[:, :, ::-1]
        if rng.random() < 0.3:
            x = _zoom(x, float(rng.uniform(1.15, 1.5)))
        if rng.random() < 0.3:
            gain, bias = float(rng.uniform(0.7, 1.25)), float(rng.uniform(-25, 25))
            x = np.clip(x.astype(np.float32) * gain + bias, 0, 255).astype(np.uint8)
        if rng.random() < 0.2:
            x = x[::-1]
        out.append(np.ascontiguousarray(x))
    return out


def split_inputs(cal_count: int, cal_frames: int, eval_count: int, eval_frames: int,
                 seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(calibration inputs, held-out inputs), uint8 ``[T, 224, 224, 3]`` each, from the shared clips decoded
    center-cropped and padded. No held-out input contains a frame any calibration input was made from."""
    from vidwidget.video import read_frames

    rng = np.random.default_rng(seed)
    decoded = {(name, mode): read_frames(VIDEOS / name, None, mode=mode)
               for name in CALIBRATION_CLIPS for mode in ("crop", "pad")}
    cal_keys = list(decoded)
    held_keys = [k for k in cal_keys if k[0] in HELD_OUT_CLIPS]
    calibration, held_out = [], []
    for i in range(cal_count):
        name, mode = cal_keys[i % len(cal_keys)]
        frames = decoded[(name, mode)]
        half_of = frames if name != "cleaning_pool_32frames.mp4" else np.concatenate([frames, frames])
        calibration += _variants(half_of, cal_frames, 0, 1, rng)
    for i in range(eval_count):
        held_out += _variants(decoded[held_keys[i % len(held_keys)]], eval_frames, 1, 1, rng)
    return calibration, held_out


def agreement(reference: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    """How close ``logits`` are to ``reference`` (both ``[N, C]``): top-1 agreement, mean top-5 overlap (shared
    labels ÷ 5), the largest change of any class probability, the mean change of the reference top-1 class's
    probability, and the largest |Δlogit|."""
    from vidwidget.models import softmax

    p_ref, p = softmax(reference.astype(np.float64)), softmax(logits.astype(np.float64))
    top5_ref, top5 = np.argsort(-p_ref, axis=1)[:, :5], np.argsort(-p, axis=1)[:, :5]
    top1 = p_ref.argmax(axis=1)
    rows = np.arange(len(top1))
    return {
        "top1_agreement": float((top1 == p.argmax(axis=1)).mean()),
        "top5_overlap": float(np.mean([len(set(a) & set(b)) / 5 for a, b in zip(top5_ref, top5, strict=True)])),
        "max_prob_shift": float(np.abs(p - p_ref).max()),
        "mean_top1_prob_shift": float(np.abs(p[rows, top1] - p_ref[rows, top1]).mean()),
        "max_abs_logit_diff": float(np.abs(logits - reference).max()),
        "inputs": len(top1),
    }


def logits_of(model, inputs: list[np.ndarray]) -> np.ndarray:
    """Logits of every input, one at a time (inputs may differ in length)."""
    return np.concatenate([model.logits(x[None]) for x in inputs])


def seconds_per_clip(model, batches: list[np.ndarray]) -> float:
    """Model-alone seconds per clip over ``batches`` (after one warm-up call)."""
    model.logits(batches[0])
    start = time.perf_counter()
    for x in batches:
        model.logits(x)
    return (time.perf_counter() - start) / sum(len(x) for x in batches)


def int8_model_for(inputs: list[np.ndarray], threads: int | None = None):
    """The library's int8 K400 model (default settings) calibrated on ``inputs``, and whether it was built now."""
    from vidwidget.models import load_model

    start = time.perf_counter()
    model = load_model("kinetics-400", backend="openvino", precision="int8", calibration=inputs,
                       calibration_clips=len(inputs), threads=threads)
    return model, time.perf_counter() - start


INT8_TARGETS = {"int8_speedup": 3.0, "int8_top1_agreement": 0.97}


def int8_keys(fp32, int8, batches: list[np.ndarray], held_out: list[np.ndarray], rounds: int) -> dict:
    """The int8 keys of benchmarks/pipeline.py, measured now: model-alone seconds per clip of both precisions in
    interleaved rounds on the same batches (best of each), and agreement with fp32 on the held-out inputs."""
    fp32_s, int8_s = [], []
    for r in range(rounds):
        fp32_s.append(seconds_per_clip(fp32, batches))
        int8_s.append(seconds_per_clip(int8, batches))
        print(f"int8 round {r + 1}/{rounds}: model alone fp32 {fp32_s[-1]:.3f} s/clip, int8 {int8_s[-1]:.3f} s/clip",
              flush=True)
    agree = agreement(logits_of(fp32, held_out), logits_of(int8, held_out))
    print("int8 vs fp32 on {inputs} held-out inputs: top-1 agreement {top1_agreement:.3f}, top-5 overlap "
          "{top5_overlap:.3f}, largest probability change {max_prob_shift:.3f}, mean change of the top-1 "
          "probability {mean_top1_prob_shift:.4f}, max |Δlogit| {max_abs_logit_diff:.2f}".format(**agree))
    keys = {
        "int8_speedup": round(min(fp32_s) / min(int8_s), 3),
        "int8_top1_agreement": round(agree["top1_agreement"], 4),
        "int8_top5_overlap": round(agree["top5_overlap"], 4),
        "int8_max_prob_shift": round(agree["max_prob_shift"], 4),
        "int8_mean_top1_prob_shift": round(agree["mean_top1_prob_shift"], 4),
        "int8_max_abs_logit_diff": round(agree["max_abs_logit_diff"], 3),
        "int8_held_out_inputs": agree["inputs"],
        "fp32_model_s_per_clip": round(min(fp32_s), 3), "int8_model_s_per_clip": round(min(int8_s), 3),
    }
    for key, target in INT8_TARGETS.items():
        print(f"{key}: {keys[key]} (target ≥ {target}) {'met' if keys[key] >= target else 'NOT met'}")
    return keys
