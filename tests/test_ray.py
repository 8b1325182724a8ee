"""The Ray engine on a real Ray cluster: a head and one more node started with ``ray start`` on 127.0.0.1 by the
fixture (1 CPU each, small object store, no dashboard) and always killed at the end. Results must equal a local
evaluation of the same clips; a killed worker node or a killed driver must lose and repeat nothing."""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time

import av
import numpy as np
import pandas as pd
import pytest
from cli_helpers import kill_after_first_batch
from conftest import VIDEOS
from kinetics_mirror import MirrorServer, build_mirror
from ray_cluster import LOOPBACK_ENV, start_cluster
from video_gen import write_video

from vidwidget.data import KineticsDataset, VideoFolder
from vidwidget.errors import VidwidgetError
from vidwidget.inference import KineticsParts, RayEngine, as_clips, evaluate
from vidwidget.inference.results import read_results
from vidwidget.video import load_clip

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

FRAMES = 16


@pytest.fixture(scope="module")
def cluster(session_home, label_server):
    """Two Ray nodes on loopback (127.0.0.2 and .3, see tests/ray_cluster.py) whose workers share the session's
    VIDWIDGET_HOME (converted weights). Each run ships the ~50 MB OpenVINO IR to its actor as an argument, which
    stays pinned in the object store while the actor lives: with 200 MB per node the node-kill test's new actor
    waited for plasma memory until the test timed out (seen in a quiet CI run), so each node gets 768 MB."""
    env = {"VIDWIDGET_HOME": str(session_home), "VIDWIDGET_LABELS_URL": label_server.url,
           "TF_CPP_MIN_LOG_LEVEL": "2", "VIDWIDGET_KINETICS_URL": "http://127.0.0.1:9/kinetics/"}
    mp = pytest.MonkeyPatch()
    for key, value in LOOPBACK_ENV.items():  # the driver (this process) stays on loopback too
        mp.setenv(key, value)
    running = start_cluster(2, env=env, object_store_bytes=768 * 1024 * 1024)
    try:
        yield running
    finally:
        # A test that failed mid-run may leave this process connected (its evaluate thread never returned); Ray's
        # core worker would then exit the whole pytest process a minute after the cluster is gone (seen in CI).
        import ray

        if ray.is_initialized():
            ray.shutdown()
        running.stop()
        mp.undo()


@pytest.fixture()
def address(cluster, monkeypatch):
    for key, value in LOOPBACK_ENV.items():
        monkeypatch.setenv(key, value)
    return cluster.address


def video_folder(root, copies: int):
    """A labelled folder of ``copies`` links to each shared video (links, not copies of the data)."""
    labels = {"arm_wrestling.mp4": "arm wrestling", "cleaning_pool.mp4": "cleaning pool",
              "filling_eyebrows_mpeg4.avi": "filling eyebrows"}
    for name, label in labels.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(copies):
            (root / label / f"{i}_{name}").symlink_to(VIDEOS / name)
    return root


def assert_same_results(local: pd.DataFrame, remote: pd.DataFrame) -> None:
    """Same clips once each, same top-5 labels in order, probabilities within 1e-5, same errors."""
    assert remote["clip_id"].is_unique and local["clip_id"].is_unique
    assert set(remote["clip_id"]) == set(local["clip_id"])
    merged = local.merge(remote, on="clip_id", suffixes=("_local", "_ray"))
    assert merged["error_local"].isna().equals(merged["error_ray"].isna())
    merged = merged[merged["error_local"].isna()]
    assert len(merged) > 0
    for i in range(1, 6):
        assert (merged[f"pred_{i}_local"] == merged[f"pred_{i}_ray"]).all(), f"pred_{i} differs"
        diff = np.abs(merged[f"score_{i}_local"].astype(float) - merged[f"score_{i}_ray"].astype(float))
        assert float(diff.max()) <= 1e-5, f"score_{i} differs by {float(diff.max())}"


def test_ray_equals_local_on_shared_clips(address, k400, tmp_path):
    clips = as_clips(sorted(p for p in VIDEOS.iterdir() if p.is_file()))
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    clips.append(as_clips([broken])[0])
    local = evaluate(clips, k400, num_frames=FRAMES, batch_size=2)
    out = tmp_path / "results.csv"
    remote = evaluate(clips, k400, num_frames=FRAMES, batch_size=2, engine="ray", address=address, output=out)
    assert list(remote["clip_id"]) == [c.id for c in clips]  # input order, as locally
    assert_same_results(local, remote)
    assert remote.set_index("clip_id").loc["broken", "error"]  # a bad clip is a row with its reason
    assert local.set_index("clip_id").loc["arm_wrestling", "pred_1"] == "arm wrestling"
    on_disk = pd.read_csv(out, dtype={"clip_id": str})
    assert sorted(on_disk["clip_id"]) == sorted(c.id for c in clips)
    # the same call again finds every clip done: nothing is sent to the cluster
    again = evaluate(clips, k400, num_frames=FRAMES, batch_size=2, engine=RayEngine(address), output=out)
    assert again.attrs["computed"] == 0 and len(again) == len(clips)


def test_ray_streams_kinetics_parts_on_the_workers(address, k400, tmp_path, monkeypatch):
    built = build_mirror(tmp_path / "bucket", part_sizes=(16,), big_first_part=False, work=tmp_path / "src")
    with MirrorServer(tmp_path / "bucket") as server:
        monkeypatch.setenv("VIDWIDGET_KINETICS_URL", server.url)
        dataset = KineticsDataset("400", "val", root=tmp_path / "k400")
        remote = evaluate(KineticsParts(dataset, 6), k400, num_frames=FRAMES, batch_size=2, engine="ray",
                          address=address, output=tmp_path / "ray.csv")
        assert dataset.local_files() == []  # the driver downloaded no clip: the workers streamed the part
        assert server.bytes_sent[built.url_path("part_0.tar.gz")] > 0
        local = evaluate(KineticsParts(dataset, 6).download(), k400, num_frames=FRAMES, batch_size=2)
    assert len(remote) == 6 and remote["error"].isna().all() and remote["path"].isna().all()  # nothing kept
    assert (remote["Ground_Truth"] == remote["clip_id"].map({c.clip_id: c.label for c in built.all_clips})).all()
    assert_same_results(local, remote)


def test_ray_driver_killed_then_resumed(address, k400, tmp_path, monkeypatch):
    folder = video_folder(tmp_path / "videos", copies=3)  # 9 clips
    out = tmp_path / "out"
    for key, value in LOOPBACK_ENV.items():
        monkeypatch.setenv(key, value)
    args = ["evaluate", "--folder", str(folder), "--ray", address, "-f", str(FRAMES), "-b", "2", "-o", str(out),
            "--no-progress"]
    done_before = kill_after_first_batch(args, out / "results.csv", timeout=400)
    assert 1 <= len(done_before) < 9, f"the kill came too late to test resume ({len(done_before)} rows done)"
    computed: list[str] = []
    clips = VideoFolder(folder).clips()
    df = evaluate(clips, k400, num_frames=FRAMES, batch_size=2, engine="ray", address=address,
                  output=out / "results.csv", dataset=f"folder:{folder.resolve()}",  # as the CLI records it
                  on_batch=lambda f: computed.extend(f["clip_id"]))
    assert sorted(computed) == sorted(set(c.id for c in clips) - set(done_before["clip_id"]))  # none redone
    assert df.attrs["computed"] == 9 - len(done_before)
    final = pd.read_csv(out / "results.csv")
    assert len(final) == 9 and final["clip_id"].is_unique and final["error"].isna().all()


def test_ray_worker_node_killed_mid_run(cluster, address, k400, tmp_path):
    clips = VideoFolder(video_folder(tmp_path / "videos", copies=4)).clips()  # 12 clips
    first_rows = threading.Event()
    result: dict = {}

    def run() -> None:
        try:
            result["df"] = evaluate(clips, k400, num_frames=FRAMES, batch_size=2, engine="ray", address=address,
                                    output=tmp_path / "results.csv", on_batch=lambda f: first_rows.set())
        except BaseException as exc:  # reported below
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert first_rows.wait(400), "no results arrived"
    worker = cluster.nodes[1]
    worker.kill()  # the second node dies with whatever it was running
    thread.join(500)
    assert not thread.is_alive(), "the run did not finish after the node was killed"
    if "error" in result:
        raise result["error"]
    df = result["df"]
    assert sorted(df["clip_id"]) == sorted(c.id for c in clips) and df["clip_id"].is_unique
    assert df["error"].isna().all()
    on_disk = pd.read_csv(tmp_path / "results.csv")
    assert len(on_disk) == len(clips) and on_disk["clip_id"].is_unique
    cluster.nodes.remove(worker)


def test_ray_missing_extra_names_it(monkeypatch):
    import builtins

    from vidwidget.errors import VidwidgetError
    from vidwidget.inference import _ray_engine

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(VidwidgetError, match=r"vidwidget\[ray\]"):
        _ray_engine.import_ray()
    with pytest.raises(VidwidgetError, match=r"vidwidget\[ray\]"):
        evaluate([VIDEOS / "arm_wrestling.mp4"], "kinetics-400", engine="ray")
    with pytest.raises(ValueError, match="unknown engine"):
        evaluate([VIDEOS / "arm_wrestling.mp4"], "kinetics-400", engine="spark")


def test_local_stays_default_and_ray_free():
    """The local path never imports Ray (the dispatch is the only addition to it)."""
    import subprocess
    import sys

    code = ("import sys, inspect; from vidwidget.inference import evaluate; "
            "assert inspect.signature(evaluate).parameters['engine'].default == 'local'; "
            "print('ray imported:', 'ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "ray imported: False"


def wait_for(condition, timeout: float) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass (a bound, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return condition()


def test_ray_cancel_stops_cleans_up_and_resumes(address, k400, tmp_path, capsys):
    """Cancelled from ``on_batch`` after the first batch, as the widget cancels: the run returns the rows done so
    far (each reported once, in input order), writes only complete rows, stops its actors and tasks itself (this
    process stays connected, so the job lives on), and a later run computes exactly the rest, batch by batch in
    input order."""
    import ray

    clips = VideoFolder(video_folder(tmp_path / "videos", copies=3)).clips()  # 9 clips: 5 batches of 2
    ids = [c.id for c in clips]
    out = tmp_path / "results.csv"
    cancel = threading.Event()
    reported: list[list[str]] = []

    def first_batch(frame: pd.DataFrame) -> None:
        reported.append(list(frame["clip_id"]))
        cancel.set()

    ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    try:
        total_cpus = ray.cluster_resources()["CPU"]
        df = evaluate(clips, k400, num_frames=FRAMES, batch_size=2, engine="ray", address=address, output=out,
                      on_batch=first_batch, cancel=cancel)
        assert ray.is_initialized()  # the engine left the caller's connection alone
        released = wait_for(lambda: ray.available_resources().get("CPU", 0.0) == total_cpus, 120)
        assert released, f"still reserved after the cancel: {ray.available_resources()} of {total_cpus} CPUs"
    finally:
        ray.shutdown()
    assert df.attrs["cancelled"] is True
    assert 2 <= len(df) < len(clips), f"the cancel came too late to test ({len(df)} rows)"
    assert reported[0] == ids[:2]  # the first batch is the first in input order, whichever actor was first
    assert [i for batch in reported for i in batch] == list(df["clip_id"])  # every row once, in input order
    assert list(df["clip_id"]) == [i for i in ids if i in set(df["clip_id"])]
    assert df["error"].isna().all() and df[[f"pred_{i}" for i in range(1, 6)]].notna().all().all()
    on_disk = read_results(out)
    assert sorted(on_disk["clip_id"]) == sorted(df["clip_id"])  # only complete rows, nothing after the cancel
    assert on_disk[[f"score_{i}" for i in range(1, 6)]].notna().all().all()

    done = set(df["clip_id"])
    rest = [i for i in ids if i not in done]
    batches: list[list[str]] = []
    again = evaluate(clips, k400, num_frames=FRAMES, batch_size=2, engine="ray", address=address, output=out,
                     on_batch=lambda f: batches.append(list(f["clip_id"])), progress=True)
    assert batches == [rest[i:i + 2] for i in range(0, len(rest), 2)]  # the local batches of what was left
    assert f"{len(rest)}/{len(rest)}" in capsys.readouterr().err  # one progress bar over the clips left, as locally
    assert again.attrs["computed"] == len(rest) and again.attrs["cancelled"] is False
    assert set(again["clip_id"][:len(done)]) == done and list(again["clip_id"][len(done):]) == rest  # as locally
    assert sorted(read_results(out)["clip_id"]) == sorted(ids)


def short_copy(src, dst, frames: int):
    """The first ``frames`` frames of a real clip, re-encoded (real content, so predictions are not near-ties)."""
    with av.open(str(src)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in itertools.islice(container.decode(video=0), frames)]
    return write_video(dst, decoded, rate=25)


def test_ray_seed_rule_frames_equal_local(address, k400, tmp_path):
    """``num_frames=None``: per batch the fewest frames of its clips, raised to the model's minimum (9) — the
    same batches, frame counts and predictions on Ray as locally. A clip resampled to its own length instead of
    its batch's would score differently."""
    pool32 = VIDEOS / "cleaning_pool_32frames.mp4"
    (tmp_path / "pool_b.mp4").symlink_to(pool32)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    files = [pool32, short_copy(VIDEOS / "arm_wrestling.mp4", tmp_path / "arm12.mp4", 12),  # batch of 12 frames
             short_copy(VIDEOS / "arm_wrestling.mp4", tmp_path / "arm6.mp4", 6), broken,  # 6, raised to 9
             tmp_path / "pool_b.mp4"]  # a last batch of one: 32 frames
    clips = as_clips(files)
    local = evaluate(clips, k400, num_frames=None, batch_size=2)
    remote = evaluate(clips, k400, num_frames=None, batch_size=2, engine="ray", address=address)
    assert list(remote["clip_id"]) == [c.id for c in clips]
    assert_same_results(local, remote)
    assert remote.set_index("clip_id").loc["broken", "error"]
    # both engines follow the rule itself: each clip at its own batch's count (the same file scores differently
    # at 12 and 32 frames; before the local engine's fix it decoded a clip of the next batch at this batch's count)
    by_id = remote.set_index("clip_id")
    for clip_id, path, frames in [("cleaning_pool_32frames", pool32, 12), ("arm6", files[2], 9),
                                  ("pool_b", files[4], 32)]:
        expected = float(k400.probabilities(load_clip(path, frames)[None])[0].max())
        assert by_id.loc[clip_id, "score_1"] == pytest.approx(expected, abs=1e-6), clip_id
    assert by_id.loc["cleaning_pool_32frames", "score_1"] != pytest.approx(by_id.loc["pool_b", "score_1"], abs=1e-5)


def test_ray_addresses_refused_or_failing_fast(tmp_path, monkeypatch):
    """What the engine cannot use is refused before any model is loaded, with what to do instead: Ray Client
    (Ray Data does not run over it), a malformed address, an address where nothing listens (``ray.init`` would
    retry it for minutes), and the seed's frame rule on streamed parts (they have no local batches)."""
    clips = [VIDEOS / "arm_wrestling.mp4"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # free once the socket closes: nothing listens there
    with pytest.raises(ValueError, match=r"Ray Client.*HOST:6379"):
        evaluate(clips, "kinetics-400", engine="ray", address="ray://127.0.0.1:10001")
    with pytest.raises(ValueError, match="not HOST:PORT"):
        evaluate(clips, "kinetics-400", engine="ray", address="head-without-port")
    with pytest.raises(VidwidgetError, match=rf"No Ray cluster answers at 127\.0\.0\.1:{closed} .*refused"):
        evaluate(clips, "kinetics-400", engine=RayEngine(f"127.0.0.1:{closed}"))
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{closed}")  # address=None: RAY_ADDRESS, checked the same way
    with pytest.raises(VidwidgetError, match="No Ray cluster answers"):
        evaluate(clips, "kinetics-400", engine="ray")
    parts = KineticsParts(KineticsDataset("400", "val", root=tmp_path / "k400"), 4)
    with pytest.raises(ValueError, match="num_frames=None"):
        evaluate(parts, "kinetics-400", num_frames=None, engine="ray", address="127.0.0.2:1")


def test_ray_rows_reach_the_caller_in_input_order():
    """Groups come back in whatever order the actors finish; the caller gets them as the local batches, in input
    order, each once, and what a cancel leaves waiting is handed over in input order too."""
    from vidwidget.inference._ray_engine import _InputOrder

    ids = [f"c{i}" for i in range(7)]  # batches of 3: c0-c2, c3-c5, c6
    order = _InputOrder({c: i for i, c in enumerate(ids)}, 3)
    rows = {c: {"clip_id": c} for c in ids}
    assert order.add([rows["c6"]]) == []  # the last batch first: it waits
    assert order.add([rows["c4"], rows["c3"], rows["c5"]]) == []
    assert order.add([rows["c1"], rows["c0"]]) == []  # a batch is handed over whole
    released = order.add([rows["c2"]])
    assert [[r["clip_id"] for r in batch] for batch in released] == [ids[0:3], ids[3:6], ids[6:]]
    assert order.rest() == []

    cancelled = _InputOrder({c: i for i, c in enumerate(ids)}, 3)
    assert cancelled.add([rows["c6"]]) == [] and cancelled.add([rows["c3"], rows["c5"]]) == []
    assert [[r["clip_id"] for r in b] for b in cancelled.rest()] == [["c3", "c5"], ["c6"]]
    assert _InputOrder({}, 3).add([rows["c1"]]) == [[rows["c1"]]]  # streamed parts: no input order to keep
