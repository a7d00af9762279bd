"""Parse untrusted XML safely: size-checked reading, no entities, no DTDs, no network.

A file that declares entities in a DOCTYPE is refused outright (XXE, "billion laughs"); the
parser itself resolves none and loads no DTD. One hardened parser per thread (lxml parsers
must not be shared between threads).
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from lxml import etree

from esctui.formats.xml.common import LayoutXmlError

DEFAULT_MAX_BYTES = 50_000_000

_local = threading.local()


def _safe_parser() -> etree.XMLParser:
    """One hardened parser per thread (lxml parsers must not be shared between threads)."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        _local.parser = parser
    return parser


def read_source(source: bytes | Path, name: str, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, os.PathLike):
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise LayoutXmlError(name, f"the file cannot be opened ({exc.strerror}).") from exc
        if size > max_bytes:
            raise LayoutXmlError(
                name,
                f"the file is {size / 1e6:.1f} MB; files larger than "
                f"{max_bytes / 1e6:.0f} MB are not read.",
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise LayoutXmlError(name, f"the file cannot be read ({exc.strerror}).") from exc
    else:
        raise TypeError("source must be bytes or a Path")
    if len(data) > max_bytes:
        raise LayoutXmlError(
            name,
            f"the file is {len(data) / 1e6:.1f} MB; files larger than "
            f"{max_bytes / 1e6:.0f} MB are not read.",
        )
    if not data.strip():
        raise LayoutXmlError(name, "the file is empty.")
    return data


ENTITY_REFUSAL = (
    "the file declares XML entities in a DOCTYPE. ALTO and PAGE never need them and they can "
    "be used to attack the computer (XXE, 'billion laughs'), so the file is refused."
)
_POSITION = re.compile(r",? line \d+, column \d+$")


def declares_entities(data: bytes) -> bool:
    """Whether an internal DOCTYPE subset declares entities (checked before parsing)."""
    start = data.find(b"<!DOCTYPE")
    if start < 0:
        return False
    end = data.find(b"]>", start)
    return b"<!ENTITY" in data[start : end if end > 0 else len(data)]


def parse_xml(data: bytes, name: str) -> etree._Element:
    """Parse with entities, DTDs and network off; refuse any document that declares entities."""
    if declares_entities(data):
        raise LayoutXmlError(name, f"{ENTITY_REFUSAL}")
    try:
        root = etree.fromstring(data, _safe_parser())
    except etree.XMLSyntaxError as exc:
        start = data.lstrip()[:4]
        if not start.startswith((b"<", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
            raise LayoutXmlError(
                name, "this is not an XML file (it does not start with '<')."
            ) from exc
        message = _POSITION.sub("", str(exc.msg or exc))
        if "entity" in message.lower() and "amplification" in message.lower():
            raise LayoutXmlError(name, f"{ENTITY_REFUSAL}") from exc
        last_line = data.rstrip().count(b"\n") + 1
        hint = ""
        if exc.lineno is not None and exc.lineno >= last_line:
            hint = " The file seems to be cut short (an incomplete download or copy?)."
        raise LayoutXmlError(
            name,
            f"the XML is not well-formed and cannot be read (line {exc.lineno}: {message}).{hint}",
        ) from exc
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise LayoutXmlError(name, f"{ENTITY_REFUSAL}")
    return root
