"""ALTO/PAGE transcription import: the real corpus files, page matching, merge and override,
versions, ZIP batches, dry runs, and the CLI (in process, on a real data folder)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from esctui.cli import main as cli_main
from esctui.domain import Job
from esctui.formats.xml import parse_layout_xml
from esctui.jobs.imports.xml import (
    EntryStatus,
    PageMatcher,
    XmlImporter,
    default_version_name,
    plan_xml_import,
    scan_image_filename,
)
from esctui.jobs.runner import run_job
from esctui.store import Store
from esctui.store.versions import version_stats
from tests.helpers import add_page, page_xml, write_zip

CORPUS_XML = [
    "alto/0014.xml",
    "alto/bsb00084914_00007.xml",
    "alto/missing_coords_ro.xml",
    "alto/reg_test.xml",
    "alto/zero_dims.xml",
    "invalid/alto_mu.xml",
    "invalid/page_dims.xml",
    "page/170025120000003,0074.xml",
    "page/cPAS-2000.xml",
    "page/explicit_ro.xml",
    "page/missing_coords_transkribus.xml",
]


# ------------------------------------------------------------------------------ helpers


def run(store: Store, importer: XmlImporter) -> Job:
    return asyncio.run(run_job(store, importer))


def texts_of(store: Store, document_id: str, part_id: str, version_id: str) -> dict[str, str]:
    """Line external id -> text, for one version."""
    layout = store.read_page_layout(document_id, part_id)
    texts = layout.texts_for(version_id)
    return {line.external_id: texts[line.id].text for line in layout.lines if line.id in texts}


# ------------------------------------------------------------------------------ corpus files


@pytest.mark.parametrize("relative", CORPUS_XML)
def test_corpus_file_is_stored_as_parsed(
    store: Store, corpus: Path, tmp_path: Path, relative: str
) -> None:
    xml = corpus / relative
    unscaled = parse_layout_xml(xml)
    size = (unscaled.width or 100, unscaled.height or 100)
    image = unscaled.image_filename or f"{xml.stem}.png"
    real = corpus / "images" / image
    doc = store.create_document("D")
    part = add_page(
        store, doc.id, tmp_path / "img", image, size, source=real if real.is_file() else None
    )
    assert (part.width, part.height) == size
    expected = parse_layout_xml(xml, image_size=size)

    job = run(store, XmlImporter(store, doc.id, xml, name="v1"))

    assert job.status == "done", job.error
    assert not job.report.skipped
    layout = store.read_page_layout(doc.id, part.id)
    assert len(layout.regions) == len(expected.regions)
    assert len(layout.lines) == len(expected.lines)
    assert [line.external_id for line in layout.lines] == [line.id for line in expected.lines]
    assert [line.baseline for line in layout.lines] == [line.baseline for line in expected.lines]
    version = store.get_transcription(doc.id, "v1")
    assert version.source == "xml"
    with_text = {line.id: line.text for line in expected.lines if line.text}
    assert texts_of(store, doc.id, part.id, version.id) == with_text
    regions = {r.id: r.external_id for r in layout.regions}
    for stored, parsed in zip(layout.lines, expected.lines, strict=True):
        assert (regions[stored.region_id] if stored.region_id else None) == (
            parsed.region_id if parsed.region_id in regions.values() else None
        )
    stored_part = store.get_part(doc.id, part.id)
    assert (stored_part.region_count, stored_part.line_count) == (
        len(expected.regions),
        len(expected.lines),
    )
    typology = store.get_document(doc.id).typology
    assert typology.get("regions", {}) == expected.typology["regions"]
    assert typology.get("lines", {}) == expected.typology["lines"]
    if expected.lines:
        assert job.report.counts["lines"] == len(expected.lines)


def test_smaller_image_scales_coordinates_and_says_so(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    doc = store.create_document("D")
    part = add_page(store, doc.id, tmp_path, "170025120000003,0074.jpg", (1372, 1983))
    job = run(store, XmlImporter(store, doc.id, corpus / "page/170025120000003,0074.xml"))
    assert job.status == "done" and not job.report.skipped
    assert any("scaled" in note for note in job.report.notes)
    layout = store.read_page_layout(doc.id, part.id)
    points = [p for line in layout.lines for p in (line.mask or []) + (line.baseline or [])]
    assert max(x for x, _ in points) <= 1372 and max(y for _, y in points) <= 1983
    assert max(x for x, _ in points) > 1000  # scaled, not squashed


def test_repairs_and_validation_messages_are_reported(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    doc = store.create_document("D")
    add_page(store, doc.id, tmp_path, "test.jpg", (1000, 1000))
    xml = corpus / "page/missing_coords_transkribus.xml"
    parsed = parse_layout_xml(xml, image_size=(1000, 1000))
    job = run(store, XmlImporter(store, doc.id, xml))
    assert parsed.repairs
    assert job.report.counts["repairs"] == sum(parsed.repairs.values())
    for repair in parsed.repairs:
        assert any(repair in note for note in job.report.notes)
    for message in parsed.validation[:1]:
        assert any(message[:60] in note for note in job.report.notes)


# ------------------------------------------------------------------------------ matching


def test_matching_rules_in_order_and_no_guessing(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("D")
    folder = tmp_path / "img"
    pages = {
        name: add_page(store, doc.id, folder, name)
        for name in ["A.jpg", "a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.png", "f.jpg", "f.png"]
    }
    nested = add_page(store, doc.id, folder, "g.jpg", original="box1/g.jpg")
    line = [("l1", "text")]
    archive = write_zip(
        tmp_path / "in.zip",
        {
            "exact.xml": page_xml("A.jpg", line),
            "nested.xml": page_xml("box1/g.jpg", line),
            "folders.xml": page_xml("C:\\scans\\2024\\b.jpg", line),
            "case.xml": page_xml("scans/C.JPG", line),
            "extension.xml": page_xml("d.tif", line),
            "sub/e.xml": page_xml(None, line),
            "ambiguous.xml": page_xml("f.tif", line),
            "unmatched.xml": page_xml("zzz.jpg", line),
        },
    )
    plan = plan_xml_import(store, doc.id, archive)
    by_file = {entry.name: entry for entry in plan.entries}
    expected = {
        "exact.xml": (pages["A.jpg"], "image file name"),
        "nested.xml": (nested, "image file name"),
        "folders.xml": (pages["b.jpg"], "image name ignoring folders"),
        "case.xml": (pages["c.jpg"], "image name ignoring case"),
        "extension.xml": (pages["d.jpg"], "image name ignoring extension"),
        "sub/e.xml": (pages["e.png"], "XML file name"),
    }
    for name, (page, rule) in expected.items():
        entry = by_file[name]
        assert (entry.status, entry.page_id, entry.rule) == (EntryStatus.MATCHED, page.id, rule)
        assert (entry.lines, entry.regions, entry.texts) == (1, 1, 1)
    assert by_file["ambiguous.xml"].status == EntryStatus.AMBIGUOUS
    assert by_file["ambiguous.xml"].page_id is None
    assert "2 pages fit" in by_file["ambiguous.xml"].reason
    assert by_file["unmatched.xml"].status == EntryStatus.UNMATCHED
    assert "zzz.jpg" in by_file["unmatched.xml"].reason

    job = run(store, XmlImporter(store, doc.id, archive, name="v"))
    assert job.status == "done"
    assert {item.name for item in job.report.skipped} == {"ambiguous.xml", "unmatched.xml"}
    for name in ("f.jpg", "f.png", "a.jpg"):
        assert store.read_page_layout(doc.id, pages[name].id).lines == []
    assert len(store.read_page_layout(doc.id, pages["A.jpg"].id).lines) == 1


def test_second_file_for_the_same_page_is_reported(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("D")
    page = add_page(store, doc.id, tmp_path, "p.jpg")
    archive = write_zip(
        tmp_path / "in.zip",
        {
            "one.xml": page_xml("p.jpg", [("l1", "first")]),
            "two.xml": page_xml("p.jpg", [("l1", "second")]),
        },
    )
    job = run(store, XmlImporter(store, doc.id, archive, name="v"))
    [skipped] = job.report.skipped
    assert skipped.name == "two.xml" and "one.xml" in skipped.reason
    version = store.get_transcription(doc.id, "v")
    assert texts_of(store, doc.id, page.id, version.id) == {"l1": "first"}


def test_matcher_without_pages_and_quick_name_scan() -> None:
    assert PageMatcher([]).match("x.jpg", "x.xml").part is None
    assert scan_image_filename(page_xml("a &amp; b.jpg", [])) == "a & b.jpg"
    alto = b"<alto><Description><sourceImageInformation><fileName> s/x.tif </fileName>"
    assert scan_image_filename(alto) == "s/x.tif"


def test_quick_scan_fooled_by_a_comment_still_matches_right(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("D")
    right = add_page(store, doc.id, tmp_path, "right.jpg", (400, 200))
    add_page(store, doc.id, tmp_path, "wrong.jpg", (200, 100))
    data = page_xml("right.jpg", [("l1", "t")]).replace(
        b"<Metadata>", b'<!-- <Page imageFilename="wrong.jpg"> --><Metadata>'
    )
    (tmp_path / "x.xml").write_bytes(data)
    [entry] = plan_xml_import(store, doc.id, tmp_path / "x.xml").entries
    assert entry.page_id == right.id
    assert entry.parsed is not None and entry.parsed.width == 400  # scaled to the right page


# ------------------------------------------------------------------------------ merge, override


def test_same_file_twice_updates_in_place(store: Store, corpus: Path, tmp_path: Path) -> None:
    doc = store.create_document("D")
    xml = corpus / "page/170025120000003,0074.xml"
    page = add_page(
        store,
        doc.id,
        tmp_path,
        "170025120000003,0074.jpg",
        source=corpus / "images" / xml.with_suffix(".jpg").name,
    )
    first = run(store, XmlImporter(store, doc.id, xml, name="v"))
    before = store.read_page_layout(doc.id, page.id)
    second = run(store, XmlImporter(store, doc.id, xml, name="v"))
    after = store.read_page_layout(doc.id, page.id)
    assert first.status == second.status == "done"
    assert len(after.lines) == len(before.lines) == 44
    assert [line.id for line in after.lines] == [line.id for line in before.lines]
    assert [r.id for r in after.regions] == [r.id for r in before.regions]
    assert len(after.texts) == 44
    assert len(store.list_transcriptions(doc.id)) == 1
    assert "44 updated in place" in second.report.imported[0].reason


def test_transcription_into_a_segmented_page_keeps_ids_and_other_texts(
    store: Store, tmp_path: Path
) -> None:
    doc = store.create_document("D")
    page = add_page(store, doc.id, tmp_path, "p.jpg")
    (tmp_path / "seg.xml").write_bytes(page_xml("p.jpg", [("l1", None), ("l2", None)]))
    (tmp_path / "a.xml").write_bytes(page_xml("p.jpg", [("l1", "alpha"), ("l2", "beta")]))
    (tmp_path / "b.xml").write_bytes(
        page_xml("p.jpg", [("l2", "BETA"), ("l3", "gamma")], line_type="heading")
    )
    run(store, XmlImporter(store, doc.id, tmp_path / "seg.xml", name="segmentation"))
    segmented = store.read_page_layout(doc.id, page.id)
    assert segmented.texts == []
    assert store.list_transcriptions(doc.id)[0].name == "segmentation"

    run(store, XmlImporter(store, doc.id, tmp_path / "a.xml", name="A"))
    run(store, XmlImporter(store, doc.id, tmp_path / "b.xml", name="B"))

    layout = store.read_page_layout(doc.id, page.id)
    ids = {line.external_id: line.id for line in layout.lines}
    assert [line.external_id for line in layout.lines] == ["l1", "l2", "l3"]
    assert ids["l1"] == segmented.lines[0].id and ids["l2"] == segmented.lines[1].id
    assert layout.lines[2].order > layout.lines[1].order
    assert {line.external_id: line.type for line in layout.lines} == {
        "l1": "default",
        "l2": "heading",
        "l3": "heading",
    }
    assert len(layout.regions) == 1  # same region ID: updated, not added
    assert all(line.region_id == layout.regions[0].id for line in layout.lines)
    version_a = store.get_transcription(doc.id, "A")
    version_b = store.get_transcription(doc.id, "B")
    assert texts_of(store, doc.id, page.id, version_a.id) == {"l1": "alpha", "l2": "beta"}
    assert texts_of(store, doc.id, page.id, version_b.id) == {"l2": "BETA", "l3": "gamma"}
    assert store.get_document(doc.id).typology == {
        "regions": {"text": 1},
        "lines": {"default": 1, "heading": 2},
    }
    stats = version_stats(store, doc.id)
    assert (stats[version_a.id].lines, stats[version_a.id].characters) == (2, 9)
    assert (stats[version_b.id].pages, stats[version_b.id].lines) == (1, 2)


def test_override_replaces_layout_and_every_text(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("D")
    page = add_page(store, doc.id, tmp_path, "p.jpg")
    (tmp_path / "a.xml").write_bytes(page_xml("p.jpg", [("l1", "alpha"), ("l2", "beta")]))
    (tmp_path / "b.xml").write_bytes(page_xml("p.jpg", [("x1", "new")], region_id="r9"))
    run(store, XmlImporter(store, doc.id, tmp_path / "a.xml", name="A"))
    old_ids = {line.id for line in store.read_page_layout(doc.id, page.id).lines}

    job = run(store, XmlImporter(store, doc.id, tmp_path / "b.xml", name="B", override=True))

    assert job.status == "done"
    layout = store.read_page_layout(doc.id, page.id)
    assert [line.external_id for line in layout.lines] == ["x1"]
    assert [r.external_id for r in layout.regions] == ["r9"]
    assert not old_ids & {line.id for line in layout.lines}
    assert [t.text for t in layout.texts] == ["new"]
    assert store.get_part(doc.id, page.id).line_count == 1


def test_merge_adds_new_ids_and_an_empty_text_clears_the_version(
    store: Store, tmp_path: Path
) -> None:
    doc = store.create_document("D")
    page = add_page(store, doc.id, tmp_path, "p.jpg")
    (tmp_path / "a.xml").write_bytes(page_xml("p.jpg", [("l1", "alpha"), ("l2", "beta")]))
    (tmp_path / "b.xml").write_bytes(page_xml("p.jpg", [("l1", ""), ("l2", None)]))
    run(store, XmlImporter(store, doc.id, tmp_path / "a.xml", name="A"))
    run(store, XmlImporter(store, doc.id, tmp_path / "b.xml", name="A"))
    version = store.get_transcription(doc.id, "A")
    assert texts_of(store, doc.id, page.id, version.id) == {"l1": "", "l2": "beta"}
    layout = store.read_page_layout(doc.id, page.id)
    assert len(layout.lines) == 2
    emptied = layout.texts_for(version.id)[layout.lines[0].id]
    assert [(r.text, r.source) for r in emptied.history] == [("alpha", "xml: a.xml")]


def test_deleted_version_name_can_be_used_again(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("D")
    page = add_page(store, doc.id, tmp_path, "p.jpg")
    (tmp_path / "a.xml").write_bytes(page_xml("p.jpg", [("l1", "alpha")]))
    (tmp_path / "b.xml").write_bytes(page_xml("p.jpg", [("l2", "beta")]))
    run(store, XmlImporter(store, doc.id, tmp_path / "a.xml", name="v"))
    first = store.get_transcription(doc.id, "v")
    store.delete_transcription(doc.id, "v")
    run(store, XmlImporter(store, doc.id, tmp_path / "b.xml", name="v"))
    second = store.get_transcription(doc.id, "v")
    assert second.id != first.id
    assert texts_of(store, doc.id, page.id, second.id) == {"l2": "beta"}
    assert all(
        t.transcription_id == second.id for t in store.read_page_layout(doc.id, page.id).texts
    )


def test_default_version_name_is_file_and_time(store: Store, tmp_path: Path) -> None:
    import datetime as dt

    assert default_version_name(Path("x/in.zip"), dt.datetime(2024, 5, 1, 9, 7)) == (
        "in.zip 2024-05-01 09:07"
    )
    doc = store.create_document("D")
    add_page(store, doc.id, tmp_path, "p.jpg")
    (tmp_path / "a.xml").write_bytes(page_xml("p.jpg", [("l1", "alpha")]))
    run(store, XmlImporter(store, doc.id, tmp_path / "a.xml"))
    [version] = store.list_transcriptions(doc.id)
    assert version.name.startswith("a.xml 20") and len(version.name) == len(
        "a.xml 2024-05-01 09:07"
    )


# ------------------------------------------------------------------------------ ZIP batches


def test_zip_batch_with_folders_other_files_unmatched_and_corrupt(
    store: Store, tmp_path: Path
) -> None:
    doc = store.create_document("D")
    pages = [add_page(store, doc.id, tmp_path / "img", f"p{n}.jpg") for n in range(1, 4)]
    archive = write_zip(
        tmp_path / "batch.zip",
        {
            "export/a/p1.xml": page_xml("p1.jpg", [("l1", "one")]),
            "export/b/c/p2.xml": page_xml("images/p2.jpg", [("l1", "two")]),
            "export/broken.xml": page_xml("p3.jpg", [("l1", "three")])[:-40],
            "export/p3.xml": page_xml("p3.jpg", [("l1", "three")]),
            "export/readme.txt": b"not xml",
            "export/other.xml": page_xml("nowhere.jpg", [("l1", "x")]),
        },
    )
    job = run(store, XmlImporter(store, doc.id, archive, name="v"))
    assert job.status == "done"
    skipped = {item.name: item.reason for item in job.report.skipped}
    assert set(skipped) == {"export/broken.xml", "export/readme.txt", "export/other.xml"}
    assert "not an XML file" in skipped["export/readme.txt"]
    assert "well-formed" in skipped["export/broken.xml"]
    assert "nowhere.jpg" in skipped["export/other.xml"]
    version = store.get_transcription(doc.id, "v")
    assert [texts_of(store, doc.id, p.id, version.id) for p in pages] == [
        {"l1": "one"},
        {"l1": "two"},
        {"l1": "three"},
    ]
    assert job.report.counts["pages"] == 3


def test_dry_run_writes_nothing_and_reports_the_mapping(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("D")
    page = add_page(store, doc.id, tmp_path, "p.jpg")
    archive = write_zip(
        tmp_path / "in.zip",
        {
            "p.xml": page_xml("p.jpg", [("l1", "one"), ("l2", "two")]),
            "q.xml": page_xml("q.jpg", []),
        },
    )
    pages_file = store.document_dir(doc.id) / "pages" / f"{page.id}.json"
    job = run(store, XmlImporter(store, doc.id, archive, name="v", dry_run=True))
    assert job.status == "done"
    assert store.list_transcriptions(doc.id) == []
    assert store.read_page_layout(doc.id, page.id).lines == []
    assert not pages_file.exists()
    assert store.get_document(doc.id).typology == {}
    [imported] = job.report.imported
    assert imported.name == "p.xml" and "page p" in imported.reason and "2 lines" in imported.reason
    assert [item.name for item in job.report.skipped] == ["q.xml"]


def test_unreadable_source_fails_the_job(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("D")
    (tmp_path / "bad.zip").write_bytes(b"not a zip at all")
    job = run(store, XmlImporter(store, doc.id, tmp_path / "bad.zip"))
    assert job.status == "failed" and "bad.zip" in job.error
    job = run(store, XmlImporter(store, doc.id, tmp_path / "missing.xml"))
    assert job.status == "failed" and "does not exist" in job.error


# ------------------------------------------------------------------------------ CLI


def cli(data: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = cli_main(["--data-dir", str(data), *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_import_xml_exit_codes_json_and_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    store = Store(data)
    doc = store.create_document("Book")
    add_page(store, doc.id, tmp_path / "img", "p1.jpg")
    add_page(store, doc.id, tmp_path / "img", "p2.jpg")
    (tmp_path / "p1.xml").write_bytes(page_xml("p1.jpg", [("l1", "hello"), ("l2", "world")]))
    mixed = write_zip(
        tmp_path / "mixed.zip",
        {"p2.xml": page_xml("p2.jpg", [("l1", "again")]), "x.xml": page_xml("x.jpg", [])},
    )

    status, out, _ = cli(
        data, capsys, "import", "xml", "Book", str(tmp_path / "p1.xml"), "--name", "T1"
    )
    assert status == 0 and "imported" in out

    status, out, _ = cli(data, capsys, "import", "xml", "Book", str(mixed), "--dry-run")
    assert status == 3
    assert "p2.xml" in out and "x.jpg" in out and "nothing was written" in out
    status, out, _ = cli(data, capsys, "import", "xml", "Book", str(mixed), "--dry-run", "--json")
    plan = json.loads(out)
    assert status == 3
    assert {f["file"]: f["status"] for f in plan["files"]} == {
        "p2.xml": "matched",
        "x.xml": "unmatched",
    }

    status, out, _ = cli(
        data, capsys, "import", "xml", "Book", str(mixed), "--name", "T2", "--json"
    )
    job = json.loads(out)
    assert status == 3 and job["kind"] == "xml" and job["status"] == "done"
    assert [s["name"] for s in job["report"]["skipped"]] == ["x.xml"]

    status, _, err = cli(data, capsys, "import", "xml", "Book", str(tmp_path / "nope.zip"))
    assert status == 1 and "nope.zip" in err

    status, out, _ = cli(data, capsys, "transcriptions", "list", "Book", "--json")
    listed = {v["name"]: v for v in json.loads(out)}
    assert status == 0
    assert (listed["T1"]["pages_with_text"], listed["T1"]["lines_with_text"]) == (1, 2)
    assert listed["T1"]["characters"] == 10 and listed["T2"]["lines_with_text"] == 1
    status, out, _ = cli(data, capsys, "transcriptions", "list", "Book")
    assert status == 0 and "T1" in out and "CHARACTERS" in out

    assert cli(data, capsys, "transcriptions", "rename", "Book", "T1", "First")[0] == 0
    status, _, err = cli(data, capsys, "transcriptions", "rename", "Book", "T2", "First")
    assert status == 1 and "already exists" in err
    assert cli(data, capsys, "transcriptions", "delete", "Book", "First", "--yes")[0] == 0
    status, out, _ = cli(data, capsys, "transcriptions", "list", "Book", "--json")
    assert [v["name"] for v in json.loads(out)] == ["T2"]
    status, _, err = cli(data, capsys, "transcriptions", "delete", "Book", "First", "--yes")
    assert status == 1 and "First" in err
