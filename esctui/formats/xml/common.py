"""What the ALTO and PAGE readers and the writers share: namespaces, element and type tables,
the parse results (``ParsedPage`` and its regions and lines), the repairs counted while
reading, the error, and validation against the shipped XSD schemas (offline, compiled once).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from lxml import etree

from esctui.domain import DEFAULT_LINE_TYPE, Polygon, TagSet, Word
from esctui.domain.errors import FormatError

__all__ = ["DEFAULT_LINE_TYPE"]  # the one definition is the domain's (a Line's default type)

MAX_VALIDATION_MESSAGES = 20
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"

ALTO_V4_NAMESPACE = "http://www.loc.gov/standards/alto/ns-v4#"
PAGE_2019_NAMESPACE = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_FILES = {ALTO_V4_NAMESPACE: "alto-4-3.xsd", PAGE_2019_NAMESPACE: "pagecontent.xsd"}
DUMMY_BLOCK_PREFIX = "eSc_dummyblock_"  # eScriptorium: a TextBlock that stands for "no region"

# Region element -> default type when the file names none (the names kraken uses).
ALTO_BLOCK_TYPES = {
    "TextBlock": "text",
    "Illustration": "illustration",
    "GraphicalElement": "graphic",
    "ComposedBlock": "composed",
}
PAGE_REGION_TYPES = {
    "TextRegion": "text",
    "ImageRegion": "image",
    "LineDrawingRegion": "line drawing",
    "GraphicRegion": "graphic",
    "TableRegion": "table",
    "ChartRegion": "chart",
    "MapRegion": "map",
    "SeparatorRegion": "separator",
    "MathsRegion": "maths",
    "ChemRegion": "chem",
    "MusicRegion": "music",
    "AdvertRegion": "advert",
    "NoiseRegion": "noise",
    "UnknownRegion": "unknown",
    "CustomRegion": "custom",
}
ALTO_PAGE_AREAS = ("TopMargin", "LeftMargin", "RightMargin", "BottomMargin", "PrintSpace")
ALTO_UNITS = {"pixel": "pixels", "mm10": "tenths of a millimetre", "inch1200": "1/1200 inch"}


class Repair(StrEnum):
    """What was fixed while reading; the values are the plain-words keys of ``repairs``."""

    CLAMPED = "shapes with points outside the page moved onto its edge"
    DECIMAL_COORDINATES = "PAGE shapes with decimal coordinates kept as decimals"
    BASELINE_FROM_STRINGS = "ALTO baselines made from the word boxes"
    BASELINE_FROM_LINE_BOX = "ALTO baselines made from the line box"
    BASELINE_FROM_NUMBER = "old one-number ALTO BASELINE drawn across the line box"
    BOX_POLYGON = "polygons made from HPOS/VPOS/WIDTH/HEIGHT"
    TEXT_FROM_WORDS = "PAGE line texts joined from their words"
    SPACE_BETWEEN_STRINGS = "ALTO lines whose words had no SP between them (space added)"
    BASELINE_WITHOUT_WIDTH = (
        "ALTO lines with no width (WIDTH 0): baseline drawn from the line's start to the edge "
        "of its block"
    )
    UNREADABLE_POINTS = "unreadable point lists ignored"
    REGION_WITHOUT_COORDINATES = "regions without coordinates skipped"
    LINE_WITHOUT_COORDINATES = "lines without coordinates skipped"


class LayoutXmlError(FormatError):
    """The file cannot be read as ALTO or PAGE: ``reason`` says why; the message is
    ``"<file name>: <reason>"``."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(slots=True)
class ParsedRegion:
    """A region (block) as read from the XML, in image coordinates."""

    id: str
    type: str
    polygon: Polygon
    kind: str = ""  # the XML element, e.g. "TextBlock" or "ImageRegion"
    tags: TagSet = field(default_factory=dict)  # beyond the type: language, direction, ...


@dataclass(slots=True)
class ParsedLine:
    """A text line as read from the XML; ``text`` is None when the file holds no text for it."""

    id: str
    region_id: str | None
    type: str
    baseline: Polygon | None
    mask: Polygon | None
    text: str | None
    confidence: float | None
    tags: TagSet = field(default_factory=dict)  # beyond the type: language, split, ...
    words: list[Word] = field(default_factory=list)  # ALTO Strings / PAGE Words, when several


@dataclass
class ParsedPage:
    """Everything read from one ALTO or PAGE file; ``lines`` and ``regions`` in reading order."""

    format: str  # "alto" or "page"
    version: str
    image_filename: str
    width: int  # of the coordinate system of the polygons (the image size when one was given)
    height: int
    regions: list[ParsedRegion] = field(default_factory=list)
    lines: list[ParsedLine] = field(default_factory=list)
    typology: dict[str, dict[str, int]] = field(default_factory=dict)
    repairs: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    validation: list[str] = field(default_factory=list)
    scale_note: str = ""
    reading_order: str = "document order"  # where the order of lines comes from
    source_name: str = ""


DIRECTIONS = {  # PAGE readingDirection -> the ALTO BASEDIRECTION words kept as tags
    "left-to-right": "ltr",
    "right-to-left": "rtl",
    "top-to-bottom": "ttb",
    "bottom-to-top": "btt",
}
ALTO_DIRECTIONS = frozenset(DIRECTIONS.values())


def add_tag(tags: TagSet, kind: str, value: str) -> None:
    """Add ``value`` to ``tags[kind]`` (once; empty kinds or values are ignored)."""
    kind, value = kind.strip(), value.strip()
    if kind and value:
        values = tags.setdefault(kind, [])
        if value not in values:
            values.append(value)


def namespace_of(tag: str) -> str:
    """The namespace of a tag in Clark notation (``{ns}local``); "" without one."""
    return tag[1 : tag.index("}")] if tag.startswith("{") else ""


def local_name(tag: object) -> str:
    """The tag without its namespace; "" for comments and processing instructions."""
    if not isinstance(tag, str):  # comments, processing instructions
        return ""
    return tag.rsplit("}", 1)[-1]


# --------------------------------------------------------------------------------------------
# Schema validation (offline, compiled once per schema)
# --------------------------------------------------------------------------------------------

_schemas: dict[str, etree.XMLSchema] = {}
_schema_lock = threading.Lock()


class _LocalSchemaResolver(etree.Resolver):
    """Serve schema imports from ``esctui/schemas`` by file name; never the network."""

    def resolve(self, url: str, pubid: str | None, context: object) -> object:
        local = SCHEMA_DIR / Path(url.rsplit("/", 1)[-1]).name
        if local.is_file():
            return self.resolve_filename(str(local), context)
        return self.resolve_string('<schema xmlns="http://www.w3.org/2001/XMLSchema"/>', context)


def schema_for(namespace: str) -> etree.XMLSchema | None:
    filename = SCHEMA_FILES.get(namespace)
    if filename is None:
        return None
    with _schema_lock:
        schema = _schemas.get(filename)
        if schema is None:
            parser = etree.XMLParser(no_network=True, resolve_entities=False)
            parser.resolvers.add(_LocalSchemaResolver())
            schema = etree.XMLSchema(etree.parse(str(SCHEMA_DIR / filename), parser))
            _schemas[filename] = schema
    return schema


def validate_layout_xml(root: etree._Element, fmt: str, version: str) -> list[str]:
    """Validate against the shipped schema; return messages (empty when valid) or a note."""
    namespace = namespace_of(root.tag)
    schema = schema_for(namespace)
    label = f"ALTO v{version}" if fmt == "alto" else f"PAGE {version}"
    if schema is None:
        where = f" (namespace {namespace})" if namespace else " (no namespace)"
        return [f"no schema shipped for {label}{where}; the file was read without validation"]
    with _schema_lock:  # the error log of a schema object is shared state
        if schema.validate(root.getroottree()):
            return []
        errors = [f"line {e.line}: {e.message}" for e in schema.error_log]
    if len(errors) > MAX_VALIDATION_MESSAGES:
        more = len(errors) - MAX_VALIDATION_MESSAGES
        errors = errors[:MAX_VALIDATION_MESSAGES] + [f"... and {more} more schema messages"]
    return [f"does not follow the {label} schema: {msg}" for msg in errors]
