"""What the hardening checks cost, measured in one run (issue 12): the content hash a results row records
(``vidwidget._identity.file_identity``) against decoding the same clip, and the crc32 a clip-cache hit verifies
against the rest of that hit.

Run: ``.venv/bin/python benchmarks/identity.py`` (a few seconds; prints a JSON line last).
"""

from __future__ import annotations

import json
import tempfile
import time
import zlib
from pathlib import Path

from _common import prepare_home, workload


def _best(fn, repeat: int = 5) -> float:
    """Fastest of ``repeat`` runs, in seconds (the least disturbed by other work on the machine)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    prepare_home()
    from vidwidget._identity import file_identity
    from vidwidget.video import ClipCache, load_clip

    clips = workload(3)
    size_mb = sum(p.stat().st_size for p in clips) / 1e6
    hash_s = _best(lambda: [file_identity(p) for p in clips])
    decode_s = _best(lambda: [load_clip(p, 64) for p in clips], repeat=2)

    with tempfile.TemporaryDirectory() as tmp:
        cache = ClipCache(Path(tmp))
        for p in clips:
            load_clip(p, 64, cache=cache)
        hit_s = _best(lambda: [cache.get(p, 64, "crop", 224) for p in clips])
        frames = [cache.get(p, 64, "crop", 224) for p in clips]
        crc_s = _best(lambda: [zlib.crc32(f.data) for f in frames])
    result = {
        "clips": len(clips),
        "mb_per_clip": round(size_mb / len(clips), 3),
        "hash_ms_per_clip": round(1000 * hash_s / len(clips), 2),
        "hash_ms_per_mb": round(1000 * hash_s / size_mb, 2),
        "decode_ms_per_clip": round(1000 * decode_s / len(clips), 1),
        "hash_vs_decode": round(hash_s / decode_s, 4),
        "cache_hit_ms_per_clip": round(1000 * hit_s / len(clips), 2),
        "crc32_ms_per_clip": round(1000 * crc_s / len(clips), 2),
        "crc32_share_of_hit": round(crc_s / hit_s, 3),
        "entry_mb": round(frames[0].nbytes / 1e6, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
