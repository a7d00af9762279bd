"""Import > Images (IIIF) in the TUI, against the real IIIF test server on 127.0.0.1."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image
from textual.pilot import Pilot

from esctui.domain import JobStatus
from esctui.store import Store
from esctui.ui.app import EsctuiApp
from esctui.ui.screens.dialogs import ChoiceScreen, ConfirmScreen
from esctui.ui.screens.images import ImagesScreen
from esctui.ui.screens.import_iiif import IiifImportScreen
from esctui.ui.screens.progress import ProgressScreen
from tests.helpers import notifications
from tests.servers.iiif import (
    BOOK_LABELS,
    RTL_LABEL,
    Fault,
    IiifTestServer,
    add_collection,
    give_distinct_images,
    image_path,
    served,
)
from tests.ui.support import jobs_finished

SIZE = (80, 24)


class HeldUntil(Fault):
    """A fault that holds the server's answer until ``gate`` is set (then answers at once)."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate

    @property  # the server reads the delay when the request comes: it waits here
    def delay(self) -> float:
        self.gate.wait(timeout=120)
        return 0.0

    @delay.setter
    def delay(self, value: float) -> None:
        pass  # the dataclass sets it; the gate decides


@pytest.fixture
def server():
    with IiifTestServer() as running:
        yield running


async def open_iiif_dialog(app: EsctuiApp, pilot: Pilot[object]) -> None:
    await pilot.press("enter")  # open the document
    assert isinstance(app.screen, ImagesScreen)
    await pilot.press("i")
    assert isinstance(app.screen, ChoiceScreen)
    await pilot.press("down", "down", "enter")  # images, pdf, iiif
    assert isinstance(app.screen, IiifImportScreen)


async def test_manifest_url_imports_every_canvas_with_progress(
    server: IiifTestServer, store: Store, tmp_path: Path
) -> None:
    give_distinct_images(server, "v3_book-1", tmp_path)
    doc = store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_iiif_dialog(app, pilot)
        app.screen.query_one("#url").value = server.manifest_url("v3_book-1")
        await pilot.press("enter")
        await jobs_finished(app)
        await pilot.pause()
        assert isinstance(app.screen, ProgressScreen)
        await jobs_finished(app)
        await pilot.pause()
        [job] = store.list_jobs()
        assert job.status == JobStatus.DONE.value, job.error
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ImagesScreen)
    assert [p.name for p in store.list_parts(doc.id)] == BOOK_LABELS
    assert "Simple Manifest - Book" in store.get_document(doc.id).description


async def test_a_bad_address_is_said_in_plain_words_and_nothing_runs(
    server: IiifTestServer, store: Store
) -> None:
    store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_iiif_dialog(app, pilot)
        app.screen.query_one("#url").value = "ftp://example.org/manifest.json"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, IiifImportScreen)  # still there, to correct the address
        assert any("ftp:" in m for m in notifications(app))
        app.screen.query_one("#url").value = f"{server.base_url}/missing.json"
        await pilot.press("enter")
        await jobs_finished(app)
        await pilot.pause()
        assert isinstance(app.screen, IiifImportScreen)
        assert any("404" in m for m in notifications(app))
    assert store.list_jobs() == []


async def test_a_collection_becomes_one_document_per_manifest(
    server: IiifTestServer, store: Store, tmp_path: Path
) -> None:
    give_distinct_images(server, "v3_book-1", tmp_path)
    give_distinct_images(server, "v3_rtl", tmp_path)
    url = add_collection(server)
    store.create_document("Start here")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_iiif_dialog(app, pilot)
        app.screen.query_one("#url").value = url
        await pilot.press("enter")
        await jobs_finished(app)
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "2 manifests" in str(app.screen.question)
        await pilot.press("y")
        await pilot.pause()
        await jobs_finished(app)
        await pilot.pause()
    names = {d.name for d in store.list_documents()}
    assert names == {"Start here", "Simple Manifest - Book", RTL_LABEL}
    book = store.get_document("Simple Manifest - Book")
    assert [p.name for p in store.list_parts(book.id)] == BOOK_LABELS
    jobs = {j.kind: j for j in store.list_jobs()}
    assert jobs["sequence"].status == JobStatus.DONE.value
    assert len(jobs["sequence"].report.imported) == 2


async def test_cancel_from_the_progress_window_keeps_whole_pages_and_a_rerun_resumes(
    server: IiifTestServer, store: Store, tmp_path: Path
) -> None:
    """Slow last pages make the timing certain: the cancel lands while they are coming."""
    give_distinct_images(server, "v3_book-1", tmp_path)
    for canvas in served(server, "v3_book-1").canvases[2:]:
        server.inject(image_path(canvas), Fault(delay=5.0))  # once: the rerun is fast
    doc = store.create_document("Book")
    url = server.manifest_url("v3_book-1")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_iiif_dialog(app, pilot)
        app.screen.query_one("#url").value = url
        await pilot.press("enter")
        for _ in range(600):  # until the two fast pages are in
            if any(p.done >= 2 for p in app.progress.values()):
                break
            await pilot.pause(0.02)
        assert isinstance(app.screen, ProgressScreen)
        await pilot.press("c")
        await jobs_finished(app)
        await pilot.pause()
        [job] = store.list_jobs()
        assert job.status == JobStatus.CANCELLED.value
        kept = store.list_parts(doc.id)
        assert len(kept) == 2
        assert [p.name for p in kept] == BOOK_LABELS[: len(kept)]
        for part in kept:  # whole images, readable
            with Image.open(store.part_image_path(part)) as image:
                image.verify()

        await pilot.press("escape")  # close the progress window
        await pilot.pause()
        await pilot.press("i")
        await pilot.press("down", "down", "enter")
        app.screen.query_one("#url").value = url
        await pilot.press("enter")
        await jobs_finished(app)
        await pilot.pause()
        await jobs_finished(app)
    assert [p.name for p in store.list_parts(doc.id)] == BOOK_LABELS  # the rest, once each


async def test_escape_in_the_dialog_leaves_running_imports_alone(store: Store) -> None:
    import asyncio

    store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        background = app.run_worker(asyncio.sleep(30), group="jobs")  # an import, sent away
        await open_iiif_dialog(app, pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ImagesScreen)
        assert not background.is_cancelled
        background.cancel()


async def test_the_dialog_reads_the_manifest_once(
    server: IiifTestServer, store: Store, tmp_path: Path
) -> None:
    give_distinct_images(server, "v3_book-1", tmp_path)
    store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_iiif_dialog(app, pilot)
        app.screen.query_one("#url").value = server.manifest_url("v3_book-1")
        await pilot.press("enter")
        await jobs_finished(app)
        await pilot.pause()
        await jobs_finished(app)
    assert server.count("/manifests/v3_book-1.json") == 1


async def test_every_screen_and_dialog_while_an_import_runs(
    server: IiifTestServer, store: Store, tmp_path: Path
) -> None:
    """The import keeps reporting progress while the user goes everywhere; nothing breaks, and
    the job ends done with every page. The last pages are slow, so the tour happens while it
    runs (checked at the end of the tour)."""
    import time

    from esctui.domain import Line, LineText
    from esctui.jobs.imports.images import LocalImagesImporter
    from esctui.jobs.runner import run_job
    from esctui.store import PageLayout
    from esctui.ui.screens.documents import DocumentsScreen
    from esctui.ui.screens.jobs import JobsScreen
    from tests.helpers import make_pages
    from tests.ui.support import until

    give_distinct_images(server, "v3_book-1", tmp_path)
    gates = [threading.Event() for _ in range(3)]  # the last three pages, let go one by one
    for gate, canvas in zip(gates, served(server, "v3_book-1").canvases[2:], strict=True):
        server.inject(image_path(canvas), HeldUntil(gate), times=None)
    other = store.create_document("Other")  # a page with lines and two versions to look at
    await run_job(store, LocalImagesImporter(store, other.id, make_pages(tmp_path / "o", 1)))
    [page] = store.list_parts(other.id)
    line = Line(page.id, [(5, 40), (55, 40)])
    texts = [
        LineText(line.id, store.create_transcription(other.id, name, "manual").id, text)
        for name, text in (("a", "Anno"), ("b", "Año"))
    ]
    store.write_page_layout(other.id, page.id, PageLayout([], [line], texts))
    doc = store.create_document("Book")  # the newest: first in the list
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_iiif_dialog(app, pilot)
        app.screen.query_one("#url").value = server.manifest_url("v3_book-1")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ProgressScreen))
        started = time.monotonic()
        seen: list[str] = []

        async def visit(*keys: str, back: tuple[str, ...] = ("escape",)) -> None:
            await pilot.press(*keys)
            await pilot.pause(0.1)
            seen.append(type(app.screen).__name__)
            await pilot.press(*back)
            await pilot.pause(0.1)
            assert app.return_code is None, f"the app ended at {keys} ({seen[-1]})"

        await pilot.press("b")  # the Images screen of the document being imported into
        assert isinstance(app.screen, ImagesScreen)
        for keys in (("i",), ("D",), ("question_mark",), ("ctrl+p",)):
            await visit(*keys)
        await visit("i", "enter")  # the file picker for images
        await visit("i", "down", "enter")  # the picker for a PDF
        await visit("i", "down", "down", "enter")  # the IIIF dialog
        await visit("i", "down", "down", "down", "enter")  # the picker for XML
        await visit("t")

        async def page_comes_in(gate: threading.Event, done: int) -> None:
            """Let one held page go and wait for its progress report, on this screen."""
            gate.set()
            # the last report can come and go between two looks: the job then has ended
            await until(
                pilot,
                lambda: (
                    max((p.done for p in app.progress.values()), default=0) >= done
                    or not app.running_jobs()
                ),
            )
            await pilot.pause(0.3)
            assert app.return_code is None, f"the app ended on {type(app.screen).__name__}"

        await pilot.press("j")
        assert isinstance(app.screen, JobsScreen)
        await page_comes_in(gates[0], 3)  # progress reaches the Jobs screen
        seen.append(type(app.screen).__name__)
        await pilot.press("escape", "escape")  # the documents
        assert isinstance(app.screen, DocumentsScreen)
        for keys in (("n",), ("e",), ("D",), ("r",), ("question_mark",), ("ctrl+p",)):
            await visit(*keys)
        await pilot.press("n")
        await page_comes_in(gates[1], 4)  # progress under a dialog
        await pilot.press("escape")
        await visit("x", back=("n",))
        await visit("m", back=("u", "escape", "escape"))  # Models, its upload picker
        await visit("j", back=("enter", "escape"))
        await pilot.press("down", "enter")  # the other document
        assert isinstance(app.screen, ImagesScreen)
        for keys in (("E",), ("M",)):
            await visit(*keys)
        await visit("x", back=("n",))
        await visit(
            "enter", back=("V", "escape", "v", "p", "p", "question_mark", "escape", "escape")
        )
        await visit("t", back=("c", "escape", "r", "escape", "escape"))  # Versions, Compare
        await pilot.press("escape", "j")
        assert isinstance(app.screen, JobsScreen)
        toured = time.monotonic() - started
        [job] = [j for j in store.list_jobs() if j.kind == "iiif"]
        assert job.status == "running", f"the import ended during the {toured:.0f} s tour"
        await page_comes_in(gates[2], 5)  # the last page
        await until(pilot, lambda: store.list_jobs()[0].status != "running", timeout=90)
        await pilot.pause()
        assert isinstance(app.screen, JobsScreen) and app.return_code is None
        assert "done" in [str(c) for c in app.screen.query_one("DataTable").get_row_at(0)]
    [job] = [j for j in store.list_jobs() if j.kind == "iiif"]
    assert job.status == JobStatus.DONE.value, job.error
    assert [p.name for p in store.list_parts(doc.id)] == BOOK_LABELS
    expected = {"ChoiceScreen", "DescriptionScreen", "HelpScreen", "CommandPalette"}
    expected |= {"FilePickerScreen", "IiifImportScreen", "VersionsScreen", "JobsScreen"}
    expected |= {"DocumentFormScreen", "TextPromptScreen", "ConfirmScreen", "ModelsScreen"}
    expected |= {"ExportScreen", "MasksScreen", "PageScreen"}
    assert expected <= set(seen), expected - set(seen)


async def test_the_fields_are_locked_while_the_manifest_is_read(
    server: IiifTestServer, store: Store
) -> None:
    """Keys typed while the manifest is on its way land nowhere: the address stays as sent,
    and Escape still closes the dialog. A failed read opens the fields again."""
    from tests.ui.support import until

    gate = threading.Event()
    server.inject("/manifests/v3_book-1.json", HeldUntil(gate), times=1)
    store.create_document("Book")
    app = EsctuiApp(store)
    url = server.manifest_url("v3_book-1")
    async with app.run_test(size=SIZE) as pilot:
        await open_iiif_dialog(app, pilot)
        app.screen.query_one("#url").value = url
        await pilot.press("enter")
        await pilot.pause()
        assert "Reading the manifest" in str(app.screen.query_one("#iiif-status").render())
        assert app.screen.query_one("#url").disabled
        await pilot.press("b", "x", "backspace")
        assert app.screen.query_one("#url").value == url
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, IiifImportScreen))
        gate.set()
        # A read that fails: the fields open again, the address focused for a correction.
        await open_iiif_dialog_again(app, pilot)
        app.screen.query_one("#url").value = f"{server.base_url}/missing.json"
        await pilot.press("enter")
        await until(pilot, lambda: not app.screen.query_one("#url").disabled)
        assert app.screen.focused is app.screen.query_one("#url")
    assert store.list_jobs() == []


async def open_iiif_dialog_again(app: EsctuiApp, pilot: Pilot[object]) -> None:
    """From the Images screen the dialog was opened on (Escape came back there)."""
    assert isinstance(app.screen, ImagesScreen)
    await pilot.press("i")
    await pilot.press("down", "down", "enter")
    assert isinstance(app.screen, IiifImportScreen)
