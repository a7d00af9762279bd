"""ALTO / PAGE reader: the real corpus files, a cross-check with kraken, and edge cases.

Corpus files are read in place (never changed); variants are written to ``tmp_path``.
"""

from __future__ import annotations

import re
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from esctui.formats.xml import (
    LayoutXmlError,
    ParsedLine,
    ParsedPage,
    Repair,
    parse_layout_xml,
)

ALTO_FILES = [
    "alto/0014.xml",
    "alto/bsb00084914_00007.xml",
    "alto/missing_coords_ro.xml",
    "alto/reg_test.xml",
    "alto/zero_dims.xml",
    "invalid/alto_mu.xml",
    "invalid/alto_image.xml",
]
PAGE_FILES = [
    "page/170025120000003,0074.xml",
    "page/cPAS-2000.xml",
    "page/explicit_ro.xml",
    "page/missing_coords_transkribus.xml",
    "invalid/page_dims.xml",
]
CORPUS_FILES = ALTO_FILES + PAGE_FILES

# Regions and lines per file, read by eye from the files (and the MANIFEST) as an anchor for the
# XPath counts below: a bug shared by the XPath and the parser would still show here.
KNOWN_COUNTS = {
    "alto/0014.xml": (0, 2),  # one eSc_dummyblock_ without coordinates
    "alto/bsb00084914_00007.xml": (5, 31),
    "alto/missing_coords_ro.xml": (2, 4),  # tb_nocoords has no coordinates
    "alto/reg_test.xml": (2, 0),  # the third block has no coordinates
    "alto/zero_dims.xml": (0, 0),
    "invalid/alto_mu.xml": (5, 31),
    "invalid/alto_image.xml": (5, 31),
    "page/170025120000003,0074.xml": (4, 44),
    "page/cPAS-2000.xml": (4, 97),
    "page/explicit_ro.xml": (3, 5),
    "page/missing_coords_transkribus.xml": (2, 4),  # r_nocoords has an empty <Coords/>
    "invalid/page_dims.xml": (4, 97),
}


def local(name: str) -> str:
    """XPath step matching an element by local name, whatever its namespace."""
    return f"*[local-name()='{name}']"


# ------------------------------------------------------------------------------------------------
# Independent counts, straight from the raw file with XPath (no code of the parser is used):
#   regions = block/region elements that carry a Shape/Polygon (ALTO) or a Coords with points
#             (PAGE), or a complete positive HPOS/VPOS/WIDTH/HEIGHT box (ALTO);
#   lines   = TextLine elements with a BASELINE, a Shape/Polygon or a box (ALTO), or with a
#             Coords or Baseline holding points (PAGE);
#   text    = the characters of ALTO String/@CONTENT, or of the first TextEquiv/Unicode of each
#             PAGE TextLine, counted without whitespace (so the rule for spaces does not
#             matter), and the number of whitespace-separated words.
# ------------------------------------------------------------------------------------------------

ALTO_BOX = "(@HPOS and @VPOS and @WIDTH > 0 and @HEIGHT > 0)"
ALTO_SHAPE = f"{local('Shape')}/{local('Polygon')}[normalize-space(@POINTS)]"
ALTO_BLOCKS = " or ".join(
    f"local-name()='{n}'"
    for n in ("TextBlock", "Illustration", "GraphicalElement", "ComposedBlock")
)
PAGE_REGION = "substring(local-name(), string-length(local-name()) - 5) = 'Region'"
PAGE_COORDS = f"{local('Coords')}[normalize-space(@points)]"
PAGE_BASELINE = f"{local('Baseline')}[normalize-space(@points)]"


def raw_counts(path: Path) -> dict[str, int]:
    root = etree.parse(str(path)).getroot()
    if etree.QName(root).localname == "alto":
        regions = root.xpath(f"//*[{ALTO_BLOCKS}][{ALTO_SHAPE} or {ALTO_BOX}]")
        lines = root.xpath(f"//{local('TextLine')}[@BASELINE or {ALTO_SHAPE} or {ALTO_BOX}]")
        texts = [c for line in lines for c in line.xpath(f"{local('String')}/@CONTENT")]
    else:
        regions = root.xpath(f"//{local('Page')}//*[{PAGE_REGION}][{PAGE_COORDS}]")
        lines = root.xpath(f"//{local('TextLine')}[{PAGE_COORDS} or {PAGE_BASELINE}]")
        texts = [
            t
            for line in lines
            for t in line.xpath(f"{local('TextEquiv')}[1]/{local('Unicode')}/text()")
        ]
    return {
        "regions": len(regions),
        "lines": len(lines),
        "characters": sum(len("".join(t.split())) for t in texts),
        "words": sum(len(t.split()) for t in texts),
    }


def parsed_counts(page: ParsedPage) -> dict[str, int]:
    texts = [line.text or "" for line in page.lines]
    return {
        "regions": len(page.regions),
        "lines": len(page.lines),
        "characters": sum(len("".join(t.split())) for t in texts),
        "words": sum(len(t.split()) for t in texts),
    }


@pytest.mark.parametrize("relative", CORPUS_FILES)
def test_counts_match_raw_xpath(corpus: Path, relative: str) -> None:
    path = corpus / relative
    page = parse_layout_xml(path)
    expected = raw_counts(path)
    assert parsed_counts(page) == expected
    assert (expected["regions"], expected["lines"]) == KNOWN_COUNTS[relative]
    assert page.format == ("alto" if relative in ALTO_FILES else "page")
    # Regions and lines are listed once each, and every line points at a listed region.
    region_ids = [r.id for r in page.regions]
    assert len(set(region_ids)) == len(region_ids)
    assert len({line.id for line in page.lines}) == len(page.lines)
    assert {line.region_id for line in page.lines} <= set(region_ids) | {None}
    assert sum(page.typology["lines"].values()) == len(page.lines)
    assert sum(page.typology["regions"].values()) == len(page.regions)


def test_corpus_text_is_nonempty_where_the_file_has_text(corpus: Path) -> None:
    # cPAS-2000 has no TextEquiv at all: no line may invent text there.
    cpas = parse_layout_xml(corpus / "page/cPAS-2000.xml")
    assert all(line.text is None for line in cpas.lines)
    bsb = parse_layout_xml(corpus / "alto/bsb00084914_00007.xml")
    assert all(line.text for line in bsb.lines)
    assert (
        bsb.lines[0].text
        == "בשאול וגו' ˙ אם יחבאו בראש הכרמל וגו' אם ילכו בשבי וגו' אין חשך ואין [צל']"
    )


def test_transkribus_page_details(corpus: Path) -> None:
    page = parse_layout_xml(corpus / "page/170025120000003,0074.xml")
    assert (page.version, page.image_filename) == ("2013-07-15", "170025120000003,0074.jpg")
    assert (page.width, page.height) == (2743, 3965)
    assert page.typology == {
        "regions": {"$pag": 1, "$pac": 1, "$tip": 1, "$par": 1},
        "lines": {"$pag": 1, "$pac": 25, "$tip": 1, "$par": 17},
    }
    assert page.reading_order == "ReadingOrder ro_1530717944451"
    first = page.lines[0]
    assert first.id == "line_1469098625593_463"
    assert first.baseline == [(2337.0, 226.0), (2421.0, 239.0)]
    assert first.mask == [(2344.0, 182.0), (2428.0, 195.0), (2420.0, 244.0), (2336.0, 231.0)]
    assert first.text == "$pag:39"
    assert page.repairs == {}
    assert page.validation == [
        "no schema shipped for PAGE 2013-07-15 (namespace "
        "http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15); "
        "the file was read without validation"
    ]


def test_https_namespace_and_escaped_custom_types(corpus: Path) -> None:
    page = parse_layout_xml(corpus / "page/cPAS-2000.xml")
    assert page.version == "2013-07-15"
    # Transkribus writes spaces as \u0020 inside custom="structure {type:...}".
    assert page.typology["regions"] == {"Image/Drawing/Figure": 1, "Machine Printed text": 3}
    assert page.regions[0].kind == "ImageRegion"


def test_alto_tags_types_and_reading_order(corpus: Path) -> None:
    page = parse_layout_xml(corpus / "alto/bsb00084914_00007.xml")
    assert page.version == "4"
    assert page.typology["regions"] == {"Main": 1, "Paratext": 3, "Margin": 1}
    assert page.typology["lines"] == {"default": 30, "heading": 1}
    assert page.reading_order == "ReadingOrder og_0"
    # og_0 puts block eSc_textblock_11226 (referenced after strings of line 192874) right after
    # that line, before line 192896 which follows 192874 in the document.
    ids = [line.id for line in page.lines]
    assert ids[:4] == ["eSc_line_192895", "eSc_line_192874", "eSc_line_192894", "eSc_line_192896"]
    # eSc_line_192879 has no BASELINE: one is made from its String boxes (bottom edge).
    derived = next(line for line in page.lines if line.id == "eSc_line_192879")
    assert derived.baseline == [(801.0, 1453.0), (2731.0, 1453.0)]
    assert derived.mask == [(801.0, 1321.0), (801.0, 1453.0), (2731.0, 1453.0), (2731.0, 1321.0)]
    assert page.repairs == {
        Repair.BASELINE_FROM_STRINGS: 1,
        Repair.BOX_POLYGON: 1,
        Repair.SPACE_BETWEEN_STRINGS: 4,
    }
    # The file breaks the schema (OtherTag without LABEL, LANG on Page) but is still read.
    assert any("OtherTag" in message and "LABEL" in message for message in page.validation)
    assert all(
        message.startswith("does not follow the ALTO v4 schema") for message in page.validation
    )


def test_valid_alto_has_no_validation_messages(corpus: Path) -> None:
    page = parse_layout_xml(corpus / "alto/0014.xml")
    assert page.validation == []
    assert parse_layout_xml(corpus / "alto/0014.xml", validate=False).validation == []


def test_valid_and_invalid_page_2019(corpus: Path) -> None:
    data = (corpus / "page/170025120000003,0074.xml").read_bytes()
    as_2019 = data.replace(b"2013-07-15", b"2019-07-15")
    page = parse_layout_xml(as_2019, name="p2019.xml")
    assert (page.version, page.validation) == ("2019-07-15", [])
    broken = as_2019.replace(b"<Baseline ", b"<Baseline bogus='1' ", 1)
    page = parse_layout_xml(broken, name="p2019.xml")
    assert len(page.lines) == 44
    assert len(page.validation) == 1
    assert "bogus" in page.validation[0] and "PAGE 2019-07-15" in page.validation[0]


# ------------------------------------------------------------------------------------------------
# Cross-check with kraken's own parser
# ------------------------------------------------------------------------------------------------

# Files kraken refuses, the edit that makes kraken read them, and what we do instead.
KRAKEN_REFUSES = {
    "invalid/alto_mu.xml": (b"<MeasurementUnit>mm<", b"<MeasurementUnit>pixel<", "unit 'mm'"),
    "invalid/alto_image.xml": (b"<fileName></fileName>", b"<fileName>x.jpg</fileName>", "name"),
    "invalid/page_dims.xml": (
        b'imageWidth="foo" imageHeight="bar"',
        b'imageWidth="3631" imageHeight="4734"',
        "page size",
    ),
    "alto/zero_dims.xml": (b'WIDTH="0" HEIGHT="0"', b'WIDTH="123" HEIGHT="45"', "page size"),
}
IMAGE_SIZES = {"invalid/page_dims.xml": (3631, 4734), "alto/zero_dims.xml": (123, 45)}


@pytest.fixture(scope="module")
def kraken_xml_page() -> Any:
    """kraken.lib.xml.XMLPage (importing kraken takes seconds: once per module)."""
    import logging

    xml = pytest.importorskip("kraken.lib.xml")
    logging.getLogger("kraken").setLevel(logging.ERROR)
    return xml.XMLPage


def int_points(points: list[tuple[float, float]] | None) -> list[tuple[int, int]] | None:
    """kraken's representation: integer points, consecutive duplicates dropped."""
    if points is None:
        return None
    return [k for k, _ in groupby((int(x), int(y)) for x, y in points)]


def kraken_type(tags: dict | None) -> str | None:
    if not tags or "type" not in tags:
        return None
    value = tags["type"][0]["type"]
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), value)


def raw_box(el: etree._Element) -> list[tuple[int, int]]:
    x, y, w, h = (int(float(el.get(a))) for a in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
    return [(x, y), (x, y + h), (x + w, y + h), (x + w, y)]


def has_adjacent_strings(line_el: etree._Element) -> bool:
    names = [etree.QName(c).localname for c in line_el if isinstance(c.tag, str)]
    return any(a == b == "String" for a, b in zip(names, names[1:], strict=False))


@pytest.mark.parametrize("relative", CORPUS_FILES)
def test_same_as_kraken(corpus: Path, relative: str, tmp_path: Path, kraken_xml_page: Any) -> None:
    path = corpus / relative
    ours = parse_layout_xml(path, image_size=IMAGE_SIZES.get(relative))
    kraken_path = path
    if relative in KRAKEN_REFUSES:
        old, new, our_warning = KRAKEN_REFUSES[relative]
        with pytest.raises(ValueError):
            kraken_xml_page(path)
        # We read the file and say what is wrong with it instead.
        assert any(our_warning in w for w in ours.warnings), ours.warnings
        kraken_path = tmp_path / path.name
        data = path.read_bytes()
        assert old in data
        kraken_path.write_bytes(data.replace(old, new))
    kraken = kraken_xml_page(kraken_path)
    root = etree.parse(str(path)).getroot()
    by_id = {el.get("ID") or el.get("id"): el for el in root.iter() if isinstance(el.tag, str)}
    is_alto = relative in ALTO_FILES
    assert Repair.CLAMPED not in ours.repairs  # the corpus needs no clamping: exact comparison

    # Regions: same ids, polygons and types.
    kraken_regions = {r.id: r for regions in kraken.regions.values() for r in regions}
    assert {r.id for r in ours.regions} == set(kraken_regions)
    for region in ours.regions:
        theirs = kraken_regions[region.id]
        assert int_points(region.polygon) == theirs.boundary, region.id
        assert region.type == kraken_type(theirs.tags), region.id

    # Lines: every kraken line is ours; our extra lines are exactly the derived baselines.
    ours_by_id = {line.id: line for line in ours.lines}
    assert set(kraken.lines) <= set(ours_by_id)
    extra = set(ours_by_id) - set(kraken.lines)
    derived = ours.repairs.get(Repair.BASELINE_FROM_STRINGS, 0) + ours.repairs.get(
        Repair.BASELINE_FROM_LINE_BOX, 0
    )
    assert len(extra) == derived
    for line_id in extra:
        assert by_id[line_id].get("BASELINE") is None

    boxes_made = sum(1 for r in ours.regions if not by_id[r.id].xpath(ALTO_SHAPE)) if is_alto else 0
    spaces_added = 0
    for line_id, theirs in kraken.lines.items():
        line: ParsedLine = ours_by_id[line_id]
        line_el = by_id[line_id]
        assert int_points(line.baseline) == theirs.baseline, line_id
        if theirs.boundary is None:  # kraken has no polygon: ours is the documented box
            assert is_alto and not line_el.xpath(ALTO_SHAPE)
            assert int_points(line.mask) == raw_box(line_el), line_id
            boxes_made += 1
        else:
            assert int_points(line.mask) == theirs.boundary, line_id
        assert line.region_id == (theirs.regions[0] if theirs.regions else None), line_id
        assert line.type == (kraken_type(theirs.tags) or "default"), line_id
        if line.text is None:
            assert theirs.text == "" and not line_el.xpath(
                f"{local('TextEquiv')}|{local('String')}"
            )
        elif is_alto and has_adjacent_strings(line_el):
            # kraken glues words written without SP; we put one space between them.
            spaces_added += 1
            assert line.text.replace(" ", "") == theirs.text.replace(" ", ""), line_id
            contents = line_el.xpath(f"{local('String')}/@CONTENT")
            assert len(line.text.split()) == sum(len(c.split()) for c in contents), line_id
        else:
            assert line.text == theirs.text, line_id
    spaces_added += sum(1 for line_id in extra if has_adjacent_strings(by_id[line_id]))
    assert ours.repairs.get(Repair.SPACE_BETWEEN_STRINGS, 0) == spaces_added
    derived_masks = sum(1 for line_id in extra if not by_id[line_id].xpath(ALTO_SHAPE))
    assert ours.repairs.get(Repair.BOX_POLYGON, 0) == boxes_made + derived_masks

    # Reading order: kraken's explicit order (or its document order) is ours, minus the lines it
    # cannot place (derived baselines, regions without coordinates) which we keep in place.
    if ours.reading_order.startswith("ReadingOrder "):
        order_id = ours.reading_order.split(" ", 1)[1]
        kraken_order = kraken.reading_orders[order_id]["order"]
        kraken_region_order = kraken.reading_orders[f"{order_id}:regions"]["order"]
    else:
        kraken_order = kraken.reading_orders["line_implicit"]["order"]
        kraken_region_order = kraken.reading_orders["region_implicit"]["order"]
    our_order = [line.id for line in ours.lines]
    assert [i for i in our_order if i in set(kraken_order)] == kraken_order
    for line_id in set(our_order) - set(kraken_order):
        assert line_id in extra or ours_by_id[line_id].region_id is None
    assert [r.id for r in ours.regions][: len(kraken_region_order)] == kraken_region_order


# ------------------------------------------------------------------------------------------------
# Edge cases, written as small files
# ------------------------------------------------------------------------------------------------

ALTO4 = "http://www.loc.gov/standards/alto/ns-v4#"
PAGE2019 = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"


def alto(
    body: str,
    *,
    ns: str = ALTO4,
    unit: str = "pixel",
    size: str = "1000 800",
    tags: str = "",
    head: str = "",
) -> bytes:
    width, height = size.split()
    xmlns = f' xmlns="{ns}"' if ns else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<alto{xmlns}{head}>'
        f"<Description><MeasurementUnit>{unit}</MeasurementUnit>"
        "<sourceImageInformation><fileName>scan.jpg</fileName></sourceImageInformation>"
        f"</Description>{tags}<Layout><Page ID='p' WIDTH='{width}' HEIGHT='{height}' "
        "PHYSICAL_IMG_NR='1'>"
        f"<PrintSpace>{body}</PrintSpace></Page></Layout></alto>"
    ).encode()


def page_xml(body: str, *, ns: str = PAGE2019, size: str = "1000 800", order: str = "") -> bytes:
    width, height = size.split()
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<PcGts xmlns="{ns}">'
        "<Metadata><Creator>test</Creator><Created>2024-01-01T00:00:00</Created>"
        "<LastChange>2024-01-01T00:00:00</LastChange></Metadata>"
        f'<Page imageFilename="scan.jpg" imageWidth="{width}" imageHeight="{height}">'
        f"{order}{body}</Page></PcGts>"
    ).encode()


def test_alto_v2_without_namespace_and_single_number_baseline() -> None:
    data = alto(
        "<TextBlock ID='b1' HPOS='10' VPOS='10' WIDTH='500' HEIGHT='100'>"
        "<TextLine ID='l1' HPOS='20' VPOS='30' WIDTH='400' HEIGHT='50' BASELINE='70'>"
        "<String CONTENT='Anno' HPOS='20' VPOS='30' WIDTH='100' HEIGHT='40' WC='0.9'/>"
        "<SP WIDTH='10'/><String CONTENT='Domi' HPOS='130' VPOS='30' WIDTH='90' HEIGHT='40' "
        "WC='0.7'/><HYP CONTENT='-'/></TextLine></TextBlock>",
        ns="",
        head=' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="http://www.loc.gov/standards/alto/alto-v2.0.xsd"',
    )
    page = parse_layout_xml(data, name="v2.xml")
    assert (page.format, page.version) == ("alto", "2")
    [line] = page.lines
    assert line.baseline == [(20.0, 70.0), (420.0, 70.0)]
    assert line.text == "Anno Domi-"
    assert line.confidence == pytest.approx(0.8)
    assert line.region_id == "b1" and line.type == "default"
    assert page.regions[0].polygon == [(10.0, 10.0), (10.0, 110.0), (510.0, 110.0), (510.0, 10.0)]
    assert page.repairs == {Repair.BASELINE_FROM_NUMBER: 1, Repair.BOX_POLYGON: 2}
    assert page.validation == [
        "no schema shipped for ALTO v2 (no namespace); the file was read without validation"
    ]


def test_alto_v3_namespace_point_spellings() -> None:
    data = alto(
        "<TextBlock ID='b1'><Shape><Polygon POINTS='(0,0) (100,0) (100,50) (0,50)'/></Shape>"
        "<TextLine ID='l1' BASELINE='1,40 50,41 99,40'><Shape><Polygon "
        "POINTS='1 1 99 1 99 45 1 45'/></Shape><String CONTENT='x'/></TextLine></TextBlock>",
        ns="http://www.loc.gov/standards/alto/ns-v3#",
    )
    page = parse_layout_xml(data)
    assert page.version == "3"
    assert page.regions[0].polygon == [(0.0, 0.0), (100.0, 0.0), (100.0, 50.0), (0.0, 50.0)]
    assert page.lines[0].baseline == [(1.0, 40.0), (50.0, 41.0), (99.0, 40.0)]
    assert page.lines[0].mask == [(1.0, 1.0), (99.0, 1.0), (99.0, 45.0), (1.0, 45.0)]
    assert page.repairs == {}
    assert page.validation[0].startswith("no schema shipped for ALTO v3")


def test_alto_baselines_derived_from_strings_and_line_box() -> None:
    data = alto(
        "<TextBlock ID='b1' HPOS='0' VPOS='0' WIDTH='900' HEIGHT='300'>"
        # words at different heights: the baseline follows their bottoms, left to right,
        # whatever the order they are written in
        "<TextLine ID='words' HPOS='10' VPOS='10' WIDTH='500' HEIGHT='60'>"
        "<String CONTENT='b' HPOS='200' VPOS='12' WIDTH='100' HEIGHT='50'/><SP/>"
        "<String CONTENT='a' HPOS='10' VPOS='10' WIDTH='150' HEIGHT='48'/></TextLine>"
        "<TextLine ID='box' HPOS='10' VPOS='100' WIDTH='500' HEIGHT='60'/>"
        "<TextLine ID='nothing'><String CONTENT='lost'/></TextLine>"
        "</TextBlock>"
    )
    page = parse_layout_xml(data)
    words, box = page.lines
    assert words.baseline == [(10.0, 58.0), (160.0, 58.0), (200.0, 62.0), (300.0, 62.0)]
    assert words.text == "b a"
    assert box.baseline == [(10.0, 160.0), (510.0, 160.0)]
    assert box.text is None
    assert page.repairs == {
        Repair.BASELINE_FROM_STRINGS: 1,
        Repair.BASELINE_FROM_LINE_BOX: 1,
        Repair.BOX_POLYGON: 3,
        Repair.LINE_WITHOUT_COORDINATES: 1,
    }


def test_alto_block_kinds_tags_and_composed_blocks() -> None:
    tags = (
        "<Tags><OtherTag ID='t1' LABEL='Main'/><LayoutTag ID='t2' LABEL='Title' TYPE='region'/>"
        "<OtherTag ID='l1' LABEL='heading' TYPE='type'/><OtherTag ID='lang' LABEL='lat' "
        "TYPE='language'/></Tags>"
    )
    line = (
        "<TextLine ID='{id}' BASELINE='{x},50 {x2},50' TAGREFS='{tags}'>"
        "<String CONTENT='w' WC='1'/></TextLine>"
    )
    data = alto(
        "<TextBlock ID='b1' HPOS='0' VPOS='0' WIDTH='100' HEIGHT='100' TAGREFS='lang t1'>"
        + line.format(id="x1", x=1, x2=90, tags="l1 lang")
        + "</TextBlock>"
        "<Illustration ID='ill' HPOS='100' VPOS='0' WIDTH='100' HEIGHT='100'/>"
        "<GraphicalElement ID='g' HPOS='200' VPOS='0' WIDTH='10' HEIGHT='10' TAGREFS='t2'/>"
        "<ComposedBlock ID='cb' HPOS='300' VPOS='0' WIDTH='300' HEIGHT='300'>"
        "<TextBlock ID='inner' HPOS='300' VPOS='0' WIDTH='100' HEIGHT='100'>"
        + line.format(id="x2", x=301, x2=390, tags="")
        + "</TextBlock><Illustration ID='inner_ill' HPOS='400' VPOS='0' WIDTH='10' HEIGHT='10'/>"
        "</ComposedBlock>"
        "<ComposedBlock ID='lonely' TYPE='table' HPOS='700' VPOS='0' WIDTH='10' HEIGHT='10'/>",
        tags=tags,
    )
    page = parse_layout_xml(data)
    assert [(r.id, r.kind, r.type) for r in page.regions] == [
        ("b1", "TextBlock", "Main"),
        ("ill", "Illustration", "illustration"),
        ("g", "GraphicalElement", "Title"),
        ("inner", "TextBlock", "text"),
        ("inner_ill", "Illustration", "illustration"),
        ("lonely", "ComposedBlock", "table"),
    ]
    assert [(line.id, line.region_id, line.type) for line in page.lines] == [
        ("x1", "b1", "heading"),
        ("x2", "inner", "default"),
    ]
    assert page.typology == {
        "regions": {"Main": 1, "illustration": 2, "Title": 1, "text": 1, "table": 1},
        "lines": {"heading": 1, "default": 1},
    }
    assert any("ComposedBlock" in w for w in page.warnings)
    assert page.lines[0].confidence == 1.0


def test_alto_reading_order_refs_to_blocks_lines_and_strings() -> None:
    block = (
        "<TextBlock ID='{b}' HPOS='0' VPOS='{y}' WIDTH='100' HEIGHT='100'>"
        "<TextLine ID='{b}l1' BASELINE='0,{y1} 90,{y1}'><String ID='{b}s' CONTENT='a'/></TextLine>"
        "<TextLine ID='{b}l2' BASELINE='0,{y2} 90,{y2}'><String CONTENT='b'/></TextLine>"
        "</TextBlock>"
    )
    body = "".join(
        block.format(b=b, y=y, y1=y + 40, y2=y + 80) for b, y in [("A", 0), ("B", 100), ("C", 200)]
    )
    order = (
        "<ReadingOrder><UnorderedGroup ID='all'><OrderedGroup ID='main'>"
        "<ElementRef ID='r1' REF='C'/><ElementRef ID='r2' REF='Bs'/><ElementRef ID='r3' REF='Al2'/>"
        "</OrderedGroup><OrderedGroup ID='other'><ElementRef ID='r4' REF='A'/></OrderedGroup>"
        "</UnorderedGroup></ReadingOrder>"
    )
    page = parse_layout_xml(alto(body, tags=order))
    assert page.reading_order == "ReadingOrder main"
    assert [line.id for line in page.lines] == ["Cl1", "Cl2", "Bl1", "Al2", "Al1", "Bl2"]
    assert [r.id for r in page.regions] == ["C", "B", "A"]
    assert any("2 line(s) not in the reading order main" in w for w in page.warnings)


@pytest.mark.parametrize(
    ("unit", "xml_size", "factor"),
    [("mm10", "2100 1600", 0.5), ("inch1200", "4200 3200", 0.25), ("pixel", "2000 1600", 0.5)],
)
def test_alto_units_and_sizes_are_scaled_to_the_image(
    unit: str, xml_size: str, factor: float
) -> None:
    data = alto(
        "<TextBlock ID='b' HPOS='100' VPOS='200' WIDTH='400' HEIGHT='400'>"
        "<TextLine ID='l' BASELINE='100,600 500,600' HPOS='100' VPOS='200' WIDTH='400' "
        "HEIGHT='400'/></TextBlock>",
        unit=unit,
        size=xml_size,
    )
    width = int(int(xml_size.split()[0]) * factor)
    page = parse_layout_xml(data, image_size=(width, 800))
    assert (page.width, page.height) == (width, 800)
    f = factor
    assert page.lines[0].baseline == [(100 * f, 600 * f), (500 * f, 600 * f)]
    assert page.regions[0].polygon[2] == (500 * f, 600 * f)
    assert "scaled" in page.scale_note and f"({width} × 800)" in page.scale_note
    unit_words = {"mm10": "tenths of a millimetre", "inch1200": "1/1200 inch"}
    if unit in unit_words:
        assert f"in {unit_words[unit]}" in page.scale_note
    unscaled = parse_layout_xml(data)
    assert unscaled.scale_note == "" and unscaled.lines[0].baseline == [
        (100.0, 600.0),
        (500.0, 600.0),
    ]
    if unit != "pixel":
        assert any("cannot be converted" in w for w in unscaled.warnings)


def test_same_size_is_not_scaled(corpus: Path) -> None:
    page = parse_layout_xml(corpus / "page/explicit_ro.xml", image_size=(1000, 1000))
    assert page.scale_note == ""
    assert page.lines[0].baseline == [(10.0, 440.0), (490.0, 440.0)]


def test_page_word_level_text_other_regions_and_index_order() -> None:
    line = (
        '<TextLine id="{id}" custom="structure {{type:{type};}}"><Coords points="{x},10 {x2},10 '
        '{x2},40 {x},40"/><Baseline points="{x},38 {x2},38"/>{text}</TextLine>'
    )
    words = (
        '<Word id="w1"><Coords points="10,10 50,10 50,40 10,40"/><TextEquiv conf="0.5">'
        "<Unicode>Item</Unicode></TextEquiv></Word>"
        '<Word id="w2"><Coords points="60,10 90,10 90,40 60,40"/><TextEquiv conf="0.7">'
        "<Unicode>dixit</Unicode></TextEquiv></Word>"
    )
    equivs = (
        '<TextEquiv index="2" conf="0.1"><Unicode>second reading</Unicode></TextEquiv>'
        '<TextEquiv index="1" conf="0.9"><Unicode>main reading</Unicode></TextEquiv>'
    )
    body = (
        '<TextRegion id="r1" type="paragraph"><Coords points="0,0 500,0 500,100 0,100"/>'
        + line.format(id="l1", type="verse", x=10, x2=90, text=words)
        + "</TextRegion>"
        '<ImageRegion id="img"><Coords points="0,200 100,200 100,300 0,300"/></ImageRegion>'
        '<SeparatorRegion id="sep"><Coords points="0,350 500,350 500,352 0,352"/></SeparatorRegion>'
        '<TableRegion id="tab"><Coords points="0,400 500,400 500,600 0,600"/>'
        '<TextRegion id="cell" custom="structure {type:cell;}">'
        '<Coords points="0,400 250,400 250,500 0,500"/>'
        + line.format(id="l2", type="note", x=10, x2=200, text=equivs)
        + "</TextRegion></TableRegion>"
    )
    order = (
        '<ReadingOrder><OrderedGroup id="ro" caption="main">'
        '<RegionRefIndexed index="1" regionRef="r1"/><RegionRefIndexed index="0" regionRef="cell"/>'
        "</OrderedGroup></ReadingOrder>"
    )
    page = parse_layout_xml(page_xml(body, order=order))
    assert [(r.id, r.kind, r.type) for r in page.regions] == [
        ("cell", "TextRegion", "cell"),
        ("r1", "TextRegion", "paragraph"),
        ("img", "ImageRegion", "image"),
        ("sep", "SeparatorRegion", "separator"),
        ("tab", "TableRegion", "table"),
    ]
    cell_line, word_line = page.lines
    assert (cell_line.id, cell_line.region_id, cell_line.type) == ("l2", "cell", "note")
    assert (cell_line.text, cell_line.confidence) == ("main reading", 0.9)
    assert (word_line.text, word_line.type) == ("Item dixit", "verse")
    assert word_line.confidence == pytest.approx(0.6)
    assert page.repairs == {Repair.TEXT_FROM_WORDS: 1}
    assert page.validation == []  # a well-formed PAGE 2019 file


def test_page_negative_and_decimal_coordinates_are_clamped_and_kept() -> None:
    body = (
        '<TextRegion id="r"><Coords points="-5,-3 1005.5,0 1000,810 0,800"/>'
        '<TextLine id="l"><Coords points="10.25,10.75 90.5,10 90,40 10,40"/>'
        '<Baseline points="-2,38 90.5,38"/><TextEquiv><Unicode>x</Unicode></TextEquiv>'
        "</TextLine>"
        '<TextLine id="no_coords"><Coords points=""/><TextEquiv><Unicode>y</Unicode></TextEquiv>'
        "</TextLine></TextRegion>"
        '<TextRegion id="empty"><Coords points="1,1 2,2 oops"/></TextRegion>'
    )
    page = parse_layout_xml(page_xml(body), validate=False)
    assert page.regions[0].polygon == [(0.0, 0.0), (1000.0, 0.0), (1000.0, 800.0), (0.0, 800.0)]
    [line] = page.lines
    assert line.mask == [(10.25, 10.75), (90.5, 10.0), (90.0, 40.0), (10.0, 40.0)]
    assert line.baseline == [(0.0, 38.0), (90.5, 38.0)]
    assert page.repairs == {
        Repair.CLAMPED: 2,
        Repair.DECIMAL_COORDINATES: 3,
        Repair.LINE_WITHOUT_COORDINATES: 1,
        Repair.UNREADABLE_POINTS: 1,
        Repair.REGION_WITHOUT_COORDINATES: 1,
    }


def test_page_2010_point_elements_and_scaling() -> None:
    body = (
        '<TextRegion id="r"><Coords><Point x="0" y="0"/><Point x="100" y="0"/>'
        '<Point x="100" y="100"/></Coords></TextRegion>'
    )
    data = page_xml(body, ns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2010-03-19")
    page = parse_layout_xml(data, image_size=(500, 400))
    assert page.version == "2010-03-19"
    assert page.regions[0].polygon == [(0.0, 0.0), (50.0, 0.0), (50.0, 50.0)]
    assert "(1000 × 800)" in page.scale_note and "(500 × 400)" in page.scale_note


def test_page_without_size_uses_the_image_size(corpus: Path) -> None:
    page = parse_layout_xml(corpus / "invalid/page_dims.xml", image_size=(3631, 4734))
    assert (page.width, page.height) == (3631, 4734)
    assert page.scale_note == ""
    assert any("foo × bar" in w for w in page.warnings)
    without = parse_layout_xml(corpus / "invalid/page_dims.xml")
    assert (without.width, without.height) == (0, 0)
    assert len(without.lines) == 97


def test_alto_without_image_name_says_so(corpus: Path) -> None:
    page = parse_layout_xml(corpus / "invalid/alto_image.xml")
    assert page.image_filename == ""
    assert any("does not name its image" in w for w in page.warnings)


# ------------------------------------------------------------------------------------------------
# Refused input: clear messages, no entity expansion, no file or network access
# ------------------------------------------------------------------------------------------------


def test_xxe_is_refused_and_nothing_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE alto [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        f'<alto xmlns="{ALTO4}"><Description><sourceImageInformation><fileName>&xxe;</fileName>'
        "</sourceImageInformation></Description><Layout><Page WIDTH='1' HEIGHT='1'/></Layout></alto>"
    ).encode()
    with pytest.raises(LayoutXmlError, match="evil.xml: the file declares XML entities") as info:
        parse_layout_xml(data, name="evil.xml")
    assert "TOP-SECRET" not in str(info.value)


def test_billion_laughs_is_refused() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    data = f'<?xml version="1.0"?><!DOCTYPE PcGts [{entities}]><PcGts>&lol9;</PcGts>'.encode()
    with pytest.raises(LayoutXmlError, match="billion laughs"):
        parse_layout_xml(data, name="lol.xml")


def test_truncated_file(corpus: Path, tmp_path: Path) -> None:
    data = (corpus / "page/cPAS-2000.xml").read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(LayoutXmlError, match=r"^cut.xml: the XML is not well-formed.*cut short"):
        parse_layout_xml(cut)


def test_non_xml_file(corpus: Path) -> None:
    with pytest.raises(LayoutXmlError, match=r"^0014.jpg: this is not an XML file"):
        parse_layout_xml(corpus / "images/0014.jpg")
    with pytest.raises(LayoutXmlError, match="the file is empty"):
        parse_layout_xml(b"  \n", name="blank.xml")
    with pytest.raises(LayoutXmlError, match="cannot be opened"):
        parse_layout_xml(Path("/nonexistent/file.xml"))


def test_finereader_is_neither_alto_nor_page(corpus: Path) -> None:
    with pytest.raises(LayoutXmlError) as info:
        parse_layout_xml(corpus / "invalid/finereader10_not_alto.xml")
    message = str(info.value)
    assert message.startswith("finereader10_not_alto.xml: this XML file is neither ALTO nor PAGE")
    assert "FineReader" in message.split("expected.")[1]


def test_size_limit(corpus: Path) -> None:
    path = corpus / "alto/bsb00084914_00007.xml"
    with pytest.raises(LayoutXmlError, match="MB; files larger than"):
        parse_layout_xml(path, max_bytes=10_000)
    with pytest.raises(LayoutXmlError, match="MB; files larger than"):
        parse_layout_xml(path.read_bytes(), max_bytes=10_000)
    assert len(parse_layout_xml(path, max_bytes=100_000).lines) == 31


def test_schema_is_compiled_once() -> None:
    from esctui.formats.xml import schema_for

    first = schema_for(ALTO4)
    assert first is not None and schema_for(ALTO4) is first
    assert schema_for("urn:unknown") is None


def test_every_page_region_kind_is_read() -> None:
    kinds = [
        "TextRegion", "ImageRegion", "LineDrawingRegion", "GraphicRegion", "TableRegion",
        "ChartRegion", "MapRegion", "SeparatorRegion", "MathsRegion", "ChemRegion",
        "MusicRegion", "AdvertRegion", "NoiseRegion", "UnknownRegion", "CustomRegion",
    ]  # fmt: skip
    body = "".join(
        f'<{kind} id="r{i}"><Coords points="{i},0 {i + 1},0 {i + 1},9"/></{kind}>'
        for i, kind in enumerate(kinds)
    )
    page = parse_layout_xml(page_xml(body + "<Border><Coords points='0,0 9,0 9,9'/></Border>"))
    assert [r.kind for r in page.regions] == kinds  # Border is not a region
    assert [r.type for r in page.regions] == [
        "text", "image", "line drawing", "graphic", "table", "chart", "map", "separator",
        "maths", "chem", "music", "advert", "noise", "unknown", "custom",
    ]  # fmt: skip
    assert page.regions[3].polygon == [(3.0, 0.0), (4.0, 0.0), (4.0, 9.0)]


def test_alto_blocks_in_margins_are_read() -> None:
    data = alto("<TextBlock ID='main' HPOS='0' VPOS='100' WIDTH='10' HEIGHT='10'/>").replace(
        b"<PrintSpace>",
        b"<TopMargin><TextBlock ID='head' HPOS='0' VPOS='0' WIDTH='10' HEIGHT='10'/></TopMargin>"
        b"<PrintSpace>",
    )
    page = parse_layout_xml(data)
    assert [r.id for r in page.regions] == ["head", "main"]


def test_duplicate_line_ids_are_reported() -> None:
    line = "<TextLine ID='same' BASELINE='0,{y} 90,{y}'><String CONTENT='{t}'/></TextLine>"
    body = (
        "<TextBlock ID='b'>" + line.format(y=10, t="a") + line.format(y=20, t="b") + "</TextBlock>"
    )
    page = parse_layout_xml(alto(body))
    assert [line.text for line in page.lines] == ["a", "b"]
    assert page.warnings == ["1 line ID(s) are used more than once in the file."]
