"""Which local page, region, line and text is which object on an eScriptorium server.

Push and pull share one link file per document and server, in the document's folder::

    <data>/documents/<doc>/remote-links/<key>.json     key: sha256 of the server's address

    {"format": 1,
     "server": "https://escr.example.org",            the server's base address (no token)
     "document": 12, "project": "registers",          the remote document and its project
     "document_hash": "…",                            what was last sent of name, script, …
     "layers": {"<local version id>": 34},            version -> remote transcription layer
     "pages": {"<local part id>": {
         "pk": 77, "image": "<sha256 sent>",
         "hash": "…", "done": true,                   the page as last sent whole
         "regions": {"<region id>": [pk, "<hash>"]},
         "lines": {"<line id>": [pk, "<hash>"]},
         "texts": {"<line id> <version id>": [pk, "<hash>"]}}}}

A hash is of what was sent (``jobs.remote.payloads``), so a rerun sends only what changed.
``done`` is false while a page is being sent: a rerun then looks at the server's side of that
page before sending (a request the server took whose answer was lost is not sent twice).

The file is written atomically (temporary file, fsync, rename) while the data folder's lock
is held (``Store.transaction``), so two esctui processes never interleave their writes; the
document's folder holds it, so deleting the document forgets its links. Links naming pages
that no longer exist locally are dropped when the file is read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from esctui.domain.errors import StoreError
from esctui.store.atomic import atomic_write_bytes
from esctui.store.store import Store

LINKS_FOLDER = "remote-links"
FORMAT = 1

Link = list[Any]  # [remote pk, hash of what was sent]


@dataclass
class PageLink:
    """One local page and what of it is on the server."""

    pk: int
    image: str = ""  # sha256 of the image sent
    hash: str = ""  # the whole page as last sent
    done: bool = False  # every part of the page was sent (false while sending)
    regions: dict[str, Link] = field(default_factory=dict)
    lines: dict[str, Link] = field(default_factory=dict)
    texts: dict[str, Link] = field(default_factory=dict)  # "<line id> <version id>"

    def to_record(self) -> dict[str, Any]:
        return {
            "pk": self.pk,
            "image": self.image,
            "hash": self.hash,
            "done": self.done,
            "regions": self.regions,
            "lines": self.lines,
            "texts": self.texts,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> PageLink:
        return cls(
            pk=int(record["pk"]),
            image=str(record.get("image", "")),
            hash=str(record.get("hash", "")),
            done=bool(record.get("done", False)),
            regions=dict(record.get("regions") or {}),
            lines=dict(record.get("lines") or {}),
            texts=dict(record.get("texts") or {}),
        )


def text_key(line_id: str, version_id: str) -> str:
    """The key of one line's text in one version in ``PageLink.texts``."""
    return f"{line_id} {version_id}"


@dataclass
class DocumentLinks:
    """A local document and its counterpart on one server."""

    server: str
    document: int | None = None
    project: str = ""
    document_hash: str = ""
    layers: dict[str, int] = field(default_factory=dict)
    pages: dict[str, PageLink] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "server": self.server,
            "document": self.document,
            "project": self.project,
            "document_hash": self.document_hash,
            "layers": self.layers,
            "pages": {part_id: link.to_record() for part_id, link in self.pages.items()},
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> DocumentLinks:
        document = record.get("document")
        return cls(
            server=str(record.get("server", "")),
            document=int(document) if document is not None else None,
            project=str(record.get("project", "")),
            document_hash=str(record.get("document_hash", "")),
            layers={k: int(v) for k, v in (record.get("layers") or {}).items()},
            pages={k: PageLink.from_record(v) for k, v in (record.get("pages") or {}).items()},
        )

    def page_by_pk(self) -> dict[int, str]:
        """Remote part pk -> local part id."""
        return {link.pk: part_id for part_id, link in self.pages.items()}


def server_key(server_url: str) -> str:
    """The link file's name for a server: its address hashed (an address may hold any text)."""
    return hashlib.sha256(server_url.rstrip("/").encode()).hexdigest()[:24]


class RemoteLinks:
    """The link file of one document and one server."""

    def __init__(self, store: Store, document_id: str, server_url: str) -> None:
        self.store = store
        self.document_id = document_id
        self.server_url = server_url.rstrip("/")
        self.path = (
            store.document_dir(document_id) / LINKS_FOLDER / f"{server_key(self.server_url)}.json"
        )

    def load(self) -> DocumentLinks:
        """The links as stored (empty when the document was never pushed or pulled there);
        pages that no longer exist locally are left out."""
        record = _read(self.path)
        if record is None:
            return DocumentLinks(self.server_url)
        links = DocumentLinks.from_record(record)
        links.server = self.server_url
        existing = {part.id for part in self.store.list_parts(self.document_id)}
        links.pages = {k: v for k, v in links.pages.items() if k in existing}
        return links

    def save(self, links: DocumentLinks) -> None:
        """Replace the stored links, atomically, under the data folder's lock."""
        self.write(self.encode(links))

    @staticmethod
    def encode(links: DocumentLinks) -> bytes:
        """The file's bytes (taken where the links are changed, then written in a thread)."""
        record = links.to_record()
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def write(self, data: bytes) -> None:
        """Write ``encode``'s bytes, atomically, under the data folder's lock."""
        with self.store.transaction():
            self.store.get_document(self.document_id)  # still there
            atomic_write_bytes(self.path, data, durable=self.store.durable)

    def forget(self) -> None:
        """Remove the links (the remote document is gone); nothing changes on the server."""
        with self.store.transaction():
            self.path.unlink(missing_ok=True)


def linked_servers(store: Store, document_id: str) -> list[DocumentLinks]:
    """Every server a document was pushed to or pulled from (for the TUI and ``status``)."""
    folder = store.document_dir(document_id) / LINKS_FOLDER
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        record = _read(path)
        if record is not None:
            found.append(DocumentLinks.from_record(record))
    return found


def find_linked_document(store: Store, server_url: str, remote_document: int) -> str | None:
    """The local document linked to ``remote_document`` on that server (a pull resumed)."""
    name = f"{server_key(server_url.rstrip('/'))}.json"
    for document in store.list_documents():
        record = _read(store.document_dir(document.id) / LINKS_FOLDER / name)
        if record is not None and record.get("document") == remote_document:
            return document.id
    return None


def _read(path: Path) -> dict[str, Any] | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StoreError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        record = json.loads(raw)
    except ValueError:
        record = None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise StoreError(
            f"{path} is damaged or written by another esctui; remove it to push the document "
            "anew (nothing on the server changes)"
        )
    return record
