"""Read METS files: a document's pages in order, each page's image and ALTO/PAGE files, and
the document's description (MODS), from a local file, an archive entry or fetched bytes.

Pure: no store, no network. ``read_mets(source, base)`` is the entry point; ``base`` says where
the files the METS names are: an http(s) URL (the METS's own address: relative hrefs are
resolved against it), a folder (``Path``), or any ``LocalFiles`` (``archive.py`` gives the
entries of a ZIP). ``MetsWalk`` follows ``mptr`` links to child METS files (the volumes of a
multi-volume work) once each, to a depth limit, with the bytes the caller fetched.

What is read:
- the METS root, or the METS inside an OAI-PMH ``GetRecord`` answer (``record/metadata``);
- pages from the PHYSICAL structMap (Transkribus writes ``TYPE="MANUSCRIPT"``; without any, the
  image group's files in order), ``div`` elements whose TYPE names a page, nested at any depth,
  siblings in ``ORDER`` when all have one; labels from ORDERLABEL, LABEL or ORDER;
- each page's files via ``fptr/@FILEID`` and ``fptr//area/@FILEID``; files from
  ``fileSec//fileGrp`` (USE, else ID) with ``FLocat/@xlink:href`` and MIMETYPE;
- one image group: the one asked for, else the largest by the usual names (``IMAGE_GROUPS``);
- every ALTO/PAGE group as a transcription version ``"<name> | <USE>"`` (as eScriptorium names
  them), ALTO or PAGE told by MIMETYPE, else by the start of a local file, else by the name;
- the description from the document's MODS (title, names, dates, place, holding institution,
  shelfmark, identifiers, language, extent, notes, rights), DFG ``dv:rights`` and Transkribus'
  ``trpDocMetadata``.

Refused, with a ``MetsError`` naming the METS: files that are not XML or not METS, cut short,
declaring entities (XXE), larger than ``max_bytes``, with more than ``max_pages`` pages or
``max_files`` files, and a loop of ``mptr`` links. Refused per file, with a reason in
``MetsDocument.skipped`` naming the file: ``file://`` and other non-http addresses, absolute
local paths, ``../`` leading out of the folder or archive, hosts outside ``allowed_domains``,
local files that do not exist.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from lxml import etree

from esctui.domain.errors import EsctuiError
from esctui.formats.safe_zip import SkippedEntry
from esctui.formats.sniff import (
    HEAD_BYTES,
    IMAGE_SUFFIXES,
    METS_NAMESPACE,
    OAI_NAMESPACE,
    XML_SUFFIXES,
    XmlKind,
    describe_start,
    sniff_xml,
)
from esctui.formats.xml.common import LayoutXmlError, local_name, namespace_of
from esctui.formats.xml.safe_parse import ENTITY_REFUSAL, parse_xml, read_source

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
        return _document_key(self.url, self.path)


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


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def read_mets(
    source: bytes | Path,
    base: str | Path | LocalFiles | None = None,
    *,
    name: str = "",
    image_group: str | None = None,
    version_name: str = DEFAULT_VERSION_NAME,
    settings: MetsSettings = DEFAULT_SETTINGS,
) -> MetsDocument:
    """Read a METS file (bytes, or a path) into a ``MetsDocument``.

    ``base`` is where the files it names are: the METS's http(s) URL (for fetched bytes), a
    folder, or a ``LocalFiles``; for a path it defaults to the file's folder. ``name`` names
    the METS in messages (default: its URL or file name). ``image_group`` picks the image group
    by USE (ignoring case); ``version_name`` starts the transcription version names.
    Raises ``MetsError`` when the METS as a whole cannot be used.
    """
    files: str | LocalFiles | None
    if isinstance(source, Path):
        if base is None:
            files = FolderFiles(source.parent, source.name)
        elif isinstance(base, Path):
            files = FolderFiles(base, _path_inside(source, base))
        else:
            files = base
        label = name or str(source)
    else:
        files = FolderFiles(base) if isinstance(base, Path) else base
        label = name or (files if isinstance(files, str) else "the METS file")
    if isinstance(files, str) and urlsplit(files).scheme.lower() not in ("http", "https"):
        raise MetsError(label, f"{files!r} is not an http(s) address to resolve its files against.")
    try:
        data = read_source(source, label, settings.max_bytes)
        root = parse_xml(data, label)
    except LayoutXmlError as error:
        raise MetsError(label, _mets_reason(error.reason, source)) from error
    root, oai_identifier = _unwrap_oai(root, label)
    document = _Reader(root, label, files, settings, image_group, version_name).read()
    document.oai_identifier = oai_identifier
    return document


def _path_inside(path: Path, root: Path) -> str:
    """``path`` as a POSIX path relative to ``root`` ("" when it is ``root`` or outside it)."""
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        return ""
    return "" if str(relative) == "." else relative.as_posix()


def _mets_reason(reason: str, source: bytes | Path) -> str:
    """The safe parser's reason, worded for a METS file."""
    if reason == ENTITY_REFUSAL:
        return (
            "the file declares XML entities in a DOCTYPE. METS files never need them and they "
            "can be used to attack the computer (XXE, 'billion laughs'), so the file is refused."
        )
    if reason.startswith("this is not an XML file"):
        head = source[:512] if isinstance(source, bytes) else b""
        if isinstance(source, Path):
            try:
                with source.open("rb") as stream:
                    head = stream.read(512)
            except OSError:
                pass
        if what := describe_start(head):
            return f"this is not a METS file: it looks like {what}."
        return "this is not a METS file: it is not XML (it does not start with '<')."
    return reason


def _unwrap_oai(root: etree._Element, label: str) -> tuple[etree._Element, str]:
    """The METS root, taken out of an OAI-PMH answer when wrapped; and the OAI identifier."""
    local, namespace = local_name(root.tag), namespace_of(root.tag)
    if local == "mets" and namespace in (METS_NAMESPACE, ""):
        return root, ""
    if local == "OAI-PMH" and namespace == OAI_NAMESPACE:
        oai = f"{{{OAI_NAMESPACE}}}"
        error = root.find(f"{oai}error")
        if error is not None:
            code = error.get("code") or "error"
            text = " ".join((error.text or "").split())
            raise MetsError(
                label,
                f"the OAI-PMH server answered with an error ({code}"
                + (f": {text}" if text else "")
                + "), not with a METS record.",
            )
        record = root.find(f"{oai}GetRecord/{oai}record")
        if record is None:
            record = root.find(f".//{oai}record")
        if record is None:
            raise MetsError(label, "this OAI-PMH answer holds no record (a GetRecord is needed).")
        header = record.find(f"{oai}header")
        identifier = ""
        if header is not None:
            identifier = (header.findtext(f"{oai}identifier") or "").strip()
            if header.get("status") == "deleted":
                raise MetsError(label, f"the OAI-PMH record {identifier} has been deleted.")
        mets = record.find(f"{oai}metadata/{{{METS_NAMESPACE}}}mets")
        if mets is None:
            raise MetsError(
                label,
                "this OAI-PMH record holds no METS (ask the server for metadataPrefix=mets).",
            )
        return mets, identifier
    described = f"<{local}>" + (f" (namespace {namespace})" if namespace else "")
    hint = ""
    if local == "PcGts":
        hint = " It is a PAGE XML file: import it as a transcription instead."
    elif local == "alto":
        hint = " It is an ALTO file: import it as a transcription instead."
    elif local.lower() == "html":
        hint = " It is a web page, perhaps an error or login page instead of the METS file."
    raise MetsError(
        label,
        f"this XML file is not METS; its root element is {described}, where <mets:mets> "
        f"was expected.{hint}",
    )


def _document_key(url: str, path: str) -> str:
    if url:
        parts = urlsplit(url)
        return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))
    return f"local:{path}"


# --------------------------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------------------------


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_PLAIN_PATH = re.compile(r"[^/?#.;][^?#;]*")  # a relative path without query, dots or params


class _Refused(Exception):
    """A file or link that cannot be used; the message is the reason."""


class _Resolver:
    """Turns hrefs into URLs or local paths, refusing what a METS may not point at."""

    def __init__(self, base: str | LocalFiles | None, settings: MetsSettings) -> None:
        self.base_url = base if isinstance(base, str) else ""
        self.files = None if isinstance(base, str) else base
        allowed = settings.allowed_domains
        self.allowed = None if allowed is None else tuple(d.strip().lower() for d in allowed)
        self._base_host_problem: str | None = None  # the METS's own host, checked once
        self._base_folder = ""  # scheme://host/path/ of the METS, for plain relative paths
        if self.base_url:
            parts = urlsplit(self.base_url)
            folder = parts.path.rsplit("/", 1)[0] + "/"
            self._base_folder = urlunsplit((parts.scheme, parts.netloc, folder, "", ""))
            try:
                self._checked_url(self.base_url)
            except _Refused as refusal:
                self._base_host_problem = str(refusal)

    def resolve(self, href: str) -> tuple[str, str]:
        """(url, "") for a remote file, ("", path) for a local one; raises ``_Refused``."""
        href = href.strip()
        if not href:
            raise _Refused("it has no address (its xlink:href is empty)")
        if "\x00" in href:
            raise _Refused("its address contains a NUL character")
        match = _SCHEME.match(href)
        scheme = match.group(1).lower() if match else ""
        if scheme == "file":
            raise _Refused(
                "it points at a file on this computer (file://), which a METS file may not do"
            )
        if len(scheme) == 1 or href.startswith("\\"):  # C:\scans\0001.tif, \\server\share
            raise _Refused("its path is absolute (a place on some computer's disk)")
        if scheme in ("http", "https"):
            return self._checked_url(href), ""
        if scheme:
            raise _Refused(
                f"its address starts with '{scheme}:', which cannot be fetched "
                "(only http and https addresses, or paths beside the METS file)"
            )
        if self.base_url and not href.startswith("//"):  # on the METS's own host
            if self._base_host_problem is not None:
                raise _Refused(self._base_host_problem)
            if _PLAIN_PATH.fullmatch(href) and "/." not in href:  # as urljoin, but faster
                return self._base_folder + href, ""
            return urljoin(self.base_url, href), ""
        if self.base_url:  # //host/path: another host, perhaps
            return self._checked_url(urljoin(self.base_url, href)), ""
        if self.files is None:
            raise _Refused(
                "its path is relative, but the METS was read without its address or folder"
            )
        return "", self._local_path(href, self.files)

    def _checked_url(self, url: str) -> str:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if not host:
            raise _Refused("its address names no host")
        if self.allowed is not None and "*" not in self.allowed:
            netloc = parts.netloc.lower().rsplit("@", 1)[-1]
            if not any(
                host == domain or host.endswith("." + domain) or netloc == domain
                for domain in self.allowed
            ):
                raise _Refused(
                    f"it is on {host}, which is not among the allowed hosts "
                    f"({', '.join(self.allowed) or 'none'})"
                )
        return url

    def _local_path(self, href: str, files: LocalFiles) -> str:
        relative = href.replace("\\", "/")
        if relative.startswith("/"):
            raise _Refused("its path is absolute (a place on some computer's disk)")
        folder = posixpath.dirname(files.mets_path)
        joined = posixpath.normpath(posixpath.join(folder or ".", relative))
        if joined == ".." or joined.startswith("../"):
            raise _Refused(f"its path goes up with '..' out of {files.label}")
        if joined in (".", ""):
            raise _Refused("its path names a folder, not a file")
        problem = files.problem(joined)
        decoded = unquote(joined)
        if problem is not None and decoded != joined and files.problem(decoded) is None:
            return decoded  # written percent-encoded (a URL path), stored with plain characters
        if problem is not None:
            raise _Refused(problem)
        return joined


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


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


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


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


class _Reader:
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
        self.resolver = _Resolver(base, settings)
        self.files = None if isinstance(base, str) else base
        key = ""
        if isinstance(base, str):
            key = _document_key(base, "")
        elif base is not None and base.mets_path:
            key = _document_key("", base.mets_path)
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
                except _Refused as refusal:
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
            label = _clean(div.get("ORDERLABEL") or div.get("LABEL")) or str(order or index)
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
                    label = _clean(
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
                    except _Refused as refusal:
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
        title, fields = _mods_description(mods) if mods is not None else ("", [])
        trp_title, trp_fields = self._transkribus_description()
        doc.title = title or trp_title or _clean(self.root.get("LABEL"))
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
            if (value := _clean(metadata.findtext(tag)))
        ]
        return _clean(metadata.findtext("title")), fields

    def _dfg_rights(self) -> list[tuple[str, str]]:
        rights = next(self.root.iter(f"{{{DFG_VIEWER_NAMESPACE}}}rights"), None)
        if rights is None:
            return []
        dv = f"{{{DFG_VIEWER_NAMESPACE}}}"
        labels = (("owner", "Owner"), ("license", "Licence"), ("ownerSiteURL", "Owner website"))
        return [
            (label, value)
            for tag, label in labels
            if (value := _clean(rights.findtext(f"{dv}{tag}")))
        ]


# --------------------------------------------------------------------------------------------
# MODS
# --------------------------------------------------------------------------------------------

_MODS = f"{{{MODS_NAMESPACE}}}"
ROLE_NAMES = {
    "aut": "Author",
    "cre": "Creator",
    "scr": "Scribe",
    "edt": "Editor",
    "pbl": "Publisher",
    "prt": "Printer",
    "ill": "Illustrator",
    "trl": "Translator",
    "ctb": "Contributor",
    "own": "Former owner",
    "fmo": "Former owner",
    "dte": "Dedicatee",
    "rcp": "Addressee",
}
_MODS_SINGLE = (
    ("physicalDescription/extent", "Extent"),
    ("genre", "Genre"),
    ("abstract", "Summary"),
    ("note", "Note"),
    ("accessCondition", "Rights"),
    ("recordInfo/recordIdentifier", "Record identifier"),
)


def _m(path: str) -> str:
    return "/".join(f"{_MODS}{part}" for part in path.split("/"))


def _mods_title(mods: etree._Element) -> str:
    infos = mods.findall(_m("titleInfo"))
    info = next((i for i in infos if not i.get("type")), infos[0] if infos else None)
    if info is None:
        return ""
    title = " ".join(
        part
        for part in (_clean(info.findtext(_m("nonSort"))), _clean(info.findtext(_m("title"))))
        if part
    )
    if subtitle := _clean(info.findtext(_m("subTitle"))):
        title = f"{title}: {subtitle}" if title else subtitle
    numbers = [_clean(info.findtext(_m(tag))) for tag in ("partNumber", "partName")]
    if part := ", ".join(n for n in numbers if n):
        title = f"{title}. {part}" if title else part
    return title


def _mods_names(mods: etree._Element) -> Iterator[tuple[str, str]]:
    for name in mods.findall(_m("name")):
        shown = _clean(name.findtext(_m("displayForm")))
        if not shown:
            parts = {p.get("type") or "": _clean(p.text) for p in name.findall(_m("namePart"))}
            family, given = parts.pop("family", ""), parts.pop("given", "")
            shown = ", ".join(x for x in (family, given) if x) or " ".join(
                v for v in parts.values() if v
            )
            if dates := parts.get("date"):
                shown = shown.replace(dates, "").strip() + f" ({dates})"
        if not shown:
            continue
        terms = name.findall(_m("role/roleTerm"))
        text_term = next((t for t in terms if t.get("type") == "text"), None)
        code_term = next((t for t in terms if t.get("type") != "text"), None)
        role = _clean(text_term.text) if text_term is not None else ""
        if not role and code_term is not None:
            role = ROLE_NAMES.get(_clean(code_term.text).lower(), _clean(code_term.text))
        yield (role[:1].upper() + role[1:] if role else "Name"), shown


def _mods_dates(info: etree._Element) -> str:
    """The date of an originInfo: the key date, else the first; a range as "start–end"."""
    dates = [
        d
        for d in info
        if local_name(d.tag) in ("dateIssued", "dateCreated", "copyrightDate", "dateOther")
        and _clean(d.text)
    ]
    if not dates:
        return ""
    keyed = [d for d in dates if d.get("keyDate") == "yes"]
    kind = local_name((keyed or dates)[0].tag)
    same = [d for d in dates if local_name(d.tag) == kind]
    start = next((_clean(d.text) for d in same if d.get("point") == "start"), "")
    end = next((_clean(d.text) for d in same if d.get("point") == "end"), "")
    if start and end:
        return f"{start}–{end}"
    return _clean((keyed or dates)[0].text)


def _mods_description(mods: etree._Element) -> tuple[str, list[tuple[str, str]]]:
    """The title, and the other fields as (label, value) pairs, of one MODS record."""
    fields: list[tuple[str, str]] = list(_mods_names(mods))
    for info in mods.findall(_m("originInfo")):
        if info.get("eventType") == "digitization" or info.find(_m("dateCaptured")) is not None:
            continue  # when the scans were made, not the document
        if date := _mods_dates(info):
            fields.append(("Date", date))
        places = info.findall(_m("place/placeTerm"))
        place = next((p for p in places if p.get("type") == "text"), places[0] if places else None)
        if place is not None and _clean(place.text):
            fields.append(("Place", _clean(place.text)))
        if publisher := _clean(info.findtext(_m("publisher"))):
            fields.append(("Publisher", publisher))
    for location in mods.findall(_m("location")):
        if institution := _clean(location.findtext(_m("physicalLocation"))):
            fields.append(("Holding institution", institution))
        shelfmarks = location.findall(_m("shelfLocator"))
        shelfmarks += location.findall(_m("holdingSimple/copyInformation/shelfLocator"))
        fields += [("Shelfmark", _clean(s.text)) for s in shelfmarks if _clean(s.text)]
        if url := _clean(location.findtext(_m("url"))):
            fields.append(("Web page", url))
    for identifier in mods.findall(_m("identifier")):
        value = _clean(identifier.text)
        kind = (identifier.get("type") or "").strip()
        if not value:
            continue
        if kind.lower() in ("shelfmark", "signature", "callnumber", "call number"):
            fields.append(("Shelfmark", value))
        else:
            fields.append((f"Identifier ({kind})" if kind else "Identifier", value))
    languages = [_clean(t.text) for t in mods.findall(_m("language/languageTerm"))]
    if languages := [lang for lang in languages if lang]:
        fields.append(("Language", "; ".join(dict.fromkeys(languages))))
    for path, label in _MODS_SINGLE:
        fields += [(label, _clean(el.text)) for el in mods.findall(_m(path)) if _clean(el.text)]
    unique = list(dict.fromkeys(fields))
    return _mods_title(mods), unique


# --------------------------------------------------------------------------------------------
# Following links to other METS files
# --------------------------------------------------------------------------------------------


class MetsWalk:
    """Follows ``mptr`` links down to child METS files, each once, to a depth limit.

    The caller fetches: ``while (link := walk.next_link()) is not None: walk.add(link, data)``
    with the bytes at ``link.url`` (or the local file at ``link.path``). ``documents`` holds
    the METS files read, the first one first and each child after its parent, in link order.
    A link back to a METS on the way down is a loop: ``MetsError``. Links that are refused,
    already read, too deep or beyond ``max_documents`` are left in ``skipped`` with a reason.
    """

    def __init__(
        self,
        first: MetsDocument,
        *,
        image_group: str | None = None,
        version_name: str = DEFAULT_VERSION_NAME,
        settings: MetsSettings = DEFAULT_SETTINGS,
    ) -> None:
        self.documents: list[MetsDocument] = [first]
        self.skipped: list[SkippedEntry] = []
        self.settings = settings
        self.image_group = image_group
        self.version_name = version_name
        self._seen = {first.key}
        self._chains: dict[str, tuple[str, ...]] = {first.key: (first.key,)}
        self._names: dict[str, str] = {first.key: first.source}
        self._pages = len(first.pages)
        self._pending: list[tuple[MetsLink, MetsDocument]] = []
        self._queue_children(first)

    def _queue_children(self, parent: MetsDocument) -> None:
        chain = self._chains[parent.key]
        for link in parent.children:
            if not link.problem and link.key in chain:
                names = [self._names.get(key, key) for key in chain[chain.index(link.key) :]]
                loop = " → ".join([*names, self._names.get(link.key, link.href)])
                raise MetsError(
                    parent.source,
                    f"its mptr links lead in a loop ({loop}): the METS files point at each "
                    "other, so they cannot be read as one document.",
                )
        self._pending[0:0] = [(link, parent) for link in parent.children]

    def next_link(self) -> MetsLink | None:
        """The next child METS to fetch, or None when the walk is done."""
        while self._pending:
            link, parent = self._pending[0]
            depth = len(self._chains[parent.key])
            reason = ""
            if link.problem:
                reason = link.problem
            elif link.key in self._seen:
                reason = "it was read already (another link points at the same METS)"
            elif depth > self.settings.max_depth:
                reason = f"it is more than {self.settings.max_depth} levels down (not followed)"
            elif len(self.documents) >= self.settings.max_documents:
                reason = (
                    f"{self.settings.max_documents} METS files were read already "
                    "(the max_documents setting)"
                )
            if not reason:
                return link
            self._pending.pop(0)
            self.skipped.append(SkippedEntry(link.href or link.label, reason))
        return None

    def _take(self, link: MetsLink) -> MetsDocument:
        if not self._pending or self._pending[0][0] is not link:
            raise ValueError("pass the link next_link() returned last")
        return self._pending.pop(0)[1]

    def skip(self, link: MetsLink, reason: str) -> None:
        """Leave out the link ``next_link`` gave (e.g. it could not be fetched), with a reason."""
        self._take(link)
        self.skipped.append(SkippedEntry(link.href or link.label, reason))

    def add(self, link: MetsLink, data: bytes) -> MetsDocument:
        """Read the METS fetched for ``link`` (the one ``next_link`` gave) and queue its links."""
        parent = self._take(link)
        if link.url:
            base: str | LocalFiles | None = link.url
        elif parent.files is not None:
            base = parent.files.at(link.path)
        else:
            base = None
        name = link.url or (f"{link.path} (in {parent.files.label})" if parent.files else link.path)
        child = read_mets(
            data,
            base,
            name=name,
            image_group=self.image_group,
            version_name=self.version_name,
            settings=self.settings,
        )
        child.key = link.key
        self._pages += len(child.pages)
        if self._pages > self.settings.max_pages:
            raise MetsError(
                child.source,
                f"the linked METS files list more than {self.settings.max_pages:,} pages in "
                "all (the max_pages setting).",
            )
        self._seen.add(child.key)
        self._names[child.key] = child.source
        self._chains[child.key] = (*self._chains[parent.key], child.key)
        self.documents.append(child)
        self._queue_children(child)
        return child


# --------------------------------------------------------------------------------------------
# Writing: the METS of an export with images
# --------------------------------------------------------------------------------------------

_MIMETYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
    ".jp2": "image/jp2",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
}
XML_MIMETYPES = {"alto": "application/alto+xml", "page": "application/vnd.prima.page+xml"}


@dataclass(frozen=True)
class ExportedMetsPage:
    """One page of an export: its label, its image's and its XML file's paths in the export."""

    label: str
    image: str
    xml: str


def write_mets(pages: list[ExportedMetsPage], *, group: str, fmt: str, title: str = "") -> bytes:
    """A METS file tying an export's images and ALTO/PAGE files together, page by page in
    order (``fileGrp USE="image"`` and ``USE=group``, a PHYSICAL structMap), as eScriptorium's
    export writes it; ``read_mets`` (and so ``esctui import archive``) reads it back."""
    mets, xlink = f"{{{METS_NAMESPACE}}}", f"{{{XLINK_NAMESPACE}}}"
    root = etree.Element(mets + "mets", nsmap={None: METS_NAMESPACE, "xlink": XLINK_NAMESPACE})
    if title:
        root.set("LABEL", title)
    header = etree.SubElement(root, mets + "metsHdr")
    agent = etree.SubElement(header, mets + "agent", ROLE="CREATOR", TYPE="OTHER")
    agent.set("OTHERTYPE", "SOFTWARE")
    etree.SubElement(agent, mets + "name").text = "esctui"
    file_sec = etree.SubElement(root, mets + "fileSec")
    images = etree.SubElement(file_sec, mets + "fileGrp", USE="image")
    texts = etree.SubElement(file_sec, mets + "fileGrp", USE=group)
    structmap = etree.SubElement(root, mets + "structMap", TYPE="PHYSICAL")
    sequence = etree.SubElement(structmap, mets + "div", TYPE="physSequence")
    for number, page in enumerate(pages, 1):
        div = etree.SubElement(
            sequence, mets + "div", ID=f"page_{number}", TYPE="page", ORDER=str(number)
        )
        div.set("ORDERLABEL", page.label)
        for grp, prefix, href, mimetype in (
            (
                images,
                "image",
                page.image,
                _MIMETYPES.get(posixpath.splitext(page.image)[1].lower(), ""),
            ),
            (texts, "xml", page.xml, XML_MIMETYPES.get(fmt, "text/xml")),
        ):
            if not href:
                continue
            file_el = etree.SubElement(grp, mets + "file", ID=f"{prefix}_{number}")
            if mimetype:
                file_el.set("MIMETYPE", mimetype)
            flocat = etree.SubElement(file_el, mets + "FLocat", LOCTYPE="OTHER")
            flocat.set("OTHERLOCTYPE", "FILE")
            flocat.set(xlink + "href", href)
            etree.SubElement(div, mets + "fptr", FILEID=f"{prefix}_{number}")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
