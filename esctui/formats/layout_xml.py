"""Read ALTO (v2, v3, v4) and PAGE (2013, 2019) XML into plain parse results.

Pure: no store, no Textual, no network. ``parse_layout_xml`` is the entry point.

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

import operator
import os
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from lxml import etree

from esctui.domain import Point, Polygon

DEFAULT_MAX_BYTES = 50_000_000
MAX_VALIDATION_MESSAGES = 20
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"

ALTO_V4_NAMESPACE = "http://www.loc.gov/standards/alto/ns-v4#"
PAGE_2019_NAMESPACE = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
SCHEMA_FILES = {ALTO_V4_NAMESPACE: "alto-4-3.xsd", PAGE_2019_NAMESPACE: "pagecontent.xsd"}

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
DEFAULT_LINE_TYPE = "default"


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
    UNREADABLE_POINTS = "unreadable point lists ignored"
    REGION_WITHOUT_COORDINATES = "regions without coordinates skipped"
    LINE_WITHOUT_COORDINATES = "lines without coordinates skipped"


class LayoutXmlError(ValueError):
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


@dataclass
class ParsedPage:
    """Everything read from one ALTO or PAGE file. ``lines`` and ``regions`` are in reading order."""

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


# --------------------------------------------------------------------------------------------
# Safe parsing
# --------------------------------------------------------------------------------------------

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


def _read_source(source: bytes | Path, name: str, max_bytes: int) -> bytes:
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


_ENTITY_REFUSAL = (
    "the file declares XML entities in a DOCTYPE. ALTO and PAGE never need them and they can "
    "be used to attack the computer (XXE, 'billion laughs'), so the file is refused."
)
_POSITION = re.compile(r",? line \d+, column \d+$")


def _declares_entities(data: bytes) -> bool:
    """Whether an internal DOCTYPE subset declares entities (checked before parsing)."""
    start = data.find(b"<!DOCTYPE")
    if start < 0:
        return False
    end = data.find(b"]>", start)
    return b"<!ENTITY" in data[start : end if end > 0 else len(data)]


def _parse_xml(data: bytes, name: str) -> etree._Element:
    """Parse with entities, DTDs and network off; refuse any document that declares entities."""
    if _declares_entities(data):
        raise LayoutXmlError(name, f"{_ENTITY_REFUSAL}")
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
            raise LayoutXmlError(name, f"{_ENTITY_REFUSAL}") from exc
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
        raise LayoutXmlError(name, f"{_ENTITY_REFUSAL}")
    return root


# --------------------------------------------------------------------------------------------
# Schema validation (offline, compiled once per schema)
# --------------------------------------------------------------------------------------------

_schemas: dict[str, etree.XMLSchema] = {}
_schema_lock = threading.Lock()


class _LocalSchemaResolver(etree.Resolver):
    """Serve schema imports from ``esctui/schemas`` by file name; never the network."""

    def resolve(self, url, pubid, context):  # type: ignore[no-untyped-def]
        local = SCHEMA_DIR / Path(url.rsplit("/", 1)[-1]).name
        if local.is_file():
            return self.resolve_filename(str(local), context)
        return self.resolve_string('<schema xmlns="http://www.w3.org/2001/XMLSchema"/>', context)


def _schema_for(namespace: str) -> etree.XMLSchema | None:
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
    namespace = _namespace(root.tag)
    schema = _schema_for(namespace)
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


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _namespace(tag: str) -> str:
    return tag[1 : tag.index("}")] if tag.startswith("{") else ""


def _local_name(tag: object) -> str:
    if not isinstance(tag, str):  # comments, processing instructions
        return ""
    return tag.rsplit("}", 1)[-1]


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if -1e12 < number < 1e12 else None


def _numbers(text: str) -> list[float] | None:
    """Numbers of a point list in any of the ALTO/PAGE spellings; None when unreadable."""
    parts = text.replace(",", " ").split()
    try:  # whole pixels, the common case: kept as ints (smaller and faster to store)
        values = list(map(int, parts))
    except ValueError:
        pass
    else:
        return values if not values or min(values) > -1e12 and max(values) < 1e12 else None
    try:
        values = list(map(float, parts))
    except ValueError:
        parts = text.replace(",", " ").replace("(", " ").replace(")", " ").split()
        try:
            values = list(map(float, parts))
        except ValueError:
            return None
    total = sum(values)
    if total != total or not -1e15 < total < 1e15:  # NaN or infinity somewhere
        return None
    return values


_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_STRUCTURE_TYPE = re.compile(r"structure\s*\{[^}]*?\btype\s*:\s*([^;}]+)")


def _custom_structure_type(custom: str | None) -> str | None:
    """The ``type`` of a Transkribus ``custom="structure {type:...;}"`` attribute."""
    if not custom or "structure" not in custom:
        return None
    match = _STRUCTURE_TYPE.search(custom)
    if not match:
        return None
    value = match.group(1).strip()
    if "\\u" in value:
        value = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
    return value or None


def _box(x: float | None, y: float | None, w: float | None, h: float | None) -> list[float] | None:
    if x is None or y is None or w is None or h is None or w <= 0 or h <= 0:
        return None
    return [x, y, x, y + h, x + w, y + h, x + w, y]


class _Reader:
    """Common state for one file: scaling, clamping, counters."""

    def __init__(self, root: etree._Element, name: str) -> None:
        self.root = root
        self.name = name
        self.ns = _namespace(root.tag)
        self.prefix = f"{{{self.ns}}}" if self.ns else ""
        self.repairs: Counter[str] = Counter()
        self.warnings: list[str] = []
        self.scale_x = 1.0
        self.scale_y = 1.0
        self.max_x = 0.0  # 0 = unknown page size: clamp only below zero
        self.max_y = 0.0
        self.scale_note = ""

    def q(self, local: str) -> str:
        """Qualified tag name in this file's namespace."""
        return self.prefix + local

    def page_frame(
        self,
        page: etree._Element,
        width_attr: str,
        height_attr: str,
        image_size: tuple[int, int] | None,
        unit: str,
    ) -> tuple[int, int]:
        """Read the page size the XML states (a warning when unusable), then ``set_frame``."""
        page_w, page_h = _number(page.get(width_attr)), _number(page.get(height_attr))
        xml_size = (page_w, page_h) if page_w and page_h and page_w > 0 and page_h > 0 else None
        if xml_size is None:
            self.warnings.append(
                f"The page size in the XML ({page.get(width_attr)} × {page.get(height_attr)}) "
                "is not usable."
            )
        return self.set_frame(xml_size, image_size, unit)

    def result(
        self,
        fmt: str,
        version: str,
        image_filename: str,
        size: tuple[int, int],
        regions: list[ParsedRegion],
        lines: list[ParsedLine],
        order_name: str,
    ) -> ParsedPage:
        """The ParsedPage, with what this reader counted and noted."""
        return ParsedPage(
            format=fmt,
            version=version,
            image_filename=image_filename,
            width=size[0],
            height=size[1],
            regions=regions,
            lines=lines,
            typology=_typology(regions, lines),
            repairs={str(key): count for key, count in self.repairs.items()},
            warnings=self.warnings,
            scale_note=self.scale_note,
            reading_order=f"ReadingOrder {order_name}" if order_name else "document order",
            source_name=self.name,
        )

    def set_frame(
        self, xml_size: tuple[float, float] | None, image_size: tuple[int, int] | None, unit: str
    ) -> tuple[int, int]:
        """Decide scaling from the XML page size to the image; return the output size."""
        unit_words = ALTO_UNITS.get(unit, unit)
        if image_size is not None:
            width, height = int(image_size[0]), int(image_size[1])
            if xml_size is None:
                self.warnings.append(
                    "The XML gives no usable page size; coordinates are taken as pixels of "
                    f"the {width} × {height} image."
                )
            elif (xml_size[0], xml_size[1]) != (width, height):
                self.scale_x = width / xml_size[0]
                self.scale_y = height / xml_size[1]
                unit_part = "" if unit == "pixel" else f" in {unit_words}"
                self.scale_note = (
                    f"Coordinates scaled from the page size in the XML ({_fmt(xml_size[0])} × "
                    f"{_fmt(xml_size[1])}{unit_part}) to the image ({width} × {height}): "
                    f"×{self.scale_x:.4g} across, ×{self.scale_y:.4g} down."
                )
                if abs(self.scale_x - self.scale_y) > 0.02 * max(self.scale_x, self.scale_y):
                    self.warnings.append(
                        "The page in the XML and the image have different proportions; "
                        "check that the XML belongs to this image."
                    )
            self.max_x, self.max_y = float(width), float(height)
            return width, height
        if xml_size is None:
            self.warnings.append(
                "The XML gives no usable page size and no image size was given; "
                "coordinates are kept as they are and not checked against the page."
            )
            return 0, 0
        if unit != "pixel":
            self.warnings.append(
                f"Coordinates are in {unit_words}, not pixels; without the image size they "
                "cannot be converted, so they are kept as they are."
            )
        self.max_x, self.max_y = xml_size
        return round(xml_size[0]), round(xml_size[1])

    def index_lines(self, containers: list[_Container]) -> dict[str, ParsedLine]:
        """Lines by ID; warns when an ID is used more than once (matching by ID is then unsure)."""
        with_id = [line for c in containers for line in c.lines if line.id]
        by_id = {line.id: line for line in with_id}
        if len(by_id) != len(with_id):
            self.warnings.append(
                f"{len(with_id) - len(by_id)} line ID(s) are used more than once in the file."
            )
        return by_id

    def shape(self, values: list[float] | None, min_points: int) -> Polygon | None:
        """Points from a flat number list: scaled, clamped, without repeated points.

        Returns None (counted as unreadable) for a missing or odd list or too few points.
        """
        if values is None or len(values) % 2 or len(values) < 2 * min_points:
            self.repairs[Repair.UNREADABLE_POINTS] += 1
            return None
        xs = values[0::2]
        ys = values[1::2]
        if self.scale_x != 1.0 or self.scale_y != 1.0:
            sx, sy = self.scale_x, self.scale_y
            xs = [x * sx for x in xs]
            ys = [y * sy for y in ys]
            lowest = min(min(xs), min(ys))
        else:
            lowest = min(values)
        max_x, max_y = self.max_x, self.max_y
        if lowest < 0 or (max_x and max(xs) > max_x) or (max_y and max(ys) > max_y):
            self.repairs[Repair.CLAMPED] += 1
            xs = [0.0 if x < 0 else (max_x if max_x and x > max_x else x) for x in xs]
            ys = [0.0 if y < 0 else (max_y if max_y and y > max_y else y) for y in ys]
        points: list[Point] = list(zip(xs, ys, strict=True))
        if any(map(operator.eq, points, points[1:])):  # rare: drop repeated points
            points = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
        if len(points) < min_points:
            self.repairs[Repair.UNREADABLE_POINTS] += 1
            return None
        return points


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _typology(regions: list[ParsedRegion], lines: list[ParsedLine]) -> dict[str, dict[str, int]]:
    return {
        "regions": dict(Counter(r.type for r in regions)),
        "lines": dict(Counter(line.type for line in lines)),
    }


@dataclass(slots=True)
class _Container:
    """A region element (with or without usable coordinates) and its lines, in document order."""

    id: str
    region: ParsedRegion | None
    lines: list[ParsedLine]


def _apply_reading_order(
    refs: list[str],
    containers: list[_Container],
    line_by_id: dict[str, ParsedLine],
    string_to_line: dict[str, str],
) -> tuple[list[ParsedRegion], list[ParsedLine], int]:
    """Flatten an explicit order (ids of regions, lines or ALTO strings) to lines and regions.

    Referenced regions bring their lines in document order; a string stands for its line;
    each line and region keeps its first place; what the order leaves out follows in document
    order. An order that names no region leaves the regions in document order. Returns the
    regions, the lines and how many lines were left out.
    """
    container_by_id = {c.id: c for c in containers if c.id}
    region_of_line = {id(line): c for c in containers for line in c.lines}
    lines: list[ParsedLine] = []
    regions: list[ParsedRegion] = []
    seen_lines: set[int] = set()
    seen_regions: set[int] = set()

    def add_region(container: _Container) -> None:
        if container.region is not None and id(container) not in seen_regions:
            seen_regions.add(id(container))
            regions.append(container.region)

    def add_line(line: ParsedLine) -> None:
        if id(line) not in seen_lines:
            seen_lines.add(id(line))
            lines.append(line)
            add_region(region_of_line[id(line)])

    for ref in refs:
        if ref in container_by_id:
            container = container_by_id[ref]
            add_region(container)
            for line in container.lines:
                add_line(line)
        elif ref in line_by_id:
            add_line(line_by_id[ref])
        elif ref in string_to_line and string_to_line[ref] in line_by_id:
            add_line(line_by_id[string_to_line[ref]])
    left_out = 0
    for container in containers:
        for line in container.lines:
            if id(line) not in seen_lines:
                left_out += 1
                add_line(line)
        add_region(container)
    if not any(ref in container_by_id for ref in refs):
        # The order names lines only (as ALTO's often does): it says nothing of the regions,
        # so they keep their document order.
        regions = [c.region for c in containers if c.region is not None]
    return regions, lines, left_out


# --------------------------------------------------------------------------------------------
# ALTO
# --------------------------------------------------------------------------------------------


def _alto_version(root: etree._Element, ns: str) -> str:
    match = re.search(r"ns-v(\d)", ns)
    if match:
        version = match.group(1)
        schema_version = root.get("SCHEMAVERSION")
        if schema_version and schema_version.startswith(version):
            return schema_version
        return version
    if "ccs-gmbh" in ns:
        return "1"
    if root.get("SCHEMAVERSION"):
        return root.get("SCHEMAVERSION", "")
    hints = " ".join(v for k, v in root.attrib.items() if "schemalocation" in k.lower())
    match = re.search(r"alto[-_/]?v?(\d)", hints, re.IGNORECASE)
    return match.group(1) if match else "unknown"


class _AltoReader(_Reader):
    def read(self, image_size: tuple[int, int] | None) -> ParsedPage:
        q = self.q
        root = self.root
        unit_el = root.find(f"{q('Description')}/{q('MeasurementUnit')}")
        unit = (unit_el.text or "").strip() if unit_el is not None else "pixel"
        unit = unit or "pixel"
        if unit not in ALTO_UNITS:
            self.warnings.append(
                f"The measurement unit '{unit}' is not one ALTO defines (pixel, mm10, inch1200)."
            )
        file_el = root.find(f"{q('Description')}/{q('sourceImageInformation')}/{q('fileName')}")
        image_filename = (file_el.text or "").strip() if file_el is not None else ""
        pages = root.findall(f"{q('Layout')}/{q('Page')}")
        if not pages:
            raise LayoutXmlError(self.name, "this ALTO file has no Layout/Page element.")
        if len(pages) > 1:
            self.warnings.append(f"The file has {len(pages)} pages; only the first is read.")
        page = pages[0]
        size = self.page_frame(page, "WIDTH", "HEIGHT", image_size, unit)

        self.tag_types = self._read_tags()
        self.composed_flattened = 0
        self.string_to_line: dict[str, str] = {}
        containers: list[_Container] = []
        for area in page:
            if _local_name(area.tag) in ALTO_PAGE_AREAS:
                self._read_blocks(area, containers)
        if self.composed_flattened:
            self.warnings.append(
                f"{self.composed_flattened} ComposedBlock(s) holding other blocks were "
                "replaced by the blocks they hold."
            )

        line_by_id = self.index_lines(containers)
        refs, order_name = self._reading_order_refs()
        regions, lines, left_out = _apply_reading_order(
            refs, containers, line_by_id, self.string_to_line
        )
        if order_name and left_out:
            self.warnings.append(
                f"{left_out} line(s) not in the reading order {order_name} were put after "
                "the ordered ones, in document order."
            )
        version = _alto_version(root, self.ns)
        return self.result("alto", version, image_filename, size, regions, lines, order_name)

    def _read_tags(self) -> dict[str, tuple[str, str]]:
        """Tag ID -> (TYPE, LABEL) for the tags that can name a type."""
        tags = self.root.find(self.q("Tags"))
        result: dict[str, tuple[str, str]] = {}
        if tags is None:
            return result
        for tag in tags:
            if _local_name(tag.tag) in ("OtherTag", "LayoutTag", "StructureTag"):
                label = tag.get("LABEL")
                if tag.get("ID") and label:
                    result[tag.get("ID", "")] = ((tag.get("TYPE") or "").strip(), label)
        return result

    def _tag_type(self, tagrefs: str | None, kinds: tuple[str, ...]) -> str | None:
        """The first label among the referenced tags whose TYPE is one of ``kinds``."""
        if not tagrefs:
            return None
        found: dict[str, str] = {}
        for ref in tagrefs.split():
            entry = self.tag_types.get(ref)
            if entry is not None:
                found.setdefault(entry[0], entry[1])
        for kind in kinds:
            if kind in found:
                return found[kind]
        return None

    def _read_blocks(self, parent: etree._Element, containers: list[_Container]) -> None:
        composed = self.q("ComposedBlock")
        for block in parent:
            kind = _local_name(block.tag)
            if kind not in ALTO_BLOCK_TYPES:
                continue
            if block.tag == composed and any(
                _local_name(child.tag) in ALTO_BLOCK_TYPES for child in block
            ):
                self.composed_flattened += 1
                self._read_blocks(block, containers)
                continue
            containers.append(self._read_block(block, kind))

    def _box_of(self, el: etree._Element) -> list[float] | None:
        return _box(
            _number(el.get("HPOS")),
            _number(el.get("VPOS")),
            _number(el.get("WIDTH")),
            _number(el.get("HEIGHT")),
        )

    def _polygon_of(self, el: etree._Element) -> Polygon | None:
        """Shape/Polygon, else the HPOS/VPOS/WIDTH/HEIGHT box (counted), else None."""
        q = self.q
        polygon_el = el.find(f"{q('Shape')}/{q('Polygon')}")
        if polygon_el is not None:
            polygon = self.shape(_numbers(polygon_el.get("POINTS", "")), 3)
            if polygon is not None:
                return polygon
        box = self._box_of(el)
        if box is None:
            return None
        self.repairs[Repair.BOX_POLYGON] += 1
        return self.shape(box, 3)

    def _read_block(self, block: etree._Element, kind: str) -> _Container:
        block_id = block.get("ID", "")
        polygon = self._polygon_of(block)
        region = None
        if polygon is None:
            if not block_id.startswith("eSc_dummyblock_"):  # eScriptorium's "no region"
                self.repairs[Repair.REGION_WITHOUT_COORDINATES] += 1
        else:
            region_type = (
                block.get("TYPE")
                or self._tag_type(block.get("TAGREFS"), ("region", "type", ""))
                or ALTO_BLOCK_TYPES[kind]
            )
            region = ParsedRegion(id=block_id, type=region_type, polygon=polygon, kind=kind)
        lines = []
        region_id = block_id if region is not None else None
        for line_el in block.iterchildren(self.q("TextLine")):
            line = self._read_line(line_el, region_id)
            if line is not None:
                lines.append(line)
        return _Container(id=block_id, region=region, lines=lines)

    def _read_line(self, el: etree._Element, region_id: str | None) -> ParsedLine | None:
        line_id = el.get("ID", "")
        q_string, q_sp, q_hyp = self.q("String"), self.q("SP"), self.q("HYP")
        pieces: list[str] = []
        string_boxes: list[list[float]] = []
        confidences: list[float] = []
        has_string = False
        previous_was_string = False
        missing_space = False
        for child in el:
            tag = child.tag
            if tag == q_string:
                content = child.get("CONTENT") or ""
                if previous_was_string and content:
                    pieces.append(" ")
                    missing_space = True
                pieces.append(content)
                has_string = True
                previous_was_string = bool(content)
                if (wc := _number(child.get("WC"))) is not None:
                    confidences.append(wc)
                box = self._box_of(child)
                if box is not None:
                    string_boxes.append(box)
                if child.get("ID"):
                    self.string_to_line[child.get("ID", "")] = line_id
            elif tag == q_sp:
                pieces.append(" ")
                previous_was_string = False
            elif tag == q_hyp:
                pieces.append(child.get("CONTENT") or "")
                previous_was_string = False
        if missing_space:
            self.repairs[Repair.SPACE_BETWEEN_STRINGS] += 1

        baseline = self._baseline_of(el, string_boxes)
        mask = self._polygon_of(el)
        if baseline is None and mask is None:
            self.repairs[Repair.LINE_WITHOUT_COORDINATES] += 1
            return None
        line_type = self._tag_type(el.get("TAGREFS"), ("type", "")) or DEFAULT_LINE_TYPE
        return ParsedLine(
            id=line_id,
            region_id=region_id,
            type=line_type,
            baseline=baseline,
            mask=mask,
            text="".join(pieces) if has_string else None,
            confidence=sum(confidences) / len(confidences) if confidences else None,
        )

    def _baseline_of(self, el: etree._Element, string_boxes: list[list[float]]) -> Polygon | None:
        """BASELINE as points or as the old single y value, else derived (counted)."""
        raw = el.get("BASELINE")
        if raw is not None and raw.strip():
            numbers = _numbers(raw)
            line_box = self._box_of(el)
            if numbers is not None and len(numbers) == 1 and line_box is not None:
                self.repairs[Repair.BASELINE_FROM_NUMBER] += 1
                return self.shape([line_box[0], numbers[0], line_box[4], numbers[0]], 2)
            baseline = self.shape(numbers, 2)  # counts an unreadable list
            if baseline is not None:
                return baseline
        if string_boxes:
            corners = sorted(
                [(b[0], b[3]) for b in string_boxes] + [(b[4], b[3]) for b in string_boxes]
            )
            values: list[float] = []
            last_x: float | None = None
            for x, y in corners:  # left to right, one point per x
                if last_x is None or x > last_x:
                    values += (x, y)
                    last_x = x
            baseline = self.shape(values, 2)
            if baseline is not None:
                self.repairs[Repair.BASELINE_FROM_STRINGS] += 1
                return baseline
        line_box = self._box_of(el)
        if line_box is not None:
            self.repairs[Repair.BASELINE_FROM_LINE_BOX] += 1
            return self.shape([line_box[0], line_box[3], line_box[4], line_box[3]], 2)
        return None

    def _reading_order_refs(self) -> tuple[list[str], str]:
        """The refs of the first ordered group of ``ReadingOrder`` and its ID, or ([], '')."""
        order_el = self.root.find(self.q("ReadingOrder"))
        if order_el is None:
            return [], ""
        group = _first_ordered_group(order_el)
        if group is None:
            return [], ""
        refs: list[str] = []
        _collect_refs(group, refs, "REF")
        return refs, group.get("ID", "") or "(no ID)"


def _first_ordered_group(order_el: etree._Element) -> etree._Element | None:
    """The group to follow: the top group if ordered, else the first ordered group in it."""
    children = [c for c in order_el if isinstance(c.tag, str)]
    if not children:
        return None
    top = children[0]
    if _local_name(top.tag).startswith("OrderedGroup"):
        return top
    for child in top:
        if _local_name(child.tag).startswith("OrderedGroup"):
            return child
    return None


def _collect_refs(group: etree._Element, refs: list[str], attribute: str) -> None:
    """Refs of a group in order: PAGE ``*Indexed`` children by ``@index``, others as written."""
    children = [c for c in group if isinstance(c.tag, str)]
    if any(c.get("index") is not None for c in children):
        children.sort(key=lambda c: _number(c.get("index")) or 0.0)
    for child in children:
        local = _local_name(child.tag)
        if "Group" in local:
            if child.get(attribute):
                refs.append(child.get(attribute, ""))
            _collect_refs(child, refs, attribute)
        elif child.get(attribute):
            refs.append(child.get(attribute, ""))


# --------------------------------------------------------------------------------------------
# PAGE
# --------------------------------------------------------------------------------------------


class _PageReader(_Reader):
    def read(self, image_size: tuple[int, int] | None) -> ParsedPage:
        q = self.q
        pages = self.root.findall(q("Page"))
        if not pages:
            raise LayoutXmlError(self.name, "this PAGE file has no Page element.")
        if len(pages) > 1:
            self.warnings.append(f"The file has {len(pages)} pages; only the first is read.")
        page = pages[0]
        size = self.page_frame(page, "imageWidth", "imageHeight", image_size, "pixel")

        self.region_tags = {q(k): k for k in PAGE_REGION_TYPES}
        self.q_coords, self.q_line = q("Coords"), q("TextLine")
        self.q_baseline, self.q_text_equiv = q("Baseline"), q("TextEquiv")
        self.q_unicode, self.q_word, self.q_point = q("Unicode"), q("Word"), q("Point")
        containers: list[_Container] = []
        self._read_regions(page, containers)

        line_by_id = self.index_lines(containers)
        refs: list[str] = []
        order_name = ""
        order_el = page.find(q("ReadingOrder"))
        if order_el is not None and (group := _first_ordered_group(order_el)) is not None:
            _collect_refs(group, refs, "regionRef")
            order_name = group.get("id", "") or "(no id)"
        regions, lines, left_out = _apply_reading_order(refs, containers, line_by_id, {})
        if order_name and left_out:
            self.warnings.append(
                f"{left_out} line(s) in regions missing from the reading order {order_name} "
                "were put after the ordered ones, in document order."
            )
        image_filename = (page.get("imageFilename") or "").strip()
        version = _page_version(self.ns)
        return self.result("page", version, image_filename, size, regions, lines, order_name)

    def _read_regions(
        self, elements: Iterable[etree._Element], containers: list[_Container]
    ) -> None:
        """Every region element among ``elements``, nested ones included, in document order."""
        for el in elements:
            kind = self.region_tags.get(el.tag)
            if kind is None:
                continue
            region_id = el.get("id", "")
            polygon = self._coords(el)
            region = None
            if polygon is None:
                self.repairs[Repair.REGION_WITHOUT_COORDINATES] += 1
            else:
                region_type = (
                    el.get("type")
                    or _custom_structure_type(el.get("custom"))
                    or PAGE_REGION_TYPES[kind]
                )
                region = ParsedRegion(id=region_id, type=region_type, polygon=polygon, kind=kind)
            lines: list[ParsedLine] = []
            nested: list[etree._Element] = []
            owner = region_id if region is not None else None
            q_line, region_tags = self.q_line, self.region_tags
            for child in el:
                if child.tag == q_line:
                    line = self._read_line(child, owner)
                    if line is not None:
                        lines.append(line)
                elif child.tag in region_tags:
                    nested.append(child)
            containers.append(_Container(id=region_id, region=region, lines=lines))
            if nested:
                self._read_regions(nested, containers)

    def _points(self, el: etree._Element | None, min_points: int) -> Polygon | None:
        """``@points`` (or PAGE 2010 ``Point`` children) of a Coords or Baseline element."""
        if el is None:
            return None
        text = el.get("points")
        if text is None:
            point_els = el.findall(self.q_point)
            if not point_els:
                return None
            text = " ".join(f"{p.get('x')},{p.get('y')}" for p in point_els)
        if not text.strip():
            return None
        if "." in text:
            self.repairs[Repair.DECIMAL_COORDINATES] += 1
        return self.shape(_numbers(text), min_points)

    def _coords(self, el: etree._Element) -> Polygon | None:
        return self._points(el.find(self.q_coords), 3)

    def _read_line(self, el: etree._Element, region_id: str | None) -> ParsedLine | None:
        baseline_el = coords_el = None
        equivs: list[etree._Element] = []
        words: list[etree._Element] = []
        for child in el:  # one pass over the children
            tag = child.tag
            if tag == self.q_coords:
                coords_el = child
            elif tag == self.q_baseline:
                baseline_el = child
            elif tag == self.q_text_equiv:
                equivs.append(child)
            elif tag == self.q_word:
                words.append(child)
        baseline = self._points(baseline_el, 2)
        mask = self._points(coords_el, 3)
        if baseline is None and mask is None:
            self.repairs[Repair.LINE_WITHOUT_COORDINATES] += 1
            return None
        text, confidence = self._text_of(equivs)
        if not text and words:
            word_texts: list[str] = []
            word_confidences: list[float] = []
            for word in words:
                word_text, word_confidence = self._text_of(word.findall(self.q_text_equiv))
                if word_text:
                    word_texts.append(word_text)
                    if word_confidence is not None:
                        word_confidences.append(word_confidence)
            if word_texts:
                self.repairs[Repair.TEXT_FROM_WORDS] += 1
                text = " ".join(word_texts)
                confidence = (
                    sum(word_confidences) / len(word_confidences) if word_confidences else None
                )
        return ParsedLine(
            id=el.get("id", ""),
            region_id=region_id,
            type=_custom_structure_type(el.get("custom")) or DEFAULT_LINE_TYPE,
            baseline=baseline,
            mask=mask,
            text=text,
            confidence=confidence,
        )

    def _text_of(self, equivs: list[etree._Element]) -> tuple[str | None, float | None]:
        """Text and confidence of the TextEquiv with the lowest ``@index`` (the main reading)."""
        if not equivs:
            return None, None
        if len(equivs) > 1:
            equivs = sorted(equivs, key=lambda e: _number(e.get("index")) or 0.0)
        unicode_el = equivs[0].find(self.q_unicode)
        text = (unicode_el.text or "") if unicode_el is not None else ""
        return text, _number(equivs[0].get("conf"))


def _page_version(ns: str) -> str:
    match = re.search(r"(\d{4}-\d{2}-\d{2})", ns)
    return match.group(1) if match else "unknown"


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def _not_layout_message(root: etree._Element) -> str:
    local = _local_name(root.tag)
    namespace = _namespace(root.tag)
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
    data = _read_source(source, name, max_bytes)
    root = _parse_xml(data, name)
    local = _local_name(root.tag)
    if local == "alto":
        result = _AltoReader(root, name).read(image_size)
    elif local == "PcGts":
        result = _PageReader(root, name).read(image_size)
    else:
        raise LayoutXmlError(name, _not_layout_message(root))
    if validate:
        result.validation = validate_layout_xml(root, result.format, result.version)
    if not result.image_filename:
        result.warnings.append(
            "The file does not name its image; it can only be matched by its own file name."
        )
    return result
