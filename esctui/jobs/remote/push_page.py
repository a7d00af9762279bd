"""One page of a push through the API: image, regions, lines, texts; and what the server
already holds of a page whose sending was interrupted (matched by XML id)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from esctui.domain import Part
from esctui.domain.errors import JobError
from esctui.domain.text import human_size, plural
from esctui.jobs.remote import payloads
from esctui.jobs.remote.common import document_exists
from esctui.jobs.remote.layout_import import LayoutImport, PendingPage, importable
from esctui.jobs.runner import JobContext
from esctui.store import PageLayout
from esctui.store.remote_links import DocumentLinks, PageLink, text_key

if TYPE_CHECKING:
    from esctui.jobs.remote.push import PushJob
    from esctui.net.escriptorium import DocumentTypes, EscriptoriumClient


class PagePush:
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
        bulk: LayoutImport,
    ) -> None:
        self.job, self.ctx, self.escr, self.document = job, ctx, escr, document
        self.types, self.layers, self.links = types, layers, links
        self.upload_names, self.remote_by_name = upload_names, remote_by_name
        self.counts = job.counts
        self.bulk = bulk

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
        reconcile = link is not None and (not link.done or _unknown_pks(link))
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
        fresh = not (reconcile or link.regions or link.lines or link.texts)
        link.done = False
        self.links.pages[part.id] = link
        if fresh and importable(layout):  # the server's import makes its layout
            await self.bulk.add(PendingPage(part, layout, link, wanted, name))
            return outcome
        if reconcile:
            await self._adopt(link, layout)
        await self._regions(link, layout)
        await self._lines(link, layout)
        link.hash, link.done = wanted, True
        return outcome

    async def _adopt(self, link: PageLink, layout: PageLayout) -> None:
        """Match what the server holds of a page sent by its import, or whose sending was
        interrupted: regions and lines by the XML id push gave them, texts by line and layer.
        Hashes already known are kept; what was not found is sent again."""
        detail = await self.escr.part(self.document, link.pk)
        _match(
            link.regions,
            [(r.id, payloads.region_xml_id(r)) for r in layout.regions],
            [(r.pk, r.external_id) for r in detail.regions],
        )
        _match(
            link.lines,
            [(line.id, payloads.line_xml_id(line)) for line in layout.lines],
            [(line.pk, line.external_id) for line in detail.lines],
        )
        line_of_pk = {v[0]: k for k, v in link.lines.items()}
        found: set[str] = set()
        for version_id, layer in self.layers.items():
            for text in await self.escr.line_texts(self.document, link.pk, layer):
                line_id = line_of_pk.get(text.line)
                if line_id is None:
                    continue
                key = text_key(line_id, version_id)
                entry = link.texts.get(key)
                if entry is None or entry[0] not in (None, text.pk):
                    link.texts[key] = [text.pk, ""]
                else:
                    entry[0] = text.pk
                found.add(key)
        link.texts = {k: v for k, v in link.texts.items() if k in found}

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


def _unknown_pks(link: PageLink) -> bool:
    """Some objects of the page were made by the server's import (pk not read yet)."""
    return any(
        entry[0] is None
        for entries in (link.regions, link.lines, link.texts)
        for entry in entries.values()
    )


def _match(
    linked: dict[str, list[Any]], local: list[tuple[str, str]], remote: list[tuple[int, str]]
) -> None:
    """Give ``linked``'s entries their remote pk: a known pk still on the server is kept, an
    entry without one (or whose object is gone) takes the remote object of the same XML id
    not taken yet, keeping its hash; local objects never linked take one with an empty hash
    (sent again, in place). Entries left without a pk are dropped (sent anew)."""
    present = {pk for pk, _ in remote}
    for key, entry in list(linked.items()):
        if entry[0] is not None and entry[0] not in present:
            del linked[key]
    taken = {entry[0] for entry in linked.values() if entry[0] is not None}
    free: dict[str, list[int]] = {}
    for pk, xml_id in remote:
        if pk not in taken and xml_id:
            free.setdefault(xml_id, []).append(pk)
    for local_id, xml_id in local:
        known = linked.get(local_id)
        if known is not None and known[0] is not None:
            continue
        if free.get(xml_id):
            linked[local_id] = [free[xml_id].pop(0), known[1] if known is not None else ""]
        elif known is not None:
            del linked[local_id]
    for key in [k for k, v in linked.items() if v[0] is None]:
        del linked[key]
