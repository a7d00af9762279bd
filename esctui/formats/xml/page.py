"""Read PAGE (2010 to 2019) into a ``ParsedPage``."""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

from esctui.domain import Polygon
from esctui.formats.xml.common import (
    DEFAULT_LINE_TYPE,
    PAGE_REGION_TYPES,
    LayoutXmlError,
    ParsedLine,
    ParsedPage,
    ParsedRegion,
    Repair,
)
from esctui.formats.xml.reader import Container, Reader, number_or_none, point_numbers

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


class PageReader(Reader):
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
        containers: list[Container] = []
        self._read_regions(page, containers)

        regions, lines, order_name, left_out = self.in_reading_order(
            page, containers, "regionRef", "id", {}
        )
        if order_name and left_out:
            self.warnings.append(
                f"{left_out} line(s) in regions missing from the reading order {order_name} "
                "were put after the ordered ones, in document order."
            )
        image_filename = (page.get("imageFilename") or "").strip()
        version = _page_version(self.ns)
        return self.result("page", version, image_filename, size, regions, lines, order_name)

    def _read_regions(
        self, elements: Iterable[etree._Element], containers: list[Container]
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
            containers.append(Container(id=region_id, region=region, lines=lines))
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
        return self.shape(point_numbers(text), min_points)

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
            equivs = sorted(equivs, key=lambda e: number_or_none(e.get("index")) or 0.0)
        unicode_el = equivs[0].find(self.q_unicode)
        text = (unicode_el.text or "") if unicode_el is not None else ""
        return text, number_or_none(equivs[0].get("conf"))


def _page_version(ns: str) -> str:
    match = re.search(r"(\d{4}-\d{2}-\d{2})", ns)
    return match.group(1) if match else "unknown"
