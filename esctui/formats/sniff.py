"""What a file is, from its name and its first bytes, without reading all of it.

``sniff_xml(head)`` reads the start of an XML file with the hardened parser settings of
``formats.xml.safe_parse`` (no entities, no DTD, no network) and stops as soon as it knows the kind (ALTO,
PAGE, METS, an OAI-PMH answer, other XML) and, for ALTO and PAGE, the image the file names
(PAGE ``Page/@imageFilename``, ALTO ``Description/sourceImageInformation/fileName``).
``sniff_image(head)`` tells an image by its signature. ``IMAGE_SUFFIXES`` are the file name
endings taken for images.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from esctui.formats.page_names import IMAGE_SUFFIXES
from esctui.formats.xml.common import local_name, namespace_of
from esctui.formats.xml.safe_parse import ENTITY_REFUSAL, declares_entities

__all__ = ["IMAGE_SUFFIXES", "XmlKind", "XmlSniff", "sniff_image", "sniff_xml"]

XML_SUFFIXES = (".xml", ".alto")
METS_NAMESPACE = "http://www.loc.gov/METS/"
OAI_NAMESPACE = "http://www.openarchives.org/OAI/2.0/"
HEAD_BYTES = 256 * 1024  # enough for any ALTO Description or PAGE Metadata seen in practice
_FEED = 16 * 1024


class XmlKind:
    """The kinds of XML files told apart (values of ``XmlSniff.kind``)."""

    ALTO = "alto"
    PAGE = "page"
    METS = "mets"
    OAI_PMH = "oai-pmh"
    OTHER = "other"  # well-formed so far, but none of the above
    UNREADABLE = "unreadable"  # not XML, or refused (see ``XmlSniff.problem``)


@dataclass(frozen=True)
class XmlSniff:
    """What the start of an XML file says about it.

    Attributes:
        kind: an ``XmlKind`` value.
        root: the root element's local name ("" when none was read).
        namespace: the root element's namespace ("" when none).
        image_filename: the page image an ALTO or PAGE file names ("" when it names none).
        problem: why the file cannot be read, in plain words ("" when it can).
    """

    kind: str
    root: str = ""
    namespace: str = ""
    image_filename: str = ""
    problem: str = ""

    @property
    def is_layout(self) -> bool:
        """ALTO or PAGE."""
        return self.kind in (XmlKind.ALTO, XmlKind.PAGE)

    def described(self) -> str:
        """The root element in words, e.g. ``<trpDocMetadata>`` or ``<TEI> (namespace …)``."""
        if not self.root:
            return "no root element"
        return f"<{self.root}>" + (f" (namespace {self.namespace})" if self.namespace else "")


def _pull_parser() -> etree.XMLPullParser:
    return etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def sniff_xml(head: bytes) -> XmlSniff:
    """Read the start of an XML file (up to ``HEAD_BYTES`` are looked at) and say what it is."""
    head = head[:HEAD_BYTES]
    stripped = head.lstrip()
    if not stripped:
        return XmlSniff(XmlKind.UNREADABLE, problem="the file is empty.")
    if not stripped.startswith((b"<", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return XmlSniff(
            XmlKind.UNREADABLE, problem="this is not an XML file (it does not start with '<')."
        )
    if declares_entities(head):
        return XmlSniff(XmlKind.UNREADABLE, problem=ENTITY_REFUSAL)
    parser = _pull_parser()
    root = ""
    namespace = ""
    kind = ""
    in_source_info = False
    try:
        for start in range(0, len(head), _FEED):
            parser.feed(head[start : start + _FEED])
            for event, element in parser.read_events():
                local = local_name(element.tag)
                if not root:
                    root, namespace = local, namespace_of(element.tag)
                    kind = _kind_of_root(local, namespace)
                    if kind not in (XmlKind.ALTO, XmlKind.PAGE):
                        return XmlSniff(kind, root, namespace)
                    continue
                if kind == XmlKind.PAGE and event == "start" and local == "Page":
                    name = (element.get("imageFilename") or "").strip()
                    return XmlSniff(kind, root, namespace, name)
                if kind == XmlKind.ALTO:
                    if local == "sourceImageInformation":
                        in_source_info = event == "start"
                    elif in_source_info and event == "end" and local == "fileName":
                        return XmlSniff(kind, root, namespace, (element.text or "").strip())
                    elif event == "start" and local == "Layout":
                        return XmlSniff(kind, root, namespace)
    except etree.XMLSyntaxError as exc:
        message = str(exc.msg or exc).split(", line ")[0]
        return XmlSniff(
            XmlKind.UNREADABLE,
            root,
            namespace,
            problem=f"the XML is not well-formed ({message}).",
        )
    if not root:
        return XmlSniff(XmlKind.UNREADABLE, problem="no XML element was found at its start.")
    return XmlSniff(kind, root, namespace)


def _kind_of_root(local: str, namespace: str) -> str:
    if local == "alto":
        return XmlKind.ALTO
    if local == "PcGts":
        return XmlKind.PAGE
    if local == "mets" and namespace in (METS_NAMESPACE, ""):
        return XmlKind.METS
    if local == "OAI-PMH" and namespace == OAI_NAMESPACE:
        return XmlKind.OAI_PMH
    return XmlKind.OTHER


_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),  # raw codestream (.j2k)
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
)


def sniff_image(head: bytes) -> str:
    """The image format the first bytes announce ("JPEG", "PNG", "TIFF", …), or ""."""
    for signature, name in _IMAGE_SIGNATURES:
        if head.startswith(signature):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return ""


def describe_start(head: bytes) -> str:
    """A few words on what the bytes look like, for refusals ("an HTML page", "JSON", …)."""
    start = head.lstrip()[:200].lower()
    if start.startswith((b"<!doctype html", b"<html")) or b"<html" in start:
        return "a web page (HTML)"
    if start.startswith((b"{", b"[")):
        return "JSON (perhaps a IIIF manifest)"
    if start.startswith(b"%pdf"):
        return "a PDF file"
    if start.startswith(b"pk\x03\x04"):
        return "a ZIP archive"
    if fmt := sniff_image(head):
        return f"a {fmt} image"
    return ""
