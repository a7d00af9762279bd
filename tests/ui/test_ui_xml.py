"""Import > Transcriptions (XML), Export (E) and Line masks (M) driven by keys through Pilot,
on a real store with real corpus files, at 80x24."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, DataTable, Input, Select, Static

from esctui.domain import Line, Part
from esctui.formats.xml import parse_layout_xml
from esctui.jobs.export import validate_export
from esctui.jobs.imports.xml import XmlImporter
from esctui.jobs.runner import run_job
from esctui.store import PageLayout, Store
from esctui.ui.app import EsctuiApp
from esctui.ui.screens.dialogs import ChoiceScreen, ConfirmScreen
from esctui.ui.screens.export import ExportScreen, default_output
from esctui.ui.screens.file_picker import FilePickerScreen
from esctui.ui.screens.help import HelpScreen
from esctui.ui.screens.images import ImagesScreen
from esctui.ui.screens.import_xml import XmlImportScreen
from esctui.ui.screens.masks import MasksScreen
from esctui.ui.screens.progress import ProgressScreen
from tests.helpers import add_page, notifications, page_xml, write_zip

SIZE = (80, 24)
PAGE_XML = "page/170025120000003,0074.xml"
PAGE_IMAGE = "170025120000003,0074.jpg"
ALTO_XML = "alto/0014.xml"
ALTO_IMAGE = "0014.jpg"


# ------------------------------------------------------------------------------ helpers


def real_page(store: Store, document_id: str, corpus: Path, folder: Path, image: str) -> Part:
    """A page made from the corpus image the XML names (so its original_filename matches)."""
    return add_page(store, document_id, folder, image, source=corpus / "images" / image)


async def settle(pilot: Pilot[object], app: EsctuiApp, timeout: float = 60) -> None:
    """Wait until every worker has ended, failed ones included."""
    for _ in range(int(timeout / 0.05)):
        if all(w.is_finished for w in app.workers):
            break
        await pilot.pause(0.05)
    await pilot.pause()


def messages(app: EsctuiApp) -> list[str]:
    return notifications(app)


def rows(app: EsctuiApp) -> list[list[str]]:
    table = app.screen.query_one("#xml-plan", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def text_of(app: EsctuiApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def open_xml_preview(pilot: Pilot[object], app: EsctuiApp, path: Path) -> None:
    """Documents -> Images -> i -> Transcriptions (XML) -> the path -> the preview, read."""
    if not isinstance(app.screen, ImagesScreen):
        await pilot.press("enter")
    assert isinstance(app.screen, ImagesScreen)
    await pilot.press("i")
    assert isinstance(app.screen, ChoiceScreen)
    await pilot.press("down", "down", "down", "enter")  # images, pdf, iiif, xml
    assert isinstance(app.screen, FilePickerScreen)
    await pilot.press("g")
    app.screen.query_one("#path", Input).value = str(path)
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, XmlImportScreen)
    await settle(pilot, app)


async def finish_job(pilot: Pilot[object], app: EsctuiApp) -> None:
    """The progress window is up; wait for the job, close the window."""
    assert isinstance(app.screen, ProgressScreen)
    await settle(pilot, app)
    await pilot.press("escape")
    await pilot.pause()
    assert isinstance(app.screen, ImagesScreen)


# ------------------------------------------------------------------------------ XML import


async def test_page_xml_previewed_then_imported_into_a_named_version(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    doc = store.create_document("Register")
    part = real_page(store, doc.id, corpus, tmp_path / "img", PAGE_IMAGE)
    real_page(store, doc.id, corpus, tmp_path / "img", ALTO_IMAGE)  # a second page, untouched
    expected = parse_layout_xml(corpus / PAGE_XML, image_size=(part.width, part.height))
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_xml_preview(pilot, app, corpus / PAGE_XML)
        assert rows(app) == [["170025120000003,0…", "1700251200000…", "image", "44", "4", "ok"]]
        assert text_of(app, "#xml-summary") == "1 of 1 file matches a page"
        assert "by image file name" in text_of(app, "#xml-detail")
        name = app.screen.query_one("#xml-name", Input)
        assert name.value.startswith("170025120000003,0074.xml 20")  # default: file + date
        assert app.screen.query_one("#xml-override", Checkbox).value is False
        name.value = "diplomatic"
        await pilot.press("enter")
        await finish_job(pilot, app)
    [job] = store.list_jobs()
    assert (job.kind, job.status) == ("xml", "done"), job.error
    version = store.get_transcription(doc.id, "diplomatic")
    assert version.source == "xml"
    layout = store.read_page_layout(doc.id, part.id)
    assert [line.external_id for line in layout.lines] == [ln.id for ln in expected.lines]
    assert len(layout.regions) == 4
    texts = layout.texts_for(version.id)
    assert len(texts) == 44
    first = expected.lines[0]
    assert texts[layout.lines[0].id].text == first.text
    assert [p.line_count for p in store.list_parts(doc.id)] == [44, 0]


async def test_alto_merges_by_default_and_override_replaces(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    doc = store.create_document("Register")
    part = real_page(store, doc.id, corpus, tmp_path / "img", ALTO_IMAGE)
    drawn = Line(part.id, [(2, 100), (220, 100)], external_id="drawn-by-hand")
    store.write_page_layout(doc.id, part.id, PageLayout([], [drawn], []))
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_xml_preview(pilot, app, corpus / ALTO_XML)
        assert rows(app) == [["0014.xml", part.name, "image", "2", "0", "ok"]]
        app.screen.query_one("#xml-name", Input).value = "v1"
        await pilot.press("ctrl+s")
        await finish_job(pilot, app)
        merged = store.read_page_layout(doc.id, part.id)
        assert [line.external_id for line in merged.lines] == [
            "drawn-by-hand",
            "eSc_line_0e5809e0",
            "eSc_line_d9c33ce2",
        ]
        assert merged.lines[0].id == drawn.id  # the hand-drawn line stays

        await open_xml_preview(pilot, app, corpus / ALTO_XML)
        app.screen.query_one("#xml-name", Input).value = "v1"
        await pilot.press("tab")  # name -> override
        assert app.screen.focused is app.screen.query_one("#xml-override", Checkbox)
        await pilot.press("space")
        assert app.screen.query_one("#xml-override", Checkbox).value is True
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmScreen)  # what goes is said first
        assert app.screen.question.startswith(
            "Replacing the segmentation of 1 page removes 3 lines, and with them the text of "
            "1 version: 'v1' (2 lines). This cannot be undone."
        )  # jobs.losses's count and sentence, as the segmentation's
        await pilot.press("y")
        await finish_job(pilot, app)
    replaced = store.read_page_layout(doc.id, part.id)
    assert len(replaced.lines) == 2
    assert "drawn-by-hand" not in {line.external_id for line in replaced.lines}
    assert [v.name for v in store.list_transcriptions(doc.id)] == ["v1"]
    assert len(replaced.texts_for(store.get_transcription(doc.id, "v1").id)) == 2
    assert [j.status for j in store.list_jobs()] == ["done", "done"]


async def test_zip_preview_shows_unmatched_and_left_out_entries(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    doc = store.create_document("Register")
    part = real_page(store, doc.id, corpus, tmp_path / "img", ALTO_IMAGE)
    archive = write_zip(
        tmp_path / "batch.zip",
        {
            "alto/0014.xml": (corpus / ALTO_XML).read_bytes(),
            "page/elsewhere.xml": page_xml("elsewhere.jpg", [("l1", "Anno domini")]),
            "readme.txt": b"not a transcription",
        },
    )
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_xml_preview(pilot, app, archive)
        table = rows(app)
        assert table[0] == ["alto/0014.xml", part.name, "image", "2", "0", "ok"]
        assert table[1] == ["page/elsewhere.xml", "—", "", "1", "1", "no page"]
        assert table[2][0] == "readme.txt" and table[2][-1] == "left out"
        assert text_of(app, "#xml-summary") == (
            "1 of 2 files match a page; 1 unmatched; 1 ZIP entry left out"
        )
        await pilot.press("tab", "tab")  # name -> override -> the table
        assert app.screen.focused is app.screen.query_one("#xml-plan", DataTable)
        await pilot.press("down")
        assert "elsewhere.jpg" in text_of(app, "#xml-detail")  # the reason, in words
        await pilot.press("ctrl+s")
        await finish_job(pilot, app)
    [job] = store.list_jobs()
    assert job.status == "done", job.error
    assert store.get_part(doc.id, part.id).line_count == 2
    assert any("elsewhere.xml" in item.name for item in job.report.skipped)


async def test_nothing_matching_is_refused_and_a_broken_zip_said_plainly(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    doc = store.create_document("Register")
    real_page(store, doc.id, corpus, tmp_path / "img", ALTO_IMAGE)
    lonely = tmp_path / "nowhere.xml"
    lonely.write_bytes(page_xml("nowhere.jpg", [("l1", "Amen")]))
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_xml_preview(pilot, app, lonely)
        assert rows(app)[0][-1] == "no page"
        assert text_of(app, "#xml-summary").startswith("0 of 1 file matches a page; 1 unmatched")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, XmlImportScreen)  # still there: nothing was started
        assert any("Nothing imported" in m for m in messages(app))
        await pilot.press("escape")
        assert isinstance(app.screen, ImagesScreen)

        await pilot.press("i", "down", "down", "down", "enter", "g")
        app.screen.query_one("#path", Input).value = str(broken)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ImagesScreen)  # closed: there is nothing to preview
        assert any(m.startswith("Cannot read broken.zip") for m in messages(app))
    assert store.list_jobs() == []
    assert store.list_transcriptions(doc.id) == []


# ------------------------------------------------------------------------------ export


async def imported_document(store: Store, corpus: Path, folder: Path) -> tuple[str, list[str]]:
    doc = store.create_document("Parish register")
    first = real_page(store, doc.id, corpus, folder, PAGE_IMAGE)
    second = real_page(store, doc.id, corpus, folder, ALTO_IMAGE)
    for xml in (PAGE_XML, ALTO_XML):
        job = await run_job(store, XmlImporter(store, doc.id, corpus / xml, name="diplomatic"))
        assert job.status == "done", job.error
    return doc.id, [first.id, second.id]


async def test_export_all_pages_as_page_xml_to_a_zip(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    doc_id, _ = await imported_document(store, corpus, tmp_path / "img")
    out = tmp_path / "out" / "register_page.zip"
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "E")
        assert isinstance(app.screen, ExportScreen)
        path = app.screen.query_one("#export-path", Input)
        assert path.value == default_output("Parish register", "alto")
        assert path.value == "~/Parish_register_alto.zip"
        assert app.screen.query_one("#export-pages", Select).value == "all"  # nothing marked
        await pilot.press("enter", "down", "enter")  # format: ALTO -> PAGE
        assert app.screen.query_one("#export-format", Select).value == "page"
        assert path.value == "~/Parish_register_page.zip"  # follows the format
        await pilot.press("tab", "tab", "tab")  # -> version -> pages -> path
        assert app.screen.focused is path
        path.value = str(out)
        await pilot.press("enter")
        await finish_job(pilot, app)
    [job, *_] = store.list_jobs()
    assert (job.kind, job.status) == ("export", "done"), job.error
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["0014.xml", "170025120000003,0074.xml"]
        for name in archive.namelist():
            data = archive.read(name)
            assert validate_export(data, "page") == [], name
            assert data.count(b"<TextLine ") == (44 if name.startswith("1700") else 2)
            assert b"<Unicode>" in data  # the text of the version went out
    assert store.get_document(doc_id).name == "Parish register"


async def test_export_marked_pages_as_alto(store: Store, corpus: Path, tmp_path: Path) -> None:
    _, (first_id, second_id) = await imported_document(store, corpus, tmp_path / "img")
    out = tmp_path / "marked.zip"
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "down", "space")  # mark the second page (0014)
        assert app.screen.marked == {second_id}
        await pilot.press("E")
        assert isinstance(app.screen, ExportScreen)
        assert app.screen.query_one("#export-pages", Select).value == "marked"
        app.screen.query_one("#export-path", Input).value = str(out)
        out.write_bytes(b"an older export")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)  # it exists: replace it?
        assert "already exists" in app.screen.question
        await pilot.press("y")
        await finish_job(pilot, app)
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["0014.xml"]
        data = archive.read("0014.xml")
    assert validate_export(data, "alto") == []
    assert data.count(b"<TextLine ") == 2


# ------------------------------------------------------------------------------ masks


async def test_masks_keys_run_the_job_on_a_page_without_lines(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    doc = store.create_document("Register")
    real_page(store, doc.id, corpus, tmp_path / "img", ALTO_IMAGE)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "M")
        assert isinstance(app.screen, MasksScreen)
        assert "for the only page" in str(app.screen.title_text)
        await pilot.press("enter")  # the default: lines without a mask
        await finish_job(pilot, app)
    [job] = store.list_jobs()
    assert (job.kind, job.status) == ("masks", "done"), job.error
    assert job.title == "Compute missing line masks: Register"


async def test_help_and_palette_list_export_and_masks(store: Store) -> None:
    store.create_document("Register")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Export", "Compute line masks"} <= set(titles)
        await pilot.press("E")  # no pages: said, nothing opened
        assert isinstance(app.screen, ImagesScreen)
        assert any("no pages" in m for m in messages(app))
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "Export" in text and "Line masks" in text and "Move up" in text


@pytest.mark.parametrize("fmt", ["alto", "page", "text"])
def test_default_output_is_a_zip_in_home_named_after_the_document(fmt: str) -> None:
    assert default_output("Reg. 1642/1650: A", fmt) == f"~/Reg._1642_1650_A_{fmt}.zip"
