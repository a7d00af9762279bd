"""The TUI driven as a person would: keys through Textual's Pilot, checked against the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from esctui.domain.errors import ConflictError
from esctui.store import Store
from esctui.ui.app import EsctuiApp
from esctui.ui.screens.dialogs import (
    ChoiceScreen,
    ConfirmScreen,
    DescriptionScreen,
    DocumentFormScreen,
    TextPromptScreen,
)
from esctui.ui.screens.documents import DocumentsScreen
from esctui.ui.screens.file_picker import FilePickerScreen
from esctui.ui.screens.help import HelpScreen
from esctui.ui.screens.images import ImagesScreen
from esctui.ui.screens.jobs import JobsScreen
from esctui.ui.screens.progress import ProgressScreen
from tests.helpers import make_pages, type_text

SIZE = (80, 24)  # the smallest terminal we promise


def table_names(app: EsctuiApp, column: int) -> list[str]:
    table = app.screen.query_one(DataTable)
    return [str(table.get_row_at(i)[column]) for i in range(table.row_count)]


async def test_create_rename_describe_delete_document(store: Store) -> None:
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, DocumentsScreen)
        await pilot.press("n")
        await type_text(pilot, "Register 1642")
        await pilot.press("tab")
        await type_text(pilot, "Latin")
        await pilot.press("ctrl+s")
        await pilot.pause()
        [doc] = store.list_documents()
        assert (doc.name, doc.main_script) == ("Register 1642", "Latin")
        assert table_names(app, 0) == ["Register 1642"]

        await pilot.press("r")
        field = app.screen.query_one(Input)
        field.value = ""
        await type_text(pilot, "Register B")
        await pilot.press("enter")
        await pilot.pause()
        assert store.get_document(doc.id).name == "Register B"

        await pilot.press("D")
        assert isinstance(app.screen, DescriptionScreen)
        await type_text(pilot, "Parish register")
        await pilot.press("tab")
        await type_text(pilot, "archive: AD 33")
        await pilot.press("ctrl+s")
        await pilot.pause()
        described = store.get_document(doc.id)
        assert described.description == "Parish register"
        assert described.metadata == {"archive": "AD 33"}

        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # keep it
        assert store.list_documents()
        await pilot.press("x")
        await pilot.press("y")
        await pilot.pause()
        assert store.list_documents() == []


async def test_a_taken_name_keeps_the_dialog_open_with_what_was_typed(store: Store) -> None:
    """One rule for names (unique ignoring case and end spaces), said in the dialog; a refused
    name neither closes the dialog nor loses the input."""
    store.create_document("Register 1642")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, DocumentFormScreen)
        assert "ignoring case" in " ".join(str(s.render()) for s in form.query(Static))
        await type_text(pilot, "register 1642 ")
        await pilot.press("tab")
        await type_text(pilot, "Latin")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form  # still open, everything typed still there
        assert form.query_one("#name", Input).value == "register 1642 "
        assert form.query_one("#script", Input).value == "Latin"
        assert "already exists" in str(form.query_one("#name-error", Static).render())
        assert app.screen.focused is form.query_one("#name", Input)
        assert [d.name for d in store.list_documents()] == ["Register 1642"]

        form.query_one("#name", Input).value = "Register 1643"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DocumentsScreen)
        assert sorted(d.name for d in store.list_documents()) == ["Register 1642", "Register 1643"]

        await pilot.press("r")  # an empty name: said in the dialog, which stays
        prompt = app.screen
        assert isinstance(prompt, TextPromptScreen)
        prompt.query_one(Input).value = "  "
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is prompt
        assert "needs a name" in str(prompt.query_one("#prompt-error", Static).render())
        prompt.query_one(Input).value = "REGISTER 1642"  # the other one's name, in capitals
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is prompt
        assert "already exists" in str(prompt.query_one("#prompt-error", Static).render())
        await pilot.press("escape")
    assert sorted(d.name for d in store.list_documents()) == ["Register 1642", "Register 1643"]
    with pytest.raises(ConflictError):  # the store says the same outside the TUI
        store.create_document(" register 1643")


async def test_import_images_in_picked_order_with_progress(store: Store, tmp_path: Path) -> None:
    pages = make_pages(tmp_path / "scans", 3)
    doc = store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        assert isinstance(app.screen, ImagesScreen)
        await pilot.press("i")
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("enter")  # first entry: local images
        assert isinstance(app.screen, FilePickerScreen)
        # pick by typing paths, in an order that is not the natural one
        await pilot.press("g")  # focus stays in the path field after each Enter
        for path in (pages[2], pages[0], pages[1]):
            await type_text(pilot, str(path))
            await pilot.press("enter")
        assert app.screen.selected == [pages[2], pages[0], pages[1]]
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ProgressScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "3 imported" in str(app.screen.query_one("#status").render())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ImagesScreen)
        assert [p.name for p in store.list_parts(doc.id)] == ["page3", "page1", "page2"]
        assert table_names(app, 2) == ["page3", "page1", "page2"]


async def test_the_allow_duplicates_checkbox_adds_an_image_twice(
    store: Store, tmp_path: Path
) -> None:
    """The same image imported three times: added, refused as a duplicate, then added again
    with the picker's Allow duplicates checkbox (ticked with d)."""
    [page] = make_pages(tmp_path / "scans", 1)
    doc = store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        for allow in (False, False, True):
            await pilot.press("i", "enter")
            assert isinstance(app.screen, FilePickerScreen)
            if allow:
                await pilot.press("d")
            await pilot.press("g")
            await type_text(pilot, str(page))
            await pilot.press("enter", "ctrl+s")
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, ImagesScreen)
    counts = [job.report.counts.get("duplicates", 0) for job in reversed(store.list_jobs())]
    assert counts == [0, 1, 0]
    assert len(store.list_parts(doc.id)) == 2


async def test_picker_adds_a_folder_in_natural_order(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "root" / "folder"
    make_pages(folder, 11)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        picked: list = []
        app.push_screen(
            FilePickerScreen("pick", suffixes={".png"}, start=tmp_path / "root"), picked.append
        )
        await pilot.pause(0.5)  # the tree loads folders in a worker
        await pilot.press("down")  # highlight "folder"
        await pilot.press("a")
        names = [p.name for p in app.screen.selected]
        assert names[:3] == ["page1.png", "page2.png", "page3.png"]
        assert names[-1] == "page11.png"
        await pilot.press("ctrl+s")
        assert len(picked[0]) == 11


async def test_reorder_and_delete_pages(store: Store, tmp_path: Path) -> None:
    import asyncio

    from esctui.jobs.imports.images import LocalImagesImporter
    from esctui.jobs.runner import run_job

    doc = store.create_document("Book")
    await run_job(store, LocalImagesImporter(store, doc.id, make_pages(tmp_path / "s", 3)))
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.press("J")  # page1 moves down
        await pilot.pause()
        assert [p.name for p in store.list_parts(doc.id)] == ["page2", "page1", "page3"]
        await pilot.press("K")
        await pilot.pause()
        assert [p.name for p in store.list_parts(doc.id)] == ["page1", "page2", "page3"]
        # mark two pages, delete them
        await pilot.press("space", "space", "x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        await asyncio.sleep(0)
        assert [p.name for p in store.list_parts(doc.id)] == ["page3"]
        assert store.get_document(doc.id).page_count == 1


async def test_a_jpeg_pages_preview_is_made_when_the_page_is_first_shown(
    store: Store, tmp_path: Path, corpus: Path
) -> None:
    from esctui.jobs.imports.images import LocalImagesImporter
    from esctui.jobs.runner import run_job
    from esctui.ui.widgets.preview import PagePreview

    doc = store.create_document("Scans")
    scans = [corpus / "images" / "0014.jpg", corpus / "images" / "input.jpg"]
    await run_job(store, LocalImagesImporter(store, doc.id, scans))
    parts = store.list_parts(doc.id)
    thumbnails = [store.part_thumbnail_path(part) for part in parts]
    assert not any(path.exists() for path in thumbnails)  # a JPEG is not decoded at import
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        preview = app.screen.query_one("#preview", PagePreview)
        assert preview.path == thumbnails[0] and thumbnails[0].is_file()
        assert not thumbnails[1].exists()  # only the page shown
        await pilot.press("down")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert preview.path == thumbnails[1] and thumbnails[1].is_file()
        thumbnails[0].write_bytes(b"")  # a thumbnail whose write a crash lost: made again
        await pilot.press("up")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert preview.path == thumbnails[0] and thumbnails[0].stat().st_size > 0
        thumbnails[1].write_bytes(b"cut short")  # torn: said, not a traceback
        await pilot.press("down")
        await pilot.pause()
        assert "(no preview)" in str(preview.render_line(0).text)


async def test_jobs_screen_shows_reports(store: Store, tmp_path: Path) -> None:
    from esctui.jobs.imports.images import LocalImagesImporter
    from esctui.jobs.runner import run_job

    doc = store.create_document("Book")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    await run_job(store, LocalImagesImporter(store, doc.id, [broken]))
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j")
        assert isinstance(app.screen, JobsScreen)
        report = str(app.screen.query_one("#report").render())
        assert "broken.jpg" in report and "corrupt" in report
        await pilot.press("escape")
        assert isinstance(app.screen, DocumentsScreen)


async def test_help_lists_the_screen_keys(store: Store) -> None:
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "Rename" in text and "New" in text
        await pilot.press("escape")
        assert isinstance(app.screen, DocumentsScreen)


async def test_command_palette_offers_main_actions(store: Store) -> None:
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Jobs", "Models", "New document"} <= set(titles)
        await pilot.press("ctrl+p")
        await type_text(pilot, "New document")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "DocumentFormScreen"


async def test_home_and_end_go_to_the_first_and_last_row(store: Store) -> None:
    for name in ("Alpha", "Beta", "Gamma"):
        store.create_document(name)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DataTable)
        await pilot.press("end")
        assert table.cursor_row == 2
        await pilot.press("home")
        assert table.cursor_row == 0
