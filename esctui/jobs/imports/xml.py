"""Import ALTO/PAGE transcriptions (one .xml file or a .zip of them) into a document's pages.

Two steps that the TUI and the CLI share:

- ``plan_xml_import`` (``xml_plan``: writes nothing) reads every XML file once and maps it to
  a page by the image file name the XML names (then by its own file name); two pages that fit
  are reported as ambiguous, never guessed; a second file for a page, as a duplicate.
- ``XmlImporter`` (a job) writes the planned pages into a named transcription version: with
  ``override`` the page's regions, lines and texts are replaced; without it regions and lines
  whose XML ID is already on the page are updated in place (their ids, and so the texts of other
  versions, are kept) and the others are added after the existing ones.

Pages are committed in batches (about once a second); a page is written whole or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Generic, TypeVar

from esctui.domain import (
    MAX_TEXT_HISTORY,
    Line,
    LineText,
    Region,
    TranscriptionSource,
    now,
    preferred_xml_id,
)
from esctui.formats.xml import ParsedPage
from esctui.jobs.imports.xml_plan import (
    EntryStatus,
    PageMapping,
    PageMatch,
    PageMatcher,
    XmlImportError,
    XmlImportPlan,
    XmlPlanEntry,
    XmlPlanner,
    plan_xml_import,
    read_xml_sources,
    scan_image_filename,
    validate_entry,
)
from esctui.jobs.runner import CommitBatches, JobContext, fewer_collections
from esctui.store import PageLayout, Store

__all__ = [  # the plan's names too: the XML import's public API is this module
    "CommitTask",
    "EntryStatus",
    "PageChange",
    "PageMapping",
    "PageMatch",
    "PageMatcher",
    "XmlImportError",
    "XmlImportPlan",
    "XmlImporter",
    "XmlPageWriter",
    "XmlPlanEntry",
    "XmlPlanner",
    "default_version_name",
    "merge_layout",
    "plan_xml_import",
    "read_xml_sources",
    "report_dry_run",
    "scan_image_filename",
]

COMMIT_SECONDS = 1.0
COMMIT_PAGES = 1000  # a batch is committed by time; this only bounds an unusually fast one
PARSE_SECONDS = 0.1  # parse this long per trip to the worker thread
MAX_FILE_NOTES = 20

# --------------------------------------------------------------------------------------------
# Turning a parsed page into a stored layout
# --------------------------------------------------------------------------------------------


@dataclass
class PageChange:
    """What writing one XML file did to its page."""

    layout: PageLayout
    added_lines: int = 0
    updated_lines: int = 0
    added_regions: int = 0
    updated_regions: int = 0
    texts: int = 0
    kept_in_history: int = 0  # earlier texts that another text replaced


def _geometry_key(*shapes: list | None) -> tuple:
    return tuple(
        tuple((round(x, 2), round(y, 2)) for x, y in shape) if shape else () for shape in shapes
    )


Item = TypeVar("Item", Region, Line)
Prepared = TypeVar("Prepared")


class _OnThePage(Generic[Item]):
    """Regions or lines already on a page, found by their XML ID (``eSc_line_<stored id>`` for
    one exported without an ID), else by exact shape; each is matched at most once. New ones
    are added to ``placed`` (the new layout's list), after the page's others."""

    def __init__(
        self, items: list[Item], kind: str, shape_of: Callable[[Item], object], placed: list[Item]
    ) -> None:
        self._by_key: dict[object, list[Item]] = {}
        for item in items:
            self._by_key.setdefault(item.external_id or shape_of(item), []).append(item)
            if not item.external_id:
                self._by_key.setdefault(preferred_xml_id(kind, "", item.id), []).append(item)
        self._taken: set[str] = set()
        self._placed: list[Item] = placed
        self._next_order = max((item.order for item in items), default=-1) + 1

    def update_or_add(self, key: object, new: Callable[..., Item]) -> tuple[Item, bool]:
        """The item on the page under ``key`` (and False), else ``new(order=...)``, added (and
        True); the caller then gives it the parsed shape."""
        item = self.take(key)
        if item is not None:
            return item, False
        item = new(order=self._next_order)
        self._next_order += 1
        self._placed.append(item)
        return item, True

    def take(self, key: object) -> Item | None:
        for item in self._by_key.get(key, []):
            if item.id not in self._taken:
                self._taken.add(item.id)
                return item
        return None


def merge_layout(
    old: PageLayout,
    parsed: ParsedPage,
    part_id: str,
    version_id: str,
    *,
    override: bool,
    source: str = "",
    history: int = MAX_TEXT_HISTORY,
) -> PageChange:
    """The page's layout after importing ``parsed`` into version ``version_id``.

    ``override`` replaces regions, lines and all texts. Otherwise a region or line whose XML ID
    (or, without an ID, whose exact shape) is already on the page is updated in place, keeping
    its id; the others are added after the existing ones.

    A line's earlier text in this version is kept in its history (the ``history`` most recent
    ones, each with its ``source`` and time), also with ``override`` for a line of the same XML
    ID; an empty text in the file empties the line but keeps what it held in the history.
    """
    earlier = _texts_by_xml_id(old, version_id) if override else {}
    if override:
        old = PageLayout()
    current = old.texts_for(version_id)
    change = PageChange(PageLayout(regions=list(old.regions), lines=list(old.lines)))
    layout = change.layout

    # Regions
    old_regions = _OnThePage(
        old.regions, "region", lambda r: _geometry_key(r.polygon), layout.regions
    )
    region_ids: dict[str, str] = {}  # XML region ID -> stored id
    for parsed_region in parsed.regions:
        key = parsed_region.id or _geometry_key(parsed_region.polygon)
        new_region = partial(Region, part_id=part_id, polygon=[], external_id=parsed_region.id)
        region, added = old_regions.update_or_add(key, new_region)
        region.polygon = parsed_region.polygon
        region.type = parsed_region.type
        region.tags = parsed_region.tags
        if added:
            change.added_regions += 1
        else:
            change.updated_regions += 1
        if parsed_region.id:
            region_ids.setdefault(parsed_region.id, region.id)

    # Lines
    old_lines = _OnThePage(
        old.lines, "line", lambda ln: _geometry_key(ln.baseline, ln.mask), layout.lines
    )
    new_texts: dict[str, LineText] = {}
    cleared: set[str] = set()
    for parsed_line in parsed.lines:
        key = parsed_line.id or _geometry_key(parsed_line.baseline, parsed_line.mask)
        line, added = old_lines.update_or_add(
            key, partial(Line, part_id=part_id, external_id=parsed_line.id)
        )
        line.baseline = parsed_line.baseline
        line.mask = parsed_line.mask
        line.type = parsed_line.type
        line.tags = parsed_line.tags
        line.region_id = region_ids.get(parsed_line.region_id or "")
        if added:
            change.added_lines += 1
        else:
            change.updated_lines += 1
        if parsed_line.text is None:
            continue
        before = current.get(line.id) or earlier.get(parsed_line.id)
        if before is None and not parsed_line.text:
            cleared.add(line.id)  # nothing to empty, nothing to remember
            continue
        if before is None:
            text = LineText(
                line.id,
                version_id,
                parsed_line.text,
                parsed_line.confidence,
                source,
                now(),
                words=list(parsed_line.words),
            )
        else:
            text = before.replaced_by(
                parsed_line.text,
                parsed_line.confidence,
                source,
                words=parsed_line.words,
                keep=history,
            )
            text.line_id = line.id
            if (text.text, text.confidence) != (before.text, before.confidence):
                change.kept_in_history += 1
        new_texts[line.id] = text

    line_ids = {line.id for line in layout.lines}
    layout.texts = [
        text
        for text in old.texts
        if text.line_id in line_ids
        and not (
            text.transcription_id == version_id
            and (text.line_id in new_texts or text.line_id in cleared)
        )
    ]
    layout.texts.extend(new_texts.values())
    change.texts = sum(1 for text in new_texts.values() if text.text)
    return change


def _texts_by_xml_id(layout: PageLayout, version_id: str) -> dict[str, LineText]:
    """The version's texts on the page by their line's XML ID (what an override keeps)."""
    texts = layout.texts_for(version_id)
    return {
        line.external_id: texts[line.id]
        for line in layout.lines
        if line.external_id and line.id in texts
    }


# --------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------


def default_version_name(path: Path, when: dt.datetime | None = None) -> str:
    """``"<file name> <YYYY-MM-DD HH:MM>"``."""
    return f"{Path(path).name} {(when or dt.datetime.now()).strftime('%Y-%m-%d %H:%M')}"


class _Notes:
    """Notes met in many files, each said once with the files it concerns."""

    def __init__(self) -> None:
        self.files: dict[str, list[str]] = {}

    def add(self, message: str, file: str) -> None:
        self.files.setdefault(message, []).append(file)

    def render(self) -> list[str]:
        notes = []
        for message, files in self.files.items():
            where = files[0] if len(files) == 1 else f"{files[0]} and {len(files) - 1} more"
            notes.append(f"{message} ({where})")
        return notes


class XmlPageWriter:
    """Writes matched XML files into their pages and named versions, and reports what it did:
    the one implementation of that for every import that brings ALTO/PAGE (the XML import, the
    archive and METS imports).

    Each entry goes into the version ``entry.version`` (else ``version_name``), made when it
    does not exist and reused when it does; ``commit`` writes a batch of entries in one
    transaction (a page is written whole or skipped whole); ``note`` gathers each file's
    repairs, warnings and schema messages, which ``finish`` adds to the report.
    """

    def __init__(
        self,
        store: Store,
        document_id: str,
        version_name: str,
        *,
        override: bool = False,
        history: int = MAX_TEXT_HISTORY,
    ) -> None:
        self.store = store
        self.document_id = document_id
        self.version_name = version_name
        self.override = override
        self.history = history
        self.version_ids: dict[str, str] = {}  # version name -> id, once made or found
        self._repairs: Counter[str] = Counter()
        self._repair_files: Counter[str] = Counter()
        self._notes = _Notes()
        self._invalid_files: list[str] = []

    def _version_id(self, name: str) -> str:
        if name not in self.version_ids:
            version = self.store.create_transcription(
                self.document_id, name, TranscriptionSource.XML.value, reuse=True
            )
            self.version_ids[name] = version.id
        return self.version_ids[name]

    def commit(self, ctx: JobContext, batch: list[XmlPlanEntry]) -> None:
        """Write a batch of pages in one transaction; a page that fails is skipped whole."""
        store = self.store
        results: list[tuple[XmlPlanEntry, PageChange]] = []
        with store.transaction():
            page_ids = {part.id for part in store.list_parts(self.document_id)}
            layouts: dict[str, PageLayout] = {}  # a page may get several versions' files
            for entry in batch:
                assert entry.page_id is not None and entry.parsed is not None
                if entry.page_id not in page_ids:
                    ctx.report.add_skipped(entry.name, "its page was deleted meanwhile")
                    continue
                try:
                    old = layouts.get(entry.page_id) or store.read_page_layout(
                        self.document_id, entry.page_id
                    )
                    change = merge_layout(
                        old,
                        entry.parsed,
                        entry.page_id,
                        self._version_id(entry.version or self.version_name),
                        override=self.override and entry.page_id not in layouts,
                        source=f"xml: {entry.name}",
                        history=self.history,
                    )
                except Exception as error:  # one bad page must not stop the rest
                    ctx.report.add_skipped(entry.name, f"could not be imported ({error})")
                    continue
                layouts[entry.page_id] = change.layout
                results.append((entry, change))
            store.write_page_layouts(self.document_id, layouts)
        for entry, change in results:  # committed: now it is true
            entry.parsed = None  # free the memory; the plan keeps the counts
            detail = f"{entry.name}: {change.added_lines + change.updated_lines} lines"
            if change.updated_lines:
                detail += f" ({change.updated_lines} updated in place)"
            detail += f", {change.added_regions + change.updated_regions} regions"
            detail += f", {change.texts} texts"
            if change.kept_in_history:
                detail += f" ({change.kept_in_history} earlier texts kept in the history)"
            if entry.version:
                detail += f" into {entry.version!r}"
            ctx.report.add_imported(entry.page_name or "", detail)
            ctx.report.count("pages")
            ctx.report.count("lines", change.added_lines + change.updated_lines)
            ctx.report.count("regions", change.added_regions + change.updated_regions)
            ctx.report.count("texts", change.texts)
            if change.kept_in_history:
                ctx.report.count("earlier texts kept", change.kept_in_history)

    def note(self, entry: XmlPlanEntry) -> None:
        """Gather the repairs, warnings and schema messages of a planned file."""
        parsed = entry.parsed
        if parsed is None:
            return
        for repair, count in parsed.repairs.items():
            self._repairs[repair] += count
            self._repair_files[repair] += 1
        if not entry.matched:
            return
        if parsed.scale_note:
            self._notes.add(parsed.scale_note, entry.name)
        for warning in parsed.warnings:
            self._notes.add(warning, entry.name)
        if parsed.validation:
            self._invalid_files.append(entry.name)
            if len(self._invalid_files) <= MAX_FILE_NOTES:
                more = len(parsed.validation) - 1
                extra = f" (and {more} more schema messages)" if more else ""
                self._notes.add(f"{parsed.validation[0]}{extra}", entry.name)

    def finish(self, ctx: JobContext) -> None:
        """The versions written into, the gathered notes and repairs, in the report."""
        report = ctx.report
        for name in self.version_ids:
            report.notes.append(f"Transcription version: {name}")
        report.notes.extend(self._notes.render())
        if len(self._invalid_files) > MAX_FILE_NOTES:
            report.notes.append(
                f"{len(self._invalid_files)} files do not follow their schema in all "
                f"(the first {MAX_FILE_NOTES} are listed)."
            )
        for repair, count in sorted(self._repairs.items()):
            report.notes.append(
                f"repaired: {count} × {repair} ({self._repair_files[repair]} files)"
            )
        if self._repairs:
            report.count("repairs", sum(self._repairs.values()))


def report_dry_run(ctx: JobContext, batch: list[XmlPlanEntry]) -> None:
    """What a batch of planned files would do, in the report; nothing is written."""
    for entry in batch:
        into = f" into {entry.version!r}" if entry.version else ""
        ctx.report.add_imported(
            entry.name,
            f"would go to page {entry.page_name} by {entry.rule}{into}: "
            f"{entry.lines} lines ({entry.texts} with text), {entry.regions} regions",
        )
        ctx.report.count("pages")
        ctx.report.count("lines", entry.lines)


class XmlImporter:
    """Import the transcriptions (and layout) of an ALTO/PAGE file or ZIP as a job."""

    kind = "xml"
    verb = "imported"

    def __init__(
        self,
        store: Store,
        document_id: str,
        path: str | Path,
        *,
        name: str | None = None,
        override: bool = False,
        dry_run: bool = False,
        validate: bool = True,
        mapping: PageMapping | None = None,
    ) -> None:
        self.store = store
        self.document_id = document_id
        self.path = Path(path).expanduser()
        self.version_name = (name or "").strip() or default_version_name(self.path)
        self.dry_run = dry_run
        self.validate = validate
        self.mapping = mapping
        doc_name = store.get_document(document_id).name
        verb = "Dry run of XML" if dry_run else "XML"
        self.title = f"{verb}: {self.path.name} into {doc_name} ({self.version_name})"
        self.plan: XmlImportPlan | None = None
        self.writer = XmlPageWriter(store, document_id, self.version_name, override=override)

    @property
    def override(self) -> bool:
        return self.writer.override

    async def run(self, ctx: JobContext) -> None:
        with fewer_collections():  # many parsed pages alive at once: see its docstring
            await self._run(ctx)

    async def _run(self, ctx: JobContext) -> None:
        sources, skipped = await asyncio.to_thread(read_xml_sources, self.path)
        parts = await asyncio.to_thread(self.store.list_parts, self.document_id)
        planner = XmlPlanner(
            parts,
            self.path,
            validate=self.validate,
            mapping=self.mapping,
            defer_validation=self.validate,
        )
        planner.plan.zip_skipped = skipped
        self.plan = planner.plan
        for item in skipped:
            ctx.report.add_skipped(item.name, item.reason)
        ctx.start(len(sources))
        commit = report_dry_run if self.dry_run else self.writer.commit
        loop = asyncio.get_running_loop()
        # Files are validated in their own thread while the next ones are read (lxml validates
        # without the GIL): each step's files are settled one step later.
        validator = ThreadPoolExecutor(1, thread_name_prefix="esctui-validate")
        try:
            async with CommitBatches(
                partial(commit, ctx), every_seconds=COMMIT_SECONDS, every_items=COMMIT_PAGES
            ) as batches:
                # Commits run in their own task: the next files are read while a batch is
                # written and synced (fsync leaves the GIL to the reading thread).
                committer = CommitTask(batches)
                try:
                    start = 0
                    waiting: list[asyncio.Future[XmlPlanEntry]] = []
                    while start < len(sources):
                        ctx.working_on(sources[start][0])
                        # Several files per trip to the thread: a trip per file costs more
                        # than a small file takes to read.
                        entries = await asyncio.to_thread(
                            planner.add_some, sources, start, PARSE_SECONDS
                        )
                        start += len(entries)
                        await self._settle(ctx, committer, waiting)
                        waiting = [
                            loop.run_in_executor(validator, validate_entry, entry)
                            for entry in entries
                        ]
                    await self._settle(ctx, committer, waiting)
                    await committer.close()
                finally:
                    await committer.stop()
        finally:
            await asyncio.to_thread(validator.shutdown, True, cancel_futures=True)
        if self.dry_run:
            ctx.report.notes.append("Dry run: nothing was written.")
        self.writer.finish(ctx)

    async def _settle(
        self,
        ctx: JobContext,
        committer: CommitTask[XmlPlanEntry],
        waiting: list[asyncio.Future[XmlPlanEntry]],
    ) -> None:
        """Take the validated files of a step: note them, count them, commit the matched."""
        matched = []
        for entry in await asyncio.gather(*waiting):
            self.writer.note(entry)
            if entry.matched:
                matched.append(entry)
            else:
                entry.parsed = None  # not imported: free it now (the plan keeps counts)
                ctx.report.add_skipped(entry.name, entry.reason)
            ctx.advance(entry.name)
        await committer.add(matched)


class CommitTask(Generic[Prepared]):
    """Hands prepared items to ``CommitBatches`` from a task of its own, at most ``depth``
    steps behind (bounded memory), so a job prepares on while a batch is committed. An error in a
    commit ends the job at the next ``add``; ``stop`` lets a commit under way finish (a
    cancel), and the batches' own end commits what they hold."""

    def __init__(self, batches: CommitBatches[Prepared], *, depth: int = 2) -> None:
        self.batches = batches
        self.queue: asyncio.Queue[list[Prepared] | None] = asyncio.Queue(maxsize=depth)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while (items := await self.queue.get()) is not None:
            await self.batches.add(*items)

    async def add(self, items: list[Prepared]) -> None:
        put = asyncio.ensure_future(self.queue.put(items))
        await asyncio.wait({put, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if self.task.done():
            put.cancel()
            self.task.result()  # raises what stopped the commits
            raise RuntimeError("the commits stopped")  # pragma: no cover - never reached

    async def close(self) -> None:
        """Commit what is queued and wait for it (the batches' own end flushes the rest)."""
        await self.add_end()
        await self.task

    async def add_end(self) -> None:
        if not self.task.done():
            await self.queue.put(None)

    async def stop(self) -> None:
        if not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
