"""Import a document described by a METS file: a local ``mets.xml``, a ZIP or folder holding
one, or an http(s) address (an OAI-PMH ``GetRecord`` answer too).

Pages come in the METS's PHYSICAL order, images from the chosen file group (``image_group``,
else the largest by name), each ALTO/PAGE group into a version ``"<name> | <USE>"``, the MODS
description into the document's description (the IIIF import's replaceable block) and
metadata. A METS whose images are local (a ZIP, a folder) is imported by the archive import;
remote images are fetched by the IIIF download machinery (concurrent, retried, in page order,
resumable: a page whose image URL is already a page's ``external_id`` is not fetched again),
remote ALTO/PAGE files and linked (``mptr``) METS files through ``net.http`` (a deadline and a
byte cap on every request). Files the METS may not point at (``file://``, ``../``, hosts
outside ``allowed_domains``) are left out with the reason; a METS that declares entities, lists
too many files or links in a loop is refused with a sentence naming it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from esctui.formats.mets import (
    DEFAULT_VERSION_NAME,
    FolderFiles,
    MetsDocument,
    MetsFile,
    MetsPage,
    MetsSettings,
    MetsWalk,
    read_mets,
)
from esctui.jobs.imports.archive import (
    WORKERS,
    ArchiveImporter,
    PagePipeline,
    PageSource,
    XmlData,
    describe_from_mets,
)
from esctui.jobs.imports.images import staging_folder
from esctui.jobs.imports.xml import XmlPageWriter
from esctui.jobs.runner import JobContext, fewer_collections
from esctui.store import Store

if TYPE_CHECKING:  # httpx is imported only when an import runs
    from esctui.net.http import HttpClient
    from esctui.net.iiif_download import DownloadResult

DEFAULT_CONCURRENCY = 8
MAX_XML_BYTES = 50 * 1024 * 1024


def is_url(source: str) -> bool:
    return urlsplit(source).scheme.lower() in ("http", "https")


class MetsImporter:
    """Import the pages, transcriptions and description a METS names (local or remote)."""

    kind = "mets"
    verb = "imported"

    def __init__(
        self,
        store: Store,
        document_id: str,
        source: str | Path,
        *,
        name: str | None = None,
        image_group: str | None = None,
        allowed_domains: tuple[str, ...] | None = None,
        override: bool = False,
        dry_run: bool = False,
        concurrency: int = DEFAULT_CONCURRENCY,
        settings: MetsSettings | None = None,
        deadline: float = 120.0,
        workers: int = WORKERS,
    ) -> None:
        self.store = store
        self.document_id = document_id
        self.source = str(source).strip()
        self.version_name = (name or "").strip() or DEFAULT_VERSION_NAME
        self.image_group = image_group
        base = settings or MetsSettings()
        if allowed_domains is not None:
            from dataclasses import replace

            base = replace(base, allowed_domains=tuple(allowed_domains))
        self.settings = base
        self.override = override
        self.dry_run = dry_run
        self.concurrency = max(1, concurrency)
        self.deadline = deadline
        self.workers = max(1, workers)
        self.document_name = store.get_document(document_id).name
        self.title = f"METS: {self.source} into {self.document_name}"

    async def run(self, ctx: JobContext) -> None:
        ctx.start(None)
        ctx.working_on("reading the METS")
        if not is_url(self.source):
            await self._run_local(ctx, Path(self.source).expanduser())
            return
        from esctui.net.http import HttpClient, RequestLimits

        limits = RequestLimits(deadline=self.deadline, max_bytes=self.settings.max_bytes)
        async with HttpClient(limits) as http:
            data = (await http.send("GET", self.source)).content
            first = read_mets(
                data,
                self.source,
                name=self.source,
                image_group=self.image_group,
                version_name=self.version_name,
                settings=self.settings,
            )
            documents = await self._walk(ctx, http, first)
            with fewer_collections():
                await self._import(ctx, http, documents)

    async def _run_local(self, ctx: JobContext, path: Path) -> None:
        """A ZIP, a folder, or a METS file whose images are beside it: the archive import;
        a local METS naming remote images: fetched as from a remote METS."""
        if path.is_file() and path.suffix.lower() != ".zip":
            mets = await asyncio.to_thread(
                read_mets,
                path,
                name=str(path),
                image_group=self.image_group,
                version_name=self.version_name,
                settings=self.settings,
            )
            if any(page.image is not None and page.image.is_remote for page in mets.pages):
                from esctui.net.http import HttpClient, RequestLimits

                limits = RequestLimits(deadline=self.deadline, max_bytes=MAX_XML_BYTES)
                async with HttpClient(limits) as http:
                    with fewer_collections():
                        await self._import(ctx, http, [mets])
                return
            archive = ArchiveImporter(
                self.store,
                self.document_id,
                path.parent,
                name=self.version_name,
                image_group=self.image_group,
                mets_path=path.name,
                override=self.override,
                dry_run=self.dry_run,
                mets_settings=self.settings,
            )
        else:
            archive = ArchiveImporter(
                self.store,
                self.document_id,
                path,
                name=self.version_name,
                image_group=self.image_group,
                override=self.override,
                dry_run=self.dry_run,
                mets_settings=self.settings,
            )
        await archive.run(ctx)

    async def _walk(
        self, ctx: JobContext, http: HttpClient, first: MetsDocument
    ) -> list[MetsDocument]:
        """The METS and the child METS files it links to (``mptr``), fetched once each."""
        from esctui.net.http import NetError

        walk = MetsWalk(
            first,
            image_group=self.image_group,
            version_name=self.version_name,
            settings=self.settings,
        )
        while (link := walk.next_link()) is not None:
            if not link.url:
                walk.skip(link, "it is not an http(s) address beside the METS")
                continue
            ctx.working_on(f"reading the linked METS {link.url}")
            try:
                data = (await http.send("GET", link.url)).content
            except NetError as error:
                walk.skip(link, str(error))
                continue
            walk.add(link, data)
        for item in walk.skipped:
            ctx.report.add_skipped(item.name, item.reason)
        return walk.documents

    async def _import(
        self, ctx: JobContext, http: HttpClient, documents: list[MetsDocument]
    ) -> None:
        from esctui.net.iiif_download import CanvasDownload, download_images
        from esctui.net.iiif_fetch import make_client

        report = ctx.report
        first = documents[0]
        if first.title:
            ctx.job.title = f"METS: {first.title} into {self.document_name}"
        pages = [page for document in documents for page in document.pages]
        for document in documents:
            for item in document.skipped:
                report.add_skipped(item.name, item.reason)
            report.notes.extend(document.notes)
        report.notes.append(f"Page order: {first.page_order}.")
        if first.image_group_reason:
            report.notes.append(f"Images: {first.image_group_reason}.")
        if not self.dry_run:
            report.notes.extend(await describe_from_mets(self.store, self.document_id, first))
        versions = {g.use: g.version_name for d in documents for g in d.transcription_groups}
        parts = await asyncio.to_thread(self.store.list_parts, self.document_id)
        done = {p.external_id for p in parts if p.external_id}
        todo = [p for p in pages if not (p.image is not None and p.image.url in done)]
        if len(todo) < len(pages):
            report.count("already imported", len(pages) - len(todo))
            report.notes.append(
                f"{len(pages) - len(todo)} of {len(pages)} pages were already imported from "
                "this METS and were not fetched again."
            )
        writer = XmlPageWriter(
            self.store, self.document_id, self.version_name, override=self.override
        )
        pipeline = PagePipeline(
            self.store, self.document_id, writer, dry_run=self.dry_run, workers=self.workers
        )
        jobs = [
            CanvasDownload(index=page.index, key=page.image.url, label=page.label,
                           resource_url=page.image.url)
            for page in todo
            if page.image is not None and page.image.is_remote
        ]  # fmt: skip
        ctx.start(len(todo))
        async with (
            staging_folder(self.store, self.document_id) as staging,
            make_client(concurrency=self.concurrency) as client,
        ):
            results = download_images(
                jobs,
                staging / "downloads",
                client=client,
                concurrency=self.concurrency,
                in_order=True,
            )
            try:
                sources = self._sources(todo, first, versions, results, http, staging)
                await pipeline.import_pages(ctx, sources, staging)
            finally:
                await results.aclose()
        pipeline.finish(ctx)

    async def _sources(
        self,
        pages: list[MetsPage],
        first: MetsDocument,
        versions: dict[str, str],
        results: AsyncIterator[DownloadResult],
        http: HttpClient,
        staging: Path,
    ) -> AsyncIterator[PageSource]:
        """Each page with its image downloaded (or copied) and its XML fetched, in order."""
        for page in pages:
            image: Path | None = None
            reason = ""
            url = ""
            if page.image is None:
                reason = "; ".join(page.notes) or "it has no image in the METS"
            elif page.image.is_remote:
                result = await anext(results)
                url = result.url or page.image.url
                if result.path is None:
                    reason = result.error or "its image could not be downloaded"
                else:
                    image = result.path
            else:
                image, reason = self._local_copy(first, page.image, staging)
            yield PageSource(
                page.index,
                page.label,
                image,
                await self._xml_of(page, first, versions, http),
                original=page.image.file_name if page.image else page.label,
                source=url or (page.image.href if page.image else ""),
                external_id=page.image.url if page.image else "",
                reason=reason,
            )

    @staticmethod
    def _local_copy(mets: MetsDocument, file: MetsFile, staging: Path) -> tuple[Path | None, str]:
        """A local image of a METS that also names remote ones, copied into staging."""
        import shutil

        if not isinstance(mets.files, FolderFiles):
            return None, "its image is not in a folder that can be read"
        target = staging / "local" / file.file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(mets.files.full_path(file.path), target)
        except OSError as error:
            return None, f"its image cannot be read ({error.strerror})"
        return target, ""

    async def _xml_of(
        self, page: MetsPage, mets: MetsDocument, versions: dict[str, str], http: HttpClient
    ) -> XmlData:
        """The page's ALTO/PAGE files: (name, version, bytes or why they could not be read)."""
        from esctui.net.http import NetError, RequestLimits

        limits = RequestLimits(deadline=self.deadline, max_bytes=MAX_XML_BYTES)
        out: XmlData = []
        for group, file in page.transcriptions.items():
            version = versions.get(group, f"{self.version_name} | {group}")
            name = file.url or file.path
            if file.is_remote:
                try:
                    out.append(
                        (name, version, (await http.send("GET", file.url, limits=limits)).content)
                    )
                except NetError as error:
                    out.append((name, version, str(error)))
            elif isinstance(mets.files, FolderFiles):
                try:
                    data = await asyncio.to_thread(mets.files.full_path(file.path).read_bytes)
                    out.append((name, version, data))
                except OSError as error:
                    out.append((name, version, f"it cannot be read ({error.strerror})"))
            else:
                out.append((name, version, "it is not beside the METS"))
        return out
