"""Where an archive's entries come from: a ZIP file or a folder, with the same few operations
(list the entries with their sizes, read the start of one, copy one out in chunks), and the
limits and errors they share. Used by ``archive.ImageArchive``."""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from esctui.domain.errors import EsctuiError
from esctui.formats.safe_zip import (
    DUPLICATE_REASON,
    EntryTooLarge,
    SkippedEntry,
    ZipReadError,
    copy_entry,
    entry_problem,
    is_macos_metadata,
    open_zip,
    read_head,
    size_problem,
)


class ArchiveError(EsctuiError):
    """The archive or folder as a whole cannot be used; the message names it and says why."""


class ArchiveEntryError(EsctuiError):
    """One entry cannot be read: the message is ``"<archive>: <entry>: <reason>"``."""

    def __init__(self, label: str, name: str, reason: str) -> None:
        super().__init__(f"{label}: {name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class ArchiveLimits:
    """What an archive may hold.

    Attributes:
        max_entries: more entries (files) and the archive is refused.
        max_total_bytes: the used entries may declare (and unpack to) at most this in all.
        max_entry_bytes: a larger image is left out.
        max_xml_bytes: a larger XML file is left out.
        max_ratio: an entry that expands more times than this is left out (a bomb).
        chunk_bytes: how much is unpacked at a time: the memory an extraction needs.
    """

    max_entries: int = 50_000
    max_total_bytes: int = 50_000_000_000
    max_entry_bytes: int = 2_000_000_000
    max_xml_bytes: int = 50_000_000
    max_ratio: int = 200
    chunk_bytes: int = 1 << 20


@dataclass
class ArchiveEntry:
    """An entry kept: its name, size and, once read, what it is."""

    name: str
    size: int
    kind: str = ""  # "image", "xml" (ALTO/PAGE), "mets"
    image_filename: str = ""
    format: str = ""


class ZipSource:
    """The entries of a ZIP file (unsafe, encrypted, too large or duplicate ones left out)."""

    def __init__(self, path: Path, limits: ArchiveLimits) -> None:
        self.label = path.name
        self.limits = limits
        try:
            self.archive = open_zip(path, max_entries=limits.max_entries)
        except ZipReadError as error:
            raise ArchiveError(str(error)) from error
        self.infos: dict[str, zipfile.ZipInfo] = {}

    def entries(self, skip: list[SkippedEntry]) -> Iterator[tuple[str, int]]:
        self.infos = {}
        for info in self.archive.infolist():
            if info.is_dir():
                continue
            name = info.filename
            problem = entry_problem(
                info,
                max_entry_bytes=max(self.limits.max_entry_bytes, self.limits.max_xml_bytes),
                max_ratio=self.limits.max_ratio,
            )
            key = name.replace("\\", "/")
            if problem is None and key in self.infos:
                problem = DUPLICATE_REASON
            if problem is not None:
                skip.append(SkippedEntry(name, problem))
                continue
            self.infos[key] = info
            yield key, info.file_size

    def head(self, name: str, size: int) -> bytes:
        return read_head(self.archive, self.infos[name], size)

    def copy(self, name: str, out: BinaryIO, limit: int) -> int:
        return copy_entry(
            self.archive, self.infos[name], out, limit=limit, chunk=self.limits.chunk_bytes
        )

    def close(self) -> None:
        self.archive.close()


class FolderSource:
    """The files under a folder (symbolic links and macOS metadata left out)."""

    def __init__(self, path: Path, limits: ArchiveLimits) -> None:
        self.root = path
        self.label = path.name or str(path)
        self.limits = limits

    def entries(self, skip: list[SkippedEntry]) -> Iterator[tuple[str, int]]:
        count = 0
        for folder, dirs, files in os.walk(self.root, followlinks=False):
            here = Path(folder)
            for linked in [d for d in dirs if (here / d).is_symlink()]:
                dirs.remove(linked)
                name = (here / linked).relative_to(self.root).as_posix()
                skip.append(SkippedEntry(name, "it is a symbolic link (to a folder)"))
            dirs.sort()
            for base in sorted(files):
                full = here / base
                name = full.relative_to(self.root).as_posix()
                count += 1
                if count > self.limits.max_entries:
                    raise ArchiveError(
                        f"{self.label}: the folder holds more than {self.limits.max_entries} "
                        "files; at most that many are read."
                    )
                if is_macos_metadata(name):
                    skip.append(SkippedEntry(name, "macOS metadata, not a document file"))
                    continue
                if full.is_symlink():
                    skip.append(SkippedEntry(name, "it is a symbolic link"))
                    continue
                try:
                    size = full.stat().st_size
                except OSError as exc:
                    skip.append(SkippedEntry(name, f"it cannot be opened ({exc.strerror})"))
                    continue
                limit = max(self.limits.max_entry_bytes, self.limits.max_xml_bytes)
                if (problem := size_problem(size, limit)) is not None:
                    skip.append(SkippedEntry(name, problem))
                    continue
                yield name, size

    def _path(self, name: str) -> Path:
        return self.root.joinpath(*name.split("/"))

    def head(self, name: str, size: int) -> bytes:
        with self._path(name).open("rb") as stream:
            return stream.read(size)

    def copy(self, name: str, out: BinaryIO, limit: int) -> int:
        written = 0
        with self._path(name).open("rb") as stream:
            while data := stream.read(self.limits.chunk_bytes):
                written += len(data)
                if written > limit:
                    raise EntryTooLarge(name)
                out.write(data)
        return written

    def close(self) -> None:
        pass


DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError)
