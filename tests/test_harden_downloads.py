"""Issue 12, item 6: downloads against hostile or broken servers (loopback only): a slow drip, an endless body
without Content-Length, a decompression bomb member, a huge or endless tar stream, an HTML page instead of the
annotations; and one HTTP client for the whole package."""

from __future__ import annotations

import gzip
import io
import logging
import tarfile
import threading
import tracemalloc

import pytest
from kinetics_mirror import K400_VAL, S3_BASE, Fault, MirrorServer

import vidwidget.data.download as dl
from vidwidget.data import KineticsDataset, RetryPolicy, download_file, safe_extract_members, stream_extract
from vidwidget.errors import DownloadError, VidwidgetError

FAST = {"attempts": 2, "backoff": 0.01, "max_backoff": 0.05, "timeout": 5}


def _bounded(fn, timeout=60.0):
    """Run ``fn`` in a thread; return (finished, result or exception) so a hang fails instead of blocking CI."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # reported to the test
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    return not t.is_alive(), box


@pytest.fixture()
def bucket(tmp_path):
    root = tmp_path / "bucket"
    (root / "400/annotations").mkdir(parents=True)
    (root / "400/annotations/val.csv").write_bytes(K400_VAL.read_bytes())
    (root / "400/val").mkdir(parents=True)
    (root / "400/val/k400_val_path.txt").write_text(S3_BASE + "400/val/part_0.tar.gz\n")
    (root / "blob.bin").write_bytes(b"x" * 1000)
    return root


@pytest.fixture()
def server(bucket):
    with MirrorServer(bucket) as srv:
        yield srv


def test_slow_drip_times_out(server, tmp_path):
    """One byte every 0.2 s never trips a socket timeout; the minimum rate does."""
    server.faults["/blob.bin"] = Fault(drip=0.2)
    policy = RetryPolicy(**FAST, min_rate=1000, rate_window=0.6)
    done, box = _bounded(lambda: download_file(server.url + "blob.bin", tmp_path / "blob.bin", retry=policy,
                                               progress=False), timeout=60)
    assert done, "a dripping server kept the download waiting"
    assert isinstance(box.get("error"), DownloadError), box
    assert "bytes/s" in str(box["error"]) and server.bytes_sent["/blob.bin"] < 100


def test_overall_deadline(server, tmp_path):
    server.faults["/blob.bin"] = Fault(drip=0.05)  # 20 bytes/s: above the minimum rate, below any patience
    policy = RetryPolicy(**FAST, min_rate=1, rate_window=0.5, deadline=1.0)
    done, box = _bounded(lambda: download_file(server.url + "blob.bin", tmp_path / "blob.bin", retry=policy,
                                               progress=False), timeout=60)
    assert done and isinstance(box.get("error"), DownloadError) and "did not finish within" in str(box["error"])


def test_endless_body_without_length_is_capped_and_deleted(server, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDWIDGET_MAX_DOWNLOAD_BYTES", str(4 << 20))
    server.faults["/blob.bin"] = Fault(endless=64 << 20, no_length=True)
    dest = tmp_path / "dl" / "blob.bin"
    done, box = _bounded(lambda: download_file(server.url + "blob.bin", dest, retry=RetryPolicy(**FAST),
                                               progress=False), timeout=120)
    assert done and isinstance(box.get("error"), DownloadError), box
    assert "without announcing its size" in str(box["error"])
    assert not dest.exists() and list(dest.parent.iterdir()) == []  # nothing kept, no partial file
    assert server.bytes_sent["/blob.bin"] < 32 << 20  # stopped near the cap, not at the end of the body


def test_byte_cap_follows_free_space(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDWIDGET_MAX_DOWNLOAD_BYTES", str(1 << 50))
    free = dl.shutil.disk_usage(tmp_path).free
    assert dl.byte_cap(tmp_path) <= free - dl.SPACE_MARGIN
    assert dl.byte_cap(tmp_path, known=123) == 123


def _bomb_part(path, member_bytes: int, name: str = "AAAAAAAAAAA_000000_000010.mp4") -> None:
    """A tar.gz whose only member is ``member_bytes`` zeros: a few KB per MB on the wire."""
    with gzip.open(path, "wb", compresslevel=6) as gz, tarfile.open(fileobj=gz, mode="w|") as tar:
        info = tarfile.TarInfo(name)
        info.size = member_bytes

        class Zeros(io.RawIOBase):
            left = member_bytes

            def readable(self):
                return True

            def readinto(self, b):
                n = min(len(b), self.left)
                b[:n] = bytes(n)
                self.left -= n
                return n

        tar.addfile(info, io.BufferedReader(Zeros()))


def test_inflating_member_is_refused_while_skipped(server, bucket, tmp_path, monkeypatch):
    """An unwanted member of zeros is not inflated to the end: the part is refused once it inflates absurdly."""
    monkeypatch.setattr("vidwidget.data.extract.EXPANSION_FLOOR", 1 << 20)
    part = bucket / "400/val/part_0.tar.gz"
    _bomb_part(part, 256 << 20)
    done, box = _bounded(lambda: stream_extract(server.url + "400/val/part_0.tar.gz", tmp_path / "v",
                                                select=lambda stem: False, retry=RetryPolicy(**FAST)), timeout=120)
    assert done and isinstance(box.get("error"), DownloadError), box
    assert "inflates" in str(box["error"])
    assert server.bytes_sent["/400/val/part_0.tar.gz"] < part.stat().st_size  # stopped before the end


def test_oversized_member_refuses_the_part_before_reading_it(server, bucket, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDWIDGET_MAX_MEMBER_BYTES", str(8 << 20))
    _bomb_part(bucket / "400/val/part_0.tar.gz", 32 << 20)
    done, box = _bounded(lambda: stream_extract(server.url + "400/val/part_0.tar.gz", tmp_path / "v",
                                                retry=RetryPolicy(**FAST)), timeout=60)
    assert done and isinstance(box.get("error"), DownloadError), box
    assert "VIDWIDGET_MAX_MEMBER_BYTES" in str(box["error"])
    assert not any((tmp_path / "v").iterdir())


def test_many_members_keep_memory_and_log_bounded(tmp_path, caplog):
    count = 5_000
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w|gz") as tar:
        for i in range(count):
            tar.addfile(tarfile.TarInfo(f"junk_{i}.txt"), io.BytesIO(b""))
    raw.seek(0)
    tracemalloc.start()
    try:
        with caplog.at_level(logging.WARNING, logger="vidwidget.data"), \
                tarfile.open(fileobj=raw, mode="r|gz") as tar:
            report = safe_extract_members(tar, tmp_path / "v")
            snapshot = tracemalloc.take_snapshot()  # what the archive and the report still hold
    finally:
        tracemalloc.stop()
    ours = snapshot.filter_traces([tracemalloc.Filter(True, "*tarfile.py"), tracemalloc.Filter(True, "*extract.py")])
    kept = sum(stat.size for stat in ours.statistics("filename"))
    assert kept < 256 << 10, f"{kept >> 10} KB kept for {count} members: bookkeeping grows with the archive"
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1  # one summary line
    assert f"{count} member(s) ({count} not a clip file name)" in caplog.text
    assert sum(report.refused_counts.values()) == count and len(report.refused) <= 20


HTML = b"<!DOCTYPE html><html><body><h1>Service Unavailable</h1><p>try later</p></body></html>\n"


def test_html_instead_of_annotations_is_never_cached(server, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDWIDGET_KINETICS_URL", server.url)
    monkeypatch.setattr(dl, "DEFAULT_RETRY", RetryPolicy(**FAST))
    ds = KineticsDataset("400", "val", root=tmp_path / "k")
    server.faults["/400/annotations/val.csv"] = Fault(body=HTML)
    with pytest.raises(VidwidgetError, match="did not send the expected file"):
        ds.annotations  # noqa: B018 - the property downloads
    cached = tmp_path / "k" / "annotations" / "val.csv"
    assert not cached.exists()
    server.faults.clear()  # the server is fixed: the next call works
    assert len(KineticsDataset("400", "val", root=tmp_path / "k").annotations) > 1000


def test_bad_cached_annotations_and_path_list_are_replaced(server, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDWIDGET_KINETICS_URL", server.url)
    root = tmp_path / "k"
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "val.csv").write_bytes(HTML)  # cached by an older version
    (root / "k400_val_path.txt").write_bytes(HTML)
    ds = KineticsDataset("400", "val", root=root)
    assert "label" in ds.annotations.columns and len(ds.annotations) > 1000
    assert ds.part_urls() == [f"{server.url}400/val/part_0.tar.gz"]
    assert (root / "annotations" / "val.csv").read_bytes() == K400_VAL.read_bytes()


def test_one_http_client_for_the_package(server, tmp_path, monkeypatch):
    """Label maps and dataset downloads go through the same client (same User-Agent, same retry policy)."""
    from pathlib import Path

    import vidwidget
    from vidwidget import _http

    download_file(server.url + "blob.bin", tmp_path / "blob.bin", progress=False, retry=RetryPolicy(**FAST))
    with pytest.raises(DownloadError):
        _http.fetch_bytes(server.url + "label_map.txt")  # what the label maps use; 404 here
    assert server.user_agents == [_http.USER_AGENT, _http.USER_AGENT]
    assert dl.RetryPolicy is _http.RetryPolicy
    package = Path(vidwidget.__file__).parent  # (read as text: importing vidwidget.models would start TensorFlow)
    assert "from .._http import fetch_bytes" in (package / "models" / "labels.py").read_text()
    users = [p for p in package.rglob("*.py") if "urlopen(" in p.read_text() or "http.client" in p.read_text()]
    assert users == [package / "_http.py"]


def test_endless_stream_without_length_is_capped(server, monkeypatch):
    from vidwidget._http import ResumingReader

    server.faults["/blob.bin"] = Fault(endless=64 << 20, no_length=True)
    reader = ResumingReader(server.url + "blob.bin", RetryPolicy(**FAST), max_bytes=2 << 20)
    try:
        assert reader.total is None
        with pytest.raises(DownloadError, match="without announcing a size"):
            while reader.read(1 << 16):
                pass
        assert reader.pos <= (2 << 20) + (1 << 16)
    finally:
        reader.close()
