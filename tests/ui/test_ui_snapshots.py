"""Every screen and dialog of the TUI at 80x24 (and the page view at 120x40), compared with the
SVG snapshots in tests/__snapshots__/test_ui_snapshots/: a layout change fails here.

Deterministic: the data folder is made here once (fixed clock and time zone while it is made,
fixed images), copied for each test; the header shows a fixed subtitle instead of the data
folder's path; the working folder (where the file picker starts) is a fixed folder of this
data; blinking cursors are stopped before the picture is taken. After a deliberate change of
the layout: ``pytest tests/test_ui_snapshots.py --snapshot-update``, then look at the pictures.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from esctui.domain import Job, JobReport, JobStatus
from esctui.jobs.imports.images import LocalImagesImporter
from esctui.jobs.imports.xml import XmlImporter
from esctui.jobs.runner import run_job
from esctui.store import Store
from esctui.ui.app import EsctuiApp
from tests.helpers import CORPUS, make_pages
from tests.ui.support import SteppedJob

SnapCompare = Callable[..., bool]  # pytest-textual-snapshot's fixture
FIXED_TIME = 1_767_225_600.0  # 2026-01-01 00:00 UTC: every date on screen
SUBTITLE = "~/esctui-data"
ALTO = CORPUS / "alto" / "0014.xml"

pytestmark = pytest.mark.skipif(not ALTO.exists(), reason="the shared corpus is missing")


def _build(root: Path) -> None:
    """Two documents (one with pages, layouts, two versions), jobs of every outcome, a model,
    and a folder of scans for the file picker."""
    import asyncio

    from tests.helpers import add_page
    from tests.ui.test_ui_screens import build_layout, store_model

    store = Store(root / "data", user="snap")
    doc = store.create_document("Register 1642", main_script="Latin")
    add_page(store, doc.id, root / "img", "0014.jpg", source=CORPUS / "images" / "0014.jpg")
    scans = make_pages(root / "scans", 3, (300, 400))
    job = asyncio.run(run_job(store, LocalImagesImporter(store, doc.id, scans[:2])))
    assert job.status == "done", job.error
    part = next(p for p in store.list_parts(doc.id) if p.name == "page1")
    build_layout(store, doc.id, part.id)
    job = asyncio.run(run_job(store, XmlImporter(store, doc.id, ALTO, name="diplomatic")))
    assert job.status == "done", job.error
    store.create_document("Parish book 1701", read_direction="rtl")
    failed = Job(
        kind="iiif",
        title="IIIF: https://example.org/iiif/book/manifest.json into Parish book 1701",
        status=JobStatus.FAILED.value,
        error="the server answered 404 Not Found for https://example.org/iiif/book/manifest.json",
        report=JobReport(),
        started=FIXED_TIME + 60,
        finished=FIXED_TIME + 61.5,
    )
    store.save_job(failed)
    store_model(store, "Latin cursive")
    (root / "scans" / "notes.txt").write_text("not an image")
    shutil.copyfile(CORPUS / "pdf" / "three_scans.pdf", root / "scans" / "three_scans.pdf")
    (root / "scans" / "page10.png").write_bytes((root / "scans" / "page2.png").read_bytes())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data made once, with a fixed clock and in UTC."""
    root = tmp_path_factory.mktemp("snapshot-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "time", lambda: FIXED_TIME)
        _build(root)
    return root


@pytest.fixture
def data(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the data for one test; the working folder is its scans; dates in UTC."""
    root = tmp_path / "copy"
    shutil.copytree(built, root)
    monkeypatch.chdir(root / "scans")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    return root


@pytest.fixture(autouse=True)
def _restore_time_zone():
    yield
    time.tzset()  # monkeypatch has put TZ back by now


def app_on(root: Path) -> EsctuiApp:
    app = EsctuiApp(Store(root / "data", user="snap"))
    app.sub_title = SUBTITLE
    return app


async def settle(pilot: Pilot) -> None:
    """Workers done (a file read, counts), cursors steady."""
    for _ in range(400):
        if all(w.is_finished or w.group == "jobs" for w in pilot.app.workers):
            break
        await pilot.pause(0.05)
    await pilot.pause()
    for field in pilot.app.screen.query("Input, TextArea"):
        field.cursor_blink = False  # type: ignore[attr-defined]
    await pilot.pause()


def keys(*pressed: str) -> Callable[[Pilot], Awaitable[None]]:
    """Press keys, then let the app settle (workers, a new screen)."""

    async def run(pilot: Pilot) -> None:
        await pilot.press(*pressed)  # typed ahead: each key waits for the one before
        await settle(pilot)

    return run


def then(*steps: Callable[[Pilot], Awaitable[None]]) -> Callable[[Pilot], Awaitable[None]]:
    async def run(pilot: Pilot) -> None:
        for step in steps:
            await step(pilot)
        await settle(pilot)

    return run


async def running_job(pilot: Pilot) -> None:
    app = pilot.app
    doc = app.store.get_document("Register 1642")  # type: ignore[attr-defined]
    job = SteppedJob(doc.id, total=5)
    app.start_job(job)  # type: ignore[attr-defined]
    await job.started.wait()
    job.step(2)
    for _ in range(100):
        if app.progress and next(iter(app.progress.values())).done == 2:  # type: ignore[attr-defined]
            break
        await pilot.pause(0.02)


async def finished_job(pilot: Pilot) -> None:
    app = pilot.app
    doc = app.store.get_document("Register 1642")  # type: ignore[attr-defined]
    job = SteppedJob(doc.id, total=3)
    app.start_job(job)  # type: ignore[attr-defined]
    await job.started.wait()
    job.step(3)
    for _ in range(200):
        if not app.running_jobs():  # type: ignore[attr-defined]
            break
        await pilot.pause(0.02)


async def xml_dialog(pilot: Pilot) -> None:
    from esctui.ui.screens.import_xml import XmlImportScreen

    app = pilot.app
    doc = app.store.get_document("Register 1642")  # type: ignore[attr-defined]
    app.push_screen(XmlImportScreen(doc.id, ALTO))
    await settle(pilot)
    app.screen.query_one("#xml-name").value = "diplomatic"  # not the default: it holds a date


async def corrected_line(pilot: Pilot) -> None:
    """The first line of the ALTO page given a new text an hour later (the XML's goes into
    its history), for the history dialog."""
    app = pilot.app
    store = app.store  # type: ignore[attr-defined]
    doc = store.get_document("Register 1642")
    part = store.list_parts(doc.id)[0]
    line = store.read_page_layout(doc.id, part.id).lines[0]
    version = store.get_transcription(doc.id, "diplomatic")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "time", lambda: FIXED_TIME + 3600)
        store.set_line_text(doc.id, part.id, line.id, version.id, "Quaesitum est")


async def pdf_options(pilot: Pilot) -> None:
    from esctui.ui.screens.import_pdf import PdfOptionsScreen

    pilot.app.push_screen(PdfOptionsScreen(Path("three_scans.pdf")))


async def saved_server(pilot: Pilot) -> None:
    """A saved server where nothing listens (port 9): its screen says it cannot be reached."""
    from esctui.store.remotes import RemoteRegistry, RemoteServer

    RemoteRegistry().add(RemoteServer("lab", "http://127.0.0.1:9"), "0" * 40)


async def pull_dialog(pilot: Pilot) -> None:
    """The Pull dialog for a server's document with two layers (its listing, as the Remotes
    screen has it; nothing is asked of a server)."""
    from esctui.jobs.remote.common import RemoteTarget
    from esctui.net.escriptorium import RemoteDocument, RemoteLayer
    from esctui.ui.screens.pull import Places, PullScreen

    app = pilot.app
    remote = RemoteDocument(
        pk=12, name="Urfehdebuch", project_slug="lab", project_id=1, project_name="Lab",
        main_script="Latin", read_direction="ltr", line_offset="baseline", parts_count=40,
        layers=(RemoteLayer(1, "manual"), RemoteLayer(2, "kraken")),
    )  # fmt: skip
    places = Places(app.store.list_documents(), None)  # type: ignore[attr-defined]
    app.push_screen(PullScreen(RemoteTarget("lab", "http://127.0.0.1:9", ""), remote, places))
    await settle(pilot)


OPEN = ("enter",)  # "Register 1642", the first document (both changed at the fixed time)

SCREENS: dict[str, Callable[[Pilot], Awaitable[None]]] = {
    "documents": keys(),
    "document_new": keys("n"),
    "document_new_refused": keys("n", *"register 1642", "enter"),
    "document_settings": keys("e"),
    "document_description": keys("D"),
    "document_rename": keys("r"),
    "document_delete": keys("x"),
    "images": keys(*OPEN),
    "images_marked": keys(*OPEN, "space", "space"),
    "import_menu": keys(*OPEN, "i"),
    "picker_images": keys(*OPEN, "i", "enter", "down", "space"),
    "picker_pdf": keys(*OPEN, "i", "down", "enter"),
    "pdf_options": then(keys(*OPEN), pdf_options),
    "iiif_dialog": keys(*OPEN, "i", "down", "down", "enter"),
    "xml_import": then(keys(*OPEN), xml_dialog),
    "xml_override_question": then(keys(*OPEN), xml_dialog, keys("ctrl+o", "ctrl+s")),
    "xml_assign_page": then(keys(*OPEN), xml_dialog, keys("ctrl+t")),
    "export": keys(*OPEN, "E"),
    "masks": keys(*OPEN, "M"),
    "segment": keys(*OPEN, "S"),
    "transcribe": keys(*OPEN, "T"),
    "delete_pages": keys(*OPEN, "space", "x"),
    "progress_running": then(keys(*OPEN), running_job),
    "progress_done": then(keys(*OPEN), finished_job),
    "page": keys(*OPEN, "down", "enter"),
    "page_no_layout": keys(*OPEN, "down", "down", "enter"),
    "page_pick_version": keys(*OPEN, "down", "enter", "V"),
    "page_help": keys(*OPEN, "down", "enter", "question_mark"),
    "page_line_history": then(corrected_line, keys(*OPEN, "enter", "h")),
    "versions": keys(*OPEN, "t"),
    "version_rename": keys(*OPEN, "t", "r"),
    "compare_pick_page": keys(*OPEN, "t", "c"),
    "compare": keys(*OPEN, "t", "c", "down", "enter"),
    "jobs": keys("j"),
    "models": keys("m"),
    "help": keys("question_mark"),
    "remotes": then(saved_server, keys("R")),
    "remote_add": keys("R", "a"),
    "push_dialog": then(saved_server, keys("P")),
    "pull_dialog": pull_dialog,
    "quit_question": then(keys(*OPEN), running_job, keys("escape", "ctrl+q")),
}


@pytest.mark.parametrize("name", list(SCREENS))
def test_screen_at_80x24(name: str, data: Path, snap_compare: SnapCompare) -> None:
    assert snap_compare(app_on(data), run_before=SCREENS[name], terminal_size=(80, 24))


def test_page_view_at_120x40(data: Path, snap_compare: SnapCompare) -> None:
    assert snap_compare(
        app_on(data), run_before=keys(*OPEN, "down", "enter"), terminal_size=(120, 40)
    )


def test_documents_when_there_are_none(tmp_path: Path, snap_compare: SnapCompare) -> None:
    assert snap_compare(app_on(tmp_path), run_before=keys(), terminal_size=(80, 24))
