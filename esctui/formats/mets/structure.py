"""Reading a METS tree: its files, file groups, PHYSICAL pages and description."""

from __future__ import annotations

import posixpath
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree

from esctui.formats.mets.hrefs import HrefResolver, RefusedHref
from esctui.formats.mets.model import (
    ALTO_MIMETYPES,
    DFG_VIEWER_NAMESPACE,
    IMAGE_GROUPS,
    MODS_NAMESPACE,
    PAGE_MIMETYPES,
    SMALL_IMAGE_GROUPS,
    XLINK_HREF,
    GroupKind,
    LocalFiles,
    MetsDocument,
    MetsError,
    MetsFile,
    MetsFileGroup,
    MetsLink,
    MetsPage,
    MetsSettings,
    document_key,
)
from esctui.formats.mets.mods import clean_text, mods_description
from esctui.formats.safe_zip import SkippedEntry
from esctui.formats.sniff import (
    HEAD_BYTES,
    IMAGE_SUFFIXES,
    XML_SUFFIXES,
    XmlKind,
    sniff_xml,
)
from esctui.formats.xml.common import namespace_of


@dataclass
class _FileEntry:
    """A ``file`` element of the fileSec, before it is resolved."""

    id: str
    group: str
    mimetype: str
    hrefs: list[str]
    embedded: bool
    groupid: str
    seq: str
    resolved: MetsFile | None = None
    refusal: str | None = None
    reported: bool = False


def _number(value: str | None) -> int | None:
    try:
        return int((value or "").strip())
    except ValueError:
        return None


def _file_kind(mimetype: str, href: str) -> str:
    """ "image", "alto", "page", "xml" or "other", from the MIMETYPE, else the name's ending."""
    mime = mimetype.lower().split(";", 1)[0].strip()
    if mime.startswith("image/"):
        return "image"
    if mime in ALTO_MIMETYPES:
        return "alto"
    if mime in PAGE_MIMETYPES:
        return "page"
    if mime in ("application/xml", "text/xml") or mime.endswith("+xml"):
        return "xml"
    if mime:
        return "other"
    path = urlsplit(href).path if "://" in href else href
    suffix = posixpath.splitext(path.lower())[1]
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in XML_SUFFIXES:
        return "xml"
    return "other"


def _format_by_name(use: str) -> str:
    upper = use.upper()
    if "ALTO" in upper or upper == "FULLTEXT":
        return "alto"
    if "PAGE" in upper:
        return "page"
    return ""


class MetsReader:
    def __init__(
        self,
        root: etree._Element,
        label: str,
        base: str | LocalFiles | None,
        settings: MetsSettings,
        image_group: str | None,
        version_name: str,
    ) -> None:
        self.root = root
        self.ns = namespace_of(root.tag)
        self.label = label
        self.settings = settings
        self.wanted_image_group = image_group
        self.version_name = version_name
        self.resolver = HrefResolver(base, settings)
        self.files = None if isinstance(base, str) else base
        key = ""
        if isinstance(base, str):
            key = document_key(base, "")
        elif base is not None and base.mets_path:
            key = document_key("", base.mets_path)
        self.document = MetsDocument(source=label, key=key, files=self.files)
        self._ids_of_div: dict[int, list[str]] = {}
        self._fcontent = self.q("FContent")
        self._groups: dict[str, MetsFileGroup] = {}

    def q(self, local: str) -> str:
        return f"{{{self.ns}}}{local}" if self.ns else local

    def read(self) -> MetsDocument:
        doc = self.document
        entries = self._file_entries()
        self._read_groups(entries)
        structmap, doc.page_order = self._physical_structmap()
        if structmap is not None:
            divs = self._page_divs(structmap)
            if len(divs) > self.settings.max_pages:
                raise MetsError(
                    self.label,
                    f"the METS lists {len(divs):,} pages; at most "
                    f"{self.settings.max_pages:,} are read (the max_pages setting).",
                )
            self._choose_image_group(entries, self._referenced_ids(divs))
            self._pages_from_divs(divs, entries)
        else:
            self._choose_image_group(entries, None)
            self._pages_from_file_sec(entries)
        self._read_links()
        self._describe()
        self._check_usable()
        return doc

    # -- files ---------------------------------------------------------------------------------

    def _file_entries(self) -> dict[str, _FileEntry]:
        file_tag, group_tag, flocat = self.q("file"), self.q("fileGrp"), self.q("FLocat")
        file_sec = self.root.find(self.q("fileSec"))
        if file_sec is None:
            return {}
        count = sum(1 for _ in file_sec.iter(file_tag))
        if count > self.settings.max_files:
            raise MetsError(
                self.label,
                f"the METS lists {count:,} files; at most {self.settings.max_files:,} are read "
                "(the max_files setting).",
            )
        entries: dict[str, _FileEntry] = {}
        for group in file_sec.iter(group_tag):
            group_use = group.get("USE") or group.get("ID") or "unnamed group"
            for element in group.iterchildren(file_tag):
                self._add_entry(entries, element, element.get("USE") or group_use, flocat)
        return entries

    def _add_entry(
        self, entries: dict[str, _FileEntry], element: etree._Element, use: str, flocat: str
    ) -> None:
        file_id = element.get("ID") or f"(file {len(entries) + 1} without ID)"
        if file_id in entries:
            self._skip(file_id, "another file in the METS has the same ID")
            return
        entries[file_id] = _FileEntry(
            id=file_id,
            group=use,
            mimetype=(element.get("MIMETYPE") or "").strip(),
            hrefs=[(loc.get(XLINK_HREF) or loc.get("href") or "") for loc in element.iter(flocat)],
            embedded=element.find(self._fcontent) is not None,
            groupid=element.get("GROUPID") or "",
            seq=element.get("SEQ") or "",
        )

    def _skip(self, name: str, reason: str) -> None:
        self.document.skipped.append(SkippedEntry(name, reason))

    def _resolve(self, entry: _FileEntry, *, report: bool = True) -> MetsFile | None:
        """The usable file, or None; with ``report`` the reason goes to ``skipped`` (once)."""
        if entry.resolved is None and entry.refusal is None:
            reasons: list[str] = []
            for href in entry.hrefs:
                try:
                    url, path = self.resolver.resolve(href)
                except RefusedHref as refusal:
                    reasons.append(str(refusal))
                    continue
                entry.resolved = MetsFile(
                    entry.id, entry.group, href.strip(), entry.mimetype, url, path
                )
                return entry.resolved
            if reasons:
                entry.refusal = reasons[0]
            elif entry.embedded:
                entry.refusal = "its content is embedded in the METS (FContent), which is not read"
            else:
                entry.refusal = "it has no FLocat with an address"
        if entry.refusal is not None and report and not entry.reported:
            entry.reported = True
            shown = next((h.strip() for h in entry.hrefs if h.strip()), "")
            self._skip(f"{shown} (file {entry.id})" if shown else f"file {entry.id}", entry.refusal)
        return entry.resolved

    def _read_groups(self, entries: dict[str, _FileEntry]) -> None:
        by_group: dict[str, list[_FileEntry]] = {}
        for entry in entries.values():
            by_group.setdefault(entry.group, []).append(entry)
        for use, members in by_group.items():
            kinds = Counter(_file_kind(e.mimetype, next(iter(e.hrefs), "")) for e in members)
            top = kinds.most_common(1)[0][0]
            mimetypes = tuple(sorted({e.mimetype for e in members if e.mimetype}))
            group = MetsFileGroup(use, GroupKind.OTHER, files=len(members), mimetypes=mimetypes)
            if top == "image":
                group.kind = GroupKind.IMAGE
            elif top in ("alto", "page", "xml"):
                group.kind = GroupKind.TRANSCRIPTION
                group.format = top if top != "xml" else ""
                self._tell_format(group, members)
            else:
                group.note = "its files are neither images nor XML" + (
                    f" ({', '.join(mimetypes)})" if mimetypes else ""
                )
            if group.kind == GroupKind.TRANSCRIPTION:
                group.version_name = f"{self.version_name} | {use}"
            self.document.groups.append(group)
            self._groups[use] = group

    def _tell_format(self, group: MetsFileGroup, members: list[_FileEntry]) -> None:
        """ALTO or PAGE: the start of the first local file decides; else MIMETYPE, else name."""
        declared = group.format
        for entry in members:
            if self.files is None:
                break
            resolved = self._resolve(entry, report=False)
            if resolved is None or not resolved.path:
                continue
            sniff = sniff_xml(self.files.head(resolved.path, HEAD_BYTES))
            if sniff.is_layout:
                group.format = sniff.kind
                group.note = f"{sniff.kind.upper()}, as its file {resolved.path} shows"
                if declared and declared != sniff.kind:
                    group.note += f" (its MIMETYPE says {declared.upper()})"
            elif sniff.kind == XmlKind.UNREADABLE:
                group.note = f"its file {resolved.path} cannot be read: {sniff.problem}"
                continue
            else:
                group.kind = GroupKind.OTHER
                group.format = ""
                group.note = (
                    f"its files are not ALTO or PAGE (the root of {resolved.path} is "
                    f"{sniff.described()})"
                )
            return
        if declared:
            group.note = f"{declared.upper()}, as its MIMETYPE says"
        elif by_name := _format_by_name(group.use):
            group.format = by_name
            group.note = f"{by_name.upper()}, as its name suggests (reading the files will tell)"
        else:
            group.note = "ALTO or PAGE: reading the files will tell"

    def _choose_image_group(
        self, entries: dict[str, _FileEntry], referenced: set[str] | None
    ) -> None:
        """The asked-for group, else the largest by name among groups with usable files."""
        doc = self.document
        images = [g for g in doc.groups if g.kind == GroupKind.IMAGE]
        others = ", ".join(g.use for g in images) or "none"
        if self.wanted_image_group:
            chosen = doc.group(self.wanted_image_group)
            if chosen is None or chosen.kind != GroupKind.IMAGE:
                what = "no file group" if chosen is None else "no image group"
                raise MetsError(
                    self.label,
                    f"the METS has {what} called {self.wanted_image_group!r}; "
                    f"its image groups are: {others}.",
                )
            doc.image_group = chosen.use
            doc.image_group_reason = f"the image group {chosen.use!r} was asked for"
            return
        if not images:
            return

        def usable(group: MetsFileGroup) -> bool:
            return any(
                self._resolve(e, report=False) is not None
                for e in entries.values()
                if e.group == group.use and (referenced is None or e.id in referenced)
            )

        def rank(group: MetsFileGroup) -> tuple[bool, int]:
            upper = group.use.upper()
            if upper in IMAGE_GROUPS:
                by_name = IMAGE_GROUPS.index(upper)
            elif upper in SMALL_IMAGE_GROUPS:
                by_name = len(IMAGE_GROUPS) + 1
            else:
                by_name = len(IMAGE_GROUPS)
            return (not usable(group), by_name)

        chosen = min(images, key=rank)  # min() keeps the first of equals: fileSec order
        doc.image_group = chosen.use
        if len(images) == 1:
            doc.image_group_reason = f"{chosen.use!r} is the only image group"
        else:
            rest = ", ".join(g.use for g in images if g is not chosen)
            doc.image_group_reason = (
                f"the image group {chosen.use!r} was chosen as the largest by its name "
                f"(the METS also has: {rest}; choose another by its name)"
            )

    # -- structure -----------------------------------------------------------------------------

    def _physical_structmap(self) -> tuple[etree._Element | None, str]:
        maps = self.root.findall(self.q("structMap"))
        for structmap in maps:
            if (structmap.get("TYPE") or "").upper() == "PHYSICAL":
                return structmap, "the PHYSICAL structMap"
        others = [m for m in maps if (m.get("TYPE") or "").upper() != "LOGICAL"]
        if len(others) == 1:
            kind = others[0].get("TYPE") or "without TYPE"
            return others[0], f"the structMap {kind} (the METS has no PHYSICAL one)"
        return None, "the order of the image files (the METS has no PHYSICAL structMap)"

    def _page_divs(self, structmap: etree._Element) -> list[etree._Element]:
        div_tag = self.q("div")
        pages: list[etree._Element] = []
        reordered = False

        def walk(parent: etree._Element) -> None:
            nonlocal reordered
            children = [child for child in parent if child.tag == div_tag]
            orders = [n for child in children if (n := _number(child.get("ORDER"))) is not None]
            if len(orders) == len(children) and orders != sorted(orders):
                position = {id(c): o for c, o in zip(children, orders, strict=True)}
                children.sort(key=lambda child: position[id(child)])
                reordered = True
            for child in children:
                if "page" in (child.get("TYPE") or "").lower():
                    pages.append(child)
                else:
                    walk(child)

        walk(structmap)
        if not pages:  # no div says "page": the innermost divs with files
            fptr = self.q("fptr")
            pages = [
                div
                for div in structmap.iter(div_tag)
                if div.find(fptr) is not None and div.find(f".//{div_tag}") is None
            ]
            if pages:
                self.document.notes.append(
                    "no div of the structMap has TYPE 'page': its innermost divs with files "
                    "were taken as the pages."
                )
        if reordered:
            self.document.page_order += ", in the order of the divs' ORDER numbers"
        return pages

    def _file_ids(self, div: etree._Element) -> list[str]:
        """The FILEIDs of the div's ``fptr`` and ``area`` elements, in order, each once."""
        key = id(div)
        if key not in self._ids_of_div:
            ids: dict[str, None] = {}
            for element in div.iter(self.q("fptr"), self.q("area")):
                ids.update(dict.fromkeys((element.get("FILEID") or "").split()))
            self._ids_of_div[key] = list(ids)
        return self._ids_of_div[key]

    def _referenced_ids(self, divs: list[etree._Element]) -> set[str]:
        return {file_id for div in divs for file_id in self._file_ids(div)}

    def _pages_from_divs(self, divs: list[etree._Element], entries: dict[str, _FileEntry]) -> None:
        for index, div in enumerate(divs, 1):
            order = _number(div.get("ORDER"))
            label = clean_text(div.get("ORDERLABEL") or div.get("LABEL")) or str(order or index)
            page = MetsPage(index, div.get("ID") or "", label, order)
            for file_id in self._file_ids(div):
                entry = entries.get(file_id)
                if entry is None:
                    page.notes.append(f"it points at the file {file_id!r}, which the METS lacks")
                    continue
                self._place(page, entry)
            self.document.pages.append(page)

    def _pages_from_file_sec(self, entries: dict[str, _FileEntry]) -> None:
        """Without a structMap: the image group's files in order, paired by GROUPID or SEQ."""
        doc = self.document
        spine = [e for e in entries.values() if e.group == doc.image_group]
        if not spine:
            spine = [e for e in entries.values() if e.group in self._transcription_uses()]
            first = spine[0].group if spine else ""
            spine = [e for e in spine if e.group == first]
        if len(spine) > self.settings.max_pages:
            raise MetsError(
                self.label,
                f"the METS lists {len(spine):,} pages; at most "
                f"{self.settings.max_pages:,} are read (the max_pages setting).",
            )
        partners: dict[tuple[str, str], list[_FileEntry]] = {}
        for entry in entries.values():
            if entry.group in self._transcription_uses():
                for key in (("GROUPID", entry.groupid), ("SEQ", entry.seq)):
                    if key[1]:
                        partners.setdefault(key, []).append(entry)
        unpaired = 0
        for index, spine_entry in enumerate(spine, 1):
            page = MetsPage(index, spine_entry.groupid or spine_entry.id, str(index))
            self._place(page, spine_entry)
            found = (
                partners.get(("GROUPID", spine_entry.groupid), []) if spine_entry.groupid else []
            )
            if not found and spine_entry.seq:
                found = partners.get(("SEQ", spine_entry.seq), [])
            for entry in found:
                if entry is not spine_entry:
                    self._place(page, entry)
            if not found and self._transcription_uses() - {spine_entry.group}:
                unpaired += 1
            doc.pages.append(page)
        if unpaired:
            doc.notes.append(
                f"{unpaired} page(s) could not be paired with their transcription files: the "
                "METS has no structMap, and the files share no GROUPID or SEQ."
            )

    def _transcription_uses(self) -> set[str]:
        return {g.use for g in self.document.groups if g.kind == GroupKind.TRANSCRIPTION}

    def _place(self, page: MetsPage, entry: _FileEntry) -> None:
        doc = self.document
        group = self._groups[entry.group]
        is_image = group.use == doc.image_group
        if not is_image and group.kind != GroupKind.TRANSCRIPTION:
            return  # thumbnails, PDFs, other image sizes: not needed
        resolved = self._resolve(entry)
        if resolved is None:
            page.notes.append(f"its {group.use} file {entry.id!r} cannot be used")
            return
        if is_image:
            if page.image is None:
                page.image = resolved
            else:
                page.notes.append(f"it has a second {group.use} image ({entry.id!r}), not used")
        elif group.use in page.transcriptions:
            page.notes.append(f"it has a second {group.use} file ({entry.id!r}), not used")
        else:
            page.transcriptions[group.use] = resolved

    def _check_usable(self) -> None:
        doc = self.document
        without_image = [p for p in doc.pages if doc.image_group and p.image is None]
        for page in without_image:
            if not any(doc.image_group in note for note in page.notes):
                page.notes.append(f"it has no file in the image group {doc.image_group!r}")
        if without_image:
            examples = ", ".join(p.label for p in without_image[:3])
            doc.notes.append(
                f"{len(without_image)} of {len(doc.pages)} pages have no usable image in "
                f"{doc.image_group!r} (pages {examples}{' …' if len(without_image) > 3 else ''})."
            )
        if doc.pages and not doc.image_group and not doc.transcription_groups:
            groups = ", ".join(f"{g.use} ({g.note})" for g in doc.groups) or "none"
            raise MetsError(
                self.label,
                f"the METS lists no page images and no ALTO or PAGE files; its file groups: "
                f"{groups}.",
            )
        if not doc.pages and not doc.children:
            raise MetsError(self.label, "the METS lists no pages and links to no other METS.")
        usable = any(p.image is not None or p.transcriptions for p in doc.pages)
        if doc.pages and not usable:
            first = doc.skipped[0] if doc.skipped else None
            because = f" {first.name}: {first.reason}" if first else ""
            more = f" (and {len(doc.skipped) - 1} more)" if len(doc.skipped) > 1 else ""
            raise MetsError(
                self.label,
                f"none of the files of its {len(doc.pages)} page(s) can be used.{because}{more}.",
            )

    # -- links to other METS files -------------------------------------------------------------

    def _read_links(self) -> None:
        div_tag, mptr_tag = self.q("div"), self.q("mptr")
        for structmap in self.root.iter(self.q("structMap")):
            for div in structmap.iter(div_tag):
                for mptr in div.findall(mptr_tag):
                    href = (mptr.get(XLINK_HREF) or mptr.get("href") or "").strip()
                    label = clean_text(
                        div.get("LABEL")
                        or div.get("ORDERLABEL")
                        or div.get("ORDER")
                        or div.get("TYPE")
                    )
                    # A div that holds the document's own divs links up to the work it belongs
                    # to (DFG: a volume's METS); a div without divs links down to a part.
                    direction = "parent" if div.find(div_tag) is not None else "child"
                    try:
                        url, path = self.resolver.resolve(href)
                        link = MetsLink(label, href, direction, url, path)
                    except RefusedHref as refusal:
                        link = MetsLink(label, href, direction, problem=str(refusal))
                    links = (
                        self.document.children if direction == "child" else self.document.parents
                    )
                    if all(existing.key != link.key or link.problem for existing in links):
                        links.append(link)
        if self.document.children and not self.document.pages:
            self.document.notes.append(
                f"this METS lists no pages itself; it links to {len(self.document.children)} "
                "other METS file(s) (e.g. the volumes of a multi-volume work)."
            )

    # -- description ---------------------------------------------------------------------------

    def _describe(self) -> None:
        doc = self.document
        mods = self._document_mods()
        title, fields = mods_description(mods) if mods is not None else ("", [])
        trp_title, trp_fields = self._transkribus_description()
        doc.title = title or trp_title or clean_text(self.root.get("LABEL"))
        fields += [pair for pair in trp_fields if pair not in fields]
        fields += self._dfg_rights()
        doc.fields = fields

    def _document_mods(self) -> etree._Element | None:
        """The MODS of the document: the first LOGICAL div with one, else the first dmdSec's."""
        mods_tag = f"{{{MODS_NAMESPACE}}}mods"
        by_id: dict[str, etree._Element] = {}
        first: etree._Element | None = None
        for dmd in self.root.iter(self.q("dmdSec")):
            mods = next(dmd.iter(mods_tag), None)
            if mods is not None:
                by_id[dmd.get("ID") or ""] = mods
                first = mods if first is None else first
        for structmap in self.root.iter(self.q("structMap")):
            if (structmap.get("TYPE") or "").upper() != "LOGICAL":
                continue
            for div in structmap.iter(self.q("div")):
                for dmd_id in (div.get("DMDID") or "").split():
                    if dmd_id in by_id:
                        return by_id[dmd_id]
        return first

    def _transkribus_description(self) -> tuple[str, list[tuple[str, str]]]:
        """Transkribus keeps its document metadata in ``amdSec/sourceMD//trpDocMetadata``."""
        metadata = next(self.root.iter("trpDocMetadata"), None)
        if metadata is None:
            return "", []
        labels = {
            "author": "Author",
            "writer": "Writer",
            "genre": "Genre",
            "language": "Language",
            "scriptType": "Script",
            "desc": "Summary",
            "externalId": "Identifier",
            "docId": "Transkribus document",
        }
        fields = [
            (label, value)
            for tag, label in labels.items()
            if (value := clean_text(metadata.findtext(tag)))
        ]
        return clean_text(metadata.findtext("title")), fields

    def _dfg_rights(self) -> list[tuple[str, str]]:
        rights = next(self.root.iter(f"{{{DFG_VIEWER_NAMESPACE}}}rights"), None)
        if rights is None:
            return []
        dv = f"{{{DFG_VIEWER_NAMESPACE}}}"
        labels = (("owner", "Owner"), ("license", "Licence"), ("ownerSiteURL", "Owner website"))
        return [
            (label, value)
            for tag, label in labels
            if (value := clean_text(rights.findtext(f"{dv}{tag}")))
        ]
