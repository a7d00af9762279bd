"""What the ALTO and the PAGE reader share: coordinates (scaled to the image, clamped onto the
page, without repeated points), number lists in any spelling, counted repairs and warnings, and
the reading order (explicit ``ReadingOrder`` refs flattened onto regions and lines).
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from esctui.domain import Point, Polygon
from esctui.formats.xml.common import (
    ALTO_UNITS,
    ParsedLine,
    ParsedPage,
    ParsedRegion,
    Repair,
    local_name,
    namespace_of,
)


def number_or_none(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if -1e12 < number < 1e12 else None


MAX_COORDINATE = 1e12  # beyond this a number is taken as garbage, not a position


def point_numbers(text: str) -> Sequence[float] | None:
    """Numbers of a point list in any of the ALTO/PAGE spellings; None when unreadable.

    Whole numbers (the common case) come back as ints, smaller and faster to store; their
    range is checked by ``Reader.shape``, which looks at their extremes anyway.
    """
    parts = text.replace(",", " ").split()
    try:
        return list(map(int, parts))
    except ValueError:
        pass
    values: list[float]
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


class Reader:
    """Common state for one file: scaling, clamping, counters."""

    def __init__(self, root: etree._Element, name: str) -> None:
        self.root = root
        self.name = name
        self.ns = namespace_of(root.tag)
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
        page_w, page_h = number_or_none(page.get(width_attr)), number_or_none(page.get(height_attr))
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

    def in_reading_order(
        self,
        parent: etree._Element,
        containers: list[Container],
        ref_attribute: str,
        id_attribute: str,
        string_to_line: dict[str, str],
    ) -> tuple[list[ParsedRegion], list[ParsedLine], str, int]:
        """Regions and lines in the order of ``parent``'s ``ReadingOrder`` (its first ordered
        group, refs in ``ref_attribute``), the group's name (its ``id_attribute``; "" without
        an order) and how many lines the order left out (put after the others)."""
        line_by_id = self.index_lines(containers)
        refs: list[str] = []
        order_name = ""
        order_el = parent.find(self.q("ReadingOrder"))
        if order_el is not None and (group := first_ordered_group(order_el)) is not None:
            collect_refs(group, refs, ref_attribute)
            order_name = group.get(id_attribute, "") or f"(no {id_attribute})"
        regions, lines, left_out = apply_reading_order(refs, containers, line_by_id, string_to_line)
        return regions, lines, order_name, left_out

    def index_lines(self, containers: list[Container]) -> dict[str, ParsedLine]:
        """Lines by ID; warns when an ID is used more than once (matching by ID is then unsure)."""
        with_id = [line for c in containers for line in c.lines if line.id]
        by_id = {line.id: line for line in with_id}
        if len(by_id) != len(with_id):
            self.warnings.append(
                f"{len(with_id) - len(by_id)} line ID(s) are used more than once in the file."
            )
        return by_id

    def shape(self, values: Sequence[float] | None, min_points: int) -> Polygon | None:
        """Points from a flat number list: scaled, clamped, without repeated points.

        Returns None (counted as unreadable) for a missing or odd list or too few points.
        """
        if values is None or len(values) % 2 or len(values) < 2 * min_points:
            self.repairs[Repair.UNREADABLE_POINTS] += 1
            return None
        xs = values[0::2]
        ys = values[1::2]
        lowest, high_x, high_y = min(values), max(xs), max(ys)
        if lowest <= -MAX_COORDINATE or max(high_x, high_y) >= MAX_COORDINATE:
            self.repairs[Repair.UNREADABLE_POINTS] += 1
            return None
        if self.scale_x != 1.0 or self.scale_y != 1.0:
            sx, sy = self.scale_x, self.scale_y
            xs = [x * sx for x in xs]
            ys = [y * sy for y in ys]
            lowest, high_x, high_y = min(min(xs), min(ys)), max(xs), max(ys)
        max_x, max_y = self.max_x, self.max_y
        if lowest < 0 or (max_x and high_x > max_x) or (max_y and high_y > max_y):
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
class Container:
    """A region element (with or without usable coordinates) and its lines, in document order."""

    id: str
    region: ParsedRegion | None
    lines: list[ParsedLine]


def apply_reading_order(
    refs: list[str],
    containers: list[Container],
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

    def add_region(container: Container) -> None:
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


def first_ordered_group(order_el: etree._Element) -> etree._Element | None:
    """The group to follow: the top group if ordered, else the first ordered group in it."""
    children = [c for c in order_el if isinstance(c.tag, str)]
    if not children:
        return None
    top = children[0]
    if local_name(top.tag).startswith("OrderedGroup"):
        return top
    for child in top:
        if local_name(child.tag).startswith("OrderedGroup"):
            return child
    return None


def collect_refs(group: etree._Element, refs: list[str], attribute: str) -> None:
    """Refs of a group in order: PAGE ``*Indexed`` children by ``@index``, others as written."""
    children = [c for c in group if isinstance(c.tag, str)]
    if any(c.get("index") is not None for c in children):
        children.sort(key=lambda c: number_or_none(c.get("index")) or 0.0)
    for child in children:
        local = local_name(child.tag)
        if "Group" in local:
            if child.get(attribute):
                refs.append(child.get(attribute, ""))
            collect_refs(child, refs, attribute)
        elif child.get(attribute):
            refs.append(child.get(attribute, ""))
