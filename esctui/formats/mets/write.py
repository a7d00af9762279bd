"""Writing the METS of an export with images."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from lxml import etree

from esctui.formats.mets.model import XLINK_NAMESPACE
from esctui.formats.sniff import (
    METS_NAMESPACE,
)

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
