"""What replaying eScriptorium's and kraken's tests found missing in the readers: lines with
no width, Transkribus' custom readingOrder, tags beyond the type, words."""

from __future__ import annotations

import re
from pathlib import Path

from esctui.formats.xml import Repair, parse_layout_xml

ALTO_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#"><Description>'
    "<MeasurementUnit>pixel</MeasurementUnit><sourceImageInformation><fileName>p.png"
    "</fileName></sourceImageInformation></Description>"
)


def test_alto_lines_without_width_keep_their_text_and_types() -> None:
    """eScriptorium ``app/apps/imports/tests/test_api.py`` (``test_alto_types`` with its mock
    ``test_composedblock.alto``): lines whose WIDTH is 0, in plain blocks and in a
    ComposedBlock, each with one String, are imported with their text and line type."""
    line = (
        '<TextLine ID="{id}" HPOS="160" VPOS="771" WIDTH="0" HEIGHT="28"{refs}>'
        '<String ID="s_{id}" CONTENT="{text}" HPOS="160" VPOS="771" WIDTH="0" HEIGHT="28"/>'
        "</TextLine>"
    )
    data = (
        ALTO_HEAD + '<Tags><OtherTag ID="BT1" LABEL="test_block_type"/>'
        '<OtherTag ID="LT1" LABEL="test_line_type"/></Tags>'
        '<Layout><Page WIDTH="850" HEIGHT="1083" ID="p"><PrintSpace>'
        '<TextBlock ID="b0" HPOS="0" VPOS="0" WIDTH="850" HEIGHT="1083">'
        + line.format(id="l0", refs="", text="line one")
        + '</TextBlock><TextBlock ID="b1" HPOS="0" VPOS="0" WIDTH="600" HEIGHT="1083" '
        'TAGREFS="BT1">'
        + line.format(id="l1", refs=' TAGREFS="LT1"', text="line two")
        + '</TextBlock><ComposedBlock ID="c1" HPOS="0" VPOS="0" WIDTH="700" HEIGHT="1083">'
        + line.format(id="l2", refs="", text="line three")
        + "</ComposedBlock></PrintSpace></Page></Layout></alto>"
    ).encode()
    page = parse_layout_xml(data, name="composed.alto", validate=False)
    assert [(ln.id, ln.text, ln.type) for ln in page.lines] == [
        ("l0", "line one", "default"),
        ("l1", "line two", "test_line_type"),
        ("l2", "line three", "default"),
    ]
    # The baseline runs from the line's start to its block's right edge, at its bottom.
    assert [ln.baseline for ln in page.lines] == [
        [(160, 799), (850, 799)],
        [(160, 799), (600, 799)],
        [(160, 799), (700, 799)],
    ]
    assert page.repairs[Repair.BASELINE_WITHOUT_WIDTH] == 3
    assert [r.type for r in page.regions] == ["text", "test_block_type", "composed"]


def test_transkribus_custom_reading_order_without_an_explicit_one(corpus: Path) -> None:
    """kraken ``tests/test_xml.py`` (the ``region_transkribus``/``line_transkribus`` orders of
    ``170025120000003,0074.xml``): with no ReadingOrder element, regions follow their
    ``custom="readingOrder {index:N;}"``, and lines within a region theirs."""
    text = (corpus / "page" / "170025120000003,0074.xml").read_text(encoding="utf-8")
    explicit = parse_layout_xml(text.encode(), name="a.xml", validate=False)
    without = re.sub(r"<ReadingOrder>.*?</ReadingOrder>", "", text, flags=re.S)
    # Swap the first two regions in the file, and the first two lines of the second region.
    regions = re.findall(r"(<TextRegion .*?</TextRegion>)", without, flags=re.S)
    swapped = (
        without.replace(regions[0], "\0").replace(regions[1], regions[0]).replace("\0", regions[1])
    )
    lines = re.findall(r"(<TextLine .*?</TextLine>)", regions[1], flags=re.S)
    shuffled_region = regions[1].replace(lines[0], "\0").replace(lines[1], lines[0])
    swapped = swapped.replace(regions[1], shuffled_region.replace("\0", lines[1]))
    page = parse_layout_xml(swapped.encode(), name="b.xml", validate=False)
    assert [r.id for r in page.regions] == [r.id for r in explicit.regions]
    assert [ln.id for ln in page.lines] == [ln.id for ln in explicit.lines]
    assert "custom readingOrder" in page.reading_order
    document_order = parse_layout_xml(
        swapped.replace("readingOrder {index:", "x {index:").encode(), name="c.xml",
        validate=False,
    )  # fmt: skip
    assert [r.id for r in document_order.regions][:2] == [r.id for r in explicit.regions][1::-1]


def test_tags_beyond_the_type_alto_and_page(corpus: Path) -> None:
    """kraken ``tests/test_xml.py`` (tags, languages, splits and base directions of
    ``bsb00084914_00007.xml`` and ``cPAS-2000.xml``): kept as tags, several values each."""
    alto = parse_layout_xml(corpus / "alto" / "bsb00084914_00007.xml", validate=False)
    by_id = {line.id: line.tags for line in alto.lines}
    assert by_id["eSc_line_192899"] == {"label_1": ["bar", "baz"], "split": ["test"]}
    assert by_id["eSc_line_192896"] == {"split": ["train"]}
    assert by_id["eSc_line_192874"] == {"direction": ["ttb"]}
    assert by_id["eSc_line_192895"] == {"language": ["iai"], "direction": ["ltr"]}
    block = next(r for r in alto.regions if r.id == "eSc_textblock_10523")
    assert block.tags == {"language": ["deu", "heb"], "direction": ["rtl"]}
    page = parse_layout_xml(corpus / "page" / "cPAS-2000.xml", validate=False)
    splits = sorted(v for line in page.lines for v in line.tags.get("split", []))
    assert splits == ["invalid", "train", "train", "validation"]
    languages = {v for r in page.regions for v in r.tags.get("language", [])}
    assert {"heb", "deu", "hbo", "English", "Polish"} <= languages
    # Words of ALTO lines with several Strings are kept (for a String per word on export).
    worded = [line for line in alto.lines if line.words]
    assert worded and all(" ".join(w.text for w in ln.words) == ln.text for ln in worded)
