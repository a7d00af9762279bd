"""Entry points: ``read_mets`` (a METS or OAI-PMH GetRecord) and ``MetsWalk`` (mptr links)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from esctui.formats.mets.model import (
    DEFAULT_SETTINGS,
    DEFAULT_VERSION_NAME,
    FolderFiles,
    LocalFiles,
    MetsDocument,
    MetsError,
    MetsLink,
    MetsSettings,
)
from esctui.formats.mets.structure import MetsReader
from esctui.formats.safe_zip import SkippedEntry
from esctui.formats.sniff import (
    METS_NAMESPACE,
    OAI_NAMESPACE,
    describe_start,
)
from esctui.formats.xml.common import LayoutXmlError, local_name, namespace_of
from esctui.formats.xml.safe_parse import ENTITY_REFUSAL, parse_xml, read_source


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
    document = MetsReader(root, label, files, settings, image_group, version_name).read()
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
