"""The checks ``safe_zip`` makes, on single entries of any kind (not only XML), and a bounded
copy of one entry, for readers that need images from an archive too (``archive.py``).

``open_zip`` refuses what ``safe_zip.iter_zip_xml`` refuses for the whole archive (not a ZIP,
damaged, too many entries), with the same words; ``entry_problem`` says why one entry is left
out (macOS metadata, unsafe path, symbolic link, encrypted, too large, a compression bomb), with
the same words; ``copy_entry`` unpacks one entry into a stream in chunks and stops when it
unpacks to more than it may. ``safe_zip.iter_zip_xml`` could call these instead of its inline
checks so one implementation remains.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

# The one place where this module reaches into safe_zip.
from esctui.formats.safe_zip import _CHUNK, ZipReadError, _is_symlink, _path_problem

DUPLICATE_REASON = "the archive holds another entry with the same name"


class EntryTooLarge(Exception):
    """An entry unpacks to more bytes than allowed (or than its header declares)."""


def open_zip(path: Path, *, max_entries: int) -> zipfile.ZipFile:
    """The opened archive; ``ZipReadError`` (naming it) when it cannot be read or is too big."""
    label = path.name
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError as exc:
        raise ZipReadError(f"{label}: the file does not exist.") from exc
    except (zipfile.BadZipFile, OSError) as exc:
        raise ZipReadError(
            f"{label}: this is not a ZIP archive, or it is damaged ({exc})."
        ) from exc
    count = len(archive.infolist())
    if count > max_entries:
        archive.close()
        raise ZipReadError(
            f"{label}: the archive has {count} entries; at most {max_entries} are read."
        )
    return archive


def is_macos_metadata(name: str) -> bool:
    """``__MACOSX/…``, ``._name`` and ``.DS_Store``: written by macOS, not document files."""
    base = PurePosixPath(name.replace("\\", "/")).name
    return name.startswith("__MACOSX/") or base.startswith("._") or base == ".DS_Store"


def size_problem(size: int, max_entry_bytes: int) -> str | None:
    """Why a file of ``size`` bytes is too large, or None."""
    if size > max_entry_bytes:
        return f"too large ({size / 1e6:.1f} MB; the limit is {max_entry_bytes / 1e6:.0f} MB)"
    return None


def entry_problem(info: zipfile.ZipInfo, *, max_entry_bytes: int, max_ratio: int) -> str | None:
    """Why the entry is left out (in plain words), or None when it may be read."""
    name = info.filename
    if is_macos_metadata(name):
        return "macOS metadata, not a document file"
    if (problem := _path_problem(name)) is not None:
        return problem
    if _is_symlink(info):
        return "it is a symbolic link"
    if info.flag_bits & 0x1:
        return "it is encrypted (password-protected)"
    if (problem := size_problem(info.file_size, max_entry_bytes)) is not None:
        return problem
    if info.file_size and info.file_size > max_ratio * max(info.compress_size, 1):
        return (
            f"it expands {info.file_size // max(info.compress_size, 1)} times "
            f"(more than {max_ratio}): a possible compression bomb"
        )
    return None


def copy_entry(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    out: BinaryIO,
    *,
    limit: int,
    chunk: int = _CHUNK,
) -> int:
    """Unpack the entry into ``out``, ``chunk`` bytes at a time; returns the bytes written.

    Raises ``EntryTooLarge`` when it unpacks to more than ``limit`` bytes (or than its header
    declares), and zipfile/zlib errors when it is damaged.
    """
    limit = min(limit, info.file_size)
    written = 0
    with archive.open(info) as stream:
        while data := stream.read(chunk):
            written += len(data)
            if written > limit:
                raise EntryTooLarge(info.filename)
            out.write(data)
    return written


def read_head(archive: zipfile.ZipFile, info: zipfile.ZipInfo, size: int) -> bytes:
    """The first ``size`` bytes of the entry (only those are unpacked)."""
    with archive.open(info) as stream:
        return stream.read(size)
