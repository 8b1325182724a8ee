"""Safe extraction of clip files from a tar archive (a local file or a stream): regular files only, nothing
outside the target folder, each file written under a temporary name and renamed only once complete; bounded
memory for endless streams, a size cap on members and on how much a compressed stream may inflate."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tarfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from vidwidget import _config
from vidwidget.data.clip_ids import is_clip_file_name
from vidwidget.errors import DownloadError

log = logging.getLogger("vidwidget.data")

_CHUNK = 1 << 20
#: Free space kept in reserve when writing extracted files.
SPACE_RESERVE = 64 << 20
#: A compressed stream inflating more than this many times (past ``EXPANSION_FLOOR`` bytes) is refused: video
#: members barely compress, so only a bomb (e.g. gigabytes of zeros) gets near it.
MAX_EXPANSION = 50
EXPANSION_FLOOR = 64 << 20
#: How many refused members an :class:`ExtractReport` names (the rest are counted by reason).
REFUSED_EXAMPLES = 20


@dataclass
class ExtractReport:
    """What an extraction did: files written, members refused (the first :data:`REFUSED_EXAMPLES` as (name,
    reason) in ``refused``, all of them counted by reason in ``refused_counts``), members skipped as unwanted."""

    extracted: list[Path] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    refused_counts: Counter[str] = field(default_factory=Counter)
    skipped: int = 0

    def refuse(self, name: str, reason: str) -> None:
        """Record a refused member, keeping memory bounded however many there are."""
        self.refused_counts[reason] += 1
        if len(self.refused) < REFUSED_EXAMPLES:
            self.refused.append((name, reason))

    def refusal_summary(self) -> str:
        """One line: how many members were refused, why, and the first few names."""
        total = sum(self.refused_counts.values())
        reasons = ", ".join(f"{n} {reason}" for reason, n in self.refused_counts.most_common())
        names = ", ".join(repr(name) for name, _ in self.refused[:5])
        return f"{total} member(s) ({reasons}), e.g. {names}"


def check_expansion(uncompressed: int, compressed: int, source: str) -> None:
    """Raise DownloadError when a stream inflated past :data:`MAX_EXPANSION` times its compressed size."""
    if uncompressed > EXPANSION_FLOOR and uncompressed > MAX_EXPANSION * max(compressed, 1):
        raise DownloadError(
            f"{source} inflates {uncompressed / max(compressed, 1):,.0f}-fold ({compressed:,} compressed bytes "
            f"gave {uncompressed:,}); video archives barely compress, so this looks like a decompression bomb. "
            "The archive was refused; check the mirror (VIDWIDGET_KINETICS_URL).")


def temp_name(path: Path) -> Path:
    """The temporary name a file is written under until complete (``.name.part`` in the same folder)."""
    return path.with_name(f".{path.name}.part")


def member_problem(member: tarfile.TarInfo, dest: Path, name_ok: Callable[[str], bool] | None) -> str | None:
    """Why ``member`` must not be extracted into ``dest`` (None if it is safe and acceptable)."""
    name = member.name
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if ".." in path.parts or "\\" in name:
        return "path leaves the target folder"
    kinds = [(member.issym, "symbolic link"), (member.islnk, "hard link"), (member.ischr, "character device"),
             (member.isblk, "block device"), (member.isfifo, "fifo"), (member.isdir, "directory")]
    for check, kind in kinds:
        if check():
            return kind
    if not member.isreg():
        return "not a regular file"
    if name_ok is not None and not name_ok(path.name):
        return "not a clip file name"
    root = dest.resolve()
    target = (root / path.name).resolve()
    if target.parent != root:
        return "path leaves the target folder"
    try:  # defence in depth: the standard library's own 'data' filter must agree
        tarfile.data_filter(member, str(root))
    except tarfile.FilterError as exc:
        return f"refused by tarfile data filter ({exc})"
    return None


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    free = shutil.disk_usage(target.parent).free
    if free < member.size + SPACE_RESERVE:
        raise DownloadError(f"Not enough free disk space to write {target.name} ({member.size / 1e6:,.1f} MB; "
                            f"{free / 1e6:,.0f} MB free in {target.parent}). Free some space, or point "
                            "VIDWIDGET_HOME (or the dataset root) at a larger disk.")
    tmp = temp_name(target)
    tmp.unlink(missing_ok=True)
    src = tar.extractfile(member)
    if src is None:
        raise DownloadError(f"Archive member {member.name!r} has no data to read.")
    written = 0
    try:
        with open(tmp, "xb") as out:
            while chunk := src.read(min(_CHUNK, member.size - written) or 1):
                out.write(chunk)
                written += len(chunk)
                if written >= member.size:
                    break
        if written != member.size:
            raise DownloadError(f"Archive member {member.name!r} ended after {written} of {member.size} "
                                "bytes; the archive is truncated.")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def safe_extract_members(
    tar: tarfile.TarFile,
    dest: str | Path,
    *,
    select: Callable[[str], bool] | None = None,
    until: Callable[[], bool] | None = None,
    name_ok: Callable[[str], bool] | None = is_clip_file_name,
    on_extracted: Callable[[str, Path], None] | None = None,
    source: str = "The archive",
    compressed_bytes: Callable[[], int] | None = None,
) -> ExtractReport:
    """Extract the wanted regular-file members of ``tar`` (stream or random-access) flat into ``dest``.

    Unsafe members (absolute paths, ``..``, links, devices, fifos) and names ``name_ok`` rejects are skipped,
    counted in the report and summed up in one warning at the end; ``select(stem)`` decides which acceptable
    members are wanted; ``until()`` is checked after every member and stops the iteration (so a stream is not
    read further); ``source`` names the archive in error messages. A member larger than
    ``VIDWIDGET_MAX_MEMBER_BYTES`` refuses the whole archive (DownloadError) before any of it is read, and so
    does inflation beyond :data:`MAX_EXPANSION` when ``compressed_bytes()`` tells how much of the compressed
    stream was read. Memory stays bounded however many members the archive has.
    Members already present in ``dest`` are not rewritten but still reported to ``on_extracted``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    report = ExtractReport()
    if until is not None and until():
        return report
    max_member = _config.max_member_bytes()
    try:
        while (member := tar.next()) is not None:
            tar.members = []  # tarfile keeps every header it read: an endless stream would grow without bound
            if member.size > max_member:
                raise DownloadError(
                    f"{source}: member {member.name!r} claims {member.size:,} bytes, more than the "
                    f"{max_member:,} accepted (VIDWIDGET_MAX_MEMBER_BYTES); the archive was refused.")
            if compressed_bytes is not None:
                check_expansion(tar.fileobj.tell(), compressed_bytes(), source)
            problem = member_problem(member, dest, name_ok)
            if problem == "directory":
                report.skipped += 1
            elif problem is not None:
                report.refuse(member.name, problem)
            else:
                name = PurePosixPath(member.name).name
                stem = name.rsplit(".", 1)[0]
                if select is not None and not select(stem):
                    report.skipped += 1
                else:
                    target = dest / name
                    if not (target.is_file() and target.stat().st_size == member.size):
                        _write_member(tar, member, target)
                    report.extracted.append(target)
                    if on_extracted is not None:
                        on_extracted(stem, target)
            if until is not None and until():
                break
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise DownloadError(f"The disk holding {dest} is full; free some space or point VIDWIDGET_HOME "
                                "at a larger disk, then run the download again (finished files are kept).") from exc
        if isinstance(exc, OSError) and exc.errno is not None:
            raise  # a local error (permissions, ...): not the archive's fault
        raise DownloadError(f"{source} is truncated or corrupt ({exc}); files extracted before the damage "
                            f"are kept ({len(report.extracted)}), no partial file was left. Download the "
                            "archive again.") from exc
    finally:
        if report.refused_counts:
            log.warning("Refused archive members of %s: %s", source, report.refusal_summary())
    return report
