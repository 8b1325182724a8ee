"""Measure the I3D CPU backends on the same weights and inputs: seconds per 64-frame clip and max |Δlogit| vs the
TF graph reference. Runs are interleaved (round-robin) and the minimum is reported, so load from other processes
on the machine hurts every backend alike.

    python benchmarks/backends.py [--batch 2] [--frames 64] [--rounds 3] [--xla] [--onnx] [--threads N]

``--onnx`` also measures ONNX Runtime (needs ``onnxruntime`` and ``tf2onnx``, not vidwidget dependencies);
``--xla`` adds XLA, which takes minutes on CPU. Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import prepare_home  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--xla", action="store_true", help="also measure XLA (slow on CPU)")
    parser.add_argument("--onnx", action="store_true", help="also measure ONNX Runtime via tf2onnx")
    parser.add_argument("--bf16", action="store_true", help="also measure OpenVINO's default bf16 precision")
    args = parser.parse_args()
    prepare_home()

    import numpy as np

    from vidwidget.models import load_model

    x = np.random.default_rng(0).integers(0, 256, (args.batch, args.frames, 224, 224, 3), dtype=np.uint8)
    models = {"tf": load_model("kinetics-400", backend="tf", threads=args.threads)}
    ov = load_model("kinetics-400", backend="openvino", threads=args.threads)
    if ov.backend == "openvino":
        models["openvino"] = ov
    if args.xla:
        models["xla"] = load_model("kinetics-400", backend="xla", threads=args.threads)
    runners = {name: model.logits for name, model in models.items()}
    if args.bf16 and "openvino" in models:
        runners["openvino-bf16"] = _openvino_bf16(ov)
    if args.onnx:
        runners["onnxruntime"] = _onnxruntime(models["tf"], args.threads)

    reference = models["tf"].reference_logits(x)
    report: dict[str, dict] = {}
    for name, run in runners.items():
        start = time.perf_counter()
        out = run(x)
        report[name] = {
            "first_call_s": round(time.perf_counter() - start, 2),
            "max_abs_diff_vs_tf": float(np.abs(out - reference).max()),
            "times": [],
        }
        print(f"{name:14s} first call {report[name]['first_call_s']:6.2f} s   "
              f"max |Δlogit| vs TF {report[name]['max_abs_diff_vs_tf']:.2e}", flush=True)
    for r in range(args.rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            run(x)
            report[name]["times"].append((time.perf_counter() - start) / args.batch)
        print(f"round {r}: " + "  ".join(f"{n} {v['times'][-1]:.3f}" for n, v in report.items())
              + f"  (s/clip; load avg {os.getloadavg()[0]:.1f})", flush=True)
    summary = {}
    for name, v in report.items():
        best = min(v["times"])
        summary[name] = {"s_per_clip": round(best, 3), "gflops": round(222.0 * args.frames / 64 / best, 1),
                         "max_abs_diff_vs_tf": v["max_abs_diff_vs_tf"]}
        print(f"{name:14s} best {best:.3f} s/clip  ({summary[name]['gflops']} GFLOP/s)")
    from vidwidget.models.backends import requested_threads

    threads = requested_threads(args.threads) or os.cpu_count()
    print(json.dumps({"batch": args.batch, "frames": args.frames, "threads": threads, "backends": summary}))


def _openvino_bf16(model):
    """The same IR compiled with OpenVINO's CPU default precision (bf16 on AVX-512-BF16 CPUs)."""
    import numpy as np

    from vidwidget.models._openvino_backend import compiled_openvino_model, import_openvino
    from vidwidget.models._weights import weights_key

    ov = import_openvino()

    xml, _ = compiled_openvino_model(model.keras_model, weights_key())
    compiled = ov.Core().compile_model(str(xml), "CPU", {"PERFORMANCE_HINT": "LATENCY"})
    return lambda x: np.asarray(compiled(x.astype(np.float32) / 255.0)[0])


def _onnxruntime(tf_model, threads):
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx

    spec = tf.TensorSpec([None, None, 224, 224, 3], tf.uint8, name="frames")
    function = tf.function(tf_model._ref_uint8.python_function)
    proto, _ = tf2onnx.convert.from_function(function, input_signature=[spec], opset=17)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


if __name__ == "__main__":
    main()
