"""ClipCache and load_clip: hits skip decoding, changes and damage are detected, writes are atomic."""

from __future__ import annotations

import os
import shutil
import threading

import numpy as np
import pytest
from video_gen import VIDEOS

import vidwidget.video.cache as cache_mod
from vidwidget.video import ClipCache, load_clip, read_frames


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDWIDGET_HOME", str(tmp_path / "home"))


@pytest.fixture
def clip(tmp_path):
    """A private copy of the 32-frame sample (in tmp_path), so its mtime can be changed."""
    dst = tmp_path / "clip.mp4"
    shutil.copyfile(VIDEOS / "cleaning_pool_32frames.mp4", dst)
    return dst


@pytest.fixture
def calls(monkeypatch):
    """Counts decodes done by load_clip."""
    counter = {"n": 0}

    def counting(*args, **kwargs):
        counter["n"] += 1
        return read_frames(*args, **kwargs)

    monkeypatch.setattr(cache_mod, "read_frames", counting)
    return counter


def entries(cache: ClipCache) -> list:
    return sorted(cache.root.glob("*.npy"))


def test_hit_returns_identical_array_without_decoding(tmp_path, clip, calls):
    cache = ClipCache(tmp_path / "c")
    first = load_clip(clip, 8, size=32, cache=cache)
    assert calls["n"] == 1 and len(entries(cache)) == 1
    second = load_clip(clip, 8, size=32, cache=cache)
    assert calls["n"] == 1
    np.testing.assert_array_equal(first, second)
    assert second.dtype == np.uint8 and second.shape == (8, 32, 32, 3)
    np.testing.assert_array_equal(second, read_frames(clip, 8, size=32))


def test_options_are_part_of_the_key(tmp_path, clip, calls):
    cache = ClipCache(tmp_path / "c")
    load_clip(clip, 8, size=32, cache=cache)
    load_clip(clip, 8, size=32, mode="pad", cache=cache)
    load_clip(clip, 4, size=32, cache=cache)
    load_clip(clip, None, size=32, cache=cache)
    load_clip(clip, 8, size=16, cache=cache)
    assert calls["n"] == 5 and len(entries(cache)) == 5
    assert load_clip(clip, None, size=32, cache=cache).shape == (32, 32, 32, 3)
    assert calls["n"] == 5


def test_changed_mtime_is_a_miss_and_drops_the_stale_entry(tmp_path, clip, calls):
    cache = ClipCache(tmp_path / "c")
    load_clip(clip, 8, size=32, cache=cache)
    old = entries(cache)
    st = clip.stat()
    os.utime(clip, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    load_clip(clip, 8, size=32, cache=cache)
    assert calls["n"] == 2
    new = entries(cache)
    assert len(new) == 1 and new != old


@pytest.mark.parametrize("damage", ["truncate", "random", "wrong_shape", "wrong_dtype", "pickle"])
def test_damaged_entry_is_deleted_and_rebuilt(tmp_path, clip, calls, damage):
    cache = ClipCache(tmp_path / "c")
    good = load_clip(clip, 8, size=32, cache=cache)
    (entry,) = entries(cache)
    if damage == "truncate":
        data = entry.read_bytes()
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "random":
        entry.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    elif damage == "wrong_shape":
        np.save(entry, np.zeros((8, 16, 16, 3), np.uint8))
    elif damage == "wrong_dtype":
        np.save(entry, np.zeros((8, 32, 32, 3), np.float32))
    else:
        np.save(entry, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    assert cache.get(clip, 8, "crop", 32) is None
    assert not entry.exists()
    again = load_clip(clip, 8, size=32, cache=cache)
    assert calls["n"] == 2
    np.testing.assert_array_equal(again, good)
    assert entries(cache) == [entry]


def test_concurrent_writers_leave_no_partial_files(tmp_path, clip):
    cache = ClipCache(tmp_path / "c")
    frames = read_frames(clip, 8, size=32)
    errors: list[BaseException] = []
    seen: list[np.ndarray | None] = []

    def writer():
        try:
            for _ in range(15):
                cache.put(clip, 8, "crop", 32, frames)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    def reader():
        for _ in range(60):
            seen.append(cache.get(clip, 8, "crop", 32))

    threads = [threading.Thread(target=writer) for _ in range(4)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [p.name for p in cache.root.iterdir()] == [entries(cache)[0].name]  # no temp files left
    for got in seen:  # a reader sees nothing or the whole array, never a partial one
        assert got is None or np.array_equal(got, frames)
    np.testing.assert_array_equal(cache.get(clip, 8, "crop", 32), frames)


def test_cache_argument_forms(tmp_path, clip, calls):
    load_clip(clip, 4, size=16)  # None: no cache
    load_clip(clip, 4, size=16, cache=False)
    assert calls["n"] == 2
    default_root = tmp_path / "home" / "clips"
    assert not default_root.exists() or not any(default_root.iterdir())
    load_clip(clip, 4, size=16, cache=True)
    load_clip(clip, 4, size=16, cache=True)
    assert calls["n"] == 3
    assert len(list(default_root.glob("*.npy"))) == 1
    assert ClipCache().root == default_root
    with pytest.raises(TypeError, match="cache must be"):
        load_clip(clip, 4, cache="yes")


def test_put_rejects_wrong_arrays_and_clear(tmp_path, clip):
    cache = ClipCache(tmp_path / "c")
    with pytest.raises(ValueError, match="expected uint8"):
        cache.put(clip, 4, "crop", 32, np.zeros((4, 32, 32, 3), np.float32))
    cache.put(clip, 4, "crop", 32, np.zeros((4, 32, 32, 3), np.uint8))
    assert cache.clear() == 1 and entries(cache) == []


def test_missing_file_is_a_video_error(tmp_path):
    from vidwidget.errors import VideoError

    with pytest.raises(VideoError, match="not found"):
        load_clip(tmp_path / "gone.mp4", 4, cache=ClipCache(tmp_path / "c"))


def test_numpy_integers_and_bad_arguments(tmp_path, clip, calls):
    cache = ClipCache(tmp_path / "c")
    a = load_clip(clip, np.int64(4), size=np.int64(16), cache=cache)
    b = load_clip(clip, 4, size=16, cache=cache)
    assert calls["n"] == 1 and np.array_equal(a, b)
    with pytest.raises(ValueError, match="mode must be"):
        load_clip(clip, 4, mode="zoom", cache=cache)
    assert calls["n"] == 1
