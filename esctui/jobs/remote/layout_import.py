"""Push's fast way for the layout of new pages: the server's own XML import.

Through the API every line and every text costs the server a chain of saves (line, page,
document, project: eScriptorium's ``CascadeUpdate``), 20–80 ms each; its import task, run by
its Celery workers, does without them. So the regions, lines and texts of pages that have no
layout on the server yet are written as one ALTO file per page (this module's own writer, made
for eScriptorium's ALTO parser: regions first in their order, then the lines in their order,
each in a TextBlock of its region's ID, which the parser matches, so neither order changes; lines
without a region in ``eSc_dummyblock_`` blocks, which it leaves without one; types as tags;
the confidence as ``WC``), zipped in chunks and imported while the next images upload. The
first version's import makes the lines; each further version is imported after it and its
lines are matched by their ID.

The remote pks are not read back: the links keep each object's hash with no pk, and a later
push that finds the page changed looks them up by XML id first (``_PagePush._adopt``). A chunk
whose import did not finish cleanly leaves its pages not done, so a rerun looks at them.
"""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from esctui.domain import Part
from esctui.domain.text import plural, printable
from esctui.jobs.remote import payloads
from esctui.store import PageLayout
from esctui.store.remote_links import PageLink, text_key

if TYPE_CHECKING:
    from esctui.jobs.remote.push import PushJob
    from esctui.jobs.runner import JobContext
    from esctui.net.escriptorium import EscriptoriumClient

CHUNK_PAGES = 25  # pages per imported ZIP (the server's two workers import two at once)
IMPORT_METHOD = "imports.tasks.document_import"
POLL_SECONDS = 0.25
IMPORT_SECONDS_PER_PAGE = 5.0  # how long an import may take, beyond a minute
ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
# A schema location the server does not try to fetch (it fetches the ones it knows).
ALTO_SCHEMA = f"{ALTO_NS} http://www.loc.gov/standards/alto/v4/alto-4-3.xsd"
HARMLESS_MESSAGES = ("Document Schema", "Cannot Find Schema", "Can't reach validation")


def importable(layout: PageLayout) -> bool:
    """Whether the server's import can carry this page (its ALTO parser needs a baseline)."""
    return bool(layout.lines or layout.regions) and all(line.baseline for line in layout.lines)


@dataclass
class PendingPage:
    part: Part
    layout: PageLayout
    link: PageLink
    page_hash: str
    filename: str


def alto_page(
    page: PendingPage, version_id: str | None, types: tuple[dict[str, str], dict[str, str]]
) -> bytes:
    """One page as ALTO for eScriptorium's import: ``version_id``'s texts (None: no text).
    ``types``: region and line type names -> tag ids."""
    region_tags, line_tags = types
    layout, part = page.layout, page.part
    texts = layout.texts_for(version_id) if version_id else {}
    regions = {r.id: r for r in layout.regions}
    tags = [
        f'<OtherTag ID="{tag}" LABEL={quoteattr(name)}/>'
        for mapping in (region_tags, line_tags)
        for name, tag in mapping.items()
    ]
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<alto xmlns="{ALTO_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{ALTO_SCHEMA}">',
        "<Description><MeasurementUnit>pixel</MeasurementUnit><sourceImageInformation>"
        f"<fileName>{escape(page.filename)}</fileName></sourceImageInformation></Description>",
        f"<Tags>{''.join(tags)}</Tags>" if tags else "",
        f'<Layout><Page ID="page" PHYSICAL_IMG_NR="1" WIDTH="{part.width}" '
        f'HEIGHT="{part.height}"><PrintSpace HPOS="0" VPOS="0" WIDTH="{part.width}" '
        f'HEIGHT="{part.height}">',
    ]

    def block_open(region_id: str | None, dummy: int) -> str:
        if region_id is None or region_id not in regions:
            return f'<TextBlock ID="eSc_dummyblock_{dummy}">'
        region = regions[region_id]
        points = payloads.pixels(region.polygon) or []
        name = payloads.region_type(region.type)
        tagref = f' TAGREFS="{region_tags[name]}"' if name else ""
        return (
            f"<TextBlock ID={quoteattr(payloads.region_xml_id(region))}{_box(points)}{tagref}>"
            f'<Shape><Polygon POINTS="{_points(points)}"/></Shape>'
        )

    for region in layout.regions:  # every region first, in order (lines may skip some)
        out.append(block_open(region.id, 0) + "</TextBlock>")
    open_block = False
    current: str | None = None
    dummy = 0
    for line in layout.lines:
        if not open_block or line.region_id != current:
            if open_block:
                out.append("</TextBlock>")
            dummy += 1
            out.append(block_open(line.region_id, dummy))
            open_block, current = True, line.region_id
        out.append(_line(line, texts.get(line.id), line_tags))
    if open_block:
        out.append("</TextBlock>")
    out.append("</PrintSpace></Page></Layout></alto>")
    return "".join(out).encode("utf-8")


def _line(line: Any, text: Any, line_tags: dict[str, str]) -> str:
    baseline = payloads.pixels(line.baseline) or []
    mask = payloads.pixels(line.mask)
    name = payloads.line_type(line.type)
    tagref = f' TAGREFS="{line_tags[name]}"' if name else ""
    shape = f'<Shape><Polygon POINTS="{_points(mask)}"/></Shape>' if mask else ""
    string = ""
    if text is not None and text.text:
        confidence = f' WC="{float(text.confidence):.4f}"' if text.confidence is not None else ""
        string = f"<String CONTENT={quoteattr(text.text)}{_box(mask or baseline)}{confidence}/>"
    return (
        f"<TextLine ID={quoteattr(payloads.line_xml_id(line))}{_box(mask or baseline)}"
        f'{tagref} BASELINE="{_points(baseline)}">{shape}{string}</TextLine>'
    )


def _points(points: Sequence[Sequence[int]] | None) -> str:
    return " ".join(f"{x} {y}" for x, y in points or [])


def _box(points: Sequence[Sequence[int]]) -> str:
    if not points:
        return ' HPOS="0" VPOS="0" WIDTH="0" HEIGHT="0"'
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (
        f' HPOS="{min(xs)}" VPOS="{min(ys)}" WIDTH="{max(xs) - min(xs)}" '
        f'HEIGHT="{max(ys) - min(ys)}"'
    )


def type_tags(pages: Sequence[PendingPage]) -> tuple[dict[str, str], dict[str, str]]:
    """Tag ids for every region and line type the pages use."""
    regions: dict[str, str] = {}
    lines: dict[str, str] = {}
    for page in pages:
        for region in page.layout.regions:
            name = payloads.region_type(region.type)
            if name and name not in regions:
                regions[name] = f"BT{len(regions) + 1}"
        for line in page.layout.lines:
            name = payloads.line_type(line.type)
            if name and name not in lines:
                lines[name] = f"LT{len(lines) + 1}"
    return regions, lines


def zip_pages(pages: Sequence[PendingPage], version_id: str | None) -> bytes:
    tags = type_tags(pages)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for index, page in enumerate(pages, 1):
            archive.writestr(f"page{index:05d}.xml", alto_page(page, version_id, tags))
    return buffer.getvalue()


class LayoutImport:
    """Collects new pages during a push and has the server import their layout in chunks."""

    def __init__(
        self,
        job: PushJob,
        ctx: JobContext,
        escr: EscriptoriumClient,
        document: int,
        layers: dict[str, int],
        layer_names: dict[str, str],
    ) -> None:
        self.job, self.ctx, self.escr, self.document = job, ctx, escr, document
        self.versions = list(layers)  # version ids, in order
        self.layer_names = layer_names  # version id -> layer name
        self.pending: list[PendingPage] = []
        self.chunks: list[list[PendingPage]] = []
        self.posted = 0
        self._known_tasks: set[int] | None = None

    async def add(self, page: PendingPage) -> None:
        self.pending.append(page)
        if len(self.pending) >= CHUNK_PAGES:
            await self._post_pending()

    async def _post_pending(self) -> None:
        chunk, self.pending = self.pending, []
        if chunk:
            self.chunks.append(chunk)
            await self._post(chunk, self.versions[0] if self.versions else None)

    async def _post(self, chunk: list[PendingPage], version_id: str | None) -> None:
        if self._known_tasks is None:
            self._known_tasks = {t.pk for t in await self.escr.tasks(self.document)}
        data = await asyncio.to_thread(zip_pages, chunk, version_id)
        layer = self.layer_names[version_id] if version_id else "manual"
        self.ctx.working_on(f"the server imports the layout of {plural(len(chunk), 'page')}")
        await self.escr.import_layout_bytes(self.document, data, layer=layer)
        self.posted += 1
        self.job.counts.bytes_layout += len(data)

    async def finish(self) -> None:
        """Import what is left, wait for every import, then the other versions; mark the
        pages sent (or leave them for a rerun to look at, with the server's reason)."""
        await self._post_pending()
        if not self.chunks:
            return
        problems = await self._wait()
        for version_id in self.versions[1:]:
            if problems:
                break
            for chunk in self.chunks:
                await self._post(chunk, version_id)
            problems = await self._wait()
        for chunk in self.chunks:
            for page in chunk:
                if problems:
                    self.ctx.report.add_skipped(
                        page.part.name,
                        f"the server's import of its layout did not finish cleanly "
                        f"({problems}); push again to complete it",
                    )
                    continue
                self._mark_sent(page)

    async def _wait(self) -> str:
        """Wait until every import posted is over; '' or what went wrong."""
        assert self._known_tasks is not None
        pages = sum(len(chunk) for chunk in self.chunks)
        deadline = time.monotonic() + 60 + IMPORT_SECONDS_PER_PAGE * pages
        while True:
            tasks = [
                t for t in await self.escr.tasks(self.document)
                if t.method == IMPORT_METHOD and t.pk not in self._known_tasks
            ]  # fmt: skip
            over = [t for t in tasks if t.state.over]
            self.ctx.working_on(
                f"the server imports the layout: {len(over)} of {self.posted} imports done"
            )
            if len(over) >= self.posted:
                break
            if time.monotonic() > deadline:
                return f"{self.posted - len(over)} imports still running after a long wait"
            await asyncio.sleep(POLL_SECONDS)
        self._known_tasks |= {t.pk for t in tasks}
        self.posted = 0
        failed = [t for t in over if t.state.name != "FINISHED"]
        if failed:
            return f"an import {failed[0].state.name.lower()}: {printable(failed[0].messages)}"
        for task in over:
            for message in task.messages.splitlines():
                if message.strip() and not message.startswith(HARMLESS_MESSAGES):
                    return printable(message.strip())[:300]
        return ""

    def _mark_sent(self, page: PendingPage) -> None:
        """The page's layout is on the server: hashes kept, pks looked up when needed."""
        link, layout = page.link, page.layout
        link.regions = {r.id: [None, payloads.region_hash(r)] for r in layout.regions}
        link.lines = {
            line.id: [None, payloads.line_hash(line, order)]
            for order, line in enumerate(layout.lines)
        }
        link.texts = {}
        for version_id in self.versions:
            for line_id, text in layout.texts_for(version_id).items():
                if text.text:
                    link.texts[text_key(line_id, version_id)] = [None, payloads.text_hash(text)]
        link.hash, link.done = page.page_hash, True
        counts = self.job.counts
        counts.regions += len(layout.regions)
        counts.lines += len(layout.lines)
        counts.texts += len(link.texts)
