"""ALTO and PAGE XML: read ALTO (v2, v3, v4) and PAGE (2013, 2019) into plain parse results,
write a page back as ALTO v4, PAGE 2019 or plain text.

Pure: no store, no Textual, no network. ``parse_layout_xml`` is the entry point for reading
(``safe_parse``, then the ``alto`` or ``page`` reader, both built on ``reader``; shared names in
``common``); ``write_alto``, ``write_page`` and ``write_text`` (``write``) for writing.

What it does beyond a literal reading (each counted in ``ParsedPage.repairs``, see ``Repair``):
coordinates outside the page are clamped onto it; decimal PAGE coordinates are kept as floats;
ALTO lines without ``BASELINE`` get one from their ``String`` boxes (or their own box); the old
one-number ALTO ``BASELINE`` becomes a horizontal line across the line box; blocks and lines with
only ``HPOS/VPOS/WIDTH/HEIGHT`` get a box polygon; PAGE lines with text only on ``Word`` level get
the words joined with spaces; ALTO ``String``s with no ``SP`` between them are joined with a space;
elements without usable coordinates are skipped. Consecutive duplicate points are dropped
(as kraken does). Regions nested in regions are all returned (an ALTO ``ComposedBlock`` that
holds blocks is replaced by those blocks).

Coordinates are returned in the coordinate system of the image: when ``image_size`` is given
and differs from the page size in the XML (or the ALTO unit is ``mm10``/``inch1200``), every
point is scaled and ``ParsedPage.scale_note`` says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from esctui.formats.xml.alto import AltoReader
from esctui.formats.xml.common import (
    ALTO_V4_NAMESPACE,
    DEFAULT_LINE_TYPE,
    PAGE_2019_NAMESPACE,
    LayoutXmlError,
    ParsedLine,
    ParsedPage,
    ParsedRegion,
    Repair,
    local_name,
    namespace_of,
    schema_for,
    validate_layout_xml,
)
from esctui.formats.xml.page import PageReader
from esctui.formats.xml.safe_parse import DEFAULT_MAX_BYTES, parse_xml, read_source
from esctui.formats.xml.write import (
    ExportedPage,
    ExportNote,
    ExportPage,
    write_alto,
    write_page,
    write_text,
)

__all__ = [
    "ALTO_V4_NAMESPACE",
    "DEFAULT_LINE_TYPE",
    "DEFAULT_MAX_BYTES",
    "PAGE_2019_NAMESPACE",
    "ExportNote",
    "ExportPage",
    "ExportedPage",
    "LayoutXmlError",
    "OpenedLayout",
    "ParsedLine",
    "ParsedPage",
    "ParsedRegion",
    "Repair",
    "open_layout_xml",
    "parse_layout_xml",
    "read_layout_xml",
    "schema_for",
    "validate_layout_xml",
    "validate_opened",
    "write_alto",
    "write_page",
    "write_text",
]


def _not_layout_message(root: etree._Element) -> str:
    local = local_name(root.tag)
    namespace = namespace_of(root.tag)
    described = f"<{local}>" + (f" (namespace {namespace})" if namespace else "")
    hint = ""
    everything = namespace + " " + " ".join(root.attrib.values())
    if "abbyy" in everything.lower():
        hint = (
            " It looks like ABBYY FineReader XML, which cannot be imported; "
            "export ALTO or PAGE XML from FineReader instead."
        )
    elif local.lower() == "html":
        hint = " It looks like HTML (perhaps hOCR), which cannot be imported."
    return (
        f"this XML file is neither ALTO nor PAGE; its root element is {described}, "
        f"where <alto> or <PcGts> was expected.{hint}"
    )


@dataclass
class OpenedLayout:
    """An ALTO or PAGE file parsed into its XML tree, not read yet: enough to know its format
    and the image it names (to find its page, whose size the reading then needs)."""

    root: etree._Element
    name: str
    format: str  # "alto" or "page"
    image_filename: str


def open_layout_xml(
    source: bytes | Path, *, name: str = "", max_bytes: int = DEFAULT_MAX_BYTES
) -> OpenedLayout:
    """Parse one ALTO or PAGE file (safely) and say what it is and which image it names.

    Raises ``LayoutXmlError`` when it is not XML, not ALTO or PAGE, or refused.
    """
    if not name:
        name = Path(source).name if isinstance(source, os.PathLike) else "XML data"
    data = read_source(source, name, max_bytes)
    root = parse_xml(data, name)
    local = local_name(root.tag)
    prefix = f"{{{namespace_of(root.tag)}}}" if root.tag.startswith("{") else ""
    if local == "alto":
        found = root.find(f"{prefix}Description/{prefix}sourceImageInformation/{prefix}fileName")
        image = (found.text or "") if found is not None else ""
        return OpenedLayout(root, name, "alto", image.strip())
    if local == "PcGts":
        page = root.find(f"{prefix}Page")
        image = (page.get("imageFilename") or "") if page is not None else ""
        return OpenedLayout(root, name, "page", image.strip())
    raise LayoutXmlError(name, _not_layout_message(root))


def read_layout_xml(
    opened: OpenedLayout,
    *,
    image_size: tuple[int, int] | None = None,
    validate: bool = True,
) -> ParsedPage:
    """Read an opened file into a ``ParsedPage`` (see ``parse_layout_xml``)."""
    reader = AltoReader if opened.format == "alto" else PageReader
    result = reader(opened.root, opened.name).read(image_size)
    if validate:
        result.validation = validate_opened(opened, result)
    if not result.image_filename:
        result.warnings.append(
            "The file does not name its image; it can only be matched by its own file name."
        )
    return result


def validate_opened(opened: OpenedLayout, result: ParsedPage) -> list[str]:
    """Schema messages for an opened file (empty when valid); lxml validates without the GIL,
    so a thread may do this while the next file is read."""
    return validate_layout_xml(opened.root, result.format, result.version)


def parse_layout_xml(
    source: bytes | Path,
    *,
    name: str = "",
    image_size: tuple[int, int] | None = None,
    validate: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ParsedPage:
    """Read one ALTO or PAGE file (bytes or a path) into a ``ParsedPage``.

    ``name`` is used in messages (default: the file name). ``image_size`` (width, height)
    scales coordinates to the image when the XML's page differs. ``validate`` checks the file
    against the shipped schema; problems go to ``ParsedPage.validation`` and do not stop the
    reading. Raises ``LayoutXmlError`` when the file cannot be read as ALTO or PAGE.
    """
    opened = open_layout_xml(source, name=name, max_bytes=max_bytes)
    return read_layout_xml(opened, image_size=image_size, validate=validate)
