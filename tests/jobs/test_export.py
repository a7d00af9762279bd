"""Export to ALTO v4 / PAGE 2019 / text: every corpus file round-trips through the store.

Each ALTO and PAGE file of the corpus is read, stored on a page of the right size, exported by
the real export job, checked against the shipped XSDs, read again and compared.
"""

from __future__ import annotations

import asyncio
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from PIL import Image

from esctui.cli.context import parse_page_numbers
from esctui.domain import Job, Line, LineText, Part, Region
from esctui.formats.xml import (
    ExportNote,
    ExportPage,
    ParsedPage,
    parse_layout_xml,
    write_alto,
    write_page,
)
from esctui.jobs.export import (
    ExportJob,
    export_file_names,
    image_file_name,
    validate_export,
    validate_exported,
)
from esctui.jobs.imports.images import DEFAULT_MAX_PIXELS, prepare_image
from esctui.jobs.runner import JobProgress, run_job
from esctui.store import PageLayout, Store
from tests.helpers import CORPUS
from tests.helpers import run_esctui as esctui

XML_FILES = sorted(
    str(p.relative_to(CORPUS)) for d in ("alto", "page") for p in (CORPUS / d).glob("*.xml")
)
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not there")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def add_page(
    store: Store, document_id: str, folder: Path, filename: str, size: tuple[int, int]
) -> Part:
    """A real stored page: a blank image of ``size`` imported under ``filename``."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"{len(list(folder.iterdir()))}.png"
    Image.new("L", size, 255).save(source)
    [staged] = prepare_image(source, store.new_staging_dir(document_id), DEFAULT_MAX_PIXELS)
    staged.original_filename = filename
    [part], _ = store.add_parts(document_id, [staged], skip_duplicates=False)
    return part


def layout_from_parsed(part: Part, parsed: ParsedPage, version_id: str) -> PageLayout:
    """What an XML import stores: regions, lines and texts (under one version)."""
    regions = [
        Region(part_id=part.id, polygon=r.polygon, type=r.type, external_id=r.id, order=i)
        for i, r in enumerate(parsed.regions)
    ]
    region_by_xml_id = {r.external_id: r.id for r in regions}
    lines, texts = [], []
    for i, parsed_line in enumerate(parsed.lines):
        line = Line(
            part_id=part.id,
            baseline=parsed_line.baseline,
            mask=parsed_line.mask,
            region_id=region_by_xml_id.get(parsed_line.region_id or ""),
            type=parsed_line.type,
            external_id=parsed_line.id,
            order=i,
        )
        lines.append(line)
        if parsed_line.text is not None:
            texts.append(LineText(line.id, version_id, parsed_line.text, parsed_line.confidence))
    return PageLayout(regions, lines, texts)


def store_xml(store: Store, tmp_path: Path, relative: str) -> tuple[str, Part, ParsedPage]:
    """A document with one page holding the layout of a corpus file; returns (doc id, page, parsed)."""
    probe = parse_layout_xml(CORPUS / relative)
    size = (probe.width, probe.height) if probe.width > 0 and probe.height > 0 else (1000, 1000)
    parsed = parse_layout_xml(CORPUS / relative, image_size=size)
    doc = store.create_document(Path(relative).stem)
    part = add_page(store, doc.id, tmp_path / "images", parsed.image_filename or "page.png", size)
    version = store.create_transcription(doc.id, "corpus", "xml")
    store.write_page_layout(doc.id, part.id, layout_from_parsed(part, parsed, version.id))
    return doc.id, part, parsed


def export(store: Store, document_id: str, out: Path, fmt: str, **options: Any) -> Job:
    job = asyncio.run(run_job(store, ExportJob(store, document_id, out, format=fmt, **options)))
    assert job.status == "done", job.error
    return job


def near(a: list | None, b: list | None, tolerance: float = 1.0) -> bool:
    """Same number of points, each within ``tolerance`` pixels."""
    if a is None or b is None:
        return a is b
    return len(a) == len(b) and all(
        abs(x1 - x2) <= tolerance and abs(y1 - y2) <= tolerance
        for (x1, y1), (x2, y2) in zip(a, b, strict=True)
    )


def inside_box(points: list, box: list) -> bool:
    xs, ys = [x for x, _ in box], [y for _, y in box]
    return all(min(xs) <= x <= max(xs) and min(ys) <= y <= max(ys) for x, y in points)


# --------------------------------------------------------------------------------------------
# round trip of every corpus file
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["alto", "page"])
@pytest.mark.parametrize("relative", XML_FILES)
def test_corpus_round_trip(store: Store, tmp_path: Path, relative: str, fmt: str) -> None:
    document_id, part, original = store_xml(store, tmp_path, relative)
    out = tmp_path / "out"
    job = export(store, document_id, out, fmt)
    assert job.kind == "export" and job.done == job.total == 1
    [file] = list(out.iterdir())
    assert file.name == f"{Path(image_file_name(part)).stem}.xml"
    data = file.read_bytes()
    assert validate_export(data, fmt) == []
    again = parse_layout_xml(data, name=file.name, image_size=(part.width, part.height))
    assert again.validation == [] and again.format == fmt
    assert again.image_filename == image_file_name(part)
    assert (again.width, again.height) == (part.width, part.height)

    # Regions: same ids, types, polygons, order (PAGE adds one for lines without a region).
    orphans = [line for line in original.lines if line.region_id is None]
    made = {r.id for r in again.regions} - {r.id for r in original.regions}
    assert len(made) == (1 if fmt == "page" and orphans else 0)
    kept = [r for r in again.regions if r.id not in made]
    assert [r.id for r in kept] == [r.id for r in original.regions]
    for before, after in zip(original.regions, kept, strict=True):
        assert after.type == before.type
        assert near(after.polygon, before.polygon), before.id

    # Lines: ids, baselines, masks, types, texts, regions; order as the format can hold it.
    expected = list(original.lines)
    if fmt == "page":  # PAGE orders regions: lines come grouped by region
        region_rank = {r.id: i for i, r in enumerate(again.regions)}
        made_id = next(iter(made), None)
        expected.sort(key=lambda line: region_rank[line.region_id or made_id])
    assert [line.id for line in again.lines] == [line.id for line in expected]
    for before, after in zip(expected, again.lines, strict=True):
        assert near(after.baseline, before.baseline), before.id
        if before.mask is not None:
            assert near(after.mask, before.mask), before.id
        else:  # an outline made from the baseline
            assert after.mask is not None and inside_box(before.baseline, after.mask)
        assert after.type == before.type
        assert (after.text or "") == (before.text or "")
        if before.confidence is not None and before.text:
            assert after.confidence == pytest.approx(min(1.0, before.confidence), abs=1e-3)
        if before.region_id is not None:
            assert after.region_id == before.region_id
        elif fmt == "alto":
            assert after.region_id is None
        else:
            assert after.region_id in made
    if fmt == "page" and [line.id for line in expected] != [line.id for line in original.lines]:
        assert any("PAGE lines grouped by region" in note for note in job.report.notes)


def test_round_trip_compares_something(store: Store, tmp_path: Path) -> None:
    """The corpus round trip is not empty: the main files bring their lines and texts back."""
    document_id, _part, original = store_xml(store, tmp_path, "page/170025120000003,0074.xml")
    assert len(original.lines) == 44 and all(line.text for line in original.lines[:5])
    export(store, document_id, tmp_path / "out", "alto")
    [file] = list((tmp_path / "out").iterdir())
    again = parse_layout_xml(file)
    assert [line.text for line in again.lines] == [line.text for line in original.lines]


def test_validation_catches_a_broken_file(store: Store, tmp_path: Path) -> None:
    """The XSD check used above can fail: a TextLine without Coords is not PAGE."""
    document_id, _part, _ = store_xml(store, tmp_path, "page/explicit_ro.xml")
    export(store, document_id, tmp_path / "out", "page")
    [file] = list((tmp_path / "out").iterdir())
    root = etree.fromstring(file.read_bytes())
    coords = root.find(".//{*}TextLine/{*}Coords")
    coords.getparent().remove(coords)
    assert validate_export(etree.tostring(root), "page")


# --------------------------------------------------------------------------------------------
# what the writers make up
# --------------------------------------------------------------------------------------------


def synthetic_page() -> ExportPage:
    """Lines without mask, without region, with bad IDs and odd region types."""
    regions = [
        Region("p", [(10, 10), (10, 200), (400, 200), (400, 10)], "paragraph", "r1", 0),
        Region("p", [(10, 300), (10, 500), (400, 500), (400, 300)], "Main text", "1bad", 1),
        Region("p", [(500, 10), (500, 100), (600, 100), (600, 10)], "image", "", 2),
    ]
    lines = [
        Line("p", [(20, 60), (380, 62)], None, regions[0].id, "heading", "dup", 0),
        Line("p", [(20, 350), (380, 352)], [(20, 320), (20, 360), (380, 360), (380, 320)],
             regions[1].id, "default", "dup", 1),
        Line("p", [(20, 600), (380, 600)], None, None, "default", "has space", 2),
        Line("p", None, None, regions[0].id, "default", "nothing", 3),
    ]  # fmt: skip
    texts = {
        lines[0].id: LineText(lines[0].id, "v", "Überschrift", 0.5),
        lines[1].id: LineText(lines[1].id, "v", "a\x01b  c", 1.7),
    }
    return ExportPage("scan.jpg", 800, 1000, regions, lines, texts)


def test_alto_writer_fills_what_is_missing() -> None:
    page = synthetic_page()
    exported = write_alto(page)
    assert validate_export(exported.data, "alto") == []
    notes = exported.notes
    assert notes[ExportNote.OUTLINE_FROM_BASELINE] == 2
    assert notes[ExportNote.LINE_LEFT_OUT] == 1
    assert notes[ExportNote.CHARACTERS_REMOVED] == 1
    assert notes[ExportNote.ID_GENERATED] == 4  # 1bad, dup twice, has space
    again = parse_layout_xml(exported.data, image_size=(800, 1000))
    assert [r.type for r in again.regions] == ["paragraph", "Main text", "image"]
    assert [line.type for line in again.lines] == ["heading", "default", "default"]
    assert [line.text for line in again.lines] == ["Überschrift", "ab  c", ""]
    assert again.lines[0].confidence == pytest.approx(0.5)
    assert again.lines[1].confidence == pytest.approx(1.0)  # clamped to the schema's range
    assert again.lines[2].region_id is None  # the eScriptorium "no region" block
    first = again.lines[0]
    assert first.mask is not None and inside_box(first.baseline, first.mask)
    ys = [y for _, y in first.mask]
    assert min(ys) < 60 and max(ys) - 62 < 62 - min(ys)  # mostly above the baseline
    root = etree.fromstring(exported.data)
    assert root.find(".//{*}Illustration") is not None  # the "image" region has no lines


def test_points_are_whole_non_negative_pixels_without_repeats() -> None:
    """Rounded half to even, clamped at 0, repeated neighbours dropped (a repeat that is not a
    neighbour stays), in both formats."""
    mask = [(-3.0, 10.4), (100.5, 10.6), (100.5, 10.6), (101.5, 60.0), (0.2, 60.0), (-0.6, 10.0)]
    region = Region("p", [(0, 0), (0, 200), (400, 200), (400, 0)], "text", "r1", 0)
    line = Line("p", [(0.0, 50.0), (100.4, 50.0)], mask, region.id, "default", "l1", 0)
    page = ExportPage("scan.jpg", 800, 1000, [region], [line], {})
    root = etree.fromstring(write_page(page).data)
    [coords] = root.xpath("//*[local-name()='TextLine']/*[local-name()='Coords']/@points")
    assert coords == "0,10 100,11 102,60 0,60 0,10"
    [baseline] = root.xpath("//*[local-name()='Baseline']/@points")
    assert baseline == "0,50 100,50"
    root = etree.fromstring(write_alto(page).data)
    [polygon] = root.xpath("//*[local-name()='TextLine']//*[local-name()='Polygon']/@POINTS")
    assert polygon == "0 10 100 11 102 60 0 60 0 10"


def test_an_invalid_tree_is_reported_with_its_line_numbers() -> None:
    """The export checks the tree it built; one that fails is reported from its bytes, with
    the line the schema points at."""
    exported = write_page(synthetic_page())
    assert exported.root is not None and validate_exported(exported, "page") == []
    coords = exported.root.find(".//{*}TextLine/{*}Coords")
    coords.getparent().remove(coords)
    exported.data = etree.tostring(exported.root, pretty_print=True)
    problems = validate_exported(exported, "page")
    assert problems and problems[0].startswith("does not follow the PAGE 2019-07-15 schema: line ")
    assert not problems[0].startswith("does not follow the PAGE 2019-07-15 schema: line 0:")


def test_page_writer_fills_what_is_missing() -> None:
    page = synthetic_page()
    exported = write_page(page)
    assert validate_export(exported.data, "page") == []
    assert exported.notes[ExportNote.REGION_MADE] == 1
    root = etree.fromstring(exported.data)
    ns = {"p": root.nsmap[None]}
    assert root.xpath("//p:TextRegion[@id='r1']/@type", namespaces=ns) == ["paragraph"]
    assert root.xpath("//p:TextRegion[2]/@custom", namespaces=ns) == ["structure {type:Main text;}"]
    assert len(root.xpath("//p:ImageRegion", namespaces=ns)) == 1
    refs = root.xpath("//p:ReadingOrder//p:RegionRefIndexed/@regionRef", namespaces=ns)
    assert len(refs) == 4 and refs[0] == "r1"
    again = parse_layout_xml(exported.data, image_size=(800, 1000))
    assert [line.text for line in again.lines] == ["Überschrift", "ab  c", None]
    made = again.lines[2]
    assert made.region_id not in {"r1", ""} and inside_box(made.baseline, made.mask)


def test_alto_keeps_a_line_order_that_crosses_regions() -> None:
    page = synthetic_page()
    page.lines = [page.lines[1], page.lines[0]]  # region 2's line read first
    again = parse_layout_xml(write_alto(page).data, image_size=(800, 1000))
    assert [line.text for line in again.lines] == ["ab  c", "Überschrift"]
    assert again.reading_order.startswith("ReadingOrder")


# --------------------------------------------------------------------------------------------
# the job: ZIP, names, text, pages, cancel
# --------------------------------------------------------------------------------------------


def two_page_document(store: Store, tmp_path: Path) -> tuple[str, list[Part]]:
    document_id, first, _ = store_xml(store, tmp_path, "page/explicit_ro.xml")
    second = add_page(store, document_id, tmp_path / "images", "sub/test.jpg", (1000, 1000))
    layout = store.read_page_layout(document_id, first.id)
    store.write_page_layout(document_id, second.id, layout)
    return document_id, [first, second]


def test_zip_export_names_are_unique_and_written_atomically(store: Store, tmp_path: Path) -> None:
    document_id, _parts = two_page_document(store, tmp_path)
    target = tmp_path / "exports" / "doc.zip"
    job = export(store, document_id, target, "page")
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist() == ["test.xml", "test_2.xml"]
        for name in archive.namelist():
            assert validate_export(archive.read(name), "page") == []
    assert os.listdir(target.parent) == ["doc.zip"]  # no temporary file left
    assert [item.name for item in job.report.imported] == ["test.xml", "test_2.xml"]


def test_text_export_one_file_per_page_in_reading_order(store: Store, tmp_path: Path) -> None:
    document_id, part, parsed = store_xml(store, tmp_path, "page/170025120000003,0074.xml")
    layout = store.read_page_layout(document_id, part.id)
    version = store.get_transcription(document_id, "corpus")
    layout.texts = [t for t in layout.texts if t.line_id != layout.lines[1].id]  # one without
    store.write_page_layout(document_id, part.id, layout)
    export(store, document_id, tmp_path / "txt", "text", version="corpus")
    text = (tmp_path / "txt" / "170025120000003,0074.txt").read_text("utf-8")
    expected = [line.text or "" for line in parsed.lines]
    expected[1] = ""
    assert text.split("\n")[:-1] == expected and text.endswith("\n")
    assert version.name == "corpus"


def test_pages_option_and_cancel(store: Store, tmp_path: Path) -> None:
    document_id, parts = two_page_document(store, tmp_path)
    export(store, document_id, tmp_path / "one", "alto", part_ids=[parts[1].id])
    assert os.listdir(tmp_path / "one") == ["test.xml"]

    target = tmp_path / "cancelled.zip"

    async def cancel_after_first_page() -> None:
        job = ExportJob(store, document_id, target, format="alto")
        task: asyncio.Task | None = None

        def on_progress(snapshot: JobProgress) -> None:
            if snapshot.done >= 1 and task is not None:
                task.cancel()

        task = asyncio.ensure_future(run_job(store, job, on_progress))
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_after_first_page())
    assert not target.exists() and os.listdir(tmp_path).count("cancelled.zip") == 0
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".cancelled.zip")]
    assert store.list_jobs()[0].status == "cancelled"


def test_export_file_names() -> None:
    def part(original: str, name: str = "p", filename: str = "images/x.jpg") -> Part:
        return Part("d", 0, name, original, filename, "", 1, 1, "JPEG", 1, "", "")

    parts = [part("a.jpg"), part("A.png"), part("dir/a.tif"), part("book.pdf#3", "book_3")]
    assert export_file_names(parts, ".xml") == ["a.xml", "A_2.xml", "a_3.xml", "book_3.xml"]
    assert image_file_name(parts[3]) == "book_3.jpg"


def test_parse_page_numbers() -> None:
    assert parse_page_numbers("3, 1-2,2", 5) == [3, 1, 2]
    for bad in ("0", "4-2", "x", "1,,2", "6"):
        with pytest.raises(ValueError):
            parse_page_numbers(bad, 5)


# --------------------------------------------------------------------------------------------
# the CLI
# --------------------------------------------------------------------------------------------


def test_cli_export(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Store(data)
    document_id, _parts = two_page_document(store, tmp_path)
    name = store.get_document(document_id).name
    target = tmp_path / "out.zip"
    result = esctui(data, "export", name, "--format", "alto", "--pages", "2", "--out", str(target))
    assert result.returncode == 0, result.stderr
    assert "done: 1 written" in result.stdout
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist() == ["test.xml"]
    bad = esctui(data, "export", name, "--pages", "3")
    assert bad.returncode == 2 and "page 3 does not exist" in bad.stderr
    unknown = esctui(data, "export", name, "--version", "nope", "--out", str(tmp_path / "x"))
    assert unknown.returncode == 1 and "nope" in unknown.stderr
