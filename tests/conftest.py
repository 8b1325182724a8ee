"""Shared test setup: every test runs with its own VIDWIDGET_HOME and no route to the internet.

Label maps are served from a loopback HTTP server built from ../shared/data/kinetics (never copied into the
repository); the Kinetics URL points at a closed loopback port unless a test starts a mirror.
"""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
VIDEOS = SHARED / "videos"
KINETICS = SHARED / "kinetics"


class StaticServer:
    """A loopback HTTP server answering GET for a fixed ``{path: bytes}`` map and counting requests."""

    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def shared_videos() -> Path:
    if not VIDEOS.is_dir():
        pytest.fail(f"test data missing: {VIDEOS} (../shared must sit beside the project root)")
    return VIDEOS


@pytest.fixture(scope="session")
def label_server():
    """DeepMind-style label map files, served on loopback from the shared Kinetics data."""
    server = StaticServer(
        {
            "/label_map.txt": (KINETICS / "label_map_400.txt").read_bytes(),
            "/label_map_600.txt": (KINETICS / "label_map_600.txt").read_bytes(),
        }
    )
    yield server
    server.close()


@pytest.fixture(scope="session")
def session_home(tmp_path_factory) -> Path:
    """A VIDWIDGET_HOME shared by the whole session, so the K400 weights are converted only once."""
    return tmp_path_factory.mktemp("vidwidget-home")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, session_home, label_server, tmp_path_factory):
    monkeypatch.setenv("VIDWIDGET_HOME", str(session_home))
    monkeypatch.setenv("VIDWIDGET_LABELS_URL", label_server.url)
    monkeypatch.setenv("VIDWIDGET_KINETICS_URL", "http://127.0.0.1:9/kinetics/")  # closed port: no network
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "tfhub-empty"))
    # Retries against a closed port would only slow tests down; the download tests set their own policies.
    from vidwidget.data import RetryPolicy, download

    monkeypatch.setattr(download, "DEFAULT_RETRY", RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.05, timeout=10))
    yield


@pytest.fixture(scope="session")
def k400(session_home, label_server):
    """The real I3D Kinetics-400 model, loaded once per session."""
    mp = pytest.MonkeyPatch()
    mp.setenv("VIDWIDGET_HOME", str(session_home))
    mp.setenv("VIDWIDGET_LABELS_URL", label_server.url)
    from vidwidget.models import load_model

    try:
        yield load_model("kinetics-400")
    finally:
        mp.undo()


def pytest_configure(config):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
