"""Read the XML files of a ZIP archive safely.

``iter_zip_xml`` yields the XML entries one by one (subfolders allowed) and reports every entry
it leaves out, with the reason in plain words, through the ``on_skip`` callback;
``read_zip_xml`` collects both into a ``ZipContents``. Left out: entries that are not XML,
paths that could escape a folder (``../``, absolute paths, drive letters), symbolic links,
encrypted entries, entries larger than ``max_entry_bytes``, entries that expand more than
``max_ratio`` times (compression bombs), duplicates, damaged entries, and macOS metadata.
The whole archive is refused (``ZipReadError``) when it is not a readable ZIP, has more than
``max_entries`` entries, or would expand to more than ``max_total_bytes``.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from esctui.domain.errors import FormatError

XML_SUFFIXES = (".xml", ".alto")
DEFAULT_MAX_ENTRY_BYTES = 50_000_000
_CHUNK = 1 << 20


class ZipReadError(FormatError):
    """The archive as a whole cannot be read; the message names it and says why."""


@dataclass(frozen=True)
class ZipEntry:
    """One XML file from the archive: its path inside the ZIP and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class SkippedEntry:
    """An entry that was left out, and why (plain words)."""

    name: str
    reason: str


@dataclass
class ZipContents:
    """All XML entries of an archive and the entries left out."""

    entries: list[ZipEntry] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)


def _path_problem(name: str) -> str | None:
    """Why an entry name is unsafe as a path, or None when it is fine."""
    if "\x00" in name:
        return "its name contains a NUL character"
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return "its path is absolute (it could be written outside the import folder)"
    if ".." in PurePosixPath(normal).parts:
        return "its path goes up with '..' (it could be written outside the import folder)"
    return None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)


def _read_limited(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes | None:
    """The entry's bytes, or None when it expands beyond ``limit`` (its header lied)."""
    chunks: list[bytes] = []
    size = 0
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def iter_zip_xml(
    path: Path | str,
    *,
    max_entries: int = 10_000,
    max_total_bytes: int = 2_000_000_000,
    max_ratio: int = 200,
    max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
    on_skip: Callable[[SkippedEntry], None] | None = None,
) -> Iterator[ZipEntry]:
    """Yield the XML entries of the ZIP at ``path``; report left-out entries to ``on_skip``.

    Raises ``ZipReadError`` before yielding anything when the archive is unreadable, has too
    many entries or its XML entries declare more than ``max_total_bytes`` in total; the total
    of the bytes actually read is checked as well (and stops the reading when exceeded).
    """
    path = Path(path)
    label = path.name

    def skip(name: str, reason: str) -> None:
        if on_skip is not None:
            on_skip(SkippedEntry(name, reason))

    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError as exc:
        raise ZipReadError(f"{label}: the file does not exist.") from exc
    except (zipfile.BadZipFile, OSError) as exc:
        raise ZipReadError(
            f"{label}: this is not a ZIP archive, or it is damaged ({exc})."
        ) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > max_entries:
            raise ZipReadError(
                f"{label}: the archive has {len(infos)} entries; at most {max_entries} are read."
            )
        declared = sum(
            info.file_size for info in infos if info.filename.lower().endswith(XML_SUFFIXES)
        )
        if declared > max_total_bytes:
            raise ZipReadError(
                f"{label}: the archive would expand to {declared / 1e9:.1f} GB; "
                f"at most {max_total_bytes / 1e9:.1f} GB are read."
            )
        seen: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            if info.is_dir():
                continue
            base = PurePosixPath(name.replace("\\", "/")).name
            if name.startswith("__MACOSX/") or base.startswith("._") or base == ".DS_Store":
                skip(name, "macOS metadata, not a document file")
                continue
            if (problem := _path_problem(name)) is not None:
                skip(name, problem)
                continue
            if _is_symlink(info):
                skip(name, "it is a symbolic link")
                continue
            if not base.lower().endswith(XML_SUFFIXES):
                skip(name, "not an XML file")
                continue
            if info.flag_bits & 0x1:
                skip(name, "it is encrypted (password-protected)")
                continue
            if info.file_size > max_entry_bytes:
                skip(
                    name,
                    f"too large ({info.file_size / 1e6:.1f} MB; "
                    f"the limit is {max_entry_bytes / 1e6:.0f} MB)",
                )
                continue
            if info.file_size and info.file_size > max_ratio * max(info.compress_size, 1):
                skip(
                    name,
                    f"it expands {info.file_size // max(info.compress_size, 1)} times "
                    f"(more than {max_ratio}): a possible compression bomb",
                )
                continue
            key = name.replace("\\", "/")
            if key in seen:
                skip(name, "the archive holds another entry with the same name")
                continue
            seen.add(key)
            try:
                data = _read_limited(archive, info, min(info.file_size, max_entry_bytes))
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                skip(name, f"it is damaged and cannot be unpacked ({exc})")
                continue
            except NotImplementedError as exc:
                skip(name, f"it uses a compression method that cannot be read ({exc})")
                continue
            if data is None:
                skip(name, "it unpacks to more bytes than the archive declares")
                continue
            total += len(data)
            if total > max_total_bytes:
                raise ZipReadError(
                    f"{label}: the archive expands to more than "
                    f"{max_total_bytes / 1e9:.1f} GB; reading stopped."
                )
            yield ZipEntry(name, data)


def read_zip_xml(
    path: Path | str,
    *,
    max_entries: int = 10_000,
    max_total_bytes: int = 2_000_000_000,
    max_ratio: int = 200,
    max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
) -> ZipContents:
    """All XML entries of the ZIP in memory, and the left-out ones (limits as ``iter_zip_xml``)."""
    contents = ZipContents()
    contents.entries.extend(
        iter_zip_xml(
            path,
            max_entries=max_entries,
            max_total_bytes=max_total_bytes,
            max_ratio=max_ratio,
            max_entry_bytes=max_entry_bytes,
            on_skip=contents.skipped.append,
        )
    )
    return contents
