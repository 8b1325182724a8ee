"""Helpers for CLI tests: run ``vidwidget`` in a real subprocess and kill it, count model calls in-process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from vidwidget.models.base import VideoModel


def kill_after_first_batch(args: list[str], results: Path, timeout: float = 180) -> pd.DataFrame:
    """Start ``vidwidget <args>`` and SIGKILL it as soon as ``results`` holds a header and one batch; return
    the rows it had written."""
    proc = subprocess.Popen([sys.executable, "-m", "vidwidget.cli", *args], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if results.exists() and results.read_text().count("\n") >= 2:
                proc.send_signal(signal.SIGKILL)
                break
            if proc.poll() is not None:
                break
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.wait()
    return pd.read_csv(results)


def count_model_calls(monkeypatch) -> list[int]:
    """Patch :meth:`VideoModel.logits` to record the batch size of every call; returns the live list."""
    calls: list[int] = []
    original = VideoModel.logits

    def counting(self, frames):
        calls.append(len(frames))
        return original(self, frames)

    monkeypatch.setattr(VideoModel, "logits", counting)
    return calls
