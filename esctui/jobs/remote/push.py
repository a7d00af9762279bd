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
from esctui.domain.text import human_size, plural, printable
from esctui.jobs.remote import payloads
from esctui.jobs.remote.common import (
    DEFAULT_CONCURRENCY,
    RemoteTarget,
    moves_for_order,
    run_bounded,
)
from esctui.jobs.runner import JobContext, finish_in_thread
from esctui.store import PageLayout, Store
from esctui.store.remote_links import DocumentLinks, PageLink, RemoteLinks, text_key

if TYPE_CHECKING:
    from esctui.net.escriptorium import DocumentTypes, EscriptoriumClient, RemoteDocument

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
    bytes: int = 0


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
                page = _PagePush(self, ctx, escr, remote.pk, types, layers, links, names, by_name)
                await run_bounded(parts, page.push_guarded, self.concurrency)
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
        for key, value in (
            ("regions sent", self.counts.regions),
            ("lines sent", self.counts.lines),
            ("texts sent", self.counts.texts),
            ("image bytes sent", self.counts.bytes),
        ):
            if value:
                ctx.report.counts[key] = value
        for key in ("unchanged", "changed", "new"):
            if pages[key]:
                ctx.report.counts[f"pages {key}"] = pages[key]


async def document_exists(escr: EscriptoriumClient, document: int) -> bool:
    from esctui.net.escriptorium import RemoteNotFoundError

    try:
        await escr.document(document)
    except RemoteNotFoundError:
        return False
    return True


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


class _PagePush:
    """Sends one page at a time (several of these run at once, sharing the links)."""

    def __init__(
        self,
        job: PushJob,
        ctx: JobContext,
        escr: EscriptoriumClient,
        document: int,
        types: DocumentTypes,
        layers: dict[str, int],
        links: DocumentLinks,
        upload_names: dict[str, str],
        remote_by_name: dict[str, int],
    ) -> None:
        self.job, self.ctx, self.escr, self.document = job, ctx, escr, document
        self.types, self.layers, self.links = types, layers, links
        self.upload_names, self.remote_by_name = upload_names, remote_by_name
        self.counts = job.counts

    async def push_guarded(self, part: Part) -> None:
        """Push one page; a failure that concerns this page alone skips it with the reason."""
        from esctui.net.escriptorium import (
            EscriptoriumError,
            RemoteNotFoundError,
            RemoteServerError,
            TokenRefusedError,
        )
        from esctui.net.http import NetError

        if self.job._unreachable is not None:
            self.ctx.report.add_skipped(
                part.name, f"not sent: {self.job._unreachable}; push again to send it"
            )
            self.ctx.advance(part.name)
            return
        try:
            outcome = await self.push(part)
        except TokenRefusedError:
            raise
        except (RemoteNotFoundError, RemoteServerError) as error:
            # (the server answers 500 to a page uploaded into a document deleted meanwhile)
            if not await document_exists(self.escr, self.document):
                raise await self.job._gone(self.links) from None
            self.ctx.report.add_skipped(part.name, str(error))
        except EscriptoriumError as error:
            self.ctx.report.add_skipped(part.name, str(error))
        except NetError as error:  # the server stopped answering: the rest waits for a rerun
            self.job._unreachable = error
            self.ctx.report.add_skipped(part.name, f"{error}; push again to send it")
        except (OSError, JobError) as error:
            self.ctx.report.add_skipped(part.name, f"cannot be sent: {error}")
        else:
            self.counts.pages[outcome] += 1
            if outcome != "unchanged":
                self.ctx.report.add_imported(part.name, f"page {part.order + 1}: {outcome}")
        self.ctx.advance(part.name)
        self.ctx.working_on(
            f"{plural(self.counts.lines, 'line')} · {human_size(self.counts.bytes)} sent"
        )
        pending = self.job.save_soon(self.links)
        if pending is not None:
            await pending

    async def push(self, part: Part) -> str:
        """Send what changed of one page; returns "unchanged", "changed" or "new"."""
        layout = await asyncio.to_thread(self.job.store.read_page_layout, part.document_id, part.id)
        version_ids = list(self.layers)
        wanted = payloads.page_hash(part, layout, version_ids)
        link = self.links.pages.get(part.id)
        if link is not None and link.done and link.hash == wanted:
            return "unchanged"
        outcome = "new" if link is None else "changed"
        name = self.upload_names[part.id]
        if link is None and name in self.remote_by_name:  # sent before, not recorded
            link = PageLink(pk=self.remote_by_name[name])
        reconcile = link is not None and not link.done
        if link is None or link.image != part.sha256:
            self.ctx.working_on(f"{part.name}: uploading the image")
            path = self.job.store.part_image_path(part)
            remote = await self.escr.upload_part(
                self.document, path, filename=name, title=part.name
            )
            self.counts.bytes += part.byte_size
            if link is None or link.pk != remote.pk:
                link = PageLink(pk=remote.pk)
            link.image = part.sha256
        link.done = False
        self.links.pages[part.id] = link
        if reconcile:
            await self._adopt(link, layout)
        await self._regions(link, layout)
        await self._lines(link, layout)
        link.hash, link.done = wanted, True
        return outcome

    async def _adopt(self, link: PageLink, layout: PageLayout) -> None:
        """Match what the server already holds of a page whose sending was interrupted: its
        regions and lines by the XML id push gave them, texts by line and layer."""
        detail = await self.escr.part(self.document, link.pk)
        regions = {r.pk for r in detail.regions}
        lines = {line.pk for line in detail.lines}
        link.regions = {k: v for k, v in link.regions.items() if v[0] in regions}
        link.lines = {k: v for k, v in link.lines.items() if v[0] in lines}
        _adopt_by_xml_id(
            link.regions,
            [(r.id, payloads.region_xml_id(r)) for r in layout.regions],
            [(r.pk, r.external_id) for r in detail.regions],
        )
        _adopt_by_xml_id(
            link.lines,
            [(line.id, payloads.line_xml_id(line)) for line in layout.lines],
            [(line.pk, line.external_id) for line in detail.lines],
        )
        line_of_pk = {v[0]: k for k, v in link.lines.items()}
        link.texts = {}
        for version_id, layer in self.layers.items():
            for text in await self.escr.line_texts(self.document, link.pk, layer):
                line_id = line_of_pk.get(text.line)
                if line_id is not None:
                    link.texts[text_key(line_id, version_id)] = [text.pk, ""]

    async def _regions(self, link: PageLink, layout: PageLayout) -> None:
        local = {r.id for r in layout.regions}
        for region in layout.regions:
            wanted = payloads.region_hash(region)
            entry = link.regions.get(region.id)
            if entry is not None and entry[1] == wanted:
                continue
            type_name = payloads.region_type(region.type)
            body = {
                "box": payloads.pixels(region.polygon),
                "typology": self.types.region_type(type_name) if type_name else None,
                "external_id": payloads.region_xml_id(region),
            }
            if entry is None:
                [made] = await self.escr.create_regions(self.document, link.pk, [body])
                link.regions[region.id] = [made.pk, wanted]
            else:
                await self.escr.update_region(self.document, link.pk, entry[0], body)
                entry[1] = wanted
            self.counts.regions += 1
        removed = [k for k in link.regions if k not in local]
        if removed:
            await self.escr.delete_regions(
                self.document, link.pk, [link.regions[k][0] for k in removed]
            )
            for key in removed:
                del link.regions[key]

    def _line_body(self, link: PageLink, line: Any, order: int) -> dict[str, Any]:
        region = link.regions.get(line.region_id) if line.region_id else None
        type_name = payloads.line_type(line.type)
        return {
            "baseline": payloads.pixels(line.baseline),
            "mask": payloads.pixels(line.mask),
            "region": region[0] if region else None,
            "typology": self.types.line_type(type_name) if type_name else None,
            "external_id": payloads.line_xml_id(line),
            "order": order,
        }

    async def _lines(self, link: PageLink, layout: PageLayout) -> None:
        """Lines new (with their texts), changed and removed; then the texts that changed."""
        texts = {v: layout.texts_for(v) for v in self.layers}
        new: list[tuple[Any, dict[str, Any], str]] = []
        changed: list[dict[str, Any]] = []
        changed_keys: list[tuple[str, str]] = []
        for order, line in enumerate(layout.lines):
            wanted = payloads.line_hash(line, order)
            entry = link.lines.get(line.id)
            if entry is None:
                body = self._line_body(link, line, order)
                body["transcriptions"] = [
                    payloads.text_payload(texts[v][line.id], layer)
                    for v, layer in self.layers.items()
                    if line.id in texts[v]
                ]
                new.append((line, body, wanted))
            elif entry[1] != wanted:
                changed.append({"pk": entry[0], **self._line_body(link, line, order)})
                changed_keys.append((line.id, wanted))
        local = {line.id for line in layout.lines}
        removed = [k for k in link.lines if k not in local]
        if removed:
            await self.escr.delete_lines(
                self.document, link.pk, [link.lines[k][0] for k in removed]
            )
            for key in removed:
                del link.lines[key]
                link.texts = {k: v for k, v in link.texts.items() if not k.startswith(f"{key} ")}
        if changed:
            await self.escr.update_lines(self.document, link.pk, changed)
            for line_id, wanted in changed_keys:
                link.lines[line_id][1] = wanted
            self.counts.lines += len(changed)
        if new:
            made = await self.escr.create_lines(self.document, link.pk, [b for _, b, _ in new])
            layer_versions = {layer: v for v, layer in self.layers.items()}
            for (line, _body, wanted), remote in zip(new, made, strict=True):
                link.lines[line.id] = [remote.pk, wanted]
                for text in remote.texts:
                    version = layer_versions.get(text.layer)
                    if version is not None:
                        local_text = texts[version].get(line.id)
                        link.texts[text_key(line.id, version)] = [
                            text.pk, payloads.text_hash(local_text)
                        ]  # fmt: skip
                        self.counts.texts += 1
            self.counts.lines += len(new)
        await self._texts(link, layout, texts)

    async def _texts(self, link: PageLink, layout: PageLayout, texts: dict[str, Any]) -> None:
        create: list[dict[str, Any]] = []
        update: list[dict[str, Any]] = []
        keys: list[tuple[str, str]] = []
        for line in layout.lines:
            line_pk = link.lines[line.id][0]
            for version, layer in self.layers.items():
                local = texts[version].get(line.id)
                key = text_key(line.id, version)
                entry = link.texts.get(key)
                wanted = payloads.text_hash(local)
                if entry is not None and entry[1] == wanted:
                    continue
                if entry is None and local is None:
                    continue
                if entry is None:
                    assert local is not None
                    create.append({"line": line_pk, **payloads.text_payload(local, layer)})
                else:
                    body: dict[str, Any] = {"pk": entry[0], "content": local.text if local else ""}
                    if local is not None and local.confidence is not None:
                        body["avg_confidence"] = float(local.confidence)
                    update.append(body)
                    keys.append((key, wanted))
        if update:
            await self.escr.update_line_texts(self.document, link.pk, update)
            for key, wanted in keys:
                link.texts[key][1] = wanted
            self.counts.texts += len(update)
        if create:
            made = await self.escr.create_line_texts(self.document, link.pk, create)
            line_ids = {v[0]: k for k, v in link.lines.items()}
            layer_versions = {layer: v for v, layer in self.layers.items()}
            for text in made:
                made_line, made_version = line_ids.get(text.line), layer_versions.get(text.layer)
                if made_line is not None and made_version is not None:
                    local_text = texts[made_version].get(made_line)
                    link.texts[text_key(made_line, made_version)] = [
                        text.pk, payloads.text_hash(local_text)
                    ]  # fmt: skip
            self.counts.texts += len(made)


def _adopt_by_xml_id(
    linked: dict[str, list[Any]], local: list[tuple[str, str]], remote: list[tuple[int, str]]
) -> None:
    """Link local objects not linked yet to remote ones of the same XML id not linked yet
    (hash left empty: they are sent again, in place)."""
    taken = {entry[0] for entry in linked.values()}
    free: dict[str, list[int]] = {}
    for pk, xml_id in remote:
        if pk not in taken and xml_id:
            free.setdefault(xml_id, []).append(pk)
    for local_id, xml_id in local:
        if local_id not in linked and free.get(xml_id):
            linked[local_id] = [free[xml_id].pop(0), ""]
