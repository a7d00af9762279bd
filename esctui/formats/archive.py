"""Inventory of a ZIP archive or a folder of page images and ALTO/PAGE files (perhaps a METS).

Pure: no store, no network. ``ImageArchive(path)`` opens a ZIP or a folder;
``inventory()`` lists its pages and XML files without unpacking the images: it reads the start
of each entry only (to tell images, ALTO, PAGE and METS apart by content) and the whole METS.

- Pages: the images in natural order (``page2`` before ``page10``, folders too), or, when a METS
  file is in the archive, the METS's pages in its order (a METS wins: ``order`` says so, and
  images it does not list are named in ``notes``).
- XML files: each ALTO/PAGE file with its page: the METS's own mapping, else the image the file
  names (PAGE ``Page/@imageFilename``, ALTO ``sourceImageInformation/fileName``) compared with
  the images' paths, names, names ignoring case, names ignoring extension, else its own name.
- Left out (``skipped``, each with a reason): unsafe paths, symbolic links, encrypted entries,
  entries that are too large or expand too much (bombs), duplicates, XML that is not ALTO, PAGE
  or METS, files that are not images; the whole archive is refused (``ArchiveError``) when it is
  not readable, has too many entries, or declares too many bytes.

Images are unpacked one at a time when asked (``extract``, ``iter_page_images``), in chunks
of ``chunk_bytes``: memory stays bounded by the limits, not by the archive.
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from natsort import natsorted, ns

from esctui.formats.archive_sources import (
    DAMAGED,
    ArchiveEntry,
    ArchiveEntryError,
    ArchiveError,
    ArchiveLimits,
    FolderSource,
    ZipSource,
)
from esctui.formats.mets import (
    DEFAULT_SETTINGS,
    DEFAULT_VERSION_NAME,
    MetsDocument,
    MetsPage,
    MetsSettings,
    MetsWalk,
    read_mets,
)
from esctui.formats.page_names import NAME_RULES
from esctui.formats.page_names import stem as _stem
from esctui.formats.safe_zip import (
    EntryTooLarge,
    SkippedEntry,
    size_problem,
)
from esctui.formats.sniff import HEAD_BYTES, IMAGE_SUFFIXES, XmlKind, sniff_image, sniff_xml

_SIGNATURE_BYTES = 32


@dataclass
class ArchivePage:
    """One page: its image and its ALTO/PAGE files.

    Attributes:
        index: its position, from 1.
        label: the METS's page label, else the image's file name.
        image: the image's path in the archive ("" when it has none there).
        image_url: where to fetch the image when the METS names a remote one ("" otherwise).
        transcriptions: the page's ALTO/PAGE file (path in the archive) for each group.
        notes: what is wrong with this page, in plain words.
    """

    index: int
    label: str
    image: str = ""
    image_url: str = ""
    transcriptions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def image_name(self) -> str:
        """The image's file name (for the page's original file name)."""
        where = self.image or self.image_url.split("?", 1)[0]
        return where.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ArchiveXml:
    """An ALTO or PAGE file of the archive and the page it goes to.

    Attributes:
        name: its path in the archive.
        format: "alto" or "page".
        image_filename: the image it names ("" when it names none).
        group: its transcription group: its METS file group, else its folder ("" for the root).
        page: the index of its page, or None when it matches none.
        rule: how it was matched ("listed in the METS", "image file name", …), or "".
        reason: why it matches no page ("" when it does).
    """

    name: str
    format: str
    image_filename: str
    group: str
    page: int | None = None
    rule: str = ""
    reason: str = ""


@dataclass
class ArchiveInventory:
    """What an archive holds, in page order.

    Attributes:
        source: the archive's or folder's name.
        pages: the pages in order.
        xml_files: every ALTO/PAGE file, matched to a page or not.
        versions: each transcription group with the version name its files go into.
        mets: the METS read from the archive (None when there is none).
        mets_path: where that METS is in the archive ("" when none).
        linked_mets: the METS files inside the archive that ``mets`` links to (``mptr``: the
            volumes of a multi-volume work), read in order; their pages follow its own.
        order: where the page order comes from, in plain words.
        skipped: the entries left out, with the reasons.
        notes: other things the user should know, in plain words.
    """

    source: str
    pages: list[ArchivePage] = field(default_factory=list)
    xml_files: list[ArchiveXml] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    mets: MetsDocument | None = None
    mets_path: str = ""
    linked_mets: list[MetsDocument] = field(default_factory=list)
    order: str = ""
    skipped: list[SkippedEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExtractedImage:
    """A page's image unpacked into the staging folder, or why it could not be.

    Attributes:
        page: the page.
        path: the unpacked file (None when it could not be unpacked).
        reason: why it could not be ("" when it was).
    """

    page: ArchivePage
    path: Path | None
    reason: str = ""


# --------------------------------------------------------------------------------------------
# Sources: a ZIP archive or a folder, with the same few operations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ArchiveFiles:
    """The archive's entries as the METS reader sees them (``mets.LocalFiles``)."""

    reader: ImageArchive
    mets_path: str

    @property
    def label(self) -> str:
        return self.reader.description

    def problem(self, path: str) -> str | None:
        if path in self.reader._entries:
            return None
        if path in self.reader._skip_reasons:
            return f"it was left out of {self.label}: {self.reader._skip_reasons[path]}"
        return f"there is no such file in {self.label}"

    def head(self, path: str, size: int) -> bytes:
        try:
            return self.reader._source.head(path, size)
        except (*DAMAGED, KeyError, NotImplementedError):
            return b""

    def at(self, mets_path: str) -> _ArchiveFiles:
        return _ArchiveFiles(self.reader, mets_path)


# --------------------------------------------------------------------------------------------
# The reader
# --------------------------------------------------------------------------------------------


class ImageArchive:
    """A ZIP archive or a folder of page images and XML files, read safely.

    Use it as a context manager, from one thread at a time. ``inventory()`` lists pages and XML
    files (call it first: the other methods read only the entries it accepted);
    ``read_xml(name)`` gives one XML file's bytes; ``extract(name, folder)`` unpacks one image
    into ``folder``; ``iter_page_images(inventory, folder)`` unpacks the pages' images one at a
    time. Memory: the entry names (at most ``max_entries``) and one chunk, whatever the size.
    """

    def __init__(self, path: Path | str, *, limits: ArchiveLimits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits or ArchiveLimits()
        if self.path.is_dir():
            self._source: ZipSource | FolderSource = FolderSource(self.path, self.limits)
            self.description = f"the folder {self.path.name or self.path}"
        else:
            self._source = ZipSource(self.path, self.limits)
            self.description = f"the archive {self.path.name}"
        self._entries: dict[str, ArchiveEntry] = {}
        self._skip_reasons: dict[str, str] = {}
        self._unpacked = 0

    def __enter__(self) -> ImageArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._source.close()

    # -- inventory -----------------------------------------------------------------------------

    def inventory(
        self,
        *,
        mets_path: str | None = None,
        image_group: str | None = None,
        version_name: str = DEFAULT_VERSION_NAME,
        mets_settings: MetsSettings = DEFAULT_SETTINGS,
    ) -> ArchiveInventory:
        """List the pages and XML files (reads the start of each entry, and the METS).

        ``mets_path`` picks the METS when the archive holds several; ``image_group`` and
        ``version_name`` go to ``read_mets``. Raises ``ArchiveError`` when the archive as a whole
        cannot be used (and ``MetsError`` when its METS cannot).
        """
        label = self._source.label
        found = ArchiveInventory(source=label)
        self._entries.clear()
        declared = 0
        mets_files: list[str] = []
        for name, size in self._source.entries(found.skipped):
            entry = self._classify(name, size, found.skipped)
            if entry is None:
                continue
            declared += size
            if declared > self.limits.max_total_bytes:
                raise ArchiveError(
                    f"{label}: its files would expand to more than "
                    f"{self.limits.max_total_bytes / 1e9:.1f} GB; at most that much is read."
                )
            self._entries[name] = entry
            if entry.kind == "mets":
                mets_files.append(name)
        self._skip_reasons = {s.name.replace("\\", "/"): s.reason for s in found.skipped}
        chosen = self._choose_mets(mets_files, mets_path)
        if chosen:
            self._pages_from_mets(found, chosen, image_group, version_name, mets_settings)
        else:
            self._pages_from_images(found)
        self._match_xml(found, version_name)
        return found

    def _classify(self, name: str, size: int, skipped: list[SkippedEntry]) -> ArchiveEntry | None:
        """An image, ALTO/PAGE or METS entry, told by its first bytes; else None (skipped)."""
        try:
            head = self._source.head(name, _SIGNATURE_BYTES)
        except (*DAMAGED, NotImplementedError) as exc:
            skipped.append(SkippedEntry(name, f"it is damaged and cannot be unpacked ({exc})"))
            return None
        if sniff_image(head):
            too_large = size_problem(size, self.limits.max_entry_bytes)
            if too_large:
                skipped.append(SkippedEntry(name, too_large))
                return None
            return ArchiveEntry(name, size, "image")
        is_xml_name = name.lower().endswith((".xml", ".alto"))
        if not (is_xml_name or head.lstrip()[:1] == b"<" or head.startswith(b"\xef\xbb\xbf")):
            suffix = PurePosixPath(name).suffix.lower()
            reason = (
                "its name says it is an image, but its content is not one"
                if suffix in IMAGE_SUFFIXES
                else "not an image nor an XML file"
            )
            skipped.append(SkippedEntry(name, reason))
            return None
        if (problem := size_problem(size, self.limits.max_xml_bytes)) is not None:
            skipped.append(SkippedEntry(name, problem))
            return None
        try:
            sniff = sniff_xml(self._source.head(name, HEAD_BYTES))
        except (*DAMAGED, NotImplementedError) as exc:
            skipped.append(SkippedEntry(name, f"it is damaged and cannot be unpacked ({exc})"))
            return None
        if sniff.kind in (XmlKind.METS, XmlKind.OAI_PMH):
            return ArchiveEntry(name, size, "mets")
        if sniff.is_layout:
            return ArchiveEntry(name, size, "xml", sniff.image_filename, sniff.kind)
        if sniff.kind == XmlKind.UNREADABLE:
            skipped.append(SkippedEntry(name, sniff.problem.rstrip(".")))
        else:
            skipped.append(
                SkippedEntry(
                    name, f"not ALTO, PAGE or METS XML (its root element is {sniff.described()})"
                )
            )
        return None

    def _choose_mets(self, mets_files: list[str], wanted: str | None) -> str:
        label = self._source.label
        if wanted is not None:
            if wanted not in mets_files:
                listed = ", ".join(mets_files) or "none"
                raise ArchiveError(
                    f"{label}: {wanted} is not a METS file of the archive (its METS files: "
                    f"{listed})."
                )
            return wanted
        if len(mets_files) <= 1:
            return mets_files[0] if mets_files else ""
        depth = min(name.count("/") for name in mets_files)
        top = [name for name in mets_files if name.count("/") == depth]
        if len(top) == 1:
            return top[0]
        raise ArchiveError(
            f"{label}: the archive holds {len(mets_files)} METS files ({', '.join(top)}); "
            "it may hold several documents: choose the METS file to import."
        )

    def _pages_from_mets(
        self,
        found: ArchiveInventory,
        mets_path: str,
        image_group: str | None,
        version_name: str,
        settings: MetsSettings,
    ) -> None:
        data = self.read_xml(mets_path, limit=settings.max_bytes)
        mets = read_mets(
            data,
            _ArchiveFiles(self, mets_path),
            name=f"{self._source.label}: {mets_path}",
            image_group=image_group,
            version_name=version_name,
            settings=settings,
        )
        found.mets, found.mets_path = mets, mets_path
        documents = self._linked_mets(found, mets, image_group, version_name, settings)
        found.linked_mets = documents[1:]
        found.order = (
            f"the pages are in the order of the METS file {mets_path} ({mets.page_order})"
            + (
                f" and of the {len(documents) - 1} METS files it links to"
                if found.linked_mets
                else ""
            )
            + "; a METS in the archive wins over the order of the file names"
        )
        listed: set[str] = set()
        groups: dict[str, str] = {}
        for document in documents:
            found.skipped.extend(document.skipped)
            found.notes.extend(document.notes)
            groups.update((g.use, g.version_name) for g in document.transcription_groups)
            for mets_page in document.pages:
                page = self._page_from_mets(found, mets_page, len(found.pages) + 1, listed)
                found.pages.append(page)
        used = {group for page in found.pages for group in page.transcriptions}
        found.versions = {use: name for use, name in groups.items() if use in used}
        unlisted = [n for n, e in self._entries.items() if e.kind == "image" and n not in listed]
        if unlisted:
            shown = ", ".join(natsorted(unlisted, alg=ns.PATH | ns.IGNORECASE)[:3])
            found.notes.append(
                f"{len(unlisted)} image(s) of the archive are not pages of the METS and are "
                f"left out ({shown}{' …' if len(unlisted) > 3 else ''})."
            )

    def _linked_mets(
        self,
        found: ArchiveInventory,
        mets: MetsDocument,
        image_group: str | None,
        version_name: str,
        settings: MetsSettings,
    ) -> list[MetsDocument]:
        """The METS and the METS files inside the archive it links to (``mptr``), in order."""
        if not mets.children:
            return [mets]
        walk = MetsWalk(mets, image_group=image_group, version_name=version_name, settings=settings)
        while (link := walk.next_link()) is not None:
            if not link.path:
                walk.skip(link, "it is outside the archive (only METS files inside it are read)")
                continue
            try:
                walk.add(link, self.read_xml(link.path, limit=settings.max_bytes))
            except ArchiveEntryError as error:
                walk.skip(link, error.reason)
        found.skipped.extend(walk.skipped)
        return walk.documents

    def _page_from_mets(
        self, found: ArchiveInventory, mets_page: MetsPage, index: int, listed: set[str]
    ) -> ArchivePage:
        page = ArchivePage(index, mets_page.label, notes=list(mets_page.notes))
        image = mets_page.image
        if image is not None and image.path and self._entries[image.path].kind != "image":
            page.notes.append(f"its image {image.path} is not an image file")
        elif image is not None:
            page.image, page.image_url = image.path, image.url
            listed.add(image.path)
        for group, file in mets_page.transcriptions.items():
            entry = self._entries.get(file.path)
            if entry is None:
                page.notes.append(f"its {group} file is remote ({file.url}), not read here")
            elif entry.kind != "xml":
                page.notes.append(f"its {group} file {file.path} is not ALTO or PAGE")
            else:
                page.transcriptions[group] = file.path
                if file.path not in listed:
                    listed.add(file.path)
                    found.xml_files.append(
                        ArchiveXml(
                            file.path,
                            entry.format,
                            entry.image_filename,
                            group,
                            index,
                            "listed in the METS",
                        )
                    )
        return page

    def _pages_from_images(self, found: ArchiveInventory) -> None:
        images = [n for n, e in self._entries.items() if e.kind == "image"]
        ordered = natsorted(images, alg=ns.PATH | ns.IGNORECASE)
        found.pages = [
            ArchivePage(index, posixpath.basename(name), image=name)
            for index, name in enumerate(ordered, 1)
        ]
        found.order = "the images in the natural order of their paths (page2 before page10)"

    def _match_xml(self, found: ArchiveInventory, version_name: str) -> None:
        """Match the ALTO/PAGE files the METS does not list to pages, by image or file name."""
        listed = {x.name for x in found.xml_files}
        rest = [n for n, e in self._entries.items() if e.kind == "xml" and n not in listed]
        if not rest:
            return
        index = _ImageNames(found.pages)
        taken: dict[tuple[int, str], str] = {}
        for name in natsorted(rest, alg=ns.PATH | ns.IGNORECASE):
            entry = self._entries[name]
            group = posixpath.dirname(name)
            page, rule, reason = index.match(entry.image_filename, name)
            if page is not None and (page.index, group) in taken:
                reason = f"page {page.label} already gets {taken[(page.index, group)]}"
                page, rule = None, ""
            if page is not None:
                taken[(page.index, group)] = name
                page.transcriptions.setdefault(group, name)
            found.xml_files.append(
                ArchiveXml(
                    name,
                    entry.format,
                    entry.image_filename,
                    group,
                    page.index if page else None,
                    rule,
                    reason,
                )
            )
        groups = sorted({posixpath.dirname(n) for n in rest})
        for group in groups:
            if group in found.versions:
                continue
            several = len(groups) > 1 or found.mets is not None
            shown = group.rsplit("/", 1)[-1] or "XML"
            found.versions[group] = f"{version_name} | {shown}" if several else version_name
        if found.mets is not None:
            found.notes.append(
                f"{len(rest)} ALTO/PAGE file(s) are not listed in the METS; they were matched "
                "to pages by the image they name or by their file name."
            )

    # -- reading entries -----------------------------------------------------------------------

    def read_xml(self, name: str, *, limit: int | None = None) -> bytes:
        """The bytes of an XML entry (at most ``limit``, default ``max_xml_bytes``)."""
        limit = self.limits.max_xml_bytes if limit is None else limit
        out = io.BytesIO()
        self._copy(name, out, limit)
        return out.getvalue()

    def extract(self, name: str, folder: Path) -> Path:
        """Unpack the entry ``name`` into ``folder`` (a staging folder), chunk by chunk.

        The file keeps the entry's name, made unique in ``folder``. Raises
        ``ArchiveEntryError`` when the entry cannot be unpacked, ``ArchiveError`` when the
        archive unpacks to more than ``max_total_bytes`` in all.
        """
        folder.mkdir(parents=True, exist_ok=True)
        base = posixpath.basename(name) or "image"
        target = folder / base
        count = 1
        while target.exists():
            count += 1
            stem, suffix = posixpath.splitext(base)
            target = folder / f"{stem} ({count}){suffix}"
        try:
            with target.open("xb") as out:
                self._copy(name, out, self.limits.max_entry_bytes)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target

    def _copy(self, name: str, out: BinaryIO, limit: int) -> int:
        label = self._source.label
        if name not in self._entries:
            reason = self._skip_reasons.get(name, f"there is no such file in {self.description}")
            raise ArchiveEntryError(label, name, reason)
        try:
            written = self._source.copy(name, out, limit)
        except EntryTooLarge as exc:
            raise ArchiveEntryError(
                label, name, "it unpacks to more bytes than the archive declares or allows"
            ) from exc
        except NotImplementedError as exc:
            raise ArchiveEntryError(
                label, name, f"it uses a compression method that cannot be read ({exc})"
            ) from exc
        except DAMAGED as exc:
            raise ArchiveEntryError(
                label, name, f"it is damaged and cannot be unpacked ({exc})"
            ) from exc
        self._unpacked += written
        if self._unpacked > self.limits.max_total_bytes:
            raise ArchiveError(
                f"{label}: the archive unpacks to more than "
                f"{self.limits.max_total_bytes / 1e9:.1f} GB; unpacking stopped."
            )
        return written

    def iter_page_images(
        self, inventory: ArchiveInventory, folder: Path
    ) -> Iterator[ExtractedImage]:
        """Unpack the pages' images into ``folder``, one per step (pages without one: a reason).

        Nothing is unpacked before it is asked for: move or delete each file before the next.
        """
        for page in inventory.pages:
            if not page.image:
                reason = "its image is remote" if page.image_url else "it has no image"
                yield ExtractedImage(page, None, reason)
                continue
            try:
                yield ExtractedImage(page, self.extract(page.image, folder))
            except ArchiveEntryError as error:
                yield ExtractedImage(page, None, error.reason)


class _ImageNames:
    """Finds the page whose image an XML file names (or whose name its own name matches)."""

    RULES = NAME_RULES  # the XML import's rules (formats.page_names)

    def __init__(self, pages: list[ArchivePage]) -> None:
        self.indexes = []
        for rule, key in self.RULES:
            index: dict[str, list[ArchivePage]] = {}
            for page in pages:
                if page.image or page.image_url:
                    index.setdefault(key(page.image or page.image_name), []).append(page)
            self.indexes.append((rule, key, index))
        self.by_stem: dict[str, list[ArchivePage]] = {}
        for page in pages:
            if page.image or page.image_url:
                self.by_stem.setdefault(_stem(page.image_name).casefold(), []).append(page)

    def match(self, image_filename: str, xml_name: str) -> tuple[ArchivePage | None, str, str]:
        """(page, rule, "") or (None, "", reason)."""
        wanted = image_filename.strip()
        if wanted:
            beside = posixpath.normpath(
                posixpath.join(posixpath.dirname(xml_name), wanted.replace("\\", "/"))
            )
            for rule, key, index in self.indexes:
                for candidate in (beside, wanted) if rule == "image file name" else (wanted,):
                    fits = index.get(key(candidate), [])
                    if len(fits) == 1:
                        return fits[0], rule, ""
                    if len(fits) > 1:
                        return None, "", _ambiguous(fits, f"the image {wanted!r}")
        stem = _stem(xml_name).casefold()
        fits = self.by_stem.get(stem, [])
        if len(fits) == 1:
            return fits[0], "XML file name", ""
        if len(fits) > 1:
            return None, "", _ambiguous(fits, f"the file name {_stem(xml_name)!r}")
        if wanted:
            return None, "", f"no image of the archive is {wanted!r} (nor named like the file)"
        return None, "", "the file names no image and no image is named like it"


def _ambiguous(pages: list[ArchivePage], what: str) -> str:
    names = ", ".join(p.image or p.image_url for p in pages[:3])
    return f"{len(pages)} images fit {what} ({names}); none was chosen"
