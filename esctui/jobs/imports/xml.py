"""Import ALTO/PAGE transcriptions (one .xml file or a .zip of them) into a document's pages.

Two steps that the TUI and the CLI share:

- ``plan_xml_import`` (pure, writes nothing) reads every XML file once and maps it to a page by
  the image file name the XML names, compared with each page's ``original_filename``: exactly,
  then ignoring folders, then ignoring case, then ignoring the extension; a file that names no
  image (or whose image matches no page) is tried by its own file name against page names.
  Two pages that fit are reported as ambiguous, never guessed; a second file for a page is
  reported as a duplicate.
- ``XmlImporter`` (a job) writes the planned pages into a named transcription version: with
  ``override`` the page's regions, lines and texts are replaced; without it regions and lines
  whose XML ID is already on the page are updated in place (their ids, and so the texts of other
  versions, are kept) and the others are added after the existing ones.

Pages are committed in batches (about once a second); a page is written whole or not at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Generic, TypeVar

from esctui.domain import Line, LineText, Part, Region, TranscriptionSource, preferred_xml_id
from esctui.domain.errors import JobError
from esctui.formats.safe_zip import SkippedEntry, iter_zip_xml
from esctui.formats.xml import LayoutXmlError, ParsedPage, parse_layout_xml
from esctui.jobs.runner import CommitBatches, JobContext, fewer_collections
from esctui.store import PageLayout, Store

COMMIT_SECONDS = 1.0
COMMIT_PAGES = 1000  # a batch is committed by time; this only bounds an unusually fast one
PARSE_SECONDS = 0.1  # parse this long per trip to the worker thread
MAX_FILE_NOTES = 20


class XmlImportError(JobError):
    """The file as a whole cannot be read (missing, unreadable; a broken ZIP: ZipReadError)."""


# --------------------------------------------------------------------------------------------
# Matching XML files to pages
# --------------------------------------------------------------------------------------------


def _base_name(name: str) -> str:
    """The last component of a path written with / or \\ (or of a URL path)."""
    name = name.split("?", 1)[0].split("#", 1)[0] if "://" in name else name
    return name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def _stem(name: str) -> str:
    base = _base_name(name)
    stem = PurePosixPath(base).stem
    return stem or base


@dataclass(frozen=True)
class PageMatch:
    """The outcome of matching one XML file: a page, or a plain reason why none was chosen."""

    part: Part | None
    rule: str = ""  # how it matched, e.g. "image name ignoring case"
    reason: str = ""  # why it did not match
    ambiguous: bool = False


class PageMatcher:
    """Finds the page an XML file belongs to; built once per import from the document's pages."""

    RULES = (
        ("image file name", lambda n: n),
        ("image name ignoring folders", _base_name),
        ("image name ignoring case", lambda n: _base_name(n).casefold()),
        ("image name ignoring extension", lambda n: _stem(n).casefold()),
    )

    def __init__(self, parts: Iterable[Part]) -> None:
        self.parts = list(parts)
        self._indexes: list[tuple[str, Callable[[str], str], dict[str, list[Part]]]] = []
        for rule, key in self.RULES:
            index: dict[str, list[Part]] = {}
            for part in self.parts:
                if part.original_filename:
                    index.setdefault(key(part.original_filename), []).append(part)
            self._indexes.append((rule, key, index))
        self._by_page_name: dict[str, list[Part]] = {}
        for part in self.parts:
            keys = {part.name.casefold()}
            if part.original_filename:
                keys.add(_stem(part.original_filename).casefold())
            for key in keys:
                self._by_page_name.setdefault(key, []).append(part)

    def match(self, image_filename: str, xml_name: str) -> PageMatch:
        """Match by the image the XML names, else by the XML file's own name (stem)."""
        image_filename = image_filename.strip()
        if image_filename:
            for rule, key, index in self._indexes:
                found = index.get(key(image_filename), [])
                if len(found) == 1:
                    return PageMatch(found[0], rule)
                if len(found) > 1:
                    return PageMatch(
                        None,
                        reason=f"{len(found)} pages fit the image {image_filename!r} "
                        f"({_page_names(found)}); none was chosen",
                        ambiguous=True,
                    )
        stem = _stem(xml_name).casefold()
        found = self._by_page_name.get(stem, []) if stem else []
        if len(found) == 1:
            return PageMatch(found[0], "XML file name")
        if len(found) > 1:
            return PageMatch(
                None,
                reason=f"{len(found)} pages fit the file name {_stem(xml_name)!r} "
                f"({_page_names(found)}); none was chosen",
                ambiguous=True,
            )
        if image_filename:
            reason = (
                f"no page has the image {image_filename!r} (nor a name like {_stem(xml_name)!r})"
            )
        else:
            reason = f"the file names no image and no page is called {_stem(xml_name)!r}"
        return PageMatch(None, reason=reason)


def _page_names(parts: list[Part]) -> str:
    names = [p.name for p in parts[:3]]
    return ", ".join(names) + (f" and {len(parts) - 3} more" if len(parts) > 3 else "")


_PAGE_IMAGE = re.compile(rb"<(?:[\w.-]+:)?Page\b[^>]*?\bimageFilename\s*=\s*([\"'])(.*?)\1", re.S)
_ALTO_IMAGE = re.compile(rb"<(?:[\w.-]+:)?fileName\s*>([^<]*)<", re.S)


def scan_image_filename(data: bytes) -> str:
    """A quick look for the image file name before parsing (checked against the parse)."""
    head = data[:200_000]
    match = _PAGE_IMAGE.search(head)
    raw = match.group(2) if match else None
    if raw is None and (match := _ALTO_IMAGE.search(head)) is not None:
        raw = match.group(1)
    if raw is None:
        return ""
    try:
        return html.unescape(raw.decode("utf-8")).strip()
    except UnicodeDecodeError:
        return ""


# --------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------


class EntryStatus(StrEnum):
    """What became of one XML file of an import."""

    MATCHED = "matched"
    UNMATCHED = "unmatched"
    AMBIGUOUS = "ambiguous"
    DUPLICATE = "duplicate"
    ERROR = "error"


@dataclass
class XmlPlanEntry:
    """One XML file: the page it goes to (or why none), and what it holds."""

    name: str  # file name, or path inside the ZIP
    status: EntryStatus
    image_filename: str = ""
    page_id: str | None = None
    page_name: str | None = None
    rule: str = ""  # how the page was matched
    lines: int = 0
    regions: int = 0
    texts: int = 0  # lines with text
    reason: str = ""  # why it is not imported (unmatched, ambiguous, duplicate, error)
    parsed: ParsedPage | None = field(default=None, repr=False)

    @property
    def matched(self) -> bool:
        return self.status == EntryStatus.MATCHED

    def to_record(self) -> dict[str, object]:
        """JSON-ready, without the parse result."""
        return {
            "file": self.name,
            "status": self.status.value,
            "image": self.image_filename,
            "page_id": self.page_id,
            "page": self.page_name,
            "matched_by": self.rule,
            "lines": self.lines,
            "regions": self.regions,
            "texts": self.texts,
            "reason": self.reason,
        }


@dataclass
class XmlImportPlan:
    """Every XML file of an import mapped to a page (or not), plus left-out ZIP entries."""

    source: Path
    entries: list[XmlPlanEntry] = field(default_factory=list)
    zip_skipped: list[SkippedEntry] = field(default_factory=list)

    @property
    def matched(self) -> list[XmlPlanEntry]:
        return [e for e in self.entries if e.matched]

    @property
    def not_matched(self) -> list[XmlPlanEntry]:
        return [e for e in self.entries if not e.matched]

    def to_record(self) -> dict[str, object]:
        return {
            "source": str(self.source),
            "files": [e.to_record() for e in self.entries],
            "zip_skipped": [{"file": s.name, "reason": s.reason} for s in self.zip_skipped],
        }


class XmlPlanner:
    """Builds a plan file by file (so a job can report progress between files)."""

    def __init__(self, parts: Iterable[Part], source: Path, *, validate: bool = True) -> None:
        self.parts = {p.id: p for p in parts}
        self.matcher = PageMatcher(self.parts.values())
        self.plan = XmlImportPlan(Path(source))
        self.validate = validate
        self._taken: dict[str, str] = {}  # page id -> XML file name

    def add(self, name: str, data: bytes) -> XmlPlanEntry:
        """Parse one file, match it to a page, and add it to the plan."""
        entry = self._entry(name, data)
        self.plan.entries.append(entry)
        return entry

    def add_some(
        self, sources: list[tuple[str, bytes]], start: int, seconds: float
    ) -> list[XmlPlanEntry]:
        """Add ``sources[start:]`` until ``seconds`` have passed (at least one file)."""
        until = time.monotonic() + seconds
        added = []
        for name, data in sources[start:]:
            added.append(self.add(name, data))
            if time.monotonic() >= until:
                break
        return added

    def _entry(self, name: str, data: bytes) -> XmlPlanEntry:
        guess = scan_image_filename(data)
        match = self.matcher.match(guess, name)
        try:
            parsed = self._parse(data, name, match.part)
            if parsed.image_filename != guess:  # the quick look was fooled: match again
                first = match.part
                match = self.matcher.match(parsed.image_filename, name)
                if match.part is not None and match.part is not first:  # another page's size
                    parsed = self._parse(data, name, match.part)
        except LayoutXmlError as error:  # the report names the file: the reason alone
            return XmlPlanEntry(name, EntryStatus.ERROR, image_filename=guess, reason=error.reason)
        except Exception as error:  # noqa: BLE001 - a reader bug on one file must not stop all
            return XmlPlanEntry(
                name,
                EntryStatus.ERROR,
                image_filename=guess,
                reason=f"could not be read ({type(error).__name__}: {error})",
            )
        entry = XmlPlanEntry(
            name,
            EntryStatus.MATCHED,
            image_filename=parsed.image_filename,
            rule=match.rule,
            lines=len(parsed.lines),
            regions=len(parsed.regions),
            texts=sum(1 for line in parsed.lines if line.text),
            parsed=parsed,
        )
        if match.part is None:
            entry.status = EntryStatus.AMBIGUOUS if match.ambiguous else EntryStatus.UNMATCHED
            entry.reason = match.reason
            return entry
        entry.page_id, entry.page_name = match.part.id, match.part.name
        earlier = self._taken.get(match.part.id)
        if earlier is not None:
            entry.status = EntryStatus.DUPLICATE
            entry.reason = f"page {match.part.name!r} already gets {earlier}"
        else:
            self._taken[match.part.id] = name
        return entry

    def _parse(self, data: bytes, name: str, part: Part | None) -> ParsedPage:
        size = (part.width, part.height) if part is not None and part.width > 0 else None
        return parse_layout_xml(data, name=name, image_size=size, validate=self.validate)


def read_xml_sources(path: Path) -> tuple[list[tuple[str, bytes]], list[SkippedEntry]]:
    """The XML files of ``path`` (a .zip, or one XML file) as (name, bytes), and left-out ones."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise XmlImportError(f"{path}: the file does not exist.")
    if path.suffix.lower() == ".zip":
        skipped: list[SkippedEntry] = []
        entries = [(e.name, e.data) for e in iter_zip_xml(path, on_skip=skipped.append)]
        return entries, skipped
    try:
        return [(path.name, path.read_bytes())], []
    except OSError as error:
        raise XmlImportError(f"{path.name}: the file cannot be read ({error.strerror}).") from error


def plan_xml_import(
    store: Store, document_id: str, path: str | Path, *, validate: bool = True
) -> XmlImportPlan:
    """Read ``path`` (.xml or .zip) and map each XML file to a page; writes nothing."""
    path = Path(path).expanduser()
    planner = XmlPlanner(store.list_parts(document_id), path, validate=validate)
    sources, skipped = read_xml_sources(path)
    planner.plan.zip_skipped = skipped
    for name, data in sources:
        planner.add(name, data)
    return planner.plan


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
    one exported without an ID), else by exact shape; each is matched at most once."""

    def __init__(self, items: list[Item], kind: str, shape_of: Callable[[Item], object]) -> None:
        self._by_key: dict[object, list[Item]] = {}
        for item in items:
            self._by_key.setdefault(item.external_id or shape_of(item), []).append(item)
            if not item.external_id:
                self._by_key.setdefault(preferred_xml_id(kind, "", item.id), []).append(item)
        self._taken: set[str] = set()

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
    old_regions = _OnThePage(old.regions, "region", lambda r: _geometry_key(r.polygon))
    next_order = max((r.order for r in old.regions), default=-1) + 1
    region_ids: dict[str, str] = {}  # XML region ID -> stored id
    for parsed_region in parsed.regions:
        key = parsed_region.id or _geometry_key(parsed_region.polygon)
        region = old_regions.take(key)
        if region is not None:
            region.polygon = parsed_region.polygon
            region.type = parsed_region.type
            change.updated_regions += 1
        else:
            region = Region(
                part_id=part_id,
                polygon=parsed_region.polygon,
                type=parsed_region.type,
                external_id=parsed_region.id,
                order=next_order,
            )
            next_order += 1
            layout.regions.append(region)
            change.added_regions += 1
        if parsed_region.id:
            region_ids.setdefault(parsed_region.id, region.id)

    # Lines
    old_lines = _OnThePage(old.lines, "line", lambda ln: _geometry_key(ln.baseline, ln.mask))
    next_order = max((line.order for line in old.lines), default=-1) + 1
    new_texts: dict[str, LineText] = {}
    cleared: set[str] = set()
    for parsed_line in parsed.lines:
        key = parsed_line.id or _geometry_key(parsed_line.baseline, parsed_line.mask)
        region_id = region_ids.get(parsed_line.region_id or "")
        line = old_lines.take(key)
        if line is not None:
            line.baseline = parsed_line.baseline
            line.mask = parsed_line.mask
            line.type = parsed_line.type
            line.region_id = region_id
            change.updated_lines += 1
        else:
            line = Line(
                part_id=part_id,
                baseline=parsed_line.baseline,
                mask=parsed_line.mask,
                region_id=region_id,
                type=parsed_line.type,
                external_id=parsed_line.id,
                order=next_order,
            )
            next_order += 1
            layout.lines.append(line)
            change.added_lines += 1
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
                except Exception as error:  # noqa: BLE001 - one bad page must not stop the rest
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
