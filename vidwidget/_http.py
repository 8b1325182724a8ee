"""A small HTTP GET for text files such as label maps."""

from __future__ import annotations

import urllib.request

USER_AGENT = "vidwidget/0.1 (+https://pypi.org/project/vidwidget)"


def fetch_bytes(url: str, timeout: float = 30.0) -> bytes:
    """GET ``url`` and return the body; raises ``urllib.error.URLError``/``OSError`` on failure."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()
