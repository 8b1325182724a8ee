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


def import_inference() -> None:
    """Import :mod:`vidwidget.models` and :mod:`vidwidget.inference` (so TensorFlow) quietly, once."""
    global _imported
    with _lock:
        if _imported:
            return
        if "tensorflow" in sys.modules:
            importlib.import_module("vidwidget.models")
            importlib.import_module("vidwidget.inference")
        else:
            with native_stderr_to_log("importing TensorFlow"):
                importlib.import_module("vidwidget.models")
                importlib.import_module("vidwidget.inference")
        _imported = True
