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
import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Generic, TypeVar

from esctui.domain import Line, LineText, Region, TranscriptionSource, preferred_xml_id
from esctui.formats.xml import ParsedPage
from esctui.jobs.imports.xml_plan import (
    EntryStatus,
    PageMatch,
    PageMatcher,
    XmlImportError,
    XmlImportPlan,
    XmlPlanEntry,
    XmlPlanner,
    plan_xml_import,
    read_xml_sources,
    scan_image_filename,
)
from esctui.jobs.runner import CommitBatches, JobContext, fewer_collections
from esctui.store import PageLayout, Store

__all__ = [  # the plan's names too: the XML import's public API is this module
    "EntryStatus",
    "PageChange",
    "PageMatch",
    "PageMatcher",
    "XmlImportError",
    "XmlImportPlan",
    "XmlImporter",
    "XmlPlanEntry",
    "XmlPlanner",
    "default_version_name",
    "merge_layout",
    "plan_xml_import",
    "read_xml_sources",
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


def _geometry_key(*shapes: list | None) -> tuple:
    return tuple(
        tuple((round(x, 2), round(y, 2)) for x, y in shape) if shape else () for shape in shapes
    )


Item = TypeVar("Item", Region, Line)


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
    old: PageLayout, parsed: ParsedPage, part_id: str, version_id: str, *, override: bool
) -> PageChange:
    """The page's layout after importing ``parsed`` into version ``version_id``.

    ``override`` replaces regions, lines and all texts. Otherwise a region or line whose XML ID
    (or, without an ID, whose exact shape) is already on the page is updated in place, keeping
    its id; the others are added after the existing ones.
    """
    if override:
        old = PageLayout()
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
        line.region_id = region_ids.get(parsed_line.region_id or "")
        if added:
            change.added_lines += 1
        else:
            change.updated_lines += 1
        if parsed_line.text:
            new_texts[line.id] = LineText(
                line.id, version_id, parsed_line.text, parsed_line.confidence
            )
        elif parsed_line.text is not None:  # an empty text empties this version's line
            cleared.add(line.id)

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
    change.texts = len(new_texts)
    return change


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
    ) -> None:
        self.store = store
        self.document_id = document_id
        self.path = Path(path).expanduser()
        self.version_name = (name or "").strip() or default_version_name(self.path)
        self.override = override
        self.dry_run = dry_run
        self.validate = validate
        doc_name = store.get_document(document_id).name
        verb = "Dry run of XML" if dry_run else "XML"
        self.title = f"{verb}: {self.path.name} into {doc_name} ({self.version_name})"
        self.plan: XmlImportPlan | None = None
        self._version_id: str | None = None
        self._repairs: Counter[str] = Counter()
        self._repair_files: Counter[str] = Counter()
        self._notes = _Notes()
        self._invalid_files: list[str] = []

    async def run(self, ctx: JobContext) -> None:
        with fewer_collections():  # many parsed pages alive at once: see its docstring
            await self._run(ctx)

    async def _run(self, ctx: JobContext) -> None:
        sources, skipped = await asyncio.to_thread(read_xml_sources, self.path)
        parts = await asyncio.to_thread(self.store.list_parts, self.document_id)
        planner = XmlPlanner(parts, self.path, validate=self.validate)
        planner.plan.zip_skipped = skipped
        self.plan = planner.plan
        for item in skipped:
            ctx.report.add_skipped(item.name, item.reason)
        ctx.start(len(sources))
        commit = self._report_dry_run if self.dry_run else self._commit
        async with CommitBatches(
            partial(commit, ctx), every_seconds=COMMIT_SECONDS, every_items=COMMIT_PAGES
        ) as batches:
            start = 0
            while start < len(sources):
                ctx.working_on(sources[start][0])
                # Several files per trip to the thread: a trip per file costs more than a
                # small file takes to read.
                entries = await asyncio.to_thread(planner.add_some, sources, start, PARSE_SECONDS)
                start += len(entries)
                matched = []
                for entry in entries:
                    self._note_file(entry)
                    if entry.matched:
                        matched.append(entry)
                    else:
                        entry.parsed = None  # not imported: free it now (the plan keeps counts)
                        ctx.report.add_skipped(entry.name, entry.reason)
                    ctx.advance(entry.name)
                await batches.add(*matched)
        self._finish_report(ctx)

    def _report_dry_run(self, ctx: JobContext, batch: list[XmlPlanEntry]) -> None:
        """What a batch would do, in the report; nothing is written."""
        for entry in batch:
            ctx.report.add_imported(
                entry.name,
                f"would go to page {entry.page_name} by {entry.rule}: "
                f"{entry.lines} lines ({entry.texts} with text), {entry.regions} regions",
            )
            ctx.report.count("pages")
            ctx.report.count("lines", entry.lines)

    def _commit(self, ctx: JobContext, batch: list[XmlPlanEntry]) -> None:
        """Write a batch of pages in one transaction; a page that fails is skipped whole."""
        store = self.store
        results: list[tuple[XmlPlanEntry, PageChange]] = []
        with store.transaction():
            if self._version_id is None:
                version = store.create_transcription(
                    self.document_id, self.version_name, TranscriptionSource.XML.value, reuse=True
                )
                self._version_id = version.id
            page_ids = {part.id for part in store.list_parts(self.document_id)}
            for entry in batch:
                assert entry.page_id is not None and entry.parsed is not None
                if entry.page_id not in page_ids:
                    ctx.report.add_skipped(entry.name, "its page was deleted meanwhile")
                    continue
                try:
                    old = store.read_page_layout(self.document_id, entry.page_id)
                    change = merge_layout(
                        old,
                        entry.parsed,
                        entry.page_id,
                        self._version_id,
                        override=self.override,
                    )
                except Exception as error:  # one bad page must not stop the rest
                    ctx.report.add_skipped(entry.name, f"could not be imported ({error})")
                    continue
                results.append((entry, change))
            store.write_page_layouts(
                self.document_id, {entry.page_id or "": change.layout for entry, change in results}
            )
        for entry, change in results:  # committed: now it is true
            entry.parsed = None  # free the memory; the plan keeps the counts
            detail = f"{entry.name}: {change.added_lines + change.updated_lines} lines"
            if change.updated_lines:
                detail += f" ({change.updated_lines} updated in place)"
            detail += f", {change.added_regions + change.updated_regions} regions"
            detail += f", {change.texts} texts"
            ctx.report.add_imported(entry.page_name or "", detail)
            ctx.report.count("pages")
            ctx.report.count("lines", change.added_lines + change.updated_lines)
            ctx.report.count("regions", change.added_regions + change.updated_regions)
            ctx.report.count("texts", change.texts)

    def _note_file(self, entry: XmlPlanEntry) -> None:
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

    def _finish_report(self, ctx: JobContext) -> None:
        report = ctx.report
        if self.dry_run:
            report.notes.append("Dry run: nothing was written.")
        elif self._version_id is not None:
            report.notes.append(f"Transcription version: {self.version_name}")
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
