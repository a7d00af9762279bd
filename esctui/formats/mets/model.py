"""METS records: settings, files, file groups, pages, the document read, its errors."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

from esctui.domain.errors import EsctuiError
from esctui.formats.safe_zip import SkippedEntry

XLINK_NAMESPACE = "http://www.w3.org/1999/xlink"
MODS_NAMESPACE = "http://www.loc.gov/mods/v3"
DFG_VIEWER_NAMESPACE = "http://dfg-viewer.de/"
XLINK_HREF = f"{{{XLINK_NAMESPACE}}}href"

DEFAULT_VERSION_NAME = "METS Import"  # eScriptorium's default; versions are "<name> | <USE>"

# Image groups by preference: the largest first (DFG viewer: MAX > DEFAULT > MIN > THUMBS;
# archives: ORIGINAL/MASTER; OCR-D: OCR-D-IMG; Transkribus: IMG; eScriptorium: image).
IMAGE_GROUPS = (
    "MAX",
    "DEFAULT",
    "IMAGE",
    "IMAGES",
    "ORIGINAL",
    "MASTER",
    "OCR-D-IMG",
    "IMG",
    "PRESENTATION",
)
SMALL_IMAGE_GROUPS = frozenset({"MIN", "THUMB", "THUMBS", "THUMBNAIL", "THUMBNAILS", "TEASER"})
ALTO_MIMETYPES = frozenset({"application/alto+xml", "text/xml+alto", "application/xml+alto"})
PAGE_MIMETYPES = frozenset({"application/vnd.prima.page+xml", "application/page+xml"})


class MetsError(EsctuiError):
    """The METS as a whole cannot be used: the message is ``"<METS name>: <reason>"``."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class GroupKind:
    """What a file group holds (values of ``MetsFileGroup.kind``)."""

    IMAGE = "image"
    TRANSCRIPTION = "transcription"
    OTHER = "other"


@dataclass(frozen=True)
class MetsSettings:
    """Limits and choices for reading METS files.

    Attributes:
        max_pages: a METS (or a walk of linked METS files) with more pages is refused.
        max_files: a METS with more ``file`` entries is refused (a page has one per group).
        max_bytes: a larger METS file is refused.
        allowed_domains: the hosts files may come from (each also allows its subdomains; "*"
            allows any); None allows any host. Applies to every resolved URL.
        max_depth: how many levels of child METS files ``MetsWalk`` follows.
        max_documents: how many METS files ``MetsWalk`` reads at most.
    """

    max_pages: int = 10_000
    max_files: int = 100_000
    max_bytes: int = 50_000_000
    allowed_domains: tuple[str, ...] | None = None
    max_depth: int = 2
    max_documents: int = 500


DEFAULT_SETTINGS = MetsSettings()


class LocalFiles(Protocol):
    """The files beside a METS file: a folder (``FolderFiles``) or an archive's entries.

    Paths are POSIX style, relative to the root of the folder or archive, normalised.
    """

    @property
    def label(self) -> str:
        """How the folder or archive is named in messages."""
        ...

    @property
    def mets_path(self) -> str:
        """Where the METS file itself is ("" when it is not among these files)."""
        ...

    def problem(self, path: str) -> str | None:
        """Why the file at ``path`` cannot be used (e.g. it does not exist), or None."""
        ...

    def head(self, path: str, size: int) -> bytes:
        """The first ``size`` bytes of the file at ``path`` (b"" when it cannot be read)."""
        ...

    def at(self, mets_path: str) -> LocalFiles:
        """The same files, seen from the METS file at ``mets_path`` (for linked METS files)."""
        ...


@dataclass(frozen=True)
class FolderFiles:
    """The files of a folder on this computer; nothing outside ``root`` is used.

    Attributes:
        root: the folder; hrefs may not lead out of it (not with ``..``, not via a link).
        mets_path: the METS file's path inside ``root`` ("" when it is not in ``root``: its
            hrefs are then taken relative to ``root``).
    """

    root: Path
    mets_path: str = ""

    @property
    def label(self) -> str:
        return f"the folder {self.root}"

    def full_path(self, path: str) -> Path:
        """The file on disk for a ``MetsFile.path``."""
        return self.root.joinpath(*path.split("/"))

    def problem(self, path: str) -> str | None:
        full = self.full_path(path)
        try:
            real = full.resolve()
            inside = real.is_relative_to(self.root.resolve())
        except (OSError, RuntimeError) as exc:  # RuntimeError: a loop of symbolic links
            return f"it cannot be opened ({exc})"
        if not inside:
            return f"it leads out of {self.label} (through a symbolic link)"
        if not real.is_file():
            return f"there is no such file in {self.label}"
        return None

    def head(self, path: str, size: int) -> bytes:
        try:
            with self.full_path(path).open("rb") as stream:
                return stream.read(size)
        except OSError:
            return b""

    def at(self, mets_path: str) -> FolderFiles:
        return dataclasses.replace(self, mets_path=mets_path)


@dataclass(frozen=True)
class MetsFile:
    """A file a page points at, and where to get it.

    Attributes:
        id: the file's ID in the fileSec.
        group: the name of its file group (see ``MetsFileGroup.use``).
        href: the address as the METS writes it.
        mimetype: its MIMETYPE as written ("" when none).
        url: the absolute http(s) URL to fetch it from ("" for a local file).
        path: its path in the METS's folder or archive, POSIX style, relative to the root of
            the folder or archive ("" for a remote file).
    """

    id: str
    group: str
    href: str
    mimetype: str = ""
    url: str = ""
    path: str = ""

    @property
    def is_remote(self) -> bool:
        return bool(self.url)

    @property
    def file_name(self) -> str:
        """The last part of its path or URL (percent-decoded), e.g. ``0001.jpg``."""
        where = urlsplit(self.url).path if self.url else self.path
        return unquote(where.rstrip("/").rsplit("/", 1)[-1])


@dataclass
class MetsFileGroup:
    """A file group of the fileSec and what its files are.

    Attributes:
        use: its name: the group's USE (or the file's own USE), else its ID (Transkribus
            writes IDs only: ``IMG``, ``PAGEXML``, ``ALTO``).
        kind: a ``GroupKind`` value.
        format: for a transcription group "alto" or "page", "" when only reading the files
            will tell.
        files: how many files it lists.
        mimetypes: the MIMETYPEs its files declare.
        version_name: the transcription version its files go into, ``"<name> | <use>"``
            ("" for other groups).
        note: how its kind or format was told, or why it is not used, in plain words.
    """

    use: str
    kind: str
    format: str = ""
    files: int = 0
    mimetypes: tuple[str, ...] = ()
    version_name: str = ""
    note: str = ""


@dataclass
class MetsPage:
    """One page of the document, in the METS's order.

    Attributes:
        index: its position in the document, from 1.
        id: the ID of its structMap ``div``.
        label: its ORDERLABEL, else LABEL, else ORDER, else its position.
        order: its ORDER as a number, or None.
        image: its file in the chosen image group, or None.
        transcriptions: its ALTO/PAGE file in each transcription group, by group name.
        notes: what is wrong with this page, in plain words.
    """

    index: int
    id: str
    label: str
    order: int | None = None
    image: MetsFile | None = None
    transcriptions: dict[str, MetsFile] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MetsLink:
    """An ``mptr`` link to another METS file.

    Attributes:
        label: the linking div's LABEL, ORDERLABEL, ORDER or TYPE.
        href: the address as written.
        direction: "child" (a part of this document, e.g. a volume of a multi-volume work) or
            "parent" (the work this METS is a part of); only children are followed.
        url: where to fetch it ("" when local or refused).
        path: where it is in the folder or archive ("" when remote or refused).
        problem: why it cannot be followed ("" when it can).
    """

    label: str
    href: str
    direction: str
    url: str = ""
    path: str = ""
    problem: str = ""

    @property
    def key(self) -> str:
        """Identifies the linked file (to read each once and to find loops)."""
        return document_key(self.url, self.path)


@dataclass
class MetsDocument:
    """What a METS file says: pages in order with their files, file groups, description.

    Attributes:
        source: where the METS came from: its URL, its file path, or ``archive: path``.
        title: the document's title ("" when the METS gives none).
        fields: the description as (label, value) pairs, in display order.
        pages: the pages, in order.
        groups: every file group, in fileSec order.
        image_group: the name of the image group the pages' images come from ("" when none).
        image_group_reason: why that group was chosen, in plain words.
        page_order: where the page order comes from, in plain words.
        children: links to child METS files (follow them with ``MetsWalk``).
        parents: links to the METS of the work this one is part of (reported, not followed).
        skipped: files that cannot be used, each with the reason.
        notes: other things the user should know, in plain words.
        oai_identifier: the OAI-PMH record identifier when the METS came wrapped in one.
        key: identifies this METS file among linked ones.
        files: the folder or archive its local files are in (None for a remote METS).
    """

    source: str
    title: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    pages: list[MetsPage] = field(default_factory=list)
    groups: list[MetsFileGroup] = field(default_factory=list)
    image_group: str = ""
    image_group_reason: str = ""
    page_order: str = ""
    children: list[MetsLink] = field(default_factory=list)
    parents: list[MetsLink] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    oai_identifier: str = ""
    key: str = ""
    files: LocalFiles | None = field(default=None, repr=False)

    @property
    def image_groups(self) -> list[str]:
        """The names of all groups that hold images (the chosen one among them)."""
        return [group.use for group in self.groups if group.kind == GroupKind.IMAGE]

    @property
    def transcription_groups(self) -> list[MetsFileGroup]:
        """The ALTO/PAGE groups, each a transcription version."""
        return [group for group in self.groups if group.kind == GroupKind.TRANSCRIPTION]

    def group(self, use: str) -> MetsFileGroup | None:
        """The group called ``use`` (compared ignoring case), or None."""
        wanted = use.casefold()
        return next((g for g in self.groups if g.use.casefold() == wanted), None)

    def metadata_pairs(self) -> dict[str, str]:
        """The description as label -> value (repeated labels joined with "; "), plus source."""
        pairs: dict[str, str] = {}
        entries = [("Title", self.title)] if self.title else []
        entries += [*self.fields, ("METS", self.source)]
        if self.oai_identifier:
            entries.append(("OAI identifier", self.oai_identifier))
        for label, value in entries:
            pairs[label] = f"{pairs[label]}; {value}" if label in pairs else value
        return pairs

    def description_text(self) -> str:
        """A human-readable description block: title, fields, source (as the IIIF import)."""
        blocks: list[str] = []
        if self.title:
            blocks.append(self.title)
        if self.fields:
            blocks.append("\n".join(f"{label}: {value}" for label, value in self.fields))
        tail = [f"METS: {self.source}"]
        if self.oai_identifier:
            tail.append(f"OAI identifier: {self.oai_identifier}")
        blocks.append("\n".join(tail))
        return "\n\n".join(blocks)


def document_key(url: str, path: str) -> str:
    """The key of a METS file: its URL without the fragment, or its local path."""
    if url:
        parts = urlsplit(url)
        return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))
    return f"local:{path}"
