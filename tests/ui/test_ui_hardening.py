"""The TUI defects found by trying the app as a new user (keyboard only, 80x24): one test each,
driven by keys through Pilot and checked on the screen and in the store."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from textual.widgets import Checkbox, DataTable, DirectoryTree, Input, Select

from esctui.domain import Line, LineText
from esctui.domain.text import printable
from esctui.jobs.imports.images import LocalImagesImporter
from esctui.jobs.runner import JobContext, run_job
from esctui.store import PageLayout, Store
from esctui.ui.app import EsctuiApp
from esctui.ui.screens.dialogs import ChoiceScreen, ConfirmScreen, DocumentFormScreen
from esctui.ui.screens.documents import DocumentsScreen
from esctui.ui.screens.export import ExportScreen
from esctui.ui.screens.file_picker import FilePickerScreen
from esctui.ui.screens.images import ImagesScreen
from esctui.ui.screens.jobs import JobsScreen
from esctui.ui.screens.page import PageScreen
from esctui.ui.screens.progress import ProgressScreen
from esctui.ui.screens.versions import VersionsScreen
from esctui.ui.widgets.footer import KeyFooter
from tests.helpers import make_pages, notifications, type_text
from tests.ui.support import (
    SIZE,
    SteppedJob,
    burst,
    cell_texts,
    screen_text,
    shown,
    until,
)

EVIL = "evil\x1b]0;pwned\x07\nname"  # an OSC title change, a bell and a newline
EVIL_SHOWN = "evil\\x1b]0;pwned\\x07\\nname"


async def pages_in(store: Store, document_id: str, folder: Path, count: int) -> None:
    job = await run_job(store, LocalImagesImporter(store, document_id, make_pages(folder, count)))
    assert job.status == "done", job.error


def footer_keys(app: EsctuiApp) -> dict[str, str]:
    """Key -> description of every binding the current screen shows in its footer."""
    return {
        key: active.binding.description
        for key, active in app.screen.active_bindings.items()
        if active.binding.show and active.enabled
    }


def footer_text(app: EsctuiApp) -> str:
    """The footer rows, read from the screen (the bottom of the terminal, as many rows as the
    wrapped footer takes)."""
    rows = app.screen.query_one(KeyFooter).size.height
    return " ".join(screen_text(app)[-rows:])


# ------------------------------------------------------------------ 1. progress on every screen


async def test_the_jobs_screen_follows_a_running_job_and_the_app_stays(store: Store) -> None:
    doc = store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")  # the document's pages, as in the report
        job = SteppedJob(doc.id, total=4)
        app.start_job(job)
        await pilot.pause()
        job.step()
        await pilot.pause(0.2)
        await pilot.press("b", "escape", "j")
        assert isinstance(app.screen, JobsScreen)
        for _ in range(2):
            job.step()
            await pilot.pause(0.3)  # progress reports reach the Jobs screen
            assert app.return_code is None and isinstance(app.screen, JobsScreen)
        [record] = store.list_jobs()
        assert cell_texts(app, 3)[0].startswith("3/4")  # its row follows
        assert "running: 3/4" in shown(app, "#report")
        job.step()
        await until(pilot, lambda: store.list_jobs()[0].status != "running")
        await pilot.pause()
        assert isinstance(app.screen, JobsScreen)
    [record] = store.list_jobs()
    assert (record.status, record.error) == ("done", "")


async def test_a_job_is_told_once_even_when_its_running_state_comes_late(store: Store) -> None:
    """A busy app handles a quick job's RUNNING state change after the job has ended: that
    late message announced the job a second time."""
    from textual.worker import Worker, WorkerState

    doc = store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        job = SteppedJob(doc.id, total=1)
        app.start_job(job, show_progress=False)
        await until(pilot, job.started.is_set)
        [worker] = [w for w in app.workers if w.group == "jobs"]
        job.step()
        await until(pilot, lambda: worker.is_finished)
        await pilot.pause(0.2)
        app.post_message(Worker.StateChanged(worker, WorkerState.RUNNING))  # late, as when busy
        await pilot.pause(0.2)
        assert len([m for m in notifications(app) if "done —" in m]) == 1


async def test_a_job_started_after_the_jobs_screen_opened_shows_up(store: Store) -> None:
    doc = store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j")
        assert cell_texts(app, 0) == []  # no row yet for what comes
        job = SteppedJob(doc.id, total=2)
        app.start_job(job, show_progress=False)
        await until(pilot, job.started.is_set)
        job.step()
        await until(pilot, lambda: len(cell_texts(app, 0)) == 1)
        job.step()
        await until(pilot, lambda: cell_texts(app, 2) == ["done"])
        assert app.return_code is None


# ------------------------------------------------------------------ 2. the file picker's Space


async def test_space_selects_in_the_picker_and_the_footer_says_so(
    store: Store, tmp_path: Path
) -> None:
    pages = make_pages(tmp_path / "scans", 3)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        picked: list = []
        app.push_screen(FilePickerScreen("pick", start=tmp_path / "scans"), picked.append)
        await pilot.pause(0.5)  # the tree reads the folder in a worker
        await pilot.press("down", "space", "down", "down", "space")
        assert app.screen.selected == [pages[0], pages[2]]
        assert footer_keys(app)["space"] == "Select"
        assert "space Select" in footer_text(app)
        await pilot.press("ctrl+s")
        assert picked == [[pages[0], pages[2]]]

        one: list = []
        app.push_screen(
            FilePickerScreen("one", start=tmp_path / "scans", multiple=False), one.append
        )
        await pilot.pause(0.5)
        keys = footer_keys(app)
        assert keys["space"] == "Pick"
        assert {"a", "x", "ctrl+s"}.isdisjoint(keys)  # folder, clear, import: not here
        assert keys["g"] == "Type a path"
        await pilot.press("down", "down", "space")
        assert one == [[pages[1]]]


# ------------------------------------------------------------------ 3. delete while importing


async def test_deleting_a_document_stops_its_import_first_and_says_so(store: Store) -> None:
    doc = store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        job = SteppedJob(doc.id, total=5)
        app.start_job(job, show_progress=False)
        await until(pilot, job.started.is_set)
        job.step()
        await pilot.pause(0.2)
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        question = app.screen.question
        assert "Stepped job (5 items)" in question and "(1/5)" in question
        assert "stops it first" in question
        await pilot.press("y")
        await until(pilot, lambda: not store.list_documents())
        await pilot.pause()
        assert app.return_code is None
    [record] = store.list_jobs()
    assert record.status == "cancelled"
    assert record.error == "stopped: its document was deleted"


def test_the_store_refuses_to_delete_a_document_another_process_imports_into(
    store: Store,
) -> None:
    from esctui.domain import Job
    from esctui.domain.errors import ConflictError

    doc = store.create_document("Book")
    elsewhere = Job(kind="iiif", title="IIIF: x into Book", document_id=doc.id, pid=1)
    store.save_job(elsewhere)  # pid 1 (init) is alive and is not this process
    with pytest.raises(ConflictError, match="another esctui"):
        store.delete_document(doc.id)
    elsewhere.status = "done"
    store.save_job(elsewhere)
    store.delete_document(doc.id)


# ------------------------------------------------------------------ 4. override says what goes


async def test_override_says_what_it_removes_and_asks(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    from tests.ui.test_ui_xml import ALTO_IMAGE, ALTO_XML, open_xml_preview, real_page, settle

    doc = store.create_document("Register")
    part = real_page(store, doc.id, corpus, tmp_path / "img", ALTO_IMAGE)
    first = store.create_transcription(doc.id, "diplomatic", "manual")
    second = store.create_transcription(doc.id, "normalised", "manual")
    lines = [Line(part.id, [(10, 50 * i), (200, 50 * i)], order=i) for i in range(1, 4)]
    texts = [LineText(ln.id, first.id, f"line {ln.order}") for ln in lines]
    texts.append(LineText(lines[0].id, second.id, "Line one"))
    store.write_page_layout(doc.id, part.id, PageLayout([], lines, texts))
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_xml_preview(pilot, app, corpus / ALTO_XML)
        app.screen.query_one("#xml-name", Input).value = "alto"
        app.screen.query_one("#xml-override", Checkbox).value = True
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmScreen)
        question = app.screen.question
        assert "1 page removes 3 lines, and with them the text of 2 versions" in question
        assert "'diplomatic' (3 lines)" in question and "'normalised' (1 line)" in question
        await pilot.press("n")  # keep them
        await settle(pilot, app)
        assert store.list_jobs() == []
        assert len(store.read_page_layout(doc.id, part.id).texts_for(second.id)) == 1

        await pilot.press("ctrl+s")
        await settle(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
    assert [j.status for j in store.list_jobs()] == ["done"]
    assert store.read_page_layout(doc.id, part.id).texts_for(second.id) == {}


# ------------------------------------------------------------------ 5. quitting while a job runs


async def test_quitting_with_a_running_job_asks_and_names_it(store: Store) -> None:
    doc = store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        job = SteppedJob(doc.id, total=3)
        app.start_job(job, show_progress=False)
        await until(pilot, job.started.is_set)
        for keys in (("ctrl+q",), ("q",)):
            await pilot.press(*keys)
            assert isinstance(app.screen, ConfirmScreen)
            assert "Stepped job (3 items)" in app.screen.question
            await pilot.press("n")
            assert app.return_code is None and isinstance(app.screen, DocumentsScreen)
        assert store.list_jobs()[0].status == "running"
        await pilot.press("ctrl+q", "y")
        await until(pilot, lambda: app.return_code is not None)
    [record] = store.list_jobs()
    assert record.status == "cancelled"
    assert record.error == "stopped: you quit esctui while it ran"


async def test_quitting_with_nothing_running_does_not_ask(store: Store) -> None:
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app.return_code is not None)


# ------------------------------------------------------------------ 6. typed ahead


async def test_keys_typed_ahead_land_where_the_focus_is(store: Store) -> None:
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        # all at once: the dialog opens, the name, Tab, the script, save
        await burst(app, "<n>", "Hebrew test", "<tab>", "Hebrew", "<ctrl+s>")
        await until(pilot, lambda: bool(store.list_documents()))
        await pilot.pause()
        [doc] = store.list_documents()
        assert (doc.name, doc.main_script) == ("Hebrew test", "Hebrew")
        assert isinstance(app.screen, DocumentsScreen)

        # four fields: five Tabs go round once and on to the second, none is lost; the
        # letters typed last show when every key before them has been handled
        await burst(app, "<e>", "<tab>", "<tab>", "<tab>", "<tab>", "<tab>", "<end>", " Latin")
        await until(pilot, lambda: isinstance(app.screen, DocumentFormScreen))
        form = app.screen
        await until(pilot, lambda: form.query_one("#script", Input).value.endswith("Latin"))
        assert form.query_one("#script", Input).value == "Hebrew Latin"
        assert form.query_one("#name", Input).value == "Hebrew test"
        assert form.focused is form.query_one("#script", Input)


async def test_a_paste_right_after_tab_lands_in_the_next_field(store: Store) -> None:
    from textual import events

    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await burst(app, "<n>", "Register", "<tab>")
        app.post_message(events.Paste("Latin, Hebrew"))  # the terminal's bracketed paste
        await until(pilot, lambda: isinstance(app.screen, DocumentFormScreen))
        form = app.screen
        await until(pilot, lambda: form.query_one("#script", Input).value == "Latin, Hebrew")
        assert form.query_one("#name", Input).value == "Register"


# ------------------------------------------------------------------ 8. footer and help


async def test_every_key_of_the_page_list_is_in_its_footer_at_80_columns(
    store: Store, tmp_path: Path
) -> None:
    doc = store.create_document("Book")
    await pages_in(store, doc.id, tmp_path / "s", 2)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        keys = footer_keys(app)
        assert keys["enter"] == "Open" and keys["q"] == "Quit"
        for words in ("Open", "Quit", "Import"):
            assert words in footer_text(app)
        await pilot.press("enter")
        keys = footer_keys(app)
        for key in ("enter", "K", "J", "M", "S", "T", "D", "j", "space", "i", "t", "E"):
            assert key in keys, key
        text = footer_text(app)
        for words in (
            "Open page",
            "K/J Move",
            "Line masks",
            "Segment",
            "Transcribe",
            "Description",
            "Jobs",
            "Help",
        ):
            assert words in text, words
        await pilot.press("enter")
        assert isinstance(app.screen, PageScreen)
        assert footer_keys(app)["V"] == "Pick version"
        await pilot.press("question_mark")
        help_text = "\n".join(screen_text(app))
        assert "[/b]" not in help_text
        assert "[" in help_text and "Prev page" in help_text and "Next page" in help_text


async def test_i_on_the_documents_list_imports_into_the_selected_document(
    store: Store,
) -> None:
    store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        assert "Import into" in app.screen.title_text
        await pilot.press("escape")
        assert isinstance(app.screen, ImagesScreen)


async def test_the_progress_window_of_an_export_does_not_say_import(
    store: Store, tmp_path: Path
) -> None:
    doc = store.create_document("Book")
    await pages_in(store, doc.id, tmp_path / "s", 1)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        job = SteppedJob(doc.id, total=2)
        job.kind = "export"
        app.start_job(job)
        await until(pilot, job.started.is_set)
        assert isinstance(app.screen, ProgressScreen)
        said = [str(w.render()) for w in app.screen.query("Label, Static")]
        words = " ".join(footer_keys(app).values()) + " " + " ".join(said)
        assert "import" not in words.lower()
        assert "cancels the export" in words
        assert "c Cancel" in screen_text(app)[-1]
        job.step(2)
        await until(pilot, lambda: store.list_jobs()[0].status == "done")


# ------------------------------------------------------------------ 9. 80x24 and 120x40


async def test_the_page_list_shows_every_column_at_80_columns(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("Book")
    folder = tmp_path / "s"
    folder.mkdir()
    long_name = folder / "Archivo_Historico_Provincial_registro_0001.png"
    make_pages(folder, 1)[0].rename(long_name)
    job = await run_job(store, LocalImagesImporter(store, doc.id, [long_name]))
    assert job.status == "done"
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        table = app.screen.query_one(DataTable)
        assert table.virtual_size.width <= table.size.width  # nothing off to the right
        assert "Lines" in screen_text(app)[2]


async def test_export_and_xml_fields_have_borders_that_show_the_focus(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    from tests.ui.test_ui_xml import ALTO_IMAGE, ALTO_XML, open_xml_preview, real_page

    doc = store.create_document("Register")
    real_page(store, doc.id, corpus, tmp_path / "img", ALTO_IMAGE)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "E")
        assert isinstance(app.screen, ExportScreen)
        for field in app.screen.query(Select):
            shown_part = field.query_one("SelectCurrent")
            assert shown_part.styles.border_top[0] not in ("", "none", "hidden"), field.id
        path = app.screen.query_one("#export-path", Input)
        assert path.styles.border_top[0] not in ("", "none", "hidden")
        assert "Write to" in "\n".join(screen_text(app))  # the whole dialog fits 24 rows
        assert "Enter exports." in " ".join(screen_text(app))  # the hint, last, is not cut
        await pilot.press("escape")
        await open_xml_preview(pilot, app, corpus / ALTO_XML)
        name = app.screen.query_one("#xml-name", Input)
        assert app.screen.focused is name
        assert name.styles.border_top[0] not in ("", "none", "hidden")
        override = app.screen.query_one("#xml-override", Checkbox)
        assert override.styles.border_top[0] not in ("", "none", "hidden")


class FailingJob(SteppedJob):
    """Fails at once with a long error, as a server's answer quoted in full."""

    async def run(self, ctx: JobContext) -> None:
        from esctui.domain.errors import EsctuiError

        ctx.start(1)
        words = " ".join(f"word{i}" for i in range(120))
        raise EsctuiError(f"the server answered 500 with a long explanation: {words} ENDMARK")


async def test_a_long_error_in_the_progress_window_can_be_read_to_its_end(
    store: Store,
) -> None:
    doc = store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        app.start_job(FailingJob(doc.id))
        await pilot.pause()
        await until(pilot, lambda: "failed" in shown(app, "#status"))
        assert "ENDMARK" in shown(app, "#status")  # said whole…
        await pilot.press("end")  # … and the window scrolls to its end
        await pilot.pause(0.3)
        assert "ENDMARK" in " ".join(screen_text(app))


async def test_enter_alone_on_a_question_never_deletes(store: Store) -> None:
    store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # the focus is on No
        await pilot.pause()
        assert isinstance(app.screen, DocumentsScreen)
        assert [d.name for d in store.list_documents()] == ["Book"]


async def test_the_layout_drawing_grows_with_the_terminal(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("Book")
    await pages_in(store, doc.id, tmp_path / "s", 1)
    [part] = store.list_parts(doc.id)
    line = Line(part.id, [(5, 40), (55, 40)])
    store.write_page_layout(doc.id, part.id, PageLayout([], [line], []))
    app = EsctuiApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter", "enter")
        assert isinstance(app.screen, PageScreen)
        assert app.screen.query_one("#layout").size.width >= 38
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "enter")
        assert app.screen.query_one("#layout").size.width >= 26  # 80 columns: as before


async def test_version_counts_are_never_cut(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("Register")
    await pages_in(store, doc.id, tmp_path / "s", 1)
    [part] = store.list_parts(doc.id)
    version = store.create_transcription(doc.id, "a rather long version name", "manual")
    lines = [Line(part.id, [(0, i), (10, i)], order=i) for i in range(20)]
    texts = [LineText(ln.id, version.id, "x" * 620) for ln in lines]  # 12,400 characters
    store.write_page_layout(doc.id, part.id, PageLayout([], lines, texts))
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "t")
        assert isinstance(app.screen, VersionsScreen)
        await until(pilot, lambda: "12,400" in " ".join(cell_texts(app, 5)))
        await pilot.pause()
        row = next(r for r in screen_text(app) if "a rather" in r)
        assert row.rstrip().endswith("12,400")
        assert " 20 " in row and " 1 " in row


# ------------------------------------------------------------------ 10. feedback


async def test_the_picker_lists_names_in_natural_order_and_says_what_a_glob_added(
    store: Store, tmp_path: Path
) -> None:
    pages = make_pages(tmp_path / "scans", 11)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(FilePickerScreen("pick", start=tmp_path / "scans"), lambda _: None)
        await pilot.pause(0.5)
        tree = app.screen.query_one(DirectoryTree)
        names = [str(node.label) for node in tree.root.children]
        assert names[:3] == ["page1.png", "page2.png", "page3.png"]
        assert names[-2:] == ["page10.png", "page11.png"]
        await pilot.press("down", "space", "g")
        app.screen.query_one("#path", Input).value = str(tmp_path / "scans" / "page1.png")
        await pilot.press("enter")
        assert notifications(app)[-1] == "Nothing added: that file was chosen already."
        app.screen.query_one("#path", Input).value = str(tmp_path / "scans" / "page1*")
        await pilot.press("enter")
        assert notifications(app)[-1] == "Added 2 files; 1 was chosen already."
        assert app.screen.selected == [pages[0], pages[9], pages[10]]


async def test_a_picker_on_a_folder_without_such_files_says_so(
    store: Store, tmp_path: Path
) -> None:
    make_pages(tmp_path / "scans", 2)  # PNGs only
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(
            FilePickerScreen("pdf", suffixes={".pdf"}, multiple=False, start=tmp_path / "scans"),
            lambda _: None,
        )
        await pilot.pause(0.3)
        await until(pilot, lambda: app.screen.query_one("#nothing-here").display)
        assert "No pdf files or folders in scans" in shown(app, "#nothing-here")
        await pilot.press("u")  # up: the folder holding "scans"
        await until(pilot, lambda: not app.screen.query_one("#nothing-here").display)


async def test_the_first_eta_is_not_taken_from_the_slow_start(store: Store) -> None:
    """A job whose first item comes late (a manifest read, connections opened) and the rest
    fast: the window waits for a measured rate instead of saying minutes."""
    doc = store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        job = SteppedJob(doc.id, total=40)
        app.start_job(job)
        await until(pilot, job.started.is_set)
        await pilot.pause(1.5)  # the slow start
        job.step()
        await pilot.pause(0.2)
        first = shown(app, "#status")
        assert first.startswith("1/40") and "min" not in first and "ETA" not in first
        for _ in range(15):  # then an item every 0.1 s: about 2.5 s left at item 16
            job.step()
            await pilot.pause(0.1)
        status = shown(app, "#status")
        assert "left" in status and "min" not in status, status
        job.step(24)
        await until(pilot, lambda: store.list_jobs()[0].status == "done")


@pytest.mark.slow
async def test_line_masks_count_pages(store: Store, tmp_path: Path) -> None:
    """The masks job runs on kraken's worker processes and counts pages (its current item names
    the line in work); each line gets a mask or is reported."""
    doc = store.create_document("Book")
    await pages_in(store, doc.id, tmp_path / "s", 2)
    for part in store.list_parts(doc.id):
        lines = [Line(part.id, [(5, 10 + 5 * i), (50, 10 + 5 * i)], order=i) for i in range(12)]
        store.write_page_layout(doc.id, part.id, PageLayout([], lines, []))
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "M", "enter")
        await until(
            pilot,
            lambda: any(j.kind == "masks" and j.finished for j in store.list_jobs()),
            timeout=300,
        )
        await pilot.pause()
    [record] = [j for j in store.list_jobs() if j.kind == "masks"]
    assert (record.status, record.total, record.done) == ("done", 2, 2), record.error
    masks = sum(
        ln.mask is not None
        for p in store.list_parts(doc.id)
        for ln in store.read_page_layout(doc.id, p.id).lines
    )
    assert masks == record.report.counts["masks"] and masks + len(record.report.skipped) == 24


async def test_plain_english_in_the_menus_and_questions(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("Single")
    await pages_in(store, doc.id, tmp_path / "s", 1)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        assert "with its 1 page," in app.screen.question
        await pilot.press("n", "enter", "i")
        menu = " ".join(screen_text(app))
        assert "an IIIF manifest" in menu and "a IIIF" not in menu
        await pilot.press("down", "down", "enter")
        assert "a IIIF" not in " ".join(screen_text(app))


# ------------------------------------------------------------------ 11. views that follow


class GrowingImport(SteppedJob):
    """Imports one page (a real local image import) each time the test steps it."""

    def __init__(self, store: Store, document_id: str, pages: list[Path]) -> None:
        super().__init__(document_id, total=len(pages))
        self.store = store
        self.pages = pages

    async def run(self, ctx: JobContext) -> None:
        ctx.start(self.total)
        self.started.set()
        for page in self.pages:
            await self.steps.get()
            job = await run_job(
                self.store, LocalImagesImporter(self.store, self.document_id, [page])
            )
            assert job.status == "done", job.error
            ctx.advance(page.name)


async def test_the_page_list_grows_while_an_import_adds_pages(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("Book")
    job = GrowingImport(store, doc.id, make_pages(tmp_path / "s", 3))
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        app.start_job(job, show_progress=False)
        await until(pilot, job.started.is_set)
        for count in (1, 2):
            job.step()
            await until(pilot, lambda n=count: len(cell_texts(app, 2)) == n)
            assert any(j.status == "running" and j.kind == "images" for j in store.list_jobs())
        await pilot.press("end")  # the cursor on the last page stays there as pages come
        job.step()
        await until(pilot, lambda: cell_texts(app, 2) == ["page1", "page2", "page3"])
        assert app.screen.query_one(DataTable).cursor_row == 1


async def test_the_cursor_stays_in_place_after_a_delete(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("Book")
    await pages_in(store, doc.id, tmp_path / "s", 4)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "down", "down", "x", "y")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert cell_texts(app, 2) == ["page1", "page2", "page4"]
        assert table.cursor_row == 2  # on page4, which came after the deleted page3
        await pilot.press("x", "y")
        await pilot.pause()
        assert table.cursor_row == 1  # the last page went: on the new last one


# ------------------------------------------------------------------ 12. exported file modes


async def test_files_unzipped_from_an_export_get_the_usual_mode(
    store: Store, tmp_path: Path
) -> None:
    doc = store.create_document("Book")
    await pages_in(store, doc.id, tmp_path / "s", 2)
    out = tmp_path / "out.zip"
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "E")
        app.screen.query_one("#export-path", Input).value = str(out)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: out.exists())
        await pilot.pause()
    umask = os.umask(0)
    os.umask(umask)
    with zipfile.ZipFile(out) as archive:
        modes = {(info.external_attr >> 16) & 0o777 for info in archive.infolist()}
    assert modes == {0o666 & ~umask}


# ------------------------------------------------------------------ names reach the screen safely


def test_printable_shows_control_characters_escaped() -> None:
    assert printable(EVIL) == EVIL_SHOWN
    assert printable("tab\there\r") == "tab\\there\\r"
    assert printable("RTL \u202eoverride") == "RTL \\u202eoverride"
    assert printable("Ärger über Öl · 𝔊") == "Ärger über Öl · 𝔊"  # ordinary text untouched


async def test_names_with_terminal_sequences_are_shown_escaped(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "scans"
    [source] = make_pages(folder, 1)
    evil_file = source.rename(folder / f"{EVIL}.png")
    doc = store.create_document(EVIL)
    job = await run_job(store, LocalImagesImporter(store, doc.id, [evil_file]))
    assert job.status == "done", job.error
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        seen = []
        assert cell_texts(app, 0) == [EVIL_SHOWN]
        seen.append(app.export_screenshot())
        await pilot.press("enter")
        assert cell_texts(app, 2)[0].startswith("evil\\x1b")
        assert EVIL_SHOWN in shown(app, "#info")
        seen.append(app.export_screenshot())
        await pilot.press("x")  # the question names it
        seen.append(app.export_screenshot())
        await pilot.press("n", "escape", "j")
        seen.append(app.export_screenshot())
        app.push_screen(FilePickerScreen("pick", start=folder), lambda _: None)
        await pilot.pause(0.5)
        tree = app.screen.query_one(DirectoryTree)
        assert [str(n.label) for n in tree.root.children] == [f"{EVIL_SHOWN}.png"]
        seen.append(app.export_screenshot())
        await pilot.press("escape", "escape", "n")  # the picker, the Jobs screen; New
        await type_text(pilot, "Other")
        app.screen.query_one("#name", Input).value = EVIL  # pasted
        await pilot.press("enter")
        await pilot.pause()
        seen.append(app.export_screenshot())
    for svg in seen:
        assert "\x1b" not in svg and "\x07" not in svg
        assert "pwned" in svg
