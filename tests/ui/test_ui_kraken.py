"""Segment (S) and Transcribe (T) on the Images screen, driven by keys through Pilot at 80x24, on
a real store with the corpus's pages and models; the slow ones run kraken for real."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Select

from esctui.domain import LineText, Model
from esctui.jobs.kraken.choice import DEFAULT_SEGMENTATION_NAME
from esctui.jobs.models import add_model
from esctui.store import Store
from esctui.ui.app import EsctuiApp
from esctui.ui.screens.dialogs import ConfirmScreen
from esctui.ui.screens.images import ImagesScreen
from esctui.ui.screens.kraken_run import NO_RECOGNITION_MODEL, SegmentScreen, TranscribeScreen
from esctui.ui.screens.progress import ProgressScreen
from tests.helpers import CORPUS, add_page, notifications, scan_pages
from tests.ui.support import SIZE, jobs_finished, shown, until

BLLA_NAME = "blla.mlmodel"
SMALL_PAGE = "0014.jpg"  # 228x109: blla segments it in seconds

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not there")


def blla_file() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("kraken")  # finds it without importing it
    assert spec is not None and spec.origin is not None, "kraken is not installed"
    return Path(spec.origin).parent / BLLA_NAME


def store_blla(store: Store, name: str) -> Model:
    """kraken's blla.mlmodel stored as a model of the store, with the kinds its header declares
    (read without torch), as an upload keeps it."""
    from esctui.formats.kraken_model import file_sha256, read_model_header

    copy = store.root / f"upload-{name}.mlmodel"
    shutil.copyfile(blla_file(), copy)
    header = read_model_header(copy)
    model = Model(
        name=name,
        filename="",
        original_filename=BLLA_NAME,
        owner=store.user,
        sha256=file_sha256(copy),
        byte_size=copy.stat().st_size,
        kinds=[t for net in header.nets for t in net.tasks[:1]],
        metadata={"format": header.format, "nets": [], "notes": []},
    )
    model.filename = f"{model.id}.mlmodel"
    return store.add_model(model, copy)


def listed(app: EsctuiApp) -> list[str]:
    """The model list of the dialog, as shown."""
    options = app.screen.query_one("#models", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def choose(pilot: Pilot[object], select: Select[str], value: str) -> None:
    """Focus ``select`` by Tab, open it with Enter and walk down to ``value``, Enter."""
    app = pilot.app
    for _ in range(5):
        if app.screen.focused is select:
            break
        await pilot.press("tab")
    assert app.screen.focused is select
    await pilot.press("enter")
    for _ in range(5):
        if select.value == value:
            break
        await pilot.press("down", "enter")
        if select.value != value:
            await pilot.press("enter")  # open it again
    assert select.value == value


async def wait_for_job(pilot: Pilot[object], app: EsctuiApp, timeout: float = 600) -> None:
    """The job the dialog started has ended; the progress window is closed."""
    await until(pilot, lambda: isinstance(app.screen, ProgressScreen), timeout=60)
    await until(pilot, lambda: not app.running_jobs(), timeout=timeout)
    await jobs_finished(app)
    await pilot.press("escape")
    assert isinstance(app.screen, ImagesScreen)


# ------------------------------------------------------------------------------ Segment


async def test_segment_lists_the_default_first_then_the_stored_models(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    doc = store.create_document("Register")
    add_page(store, doc.id, tmp_path / "img", SMALL_PAGE, source=corpus / "images" / SMALL_PAGE)
    store_blla(store, "Register lines")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "S")
        assert isinstance(app.screen, SegmentScreen)
        shown_models = listed(app)
        assert len(shown_models) == 2
        assert shown_models[0].startswith(DEFAULT_SEGMENTATION_NAME)
        assert shown_models[1].startswith("Register lines")
        assert "Segment the only page with kraken" in " ".join(
            str(label.render()) for label in app.screen.query(".title")
        )
        await pilot.press("escape")
        assert isinstance(app.screen, ImagesScreen)
    assert store.list_jobs() == []


async def test_replace_on_a_page_with_lines_asks_naming_what_goes(
    store: Store, tmp_path: Path
) -> None:
    doc = store.create_document("Scan")
    [part] = scan_pages(store, doc.id, tmp_path / "source", lines=slice(0, 5))
    layout = store.read_page_layout(doc.id, part.id)
    version = store.create_transcription(doc.id, "Diplomatic", "manual")
    layout.texts = [
        LineText(ln.id, version.id, f"line {i}") for i, ln in enumerate(layout.lines[:2])
    ]
    store.write_page_layout(doc.id, part.id, layout)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "S")
        assert isinstance(app.screen, SegmentScreen)
        dialog = app.screen
        await choose(pilot, dialog.query_one("#existing", Select), "replace")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == (
            "Replacing the segmentation of 1 page removes 5 lines, and with them the text of "
            "1 version: 'Diplomatic' (2 lines). This cannot be undone.\nSegment and replace?"
        )
        await pilot.press("n")  # no: back in the dialog, nothing started
        assert app.screen is dialog
        await pilot.press("escape")
    assert store.list_jobs() == []
    assert store.read_page_layout(doc.id, part.id) == layout


async def test_replacing_lines_only_counts_the_lines(store: Store, tmp_path: Path) -> None:
    """Lines only, replace: the question names the page's lines (it holds no region, no text)."""
    doc = store.create_document("Scan")
    scan_pages(store, doc.id, tmp_path / "source", lines=slice(0, 3))
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "S")
        dialog = app.screen
        assert isinstance(dialog, SegmentScreen)
        await choose(pilot, dialog.query_one("#content", Select), "lines")
        await choose(pilot, dialog.query_one("#existing", Select), "replace")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)
        assert "removes 3 lines. This cannot be undone." in app.screen.question
        await pilot.press("n", "escape")
    assert store.list_jobs() == []


@pytest.mark.slow
async def test_segmenting_one_small_page_through_the_dialog(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    doc = store.create_document("Register")
    part = add_page(
        store, doc.id, tmp_path / "img", SMALL_PAGE, source=corpus / "images" / SMALL_PAGE
    )
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "S", "enter")  # the default model, regions and lines
        await wait_for_job(pilot, app)
        assert app.screen.query_one("#pages").get_row_at(0)[5].plain != "0"  # type: ignore[attr-defined]
    [job] = store.list_jobs()
    assert (job.kind, job.status, job.title) == ("segment", "done", "Segment: Register"), job.error
    layout = store.read_page_layout(doc.id, part.id)
    assert layout.lines and job.report.counts["lines"] == len(layout.lines)
    for line in layout.lines:
        assert line.baseline and all(0 <= x < part.width for x, _ in line.baseline)
    assert store.get_part(doc.id, part.id).engine_runs["segment"]["model"] == (
        DEFAULT_SEGMENTATION_NAME
    )


# ------------------------------------------------------------------------------ Transcribe


async def test_transcribe_without_a_recognition_model_says_so(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("Scan")
    scan_pages(store, doc.id, tmp_path / "source", lines=slice(0, 3))
    store_blla(store, "Lines only")  # a segmentation model is not one to read with
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "T")
        assert isinstance(app.screen, TranscribeScreen)
        assert shown(app, "#no-models") == NO_RECOGNITION_MODEL
        await pilot.press("ctrl+s")
        assert notifications(app)[-1] == NO_RECOGNITION_MODEL
        assert isinstance(app.screen, TranscribeScreen)
        await pilot.press("escape")
    assert store.list_jobs() == []


@pytest.mark.slow
async def test_transcribe_writes_the_version_named_after_the_model(
    store: Store, tmp_path: Path
) -> None:
    doc = store.create_document("Scan")
    [page, other] = scan_pages(store, doc.id, tmp_path / "source", 2, lines=slice(10, 13))
    add_model(store, CORPUS / "models" / "overfit.mlmodel", name="Boxes")
    add_model(store, CORPUS / "models" / "overfit_bl.safetensors", name="Baselines")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "space", "T")  # the first page marked
        assert isinstance(app.screen, TranscribeScreen)
        assert [m.split(" ")[0] for m in listed(app)] == ["Baselines", "Boxes"]  # by name
        assert "reads lines along baselines" in listed(app)[0]
        assert "reads box lines" in listed(app)[1]
        version = app.screen.query_one("#version", Input)
        assert version.value == "Baselines"
        await pilot.press("down")
        assert version.value == "Boxes"  # the name follows the model
        await pilot.press("up")
        assert version.value == "Baselines"
        await pilot.press("enter")
        await wait_for_job(pilot, app)
    [job] = store.list_jobs()
    assert (job.kind, job.status) == ("transcribe", "done"), job.error
    assert job.title == "Transcribe with Baselines: Scan"
    written = store.get_transcription(doc.id, "Baselines")
    layout = store.read_page_layout(doc.id, page.id)
    texts = layout.texts_for(written.id)
    assert set(texts) == {line.id for line in layout.lines}
    assert all(t.text.strip() and t.confidence is not None for t in texts.values())
    assert store.read_page_layout(doc.id, other.id).texts == []  # not marked: not read


# ------------------------------------------------------------------------------ no torch

PROBE = """
import asyncio, json, sys
from pathlib import Path

from esctui.store import Store
from esctui.ui.app import EsctuiApp


async def open_dialogs():
    app = EsctuiApp(Store(Path(sys.argv[1])))
    seen = []
    async with app.run_test(size=(80, 24)) as pilot:
        for keys, dialog in ((("enter", "S"), "SegmentScreen"), (("escape", "T"), "TranscribeScreen")):
            await pilot.press(*keys)
            for _ in range(500):
                if type(app.screen).__name__ == dialog:
                    break
                await pilot.pause(0.02)
            seen.append(type(app.screen).__name__)
    return seen


seen = asyncio.run(open_dialogs())
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("kraken", "torch", "torchvision"))
print(json.dumps({"seen": seen, "heavy": heavy}))
"""


def test_opening_the_dialogs_imports_neither_kraken_nor_torch(tmp_path: Path) -> None:
    """In a fresh interpreter (this one may have imported them): Images, S, Escape, T."""
    store = Store(tmp_path / "data")
    doc = store.create_document("Register")
    add_page(store, doc.id, tmp_path / "img", SMALL_PAGE, source=CORPUS / "images" / SMALL_PAGE)
    store_blla(store, "Register lines")
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PROBE), str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["seen"] == ["SegmentScreen", "TranscribeScreen"]
    assert found["heavy"] == []
