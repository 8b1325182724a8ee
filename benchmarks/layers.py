"""Where the model's time goes, fp32 against int8: OpenVINO's per-layer profile (PERF_COUNT) of the cached fp32
IR and of the int8 IR calibrated last, on the same batch, grouped by layer type and kernel, plus the slowest
layers side by side. It shows whether every convolution runs in an int8 kernel and how much faster each is, which
is what bounds ``int8_speedup`` on a given CPU (e.g. about 2× on AVX2 without VNNI).

    python benchmarks/layers.py [--frames 64] [--batch 4] [--top 8]

Needs the int8 model built once (``python benchmarks/pipeline.py`` or ``benchmarks/int8.py`` do it). Not part of
the unit tests: about a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import prepare_home  # noqa: E402


def profile(xml: Path, x, rounds: int = 2) -> tuple[float, dict[str, float], dict[tuple[str, str], float]]:
    """(best seconds per call, seconds per layer name, seconds per (layer type, kernel)) of ``xml`` on ``x``,
    compiled as vidwidget compiles it (fp32 hint, latency, one thread per core) with profiling on."""
    from vidwidget.models._openvino_backend import import_openvino

    ov = import_openvino()
    core = ov.Core()
    config = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY", "CPU_DENORMALS_OPTIMIZATION": True,
              "PERF_COUNT": True}
    request = core.compile_model(core.read_model(str(xml)), "CPU", config).create_infer_request()
    request.infer([x])  # first call: memory set-up, not measured
    best, layers = float("inf"), {}
    for _ in range(rounds):
        start = time.perf_counter()
        request.infer([x])
        seconds = time.perf_counter() - start
        if seconds < best:
            best = seconds
            layers = {p.node_name: (p.node_type, p.exec_type, p.real_time.total_seconds())
                      for p in request.get_profiling_info()}
    by_kind: dict[tuple[str, str], float] = collections.Counter()
    for node_type, exec_type, seconds in layers.values():
        by_kind[node_type, exec_type] += seconds
    return best, {name: v[2] for name, v in layers.items()}, by_kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    prepare_home()
    import numpy as np

    from vidwidget.models._int8 import DEFAULT_SETTINGS, latest_int8_entry
    from vidwidget.models._openvino_backend import fp32_entry
    from vidwidget.models._weights import weights_key

    fp32_xml = fp32_entry(weights_key()) / "model.xml"
    int8_dir = latest_int8_entry(weights_key(), DEFAULT_SETTINGS)
    if not fp32_xml.is_file() or int8_dir is None:
        raise SystemExit("build the fp32 and int8 models first: python benchmarks/pipeline.py (or benchmarks/int8.py)")
    x = np.random.default_rng(0).random((args.batch, args.frames, 224, 224, 3), dtype=np.float32)
    results = {}
    for name, xml in (("fp32", fp32_xml), ("int8", int8_dir / "model.xml")):
        seconds, layers, kinds = profile(xml, x)
        results[name] = (seconds, layers)
        total = sum(kinds.values())
        print(f"{name}: {seconds / args.batch:.3f} s/clip ({xml.parent.name})")
        for (node_type, exec_type), s in sorted(kinds.items(), key=lambda kv: -kv[1])[:6]:
            print(f"  {s / args.batch:7.3f} s/clip {100 * s / total:5.1f}%  {node_type:12s} {exec_type}")
    fp32_layers, int8_layers = results["fp32"][1], results["int8"][1]
    print(f"slowest fp32 layers and the same layers in int8 (s/clip, batch {args.batch}):")
    ratios = []
    for name in sorted(fp32_layers, key=lambda n: -fp32_layers[n])[: args.top]:
        if name in int8_layers and int8_layers[name] > 0:
            ratios.append(fp32_layers[name] / int8_layers[name])
            print(f"  {name:24s} fp32 {fp32_layers[name] / args.batch:6.3f}  int8 {int8_layers[name] / args.batch:6.3f}"
                  f"  {ratios[-1]:.2f}x")
    print(json.dumps({"fp32_s_per_clip": round(results["fp32"][0] / args.batch, 3),
                      "int8_s_per_clip": round(results["int8"][0] / args.batch, 3),
                      "speedup": round(results["fp32"][0] / results["int8"][0], 3),
                      "top_layer_speedups": [round(r, 2) for r in ratios],
                      "load_average_end": round(os.getloadavg()[0], 1)}))


if __name__ == "__main__":
    main()
