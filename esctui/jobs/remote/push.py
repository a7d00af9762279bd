"""Push a document to an eScriptorium server: pages, layout and named versions.

::

    job = PushJob(store, doc.id, target, project="registers", versions=["corpus"])
    await run_job(store, job)

The first push creates the remote document (name, main script as the server names it, read
direction, line offset, metadata and description) in a project; later pushes reuse it. Page
images are uploaded a few at once (``concurrency``) and put back in esctui's page order
afterwards. The document's ontology gets the region and line types the pages use; then each
page gets its regions (one request each: the API has no bulk endpoint), its lines with the
texts of every chosen version (bulk: 100 lines a request) and a transcription layer per
version, named as the version.

A rerun sends only what changed: ``store.remote_links`` keeps each object's remote pk and a
hash of what was sent (``payloads``). A page whose sending was interrupted is looked at on the
server first, where regions and lines are matched by the XML id push gave them, so a request
the server took whose answer was lost is not sent twice. One page failing (the server refused
its image, say) does not stop the others: it is reported as skipped with the reason. When the
server stops answering, the pages not sent yet are skipped; a rerun sends them.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from esctui.domain import Document, Part, Transcription
from esctui.domain.errors import EsctuiError, JobError
from esctui.domain.text import plural, printable
from esctui.jobs.remote import payloads
from esctui.jobs.remote.common import (
    DEFAULT_CONCURRENCY,
    RemoteTarget,
    document_exists,
    moves_for_order,
    run_bounded,
)
from esctui.jobs.remote.layout_import import LayoutImport
from esctui.jobs.remote.push_page import PagePush
from esctui.jobs.runner import JobContext, finish_in_thread
from esctui.store import Store
from esctui.store.remote_links import DocumentLinks, RemoteLinks

if TYPE_CHECKING:
    from esctui.net.escriptorium import EscriptoriumClient, RemoteDocument

SAVE_EVERY_SECONDS = 1.0  # the link file is written at most this often while pages go


class RemoteDocumentGoneError(JobError):
    """The remote document this one was pushed to was deleted on the server."""


@dataclass
class PushCounts:
    """What a push sent (shown as it goes and in the report)."""

    pages: Counter[str] = field(default_factory=Counter)  # unchanged / changed / new
    lines: int = 0
    texts: int = 0
    regions: int = 0
    bytes: int = 0  # image bytes
    bytes_layout: int = 0  # layout files imported by the server


class PushJob:
    """Send a local document (or some of its pages) to an eScriptorium server."""

    kind = "push"
    verb = "pushed"

    def __init__(
        self,
        store: Store,
        document_id: str,
        target: RemoteTarget,
        *,
        project: str | None = None,
        new_project: str | None = None,
        versions: list[str] | None = None,
        part_ids: list[str] | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        script: str | None = None,
    ) -> None:
        """``versions``: the names of the versions to send (None: every version);
        ``part_ids``: the pages to send (None: all); ``project`` (a slug or name) or
        ``new_project`` (a name) says where a first push creates the document; ``script``
        overrides the document's main script."""
        self.store = store
        self.document_id = document_id
        self.target = target
        self.project = project
        self.new_project = new_project
        self.version_names = versions
        self.part_ids = part_ids
        self.concurrency = max(1, concurrency)
        self.script = script
        document = store.get_document(document_id)
        self.title = f"Push: {document.name} to {target.name}"
        self.counts = PushCounts()
        self._unreachable: EsctuiError | None = None
        self._last_save = 0.0

    # ------------------------------------------------------------------ the job

    async def run(self, ctx: JobContext) -> None:
        from esctui.net.escriptorium import RemoteNotFoundError, TokenRefusedError

        document = await asyncio.to_thread(self.store.get_document, self.document_id)
        parts = await asyncio.to_thread(self.store.select_parts, self.document_id, self.part_ids)
        versions = await asyncio.to_thread(self._versions)
        self.links_file = RemoteLinks(self.store, self.document_id, self.target.url)
        links = await asyncio.to_thread(self.links_file.load)
        ctx.start(len(parts))
        ctx.working_on(f"connecting to {self.target.name}")
        try:
            async with self.target.client() as escr:
                remote = await self._remote_document(ctx, escr, document, links)
                layers = await self._layers(escr, remote.pk, versions, links)
                types = await escr.ensure_types(
                    remote.pk, regions=_type_names(parts, "regions", payloads.region_type),
                    lines=_type_names(parts, "lines", payloads.line_type),
                )  # fmt: skip
                if types.created:
                    ctx.report.notes.append(
                        "types added to the remote document's ontology: "
                        + ", ".join(printable(name) for name in types.created)
                    )
                remote_parts = await escr.parts(remote.pk)
                self._forget_vanished(ctx, links, {p.pk for p in remote_parts})
                names = _upload_names(await asyncio.to_thread(self.store.list_parts, document.id))
                by_name = {p.original_filename: p.pk for p in remote_parts}
                bulk = LayoutImport(
                    self, ctx, escr, remote.pk, layers, {v.id: v.name for v in versions}
                )
                page = PagePush(
                    self, ctx, escr, remote.pk, types, layers, links, names, by_name, bulk
                )
                await run_bounded(parts, page.push_guarded, self.concurrency)
                await bulk.finish()
                if self._unreachable is None:
                    try:
                        await self._restore_order(ctx, escr, remote.pk, links)
                    except RemoteNotFoundError:
                        if await document_exists(escr, remote.pk):
                            raise
                        raise await self._gone(links) from None
        except TokenRefusedError as error:
            raise JobError(f"{error}: esctui remote login {self.target.name} --user USER") from None
        finally:
            if links.document is not None:
                await finish_in_thread(self.links_file.write, RemoteLinks.encode(links))
        self._summarise(ctx, len(parts))

    def _versions(self) -> list[Transcription]:
        available = self.store.list_transcriptions(self.document_id)
        if self.version_names is None:
            return available
        chosen = []
        for name in self.version_names:
            try:
                chosen.append(self.store.get_transcription(self.document_id, name))
            except EsctuiError:
                known = ", ".join(printable(v.name) for v in available) or "none"
                raise JobError(
                    f"the document has no version named {printable(name)!r} (it has: {known})"
                ) from None
        return chosen

    async def _remote_document(
        self, ctx: JobContext, escr: EscriptoriumClient, document: Document, links: DocumentLinks
    ) -> RemoteDocument:
        """The remote document (created on a first push); its fields and metadata sent
        again when they changed."""
        from esctui.net.escriptorium import RemoteNotFoundError

        script = (self.script or document.main_script).strip()
        if links.document is not None:
            try:
                remote = await escr.document(links.document)
            except RemoteNotFoundError:
                raise await self._gone(links) from None
            wanted = payloads.document_hash(document, script or remote.main_script)
            if wanted != links.document_hash:
                fields = payloads.document_fields(document, script or remote.main_script)
                remote = await escr.update_document(remote.pk, **fields)
                await escr.sync_document_metadata(remote.pk, payloads.document_metadata(document))
                links.document_hash = wanted
                ctx.report.notes.append(
                    "the remote document's name, script or metadata were updated"
                )
            return remote
        if not script:
            raise JobError(
                f"{printable(document.name)!r} has no main script, which eScriptorium needs: "
                "give one with --script (e.g. --script Latin)"
            )
        project = await self._project(escr)
        script = await escr.resolve_script(script)  # an unknown one: refused with the choices
        fields = payloads.document_fields(document, script)
        remote = await escr.create_document(
            document.name, project_slug=project, main_script=script,
            read_direction=fields["read_direction"], line_offset=fields["line_offset"],
        )  # fmt: skip
        links.document, links.project = remote.pk, project
        # at once: a document made but not recorded would be made again by a rerun
        await finish_in_thread(self.links_file.write, RemoteLinks.encode(links))
        await escr.sync_document_metadata(remote.pk, payloads.document_metadata(document))
        links.document_hash = payloads.document_hash(document, script)
        ctx.report.notes.append(
            f"created document {remote.pk} in project {printable(project)!r} on {self.target.name}"
        )
        return remote

    async def _project(self, escr: EscriptoriumClient) -> str:
        if self.new_project:
            return (await escr.create_project(self.new_project)).slug
        if self.project:
            return (await escr.project(self.project)).slug
        raise JobError(
            "this document was never pushed to "
            f"{self.target.name}: say in which project to create it (--project SLUG, or "
            "--new-project NAME)"
        )

    async def _gone(self, links: DocumentLinks) -> RemoteDocumentGoneError:
        pk = links.document
        await finish_in_thread(self.links_file.forget)
        links.document = None
        links.pages.clear()
        return RemoteDocumentGoneError(
            f"document {pk} on {self.target.name}, where this document was pushed before, no "
            "longer exists (deleted on the server?); esctui has forgotten it: push again with "
            "--project SLUG or --new-project NAME to send the document anew"
        )

    async def _layers(
        self,
        escr: EscriptoriumClient,
        document: int,
        versions: list[Transcription],
        links: DocumentLinks,
    ) -> dict[str, int]:
        """Version id -> remote layer pk (made when missing). A version whose layer changed
        (archived or renamed on the server) has its texts sent again."""
        found = await escr.ensure_layers(document, [v.name for v in versions])
        layers = {v.id: found[v.name].pk for v in versions}
        for version_id, pk in layers.items():
            if links.layers.get(version_id) not in (None, pk):
                for page in links.pages.values():
                    page.done = False
                    page.hash = ""
                    suffix = f" {version_id}"
                    page.texts = {k: v for k, v in page.texts.items() if not k.endswith(suffix)}
            links.layers[version_id] = pk
        return layers

    def _forget_vanished(self, ctx: JobContext, links: DocumentLinks, remote: set[int]) -> None:
        gone = [part_id for part_id, link in links.pages.items() if link.pk not in remote]
        for part_id in gone:
            del links.pages[part_id]
        if gone:
            ctx.report.notes.append(
                f"{plural(len(gone), 'page')} pushed before had been deleted on the server; "
                "they are sent anew"
            )

    async def _restore_order(
        self, ctx: JobContext, escr: EscriptoriumClient, document: int, links: DocumentLinks
    ) -> None:
        """Put the server's pages of this document in esctui's page order."""
        local = await asyncio.to_thread(self.store.list_parts, self.document_id)
        wanted = [links.pages[p.id].pk for p in local if p.id in links.pages]
        remote = await escr.parts(document)
        if [p.order for p in remote] != list(range(len(remote))):
            # pages uploaded at once can get the same order number (the server counts them
            # concurrently); moving them all to the start numbers them 0, 1, 2, … again
            await escr.move_parts(document, [p.pk for p in remote], 0)
            remote = await escr.parts(document)
        moves = moves_for_order([p.pk for p in remote], wanted)
        for pk, index in moves:
            ctx.working_on(f"putting the pages in order ({len(moves)} to move)")
            await escr.move_part(document, pk, index)
        if moves:
            ctx.report.count("pages moved", len(moves))

    def save_soon(self, links: DocumentLinks) -> Any:
        """Write the link file when the last write is a second old (None: not yet)."""
        if time.monotonic() - self._last_save < SAVE_EVERY_SECONDS:
            return None
        self._last_save = time.monotonic()
        return finish_in_thread(self.links_file.write, RemoteLinks.encode(links))

    def _summarise(self, ctx: JobContext, total: int) -> None:
        pages = self.counts.pages
        ctx.report.notes.insert(
            0,
            f"{plural(pages['unchanged'], 'page')} already there, {pages['changed']} changed, "
            f"{pages['new']} new"
            + (f", {len(ctx.report.skipped)} skipped" if ctx.report.skipped else ""),
        )
        if not pages["changed"] and not pages["new"] and not ctx.report.skipped:
            ctx.report.notes.insert(1, "nothing new to send")
        for key, value in (
            ("regions sent", self.counts.regions),
            ("lines sent", self.counts.lines),
            ("texts sent", self.counts.texts),
            ("image bytes sent", self.counts.bytes),
            ("layout bytes imported by the server", self.counts.bytes_layout),
        ):
            if value:
                ctx.report.counts[key] = value
        for key in ("unchanged", "changed", "new"):
            if pages[key]:
                ctx.report.counts[f"pages {key}"] = pages[key]


def _type_names(parts: list[Part], kind: str, mapped: Any) -> list[str]:
    names = {mapped(name) for part in parts for name in part.typology.get(kind, {})}
    return sorted(name for name in names if name)


def _upload_names(parts: list[Part]) -> dict[str, str]:
    """Part id -> the file name its image is uploaded under: the original file name, unique in
    the document (eScriptorium replaces the image of a page uploaded again under its name)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for part in parts:
        original = PurePath(part.original_filename or part.filename).name
        name = original or f"{part.id}{PurePath(part.filename).suffix}"
        if name.casefold() in taken:
            path = PurePath(name)
            name = f"{path.stem}-{part.order + 1}-{part.id[:6]}{path.suffix}"
        taken.add(name.casefold())
        names[part.id] = name
    return names
