"""Which NNCF settings to quantize I3D with: each candidate is calibrated on the same inputs and compared with the
fp32 model on held-out inputs (frames no calibration input was made from); also its speed, model alone, timed in
interleaved rounds with fp32. The last line is one JSON object. The library's default
(vidwidget.models._int8.DEFAULT_SETTINGS) was chosen from this.

    python benchmarks/int8.py [--calibration 16] [--calibration-frames 32] [--held-out 48] [--frames 64]

Not part of the unit tests: about 12 minutes on 2 quiet cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import prepare_home  # noqa: E402
from _int8 import agreement, logits_of, split_inputs  # noqa: E402

CANDIDATES = {
    "nncf-default": {"activations": "nncf-default"},
    "minmax": {"activations": "minmax"},
    "minmax, no bias correction": {"activations": "minmax", "bias_correction": False},
    "minmax, mixed preset": {"activations": "minmax", "preset": "mixed"},
    "mean-minmax": {"activations": "mean-minmax"},
    # The first convolution sees raw pixels and the logits layer decides the ranking: keep both in fp32.
    "minmax, first conv + logits fp32": {"activations": "minmax", "keep_fp32": ("first-conv", "last-conv")},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calibration", type=int, default=16)
    parser.add_argument("--calibration-frames", type=int, default=32)
    parser.add_argument("--held-out", type=int, default=48)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--only", nargs="*", help="candidate names to run (default: all)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved speed rounds; the best of each is kept")
    args = parser.parse_args()
    prepare_home()
    import numpy as np

    from vidwidget.models import _int8, load_model
    from vidwidget.models._openvino_backend import OpenVINORunner, fp32_entry
    from vidwidget.models._weights import weights_key
    from vidwidget.models.calibration import calibration_inputs

    cal, held = split_inputs(args.calibration, args.calibration_frames, args.held_out, args.frames)
    print(f"calibration: {len(cal)} inputs of {args.calibration_frames} frames; held out: {len(held)} inputs of "
          f"{args.frames} frames (second halves of the clips; load average {os.getloadavg()[0]:.1f})", flush=True)
    fp32 = load_model("kinetics-400", backend="openvino", precision="fp32")
    reference = logits_of(fp32, held)
    batches = [np.stack(held[i : i + 4]) for i in range(0, 8, 4)]
    xml = fp32_entry(weights_key()) / "model.xml"
    inputs = calibration_inputs(cal, count=len(cal))
    report, runners = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, kwargs in CANDIDATES.items():
            if args.only and name not in args.only:
                continue
            settings = _int8.Int8Settings(**kwargs)
            folder = Path(tmp) / settings.key()
            folder.mkdir()
            start = time.perf_counter()
            _int8.quantize(xml, inputs, settings, folder)
            quantize_s = time.perf_counter() - start
            runners[name] = OpenVINORunner(folder / "model.xml", None)
            logits = np.concatenate([runners[name](x[None]) for x in held])
            report[name] = {**{k: round(v, 4) for k, v in agreement(reference, logits).items()},
                            "quantize_s": round(quantize_s)}
            print(f"{name}: {json.dumps(report[name])}", flush=True)
        # Speed: every model (fp32 too) timed on the same batches in interleaved rounds, the best of each kept, so
        # load from other processes hurts all alike.
        timers = {"fp32": lambda x: fp32.logits(x), **runners}
        best = {name: float("inf") for name in timers}
        for r in range(args.rounds):
            for name, run in timers.items():
                run(batches[0])  # warm-up
                start = time.perf_counter()
                for x in batches:
                    run(x)
                best[name] = min(best[name], (time.perf_counter() - start) / sum(len(x) for x in batches))
            print(f"speed round {r + 1}/{args.rounds}: " + ", ".join(f"{k} {v:.3f}" for k, v in best.items())
                  + f" s/clip best so far (load average {os.getloadavg()[0]:.1f})", flush=True)
    fp32_s = best["fp32"]
    for name, row in report.items():
        row.update(s_per_clip=round(best[name], 3), speedup=round(fp32_s / best[name], 2))
        print(f"{name}: {json.dumps(row)}", flush=True)
    print(json.dumps({"fp32_s_per_clip": round(fp32_s, 3), "calibration": len(cal), "held_out": len(held),
                      "candidates": report, "load_average_end": round(os.getloadavg()[0], 1)}))


if __name__ == "__main__":
    main()
