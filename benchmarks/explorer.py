"""VideoExplorer at scale: a 400-clip folder (symlinks to the shared clips, made in a temp dir at run time) shown
in one grid. Measures time to the first card and to its first preview, the kernel's memory, and the widget
messages (count and bytes) sent while paging through the grid as a user scrolling would, with the browser's
video requests replayed for each page (previews of the same source file are cached after the first).

Run: ``.venv/bin/python benchmarks/explorer.py [--clips 400] [--pages 8]``. Prints one line of numbers.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from _common import CLIP_NAMES, VIDEOS, prepare_home


class _Counter:
    """Counts every comm message the widgets send (state updates and custom messages) and their bytes."""

    def __init__(self) -> None:
        import ipywidgets

        self.messages = 0
        self.bytes = 0
        self._lock = threading.Lock()
        original = ipywidgets.Widget._send

        def send(widget, msg, buffers=None):
            with self._lock:
                self.messages += 1
                self.bytes += len(json.dumps(msg, default=str)) + sum(len(memoryview(b)) for b in buffers or [])
            return original(widget, msg, buffers)

        ipywidgets.Widget._send = send

    def take(self) -> tuple[int, int]:
        with self._lock:
            out = (self.messages, self.bytes)
            self.messages = self.bytes = 0
        return out


class _Model:
    """A cheap stand-in classifier: the benchmark measures the widget, not I3D."""

    name = "bench"
    labels = [f"class {i}" for i in range(400)]
    min_frames = 1
    num_classes = 400

    def logits(self, frames: np.ndarray) -> np.ndarray:
        return np.zeros((len(frames), 400), dtype=np.float32)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=400)
    parser.add_argument("--pages", type=int, default=8, help="grid pages to scroll through")
    args = parser.parse_args()
    prepare_home()
    counter = _Counter()
    from vidwidget.widgets import VideoExplorer

    rss0 = _rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "videos"
        for i in range(args.clips):
            name = CLIP_NAMES[i % len(CLIP_NAMES)]
            folder = root / f"class {i % 40:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"clip{i:04d}{Path(name).suffix}").symlink_to(VIDEOS / name)
        started = time.perf_counter()
        explorer = VideoExplorer(root, model=_Model(), sample_size=args.clips, num_frames=16)
        explorer.wait(120)
        first_card = time.perf_counter() - started
        player = explorer.player
        assert player.num_clips == args.clips, player.num_clips
        first = player.cards[0]["id"]
        player.handle_request({"type": "video", "id": first}).result(120)
        first_preview = time.perf_counter() - started
        build_msgs, build_bytes = counter.take()
        rss_built = _rss_mb()

        page_msgs: list[int] = []
        page_bytes: list[int] = []
        t0 = time.perf_counter()
        for page in range(1, args.pages + 1):
            player.set_state({"page": page})  # as the browser's pager does
            futures = [player.handle_request({"type": "video", "id": c["id"]}) for c in player.cards]
            for f in futures:
                if f is not None and not f.cancelled():
                    f.result(120)
            m, b = counter.take()
            page_msgs.append(m)
            page_bytes.append(b)
        scroll_s = time.perf_counter() - t0
        # a fast scroll: 20 page changes with requests, without waiting — stale requests are dropped
        for page in range(args.pages + 1, args.pages + 21):
            player.set_state({"page": page % max(1, player.num_visible // player.page_size)})
            for c in player.cards:
                player.handle_request({"type": "video", "id": c["id"]})
        pending_after_burst = player._requests.pending
        explorer.wait(60)
        rss_end = _rss_mb()
    print(f"clips={args.clips} first_card_s={first_card:.2f} first_preview_s={first_preview:.2f} "
          f"build_msgs={build_msgs} build_kb={build_bytes / 1024:.0f} "
          f"per_page_msgs={np.mean(page_msgs):.1f} per_page_kb={np.mean(page_bytes) / 1024:.0f} "
          f"scroll_{args.pages}_pages_s={scroll_s:.2f} pending_after_fast_scroll={pending_after_burst} "
          f"request_threads={player._requests.threads_started} "
          f"rss_mb: start={rss0:.0f} built={rss_built:.0f} end={rss_end:.0f}")


if __name__ == "__main__":
    main()
