"""A loopback Kinetics mirror for tests: real ``tar.gz`` parts built from ``../shared/data``, the path-list
file naming CVDF's S3 bucket, the annotations, and a threaded HTTP server that counts bytes, honours Range,
and injects faults (dropped connections, permanent truncation, 503s, ignored Range, a slow drip, no
Content-Length, an endless body, another body such as an HTML error page)."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import shutil
import socket
import tarfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VIDEOS = SHARED / "videos"
K400_VAL = SHARED / "kinetics" / "k400_val.csv"
S3_BASE = "https://s3.amazonaws.com/kinetics/"

# Which real video plays each class in the mirror.
CLASS_VIDEOS = {
    "arm wrestling": ["arm_wrestling.mp4"],
    # cleaning_pool_hq.mp4: cleaning_pool.mp4 re-encoded at high quality, a big member (~3 MB)
    "cleaning pool": ["cleaning_pool.mp4", "cleaning_pool_32frames.mp4", "cleaning_pool_hq.mp4"],
    "filling eyebrows": ["filling_eyebrows.mp4"],  # transcoded from the AVI: Kinetics members are all .mp4
    # filler classes (more clip ids for the many members after the first ones; content need not match)
    "jumping into pool": ["cleaning_pool_hq.mp4"],
    "wrestling": ["arm_wrestling.mp4"],
}


@dataclass(frozen=True)
class MirrorClip:
    """One member of a mirror part: its clip id, label and the file whose bytes it holds."""

    clip_id: str
    label: str
    source: Path

    @property
    def size(self) -> int:
        return self.source.stat().st_size

    @property
    def member_name(self) -> str:
        return f"{self.clip_id}.mp4"


@dataclass
class Mirror:
    """A mirror folder laid out like the bucket (``400/val/part_N.tar.gz``, ``400/annotations/val.csv``)."""

    root: Path
    parts: dict[str, list[MirrorClip]] = field(default_factory=dict)
    version: str = "400"
    split: str = "val"

    def part_path(self, name: str) -> Path:
        return self.root / self.version / self.split / name

    def url_path(self, name: str) -> str:
        """The server path of a part (the key of the server's byte counters and faults)."""
        return f"/{self.version}/{self.split}/{name}"

    def clip(self, clip_id: str) -> MirrorClip:
        return next(c for clips in self.parts.values() for c in clips if c.clip_id == clip_id)

    @property
    def all_clips(self) -> list[MirrorClip]:
        return [c for clips in self.parts.values() for c in clips]


def transcode_to_mp4(src: Path, dest: Path, max_frames: int = 48, qscale: int | None = None) -> Path:
    """Re-encode the first frames of ``src`` as MPEG-4 in an ``.mp4`` container with PyAV (``qscale``: fixed
    quality, 1 best, for a large file)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        vin = inp.streams.video[0]
        rate = int(vin.average_rate or 25)
        vout = out.add_stream("mpeg4", rate=rate)
        vout.width, vout.height, vout.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        vout.codec_context.time_base = Fraction(1, rate)
        if qscale is not None:
            vout.codec_context.bit_rate = 20_000_000
            vout.codec_context.options = {"qscale": str(qscale)}
        for i, frame in enumerate(inp.decode(vin)):
            if i >= max_frames:
                break
            img = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            img = img.reformat(format="yuv420p")
            img.pts, img.time_base = i, Fraction(1, rate)
            for packet in vout.encode(img):
                out.mux(packet)
        for packet in vout.encode():
            out.mux(packet)
    return dest


def _ids_by_class(csv_path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with open(csv_path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["label"] in CLASS_VIDEOS:
                cid = f"{row['youtube_id']}_{int(row['time_start']):06d}_{int(row['time_end']):06d}"
                out.setdefault(row["label"], []).append(cid)
    for ids in out.values():  # ids starting with "-" first, so the mirror always has some
        ids.sort(key=lambda c: (not c.startswith("-"), c))
    return out


def write_part(path: Path, members: Sequence[MirrorClip], extra: Sequence[tarfile.TarInfo] = (),
               extra_data: dict[str, bytes] | None = None) -> Path:
    """Write a ``tar.gz`` part holding ``members`` (and optional raw TarInfo entries) in that order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    extra_data = extra_data or {}
    with tarfile.open(path, "w:gz", compresslevel=0, format=tarfile.GNU_FORMAT) as tar:
        for info in extra:
            data = extra_data.get(info.name)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
        for clip in members:
            tar.add(clip.source, arcname=clip.member_name, recursive=False)
    return path


def build_mirror(root: Path, part_sizes: Sequence[int] = (80, 12, 12), *, work: Path | None = None,
                 big_first_part: bool = True) -> Mirror:
    """Build a Kinetics-400 val mirror in ``root``: parts of the given member counts with real clip ids from
    the shared CSV (ids starting with "-" first). part_0 opens with 8 big videos, a small fraction of it
    (~20%; ~110 MB in all); later parts cycle over the three shared videos. With ``big_first_part=False``
    every part does (a light mirror, e.g. ``part_sizes=(16,)``)."""
    work = work or root.parent / "mirror-src"
    work.mkdir(parents=True, exist_ok=True)
    sources = {name: VIDEOS / name for names in CLASS_VIDEOS.values() for name in names}
    if big_first_part:
        sources["cleaning_pool_hq.mp4"] = transcode_to_mp4(VIDEOS / "cleaning_pool.mp4",
                                                           work / "cleaning_pool_hq.mp4", max_frames=300, qscale=2)
    sources["filling_eyebrows.mp4"] = transcode_to_mp4(VIDEOS / "filling_eyebrows_mpeg4.avi",
                                                       work / "filling_eyebrows.mp4")
    ids = _ids_by_class(K400_VAL)
    used: Counter[str] = Counter()
    # part_0 opens with 8 big clips (~21 MB, so the TCP window of ~2 MB that is in flight when the reader
    # stops is small beside them), then many more members
    head = [("cleaning pool", 2), ("cleaning pool", 2), ("arm wrestling", 0), ("cleaning pool", 2)]
    big_cycle = [("arm wrestling", 0), ("cleaning pool", 0), ("cleaning pool", 1), ("filling eyebrows", 0),
                 ("jumping into pool", 0), ("wrestling", 0)]
    small_cycle = [("cleaning pool", 1), ("filling eyebrows", 0), ("arm wrestling", 0)]
    mirror = Mirror(root)
    for p, size in enumerate(part_sizes):
        members = []
        for i in range(size):
            if p == 0 and big_first_part and i < 8:
                label, video = head[i % len(head)]
            else:
                cycle = big_cycle if p == 0 and big_first_part else small_cycle
                label, video = cycle[i % len(cycle)]
            cid = ids[label][used[label]]
            used[label] += 1
            members.append(MirrorClip(cid, label, sources[CLASS_VIDEOS[label][video]]))
        name = f"part_{p}.tar.gz"
        write_part(mirror.part_path(name), members)
        mirror.parts[name] = members
    listing = root / "400" / "val" / "k400_val_path.txt"
    listing.write_text("".join(f"{S3_BASE}400/val/{name}\n" for name in mirror.parts), encoding="utf-8")
    (root / "400" / "annotations").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(K400_VAL, root / "400" / "annotations" / "val.csv")
    return mirror


@dataclass
class Fault:
    """Misbehaviour for one path: answer 503 ``status_503`` times; close the connection after ``drop_after``
    body bytes on the next ``drop_times`` requests (-1: always); close every connection on reaching file offset
    ``drop_at`` (a transfer that never gets past it); pretend the file has only ``truncate_to`` bytes (a
    permanently truncated file); ignore Range headers; send one byte every ``drip`` seconds; send no
    Content-Length (the body ends when the connection closes); send ``endless`` zero bytes (up to that many)
    instead of the file; serve ``body`` instead of the file (e.g. an HTML error page)."""

    status_503: int = 0
    drop_after: int | None = None
    drop_times: int = 0
    drop_at: int | None = None
    truncate_to: int | None = None
    ignore_range: bool = False
    drip: float | None = None
    no_length: bool = False
    endless: int | None = None
    body: bytes | None = None


_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class MirrorServer:
    """A ThreadingHTTPServer on 127.0.0.1 serving ``root``; counts body bytes sent per path, logs requests
    (path, Range header, status), and applies :class:`Fault` s set in ``faults[path]``."""

    def __init__(self, root: Path, chunk: int = 16384, sndbuf: int = 32768) -> None:
        self.root = Path(root).resolve()
        self.bytes_sent: Counter[str] = Counter()
        self.requests: list[tuple[str, str | None, int]] = []
        self.user_agents: list[str | None] = []
        self.faults: dict[str, Fault] = {}
        self.chunk, self.sndbuf = chunk, sndbuf
        self._lock = threading.Lock()
        self._active = 0
        self._idle = threading.Condition(self._lock)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> MirrorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> MirrorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no request is being served (so byte counts are final)."""
        with self._idle:
            self._idle.wait_for(lambda: self._active == 0, timeout)

    def reset(self) -> None:
        with self._lock:
            self.bytes_sent.clear()
            self.requests.clear()
            self.faults.clear()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                self.request.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, server.sndbuf)
                super().setup()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base class name
                pass

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                with server._lock:
                    server._active += 1
                try:
                    self._serve(body=True)
                finally:
                    with server._idle:
                        server._active -= 1
                        server._idle.notify_all()

            def _status(self, path: str, code: int, headers: dict[str, str] | None = None) -> None:
                with server._lock:
                    server.requests.append((path, self.headers.get("Range"), code))
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", (headers or {}).get("Content-Length", "0"))
                self.end_headers()

            def _serve(self, body: bool) -> None:
                path = unquote(urlsplit(self.path).path)
                with server._lock:
                    server.user_agents.append(self.headers.get("User-Agent"))
                    fault = server.faults.get(path, Fault())
                if body and (fault.drip or fault.endless or fault.body is not None):
                    self._hostile(path, fault)
                    return
                file = (server.root / path.lstrip("/")).resolve()
                if server.root not in file.parents or not file.is_file():
                    self._status(path, 404)
                    return
                with server._lock:
                    if fault.status_503 > 0:
                        fault.status_503 -= 1
                        code = 503
                    else:
                        code = 0
                    drop = None
                    if code == 0 and body and fault.drop_after is not None and fault.drop_times != 0:
                        drop = fault.drop_after
                        if fault.drop_times > 0:
                            fault.drop_times -= 1
                if code == 503:
                    self._status(path, 503, {"Retry-After": "0"})
                    return
                size = file.stat().st_size
                if fault.truncate_to is not None:
                    size = min(size, fault.truncate_to)
                etag = f'"{file.stat().st_size}-{file.stat().st_mtime_ns}"'
                start, end, code = 0, size - 1, 200
                m = _RANGE.match(self.headers.get("Range", "") or "")
                if m and not fault.ignore_range:
                    start = int(m[1])
                    end = min(int(m[2]), size - 1) if m[2] else size - 1
                    if start >= size:
                        self._status(path, 416, {"Content-Range": f"bytes */{size}"})
                        return
                    code = 206
                headers = {"Content-Length": str(end - start + 1), "ETag": etag, "Accept-Ranges": "bytes",
                           "Content-Type": "application/octet-stream"}
                if code == 206:
                    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
                with server._lock:
                    server.requests.append((path, self.headers.get("Range"), code))
                self.send_response(code)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if not body:
                    return
                left, sent = end - start + 1, 0
                if fault.drop_at is not None:
                    drop = min(drop if drop is not None else left, max(0, fault.drop_at - start))
                try:
                    with open(file, "rb") as fh:
                        fh.seek(start)
                        while left > 0:
                            n = min(server.chunk, left)
                            if drop is not None:
                                n = min(n, drop - sent)
                            if n <= 0:
                                break
                            data = fh.read(n)
                            self.wfile.write(data)
                            sent += len(data)
                            left -= len(data)
                            with server._lock:
                                server.bytes_sent[path] += len(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if left > 0:  # dropped (fault) or the client went away: close without finishing
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)

            def _hostile(self, path: str, fault: Fault) -> None:
                """Serve a drip, an endless body or a replacement body (no Range support)."""
                with server._lock:
                    server.requests.append((path, self.headers.get("Range"), 200))
                self.send_response(200)
                if fault.body is not None and not fault.no_length:
                    self.send_header("Content-Length", str(len(fault.body)))
                elif fault.drip and not fault.no_length:
                    self.send_header("Content-Length", "1000000")
                self.send_header("Content-Type", "text/html" if fault.body is not None else "application/octet-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    if fault.body is not None:
                        self.wfile.write(fault.body)
                    elif fault.drip:
                        for _ in range(1000):  # bounded: at most 1000 bytes, one per drip interval
                            self.wfile.write(b"\0")
                            self.wfile.flush()
                            with server._lock:
                                server.bytes_sent[path] += 1
                            time.sleep(fault.drip)
                    else:
                        zeros, left = bytes(server.chunk), fault.endless or 0
                        while left > 0:
                            n = min(left, len(zeros))
                            self.wfile.write(zeros[:n])
                            left -= n
                            with server._lock:
                                server.bytes_sent[path] += n
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler
