"""Write one page as ALTO v4, PAGE 2019 or plain text. Pure: no store, no Textual.

``write_alto`` / ``write_page`` / ``write_text`` take an ``ExportPage`` (the stored regions,
lines and the texts of one version) and return an ``ExportedPage``: the file's bytes and the
counts of what had to be made up, keyed by plain words (``ExportNote``).

Choices (documented for users in ``esctui export --help``):

- Coordinates are written as whole pixels (PAGE allows nothing else).
- IDs: the ID a region or line came with (``external_id``) when it is a valid ``xsd:ID`` and
  unique in the file; without one, ``eSc_line_<stored id>`` / ``eSc_region_<stored id>``, so
  that importing the export back into the same document updates those lines in place (the
  XML importer knows the form); else a generated one (``region_N``, ``line_N``).
- Region types: ALTO ``TAGREFS`` to an ``OtherTag TYPE="region"``; line types to an
  ``OtherTag TYPE="type"`` (what kraken and eScriptorium read). PAGE: ``@type`` for the PAGE
  text region types, the PAGE element for the other PAGE region kinds (image, graphic, ...)
  when the region holds no lines, else ``custom="structure {type:...;}"``; line types always
  as ``custom``.
- A line without a mask gets a box around its baseline as its outline (PAGE ``Coords`` is
  required; ALTO gets ``HPOS/VPOS/WIDTH/HEIGHT``), sized from the page's other lines.
- Lines without a region: ALTO writes them in a ``TextBlock`` without coordinates whose ID
  starts with ``eSc_dummyblock_`` (eScriptorium's convention for "no region"); PAGE needs a
  ``TextRegion`` with ``Coords``, so a region around them is made.
- Reading order: lines are written region by region (regions in their stored order, lines in
  line order). When the line order crosses regions, ALTO also gets a ``ReadingOrder`` listing
  the lines; PAGE's ``ReadingOrder`` lists regions only, so there lines stay grouped by region.
- Tags beyond the type (language, direction, split, custom): ALTO ``OtherTag`` + ``TAGREFS``
  (a direction ALTO knows as ``BASEDIRECTION``), PAGE ``custom="kind {type:value;}"``.
- Text: ALTO a ``String`` per word with ``SP`` between when the stored words make up the text,
  else one ``String`` per line (``CONTENT`` keeps spaces, ``WC`` the confidence), nothing for a
  line without text; PAGE ``TextEquiv/Unicode`` with ``@conf``. Plain text: one line of text per line, in reading order,
  an empty line where the line has no text in the version.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import chain, pairwise

from lxml import etree

from esctui.domain import Line as StoredLine
from esctui.domain import (
    LineOffset,
    LineText,
    Polygon,
    ReadDirection,
    Region,
    TagSet,
    Word,
    preferred_xml_id,
)
from esctui.formats.xml.common import (
    ALTO_DIRECTIONS,
    ALTO_V4_NAMESPACE,
    DEFAULT_LINE_TYPE,
    DUMMY_BLOCK_PREFIX,
    PAGE_2019_NAMESPACE,
    PAGE_REGION_TYPES,
    XSI_NAMESPACE,
)

ALTO_SCHEMA_LOCATION = f"{ALTO_V4_NAMESPACE} http://www.loc.gov/standards/alto/v4/alto-4-3.xsd"
PAGE_SCHEMA_LOCATION = f"{PAGE_2019_NAMESPACE} {PAGE_2019_NAMESPACE}/pagecontent.xsd"

PAGE_TEXT_REGION_TYPES = frozenset(
    [
        "paragraph",
        "heading",
        "caption",
        "header",
        "footer",
        "page-number",
        "drop-capital",
        "credit",
        "floating",
        "signature-mark",
        "catch-word",
        "marginalia",
        "footnote",
        "footnote-continued",
        "endnote",
        "TOC-entry",
        "list-label",
        "other",
    ]
)
# Region type -> PAGE element, for the kinds other than text (used for regions without lines).
PAGE_ELEMENT_FOR_TYPE = {
    kind: element for element, kind in PAGE_REGION_TYPES.items() if element != "TextRegion"
}
ALTO_ELEMENT_FOR_TYPE = {
    "illustration": "Illustration",
    "image": "Illustration",
    "graphic": "GraphicalElement",
}

_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
# Characters XML 1.0 cannot hold at all.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class ExportNote(StrEnum):
    """What an export had to make up or leave out; the values are plain-words report keys."""

    OUTLINE_FROM_BASELINE = "lines without a mask: a box around the baseline written as outline"
    REGION_MADE = "lines without a region: put in a region made for them (PAGE needs one)"
    REGION_FROM_LINES = "regions with fewer than 3 points: outline made from their lines"
    REGION_LEFT_OUT = "regions with fewer than 3 points and no lines: left out"
    LINE_LEFT_OUT = "lines with neither baseline nor mask: left out"
    ORDER_BY_REGION = "pages whose line order crosses regions: PAGE lines grouped by region"
    ID_GENERATED = "IDs generated (none stored, not a valid XML ID, or used twice)"
    CHARACTERS_REMOVED = "line texts with characters XML cannot hold (removed)"


@dataclass
class ExportPage:
    """One page to write: its image, the stored layout and the texts of one version."""

    image_filename: str
    width: int
    height: int
    regions: list[Region] = field(default_factory=list)
    lines: list[StoredLine] = field(default_factory=list)  # in reading order
    texts: dict[str, LineText] = field(default_factory=dict)  # line id -> text
    line_offset: str = LineOffset.BASELINE.value
    read_direction: str = ReadDirection.LTR.value


@dataclass
class ExportedPage:
    """A written file and what had to be made up for it; for XML also the tree it was
    serialised from (``root``), so that checking it against the schema needs no parse."""

    data: bytes
    notes: Counter[str] = field(default_factory=Counter)
    root: etree._Element | None = None


# --------------------------------------------------------------------------------------------
# Planning: the same for ALTO and PAGE
# --------------------------------------------------------------------------------------------


@dataclass
class _Line:
    xml_id: str
    baseline: list[tuple[int, int]] | None
    outline: list[tuple[int, int]]  # the mask, or a box around the baseline
    outline_made: bool
    type: str
    text: str | None
    confidence: float | None
    index: int  # place in the stored (reading) order
    tags: TagSet = field(default_factory=dict)
    words: list[Word] = field(default_factory=list)  # the text's words, when they make it up


@dataclass
class _Block:
    xml_id: str
    type: str
    polygon: list[tuple[int, int]] | None  # None: the ALTO "no region" block
    lines: list[_Line]
    made: bool = False  # a region made for lines without one
    tags: TagSet = field(default_factory=dict)


class _Ids:
    """Unique XML IDs: stored ones when valid, generated ones otherwise."""

    def __init__(self, stored: Iterable[str]) -> None:
        counts = Counter(i for i in stored if _NCNAME.match(i))
        self.reserved = {i for i, n in counts.items() if n == 1}
        self.used: set[str] = set()
        self.generated = 0
        self._next: dict[str, int] = {}  # prefix -> first number not tried yet

    def take(self, stored: str, prefix: str) -> str:
        if stored in self.reserved and stored not in self.used:
            self.used.add(stored)
            return stored
        if stored:
            self.generated += 1
        return self.new(prefix)

    def new(self, prefix: str) -> str:
        """``prefix`` + the smallest free number (``used`` only grows: count on from the last)."""
        n = self._next.get(prefix, 1)
        while f"{prefix}{n}" in self.used or f"{prefix}{n}" in self.reserved:
            n += 1
        self._next[prefix] = n + 1
        self.used.add(f"{prefix}{n}")
        return f"{prefix}{n}"


def _pixels(points: Polygon | None, min_points: int) -> list[tuple[int, int]] | None:
    """Whole, non-negative pixels without repeated neighbours; None if too few points."""
    if not points:
        return None
    # One comprehension, and the neighbour check only when a point repeats: this runs for
    # every point of every page exported.
    result = [(round(x) if x > 0 else 0, round(y) if y > 0 else 0) for x, y in points]
    distinct = len(set(result))
    if distinct < len(result):  # some point repeats: drop repeated neighbours
        result = [result[0], *(b for a, b in pairwise(result) if a != b)]
    return result if distinct >= min_points else None


def _bbox(points: Iterable[tuple[int, int]]) -> tuple[int, int, int, int]:
    xs, ys = zip(*points, strict=True)
    return min(xs), min(ys), max(xs), max(ys)


def _box_polygon(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    return [(x0, y0), (x0, y1), (x1, y1), (x1, y0)]


def _clean_text(text: str | None, notes: Counter[str]) -> str | None:
    if text is not None and _NOT_XML.search(text):
        notes[ExportNote.CHARACTERS_REMOVED] += 1
        return _NOT_XML.sub("", text)
    return text


def _line_height(lines: list[StoredLine], page_height: int) -> int:
    """Typical height of the page's masked lines; a guess from the page height otherwise."""
    heights = []
    for line in lines:
        if line.mask and len(line.mask) >= 3:
            ys = [y for _x, y in line.mask]
            heights.append(max(ys) - min(ys))
    if heights:
        return max(4, round(statistics.median(heights)))
    return max(10, round(page_height / 40))


def _outline_from_baseline(
    baseline: list[tuple[int, int]], height: int, offset: str, width: int, page_height: int
) -> list[tuple[int, int]]:
    """A box around the baseline, above it (baseline), below it (topline) or around it."""
    x0, y0, x1, y1 = _bbox(baseline)
    if offset == LineOffset.TOPLINE.value:
        up, down = round(height * 0.2), round(height * 0.8)
    elif offset == LineOffset.CENTERED.value:
        up = down = round(height / 2)
    else:
        up, down = round(height * 0.8), round(height * 0.2)
    max_x = width if width > 0 else x1 + 1
    max_y = page_height if page_height > 0 else y1 + down
    top, bottom = max(0, y0 - up), min(max_y, y1 + down)
    right = min(max_x, max(x1, x0 + 1))
    if bottom <= top:
        bottom = top + 1
    return _box_polygon(x0, top, right, bottom)


def _plan(page: ExportPage, notes: Counter[str], *, alto: bool) -> list[_Block]:
    """Blocks in document order, each with its lines in reading order."""
    ids = _Ids(
        [preferred_xml_id("region", r.external_id, r.id) for r in page.regions]
        + [preferred_xml_id("line", ln.external_id, ln.id) for ln in page.lines]
    )
    height = _line_height(page.lines, page.height)
    region_ids = {r.id for r in page.regions}
    lines_of: dict[str | None, list[_Line]] = {}
    first_seen: list[str | None] = []  # containers in the order the lines first reach them
    for index, line in enumerate(page.lines):
        baseline = _pixels(line.baseline, 2)
        mask = _pixels(line.mask, 3)
        if baseline is None and mask is None:
            notes[ExportNote.LINE_LEFT_OUT] += 1
            continue
        outline = mask
        if outline is None:
            assert baseline is not None
            outline = _outline_from_baseline(
                baseline, height, page.line_offset, page.width, page.height
            )
            notes[ExportNote.OUTLINE_FROM_BASELINE] += 1
        stored = page.texts.get(line.id)
        key = line.region_id if line.region_id in region_ids else None
        if key not in lines_of:
            lines_of[key] = []
            first_seen.append(key)
        lines_of[key].append(
            _Line(
                xml_id=ids.take(preferred_xml_id("line", line.external_id, line.id), "line_"),
                baseline=baseline,
                outline=outline,
                outline_made=mask is None,
                type=line.type or DEFAULT_LINE_TYPE,
                text=_clean_text(stored.text, notes) if stored else None,
                confidence=stored.confidence if stored else None,
                index=index,
                tags=line.tags,
                words=_words_of(stored),
            )
        )

    blocks: list[_Block] = []
    block_of_region: dict[str, _Block] = {}
    for region in sorted(page.regions, key=lambda r: r.order):
        lines = lines_of.get(region.id, [])
        polygon = _pixels(region.polygon, 3)
        if polygon is None:
            if not lines:
                notes[ExportNote.REGION_LEFT_OUT] += 1
                continue
            notes[ExportNote.REGION_FROM_LINES] += 1
            polygon = _box_polygon(*_bbox(p for ln in lines for p in ln.outline))
        xml_id = ids.take(preferred_xml_id("region", region.external_id, region.id), "region_")
        block = _Block(xml_id, region.type, polygon, lines, tags=region.tags)
        block_of_region[region.id] = block
        blocks.append(block)

    orphans = lines_of.get(None)
    if orphans:
        if alto:
            block = _Block(ids.new(DUMMY_BLOCK_PREFIX), "text", None, orphans, made=True)
        else:
            notes[ExportNote.REGION_MADE] += len(orphans)
            polygon = _box_polygon(*_bbox(p for ln in orphans for p in ln.outline))
            block = _Block(ids.new("region_without_region_"), "text", polygon, orphans, True)
        # Before the region read next after the first line without a region, else last.
        after = [key for key in first_seen[first_seen.index(None) + 1 :] if key is not None]
        position = blocks.index(block_of_region[after[0]]) if after else len(blocks)
        blocks.insert(position, block)
    if ids.generated:
        notes[ExportNote.ID_GENERATED] += ids.generated
    return blocks


def _words_of(stored: LineText | None) -> list[Word]:
    """The stored text's words, when they are its text split at single spaces (a text edited
    since the import, or with other spacing, is written whole)."""
    if stored is None or len(stored.words) < 2:
        return []
    if " ".join(word.text for word in stored.words) != stored.text:
        return []
    if any(not word.text or _NOT_XML.search(word.text) for word in stored.words):
        return []
    return stored.words


def _tags_for_alto(tags: TagSet) -> tuple[list[tuple[str, str]], str]:
    """The tags written as ``OtherTag`` (kind, value), and the BASEDIRECTION ("" for none)."""
    direction = next((d for d in tags.get("direction", []) if d in ALTO_DIRECTIONS), "")
    pairs = [
        (kind, value)
        for kind in sorted(tags)
        for value in tags[kind]
        if not (kind == "direction" and value == direction)
    ]
    return pairs, direction


def _custom(type_: str | None, tags: TagSet) -> str:
    """A PAGE ``custom`` attribute: ``structure {type:...;}`` for a type (None: none), then
    ``kind {type:value;}`` for each tag (as Transkribus writes and kraken reads them)."""
    chunks = [f"structure {{type:{_escape_custom(type_)};}}"] if type_ is not None else []
    chunks += [
        f"{_escape_custom(kind, _KIND_SPECIAL)} {{type:{_escape_custom(value)};}}"
        for kind in sorted(tags)
        for value in tags[kind]
    ]
    return " ".join(chunks)


def _in_reading_order(blocks: list[_Block]) -> tuple[list[_Line], bool]:
    """The written lines in reading order, and whether document order already is that order."""
    written = [ln for b in blocks for ln in b.lines]
    ordered = sorted(written, key=lambda ln: ln.index)
    return ordered, [ln.index for ln in ordered] == [ln.index for ln in written]


def _points_alto(points: list[tuple[int, int]]) -> str:
    """``x y x y ...``: one format call for the whole polygon."""
    return ("%d %d " * len(points) % tuple(chain.from_iterable(points)))[:-1]


def _points_page(points: list[tuple[int, int]]) -> str:
    """``x,y x,y ...``: one format call for the whole polygon."""
    return ("%d,%d " * len(points) % tuple(chain.from_iterable(points)))[:-1]


def _confidence(value: float | None) -> str | None:
    if value is None or value != value:
        return None
    return f"{min(1.0, max(0.0, value)):.4g}"


_KIND_SPECIAL = ";{}:\\ "  # a tag kind ends at a space too


def _escape_custom(value: str, special: str = ";{}:\\") -> str:
    """A value for a ``custom`` attribute with the characters that would end it escaped as
    ``\\uXXXX`` (a tag kind: spaces too)."""
    return "".join(f"\\u{ord(c):04x}" if c in special else c for c in value)


def _custom_type(value: str) -> str:
    """``structure {type:...;}`` with the characters that would end it escaped (\\uXXXX)."""
    return _custom(value, {})


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


class _Writing:
    """What writing one page needs in either format: the plan, the notes, unique IDs, and the
    root element in the format's namespace (``sub`` adds a child in it)."""

    def __init__(
        self, page: ExportPage, namespace: str, root_tag: str, schema_location: str, *, alto: bool
    ) -> None:
        self.notes: Counter[str] = Counter()
        self.blocks = _plan(page, self.notes, alto=alto)
        self.ids = _Ids(())
        self.ids.used = {b.xml_id for b in self.blocks}
        self.ids.used |= {ln.xml_id for b in self.blocks for ln in b.lines}
        self.ns = f"{{{namespace}}}"
        self.root = etree.Element(self.ns + root_tag, nsmap={None: namespace, "xsi": XSI_NAMESPACE})
        self.root.set(f"{{{XSI_NAMESPACE}}}schemaLocation", schema_location)

    def sub(self, parent: etree._Element, tag: str, **attrib: str) -> etree._Element:
        return etree.SubElement(parent, self.ns + tag, attrib)

    def result(self) -> ExportedPage:
        return ExportedPage(_serialize(self.root), self.notes, self.root)


# --------------------------------------------------------------------------------------------
# ALTO v4
# --------------------------------------------------------------------------------------------


def write_alto(page: ExportPage) -> ExportedPage:
    """The page as ALTO v4.3 (valid against the shipped ``alto-4-3.xsd``)."""
    writing = _Writing(page, ALTO_V4_NAMESPACE, "alto", ALTO_SCHEMA_LOCATION, alto=True)
    root, sub, blocks, ids = writing.root, writing.sub, writing.blocks, writing.ids
    root.set("SCHEMAVERSION", "4.3")
    description = sub(root, "Description")
    sub(description, "MeasurementUnit").text = "pixel"
    sub(sub(description, "sourceImageInformation"), "fileName").text = page.image_filename

    region_tags: dict[str, str] = {}
    line_tags: dict[str, str] = {}
    other_tags: dict[tuple[str, str], str] = {}  # (kind, value) -> tag ID
    for block in blocks:
        if not block.made and block.type not in region_tags:
            region_tags[block.type] = ids.new("region_type_")
        for pair in _tags_for_alto(block.tags)[0]:
            other_tags.setdefault(pair, "")
        for line in block.lines:
            if line.type != DEFAULT_LINE_TYPE and line.type not in line_tags:
                line_tags[line.type] = ids.new("line_type_")
            for pair in _tags_for_alto(line.tags)[0]:
                other_tags.setdefault(pair, "")
    for pair in other_tags:
        other_tags[pair] = ids.new("tag_")
    if region_tags or line_tags or other_tags:
        tags = sub(root, "Tags")
        for kind, table, words in (("region", region_tags, "region"), ("type", line_tags, "line")):
            for label, tag_id in table.items():
                sub(tags, "OtherTag", ID=tag_id, TYPE=kind, LABEL=label)
                tags[-1].set("DESCRIPTION", f"{words} type {label}")
        for (kind, label), tag_id in other_tags.items():
            sub(tags, "OtherTag", ID=tag_id, TYPE=kind, LABEL=label)
            tags[-1].set("DESCRIPTION", f"{kind} {label}")

    def tagrefs(element: etree._Element, own: list[str], tag_set: TagSet) -> str:
        pairs, direction = _tags_for_alto(tag_set)
        refs = [*own, *(other_tags[pair] for pair in pairs)]
        if refs:
            element.set("TAGREFS", " ".join(refs))
        return direction

    ordered, in_document_order = _in_reading_order(blocks)
    if not in_document_order:
        group = sub(sub(root, "ReadingOrder"), "OrderedGroup", ID=ids.new("reading_order_"))
        for line in ordered:
            sub(group, "ElementRef", ID=ids.new("ref_"), REF=line.xml_id)

    layout = sub(root, "Layout")
    page_el = sub(
        layout,
        "Page",
        ID=ids.new("page_"),
        PHYSICAL_IMG_NR="1",
        WIDTH=str(page.width),
        HEIGHT=str(page.height),
    )
    space = sub(
        page_el, "PrintSpace", HPOS="0", VPOS="0", WIDTH=str(page.width), HEIGHT=str(page.height)
    )
    rtl = page.read_direction == ReadDirection.RTL.value
    for block in blocks:
        element = "TextBlock"
        if not block.lines and block.type in ALTO_ELEMENT_FOR_TYPE:
            element = ALTO_ELEMENT_FOR_TYPE[block.type]
        block_el = sub(space, element, ID=block.xml_id)
        if block.polygon is not None:
            _alto_box(block_el, block.polygon)
        direction = tagrefs(block_el, [] if block.made else [region_tags[block.type]], block.tags)
        if block.polygon is not None:
            sub(sub(block_el, "Shape"), "Polygon", POINTS=_points_alto(block.polygon))
        if element == "TextBlock" and (direction or rtl):
            block_el.set("BASEDIRECTION", direction or "rtl")
        for line in block.lines:
            line_el = sub(block_el, "TextLine", ID=line.xml_id)
            _alto_box(line_el, line.outline)
            if line.baseline is not None:
                line_el.set("BASELINE", _points_alto(line.baseline))
            own = [line_tags[line.type]] if line.type in line_tags else []
            if direction := tagrefs(line_el, own, line.tags):
                line_el.set("BASEDIRECTION", direction)
            if not line.outline_made:
                sub(sub(line_el, "Shape"), "Polygon", POINTS=_points_alto(line.outline))
            _alto_strings(writing, line_el, line)
    return writing.result()


def _alto_strings(writing: _Writing, line_el: etree._Element, line: _Line) -> None:
    """The line's text: a String per word with an SP between when the words are known, else
    one String (``CONTENT`` keeps the spaces; empty for a line without text)."""
    if not line.words:
        string = writing.sub(line_el, "String", CONTENT=line.text or "")
        if line.text and (wc := _confidence(line.confidence)) is not None:
            string.set("WC", wc)
        return
    for number, word in enumerate(line.words):
        if number:
            writing.sub(line_el, "SP")
        string = writing.sub(line_el, "String", CONTENT=word.text)
        if word.box is not None:
            x0, y0, x1, y1 = (max(0, round(v)) for v in word.box)
            string.set("HPOS", str(x0))
            string.set("VPOS", str(y0))
            string.set("WIDTH", str(max(0, x1 - x0)))
            string.set("HEIGHT", str(max(0, y1 - y0)))
        if (wc := _confidence(word.confidence)) is not None:
            string.set("WC", wc)


def _alto_box(element: etree._Element, points: list[tuple[int, int]]) -> None:
    x0, y0, x1, y1 = _bbox(points)
    element.set("HPOS", str(x0))
    element.set("VPOS", str(y0))
    element.set("WIDTH", str(x1 - x0))
    element.set("HEIGHT", str(y1 - y0))


# --------------------------------------------------------------------------------------------
# PAGE 2019
# --------------------------------------------------------------------------------------------


def write_page(page: ExportPage, *, now: dt.datetime | None = None) -> ExportedPage:
    """The page as PAGE 2019-07-15 (valid against the shipped ``pagecontent.xsd``)."""
    writing = _Writing(page, PAGE_2019_NAMESPACE, "PcGts", PAGE_SCHEMA_LOCATION, alto=False)
    root, sub, blocks, ids = writing.root, writing.sub, writing.blocks, writing.ids
    metadata = sub(root, "Metadata")
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%S")
    sub(metadata, "Creator").text = "esctui"
    sub(metadata, "Created").text = stamp
    sub(metadata, "LastChange").text = stamp
    page_el = sub(
        root,
        "Page",
        imageFilename=page.image_filename,
        imageWidth=str(page.width),
        imageHeight=str(page.height),
    )
    if page.read_direction == ReadDirection.RTL.value:
        page_el.set("readingDirection", "right-to-left")

    if blocks:
        group = sub(sub(page_el, "ReadingOrder"), "OrderedGroup", id=ids.new("reading_order_"))
        for index, block in enumerate(blocks):
            sub(group, "RegionRefIndexed", index=str(index), regionRef=block.xml_id)
    _ordered, in_document_order = _in_reading_order(blocks)
    if not in_document_order:
        writing.notes[ExportNote.ORDER_BY_REGION] += 1

    # The lines' elements through SubElement and prebuilt tags: 50,000 lines make a register.
    add, ns = etree.SubElement, writing.ns
    text_line, coords, baseline = f"{ns}TextLine", f"{ns}Coords", f"{ns}Baseline"
    text_equiv, unicode = f"{ns}TextEquiv", f"{ns}Unicode"
    for block in blocks:
        element = "TextRegion"
        if not block.lines and block.type in PAGE_ELEMENT_FOR_TYPE:
            element = PAGE_ELEMENT_FOR_TYPE[block.type]
        region_el = sub(page_el, element, id=block.xml_id)
        custom_type: str | None = None
        if element == "TextRegion" and block.type != "text":
            if block.type in PAGE_TEXT_REGION_TYPES:
                region_el.set("type", block.type)
            else:
                custom_type = block.type
        if custom := _custom(custom_type, block.tags):
            region_el.set("custom", custom)
        assert block.polygon is not None
        add(region_el, coords, points=_points_page(block.polygon))
        for line in block.lines:
            line_el = add(region_el, text_line, id=line.xml_id)
            if line.tags or line.type != DEFAULT_LINE_TYPE:
                line_type = line.type if line.type != DEFAULT_LINE_TYPE else None
                if custom := _custom(line_type, line.tags):
                    line_el.set("custom", custom)
            add(line_el, coords, points=_points_page(line.outline))
            if line.baseline is not None:
                add(line_el, baseline, points=_points_page(line.baseline))
            if line.text is not None:
                equiv = add(line_el, text_equiv)
                if (conf := _confidence(line.confidence)) is not None:
                    equiv.set("conf", conf)
                add(equiv, unicode).text = line.text
    return writing.result()


# --------------------------------------------------------------------------------------------
# Plain text
# --------------------------------------------------------------------------------------------


def write_text(page: ExportPage) -> ExportedPage:
    """One line of text per line of the page, in reading order; empty where there is none.

    Every stored line counts (also one without coordinates), so line N of the file is line N
    of the page. Line breaks inside a text become spaces.
    """
    out = []
    for line in page.lines:
        stored = page.texts.get(line.id)
        text = stored.text if stored is not None else ""
        out.append(" ".join(text.splitlines()))
    return ExportedPage(("\n".join(out) + "\n" if out else "").encode("utf-8"), Counter())
