"""The data folder: a small catalog DB, one DB per document and per page, and the image files.

Layout (all JSON files are TinyDB databases written atomically)::

    <root>/catalog.json                      meta (schema version), documents, models, jobs
    <root>/.lock                             inter-process lock (filelock)
    <root>/documents/<doc>/document.json     parts (pages), transcriptions (versions)
    <root>/documents/<doc>/pages/<part>.json regions, lines, texts of one page
    <root>/documents/<doc>/images/           page images (copies; originals untouched)
    <root>/documents/<doc>/thumbs/           one JPEG thumbnail per page
    <root>/documents/<doc>/.staging/<pid>-…/ files of an import not yet committed
    <root>/models/<model>.<ext>              uploaded model files
    <root>/.sessions/<pid>-<token>           one per open Store; left behind only by a crash

``Store`` is the one way in. Every change happens in ``Store.transaction()`` (``database``: the
inter-process lock, each changed file written once, atomically); what a crash left is swept
when the folder is next opened (``recovery``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, cast

from tinydb import Query, TinyDB
from tinydb.queries import QueryInstance, QueryLike
from tinydb.table import Table

from esctui.domain import (
    DEFAULT_MAX_PIXELS,
    Document,
    Job,
    JobStatus,
    Line,
    LineText,
    Model,
    Part,
    Region,
    Transcription,
    now,
)
from esctui.domain.errors import ConflictError, NotFoundError, PermissionDeniedError, StoreError
from esctui.store import recovery
from esctui.store.atomic import atomic_write_bytes, fsync_dir
from esctui.store.database import LOCK_TIMEOUT_SECONDS, ShardedDatabase
from esctui.store.records import PageLayout, StagedFile

__all__ = ["LOCK_TIMEOUT_SECONDS", "SCHEMA_VERSION", "PageLayout", "StagedFile", "Store"]

SCHEMA_VERSION = 1
# Schema notes (additive changes that need no migration: old rows load with the defaults):
# - regions and lines may hold ``tags`` ({kind: [values]}: language, direction, split, ...);
# - a line text may hold ``source``, ``time``, ``words`` and ``history`` (its earlier texts,
#   at most domain.MAX_TEXT_HISTORY); an esctui from before drops them when it rewrites a page.
_ROW = Query()
TEXT_COUNTS = "text_counts"  # a page row's {version id: [lines with text, characters]}
PAGE_TABLES = ("regions", "lines", "texts")  # the tables of a page file


def _by_order(item: Region | Line) -> int:
    return item.order


def name_key(name: str) -> str:
    """The one rule for names of documents, versions and models: two names are the same when
    they are equal ignoring case and spaces at the ends (``register 1642 `` = ``Register 1642``)."""
    return name.strip().casefold()


def _same_name(name: str) -> QueryInstance:
    """A TinyDB query for rows whose name is the same as ``name`` under ``name_key``."""
    key = name_key(name)
    return _ROW.name.test(lambda n: isinstance(n, str) and name_key(n) == key)


class Store:
    """All persistent state of esctui in one data folder. Thread-safe; process-safe."""

    def __init__(self, root: Path, *, user: str = "", durable: bool = True) -> None:
        self.root = Path(root).expanduser().resolve()
        self.user = user or os.environ.get("ESCTUI_USER") or _login_name()
        self.durable = durable
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "documents").mkdir(exist_ok=True)
        (self.root / "models").mkdir(exist_ok=True)
        self._database = ShardedDatabase(self.root, self.catalog_path, durable=durable)
        self._session: Path | None = None
        with self.transaction():
            self._check_schema()
            crashed = recovery.dead_sessions(self.root)
            if crashed or recovery.first_open(self.root):
                self._crash_recovery()  # first open by this version, or after a crash
            self._quick_recovery()
            for marker in crashed:
                marker.unlink(missing_ok=True)
            self._session = recovery.start_session(self.root)
        atexit.register(self.close)

    @property
    def session_marker(self) -> Path | None:
        """This store's session marker in the data folder (None once closed)."""
        return self._session

    def close(self) -> None:
        """End this store's session (a clean exit; the next open skips the crash sweep)."""
        if self._session is not None:
            recovery.end_session(self._session)
            self._session = None
            atexit.unregister(self.close)

    # ------------------------------------------------------------------ plumbing

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.json"

    def document_dir(self, document_id: str) -> Path:
        return self.root / "documents" / document_id

    def _page_path(self, document_id: str, part_id: str) -> Path:
        return self.document_dir(document_id) / "pages" / f"{part_id}.json"

    def _db(self, path: Path) -> TinyDB:
        return self._database.db(path)

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Lock the data folder, run the block, then write every changed file atomically.

        Nested calls join the outer transaction. On an exception nothing is written, and files
        registered with ``on_rollback`` are removed.
        """
        return self._database.transaction()

    def on_rollback(self, action: Callable[[], None]) -> None:
        """Run ``action`` if the current transaction fails (e.g. remove a moved-in file)."""
        self._database.on_rollback(action)

    def _read(self) -> contextlib.AbstractContextManager[None]:
        return self._database.reading()

    # ------------------------------------------------------------------ schema, recovery

    def _check_schema(self) -> None:
        meta = self._db(self.catalog_path).table("meta")
        row = _one(meta, _ROW.key == "schema_version")
        if row is None:
            meta.insert({"key": "schema_version", "value": SCHEMA_VERSION})
            return
        version = int(row["value"])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The data folder {self.root} was written by a newer esctui (schema {version}; "
                f"this one knows {SCHEMA_VERSION}). Upgrade esctui to open it."
            )
        for step in range(version, SCHEMA_VERSION):
            MIGRATIONS[step](self)
        if version < SCHEMA_VERSION:
            meta.update({"value": SCHEMA_VERSION}, _ROW.key == "schema_version")

    @property
    def schema_version(self) -> int:
        with self._read():
            row = _one(self._db(self.catalog_path).table("meta"), _ROW.key == "schema_version")
            return int(row["value"]) if row else 0

    def _crash_recovery(self) -> None:
        """Clean what a killed process left: staging folders, unreferenced files, temp files."""
        documents = self.root / "documents"
        recovery.remove_dead_staging(documents)
        for doc_dir in documents.iterdir():
            row = self._document_row(doc_dir.name)
            if not row:
                shutil.rmtree(doc_dir, ignore_errors=True)  # a deleted or never-committed doc
                continue
            recovery.remove_orphan_files(doc_dir, self._parts(doc_dir.name).all())
            recounted = self._recount_pages(doc_dir.name)
            self._touch_document(  # a crash between the page, document and catalog writes
                doc_dir.name, changed=False, typology=recounted or bool(row.get("typology"))
            )
        recovery.remove_dead_temp_files(self.root)
        recovery.remove_dead_uploads(self.models_dir())

    def _quick_recovery(self) -> None:
        """On every open: finish interrupted deletes; mark jobs of ended processes failed."""
        recovery.finish_interrupted_deletes(self.root)
        recovery.fail_interrupted_jobs(self._jobs())

    # ------------------------------------------------------------------ documents

    def _documents(self) -> Table:
        return self._db(self.catalog_path).table("documents")

    def _document_row(self, document_id: str) -> dict[str, Any] | None:
        return _one(self._documents(), _ROW.id == document_id)

    def list_documents(self) -> list[Document]:
        """All documents, most recently changed first."""
        with self._read():
            docs = [Document.from_record(r) for r in self._documents().all()]
        return sorted(docs, key=lambda d: d.updated, reverse=True)

    def get_document(self, ref: str) -> Document:
        """A document by id or by exact name (then by case-insensitive name)."""
        with self._read():
            table = self._documents()
            row = _one(table, _ROW.id == ref) or _one(table, _ROW.name == ref)
            if row is None:
                matches = table.search(_ROW.name.test(lambda n: n.casefold() == ref.casefold()))
                row = matches[0] if len(matches) == 1 else None
        if row is None:
            raise NotFoundError(f"No document named {ref!r}.")
        return Document.from_record(row)

    def _check_name_free(self, name: str, except_id: str = "") -> None:
        if not name.strip():
            raise ConflictError("A document needs a name.")
        for row in self._documents().search(_same_name(name)):
            if row["id"] != except_id:
                raise ConflictError(f"A document named {row['name']!r} already exists.")

    def create_document(self, name: str, **fields: Any) -> Document:
        """Create an empty document. ``fields`` are other Document attributes."""
        doc = Document(name=name.strip(), **fields)
        with self.transaction():
            self._check_name_free(doc.name)
            self.document_dir(doc.id).mkdir(parents=True, exist_ok=True)
            self._documents().insert(doc.to_record())
        return doc

    def update_document(self, document: Document) -> Document:
        """Save changed attributes (name, description, metadata, script, direction...)."""
        document.name = document.name.strip()
        document.updated = now()
        with self.transaction():
            stored = self._document_row(document.id)
            if stored is None:
                raise NotFoundError(f"The document {document.name!r} no longer exists.")
            if document.name != stored["name"]:  # an older clash of names may stay as it is
                self._check_name_free(document.name, except_id=document.id)
            record = document.to_record()
            for derived in ("page_count", "typology"):  # kept by the store from the pages
                record.pop(derived)
            self._documents().update(record, _ROW.id == document.id)
        return self.get_document(document.id)

    def rename_document(self, ref: str, new_name: str) -> Document:
        doc = self.get_document(ref)
        doc.name = new_name
        return self.update_document(doc)

    def delete_document(self, ref: str) -> None:
        """Remove a document, its pages, layouts, versions and files. Refused while another
        esctui process runs a job into it (that process must stop its job first)."""
        doc = self.get_document(ref)
        with self.transaction():
            for row in self._jobs().search(
                (_ROW.document_id == doc.id) & (_ROW.status == JobStatus.RUNNING.value)
            ):
                pid = row.get("pid", 0)
                if pid and pid != os.getpid() and recovery.pid_alive(pid):
                    raise ConflictError(
                        f"{row['title']!r} is running into {doc.name!r} in another esctui "
                        f"(process {pid}); cancel it there or wait for it to end."
                    )
            self._documents().remove(_ROW.id == doc.id)
        folder = self.document_dir(doc.id)
        self._database.forget(self._database.held_below(folder))
        trash = self.root / f".trash-{doc.id}"
        with contextlib.suppress(OSError):
            folder.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)

    def _touch_document(
        self, document_id: str, *, changed: bool = True, typology: bool = False
    ) -> None:
        """Recompute what the catalog derives from the pages: the page count, and with
        ``typology`` the type counts (after layouts changed); with ``changed``, also mark the
        document as changed now."""
        rows = self._parts(document_id).all()
        totals: dict[str, object] = {"page_count": len(rows)}
        if typology:
            totals["typology"] = _sum_typologies(rows)
        if changed:
            totals["updated"] = now()
        row = self._document_row(document_id)
        if row is not None and any(row.get(key) != value for key, value in totals.items()):
            self._documents().update(totals, _ROW.id == document_id)

    # ------------------------------------------------------------------ parts (pages)

    def _document_db(self, document_id: str) -> TinyDB:
        if self._document_row(document_id) is None:
            raise NotFoundError("That document no longer exists.")
        return self._db(self.document_dir(document_id) / "document.json")

    def _parts(self, document_id: str) -> Table:
        return self._document_db(document_id).table("parts")

    def list_parts(self, document_id: str) -> list[Part]:
        """The pages of a document, in order."""
        with self._read():
            parts = [Part.from_record(r) for r in self._parts(document_id).all()]
        return sorted(parts, key=lambda p: p.order)

    def select_parts(self, document_id: str, part_ids: list[str] | None) -> list[Part]:
        """The pages ``part_ids`` in that order (every page, in order, for None).

        Raises NotFoundError when some were deleted meanwhile (a job chosen on a stale list).
        """
        parts = self.list_parts(document_id)
        if part_ids is None:
            return parts
        by_id = {p.id: p for p in parts}
        missing = [i for i in part_ids if i not in by_id]
        if missing:
            raise NotFoundError(f"{len(missing)} of the chosen pages no longer exist.")
        return [by_id[i] for i in part_ids]

    def get_part(self, document_id: str, part_id: str) -> Part:
        with self._read():
            row = _one(self._parts(document_id), _ROW.id == part_id)
        if row is None:
            raise NotFoundError("That page no longer exists.")
        return Part.from_record(row)

    def part_image_path(self, part: Part) -> Path:
        return self.document_dir(part.document_id) / part.filename

    def part_thumbnail_path(self, part: Part) -> Path:
        """Where the page's thumbnail is; it may not be made yet (``ensure_thumbnail``)."""
        return self.document_dir(part.document_id) / part.thumbnail

    def made_thumbnail(self, part: Part) -> Path | None:
        """The page's thumbnail if it is made (an empty file, its write lost in a crash, is
        not); a stat, no read."""
        path = self.part_thumbnail_path(part)
        try:
            return path if path.stat().st_size > 0 else None
        except OSError:
            return None

    def ensure_thumbnail(self, part: Part, max_pixels: int = DEFAULT_MAX_PIXELS) -> Path | None:
        """The page's thumbnail, made from its image if it is not there yet (a JPEG page's is
        made when first shown, not at import); None when the image cannot be read. Touches
        files only, no table: safe from any thread. A thumbnail is a cache, so it is written
        atomically but not fsynced: one lost in a crash is made again."""
        from esctui.formats.thumbnails import thumbnail_from_file  # Pillow: not at start-up

        if (made := self.made_thumbnail(part)) is not None:
            return made
        path = self.part_thumbnail_path(part)
        try:
            data = thumbnail_from_file(self.part_image_path(part), max_pixels)
            atomic_write_bytes(path, data, durable=False)
        except (OSError, ValueError, SyntaxError):
            return None
        return path

    def known_hashes(self, document_id: str) -> dict[str, str]:
        """SHA-256 -> page name, for duplicate detection."""
        with self._read():
            return {r["sha256"]: r["name"] for r in self._parts(document_id).all()}

    def new_staging_dir(self, document_id: str) -> Path:
        """A private folder for an import's files; removed on commit, or by recovery if killed."""
        import secrets

        folder = (
            self.document_dir(document_id) / ".staging" / f"{os.getpid()}-{secrets.token_hex(4)}"
        )
        folder.mkdir(parents=True)
        return folder

    def add_parts(
        self,
        document_id: str,
        staged: Iterable[StagedFile],
        *,
        skip_duplicates: bool = True,
        same: str = "sha256",
    ) -> tuple[list[Part], list[tuple[StagedFile, str]]]:
        """Append staged page images to the document, in the given order (one transaction).

        Returns the pages added and, with ``skip_duplicates``, the staged files left out because
        a page with the same ``same`` ("sha256": the same image bytes, also twice in ``staged``;
        "external_id": the same IIIF canvas, committed before: the frames of one canvas's
        multi-page image are all kept) is already in the document (with that page's name). The
        check runs under the lock, so two processes importing at once cannot both add a page.
        """
        if same not in ("sha256", "external_id"):
            raise ValueError(f"cannot tell duplicates by {same!r}")
        staged = list(staged)
        doc_dir = self.document_dir(document_id)
        (doc_dir / "images").mkdir(exist_ok=True)
        (doc_dir / "thumbs").mkdir(exist_ok=True)
        added: list[Part] = []
        duplicates: list[tuple[StagedFile, str]] = []
        with self.transaction():
            table = self._parts(document_id)
            rows = table.all()
            seen = {r.get(same): r["name"] for r in rows if r.get(same)}
            order = max((r["order"] for r in rows), default=-1) + 1
            for item in staged:
                key = getattr(item, same)
                if skip_duplicates and key and key in seen:
                    duplicates.append((item, seen[key]))
                    continue
                part = Part(
                    document_id=document_id,
                    order=order,
                    name=item.name,
                    original_filename=item.original_filename,
                    filename="",
                    thumbnail="",
                    width=item.width,
                    height=item.height,
                    format=item.format,
                    byte_size=item.byte_size,
                    sha256=item.sha256,
                    source=item.source,
                    external_id=item.external_id,
                )
                part.filename = f"images/{part.id}{item.image.suffix.lower()}"
                part.thumbnail = f"thumbs/{part.id}.jpg"
                moves = [(item.image, part.filename)]
                if item.thumbnail is not None:
                    moves.append((item.thumbnail, part.thumbnail))
                for src, rel in moves:
                    target = doc_dir / rel
                    os.replace(src, target)
                    self.on_rollback(partial(target.unlink, missing_ok=True))
                table.insert(part.to_record())
                if key and same == "sha256":
                    seen[key] = item.name
                added.append(part)
                order += 1
            if added and self.durable:  # the renames above, on disk before the JSON points at them
                fsync_dir(doc_dir / "images")
                fsync_dir(doc_dir / "thumbs")
            self._touch_document(document_id)
        return added, duplicates

    def rename_part(self, document_id: str, part_id: str, name: str) -> None:
        with self.transaction():
            self._parts(document_id).update({"name": name}, _ROW.id == part_id)

    def set_engine_run(
        self, document_id: str, part_id: str, task: str, run: dict[str, Any] | None
    ) -> None:
        """Record (None: forget) what kraken last did to a page for ``task`` (Part.engine_runs)."""
        with self.transaction():
            table = self._parts(document_id)
            row = _one(table, _ROW.id == part_id)
            if row is None:
                return
            runs = {k: v for k, v in (row.get("engine_runs") or {}).items() if k != task}
            if run is not None:
                runs[task] = run
            table.update({"engine_runs": runs}, _ROW.id == part_id)

    def reorder_parts(self, document_id: str, ordered_ids: list[str]) -> None:
        """Give the pages the order of ``ordered_ids`` (which must list every page once)."""
        with self.transaction():
            table = self._parts(document_id)
            current = {r["id"] for r in table.all()}
            if set(ordered_ids) != current or len(ordered_ids) != len(current):
                raise ConflictError("The pages changed meanwhile; reload and try again.")
            for index, part_id in enumerate(ordered_ids):
                table.update({"order": index}, _ROW.id == part_id)
            self._touch_document(document_id)

    def move_part(self, document_id: str, part_id: str, delta: int) -> int:
        """Move a page up (negative) or down; returns its new index."""
        with self.transaction():
            ids = [p.id for p in self.list_parts(document_id)]
            index = ids.index(part_id)
            target = max(0, min(len(ids) - 1, index + delta))
            ids.insert(target, ids.pop(index))
            self.reorder_parts(document_id, ids)
        return target

    def delete_parts(self, document_id: str, part_ids: Iterable[str]) -> int:
        """Delete pages with their images and layouts; returns how many were deleted."""
        part_ids = set(part_ids)
        doc_dir = self.document_dir(document_id)
        with self.transaction():
            table = self._parts(document_id)
            rows = [r for r in table.all() if r["id"] in part_ids]
            table.remove(_ROW.id.one_of(list(part_ids)))
            remaining = sorted(table.all(), key=lambda r: r["order"])
            for index, row in enumerate(remaining):
                if row["order"] != index:
                    table.update({"order": index}, _ROW.id == row["id"])
            self._touch_document(document_id, typology=True)
        for row in rows:  # after commit: the files are no longer referenced
            for rel in (row["filename"], row["thumbnail"], f"pages/{row['id']}.json"):
                (doc_dir / rel).unlink(missing_ok=True)
            self._database.forget([self._page_path(document_id, row["id"])])
        return len(rows)

    # ------------------------------------------------------------------ page layouts

    def _page_db(self, document_id: str, part_id: str) -> TinyDB:
        return self._db(self._page_path(document_id, part_id))

    def read_page_layout(self, document_id: str, part_id: str) -> PageLayout:
        """Regions, lines and texts of one page (empty if it has none)."""
        with self._read():  # the objects made under the lock: a write changes rows in place
            # the file's rows as they are held, not through TinyDB's tables (which copy each
            # row into a Document first): this runs for every page an export or push reads
            held = self._page_db(document_id, part_id).storage.read() or {}
            rows = {name: held.get(name, {}).values() for name in PAGE_TABLES}
            return PageLayout(
                regions=sorted(map(Region.from_record, rows["regions"]), key=_by_order),
                lines=sorted(map(Line.from_record, rows["lines"]), key=_by_order),
                texts=list(map(LineText.from_record, rows["texts"])),
            )

    def write_page_layout(self, document_id: str, part_id: str, layout: PageLayout) -> None:
        """Replace everything stored for one page, and update its counts."""
        self.write_page_layouts(document_id, {part_id: layout})

    def write_page_layouts(self, document_id: str, layouts: dict[str, PageLayout]) -> None:
        """Replace everything stored for several pages (one transaction), update their counts.

        Each page file is rebuilt whole from the layout (no row-by-row TinyDB inserts), and
        the pages' counts are set in one pass over the parts table: an XML import of hundreds
        of pages costs one parts-table rewrite, not one per page.
        """
        if not layouts:
            return
        with self.transaction():
            parts = self._parts(document_id)  # the document must exist
            (self.document_dir(document_id) / "pages").mkdir(exist_ok=True)
            for part_id, layout in layouts.items():
                db = self._page_db(document_id, part_id)
                db.drop_tables()  # forget TinyDB's per-table state (ids, caches)
                db.storage.write(
                    {
                        name: {str(i): row.to_record() for i, row in enumerate(rows, start=1)}
                        for name, rows in (
                            ("regions", layout.regions),
                            ("lines", layout.lines),
                            ("texts", layout.texts),
                        )
                    }
                )
            counts = {part_id: _page_counts(layout) for part_id, layout in layouts.items()}
            doc_ids = [row.doc_id for row in parts.all() if row["id"] in counts]
            parts.update(lambda row: cast(dict, row).update(counts[row["id"]]), doc_ids=doc_ids)
            self._touch_document(document_id, typology=True)

    def line_text(
        self, document_id: str, part_id: str, line_id: str, transcription_id: str
    ) -> LineText | None:
        """One line's text in one version, with its earlier texts (``history``), or None."""
        layout = self.read_page_layout(document_id, part_id)
        if not any(line.id == line_id for line in layout.lines):
            raise NotFoundError("That line no longer exists.")
        return layout.texts_for(transcription_id).get(line_id)

    def set_line_text(
        self,
        document_id: str,
        part_id: str,
        line_id: str,
        transcription_id: str,
        text: str,
        *,
        source: str = "manual",
        restore: int | None = None,
    ) -> LineText:
        """Give a line a new text in a version (the old one goes into its history), or with
        ``restore`` make its ``restore``-th earlier text (0: the most recent) current again."""
        with self.transaction():
            layout = self.read_page_layout(document_id, part_id)
            if not any(line.id == line_id for line in layout.lines):
                raise NotFoundError("That line no longer exists.")
            current = layout.texts_for(transcription_id).get(line_id)
            if restore is not None:
                if current is None or not 0 <= restore < len(current.history):
                    held = len(current.history) if current else 0
                    raise NotFoundError(
                        f"The line has {held} earlier text(s); there is no number {restore + 1}."
                    )
                changed = current.restored(restore)
            elif current is None:
                changed = LineText(line_id, transcription_id, text, None, source, now())
            else:
                changed = current.replaced_by(text, None, source)
            layout.texts = [
                t
                for t in layout.texts
                if not (t.line_id == line_id and t.transcription_id == transcription_id)
            ] + [changed]
            self.write_page_layout(document_id, part_id, layout)
        return changed

    # ------------------------------------------------------------------ transcriptions

    def _transcriptions(self, document_id: str) -> Table:
        return self._document_db(document_id).table("transcriptions")

    def list_transcriptions(self, document_id: str) -> list[Transcription]:
        with self._read():
            rows = self._transcriptions(document_id).all()
        return sorted((Transcription.from_record(r) for r in rows), key=lambda t: t.created)

    def get_transcription(self, document_id: str, ref: str) -> Transcription:
        """A version by id or name."""
        for item in self.list_transcriptions(document_id):
            if ref in (item.id, item.name):
                return item
        raise NotFoundError(f"No transcription version named {ref!r}.")

    def create_transcription(
        self, document_id: str, name: str, source: str, *, reuse: bool = False
    ) -> Transcription:
        """A new named version; with ``reuse`` an existing one of that name is returned."""
        name = name.strip()
        if not name:
            raise ConflictError("A transcription version needs a name.")
        with self.transaction():
            table = self._transcriptions(document_id)
            row = _one(table, _same_name(name))
            if row is not None:
                if reuse:
                    return Transcription.from_record(row)
                raise ConflictError(f"A transcription version named {name!r} already exists.")
            version = Transcription(document_id=document_id, name=name, source=source)
            table.insert(version.to_record())
        return version

    def rename_transcription(self, document_id: str, ref: str, new_name: str) -> None:
        version = self.get_transcription(document_id, ref)
        new_name = new_name.strip()
        if not new_name:
            raise ConflictError("A transcription version needs a name.")
        with self.transaction():
            table = self._transcriptions(document_id)
            clash = _one(table, _same_name(new_name))
            if clash and clash["id"] != version.id:
                raise ConflictError(
                    f"A transcription version named {clash['name']!r} already exists."
                )
            table.update({"name": new_name}, _ROW.id == version.id)

    def delete_transcription(self, document_id: str, ref: str) -> None:
        """Delete a version and its texts on every page; its name becomes free again."""
        version = self.get_transcription(document_id, ref)
        with self.transaction():
            for part in self.list_parts(document_id):
                if self._page_path(document_id, part.id).exists():
                    texts = self._page_db(document_id, part.id).table("texts")
                    texts.remove(_ROW.transcription_id == version.id)
            self._parts(document_id).update(
                lambda row: cast(dict, row).get(TEXT_COUNTS, {}).pop(version.id, None),
                _ROW[TEXT_COUNTS].test(lambda counts: version.id in counts),
            )
            self._transcriptions(document_id).remove(_ROW.id == version.id)

    def text_counts(self, document_id: str) -> dict[str, dict[str, tuple[int, int]] | None]:
        """Page id -> version id -> (lines with a non-empty text, their characters), kept on
        each write of a page; None for a page whose counts an older esctui did not keep (its
        layout has to be read: ``versions.version_stats`` does)."""
        with self._read():
            rows = self._parts(document_id).all()
        return {
            row["id"]: (
                {version: (int(n[0]), int(n[1])) for version, n in row[TEXT_COUNTS].items()}
                if TEXT_COUNTS in row
                else None
            )
            for row in rows
        }

    def _recount_pages(self, document_id: str) -> bool:
        """Set the counts of the pages whose layout file is as new as the document file or
        newer: a crash between a transaction's page writes and its document write leaves
        such pages with their new layout and old counts (every commit writes pages first)."""
        document_file = self.document_dir(document_id) / "document.json"
        if not document_file.exists():
            return False
        written = document_file.stat().st_mtime_ns
        parts = self._parts(document_id)
        counts = {}
        for row in parts.all():
            page = self._page_path(document_id, row["id"])
            with contextlib.suppress(FileNotFoundError):
                if page.stat().st_mtime_ns >= written:
                    found = _page_counts(self.read_page_layout(document_id, row["id"]))
                    if any(row.get(key) != value for key, value in found.items()):
                        counts[row["id"]] = found
        if counts:
            doc_ids = [row.doc_id for row in parts.all() if row["id"] in counts]
            parts.update(lambda row: cast(dict, row).update(counts[row["id"]]), doc_ids=doc_ids)
        return bool(counts)

    # ------------------------------------------------------------------ models

    def _models(self) -> Table:
        return self._db(self.catalog_path).table("models")

    def models_dir(self) -> Path:
        return self.root / "models"

    def list_models(self, *, user: str | None = None) -> list[Model]:
        """Models the user owns or that are shared with them."""
        user = user or self.user
        with self._read():
            rows = self._models().all()
        models = [Model.from_record(r) for r in rows]
        visible = [m for m in models if m.owner == user or user in m.shared_with]
        return sorted(visible, key=lambda m: m.name.casefold())

    def get_model(self, ref: str) -> Model:
        """A visible model by id or name."""
        for model in self.list_models():
            if ref in (model.id, model.name):
                return model
        raise NotFoundError(f"No model named {ref!r}.")

    def find_model_by_hash(self, sha256: str) -> Model | None:
        with self._read():
            row = _one(self._models(), _ROW.sha256 == sha256)
        return Model.from_record(row) if row else None

    def add_model(self, model: Model, file: Path) -> Model:
        """Store a validated model; ``file`` is moved into the models folder."""
        with self.transaction():
            if _one(self._models(), _same_name(model.name) & (_ROW.owner == model.owner)):
                raise ConflictError(f"You already have a model named {model.name!r}.")
            target = self.models_dir() / model.filename
            if self.durable:  # its bytes on disk before the catalog names it
                with open(file, "rb+") as handle:
                    os.fsync(handle.fileno())
            shutil.move(file, target)
            self.on_rollback(lambda: target.unlink(missing_ok=True))
            if self.durable:
                fsync_dir(target.parent)
            self._models().insert(model.to_record())
        return model

    def _owned_model(self, ref: str) -> Model:
        model = self.get_model(ref)
        if model.owner != self.user:
            raise PermissionDeniedError(
                f"The model {model.name!r} belongs to {model.owner}; only they can change it."
            )
        return model

    def update_model(self, ref: str, **changes: object) -> Model:
        """Rename or share (``name=``, ``shared_with=``); owner only."""
        model = self._owned_model(ref)
        with self.transaction():
            if "name" in changes:
                new_name = str(changes["name"]).strip()
                if not new_name:
                    raise ConflictError("A model needs a name.")
                changes["name"] = new_name
                if self._models().get(
                    _same_name(new_name) & (_ROW.owner == model.owner) & (_ROW.id != model.id)
                ):
                    raise ConflictError(f"You already have a model named {new_name!r}.")
            self._models().update(dict(changes), _ROW.id == model.id)
        return self.get_model(model.id)

    def delete_model(self, ref: str) -> None:
        model = self._owned_model(ref)
        with self.transaction():
            self._models().remove(_ROW.id == model.id)
        (self.models_dir() / model.filename).unlink(missing_ok=True)

    # ------------------------------------------------------------------ jobs

    def _jobs(self) -> Table:
        return self._db(self.catalog_path).table("jobs")

    def save_job(self, job: Job) -> None:
        """Insert or update a job record."""
        with self.transaction():
            table = self._jobs()
            if table.contains(_ROW.id == job.id):
                table.update(job.to_record(), _ROW.id == job.id)
            else:
                table.insert(job.to_record())

    def list_jobs(self, *, limit: int = 200) -> list[Job]:
        """Most recent first."""
        with self._read():
            rows = self._jobs().all()
        jobs = sorted((Job.from_record(r) for r in rows), key=lambda j: -j.started)
        return jobs[:limit]

    def get_job(self, job_id: str) -> Job:
        with self._read():
            row = _one(self._jobs(), _ROW.id == job_id) or next(
                (r for r in self._jobs().all() if r["id"].startswith(job_id)), None
            )
        if row is None:
            raise NotFoundError(f"No job {job_id!r}.")
        return Job.from_record(row)


def _one(table: Table, condition: QueryLike) -> dict[str, Any] | None:
    """The row ``condition`` finds first (TinyDB's ``get``, whose type also allows a list)."""
    row = table.get(condition)
    assert not isinstance(row, list)  # a list only for get(doc_ids=...)
    return row


def _page_counts(layout: PageLayout) -> dict[str, Any]:
    """What a page's row keeps of its layout: region and line counts, typology, text counts."""
    return {
        "region_count": len(layout.regions),
        "line_count": len(layout.lines),
        "typology": layout.typology(),
        TEXT_COUNTS: layout.text_counts(),
    }


def _sum_typologies(part_rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """The document's typology: region and line type counts added up over its pages."""
    total: dict[str, dict[str, int]] = {"regions": {}, "lines": {}}
    for row in part_rows:
        for kind, counts in row.get("typology", {}).items():
            into = total.setdefault(kind, {})
            for name, count in counts.items():
                into[name] = into.get(name, 0) + count
    return total


def _login_name() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "user"


MIGRATIONS: dict[int, Callable[[Store], None]] = {}
"""Schema version N -> the step that brings a data folder from N to N+1."""
