"""Crash-safe files: atomic writes and a TinyDB storage that writes only on ``flush``.

A write goes to a temporary file in the same folder, is fsynced, then renamed over the old file
(and the folder is fsynced), so a crash or ``kill -9`` at any moment leaves either the previous
or the new content, never a broken file.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from esctui.domain.errors import StoreError


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically (temp file, fsync, rename, fsync folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


MAX_SYNC_THREADS = 32


def fsync_all(descriptors: list[int]) -> None:
    """fsync every descriptor, several at once: concurrent fsyncs share the file system's
    journal commits (on ext4 100 files take ~35 ms from 32 threads, ~650 ms one by one), and
    fsync leaves the GIL, so the threads cost the rest of the program nothing."""
    if len(descriptors) < 2:
        for fd in descriptors:
            os.fsync(fd)
        return
    workers = min(MAX_SYNC_THREADS, len(descriptors))
    with ThreadPoolExecutor(workers, thread_name_prefix="esctui-fsync") as pool:
        for _ in pool.map(os.fsync, descriptors):  # re-raises the first failure
            pass


def write_files_durably(files: list[tuple[Path, bytes]], *, durable: bool = True) -> None:
    """Replace several files atomically each; cheaper than ``atomic_write_bytes`` one by one.

    All temporary files are written first and only then fsynced, all at once (``fsync_all``);
    each file is renamed only once every file is synced, and each folder is fsynced once after
    the renames. Each file is still old or new after a crash.
    """
    temps: list[tuple[Path, Path]] = []  # (target, temporary file) written so far
    renamed = 0
    try:
        descriptors: list[int] = []
        try:
            for path, data in files:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
                descriptors.append(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
                temps.append((path, tmp))
                view = memoryview(data)
                while view:
                    view = view[os.write(descriptors[-1], view) :]
            if durable:
                fsync_all(descriptors)
        finally:
            for fd in descriptors:  # each closed once, success or not
                with contextlib.suppress(OSError):
                    os.close(fd)
        for path, tmp in temps:
            os.replace(tmp, path)
            renamed += 1
    except BaseException:
        for _path, tmp in temps[renamed:]:  # not renamed: those files keep their old content
            tmp.unlink(missing_ok=True)
        raise
    if durable:
        for folder in {path.parent for path, _data in files}:
            fsync_dir(folder)


def flush_all(storages: list[AtomicJSONStorage]) -> None:
    """Flush several storages together (see ``write_files_durably``)."""
    dirty = [storage for storage in storages if storage.dirty]
    if not dirty:
        return
    write_files_durably(
        [(storage.path, storage.encode()) for storage in dirty],
        durable=any(storage.durable for storage in dirty),
    )
    for storage in dirty:
        storage.signature = file_signature(storage.path)
        storage.dirty = False


def file_signature(path: Path) -> tuple[int, int, int] | None:
    """What changes when another process replaces the file (inode, size, mtime)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class AtomicJSONStorage(Storage):
    """TinyDB storage kept in memory; ``flush`` writes the whole file atomically.

    TinyDB calls ``write`` after every change; here that only marks the data dirty, so a
    transaction that inserts a thousand rows writes the file once. Non-ASCII text is stored as
    UTF-8, not escaped.
    """

    def __init__(self, path: str | Path, durable: bool = True) -> None:
        self.path = Path(path)
        self.durable = durable
        self.dirty = False
        self.signature = file_signature(self.path)
        self._data: dict[str, dict[str, Any]] = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        if self.signature is None:
            return {}
        try:
            raw = self.path.read_bytes()
            return json.loads(raw) if raw.strip() else {}
        except (OSError, ValueError) as error:
            raise StoreError(f"Cannot read {self.path}: {error}") from error

    def read(self) -> dict[str, dict[str, Any]] | None:
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self._data = data
        self.dirty = True

    def changed_on_disk(self) -> bool:
        """True if another process replaced the file since we read or wrote it."""
        return file_signature(self.path) != self.signature

    def encode(self) -> bytes:
        """The table as UTF-8 JSON. A lone surrogate (a non-UTF-8 file name that reached a
        record) is written as the JSON escape ``\\udcXX``: valid JSON, read back the same."""
        text = json.dumps(self._data, ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")

    def flush(self) -> None:
        """Write the data if it changed."""
        if not self.dirty:
            return
        atomic_write_bytes(self.path, self.encode(), durable=self.durable)
        self.signature = file_signature(self.path)
        self.dirty = False

    def close(self) -> None:
        """Closing never writes: unflushed changes are a rolled-back transaction."""
