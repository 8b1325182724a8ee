"""Import TensorFlow (and the modules that pull it in) without its start-up lines reaching the notebook: absl
and TensorFlow's C++ code write straight to file descriptor 2, which Jupyter copies into the cell output. The
import runs once, with fd 2 pointed at a temporary file whose lines then go to the ``vidwidget`` logger."""

from __future__ import annotations

import importlib
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

log = logging.getLogger("vidwidget.widgets")
_lock = threading.Lock()
_imported = False


@contextmanager
def native_stderr_to_log(what: str) -> Iterator[None]:
    """Send what native code writes to fd 2 meanwhile to the log (DEBUG), not to the notebook."""
    with suppress(AttributeError, ValueError, OSError):
        sys.stderr.flush()
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace").strip()
            if text:
                log.debug("%s wrote to stderr:\n%s", what, text)


_MODULES = ("vidwidget.models", "vidwidget.inference.evaluate")


def import_inference() -> None:
    """Import the model and evaluation modules (so TensorFlow) quietly, once."""
    global _imported
    with _lock:
        if _imported:
            return
        if "tensorflow" in sys.modules:
            for name in _MODULES:
                importlib.import_module(name)
        else:
            with native_stderr_to_log("importing TensorFlow"):
                for name in _MODULES:
                    importlib.import_module(name)
        _imported = True


class _ForwardQuietly(logging.Handler):
    """Stands in for propagation from the ``vidwidget`` logger to the root logger's handlers, except that records
    made off the main thread — the widgets' workers and the decode threads their jobs start — skip handlers
    that write to stdout/stderr: in a notebook that is the cell output, where an expected retry or a job's
    traceback must not appear (the widget shows it in words). Handlers of the ``vidwidget`` logger itself, and
    root handlers writing elsewhere (files, collectors), still get everything; so does code run in a cell."""

    def emit(self, record: logging.LogRecord) -> None:
        quiet = record.thread != threading.main_thread().ident
        for handler in logging.getLogger().handlers:
            if quiet and _writes_to_stderr(handler):
                continue
            if record.levelno >= handler.level:
                handler.handle(record)


def _writes_to_stderr(handler: logging.Handler) -> bool:
    stream = getattr(handler, "stream", None)
    if stream is None:
        return False
    if stream in (sys.stderr, sys.__stderr__, sys.stdout, sys.__stdout__):
        return True
    try:
        return stream.fileno() in (1, 2)
    except (AttributeError, ValueError, OSError):
        return type(stream).__name__ == "OutStream"  # ipykernel's stream, whatever it is named in sys


def keep_worker_logs_out_of_the_notebook() -> None:
    """Route the ``vidwidget`` logger as described in :class:`_ForwardQuietly` (idempotent)."""
    logger = logging.getLogger("vidwidget")
    with _lock:
        if any(isinstance(h, _ForwardQuietly) for h in logger.handlers):
            return
        logger.addHandler(_ForwardQuietly())
        logger.propagate = False
