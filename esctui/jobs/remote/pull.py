"""Pull a document from an eScriptorium server into a local document.

::

    job = PullJob(store, target, 12)             # into a new document named as the remote one
    job = PullJob(store, target, 12, into=doc.id, versions=["manual"])

Each page is fetched whole (its full-size image, checked by decoding it and hashed like a
local import; its regions, lines and the texts of every chosen layer) a few at a time, staged
outside the lock and committed in the server's page order, whole pages at once (images with
``Store.add_parts``, layouts with ``Store.write_page_layouts``, the links in the same
transaction). Layers become versions of the same name; the server's default region and line
types (no type) become esctui's ("text", "default"). Pages already pulled, or pushed from
here, are not fetched again: the link table is the one push uses, so a push after a pull
sends nothing twice.

``refresh=True`` (``esctui pull --layout``) fetches the layout and texts of pages already here
again, after the server segmented or transcribed them (``tasks.RemoteTaskJob``): each such page
gets the server's regions, lines and the chosen layers' texts, keeping the local ids of the
objects it is linked to (and so the texts of versions not pulled). A page changed here since
it was last pushed or pulled is left alone and reported: its local changes are not lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from esctui.domain import DEFAULT_LINE_TYPE, Document, Line, LineText, Region
from esctui.domain.errors import JobError, NotFoundError
from esctui.domain.text import plural, printable
from esctui.jobs.imports.images import (
    DEFAULT_MAX_PIXELS,
    ImageRejectedError,
    prepare_image,
    staging_folder,
)
from esctui.jobs.remote import payloads
from esctui.jobs.remote.common import DEFAULT_CONCURRENCY, RemoteTarget
from esctui.jobs.runner import JobContext, finish_in_thread
from esctui.store import PageLayout, StagedFile, Store
from esctui.store.remote_links import (
    DocumentLinks,
    PageLink,
    RemoteLinks,
    find_linked_document,
    text_key,
)

if TYPE_CHECKING:
    from esctui.net.escriptorium import (
        EscriptoriumClient,
        RemoteDocument,
        RemoteLine,
        RemoteLineText,
        RemotePart,
        RemotePartDetail,
        RemoteRegion,
    )

MAX_IMAGE_BYTES = 1024 * 1024 * 1024  # one page image: larger than any real scan


@dataclass
class _Fetched:
    """One remote page, fetched and staged, not committed yet."""

    remote: RemotePart
    staged: StagedFile
    detail: RemotePartDetail
    texts: dict[str, list[RemoteLineText]] = field(default_factory=dict)  # version id -> texts


class PullJob:
    """Bring a remote document's pages, layout and layers into a local document."""

    kind = "pull"
    verb = "pulled"

    def __init__(
        self,
        store: Store,
        target: RemoteTarget,
        remote_document: int,
        *,
        into: str | None = None,
        versions: list[str] | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        refresh: bool = False,
    ) -> None:
        """``into``: a local document's id (default: the one pulled into before, else a new
        one); ``versions``: the layer names to bring (None: all); ``refresh``: fetch the
        layout of pages already here again."""
        self.store = store
        self.target = target
        self.remote_document = remote_document
        self.into = into
        self.version_names = versions
        self.concurrency = max(1, concurrency)
        self.refresh = refresh
        self.document_id: str | None = into
        self.title = f"Pull: document {remote_document} from {target.name}"

    async def run(self, ctx: JobContext) -> None:
        from esctui.net.escriptorium import TokenRefusedError

        ctx.start(None)
        ctx.working_on(f"connecting to {self.target.name}")
        try:
            async with self.target.client() as escr:
                await self._pull(ctx, escr)
        except TokenRefusedError as error:
            raise JobError(f"{error}: esctui remote login {self.target.name} --user USER") from None

    async def _pull(self, ctx: JobContext, escr: EscriptoriumClient) -> None:
        remote = await escr.document(self.remote_document)
        metadata = {m.key: m.value for m in await escr.document_metadata(remote.pk)}
        document = await asyncio.to_thread(self._local_document, ctx, remote, metadata)
        self.document_id = document.id
        ctx.job.document_id = document.id
        ctx.job.title = f"Pull: {remote.name} from {self.target.name} into {document.name}"
        self.links_file = RemoteLinks(self.store, document.id, self.target.url)
        links = await asyncio.to_thread(self.links_file.load)
        if links.document not in (None, remote.pk):
            raise JobError(
                f"{printable(document.name)!r} is linked to document {links.document} on "
                f"{self.target.name}, not to {remote.pk}: pull into another document (--into)"
            )
        if links.document is None:  # what the server holds: a push sends local changes only
            links.document_hash = payloads.document_hash(
                Document(
                    name=remote.name, read_direction=remote.read_direction,
                    line_offset=remote.line_offset,
                    description=metadata.get(payloads.DESCRIPTION_KEY, ""),
                    metadata={k: v for k, v in metadata.items() if k != payloads.DESCRIPTION_KEY},
                ),
                remote.main_script,
            )  # fmt: skip
        links.document = remote.pk
        layers = [layer for layer in remote.layers if not layer.archived]
        if self.version_names is not None:
            names = {layer.name for layer in layers}
            unknown = [n for n in self.version_names if n not in names]
            if unknown:
                known = ", ".join(printable(n) for n in sorted(names)) or "none"
                raise JobError(
                    f"document {remote.pk} has no layer {printable(unknown[0])!r} (it has: {known})"
                )
            layers = [layer for layer in layers if layer.name in self.version_names]
        versions: dict[str, int] = {}
        for layer in layers:
            version = await asyncio.to_thread(
                self.store.create_transcription, document.id, layer.name, "escriptorium",
                reuse=True,
            )  # fmt: skip
            versions[version.id] = layer.pk
            links.layers[version.id] = layer.pk
        self.versions = versions
        self.region_types = {t.pk: t.name for t in remote.block_types}
        self.line_types = {t.pk: t.name for t in remote.line_types}

        parts = await escr.parts(remote.pk)
        have = {link.pk: part_id for part_id, link in links.pages.items()}
        todo = [p for p in parts if p.pk not in have]
        again = [p for p in parts if p.pk in have] if self.refresh else []
        if len(todo) < len(parts) and not self.refresh:
            ctx.report.notes.append(
                f"{plural(len(parts) - len(todo), 'page')} already here were not fetched again "
                "(--layout fetches their layout and texts anew)"
            )
            ctx.report.count("already here", len(parts) - len(todo))
        ctx.start(len(todo) + len(again))
        for start in range(0, len(again), self.concurrency):
            chunk = again[start : start + self.concurrency]
            layouts = await asyncio.gather(
                *(self._fetch_layout(ctx, escr, remote.pk, part) for part in chunk)
            )
            await finish_in_thread(self._commit_layouts, ctx, links, have, layouts)
            for part in chunk:
                ctx.advance(part.title or part.filename)
        async with staging_folder(self.store, document.id) as staging:
            for start in range(0, len(todo), self.concurrency):
                chunk = todo[start : start + self.concurrency]
                fetched = await asyncio.gather(
                    *(self._fetch(ctx, escr, remote.pk, part, staging) for part in chunk)
                )
                ready = [item for item in fetched if item is not None]
                if ready:
                    await finish_in_thread(self._commit, ctx, links, ready)
                for part in chunk:
                    ctx.advance(part.title or part.filename)
        await finish_in_thread(self.links_file.save, links)
        if layers:
            ctx.report.notes.append(
                "versions: " + ", ".join(printable(layer.name) for layer in layers)
            )

    def _local_document(
        self, ctx: JobContext, remote: RemoteDocument, metadata: dict[str, str]
    ) -> Document:
        """The document to pull into: ``into``, the one pulled into before, or a new one."""
        document_id = self.into or find_linked_document(self.store, self.target.url, remote.pk)
        values = dict(metadata)
        description = values.pop(payloads.DESCRIPTION_KEY, "")
        if document_id is not None:  # what it lacks is taken from the remote document
            document = self.store.get_document(document_id)
            before = document.to_record()
            document.main_script = document.main_script or remote.main_script
            document.description = document.description or description
            document.metadata = {**values, **document.metadata}
            if not self.store.list_parts(document.id):
                document.read_direction = remote.read_direction
                document.line_offset = remote.line_offset
            if document.to_record() != before:
                document = self.store.update_document(document)
            return document
        name, number = remote.name.strip() or f"Document {remote.pk}", 1
        base = name
        while True:
            try:
                self.store.get_document(name)
            except NotFoundError:
                break
            number += 1
            name = f"{base} ({number})"
        document = self.store.create_document(
            name, main_script=remote.main_script, read_direction=remote.read_direction,
            line_offset=remote.line_offset, description=description, metadata=values,
        )  # fmt: skip
        ctx.report.notes.append(f"created the document {printable(name)!r}")
        return document

    async def _fetch(
        self,
        ctx: JobContext,
        escr: EscriptoriumClient,
        document: int,
        part: RemotePart,
        staging: Path,
    ) -> _Fetched | None:
        """One page's image (staged: decoded, hashed, thumbnailed), layout and texts; None
        (the page skipped with the reason) when the server's image cannot be used."""
        name = part.title or part.filename or f"page {part.pk}"
        ctx.working_on(f"{name}: fetching")
        detail, texts = await self._fetch_layout(ctx, escr, document, part)
        suffix = PurePath(part.image_uri).suffix or ".img"
        download = staging / f"download-{part.pk}{suffix}"
        await escr.download_image(part, download, max_bytes=MAX_IMAGE_BYTES)
        try:
            [staged] = await asyncio.to_thread(prepare_image, download, staging, DEFAULT_MAX_PIXELS)
        except (ImageRejectedError, ValueError) as error:
            ctx.report.add_skipped(name, f"the server's image cannot be used: {error}")
            return None
        finally:
            download.unlink(missing_ok=True)
        staged.name = name
        staged.original_filename = part.original_filename or part.filename or staged.image.name
        staged.source = f"{self.target.url}/api/documents/{document}/parts/{part.pk}/"
        return _Fetched(part, staged, detail, texts[1])

    async def _fetch_layout(
        self, ctx: JobContext, escr: EscriptoriumClient, document: int, part: RemotePart
    ) -> tuple[RemotePartDetail, tuple[RemotePart, dict[str, list[RemoteLineText]]]]:
        """A page's regions and lines, and the texts of the chosen layers (by version id)."""
        ctx.working_on(f"{part.title or part.filename}: fetching its layout")
        detail = await escr.part(document, part.pk)
        texts = {
            version_id: await escr.line_texts(document, part.pk, layer)
            for version_id, layer in self.versions.items()
        }
        return detail, (part, texts)

    def _commit_layouts(
        self,
        ctx: JobContext,
        links: DocumentLinks,
        local_ids: dict[int, str],
        fetched: list[tuple[RemotePartDetail, tuple[RemotePart, dict[str, list[RemoteLineText]]]]],
    ) -> None:
        """The layouts fetched anew of pages already here (pages changed here are kept)."""
        assert self.document_id is not None
        with self.store.transaction():
            layouts: dict[str, PageLayout] = {}
            for detail, (remote, texts) in fetched:
                part_id = local_ids[remote.pk]
                part = self.store.get_part(self.document_id, part_id)
                name = part.name or remote.title
                old = links.pages[part_id]
                local = self.store.read_page_layout(self.document_id, part_id)
                if _changed_here(local, old, set(links.layers)):
                    ctx.report.add_skipped(
                        name, "changed here since it was last pushed or pulled: kept as it is "
                        "here (push it to send the change)",
                    )  # fmt: skip
                    continue
                layout, link = self._layout(part_id, remote, detail, texts, old, local)
                kept = {line.id for line in layout.lines}
                layout.texts.extend(  # versions not pulled keep their texts on lines still here
                    t for t in local.texts if t.transcription_id not in texts and t.line_id in kept
                )
                link.image = old.image
                link.hash = payloads.page_hash(part, layout, list(self.versions))
                links.pages[part_id] = link
                layouts[part_id] = layout
                ctx.report.add_imported(
                    name, f"layout anew: {plural(len(layout.lines), 'line')}, "
                    f"{plural(len(layout.regions), 'region')}",
                )  # fmt: skip
                ctx.report.count("lines", len(layout.lines))
            self.store.write_page_layouts(self.document_id, layouts)
            self.links_file.write(RemoteLinks.encode(links))

    def _commit(self, ctx: JobContext, links: DocumentLinks, batch: list[_Fetched]) -> None:
        """Whole pages: images, layouts and links in one transaction."""
        assert self.document_id is not None
        with self.store.transaction():
            added, _ = self.store.add_parts(
                self.document_id, [item.staged for item in batch], skip_duplicates=False
            )
            layouts: dict[str, PageLayout] = {}
            for part, item in zip(added, batch, strict=True):
                layout, link = self._layout(part.id, item.remote, item.detail, item.texts)
                link.image = part.sha256
                link.hash = payloads.page_hash(part, layout, list(self.versions))
                layouts[part.id] = layout
                links.pages[part.id] = link
                ctx.report.add_imported(
                    part.name,
                    f"page {part.order + 1}: {plural(len(layout.lines), 'line')}, "
                    f"{plural(len(layout.regions), 'region')}",
                )
                ctx.report.count("lines", len(layout.lines))
            self.store.write_page_layouts(self.document_id, layouts)
            self.links_file.write(RemoteLinks.encode(links))

    def _layout(
        self,
        part_id: str,
        remote: RemotePart,
        detail: RemotePartDetail,
        texts: dict[str, list[RemoteLineText]],
        old: PageLink | None = None,
        local: PageLayout | None = None,
    ) -> tuple[PageLayout, PageLink]:
        """The local layout of a fetched page, and its links. Objects of the ``local`` layout
        keep their ids: matched by the pk ``old`` links give them, else by the XML id push
        gave them (pages whose layout went through the server's import have no pks)."""
        link = PageLink(pk=remote.pk, done=True)
        region_ids_of = _local_ids(
            old.regions if old else {}, detail.regions,
            {payloads.region_xml_id(r): r.id for r in (local.regions if local else [])},
        )  # fmt: skip
        line_ids_of = _local_ids(
            old.lines if old else {}, detail.lines,
            {payloads.line_xml_id(line): line.id for line in (local.lines if local else [])},
        )  # fmt: skip
        layout = PageLayout()
        region_ids: dict[int, str] = {}
        for order, remote_region in enumerate(sorted(detail.regions, key=lambda r: r.order)):
            region = Region(
                part_id=part_id,
                polygon=[(float(x), float(y)) for x, y in remote_region.box],
                type=self.region_types.get(remote_region.typology or -1, "text"),
                external_id=remote_region.external_id,
                order=order,
            )
            region.id = region_ids_of.get(remote_region.pk, region.id)
            layout.regions.append(region)
            region_ids[remote_region.pk] = region.id
            link.regions[region.id] = [remote_region.pk, payloads.region_hash(region)]
        line_ids: dict[int, str] = {}
        for order, remote_line in enumerate(sorted(detail.lines, key=lambda r: r.order)):
            line = Line(
                part_id=part_id,
                baseline=_points(remote_line.baseline),
                mask=_points(remote_line.mask),
                region_id=region_ids.get(remote_line.region or -1),
                type=self.line_types.get(remote_line.typology or -1, DEFAULT_LINE_TYPE),
                external_id=remote_line.external_id,
                order=order,
            )
            line.id = line_ids_of.get(remote_line.pk, line.id)
            layout.lines.append(line)
            line_ids[remote_line.pk] = line.id
            link.lines[line.id] = [remote_line.pk, payloads.line_hash(line, order)]
        for version_id, layer_texts in texts.items():
            for text in layer_texts:
                line_id = line_ids.get(text.line)
                if line_id is None:
                    continue
                line_text = LineText(line_id, version_id, text.content, text.avg_confidence)
                layout.texts.append(line_text)
                key = text_key(line_id, version_id)
                link.texts[key] = [text.pk, payloads.text_hash(line_text)]
        return layout, link


def _points(raw: list[list[float]] | None) -> list[tuple[float, float]] | None:
    if not raw or not isinstance(raw, list):
        return None
    return [(float(x), float(y)) for x, y in raw]


def _changed_here(layout: PageLayout, link: PageLink, versions: set[str]) -> bool:
    """Whether a page's local layout or texts (of versions sent or pulled) differ from what
    its links say was last sent or pulled."""
    regions = {r.id: payloads.region_hash(r) for r in layout.regions}
    lines = {line.id: payloads.line_hash(line, i) for i, line in enumerate(layout.lines)}
    if regions != {k: v[1] for k, v in link.regions.items()}:
        return True
    if lines != {k: v[1] for k, v in link.lines.items()}:
        return True
    texts = {
        text_key(t.line_id, t.transcription_id): payloads.text_hash(t)
        for t in layout.texts
        if t.transcription_id in versions
    }
    sent = {k: v[1] for k, v in link.texts.items() if k.rsplit(" ", 1)[-1] in versions}
    return any(sent.get(key) != value for key, value in texts.items())


def _local_ids(
    links: dict[str, list], remote: Sequence[RemoteRegion | RemoteLine], by_xml_id: dict[str, str]
) -> dict[int, str]:
    """Remote pk -> the local id of the same object: by the links' pk, else by XML id."""
    found = {v[0]: k for k, v in links.items() if v[0]}
    taken = set(found.values())
    for item in remote:
        local_id = by_xml_id.get(item.external_id)
        if item.pk not in found and local_id is not None and local_id not in taken:
            found[item.pk] = local_id
            taken.add(local_id)
    return found
