"""Kinetics downloads against a loopback mirror: streamed partial downloads, resume, safe unpacking."""

from __future__ import annotations

import io
import logging
import tarfile
from pathlib import Path

import av
import pytest
from kinetics_mirror import K400_VAL, S3_BASE, Fault, MirrorClip, MirrorServer, build_mirror, write_part

import vidwidget.data.download as dl
from vidwidget.data import KineticsDataset, ProgressEvent, RetryPolicy, download_file, safe_extract_members
from vidwidget.errors import DownloadError, VidwidgetError

PART0 = "/400/val/part_0.tar.gz"
PART1 = "/400/val/part_1.tar.gz"


@pytest.fixture(scope="session")
def mirror(tmp_path_factory):
    return build_mirror(tmp_path_factory.mktemp("mirror") / "bucket")


@pytest.fixture
def server(mirror):
    with MirrorServer(mirror.root) as srv:
        yield srv


@pytest.fixture
def env(monkeypatch, tmp_path, server):
    """VIDWIDGET_HOME in tmp, Kinetics URL at the mirror, short retry backoffs."""
    monkeypatch.setenv("VIDWIDGET_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VIDWIDGET_KINETICS_URL", server.url)
    monkeypatch.setattr(dl, "DEFAULT_RETRY", RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, timeout=5))
    return server


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.is_file()]


def assert_same_as_mirror(mirror, paths) -> None:
    for path in paths:
        assert path.read_bytes() == mirror.clip(path.stem).source.read_bytes(), path


# --- the path list and annotations ------------------------------------------------------------------------

def test_part_urls_from_s3_list_are_mapped_onto_mirror(env, mirror, tmp_path):
    ds = KineticsDataset(400, "val")
    assert ds.root == tmp_path / "home" / "kinetics" / "400" / "val"  # default root under VIDWIDGET_HOME
    listing = (mirror.root / "400/val/k400_val_path.txt").read_text()
    assert listing.startswith(S3_BASE + "400/val/part_0.tar.gz")
    assert ds.part_urls() == [f"{env.url}400/val/part_{i}.tar.gz" for i in range(3)]
    assert ds.map_url("part_7.tar.gz") == f"{env.url}400/val/part_7.tar.gz"
    with pytest.raises(DownloadError, match="cannot be mapped"):
        ds.map_url("https://example.org/elsewhere/part_0.tar.gz")


def test_annotations_fetched_once_and_parsed(env):
    ds = KineticsDataset("400", "val")
    df = ds.annotations
    assert len(df) == 19906 and len(ds.labels) == 400
    assert {"label", "youtube_id", "time_start", "time_end", "split", "is_cc", "clip_id"} <= set(df.columns)
    row = df[df.youtube_id.str.startswith("-")].iloc[0]
    assert row.clip_id == f"{row.youtube_id}_{row.time_start:06d}_{row.time_end:06d}"
    again = KineticsDataset("400", "val")
    assert again.annotations.shape == df.shape
    assert [r for r in env.requests if r[0].endswith("val.csv")] == [("/400/annotations/val.csv", None, 200)]


def test_transient_503_is_retried(env):
    env.faults["/400/annotations/val.csv"] = Fault(status_503=2)
    assert len(KineticsDataset("400", "val").annotations) == 19906
    assert [r[2] for r in env.requests if r[0].endswith("val.csv")] == [503, 503, 200]


def test_missing_file_fails_at_once_with_clear_error(env, tmp_path):
    with pytest.raises(DownloadError, match=r"HTTP 404.*Check the URL"):
        download_file(env.url + "400/val/nope.tar.gz", tmp_path / "nope.tar.gz", progress=False)
    assert len(env.requests) == 1 and not leftovers(tmp_path)


# --- streamed partial downloads ---------------------------------------------------------------------------

def test_eight_clips_stream_only_their_bytes_and_decode(env, mirror):
    events: list[ProgressEvent] = []
    ds = KineticsDataset("400", "val")
    clips = ds.download(n=8, progress=False, on_progress=events.append)
    env.wait_idle()
    wanted = mirror.parts["part_0.tar.gz"][:8]
    assert [c.id for c in clips] == [m.clip_id for m in wanted]
    assert [c.label for c in clips] == [m.label for m in wanted]
    member_bytes = sum(m.size for m in wanted)
    part_size = mirror.part_path("part_0.tar.gz").stat().st_size
    assert env.bytes_sent[PART0] <= 1.2 * member_bytes, (env.bytes_sent[PART0], member_bytes)
    assert member_bytes < part_size / 4  # meaningful: the 8 clips are a small fraction of the part
    assert env.bytes_sent[PART1] == 0
    assert_same_as_mirror(mirror, [c.path for c in clips])
    for clip in clips:
        with av.open(str(clip.path)) as container:
            frame = next(container.decode(video=0))
            assert frame.width > 0 and frame.height > 0
    assert not leftovers(ds.root)
    assert events[-1].clips_done == 8 and events[-1].clips_total == 8
    assert all(e.bytes_total == part_size for e in events if e.current == "part_0.tar.gz")
    # the clips are indexed; asking again transfers nothing
    assert ds.local_index()["clip_id"].tolist() == sorted(c.id for c in clips)
    env.bytes_sent.clear()
    assert {c.id for c in ds.download(n=8, progress=False)} == {c.id for c in clips}
    assert env.bytes_sent[PART0] == 0
    assert {c.id for c in ds.clips(downloaded_only=True)} == {c.id for c in clips}


def test_n_per_class_of_chosen_classes(env, mirror):
    ds = KineticsDataset("400", "val")
    clips = ds.download(classes=["arm wrestling", "filling eyebrows"], per_class=2, progress=False)
    by_label = {}
    for c in clips:
        by_label.setdefault(c.label, []).append(c.id)
    assert {k: len(v) for k, v in by_label.items()} == {"arm wrestling": 2, "filling eyebrows": 2}
    order = [m.clip_id for m in mirror.parts["part_0.tar.gz"]]
    for label, ids in by_label.items():  # the first ones of each class in the stream
        assert ids == [m for m in order if mirror.clip(m).label == label][:2]
    env.wait_idle()
    assert env.bytes_sent[PART0] < mirror.part_path("part_0.tar.gz").stat().st_size / 2
    with pytest.raises(VidwidgetError, match="arm wrestling"):
        ds.download(classes=["arm wrestlin"], progress=False)


def test_per_class_over_all_classes_reads_all_parts_and_warns(env, mirror, caplog):
    ds = KineticsDataset("400", "val")
    with caplog.at_level(logging.WARNING, logger="vidwidget.data"):
        clips = ds.download(per_class=30, progress=False)
    counts = {}
    for c in clips:
        counts[c.label] = counts.get(c.label, 0) + 1
    expected = {}
    for m in mirror.all_clips:
        expected[m.label] = min(30, expected.get(m.label, 0) + 1)
    assert counts == expected
    assert "Only" in caplog.text


def test_stream_resumes_after_dropped_connections(env, mirror):
    env.faults[PART0] = Fault(drop_after=700_000, drop_times=4)
    ds = KineticsDataset("400", "val")
    clips = ds.download(n=8, progress=False)
    assert len(clips) == 8
    assert_same_as_mirror(mirror, [c.path for c in clips])
    part0 = [r for r in env.requests if r[0] == PART0]
    assert part0[0] == (PART0, None, 200) and len(part0) >= 5
    assert all(r[1] and r[1].startswith("bytes=") and r[2] == 206 for r in part0[1:])
    assert not leftovers(ds.root)


def test_stream_resume_when_server_ignores_range(env, mirror):
    env.faults[PART0] = Fault(drop_after=1_500_000, drop_times=2, ignore_range=True)
    clips = KineticsDataset("400", "val").download(n=8, progress=False)
    assert_same_as_mirror(mirror, [c.path for c in clips])
    assert [r[2] for r in env.requests if r[0] == PART0] == [200, 200, 200]


@pytest.mark.parametrize("fault", [Fault(truncate_to=5_000_000), Fault(drop_at=5_000_000)],
                         ids=["truncated-file", "always-dropped"])
def test_part_broken_for_good_fails_clearly_without_partial_clip(env, mirror, fault):
    env.faults[PART0] = fault
    ds = KineticsDataset("400", "val")
    with pytest.raises(DownloadError, match=r"part_0\.tar\.gz.*(truncated|kept failing)") as info:
        ds.download(n=8, progress=False)
    assert "try again" in str(info.value).lower() or "download the archive again" in str(info.value).lower()
    files = sorted(ds.videos_dir.iterdir())
    assert files and not leftovers(ds.root)
    assert_same_as_mirror(mirror, files)  # only complete clips remain (1 fits in 5 MB)
    assert len(files) < 8


# --- whole parts ------------------------------------------------------------------------------------------

def test_whole_part_download_resumes_with_range_and_verifies(env, mirror):
    env.faults[PART1] = Fault(status_503=1, drop_after=200_000, drop_times=3)
    ds = KineticsDataset("400", "val")
    clips = ds.download_parts([1], keep_archives=True, progress=False)
    archive = ds.parts_dir / "part_1.tar.gz"
    assert archive.read_bytes() == mirror.part_path("part_1.tar.gz").read_bytes()
    statuses = [(r[1], r[2]) for r in env.requests if r[0] == PART1]
    assert statuses[:2] == [(None, 503), (None, 200)]
    assert [s for _, s in statuses[2:]] == [206, 206, 206]
    assert [r for r, _ in statuses[2:]] == ["bytes=200000-", "bytes=400000-", "bytes=600000-"]
    assert sorted(c.id for c in clips) == sorted(m.clip_id for m in mirror.parts["part_1.tar.gz"])
    assert_same_as_mirror(mirror, [c.path for c in clips])
    assert not leftovers(ds.root)


def test_download_file_resumes_a_partial_file_from_an_earlier_run(env, mirror, tmp_path):
    original = mirror.part_path("part_2.tar.gz").read_bytes()
    dest = tmp_path / "part_2.tar.gz"
    (tmp_path / ".part_2.tar.gz.part").write_bytes(original[:300_000])
    download_file(env.url + "400/val/part_2.tar.gz", dest, progress=False)
    env.wait_idle()
    assert dest.read_bytes() == original
    assert env.requests == [("/400/val/part_2.tar.gz", "bytes=300000-", 206)]
    assert env.bytes_sent["/400/val/part_2.tar.gz"] == len(original) - 300_000
    assert not leftovers(tmp_path)


def test_download_file_restarts_cleanly_when_range_is_ignored(env, mirror, tmp_path):
    env.faults["/400/val/part_2.tar.gz"] = Fault(ignore_range=True)
    original = mirror.part_path("part_2.tar.gz").read_bytes()
    (tmp_path / ".p.part").write_bytes(b"x" * 1000)  # not even a prefix: must be overwritten, not appended
    download_file(env.url + "400/val/part_2.tar.gz", tmp_path / "p", progress=False)
    assert (tmp_path / "p").read_bytes() == original


def test_download_file_failing_for_good_keeps_no_whole_looking_file(env, tmp_path):
    env.faults["/400/val/part_2.tar.gz"] = Fault(drop_at=100_000)
    dest = tmp_path / "part_2.tar.gz"
    with pytest.raises(DownloadError, match="without progress.*resume"):
        download_file(env.url + "400/val/part_2.tar.gz", dest, progress=False)
    assert not dest.exists()
    assert (tmp_path / ".part_2.tar.gz.part").stat().st_size == 100_000  # kept for a later resume


def test_free_space_is_checked_before_whole_parts(env, monkeypatch):
    class Usage:
        total, used, free = 10**12, 10**12, 1000

    monkeypatch.setattr(dl.shutil, "disk_usage", lambda path: Usage)
    ds = KineticsDataset("400", "val")
    with pytest.raises(DownloadError, match="Not enough free disk space.*VIDWIDGET_HOME"):
        ds.download_parts([0], progress=False)
    assert not any(ds.parts_dir.iterdir())


# --- safe extraction ------------------------------------------------------------------------------------------

def _evil_entries(good_ids: list[str]) -> tuple[list[tarfile.TarInfo], dict[str, bytes]]:
    def info(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, link: str = "") -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.type, ti.size, ti.linkname = kind, size, link
        if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
            ti.devmajor, ti.devminor = 1, 3
        return ti

    payload = b"evil" * 100
    entries = [
        info("../evil.mp4", size=len(payload)),
        info(f"../{good_ids[0]}.mp4", size=len(payload)),
        info("/abs.mp4", size=len(payload)),
        info(f"{good_ids[1]}.mp4", tarfile.SYMTYPE, link="/etc/passwd"),
        info("hard.mp4", tarfile.LNKTYPE, link="/etc/passwd"),
        info("zero.mp4", tarfile.CHRTYPE),
        info("disk.mp4", tarfile.BLKTYPE),
        info("pipe.mp4", tarfile.FIFOTYPE),
        info("notes.txt", size=len(payload)),
        info("sub/", tarfile.DIRTYPE),
    ]
    data = {e.name: payload for e in entries if e.isreg()}
    return entries, data


def test_unsafe_members_are_refused_and_good_ones_extracted(tmp_path, caplog):
    import csv

    with open(K400_VAL, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:2]
    video = K400_VAL.parents[1] / "videos" / "cleaning_pool_32frames.mp4"
    good = [MirrorClip(f"{r['youtube_id']}_{int(r['time_start']):06d}_{int(r['time_end']):06d}", r["label"],
                       video) for r in rows]
    entries, data = _evil_entries([g.clip_id for g in good])
    part = write_part(tmp_path / "evil.tar.gz", good, extra=entries, extra_data=data)
    dest = tmp_path / "deep" / "target"
    with caplog.at_level(logging.WARNING, logger="vidwidget.data"), tarfile.open(part, "r:gz") as tar:
        report = safe_extract_members(tar, dest)
    refused = dict(report.refused)
    assert refused == {
        "../evil.mp4": "path leaves the target folder",
        f"../{good[0].clip_id}.mp4": "path leaves the target folder",
        "/abs.mp4": "absolute path",
        f"{good[1].clip_id}.mp4": "symbolic link",
        "hard.mp4": "hard link",
        "zero.mp4": "character device",
        "disk.mp4": "block device",
        "pipe.mp4": "fifo",
        "notes.txt": "not a clip file name",
    }
    assert "Refused archive members" in caplog.text and "'../evil.mp4'" in caplog.text  # one summary line
    assert sorted(p.name for p in dest.iterdir()) == sorted(g.member_name for g in good)
    assert all(p.is_file() and not p.is_symlink() for p in dest.iterdir())
    for g in good:
        assert (dest / g.member_name).read_bytes() == g.source.read_bytes()
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and dest not in p.parents and p != part]
    assert outside == [] and not Path("/abs.mp4").exists()


def test_unsafe_members_refused_in_streamed_and_whole_part_downloads(tmp_path, monkeypatch, mirror):
    bucket = tmp_path / "bucket"
    good = mirror.parts["part_1.tar.gz"][:3]
    entries, data = _evil_entries([good[0].clip_id, good[1].clip_id])
    write_part(bucket / "400/val/part_0.tar.gz", good, extra=entries, extra_data=data)
    (bucket / "400/val/k400_val_path.txt").write_text(S3_BASE + "400/val/part_0.tar.gz\n")
    (bucket / "400/annotations").mkdir(parents=True)
    (bucket / "400/annotations/val.csv").write_bytes(K400_VAL.read_bytes())
    with MirrorServer(bucket) as srv:
        monkeypatch.setenv("VIDWIDGET_KINETICS_URL", srv.url)
        streamed = KineticsDataset("400", "val", root=tmp_path / "a").download(n=3, progress=False)
        whole = KineticsDataset("400", "val", root=tmp_path / "b").download_parts(progress=False)
    for clips in (streamed, whole):
        assert sorted(c.id for c in clips) == sorted(g.clip_id for g in good)
    for root in (tmp_path / "a", tmp_path / "b"):
        assert sorted(p.name for p in (root / "videos").iterdir()) == sorted(g.member_name for g in good)
    assert not (tmp_path / "evil.mp4").exists() and not (tmp_path / "a" / "evil.mp4").exists()
    assert not list((tmp_path / "b" / "parts").iterdir())  # archive removed after extraction


# --- the local index ------------------------------------------------------------------------------------------

def test_local_index_reports_unmatched_files(env, caplog):
    ds = KineticsDataset("400", "val")
    row = ds.annotations[ds.annotations.youtube_id.str.startswith("-")].iloc[0]
    ds.videos_dir.mkdir(parents=True)
    for name in (f"{row.clip_id}.mp4", "AAAAAAAAAAA_000001_000011.mp4", "holiday.mp4", ".x.mp4.part"):
        (ds.videos_dir / name).write_bytes(b"0")
    with caplog.at_level(logging.WARNING, logger="vidwidget.data"):
        index = ds.local_index()
    assert index["clip_id"].tolist() == [row.clip_id]
    assert index["label"].tolist() == [row.label] and index["path"].iloc[0].name == f"{row.clip_id}.mp4"
    assert sorted(p.name for p in ds.unmatched_files) == ["AAAAAAAAAAA_000001_000011.mp4", "holiday.mp4"]
    assert index.attrs["unmatched_files"] == ds.unmatched_files
    assert "match no clip" in caplog.text
    clip = next(c for c in ds.clips() if c.id == row.clip_id)
    assert clip.path is not None and clip.youtube_id == row.youtube_id and clip.start == row.time_start


def test_bad_version_and_split(env):
    with pytest.raises(VidwidgetError, match="700-2020"):
        KineticsDataset("500")
    with pytest.raises(VidwidgetError, match="train, val, test"):
        KineticsDataset("400", "validation")


def test_member_shorter_than_its_header_leaves_nothing(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        ti = tarfile.TarInfo("AAAAAAAAAAA_000001_000011.mp4")
        ti.size = 5000
        tar.addfile(ti, io.BytesIO(b"y" * 5000))
    data = buf.getvalue()
    import gzip

    raw = gzip.decompress(data)[:512 + 3000]
    with tarfile.open(fileobj=io.BytesIO(gzip.compress(raw)), mode="r|gz") as tar, \
            pytest.raises(DownloadError, match="truncated"):
        safe_extract_members(tar, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_interrupted_run_leaves_no_half_clip_and_rerun_completes(env, mirror, monkeypatch):
    from vidwidget.data.progress import Reporter

    original = Reporter.add_bytes

    def add_bytes(self, n):  # a Ctrl-C in the middle of the second clip
        original(self, n)
        if self.bytes_done > 5_000_000:
            raise KeyboardInterrupt

    monkeypatch.setattr(Reporter, "add_bytes", add_bytes)
    ds = KineticsDataset("400", "val")
    with pytest.raises(KeyboardInterrupt):
        ds.download(n=8, progress=False)
    first = mirror.parts["part_0.tar.gz"][0]
    assert sorted(p.name for p in ds.videos_dir.iterdir()) == [first.member_name]
    assert_same_as_mirror(mirror, ds.videos_dir.iterdir())
    monkeypatch.setattr(Reporter, "add_bytes", original)
    clips = ds.download(n=8, progress=False)
    assert len(clips) == 8 and not leftovers(ds.root)
    assert_same_as_mirror(mirror, [c.path for c in clips])


def test_streamed_clips_check_free_space(env, monkeypatch):
    class Usage:
        total, used, free = 10**12, 10**12, 10 << 20

    monkeypatch.setattr(dl.shutil, "disk_usage", lambda path: Usage)
    ds = KineticsDataset("400", "val")
    with pytest.raises(DownloadError, match="Not enough free disk space to write"):
        ds.download(n=2, progress=False)
    assert not any(ds.videos_dir.iterdir())
