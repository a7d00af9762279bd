"""Import a IIIF manifest into a document: every canvas's image, in canvas order, plus the
manifest's description and metadata.

Downloads run concurrently (``iiif_download.download_images``) but pages are appended in canvas
order; each downloaded image is checked, hashed and thumbnailed like a local image and committed
in batches (about once a second), so a cancel or failure keeps whole pages. A canvas whose id is
already a page's ``external_id`` in the document is not fetched again: running the same import
again resumes it, and re-importing a finished manifest adds nothing.

The manifest's description is kept in ``Document.description`` as a block between two marker
lines, one block per manifest URL (a re-import replaces its own block; text written by hand
around it is kept); its metadata pairs are merged into ``Document.metadata`` (keys the manifest
gives are set, other keys kept).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from esctui.domain import Document, Job, JobStatus, ReadDirection
from esctui.domain.errors import NotFoundError
from esctui.domain.text import plural
from esctui.formats.iiif import (
    CollectionMember,
    IiifCollection,
    IiifError,
    IiifManifest,
    check_source,
)
from esctui.jobs.imports.images import (
    DEFAULT_MAX_PIXELS,
    ImageRejectedError,
    prepare_image,
    staging_folder,
)
from esctui.jobs.runner import CommitBatches, JobContext, JobSequence, finish_in_thread
from esctui.store import StagedFile, Store

if TYPE_CHECKING:  # httpx is imported only when an import runs
    from esctui.net.http import HttpClient
    from esctui.net.iiif_download import DownloadResult

DEFAULT_CONCURRENCY = 8  # as iiif_fetch.DEFAULT_CONCURRENCY (not imported: keeps httpx lazy)
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_IMAGE_MB = 200  # as iiif_download.DEFAULT_MAX_IMAGE_BYTES
DEFAULT_DEADLINE = 60.0  # a manifest's whole request; an image's, plus its size at 64 KB/s
MAX_COLLECTION_DEPTH = 3  # sub-collection levels followed (real ones rarely nest deeper)
STAGING_WORKERS = min(4, os.cpu_count() or 2)  # threads that check and thumbnail images
BLOCK_START = "--- from the IIIF manifest {url} ---"
BLOCK_END = "--- end of the IIIF manifest ---"


class IiifCollectionError(IiifError):
    """The address is a IIIF collection, not a manifest: the importer takes one manifest."""

    def __init__(self, collection: IiifCollection) -> None:
        self.collection = collection
        held = plural(len(collection.manifests), "manifest")
        if collection.collections:
            held += f" and {plural(len(collection.collections), 'sub-collection')}"
        name = f" '{collection.label}'" if collection.label else ""
        super().__init__(
            f"{collection.url} is a IIIF collection{name} holding {held}, not a single "
            "manifest. Import each manifest into its own document (esctui import iiif "
            "--each-manifest), or give the address of one of its manifests."
        )


async def collection_members(
    source: str, *, client: HttpClient | None = None
) -> list[CollectionMember]:
    """The manifests to import for ``source``: a collection's member manifests (label, url),
    in its order, sub-collections included, or the manifest itself when ``source`` is one.

    Raises IiifError when the source cannot be read.
    """
    from esctui.net.iiif_fetch import fetch_manifest

    source = check_source(source)
    parsed = await fetch_manifest(source, client=client)
    if isinstance(parsed, IiifCollection):
        return await collection_manifests(parsed, client=client)
    return [CollectionMember(parsed.label or source, source)]


async def collection_manifests(
    collection: IiifCollection,
    *,
    client: HttpClient | None = None,
    max_depth: int = MAX_COLLECTION_DEPTH,
) -> list[CollectionMember]:
    """Every manifest of ``collection``, its own first, then those of its sub-collections
    (fetched, depth first, at most ``max_depth`` levels; each collection read once)."""
    from esctui.net.iiif_fetch import fetch_manifest

    manifests: list[CollectionMember] = []
    seen_manifests: set[str] = set()
    seen_collections = {collection.url, collection.id}

    async def walk(current: IiifCollection, depth: int) -> None:
        for member in current.manifests:
            if member.url not in seen_manifests:
                seen_manifests.add(member.url)
                manifests.append(member)
        if depth >= max_depth:
            return
        for sub in current.collections:
            if sub.url in seen_collections:
                continue
            seen_collections.add(sub.url)
            parsed = await fetch_manifest(sub.url, client=client)
            if isinstance(parsed, IiifCollection):
                await walk(parsed, depth + 1)
            elif parsed.url not in seen_manifests:  # listed as a collection, but a manifest
                seen_manifests.add(parsed.url)
                manifests.append(CollectionMember(parsed.label or sub.label, sub.url))

    await walk(collection, 0)
    return manifests


def member_document_names(prefix: str, members: list[CollectionMember]) -> list[str]:
    """A document name per member: "<prefix> - <label>" (the label alone without a prefix);
    a label met again gets " (2)", " (3)", ... so each manifest has its own document."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for member in members:
        label = " ".join(member.label.split()) or member.url
        base = f"{prefix.strip()} - {label}" if prefix.strip() else label
        seen[base.casefold()] = seen.get(base.casefold(), 0) + 1
        count = seen[base.casefold()]
        names.append(base if count == 1 else f"{base} ({count})")
    return names


def merge_description(current: str, url: str, text: str, kind: str = "IIIF manifest") -> str:
    """``current`` with the block of the ``kind`` at ``url`` (a IIIF manifest, a METS file)
    replaced by ``text`` (or appended); other text kept."""
    start = BLOCK_START.replace("IIIF manifest", kind).format(url=url)
    end = BLOCK_END.replace("IIIF manifest", kind)
    block = f"{start}\n{text}\n{end}"
    lines = current.splitlines()
    if start in lines:
        first = lines.index(start)
        try:
            last = lines.index(end, first)
        except ValueError:  # the end marker was deleted by hand: replace to the end
            last = len(lines) - 1
        before = "\n".join(lines[:first]).rstrip()
        after = "\n".join(lines[last + 1 :]).strip()
        return "\n\n".join(part for part in (before, block, after) if part)
    kept = current.rstrip()
    return f"{kept}\n\n{block}" if kept else block


def image_file_name(url: str, label: str) -> str:
    """A name for the original file: the Image API identifier (``<id>/full/max/0/default.jpg``
    gives ``<id>.jpg``), else the URL's last segment, else the canvas label."""
    segments = [unquote(s) for s in urlsplit(url).path.split("/") if s]
    if len(segments) >= 5 and segments[-4] == "full" and "." in segments[-1]:
        return f"{segments[-5]}.{segments[-1].rsplit('.', 1)[1]}"
    return segments[-1] if segments else label


class IiifImporter:
    """Import the pages of one IIIF manifest (an http(s) URL or a local file) into a document."""

    kind = "iiif"
    verb = "imported"

    def __init__(
        self,
        store: Store,
        document_id: str,
        source: str,
        *,
        max_width: int | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 4,
        backoff: float = 0.5,
        commit_every_seconds: float = 1.0,
        manifest: IiifManifest | None = None,
        max_image_mb: int = DEFAULT_MAX_IMAGE_MB,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        """``manifest``: the manifest already read from ``source`` (it is not fetched again);
        ``max_image_mb``: the largest image accepted for one page (checked while it streams);
        ``deadline``: seconds for the manifest's request, and for each image's (plus 1 s per
        64 KB of it)."""
        self.store = store
        self.manifest = manifest
        self.document_id = document_id
        self.source = source.strip()
        self.max_width = max_width
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.commit_every_seconds = commit_every_seconds
        self.max_image_bytes = max(1, max_image_mb) * 1024 * 1024
        self.deadline = deadline
        self.document_name = store.get_document(document_id).name
        self.title = f"IIIF: {self.source} into {self.document_name}"
        self._added_keys: set[str] = set()  # canvases committed by this run

    async def run(self, ctx: JobContext) -> None:
        from esctui.net.iiif_download import download_images, download_jobs
        from esctui.net.iiif_fetch import fetch_manifest, make_client

        ctx.start(None)
        ctx.working_on("reading the manifest")
        source = check_source(self.source)
        async with make_client(timeout=self.timeout, concurrency=self.concurrency) as client:
            parsed = self.manifest or await fetch_manifest(
                source, client=client, deadline=self.deadline
            )
            if isinstance(parsed, IiifCollection):
                raise IiifCollectionError(parsed)
            manifest = parsed
            if manifest.label:
                ctx.job.title = f"IIIF: {manifest.label} into {self.document_name}"
            await finish_in_thread(self._describe_document, ctx, manifest)
            parts = await asyncio.to_thread(self.store.list_parts, self.document_id)
            done_keys = {p.external_id for p in parts if p.external_id}
            jobs = download_jobs(manifest)
            already = [job for job in jobs if job.key in done_keys]
            if already:
                ctx.report.count("already imported", len(already))
                ctx.report.notes.append(
                    f"{len(already)} of {len(jobs)} pages were already imported from this "
                    "manifest and were not downloaded again."
                )
            ctx.start(len(jobs) - len(already))
            async with staging_folder(self.store, self.document_id) as staging:
                pool = ThreadPoolExecutor(STAGING_WORKERS, thread_name_prefix="esctui-iiif")
                try:
                    results = download_images(
                        jobs,
                        staging / "downloads",
                        client=client,
                        concurrency=self.concurrency,
                        retries=self.retries,
                        backoff=self.backoff,
                        max_width=self.max_width,
                        max_image_bytes=self.max_image_bytes,
                        image_deadline=self.deadline,
                        already_done=done_keys,
                        in_order=True,
                    )
                    try:
                        await self._pipeline(ctx, results, staging, pool)
                    finally:
                        await results.aclose()
                finally:
                    await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)
        await finish_in_thread(self._restore_order, ctx, manifest, done_keys)

    async def _pipeline(
        self,
        ctx: JobContext,
        results: AsyncGenerator[DownloadResult, None],
        staging: Path,
        pool: ThreadPoolExecutor,
    ) -> None:
        """Stage downloaded images in worker threads; commit them in canvas order, in batches.

        Downloads are read by one task and staged pages taken by another, so a page counts
        (and is committed) as soon as it is staged, even while the next canvas is still coming.
        """
        from esctui.net.iiif_download import DownloadStatus

        # (result, its staging) in canvas order; a failed download has no staging; None ends.
        queue: asyncio.Queue[tuple[DownloadResult, Future[list[StagedFile]] | None] | None]
        queue = asyncio.Queue()

        async def read_downloads() -> None:
            try:
                async for result in results:
                    if result.status is DownloadStatus.SKIPPED:
                        continue
                    if result.status is DownloadStatus.FAILED:
                        queue.put_nowait((result, None))
                        continue
                    ctx.working_on(result.label)
                    queue.put_nowait((result, pool.submit(self._stage, result, staging)))
            finally:
                queue.put_nowait(None)

        reader = asyncio.create_task(read_downloads())
        try:
            async with CommitBatches(
                partial(self._commit, ctx), every_seconds=self.commit_every_seconds
            ) as batches:
                while (item := await queue.get()) is not None:
                    result, staging_future = item
                    if staging_future is None:
                        ctx.report.add_skipped(_canvas_name(result), result.error)
                    else:
                        try:
                            await batches.add(*await asyncio.wrap_future(staging_future))
                        except ImageRejectedError as error:
                            ctx.report.add_skipped(_canvas_name(result), f"{error} ({result.url})")
                    ctx.advance(result.label)
            await reader  # a download error ends the import with its message
        finally:
            if not reader.done():
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader

    @staticmethod
    def _stage(result: DownloadResult, staging: Path) -> list[StagedFile]:
        """Check, hash and thumbnail one downloaded image (a worker thread)."""
        assert result.path is not None
        try:
            staged = prepare_image(  # the download is renamed into place, not copied
                result.path, staging, DEFAULT_MAX_PIXELS, move_sha256=result.sha256 or None
            )
        finally:
            result.path.unlink(missing_ok=True)
        original = image_file_name(result.url, result.label)
        for number, item in enumerate(staged, start=1):
            several = len(staged) > 1
            item.name = f"{result.label} ({number})" if several else result.label
            item.original_filename = f"{original}#{number}" if several else original
            item.source = result.url
            item.external_id = result.key
        return staged

    def _commit(self, ctx: JobContext, batch: list[StagedFile]) -> None:
        """A canvas is a page: canvases are told apart by their id, never by their image (a
        manifest may show one placeholder image on many canvases)."""
        added, already = self.store.add_parts(self.document_id, batch, same="external_id")
        for part in added:
            self._added_keys.add(part.external_id)
            ctx.report.add_imported(part.name, f"page {part.order + 1}")
        if already:  # another import of this manifest committed them meanwhile
            ctx.report.count("already imported", len(already))

    def _describe_document(self, ctx: JobContext, manifest: IiifManifest) -> None:
        """Merge the manifest's description, metadata and reading direction into the document."""
        document: Document = self.store.get_document(self.document_id)
        document.description = merge_description(
            document.description, manifest.url, manifest.description_text()
        )
        replaced = []
        for key, value in manifest.metadata_pairs().items():
            old = document.metadata.get(key)
            if old and old != value and key != "IIIF manifest":
                replaced.append(f"{key!r} (was {old!r})")
            document.metadata[key] = value
        if replaced:
            ctx.report.notes.append("metadata replaced from the manifest: " + ", ".join(replaced))
        if manifest.viewing_direction == "right-to-left":
            if document.read_direction == ReadDirection.RTL.value:
                pass
            elif not self.store.list_parts(self.document_id):
                document.read_direction = ReadDirection.RTL.value
                ctx.report.notes.append(
                    "the manifest reads right to left: the document's reading direction is "
                    "now right-to-left."
                )
            else:
                ctx.report.notes.append(
                    "the manifest reads right to left, but the document already had pages, so "
                    "its reading direction was left as it was."
                )
        self.store.update_document(document)

    def _restore_order(
        self, ctx: JobContext, manifest: IiifManifest, done_before: set[str]
    ) -> None:
        """A resumed import appends pages that may come earlier in the manifest: put them back
        in canvas order when the document holds this manifest's pages only; else say so."""
        position = {canvas.key: canvas.index for canvas in manifest.canvases}
        earlier = [position[key] for key in done_before if key in position]
        if not earlier:
            return
        out_of_order = [
            canvas.page_name
            for canvas in manifest.canvases
            if canvas.key in self._added_keys and canvas.index < max(earlier)
        ]
        if not out_of_order:
            return
        with self.store.transaction():
            parts = self.store.list_parts(self.document_id)
            if all(part.external_id in position for part in parts):
                ordered = sorted(parts, key=lambda part: position[part.external_id])
                self.store.reorder_parts(self.document_id, [part.id for part in ordered])
                ctx.report.notes.append(
                    f"pages fetched on this run ({', '.join(out_of_order)}) were put back in "
                    "the manifest's canvas order."
                )
                return
        ctx.report.notes.append(
            "pages imported on this run come earlier in the manifest than pages imported "
            f"before ({', '.join(out_of_order)}); the document also holds other pages, so they "
            "were added at the end: move them with K/J if needed."
        )


@dataclass(frozen=True)
class MemberImport:
    """How the import of one manifest of a collection went, and into which document."""

    member: CollectionMember
    document_name: str
    created: bool  # the document was made for this import (deleted again if nothing came of it)
    job: Job


class CollectionImport(JobSequence):
    """Import each manifest of a IIIF collection into its own document, one after the other.

    Each manifest goes to the document "<prefix> - <label>" (its label alone without a prefix),
    made when it does not exist yet and continued when it does (a resumed import). Each import
    is recorded as its own job; a document made for a manifest whose import failed with no page
    is deleted again. ``imports`` tells afterwards how each went (the CLI prints them).
    """

    def __init__(
        self,
        store: Store,
        members: list[CollectionMember],
        *,
        prefix: str = "",
        label: str = "",
        max_width: int | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_image_mb: int = DEFAULT_MAX_IMAGE_MB,
    ) -> None:
        title = f"IIIF collection: {label} ({plural(len(members), 'manifest')})"
        super().__init__(store, title, [])
        self.members = list(zip(members, member_document_names(prefix, members), strict=True))
        self.max_width = max_width
        self.concurrency = concurrency
        self.max_image_mb = max_image_mb
        self.imports: list[MemberImport] = []

    async def run(self, ctx: JobContext) -> None:
        ctx.start(len(self.members))
        for member, name in self.members:
            document, created = await asyncio.to_thread(self._document, name)
            importer = await asyncio.to_thread(
                partial(
                    IiifImporter,
                    self.store,
                    document.id,
                    member.url,
                    max_width=self.max_width,
                    concurrency=self.concurrency,
                    max_image_mb=self.max_image_mb,
                )
            )
            job = await self.run_step(ctx, importer)  # re-raises a cancel
            if job.status == JobStatus.FAILED.value and created:
                await asyncio.to_thread(self._forget_if_empty, ctx, document)
            self.imports.append(MemberImport(member, name, created, job))

    def _document(self, name: str) -> tuple[Document, bool]:
        """The document of that name, and whether it had to be made."""
        try:
            return self.store.get_document(name), False
        except NotFoundError:
            return self.store.create_document(name), True

    def _forget_if_empty(self, ctx: JobContext, document: Document) -> None:
        if not self.store.list_parts(document.id):
            self.store.delete_document(document.id)
            ctx.report.notes.append(
                f"{document.name}: nothing was imported, so the document made for it was deleted."
            )


def _canvas_name(result: DownloadResult) -> str:
    return f"{result.label} (canvas {result.index + 1})"
