"""Issue 12, items 7 and 8 (pixel limit): only regular files are trusted in caches, cached frames carry a crc32,
converted weights are verified against the checkpoint's arrays (and keyed like the compiled model), and a small
file claiming a huge picture is refused before it is decoded."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
import zlib

import numpy as np
import pytest
from video_gen import numbered_frames, write_video

from vidwidget.errors import VideoError
from vidwidget.video import ClipCache, load_clip, probe


@pytest.fixture()
def clip(tmp_path):
    return write_video(tmp_path / "clip.mp4", numbered_frames(6, 32, 48))


def _load_bounded(path, cache, timeout=60.0):
    """load_clip in a thread, so a blocking open fails the test instead of hanging it."""
    box: dict = {}

    def run():
        try:
            box["frames"] = load_clip(path, 4, size=32, cache=cache)
        except BaseException as exc:  # reported below
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    return t.is_alive(), box


# --- item 7: caches ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["directory", "fifo", "symlink"])
def test_non_regular_cache_entry_is_removed_and_rebuilt(tmp_path, clip, kind):
    cache = ClipCache(tmp_path / "cache")
    entry = cache.entry_path(clip, 4, "crop", 32)
    if kind == "directory":
        (entry / "inner").mkdir(parents=True)
    elif kind == "fifo":
        os.mkfifo(entry)
    else:
        secret = tmp_path / "elsewhere.npy"
        np.save(secret, np.zeros((4, 32, 32, 3), np.uint8))
        entry.symlink_to(secret)
    try:
        hung, box = _load_bounded(clip, cache)
        assert not hung, "opening the cache entry blocked"
        assert "error" not in box, box.get("error")
        assert box["frames"].shape == (4, 32, 32, 3) and box["frames"].max() > 0
        assert entry.is_file() and not entry.is_symlink()
        np.testing.assert_array_equal(cache.get(clip, 4, "crop", 32), box["frames"])
    finally:
        if kind == "fifo" and entry.exists() and not entry.is_file():  # release a reader stuck on it (old code)
            fd = os.open(entry, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)


def test_flipped_pixel_byte_is_detected_and_rebuilt(tmp_path, clip):
    cache = ClipCache(tmp_path / "cache")
    frames = load_clip(clip, 4, size=32, cache=cache)
    entry = cache.entry_path(clip, 4, "crop", 32)
    data = bytearray(entry.read_bytes())
    middle = len(data) - 2000  # inside the pixels, past the header
    data[middle] ^= 0x40
    entry.write_bytes(bytes(data))
    assert cache.get(clip, 4, "crop", 32) is None  # the damaged entry is a miss, and is deleted
    assert not entry.exists()
    again = load_clip(clip, 4, size=32, cache=cache)
    np.testing.assert_array_equal(again, frames)
    assert np.load(entry).shape == frames.shape  # still a plain .npy for numpy


@pytest.fixture()
def weights_home(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDWIDGET_HOME", str(tmp_path / "home"))
    from vidwidget.models import _weights

    return tmp_path / "home" / "weights" / _weights._CONVERTED_NAME


def _damage(arrays: dict, how: str) -> dict:
    arrays = dict(arrays)
    name = sorted(arrays)[0]
    if how == "missing key":
        del arrays[name]
    elif how == "wrong shape":
        arrays[name] = arrays[name].reshape(-1)[:-1]
    else:  # wrong values: loads fine, right names and shapes
        arrays[name] = arrays[name] * 0.5
    return arrays


@pytest.mark.parametrize("how", ["missing key", "wrong shape", "wrong values", "directory"])
def test_bad_converted_weights_are_rebuilt_from_the_checkpoint(weights_home, how):
    from vidwidget.models import _openvino_backend, _weights

    good = _weights.kinetics400_arrays()  # converts once into this test's home
    assert weights_home.is_file()
    weights_home.unlink()
    if how == "directory":
        weights_home.mkdir()
    else:
        np.savez(weights_home, **_damage(good, how))
    arrays = _weights.kinetics400_arrays()
    assert set(arrays) == set(good)
    assert all(np.array_equal(arrays[k], good[k]) for k in good)
    assert _weights.arrays_sha256(arrays) == _weights.K400_ARRAYS_SHA256
    assert weights_home.is_file()
    with np.load(weights_home) as npz:  # the cache on disk was replaced too
        assert _weights.arrays_sha256({k: npz[k] for k in npz.files}) == _weights.K400_ARRAYS_SHA256
    # the compiled-model cache (fp32 and int8 IR) is keyed by the hash of exactly these arrays
    key = _weights.weights_key()
    assert _weights.K400_ARRAYS_SHA256[:16] in key and key in str(_openvino_backend.fp32_entry(key))


# --- item 8: pixel-count limit ----------------------------------------------------------------------------------

def _huge_png(path, size: int) -> None:
    """A PNG header announcing ``size``² RGB pixels over a few hundred KB of zero rows (what the issue used)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z = zlib.compressobj(6)
    row = b"\0" * (1 + size)
    body = b"".join(z.compress(row) for _ in range(size)) + z.flush()
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b""))


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak memory is read from /proc")
def test_huge_picture_is_refused_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.mp4"
    _huge_png(bomb, 16000)
    assert bomb.stat().st_size < 1_000_000
    # VmHWM is this process image's own peak (ru_maxrss would include the forking pytest process's)
    code = (
        "import re, sys\n"
        "from vidwidget.video import load_clip\n"
        "try:\n"
        "    load_clip(sys.argv[1], 8)\n"
        "    print('decoded')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
        "status = open('/proc/self/status').read()\n"
        "print('peak_mb', int(re.search(r'VmHWM:\\s+(\\d+)', status)[1]) // 1024)\n"
    )
    run = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, timeout=120)
    out = run.stdout
    assert "VideoError" in out and "VIDWIDGET_MAX_PIXELS" in out, out + run.stderr
    peak = int(out.rsplit("peak_mb", 1)[1])
    assert peak < 400, f"peak RSS {peak} MB: the picture was decoded"


def test_pixel_limit_is_configurable_and_names_the_size(monkeypatch, clip):
    monkeypatch.setenv("VIDWIDGET_MAX_PIXELS", "1000")
    with pytest.raises(VideoError, match=r"48×32 frames, more than the 1,000 pixels"):
        probe(clip)
    monkeypatch.setenv("VIDWIDGET_MAX_PIXELS", str(48 * 32))
    assert probe(clip).width == 48
