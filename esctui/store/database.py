"""The data folder's TinyDB files as one database, changed in transactions.

TinyDB's JSON storage rewrites a whole file on each write, so the data is sharded (a catalog,
one file per document, one per page) and each transaction writes every changed file once,
atomically, at the end: pages first, then documents, then the catalog, so that a crash in
between leaves extra data nothing points to yet, never a pointer to missing data. A
transaction holds an inter-process lock (filelock) and reloads any file another process
replaced. An exception rolls the in-memory state back and runs the registered rollback actions.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import cast

from filelock import FileLock, Timeout
from tinydb import TinyDB

from esctui.domain.errors import StoreError
from esctui.store.atomic import AtomicJSONStorage, flush_all

LOCK_TIMEOUT_SECONDS = 60.0
# How often a process waiting for the lock tries again. Short: another process's import lets
# go of it for only the millisecond or two between its commits (filelock's 50 ms default let
# one import starve the other until it finished).
LOCK_POLL_SECONDS = 0.002
DOCUMENT_FILE = "document.json"
# Page files held in memory besides the ones a transaction changes: reading every page of a
# document (an export, a push) must not hold the whole document (50 lines of 25-point masks
# take ~0.3 MB in memory; 1,000 pages held 350 MB before this bound).
MAX_HELD_PAGE_FILES = 64
LET_GO_IN_BATCHES_OF = 16


class ShardedDatabase:
    """The TinyDB files below ``root``; thread-safe, and process-safe through ``transaction``."""

    def __init__(self, root: Path, catalog: Path, *, durable: bool = True) -> None:
        self.root = root
        self.catalog = catalog
        self.durable = durable
        self._dbs: OrderedDict[Path, TinyDB] = OrderedDict()  # least recently used first
        self._rollback_actions: list[Callable[[], None]] = []
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._process_lock = FileLock(str(root / ".lock"), timeout=LOCK_TIMEOUT_SECONDS)

    def db(self, path: Path) -> TinyDB:
        """The TinyDB for ``path``, reloaded if another process replaced the file."""
        with self._thread_lock:  # (held by every caller already; the held files are shared)
            db = self._dbs.get(path)
            storage = _storage(db) if db is not None else None
            if db is None or (
                storage is not None and not storage.dirty and storage.changed_on_disk()
            ):
                db = TinyDB(path, storage=AtomicJSONStorage, durable=self.durable)
                self._dbs[path] = db
                self._let_go_of_pages()
            self._dbs.move_to_end(path)
            return db

    def _let_go_of_pages(self) -> None:
        """Drop the least recently used page files beyond MAX_HELD_PAGE_FILES, in batches (not
        a walk over what is held for each page read); only outside a transaction (what one
        reads it may still change) and only unchanged ones."""
        if self._depth or len(self._dbs) <= MAX_HELD_PAGE_FILES + LET_GO_IN_BATCHES_OF:
            return
        pages = [path for path in self._dbs if self._level(path) == 0]
        for path in pages[: max(0, len(pages) - MAX_HELD_PAGE_FILES)]:
            if not _storage(self._dbs[path]).dirty:
                del self._dbs[path]

    def forget(self, paths: Iterable[Path]) -> None:
        """Drop what is held of files that no longer exist (a deleted page or document)."""
        for path in list(paths):
            self._dbs.pop(path, None)

    def held_below(self, folder: Path) -> list[Path]:
        """The files held in memory below ``folder``."""
        return [path for path in self._dbs if folder in path.parents]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Lock the data folder, run the block, then write every changed file atomically.

        Nested calls join the outer transaction. On an exception nothing is written, and the
        actions registered with ``on_rollback`` run.
        """
        with self._thread_lock:
            outer = self._depth == 0
            if outer:
                try:
                    self._process_lock.acquire(poll_interval=LOCK_POLL_SECONDS)
                except Timeout as error:
                    raise StoreError(
                        f"The data folder {self.root} is busy: another esctui process has held "
                        f"its lock for over {LOCK_TIMEOUT_SECONDS:.0f} s."
                    ) from error
            self._depth += 1
            try:
                yield
            except BaseException:
                if outer:
                    self._rollback()
                raise
            else:
                if outer:
                    self._commit()
            finally:
                self._depth -= 1
                if outer:
                    self._rollback_actions.clear()
                    self._process_lock.release()
                    self._let_go_of_pages()

    def on_rollback(self, action: Callable[[], None]) -> None:
        """Run ``action`` if the current transaction fails (e.g. remove a moved-in file)."""
        self._rollback_actions.append(action)

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold off other threads' transactions while reading (no inter-process lock)."""
        with self._thread_lock:
            yield

    def _dirty(self) -> list[tuple[Path, AtomicJSONStorage]]:
        held = ((path, _storage(db)) for path, db in self._dbs.items())
        return [(path, storage) for path, storage in held if storage.dirty]

    def _level(self, path: Path) -> int:
        """Write order: pages (0), then documents (1), then the catalog (2)."""
        return 2 if path == self.catalog else 1 if path.name == DOCUMENT_FILE else 0

    def _commit(self) -> None:
        dirty = self._dirty()
        for level in (0, 1, 2):
            flush_all([storage for path, storage in dirty if self._level(path) == level])

    def _rollback(self) -> None:
        for path, _storage in self._dirty():
            del self._dbs[path]
        for action in reversed(self._rollback_actions):
            with contextlib.suppress(OSError):
                action()


def _storage(db: TinyDB) -> AtomicJSONStorage:
    return cast(AtomicJSONStorage, db.storage)  # every TinyDB here is opened with it
