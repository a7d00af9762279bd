"""Read ALTO (v1 to v4) into a ``ParsedPage``."""

from __future__ import annotations

import re

from lxml import etree

from esctui.domain import Polygon, TagSet, Word
from esctui.formats.xml.common import (
    ALTO_BLOCK_TYPES,
    ALTO_DIRECTIONS,
    ALTO_PAGE_AREAS,
    ALTO_UNITS,
    DEFAULT_LINE_TYPE,
    DUMMY_BLOCK_PREFIX,
    LayoutXmlError,
    ParsedLine,
    ParsedPage,
    ParsedRegion,
    Repair,
    add_tag,
    local_name,
)
from esctui.formats.xml.reader import (
    MAX_COORDINATE,
    Container,
    Reader,
    number_or_none,
    point_numbers,
)


def _box(x: float | None, y: float | None, w: float | None, h: float | None) -> list[float] | None:
    if x is None or y is None or w is None or h is None or w <= 0 or h <= 0:
        return None
    return [x, y, x, y + h, x + w, y + h, x + w, y]


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


_TYPE_TAGS = frozenset({"type", "region", ""})  # tag TYPEs that name the element's type


class AltoReader(Reader):
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
        containers: list[Container] = []
        for area in page:
            if local_name(area.tag) in ALTO_PAGE_AREAS:
                self._read_blocks(area, containers)
        if self.composed_flattened:
            self.warnings.append(
                f"{self.composed_flattened} ComposedBlock(s) holding other blocks were "
                "replaced by the blocks they hold."
            )

        regions, lines, order_name, left_out = self.in_reading_order(
            root, containers, "REF", "ID", self.string_to_line
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
            if local_name(tag.tag) in ("OtherTag", "LayoutTag", "StructureTag"):
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

    def _tags_of(self, el: etree._Element) -> TagSet:
        """The element's tags beyond its type: its referenced tags of another TYPE (language,
        split, custom kinds), its LANG and its BASEDIRECTION (as ``direction``)."""
        tags: TagSet = {}
        tagrefs = el.get("TAGREFS")
        if tagrefs:
            for ref in tagrefs.split():
                entry = self.tag_types.get(ref)
                if entry is not None and entry[0] not in _TYPE_TAGS:
                    add_tag(tags, entry[0], entry[1])
        if lang := el.get("LANG"):
            add_tag(tags, "language", lang)
        if (direction := el.get("BASEDIRECTION")) in ALTO_DIRECTIONS:
            add_tag(tags, "direction", direction or "")
        return tags

    def _read_blocks(self, parent: etree._Element, containers: list[Container]) -> None:
        composed = self.q("ComposedBlock")
        for block in parent:
            kind = local_name(block.tag)
            if kind not in ALTO_BLOCK_TYPES:
                continue
            if block.tag == composed and any(
                local_name(child.tag) in ALTO_BLOCK_TYPES for child in block
            ):
                self.composed_flattened += 1
                self._read_blocks(block, containers)
                continue
            containers.append(self._read_block(block, kind))

    def _box_of(self, el: etree._Element) -> list[float] | None:
        return _box(
            number_or_none(el.get("HPOS")),
            number_or_none(el.get("VPOS")),
            number_or_none(el.get("WIDTH")),
            number_or_none(el.get("HEIGHT")),
        )

    def _polygon_of(self, el: etree._Element) -> Polygon | None:
        """Shape/Polygon, else the HPOS/VPOS/WIDTH/HEIGHT box (counted), else None."""
        q = self.q
        polygon_el = el.find(f"{q('Shape')}/{q('Polygon')}")
        if polygon_el is not None:
            polygon = self.shape(point_numbers(polygon_el.get("POINTS", "")), 3)
            if polygon is not None:
                return polygon
        box = self._box_of(el)
        if box is None:
            return None
        self.repairs[Repair.BOX_POLYGON] += 1
        return self.shape(box, 3)

    def _read_block(self, block: etree._Element, kind: str) -> Container:
        block_id = block.get("ID", "")
        polygon = self._polygon_of(block)
        region = None
        if polygon is None:
            if not block_id.startswith(DUMMY_BLOCK_PREFIX):  # eScriptorium's "no region"
                self.repairs[Repair.REGION_WITHOUT_COORDINATES] += 1
        else:
            region_type = (
                block.get("TYPE")
                or self._tag_type(block.get("TAGREFS"), ("region", "type", ""))
                or ALTO_BLOCK_TYPES[kind]
            )
            region = ParsedRegion(
                id=block_id, type=region_type, polygon=polygon, kind=kind, tags=self._tags_of(block)
            )
        lines = []
        region_id = block_id if region is not None else None
        block_box = self._box_of(block)
        for line_el in block.iterchildren(self.q("TextLine")):
            line = self._read_line(line_el, region_id, block_box)
            if line is not None:
                lines.append(line)
        return Container(id=block_id, region=region, lines=lines)

    def _read_line(
        self, el: etree._Element, region_id: str | None, block_box: list[float] | None = None
    ) -> ParsedLine | None:
        line_id = el.get("ID", "")
        q_string, q_sp, q_hyp = self.q("String"), self.q("SP"), self.q("HYP")
        pieces: list[str] = []
        string_boxes: list[list[float]] = []
        confidences: list[float] = []
        words: list[Word] = []
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
                wc = number_or_none(child.get("WC"))
                if wc is not None:
                    confidences.append(wc)
                box = self._box_of(child)
                if box is not None:
                    string_boxes.append(box)
                if content:
                    words.append(Word(content, self._word_box(box), wc))
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
            baseline = self._baseline_without_width(el, block_box)
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
            tags=self._tags_of(el),
            words=words if len(words) > 1 else [],
        )

    def _word_box(self, box: list[float] | None) -> tuple[float, float, float, float] | None:
        """A String's box (from ``_box``) in image coordinates, as x0, y0, x1, y1."""
        if box is None:
            return None
        sx, sy = self.scale_x, self.scale_y
        return (box[0] * sx, box[1] * sy, box[4] * sx, box[3] * sy)

    def _baseline_without_width(
        self, el: etree._Element, block_box: list[float] | None
    ) -> Polygon | None:
        """A line with a position but no width or height (``WIDTH="0"``, as eScriptorium and
        some OCR write inside ComposedBlocks): a baseline at its bottom, from its start to the
        right edge of its block (else of the page), so its text and types are kept."""
        x = number_or_none(el.get("HPOS"))
        y = number_or_none(el.get("VPOS"))
        width = number_or_none(el.get("WIDTH")) or 0.0
        height = number_or_none(el.get("HEIGHT")) or 0.0
        if x is None or y is None or (width > 0 and height > 0):
            return None
        right = x + width
        if right <= x:
            edges = [block_box[4]] if block_box is not None else []
            edges.append(self.max_x / self.scale_x if self.max_x else 0.0)
            right = next((edge for edge in edges if edge > x), x + 1)
        baseline = self.shape([x, y + max(height, 0.0), right, y + max(height, 0.0)], 2)
        if baseline is not None:
            self.repairs[Repair.BASELINE_WITHOUT_WIDTH] += 1
        return baseline

    def _baseline_of(self, el: etree._Element, string_boxes: list[list[float]]) -> Polygon | None:
        """BASELINE as points or as the old single y value, else derived (counted)."""
        raw = el.get("BASELINE")
        if raw is not None and raw.strip():
            numbers = point_numbers(raw)
            line_box = self._box_of(el)
            if (
                numbers is not None
                and len(numbers) == 1
                and line_box is not None
                and abs(numbers[0]) < MAX_COORDINATE
            ):
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
