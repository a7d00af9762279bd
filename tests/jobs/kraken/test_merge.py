"""What a segmentation does to a page that holds one (replace, add, lines or regions only),
what the override question says it removes, and when a rerun counts a page as done. Pure
functions on real records: no kraken."""

from __future__ import annotations

from esctui.domain import Line, LineText, Part, Region
from esctui.engine import PageSegmentation, SegmentedLine, SegmentedRegion
from esctui.jobs.kraken.choice import ChosenModel
from esctui.jobs.kraken.pages import already_done, engine_run, layout_fingerprint
from esctui.jobs.kraken.segment import merge_segmentation
from esctui.jobs.kraken.transcribe import readable_lines, why_unreadable
from esctui.jobs.losses import layout_losses
from esctui.store import PageLayout

BOX = [(0.0, 0.0), (100.0, 0.0), (100.0, 50.0), (0.0, 50.0)]


def old_page() -> PageLayout:
    """Two regions, three lines (two in the first region), texts in two versions."""
    regions = [Region("p", BOX, "text", order=0), Region("p", BOX, "margin", order=1)]
    lines = [
        Line("p", [(0.0, 10.0 * i), (90.0, 10.0 * i)], BOX, regions[i // 2].id, order=i)
        for i in range(3)
    ]
    texts = [LineText(line.id, "v1", f"text {i}") for i, line in enumerate(lines)]
    texts.append(LineText(lines[0].id, "v2", "other"))
    return PageLayout(regions, lines, texts)


def found() -> PageSegmentation:
    """What kraken found: one region, two lines in it, given out of reading order."""
    return PageSegmentation(
        regions=[SegmentedRegion(BOX, "paragraph")],
        lines=[
            SegmentedLine([(1.0, 30.0), (80.0, 30.0)], BOX, "default", 0, order=1),
            SegmentedLine([(1.0, 20.0), (80.0, 20.0)], None, "heading", None, order=0),
        ],
    )


def test_replacing_both_removes_everything_and_the_texts() -> None:
    old = old_page()
    layout, losses = merge_segmentation(old, found(), "p", content="both", replace=True)
    assert [r.type for r in layout.regions] == ["paragraph"]
    assert [(ln.type, ln.order) for ln in layout.lines] == [("heading", 0), ("default", 1)]
    assert layout.lines[0].region_id is None and layout.lines[0].mask is None
    assert layout.lines[1].region_id == layout.regions[0].id
    assert layout.texts == []
    assert (losses.regions, losses.lines, dict(losses.texts)) == (2, 3, {"v1": 3, "v2": 1})
    assert losses.describe({"v1": "HTR", "v2": "Diplomatic"}) == (
        "3 lines and 2 regions, and with them the text of 2 versions: 'HTR' (3 lines), "
        "'Diplomatic' (1 line)"
    )


def test_lines_only_keeps_the_regions_and_regions_only_keeps_lines_and_texts() -> None:
    old = old_page()
    lines_only = PageSegmentation([], found().lines)
    layout, losses = merge_segmentation(old, lines_only, "p", content="lines", replace=True)
    assert layout.regions == old.regions and len(layout.lines) == 2 and layout.texts == []
    assert (losses.regions, losses.lines) == (0, 3)

    regions_only = PageSegmentation(found().regions, [])
    layout, losses = merge_segmentation(
        old_page(), regions_only, "p", content="regions", replace=True
    )
    assert [r.type for r in layout.regions] == ["paragraph"]
    assert len(layout.lines) == 3 and all(ln.region_id is None for ln in layout.lines)
    assert len(layout.texts) == 4 and not losses.lines and losses.regions == 2
    assert not losses.texts


def test_adding_keeps_everything_and_orders_the_new_after() -> None:
    old = old_page()
    layout, losses = merge_segmentation(old, found(), "p", content="both", replace=False)
    assert not losses
    assert layout.regions[:2] == old.regions and layout.regions[2].order == 2
    assert [ln.order for ln in layout.lines] == [0, 1, 2, 3, 4]
    assert layout.texts == old.texts


def test_losses_count_only_texts_with_text() -> None:
    old = old_page()
    old.texts.append(LineText(old.lines[1].id, "v3", ""))
    losses = layout_losses(old, regions=False, lines=True)
    assert (losses.regions, losses.lines, set(losses.texts)) == (0, 3, {"v1", "v2"})


def test_a_page_is_done_for_the_same_model_options_and_layout_only() -> None:
    layout = old_page()
    model = ChosenModel("blla", None, "a" * 64, "baselines")
    part = Part("d", 0, "p1", "p1.jpg", "p1.jpg", "t.jpg", 10, 10, "JPEG", 1, "s", "src")
    options = {"content": "both"}
    part.engine_runs["segment"] = engine_run(model, options, layout)
    assert already_done(part, "segment", model, options, layout)
    assert not already_done(part, "segment", model, {"content": "lines"}, layout)
    assert not already_done(part, "transcribe:v1", model, options, layout)
    other = ChosenModel("blla", None, "b" * 64, "baselines")
    assert not already_done(part, "segment", other, options, layout)
    layout.lines.pop()  # edited since: the run no longer describes the page
    assert not already_done(part, "segment", model, options, layout)
    assert layout_fingerprint(layout) != part.engine_runs["segment"]["layout"]


def test_which_lines_a_model_reads() -> None:
    layout = old_page()
    boxes = [Line("p", None, BOX, order=9)]
    mixed = PageLayout([], [*layout.lines, *boxes], [])
    assert readable_lines(mixed, "baselines") == ("baselines", layout.lines)
    assert readable_lines(mixed, "bbox") == ("bbox", boxes)
    assert readable_lines(PageLayout([], boxes, []), None) == ("bbox", boxes)
    assert why_unreadable(PageLayout(), "bbox") == "the page has no lines: segment it first"
    assert why_unreadable(layout, "bbox") == (
        "the model reads box lines (no baselines), and this page has only lines along baselines"
    )
