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
    "ParsedLine",
    "ParsedPage",
    "ParsedRegion",
    "Repair",
    "parse_layout_xml",
    "schema_for",
    "validate_layout_xml",
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
    if not name:
        name = Path(source).name if isinstance(source, os.PathLike) else "XML data"
    data = read_source(source, name, max_bytes)
    root = parse_xml(data, name)
    local = local_name(root.tag)
    if local == "alto":
        result = AltoReader(root, name).read(image_size)
    elif local == "PcGts":
        result = PageReader(root, name).read(image_size)
    else:
        raise LayoutXmlError(name, _not_layout_message(root))
    if validate:
        result.validation = validate_layout_xml(root, result.format, result.version)
    if not result.image_filename:
        result.warnings.append(
            "The file does not name its image; it can only be matched by its own file name."
        )
    return result
