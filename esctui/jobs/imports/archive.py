"""Import a ZIP or a folder of page images with their ALTO/PAGE files (a Transkribus or an
eScriptorium export, an OCR-D workspace) into a document: pages and versions in one job.

Pages come in the archive's order (``formats.archive``: natural order of the image paths, or
the order of a METS inside); each page's XML files go into its versions. The work of a page is
done in threads, a bounded number of pages at a time: its image unpacked (one chunk at a time),
checked, hashed and thumbnailed like a local image (``images.prepare_image``); its XML parsed at
the image's size. Pages are committed in batches (about once a second), each page whole: its
image and its layouts in one transaction (``XmlPageWriter``, the XML import's merge and
versions). A page whose image is already in the document (the same bytes) gets its XML there.

``PagePipeline`` is the tail shared with the METS import, which also brings remote pages
(their images through the IIIF download machinery: concurrent, retried, resumable by URL):
each importer only says where a page's image and XML are (``PageSource``, in page order); the
pipeline prepares them in its threads a bounded window ahead, commits, and reports.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from esctui.domain import Part
from esctui.domain.errors import JobError
from esctui.formats.archive import ArchiveInventory, ArchivePage, ImageArchive
from esctui.formats.mets import DEFAULT_VERSION_NAME, MetsDocument, MetsSettings
from esctui.formats.xml import LayoutXmlError, ParsedPage, parse_layout_xml
from esctui.jobs.imports.images import (
    DEFAULT_MAX_PIXELS,
    ImageRejectedError,
    prepare_image,
    staging_folder,
)
from esctui.jobs.imports.xml import (
    CommitTask,
    EntryStatus,
    PageMapping,
    PageMatch,
    PageMatcher,
    XmlPageWriter,
    XmlPlanEntry,
    XmlPlanner,
    report_dry_run,
)
from esctui.jobs.runner import CommitBatches, JobContext, fewer_collections, finish_in_thread
from esctui.store import StagedFile, Store

WORKERS = min(4, os.cpu_count() or 2)  # pages prepared at once (as the images import)


class ArchiveImportError(JobError):
    """The archive cannot be imported as a whole."""


@dataclass
class PageXml:
    """One ALTO/PAGE file of a page, read and parsed (or why not)."""

    name: str
    version: str
    parsed: ParsedPage | None = None
    reason: str = ""


@dataclass
class PreparedPage:
    """A page ready to commit: its staged image (None: see ``reason``) and its XML files."""

    index: int
    label: str
    staged: StagedFile | None
    xml: list[PageXml] = field(default_factory=list)
    reason: str = ""


XmlReader = Callable[[str], Awaitable[bytes]]
"""Reads one of a page's XML files (an archive entry or a remote URL) by name."""

XmlData = list[tuple[str, str, bytes | str]]
"""A page's XML files: (name, version, the bytes or the reason they could not be read)."""


@dataclass
class PageSource:
    """Where one page comes from, for ``PagePipeline.import_pages``: its image file on disk
    (in the staging folder, removed once staged; None: see ``reason``) and its XML files."""

    index: int  # the page's number in the source's order, from 1
    label: str
    image: Path | None
    xml: XmlData
    original: str  # the image's file name as the source gives it
    source: str  # where the image came from (a path in the archive, a URL)
    external_id: str = ""  # what a rerun finds the page by (a METS image URL)
    reason: str = ""  # why there is no image


async def describe_from_mets(store: Store, document_id: str, mets: MetsDocument) -> list[str]:
    """Merge a METS's description and metadata into the document (the IIIF import's block,
    replaced on a re-import); returns notes for the report."""
    from esctui.jobs.imports.iiif import merge_description

    def update() -> list[str]:
        document = store.get_document(document_id)
        document.description = merge_description(
            document.description, mets.source, mets.description_text(), kind="METS"
        )
        replaced = []
        for key, value in mets.metadata_pairs().items():
            old = document.metadata.get(key)
            if old and old != value and key != "METS":
                replaced.append(f"{key!r} (was {old!r})")
            document.metadata[key] = value
        store.update_document(document)
        return ["metadata replaced from the METS: " + ", ".join(replaced)] if replaced else []

    return await finish_in_thread(update)


class PagePipeline:
    """Prepares pages in threads and commits them whole, in order, in batches.

    ``import_pages(ctx, sources, staging)`` takes the pages' ``PageSource``s in order,
    prepares each (``prepare_local``: the image staged, the XML parsed at its size) in a pool
    of ``workers`` threads, ``2 × workers`` pages ahead at most (bounded disk and memory), and
    commits them in the order given; ``finish`` reports the end.
    """

    def __init__(
        self,
        store: Store,
        document_id: str,
        writer: XmlPageWriter,
        *,
        dry_run: bool = False,
        validate: bool = True,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        commit_every_seconds: float = 1.0,
        workers: int = WORKERS,
    ) -> None:
        self.store = store
        self.workers = max(1, workers)
        self.document_id = document_id
        self.writer = writer
        self.dry_run = dry_run
        self.validate = validate
        self.max_pixels = max_pixels
        self.commit_every_seconds = commit_every_seconds
        self.planner = XmlPlanner([], Path("."), validate=validate)

    def prepare_local(self, page: PageSource, staging: Path) -> PreparedPage:
        """Stage the page's image (removed afterwards) and parse its XML at its size; a worker
        thread."""
        index, label, image, reason = page.index, page.label, page.image, page.reason
        staged: StagedFile | None = None
        if image is not None:
            try:
                items = prepare_image(image, staging, self.max_pixels)
            except ImageRejectedError as error:
                reason = str(error)
                items = []
            finally:
                image.unlink(missing_ok=True)
            if items:
                staged = items[0]  # a multi-page TIFF as one page: its first frame
                staged.name, staged.original_filename = label, page.original
                staged.source, staged.external_id = page.source, page.external_id
                for extra in items[1:]:
                    for path in (extra.image, extra.thumbnail):
                        if path is not None:
                            path.unlink(missing_ok=True)
        size = (staged.width, staged.height) if staged is not None else None
        prepared = PreparedPage(index, label, staged, reason=reason)
        for name, version, data in page.xml:
            if isinstance(data, str):
                prepared.xml.append(PageXml(name, version, reason=data))
                continue
            try:
                parsed = parse_layout_xml(data, name=name, image_size=size, validate=self.validate)
            except LayoutXmlError as error:
                prepared.xml.append(PageXml(name, version, reason=error.reason))
                continue
            except Exception as error:  # a reader bug on one file must not stop all
                prepared.xml.append(PageXml(name, version, reason=f"could not be read ({error!r})"))
                continue
            prepared.xml.append(PageXml(name, version, parsed))
        return prepared

    async def import_pages(
        self, ctx: JobContext, sources: AsyncIterator[PageSource], staging: Path
    ) -> None:
        """Prepare the pages in threads, a bounded window ahead, and commit them in order."""
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="esctui-pages")
        try:
            await self.run(ctx, self._prepared(sources, staging, pool))
        finally:
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)

    async def _prepared(
        self, sources: AsyncIterator[PageSource], staging: Path, pool: ThreadPoolExecutor
    ) -> AsyncIterator[Awaitable[PreparedPage]]:
        """Each page's preparation, started ``2 × workers`` ahead."""
        loop = asyncio.get_running_loop()
        window: list[asyncio.Future[PreparedPage]] = []
        async for page in sources:
            window.append(loop.run_in_executor(pool, self.prepare_local, page, staging))
            if len(window) >= 2 * self.workers:
                yield window.pop(0)
        for pending in window:
            yield pending

    def finish(self, ctx: JobContext) -> None:
        """Say what the import did (a dry run: that nothing was written)."""
        if self.dry_run:
            ctx.report.notes.append("Dry run: nothing was written.")
        self.writer.finish(ctx)

    async def run(self, ctx: JobContext, pages: AsyncIterator[Awaitable[PreparedPage]]) -> None:
        """Commit the prepared pages in the order given, in batches, each page whole."""
        async with CommitBatches(
            partial(self._commit, ctx), every_seconds=self.commit_every_seconds, every_items=200
        ) as batches:
            # Pages are prepared on while a batch commits (a few pages' files on disk at most).
            committer = CommitTask(batches, depth=2 * WORKERS)
            try:
                async for pending in pages:
                    page = await pending
                    ctx.advance(page.label)
                    await committer.add([page])
                await committer.close()
            finally:
                await committer.stop()

    def _commit(self, ctx: JobContext, batch: list[PreparedPage]) -> None:
        """Add the batch's images as pages, then write their XML, in one transaction."""
        store = self.store
        for page in batch:
            if page.staged is None:
                ctx.report.add_skipped(page.label, page.reason or "it has no image")
            for xml in page.xml:
                if xml.parsed is None:
                    ctx.report.add_skipped(xml.name, xml.reason)
                else:
                    self._note(ctx, xml)
        staged = [page for page in batch if page.staged is not None]
        if self.dry_run:
            for page in staged:
                ctx.report.add_imported(page.label, f"would be page {page.index}")
            report_dry_run(ctx, self._entries(ctx, staged, {}))
            return
        with store.transaction():
            added, duplicates = store.add_parts(
                self.document_id, [page.staged for page in staged if page.staged is not None]
            )
            by_hash: dict[str, Part] = {part.sha256: part for part in added}
            if duplicates:
                for part in store.list_parts(self.document_id):
                    by_hash.setdefault(part.sha256, part)
            for part in added:
                ctx.report.add_imported(part.name, f"page {part.order + 1}")
            for item, existing in duplicates:
                ctx.report.count("already in the document")
                ctx.report.notes.append(
                    f"{item.name}: the same image as page {existing!r}, already in the "
                    "document; its XML went to that page"
                )
            self.writer.commit(ctx, self._entries(ctx, staged, by_hash))

    def _entries(
        self, ctx: JobContext, pages: list[PreparedPage], by_hash: dict[str, Part]
    ) -> list[XmlPlanEntry]:
        """The pages' parsed XML as planned entries (a second file of a page for the same
        version is skipped, with the reason)."""
        entries = []
        for page in pages:
            assert page.staged is not None
            part = by_hash.get(page.staged.sha256) or Part(
                document_id=self.document_id,
                order=page.index - 1,
                name=page.label,
                original_filename=page.staged.original_filename,
                filename="",
                thumbnail="",
                width=page.staged.width,
                height=page.staged.height,
                format=page.staged.format,
                byte_size=page.staged.byte_size,
                sha256=page.staged.sha256,
                source=page.staged.source,
            )
            for xml in page.xml:
                if xml.parsed is not None:
                    entry = self.planner.add_parsed(
                        xml.name, xml.parsed, part, rule="the archive's page", version=xml.version
                    )
                    if entry.matched:
                        entries.append(entry)
                    else:
                        entry.parsed = None
                        ctx.report.add_skipped(entry.name, entry.reason)
        return entries

    def _note(self, ctx: JobContext, xml: PageXml) -> None:
        self.writer.note(XmlPlanEntry(xml.name, EntryStatus.MATCHED, parsed=xml.parsed))


def remap(inventory: ArchiveInventory, mapping: PageMapping) -> None:
    """Match the archive's XML files that its METS does not list again, as the user steers
    it (``--map``, ``--match``, ``--match-regex``), with the XML import's ``PageMatcher``."""
    pages = {page.index: page for page in inventory.pages}
    stand_ins = [
        Part(
            document_id="",
            order=page.index - 1,
            name=page.label,
            original_filename=page.image or page.image_name,
            filename="",
            thumbnail="",
            width=0,
            height=0,
            format="",
            byte_size=0,
            sha256="",
            source="",
            id=str(page.index),
        )
        for page in inventory.pages
    ]
    matcher = PageMatcher(stand_ins, mapping)
    taken: dict[tuple[int, str], str] = {}
    remapped = []
    for xml in inventory.xml_files:
        if xml.rule == "listed in the METS":
            remapped.append(xml)
            continue
        if xml.page is not None:
            pages[xml.page].transcriptions.pop(xml.group, None)
        match = matcher.match(xml.image_filename, xml.name)
        index = int(match.part.id) if match.part is not None else None
        if index is not None and (index, xml.group) in taken:
            match = PageMatch(None, reason=f"page {index} already gets {taken[(index, xml.group)]}")
            index = None
        remapped.append(dataclasses.replace(xml, page=index, rule=match.rule, reason=match.reason))
        if index is not None:
            taken[(index, xml.group)] = xml.name
            pages[index].transcriptions[xml.group] = xml.name
    inventory.xml_files = remapped


class ArchiveImporter:
    """Import the pages and transcriptions of a ZIP or a folder (perhaps with a METS)."""

    kind = "archive"
    verb = "imported"

    def __init__(
        self,
        store: Store,
        document_id: str,
        path: str | Path,
        *,
        name: str | None = None,
        image_group: str | None = None,
        mets_path: str | None = None,
        override: bool = False,
        dry_run: bool = False,
        validate: bool = True,
        mets_settings: MetsSettings | None = None,
        mapping: PageMapping | None = None,
        workers: int = WORKERS,
    ) -> None:
        self.store = store
        self.document_id = document_id
        self.path = Path(path).expanduser()
        self.version_name = (name or "").strip()
        self.image_group = image_group
        self.mets_path = mets_path
        self.override = override
        self.dry_run = dry_run
        self.validate = validate
        self.mets_settings = mets_settings or MetsSettings()
        self.workers = max(1, workers)
        self.mapping = mapping
        doc_name = store.get_document(document_id).name
        verb = "Dry run of archive" if dry_run else "Archive"
        self.title = f"{verb}: {self.path.name} into {doc_name}"
        self.inventory: ArchiveInventory | None = None

    async def run(self, ctx: JobContext) -> None:
        if not self.path.exists():
            raise ArchiveImportError(f"{self.path}: there is no such file or folder.")
        ctx.start(None)
        ctx.working_on("reading the archive")
        with fewer_collections(), ImageArchive(self.path) as archive:
            inventory = await asyncio.to_thread(
                archive.inventory,
                mets_path=self.mets_path,
                image_group=self.image_group,
                version_name=self.version_name or DEFAULT_VERSION_NAME,
                mets_settings=self.mets_settings,
            )
            if self.mapping is not None:
                remap(inventory, self.mapping)
            self.inventory = inventory
            await self._run(ctx, archive, inventory)

    async def _run(
        self, ctx: JobContext, archive: ImageArchive, inventory: ArchiveInventory
    ) -> None:
        report = ctx.report
        for item in inventory.skipped:
            report.add_skipped(item.name, item.reason)
        report.notes.append(f"Page order: {inventory.order}.")
        report.notes.extend(inventory.notes)
        for xml in inventory.xml_files:
            if xml.page is None:
                report.add_skipped(xml.name, xml.reason)
        if not inventory.pages:
            raise ArchiveImportError(f"{archive.description} holds no page images.")
        if inventory.mets is not None and not self.dry_run:
            report.notes.extend(
                await describe_from_mets(self.store, self.document_id, inventory.mets)
            )
        default = self.version_name or (
            DEFAULT_VERSION_NAME if inventory.mets is not None else self.path.stem
        )
        writer = XmlPageWriter(self.store, self.document_id, default, override=self.override)
        pipeline = PagePipeline(
            self.store,
            self.document_id,
            writer,
            dry_run=self.dry_run,
            validate=self.validate,
            workers=self.workers,
        )
        ctx.start(len(inventory.pages))
        single = ThreadPoolExecutor(1, thread_name_prefix="esctui-unzip")  # one reader at a time
        try:
            async with staging_folder(self.store, self.document_id) as staging:
                sources = self._sources(ctx, archive, inventory, staging, single)
                await pipeline.import_pages(ctx, sources, staging)
        finally:
            await asyncio.to_thread(single.shutdown, True, cancel_futures=True)
        pipeline.finish(ctx)

    async def _sources(
        self,
        ctx: JobContext,
        archive: ImageArchive,
        inventory: ArchiveInventory,
        staging: Path,
        single: ThreadPoolExecutor,
    ) -> AsyncIterator[PageSource]:
        """Each page unpacked (one entry at a time: the archive has one reader)."""
        loop = asyncio.get_running_loop()
        source = str(self.path.resolve())
        for page in inventory.pages:
            unpacked = await loop.run_in_executor(single, self._unpack, archive, page, staging)
            image, xml, reason = unpacked
            ctx.working_on(page.label)
            yield PageSource(
                page.index,
                page.label,
                image,
                xml,
                original=page.image_name,
                source=f"{source}#{page.image}",
                reason=reason,
            )

    def _unpack(
        self, archive: ImageArchive, page: ArchivePage, staging: Path
    ) -> tuple[Path | None, XmlData, str]:
        """The page's image unpacked into the staging folder and its XML read (one thread)."""
        from esctui.formats.archive import ArchiveEntryError

        image: Path | None = None
        reason = ""
        if page.image:
            try:
                image = archive.extract(page.image, staging / "unpacked")
            except ArchiveEntryError as error:
                reason = error.reason
        else:
            reason = (
                f"its image is remote ({page.image_url}): import the METS with esctui import mets"
                if page.image_url
                else "it has no image"
            )
        xml: XmlData = []
        assert self.inventory is not None
        for group, name in page.transcriptions.items():
            version = self.inventory.versions.get(group, "")
            try:
                xml.append((name, version, archive.read_xml(name)))
            except ArchiveEntryError as error:
                xml.append((name, version, error.reason))
        return image, xml, reason
