"""Turning exceptions into the short sentences the widgets show (the traceback still goes to the log), and
counting words right ("1 clip", "2 clips")."""

from __future__ import annotations

import os
import re
import socket
import urllib.error
from urllib.parse import urlsplit

from vidwidget.errors import ModelUnavailableError, VidwidgetError

_RAW_URL_ERROR = re.compile(r"(?:\w*URLError: )?<urlopen error [^>]*>")


def plural(n: int, word: str, many: str | None = None) -> str:
    """``"1 clip"``, ``"2 clips"`` (``many`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def network_failure(exc: BaseException) -> BaseException | None:
    """The network error (no route, refused, DNS, timeout) behind ``exc``, if there is one."""
    for item in _chain(exc):
        if isinstance(item, urllib.error.HTTPError):
            continue  # the server answered: not a reachability problem
        if isinstance(item, urllib.error.URLError | ConnectionError | socket.timeout | socket.gaierror | TimeoutError):
            return item
        if type(item).__module__.startswith(("requests", "urllib3")) and "Connection" in type(item).__name__:
            return item
    return None


def _reason(err: BaseException) -> str:
    reason = getattr(err, "reason", None) or err
    if isinstance(reason, socket.gaierror):
        return "the host name could not be resolved"
    if isinstance(reason, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(reason, socket.timeout | TimeoutError):
        return "the connection timed out"
    text = getattr(reason, "strerror", None) or str(reason)
    return text.strip().rstrip(".") or type(reason).__name__


def kinetics_unreachable(exc: BaseException) -> str | None:
    """The sentence shown when Kinetics cannot be downloaded because the network fails (None otherwise)."""
    err = network_failure(exc)
    if err is None:
        return None
    base = os.environ.get("VIDWIDGET_KINETICS_URL") or "https://s3.amazonaws.com/kinetics/"
    host = urlsplit(base).netloc or base
    return (f"Kinetics cannot be reached ({host}: {_reason(err)}). Pass a folder of your own videos — "
            "VideoExplorer('path/to/videos') — or point VIDWIDGET_KINETICS_URL at a Kinetics mirror.")


def describe_error(exc: BaseException, doing: str | None = None) -> str:
    """A one-paragraph, user-facing description of ``exc``, prefixed by what was being done when given.

    Network failures are put in words (never a raw ``<urlopen error …>``); our own errors carry their message;
    anything else shows its type and message."""
    err = network_failure(exc)
    text = str(exc).strip()
    if isinstance(exc, VidwidgetError) and text:
        if err is not None:  # keep our advice, put the raw urllib text in words
            text = _RAW_URL_ERROR.sub(f"the server cannot be reached ({_reason(err)})", text)
    elif err is not None:
        text = f"the network is unreachable ({_reason(err)}); check the connection and try again"
    else:
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return f"{doing}: {text}" if doing else text


def model_title(name: str) -> str:
    """A model dropdown value as a title: ``"kinetics-600"`` -> ``"Kinetics-600"``, ``"kinetics-400@int8"`` ->
    ``"Kinetics-400 int8"``; any other name (a path, a custom model) as given."""
    base, _, precision = name.partition("@")
    if re.fullmatch(r"kinetics-\d+", base):
        base = base.capitalize()
    return f"{base} {precision}" if precision else base


def unavailable_model(exc: BaseException, name: str) -> tuple[str, str] | None:
    """For a model whose weights are not here (a :class:`ModelUnavailableError` naming its remedy): a short
    headline ("Kinetics-600 weights are not available offline") and the detail — what to do first, then the rest
    of the message, network errors in words, nothing dropped. None for any other failure."""
    remedy = getattr(exc, "remedy", None)
    if not isinstance(exc, ModelUnavailableError) or not remedy:
        return None
    where = "offline" if network_failure(exc) is not None else "here"
    text = describe_error(exc)
    rest = text.replace(remedy, "").strip()
    return f"{model_title(name)} weights are not available {where}", f"{remedy} {rest}".strip()
