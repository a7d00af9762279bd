"""Read ZIP archives (and their XML files) safely: one set of checks for every reader.

``open_zip`` refuses an archive that is not a readable ZIP or has more than ``max_entries``
entries; ``entry_problem`` says in plain words why one entry is left out: macOS metadata, a
path that could escape a folder (``../``, absolute paths, drive letters), a symbolic link,
encryption, more than ``max_entry_bytes``, or a compression ratio over ``max_ratio`` (a bomb);
``copy_entry`` unpacks one entry into a stream in chunks and stops when it unpacks to more than
it may; ``read_head`` unpacks only an entry's first bytes. ``archive.py`` (images, METS) and
the XML readers below use them.

For the XML import: ``iter_zip_xml`` yields the XML entries one by one and reports the entries
it leaves out through ``on_skip``; ``open_xml_sources`` gives the XML files of a .zip or a
single .xml as a sequence of ``(name, bytes)`` whose bytes are read only when an item is taken,
one at a time, so memory holds one file, not the archive. ``read_zip_xml`` collects everything (small archives,
tests). The whole archive is refused (``ZipReadError``) when it is not a readable ZIP, has too
many entries or would expand to more than ``max_total_bytes``.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, overload

from esctui.domain.errors import FormatError
from esctui.formats.local_files import file_kind

XML_SUFFIXES = (".xml", ".alto")
DEFAULT_MAX_ENTRY_BYTES = 50_000_000
DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_MAX_TOTAL_BYTES = 2_000_000_000
DEFAULT_MAX_RATIO = 200
_CHUNK = 1 << 20
DUPLICATE_REASON = "the archive holds another entry with the same name"


class ZipReadError(FormatError):
    """The archive as a whole cannot be read; the message names it and says why."""


class EntryTooLarge(Exception):
    """An entry unpacks to more bytes than allowed (or than its header declares)."""


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


# --------------------------------------------------------------------------------------------
# The checks


def open_zip(path: Path, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> zipfile.ZipFile:
    """The opened archive; ``ZipReadError`` (naming it) when it cannot be read or is too big."""
    label = path.name
    kind = file_kind(path)
    if kind == "":
        raise ZipReadError(f"{label}: the file does not exist.")
    if kind != "file":  # a folder; a FIFO that opening would wait on for ever
        raise ZipReadError(
            f"{label} is {'a folder' if kind == 'folder' else kind}, not a ZIP file."
        )
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError as exc:
        raise ZipReadError(f"{label}: the file does not exist.") from exc
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
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


_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError)


# --------------------------------------------------------------------------------------------
# XML entries


@dataclass(frozen=True)
class _Limits:
    max_entries: int = DEFAULT_MAX_ENTRIES
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES
    max_ratio: int = DEFAULT_MAX_RATIO
    max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES


def _xml_infos(
    archive: zipfile.ZipFile, label: str, limits: _Limits, skip: Callable[[str, str], None]
) -> list[zipfile.ZipInfo]:
    """The XML entries that pass the checks, in archive order (nothing unpacked yet)."""
    infos = archive.infolist()
    declared = sum(info.file_size for info in infos if info.filename.lower().endswith(XML_SUFFIXES))
    if declared > limits.max_total_bytes:
        raise ZipReadError(
            f"{label}: the archive would expand to {declared / 1e9:.1f} GB; "
            f"at most {limits.max_total_bytes / 1e9:.1f} GB are read."
        )
    seen: set[str] = set()
    accepted: list[zipfile.ZipInfo] = []
    for info in infos:
        if info.is_dir():
            continue
        name = info.filename
        base = PurePosixPath(name.replace("\\", "/")).name
        problem = entry_problem(
            info, max_entry_bytes=limits.max_entry_bytes, max_ratio=limits.max_ratio
        )
        if problem is None and not base.lower().endswith(XML_SUFFIXES):
            problem = "not an XML file"
        key = name.replace("\\", "/")
        if problem is None and key in seen:
            problem = DUPLICATE_REASON
        if problem is not None:
            skip(name, problem)
            continue
        seen.add(key)
        accepted.append(info)
    return accepted


def _read_xml_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: _Limits
) -> tuple[bytes | None, str]:
    """(bytes, "") or (None, why it cannot be unpacked)."""
    try:
        data = _read_limited(archive, info, min(info.file_size, limits.max_entry_bytes))
    except NotImplementedError as exc:
        return None, f"it uses a compression method that cannot be read ({exc})"
    except _DAMAGED as exc:
        return None, f"it is damaged and cannot be unpacked ({exc})"
    if data is None:
        return None, "it unpacks to more bytes than the archive declares"
    return data, ""


def iter_zip_xml(
    path: Path | str,
    *,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_ratio: int = DEFAULT_MAX_RATIO,
    max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
    on_skip: Callable[[SkippedEntry], None] | None = None,
) -> Iterator[ZipEntry]:
    """Yield the XML entries of the ZIP at ``path``; report left-out entries to ``on_skip``.

    Raises ``ZipReadError`` before yielding anything when the archive is unreadable, has too
    many entries or its XML entries declare more than ``max_total_bytes`` in total; the total
    of the bytes actually read is checked as well (and stops the reading when exceeded).
    """
    path = Path(path)
    limits = _Limits(max_entries, max_total_bytes, max_ratio, max_entry_bytes)

    def skip(name: str, reason: str) -> None:
        if on_skip is not None:
            on_skip(SkippedEntry(name, reason))

    with open_zip(path, max_entries=max_entries) as archive:
        total = 0
        for info in _xml_infos(archive, path.name, limits, skip):
            data, problem = _read_xml_entry(archive, info, limits)
            if data is None:
                skip(info.filename, problem)
                continue
            total += len(data)
            if total > max_total_bytes:
                raise ZipReadError(
                    f"{path.name}: the archive expands to more than "
                    f"{max_total_bytes / 1e9:.1f} GB; reading stopped."
                )
            yield ZipEntry(info.filename, data)


def read_zip_xml(
    path: Path | str,
    *,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_ratio: int = DEFAULT_MAX_RATIO,
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


# --------------------------------------------------------------------------------------------
# XML files read one at a time, when asked


class XmlSources(Sequence[tuple[str, bytes]]):
    """The XML files of a .zip (checked, nothing unpacked until asked) or of one .xml file, as
    ``(name, bytes)`` items: an item's bytes are read when the item is taken, and only the last
    one is kept (a slice is a view, read as it is iterated), so memory holds one file. An entry
    that turns out damaged as it is read gives b"" (its parse says it is not XML) and is named
    in ``skipped``."""

    def __init__(self, path: Path, limits: _Limits, skipped: list[SkippedEntry]) -> None:
        self.path = path
        self.limits = limits
        self.skipped = skipped
        self._archive: zipfile.ZipFile | None = None
        self._infos: list[zipfile.ZipInfo] = []
        self._names: list[str] = []
        self._total = 0
        self._last: tuple[int, bytes] | None = None  # the item read last, kept for a second look
        if path.suffix.lower() == ".zip":
            self._archive = open_zip(path, max_entries=limits.max_entries)

            def skip(name: str, reason: str) -> None:
                skipped.append(SkippedEntry(name, reason))

            try:
                self._infos = _xml_infos(self._archive, path.name, limits, skip)
            except BaseException:
                self._archive.close()
                raise
            self._names = [info.filename for info in self._infos]
        else:
            self._names = [path.name]

    def read(self, index: int) -> bytes:
        """The bytes of file ``index`` (at most ``max_entry_bytes``)."""
        if self._last is not None and self._last[0] == index:
            return self._last[1]
        self._last = None  # free it before reading the next
        data = self._read(index)
        self._last = (index, data)
        return data

    def _read(self, index: int) -> bytes:
        if self._archive is None:
            return self._read_file()
        data, problem = _read_xml_entry(self._archive, self._infos[index], self.limits)
        if data is None:
            self.skipped.append(SkippedEntry(self._names[index], problem))
            return b""
        self._total += len(data)
        if self._total > self.limits.max_total_bytes:
            raise ZipReadError(
                f"{self.path.name}: the archive expands to more than "
                f"{self.limits.max_total_bytes / 1e9:.1f} GB; reading stopped."
            )
        return data

    def _read_file(self) -> bytes:
        try:
            with self.path.open("rb") as handle:
                data = handle.read(self.limits.max_entry_bytes + 1)
        except OSError as error:
            raise ZipReadError(
                f"{self.path.name}: the file cannot be read ({error.strerror or error})."
            ) from error
        if len(data) > self.limits.max_entry_bytes:  # grew since it was checked
            raise ZipReadError(_too_large_file(self.path.name, len(data), self.limits))
        return data

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()
            self._archive = None

    def __len__(self) -> int:
        return len(self._names)

    def name(self, index: int) -> str:
        return self._names[index]

    @overload
    def __getitem__(self, index: int) -> tuple[str, bytes]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[str, bytes]]: ...

    def __getitem__(self, index: int | slice) -> tuple[str, bytes] | Sequence[tuple[str, bytes]]:
        if isinstance(index, slice):
            return _SourcesView(self, range(*index.indices(len(self))))
        if index < 0:
            index += len(self)
        return self._names[index], self.read(index)

    def __del__(self) -> None:
        self.close()


class _SourcesView(Sequence[tuple[str, bytes]]):
    """``sources[a:b]`` without reading anything until an item is taken."""

    def __init__(self, sources: XmlSources, indexes: range) -> None:
        self.sources = sources
        self.indexes = indexes

    def __len__(self) -> int:
        return len(self.indexes)

    @overload
    def __getitem__(self, index: int) -> tuple[str, bytes]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[str, bytes]]: ...

    def __getitem__(self, index: int | slice) -> tuple[str, bytes] | Sequence[tuple[str, bytes]]:
        if isinstance(index, slice):
            return _SourcesView(self.sources, self.indexes[index])
        return self.sources[self.indexes[index]]


def _too_large_file(label: str, size: int, limits: _Limits) -> str:
    return (
        f"{label} is {size / 1e6:,.1f} MB; XML files larger than "
        f"{limits.max_entry_bytes / 1e6:.0f} MB are not read."
    )


def open_xml_sources(
    path: Path,
    *,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_ratio: int = DEFAULT_MAX_RATIO,
    max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
) -> tuple[XmlSources, list[SkippedEntry]]:
    """The XML files of ``path`` (a .zip, or one XML file), each read only when asked, and the
    entries left out (a list that grows when an entry turns out damaged as it is read).

    Checks what can be checked before reading: a missing file, a folder or FIFO, an archive's
    entries, a single file's size (a 3 GB .xml is refused without being read).
    """
    path = Path(path)
    limits = _Limits(max_entries, max_total_bytes, max_ratio, max_entry_bytes)
    kind = file_kind(path)
    if kind == "":
        raise ZipReadError(f"{path.name}: the file does not exist (looked in {path.parent}).")
    if kind == "folder":
        raise ZipReadError(
            f"{path.name} is a folder: give an ALTO/PAGE .xml file or a .zip of them."
        )
    if kind != "file":
        raise ZipReadError(f"{path.name} is {kind}, not an XML or ZIP file.")
    if path.suffix.lower() != ".zip":
        size = path.stat().st_size
        if size > max_entry_bytes:
            raise ZipReadError(_too_large_file(path.name, size, limits))
    skipped: list[SkippedEntry] = []
    return XmlSources(path, limits, skipped), skipped
