"""Read PAGE (2010 to 2019) into a ``ParsedPage``."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from esctui.domain import Polygon, TagSet, Word
from esctui.formats.xml.common import (
    DEFAULT_LINE_TYPE,
    DIRECTIONS,
    PAGE_REGION_TYPES,
    LayoutXmlError,
    ParsedLine,
    ParsedPage,
    ParsedRegion,
    Repair,
    add_tag,
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


_CUSTOM_CHUNK = re.compile(r"([^{}\s][^{}]*?)\s*\{([^}]*)\}")
_NOT_TAGS = frozenset({"readingOrder", "structure"})


def _unescape(value: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value) if "\\u" in value else value


def _custom_parts(custom: str) -> list[tuple[str, dict[str, str]]]:
    """A Transkribus ``custom`` attribute as (name, {key: value}) chunks, in order:
    ``"readingOrder {index:2;} language {type: deu;}"`` gives
    ``[("readingOrder", {"index": "2"}), ("language", {"type": "deu"})]`` (as kraken reads it)."""
    parts = []
    for name, body in _CUSTOM_CHUNK.findall(custom):
        values: dict[str, str] = {}
        for item in body.split(";"):
            key, colon, value = item.partition(":")
            if colon and key.strip():
                values[key.strip()] = _unescape(value.strip())
        parts.append((name.strip(), values))
    return parts


@dataclass(frozen=True, slots=True)
class _Custom:
    """What a ``custom`` attribute says: its tags as (kind, value) pairs, its ``readingOrder``
    index and its ``structure`` type."""

    tags: tuple[tuple[str, str], ...]
    index: int | None
    structure_type: str | None


@functools.lru_cache(maxsize=4096)
def _read_custom(custom: str) -> _Custom:
    """``custom`` read once per distinct value: files repeat the same few thousands of times
    (``readingOrder {index:3;}`` on every tenth line)."""
    index: int | None = None
    tags: list[tuple[str, str]] = []
    for name, values in _custom_parts(custom):
        if name == "readingOrder":
            number = number_or_none(values.get("index"))
            index = int(number) if number is not None else None
        elif name not in _NOT_TAGS:
            value = values.get("type") or ", ".join(f"{k}={v}" for k, v in values.items())
            tags.append((name, value))
    return _Custom(tuple(tags), index, _custom_structure_type(custom))


def _custom_tags(custom: str | None, tags: TagSet) -> int | None:
    """Add the tags of a ``custom`` attribute (``language {type:deu;}``, ``split
    {type:train;}``, any other kind) to ``tags``; return its ``readingOrder`` index, if any."""
    if not custom:
        return None
    read = _read_custom(custom)
    for kind, value in read.tags:
        add_tag(tags, kind, value)
    return read.index


def _attribute_tags(el: etree._Element, tags: TagSet) -> None:
    """PAGE ``primaryLanguage`` and ``readingDirection`` as ``language``/``direction`` tags."""
    if language := el.get("primaryLanguage"):
        add_tag(tags, "language", language)
    if direction := DIRECTIONS.get(el.get("readingDirection") or ""):
        add_tag(tags, "direction", direction)


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
        self.custom_order: dict[int, int] = {}  # id(container) -> its readingOrder index
        self.custom_line_order = False
        self._read_regions(page, containers)
        custom = ""
        if page.find(q("ReadingOrder")) is None and self.custom_order:
            # Transkribus' readingOrder {index:N;} on regions, as kraken honours it when the
            # file has no explicit ReadingOrder; regions without one follow in file order.
            position = self.custom_order
            containers.sort(key=lambda c: (id(c) not in position, position.get(id(c), 0)))
            custom = "the regions' custom readingOrder"
        if self.custom_line_order:
            custom = (custom + " and " if custom else "") + "the lines' custom readingOrder"

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
        result = self.result("page", version, image_filename, size, regions, lines, order_name)
        if custom:
            result.reading_order = (
                f"{result.reading_order}, lines in {custom}"
                if order_name
                else custom[0].upper() + custom[1:]
            )
        return result

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
            custom = el.get("custom")
            tags: TagSet = {}
            index = _custom_tags(custom, tags)
            _attribute_tags(el, tags)
            if polygon is None:
                self.repairs[Repair.REGION_WITHOUT_COORDINATES] += 1
            else:
                region_type = (
                    el.get("type") or _custom_structure_type(custom) or PAGE_REGION_TYPES[kind]
                )
                region = ParsedRegion(
                    id=region_id, type=region_type, polygon=polygon, kind=kind, tags=tags
                )
            lines: list[ParsedLine] = []
            line_order: dict[int, int] = {}
            nested: list[etree._Element] = []
            owner = region_id if region is not None else None
            q_line, region_tags = self.q_line, self.region_tags
            for child in el:
                if child.tag == q_line:
                    line = self._read_line(child, owner, line_order)
                    if line is not None:
                        lines.append(line)
                elif child.tag in region_tags:
                    nested.append(child)
            if line_order:
                ordered = sorted(
                    lines, key=lambda ln: (id(ln) not in line_order, line_order.get(id(ln), 0))
                )
                if ordered != lines:
                    lines = ordered
                    self.custom_line_order = True
            container = Container(id=region_id, region=region, lines=lines)
            if index is not None:
                self.custom_order[id(container)] = index
            containers.append(container)
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

    def _read_line(
        self, el: etree._Element, region_id: str | None, order: dict[int, int]
    ) -> ParsedLine | None:
        q_coords, q_baseline, q_text_equiv = self.q_coords, self.q_baseline, self.q_text_equiv
        baseline_el = coords_el = None
        equivs: list[etree._Element] = []
        words: list[etree._Element] = []
        for child in el:  # one pass over the children
            tag = child.tag
            if tag == q_coords:
                coords_el = child
            elif tag == q_baseline:
                baseline_el = child
            elif tag == q_text_equiv:
                equivs.append(child)
            elif tag == self.q_word:
                words.append(child)
        baseline = self._points(baseline_el, 2) if baseline_el is not None else None
        mask = self._points(coords_el, 3) if coords_el is not None else None
        if baseline is None and mask is None:
            self.repairs[Repair.LINE_WITHOUT_COORDINATES] += 1
            return None
        text, confidence = self._text_of(equivs)
        read_words: list[Word] = []
        if words:
            text, confidence, read_words = self._read_words(words, text, confidence)
        custom = el.get("custom")
        tags: TagSet = {}
        index = structure_type = None
        if custom:
            read = _read_custom(custom)
            for kind, value in read.tags:
                add_tag(tags, kind, value)
            index, structure_type = read.index, read.structure_type
        if el.get("primaryLanguage") or el.get("readingDirection"):
            _attribute_tags(el, tags)
        line = ParsedLine(
            el.get("id", ""),
            region_id,
            structure_type or DEFAULT_LINE_TYPE,
            baseline,
            mask,
            text,
            confidence,
            tags,
            read_words,
        )
        if index is not None:
            order[id(line)] = index
        return line

    def _read_words(
        self, words: list[etree._Element], text: str | None, confidence: float | None
    ) -> tuple[str | None, float | None, list[Word]]:
        """A line's text and confidence (joined from its words when it has none of its own)
        and its words (kept when there are several and they spell the line's text)."""
        word_texts: list[str] = []
        read_words: list[Word] = []
        word_confidences: list[float] = []
        for word in words:
            word_text, word_confidence = self._text_of(word.findall(self.q_text_equiv))
            if word_text:
                word_texts.append(word_text)
                read_words.append(Word(word_text, _bbox(self._coords(word)), word_confidence))
                if word_confidence is not None:
                    word_confidences.append(word_confidence)
        if not text and word_texts:
            self.repairs[Repair.TEXT_FROM_WORDS] += 1
            text = " ".join(word_texts)
            confidence = sum(word_confidences) / len(word_confidences) if word_confidences else None
        keep = len(read_words) > 1 and text == " ".join(word_texts)
        return text, confidence, read_words if keep else []

    def _text_of(self, equivs: list[etree._Element]) -> tuple[str | None, float | None]:
        """Text and confidence of the TextEquiv with the lowest ``@index`` (the main reading)."""
        if not equivs:
            return None, None
        if len(equivs) > 1:
            equivs = sorted(equivs, key=lambda e: number_or_none(e.get("index")) or 0.0)
        unicode_el = equivs[0].find(self.q_unicode)
        text = (unicode_el.text or "") if unicode_el is not None else ""
        return text, number_or_none(equivs[0].get("conf"))


def _bbox(polygon: Polygon | None) -> tuple[float, float, float, float] | None:
    if not polygon:
        return None
    xs = [x for x, _ in polygon]
    ys = [y for _, y in polygon]
    return (min(xs), min(ys), max(xs), max(ys))


def _page_version(ns: str) -> str:
    match = re.search(r"(\d{4}-\d{2}-\d{2})", ns)
    return match.group(1) if match else "unknown"
