"""Round trip through the store (issue #6): import a corpus file into document A, export A
(ALTO and PAGE, to a folder and to a ZIP), import the export into a new document B, and
compare the two stored layouts: regions, lines, baselines, masks, types, region membership,
reading order, texts and confidences.

Only real parts: Pillow images staged by ``prepare_image`` + ``Store.add_parts``, the XML
importer and the export job run by ``run_job``, the store read back from disk.

What a format cannot carry is compared as the format promises it, and the export report must
say what was lost (each exception is written where it is handled):

- PAGE needs a region around every line: lines stored without a region come back in one region
  made for them (report: ``ExportNote.REGION_MADE``).
- PAGE's ReadingOrder orders regions, not lines: a line order that crosses regions comes back
  grouped by region (report: ``ExportNote.ORDER_BY_REGION``).
- Coordinates are written as whole pixels: points are compared within 1 px.
- ``alto/zero_dims.xml`` gives no usable page size: its pages are made 1000 × 1000 (the size
  the importer then takes the coordinates in).
"""

from __future__ import annotations

import asyncio
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from esctui.domain import Job, Line, LineText, Part
from esctui.formats.xml import ExportNote, parse_layout_xml
from esctui.jobs.export import ExportJob, image_file_name
from esctui.jobs.imports.images import DEFAULT_MAX_PIXELS, prepare_image
from esctui.jobs.imports.xml import XmlImporter
from esctui.jobs.runner import JobKind, run_job
from esctui.store import PageLayout, Store
from tests.helpers import CORPUS

XML_FILES = sorted(
    str(p.relative_to(CORPUS)) for d in ("alto", "page") for p in (CORPUS / d).glob("*.xml")
)
FALLBACK_SIZE = (1000, 1000)  # for a file without a usable page size (alto/zero_dims.xml)
TOLERANCE = 1.0  # pixels: coordinates are exported as whole pixels
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not there")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def add_page(
    store: Store, document_id: str, folder: Path, original: str, size: tuple[int, int]
) -> Part:
    """A real stored page: a plain Pillow image of ``size`` staged under the name ``original``."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"{document_id}.png"
    Image.new("L", size, 240).save(source)
    [staged] = prepare_image(source, store.new_staging_dir(document_id), DEFAULT_MAX_PIXELS)
    staged.original_filename = original
    [part], _ = store.add_parts(document_id, [staged], skip_duplicates=False)
    assert (part.width, part.height) == size
    return part


def run(store: Store, job_object: JobKind) -> Job:
    job = asyncio.run(run_job(store, job_object))
    assert job.status == "done", job.error
    return job


def import_xml(
    store: Store, document_id: str, path: Path, version: str, *, override: bool = False
) -> Job:
    job = run(store, XmlImporter(store, document_id, path, name=version, override=override))
    assert not job.report.skipped, job.report.skipped
    return job


def corpus_page(relative: str) -> tuple[str, tuple[int, int]]:
    """The image file the XML names and its page size."""
    probe = parse_layout_xml(CORPUS / relative, validate=False)
    size = (probe.width, probe.height) if probe.width > 0 and probe.height > 0 else FALLBACK_SIZE
    return probe.image_filename or f"{Path(relative).stem}.png", size


def document_a(store: Store, tmp_path: Path, relative: str) -> tuple[str, Part]:
    """Document A: one page matching the corpus file, the file imported as version "corpus"."""
    image, size = corpus_page(relative)
    doc = store.create_document("A")
    part = add_page(store, doc.id, tmp_path / "images", image, size)
    job = import_xml(store, doc.id, CORPUS / relative, "corpus")
    assert job.report.counts.get("pages") == 1
    return doc.id, part


def stored(
    store: Store, document_id: str, part_id: str, version: str
) -> tuple[PageLayout, dict[str, LineText]]:
    """The page's layout and the texts of one version."""
    layout = store.read_page_layout(document_id, part_id)
    version_id = store.get_transcription(document_id, version).id
    return layout, layout.texts_for(version_id)


def near(a: list | None, b: list | None) -> bool:
    """Same number of points, each coordinate within ``TOLERANCE``."""
    if a is None or b is None:
        return a is b
    return len(a) == len(b) and all(
        abs(x1 - x2) <= TOLERANCE and abs(y1 - y2) <= TOLERANCE
        for (x1, y1), (x2, y2) in zip(a, b, strict=True)
    )


def inside_box(points: list, box: list) -> bool:
    xs, ys = [x for x, _ in box], [y for _, y in box]
    return all(
        min(xs) - TOLERANCE <= x <= max(xs) + TOLERANCE
        and min(ys) - TOLERANCE <= y <= max(ys) + TOLERANCE
        for x, y in points
    )


def made_region_index(layout: PageLayout) -> int:
    """Where PAGE puts the region made for lines without one: before the region read next
    after the first such line, else last (positions among the stored regions)."""
    rank = {r.id: i for i, r in enumerate(layout.regions)}
    seen: list[str | None] = []
    for line in layout.lines:
        key = line.region_id if line.region_id in rank else None
        if key not in seen:
            seen.append(key)
    after = seen[seen.index(None) + 1 :]
    return rank[after[0]] if after else len(layout.regions)


def compare(
    a: PageLayout,
    a_texts: dict[str, LineText],
    b: PageLayout,
    b_texts: dict[str, LineText],
    fmt: str,
    export_notes: list[str],
) -> None:
    """B (imported from A's export in ``fmt``) holds what A holds, as the format can carry it."""
    # Regions -------------------------------------------------------------------------------
    orphans = [line for line in a.lines if line.region_id is None]
    made_at: int | None = None
    if fmt == "page" and orphans:
        # Exception (PAGE): every line needs a region; one is made around the lines without,
        # and the report says how many lines were put in it.
        made_at = made_region_index(a)
        assert f"{len(orphans)} {ExportNote.REGION_MADE}" in export_notes, export_notes
        assert len(b.regions) == len(a.regions) + 1
        made = b.regions[made_at]
        assert made.type == "text"
        for line in orphans:
            assert inside_box(line.mask or line.baseline, made.polygon)
    else:
        assert not any(ExportNote.REGION_MADE in note for note in export_notes)
        assert len(b.regions) == len(a.regions)
    kept = [r for i, r in enumerate(b.regions) if i != made_at]
    for before, after in zip(a.regions, kept, strict=True):
        assert after.type == before.type, before.external_id
        assert after.tags == before.tags, before.external_id
        assert near(after.polygon, before.polygon), (before.external_id, before.polygon)
        assert after.external_id == before.external_id
    # Which A region (by position) each B region stands for; None for the made one.
    a_rank = {r.id: i for i, r in enumerate(a.regions)}
    b_to_a: dict[str | None, int | None] = {None: None}
    for index, region in enumerate(b.regions):
        if index != made_at:
            b_to_a[region.id] = index if made_at is None or index < made_at else index - 1
        else:
            b_to_a[region.id] = None

    # Reading order ---------------------------------------------------------------------------
    expected = list(a.lines)
    if fmt == "page":
        # Exception (PAGE): lines are written region by region, so a line order that crosses
        # regions comes back grouped by region, and the report says so.
        b_rank = {region.id: i for i, region in enumerate(a.regions)}  # kept in this order

        def position(line: Line) -> float:  # the made region sits before index made_at
            return made_at - 0.5 if line.region_id is None else b_rank[line.region_id]

        expected.sort(key=position)
        if expected != a.lines:
            assert f"1 {ExportNote.ORDER_BY_REGION}" in export_notes, export_notes
        else:
            assert not any(ExportNote.ORDER_BY_REGION in note for note in export_notes)
    assert [line.external_id for line in b.lines] == [line.external_id for line in expected]

    # Lines -----------------------------------------------------------------------------------
    assert not any(ExportNote.LINE_LEFT_OUT in note for note in export_notes)
    assert not any(ExportNote.ID_GENERATED in note for note in export_notes)
    for before, after in zip(expected, b.lines, strict=True):
        where = before.external_id
        assert near(after.baseline, before.baseline), (where, before.baseline, after.baseline)
        if before.mask is not None:
            assert near(after.mask, before.mask), (where, before.mask, after.mask)
        else:  # the format needs an outline: a box around the baseline is written
            assert after.mask is not None and inside_box(before.baseline, after.mask), where
            assert any(ExportNote.OUTLINE_FROM_BASELINE in note for note in export_notes)
        assert after.type == before.type, where
        assert after.tags == before.tags, where
        assert b_to_a[after.region_id] == a_rank.get(before.region_id), where
        text_a, text_b = a_texts.get(before.id), b_texts.get(after.id)
        assert (text_b.text if text_b else None) == (text_a.text if text_a else None), where
        if text_a is not None and text_a.confidence is not None:
            assert text_b is not None and text_b.confidence is not None, where
            assert abs(text_b.confidence - min(1.0, text_a.confidence)) <= 0.01, where
        elif text_b is not None:
            assert text_b.confidence is None, where


def typology_after(a: PageLayout, fmt: str) -> dict[str, dict[str, int]]:
    """The document typology B should get: A's (types and tags), plus the region PAGE makes
    for orphan lines."""
    typology = {"regions": {}, "lines": {}, **a.typology()}
    if fmt == "page" and any(line.region_id is None for line in a.lines):
        typology["regions"]["text"] = typology["regions"].get("text", 0) + 1
    return typology


# --------------------------------------------------------------------------------------------
# every corpus file, both formats, a folder and a ZIP
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["folder", "zip"])
@pytest.mark.parametrize("fmt", ["alto", "page"])
@pytest.mark.parametrize("relative", XML_FILES)
def test_export_then_import_gives_back_the_same_layout(
    store: Store, tmp_path: Path, relative: str, fmt: str, target: str
) -> None:
    doc_a, part_a = document_a(store, tmp_path, relative)

    out = tmp_path / ("out.zip" if target == "zip" else "out")
    export = run(store, ExportJob(store, doc_a, out, format=fmt, version="corpus"))
    notes = export.report.notes
    assert not any("schema" in note for note in notes), notes  # the files validate
    name = f"{Path(image_file_name(part_a)).stem}.xml"
    if target == "zip":
        with zipfile.ZipFile(out) as archive:
            assert archive.namelist() == [name]
        source = out
    else:
        assert [p.name for p in out.iterdir()] == [name]
        source = out / name

    image, size = corpus_page(relative)
    doc_b = store.create_document("B").id
    part_b = add_page(store, doc_b, tmp_path / "images_b", image, size)
    job_b = import_xml(store, doc_b, source, "roundtrip")
    assert job_b.report.counts.get("pages") == 1
    assert [item.name for item in job_b.report.imported] == [part_b.name]
    assert not any("schema" in note for note in job_b.report.notes), job_b.report.notes

    a, a_texts = stored(store, doc_a, part_a.id, "corpus")
    b, b_texts = stored(store, doc_b, part_b.id, "roundtrip")
    compare(a, a_texts, b, b_texts, fmt, notes)
    assert store.get_document(doc_b).typology == typology_after(a, fmt)
    counted = store.get_part(doc_b, part_b.id)
    assert (counted.region_count, counted.line_count) == (len(b.regions), len(b.lines))


def test_round_trip_compares_real_content(store: Store, tmp_path: Path) -> None:
    """The corpus comparison is not empty: the richest files bring regions, types, text and
    an order crossing regions, so each check above has something to bite on."""
    seen = Counter()
    for relative in XML_FILES:
        doc = store.create_document(relative)
        image, size = corpus_page(relative)
        part = add_page(store, doc.id, tmp_path / "img", image, size)
        import_xml(store, doc.id, CORPUS / relative, "corpus")
        layout, texts = stored(store, doc.id, part.id, "corpus")
        seen["regions"] += len(layout.regions)
        seen["lines"] += len(layout.lines)
        seen["texts"] += sum(bool(t.text) for t in texts.values())
        seen["typed lines"] += sum(line.type != "default" for line in layout.lines)
        seen["typed regions"] += sum(r.type != "text" for r in layout.regions)
        seen["orphan lines"] += sum(line.region_id is None for line in layout.lines)
        seen["decimal points"] += any(
            isinstance(v, float) for line in layout.lines for p in line.mask or [] for v in p
        )
    assert seen["regions"] >= 20 and seen["lines"] >= 180 and seen["texts"] >= 80
    assert seen["typed lines"] and seen["typed regions"] and seen["orphan lines"]
    assert seen["decimal points"]


def test_confidences_and_odd_texts_round_trip(store: Store, tmp_path: Path) -> None:
    """The corpus has no confidences; give A's lines some (and texts XML must escape) and check
    they come back, in both formats."""
    relative = "page/170025120000003,0074.xml"
    doc_a, part_a = document_a(store, tmp_path, relative)
    layout = store.read_page_layout(doc_a, part_a.id)
    version = store.get_transcription(doc_a, "corpus")
    odd = ["  leading and trailing  ", "a <b> & \"c\" 'd'", "two  spaces\tand tab", "ſchön ꝑ"]
    texts = []
    for index, line in enumerate(layout.lines):
        text = odd[index] if index < len(odd) else f"line {index}"
        texts.append(LineText(line.id, version.id, text, round(0.05 + index * 0.021, 3)))
    layout.texts = texts
    store.write_page_layout(doc_a, part_a.id, layout)

    image, size = corpus_page(relative)
    for fmt in ("alto", "page"):
        export = run(store, ExportJob(store, doc_a, tmp_path / fmt, format=fmt, version="corpus"))
        doc_b = store.create_document(f"B {fmt}").id
        part_b = add_page(store, doc_b, tmp_path / f"images_{fmt}", image, size)
        [exported] = list((tmp_path / fmt).iterdir())
        import_xml(store, doc_b, exported, "roundtrip")
        a, a_texts = stored(store, doc_a, part_a.id, "corpus")
        b, b_texts = stored(store, doc_b, part_b.id, "roundtrip")
        compare(a, a_texts, b, b_texts, fmt, export.report.notes)
        got = {line.external_id: b_texts[line.id] for line in b.lines}
        want = {line.external_id: a_texts[line.id] for line in a.lines}
        assert {k: t.text for k, t in got.items()} == {k: t.text for k, t in want.items()}
        assert all(abs(got[k].confidence - want[k].confidence) <= 0.01 for k in want)


# --------------------------------------------------------------------------------------------
# re-import into the same document: merge by ID, or override
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["alto", "page"])
def test_reimport_into_the_same_document_merges_or_overrides(
    store: Store, tmp_path: Path, fmt: str
) -> None:
    relative = "page/170025120000003,0074.xml"
    doc, part = document_a(store, tmp_path, relative)
    before, before_texts = stored(store, doc, part.id, "corpus")
    assert len(before.lines) == 44 and len(before_texts) == 44
    out = tmp_path / "out"
    run(store, ExportJob(store, doc, out, format=fmt, version="corpus"))
    [exported] = list(out.iterdir())

    # Without override: every line and region is matched by its ID and updated in place.
    job = import_xml(store, doc, exported, "again")
    merged, merged_texts = stored(store, doc, part.id, "again")
    assert job.report.counts["lines"] == 44
    assert [line.id for line in merged.lines] == [line.id for line in before.lines]
    assert [r.id for r in merged.regions] == [r.id for r in before.regions]
    assert {k: t.text for k, t in merged_texts.items()} == {
        k: t.text for k, t in before_texts.items()
    }
    _, still = stored(store, doc, part.id, "corpus")  # the other version is kept
    assert {k: t.text for k, t in still.items()} == {k: t.text for k, t in before_texts.items()}
    assert any("44 updated in place" in item.reason for item in job.report.imported)
    counted = store.get_part(doc, part.id)
    assert (counted.region_count, counted.line_count) == (len(before.regions), 44)

    # With override: the page's regions, lines and texts are replaced (new ids, no old texts).
    import_xml(store, doc, exported, "replaced", override=True)
    replaced, replaced_texts = stored(store, doc, part.id, "replaced")
    assert len(replaced.lines) == 44 and len(replaced.regions) == len(before.regions)
    assert not {line.id for line in replaced.lines} & {line.id for line in before.lines}
    assert [line.external_id for line in replaced.lines] == [
        line.external_id for line in merged.lines
    ]
    assert len(replaced_texts) == 44
    assert not stored(store, doc, part.id, "corpus")[1]
    assert not stored(store, doc, part.id, "again")[1]
    assert {t.transcription_id for t in replaced.texts} == {
        store.get_transcription(doc, "replaced").id
    }


@pytest.mark.parametrize("fmt", ["alto", "page"])
def test_reimport_of_lines_without_xml_id_does_not_duplicate(
    store: Store, tmp_path: Path, fmt: str
) -> None:
    doc, part = document_a(store, tmp_path, "page/explicit_ro.xml")
    layout = store.read_page_layout(doc, part.id)
    for item in [*layout.lines, *layout.regions]:
        item.external_id = ""  # as the PDF importer stores its lines
    store.write_page_layout(doc, part.id, layout)
    run(store, ExportJob(store, doc, tmp_path / "out", format=fmt, version="corpus"))
    [exported] = list((tmp_path / "out").iterdir())
    import_xml(store, doc, exported, "again")
    after = store.read_page_layout(doc, part.id)
    assert (len(after.lines), len(after.regions)) == (len(layout.lines), len(layout.regions))
    assert {line.id for line in after.lines} == {line.id for line in layout.lines}  # in place


def test_alto_keeps_the_region_order_when_lines_cross_regions(store: Store, tmp_path: Path) -> None:
    doc_a, part_a = document_a(store, tmp_path, "page/explicit_ro.xml")
    layout = store.read_page_layout(doc_a, part_a.id)
    layout.lines.reverse()  # the last region's lines are read first: the order crosses regions
    for order, line in enumerate(layout.lines):
        line.order = order
    store.write_page_layout(doc_a, part_a.id, layout)
    export = run(store, ExportJob(store, doc_a, tmp_path / "out", format="alto", version="corpus"))
    [exported] = list((tmp_path / "out").iterdir())
    image, size = corpus_page("page/explicit_ro.xml")
    doc_b = store.create_document("B").id
    part_b = add_page(store, doc_b, tmp_path / "images_b", image, size)
    import_xml(store, doc_b, exported, "roundtrip")
    a, a_texts = stored(store, doc_a, part_a.id, "corpus")
    b, b_texts = stored(store, doc_b, part_b.id, "roundtrip")
    assert [line.external_id for line in b.lines] == [line.external_id for line in a.lines]
    compare(a, a_texts, b, b_texts, "alto", export.report.notes)
