"""The PDF import dialog, Models, Page and Versions screens driven by keys through Pilot."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from esctui.domain import Line, LineText, Model, Region
from esctui.store import PageLayout, Store
from esctui.ui.app import EsctuiApp
from esctui.ui.screens.dialogs import ChoiceScreen, ConfirmScreen, TextPromptScreen
from esctui.ui.screens.documents import DocumentsScreen
from esctui.ui.screens.file_picker import FilePickerScreen
from esctui.ui.screens.images import ImagesScreen
from esctui.ui.screens.import_pdf import PdfOptionsScreen
from esctui.ui.screens.models import ModelsScreen, describe_net
from esctui.ui.screens.page import NO_LAYOUT, PageScreen
from esctui.ui.screens.progress import ProgressScreen
from esctui.ui.screens.versions import CompareScreen, VersionsScreen, version_stats
from esctui.ui.widgets.layout import LayoutPreview, draw_layout
from tests.helpers import CORPUS, make_pages, notifications, type_text

SIZE = (80, 24)
THREE_SCANS = CORPUS / "pdf" / "three_scans.pdf"
OVERFIT = CORPUS / "models" / "overfit.mlmodel"
BLLA = Path(importlib.util.find_spec("kraken").origin).parent / "blla.mlmodel"  # type: ignore[arg-type,union-attr]


async def add_pages(store: Store, document_id: str, folder: Path, count: int) -> None:
    from esctui.jobs.imports.images import LocalImagesImporter
    from esctui.jobs.runner import run_job

    job = await run_job(
        store, LocalImagesImporter(store, document_id, make_pages(folder, count, (300, 400)))
    )
    assert job.status == "done"


async def submit_path(pilot: Pilot[object], app: EsctuiApp, path: Path) -> None:
    """In the file picker: g, then the path into the path field, then Enter."""
    assert isinstance(app.screen, FilePickerScreen)
    await pilot.press("g")
    app.screen.query_one("#path", Input).value = str(path)
    await pilot.press("enter")
    await pilot.pause()


async def settle(pilot: Pilot[object], app: EsctuiApp, timeout: float = 120) -> None:
    """Wait until every worker has ended, failed ones included (wait_for_complete re-raises)."""
    for _ in range(int(timeout / 0.05)):
        if all(w.is_finished for w in app.workers):
            break
        await pilot.pause(0.05)
    await pilot.pause()


def messages(app: EsctuiApp) -> list[str]:
    return notifications(app)


def column(app: EsctuiApp, index: int, table_id: str | None = None) -> list[str]:
    table = app.screen.query_one(f"#{table_id}" if table_id else "DataTable", DataTable)
    return [str(table.get_row_at(i)[index]) for i in range(table.row_count)]


def static_text(app: EsctuiApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


# --------------------------------------------------------------------------- PDF import


async def test_import_pdf_through_the_menu(store: Store) -> None:
    doc = store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        assert isinstance(app.screen, ImagesScreen)
        await pilot.press("i", "down", "enter")  # second entry: Images (PDF)
        await submit_path(pilot, app, THREE_SCANS)
        assert isinstance(app.screen, PdfOptionsScreen)
        assert app.screen.query_one("#dpi", Input).value == "300"
        await pilot.press("enter")
        assert isinstance(app.screen, ProgressScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "3 imported" in static_text(app, "#status")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ImagesScreen)
        names = ["three_scans_1", "three_scans_2", "three_scans_3"]
        assert [p.name for p in store.list_parts(doc.id)] == names
        assert column(app, 2) == names
        [job] = store.list_jobs()
        assert (job.kind, job.status) == ("pdf", "done")


async def test_pdf_text_layer_becomes_a_version_seen_in_the_page_view(store: Store) -> None:
    doc = store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "i", "down", "enter")
        await submit_path(pilot, app, CORPUS / "pdf" / "scan_with_text_layer.pdf")
        await pilot.press("tab")
        await type_text(pilot, "PDF text")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        [version] = store.list_transcriptions(doc.id)
        assert version.name == "PDF text"
        [part] = store.list_parts(doc.id)
        layout = store.read_page_layout(doc.id, part.id)
        assert layout.lines and layout.texts_for(version.id)
        await pilot.press("escape", "enter")  # close the progress window, open the page
        assert isinstance(app.screen, PageScreen)
        assert "PDF text" in static_text(app, "#page-title")
        first = layout.texts_for(version.id)[layout.lines[0].id].text
        await pilot.press("p")  # full-width texts
        assert column(app, 3)[0] == " ".join(first.split())
        assert len(column(app, 0)) == len(layout.lines)


async def test_pdf_dialog_asks_an_encrypted_pdf_s_password_and_refuses_a_bad_dpi(
    store: Store, tmp_path: Path
) -> None:
    import pymupdf

    locked = tmp_path / "locked scans.pdf"
    with pymupdf.open(THREE_SCANS) as pdf:
        pdf.save(locked, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    doc = store.create_document("Book")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:

        async def pick_with_password(password: str) -> None:
            await pilot.press("i", "down", "enter")
            await submit_path(pilot, app, locked)
            await app.workers.wait_for_complete()  # the encryption check runs in a thread
            await pilot.pause()
            assert isinstance(app.screen, TextPromptScreen)
            assert app.screen.query_one(Input).password  # typed characters are hidden
            await type_text(pilot, password)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, PdfOptionsScreen)

        await pilot.press("enter")
        await pick_with_password("wrong")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        [job] = store.list_jobs()
        assert job.status == "failed" and "the password given is wrong" in job.error
        assert any("failed" in m and "locked scans.pdf" in m for m in messages(app))
        assert store.list_parts(doc.id) == []
        await pilot.press("escape")  # close the progress window

        await pick_with_password("u")
        field = app.screen.query_one("#dpi", Input)
        field.value = "20"
        await pilot.press("enter")
        assert isinstance(app.screen, PdfOptionsScreen)  # still asking
        assert any("from 72 to 1200" in m for m in messages(app))
        field.value = "150"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(store.list_parts(doc.id)) == 3


# --------------------------------------------------------------------------- models


def store_model(store: Store, name: str, *, shared_with: list[str] | None = None) -> Model:
    """A model record for the store's user, with the real overfit.mlmodel file and the
    metadata its header declares (read without torch)."""
    from esctui.formats.kraken_model import file_sha256, read_model_header

    copy = store.root / f"upload-{name}.mlmodel"
    shutil.copyfile(OVERFIT, copy)
    header = read_model_header(copy)
    model = Model(
        name=name,
        filename="",
        original_filename=OVERFIT.name,
        owner=store.user,
        sha256=file_sha256(copy),
        byte_size=copy.stat().st_size,
        kinds=[t for net in header.nets for t in net.tasks[:1]],
        metadata={"format": header.format, "nets": [], "notes": []},
        shared_with=shared_with or [],
    )
    model.filename = f"{model.id}.mlmodel"
    return store.add_model(model, copy)


@pytest.mark.slow
async def test_upload_blla_shows_validation_then_its_metadata(store: Store, tmp_path: Path) -> None:
    assert BLLA.name == "blla.mlmodel", "kraken's blla.mlmodel is missing"
    source = tmp_path / "blla.mlmodel"
    shutil.copyfile(BLLA, source)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        assert isinstance(app.screen, ModelsScreen)
        await pilot.press("u")
        await submit_path(pilot, app, source)
        assert isinstance(app.screen, TextPromptScreen)
        await type_text(pilot, "Layout")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ModelsScreen)
        assert "Validating blla.mlmodel" in static_text(app, "#model-status")
        await pilot.press("down")  # the UI answers while kraken works in a child process
        await settle(pilot, app)
        [model] = store.list_models()
        assert (model.name, model.kinds) == ("Layout", ["segmentation"])
        assert column(app, 0) == ["Layout"]
        assert app.screen.query_one("#model-status", Static).display is False
        info = static_text(app, "#model-info")
        for expected in (
            "Layout",
            model.sha256,
            "segmentation net",
            "TorchVGSLModel",
            "baselines: default",
            "regions: text",
            "VGSL: [1,1800,0,3",
            "min kraken: 5.0.0",
            "accuracy: 59.50 %",
            "epochs: 50",
            "optimizer: Adam",
            "owner: you",
        ):
            assert expected in info, expected
        assert any("Model: blla.mlmodel: done" in m for m in messages(app))
        assert [j.kind for j in store.list_jobs()] == ["model"]  # listed on the Jobs screen
        # the same file again: refused, nothing added
        await pilot.press("u")
        await submit_path(pilot, app, source)
        await pilot.press("enter")  # empty name: the model's own
        await settle(pilot, app)
        assert any("same file as the model 'Layout'" in m for m in messages(app))
        assert len(store.list_models()) == 1


async def test_upload_of_random_bytes_is_refused(store: Store, tmp_path: Path) -> None:
    junk = tmp_path / "x.mlmodel"
    junk.write_bytes(os.urandom(4096))
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m", "u")
        await submit_path(pilot, app, junk)
        await pilot.press("enter")
        await settle(pilot, app)
        errors = notifications(app, "error")
        assert errors and "x.mlmodel" in errors[0]
        assert store.list_models() == []
        assert [p for p in store.models_dir().rglob("*") if p.is_file()] == []
        assert "No models yet" in static_text(app, "#empty")


async def test_rename_and_delete_models_only_when_owned(tmp_path: Path) -> None:
    root = tmp_path / "data"
    alice = Store(root, user="alice")
    theirs = store_model(alice, "Alice's lines", shared_with=["bob"])
    bob = Store(root, user="bob")
    mine = store_model(bob, "Bob's model")
    app = EsctuiApp(bob)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        assert column(app, 0) == ["Alice's lines", "Bob's model"]
        assert column(app, 2) == ["from alice", "owner"]
        assert "owner: alice" in static_text(app, "#model-info")
        await pilot.press("r")  # not Bob's: refused in plain words
        assert isinstance(app.screen, ModelsScreen)
        assert any("belongs to alice" in m for m in messages(app))
        await pilot.press("x")
        assert isinstance(app.screen, ModelsScreen)
        assert bob.get_model(theirs.id).name == "Alice's lines"

        await pilot.press("down", "r")
        assert isinstance(app.screen, TextPromptScreen)
        app.screen.query_one(Input).value = "Latin hands"
        await pilot.press("enter")
        await pilot.pause()
        assert bob.get_model(mine.id).name == "Latin hands"
        assert column(app, 0) == ["Alice's lines", "Latin hands"]

        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert len(bob.list_models()) == 2
        await pilot.press("x", "y")
        await pilot.pause()
        assert [m.name for m in bob.list_models()] == ["Alice's lines"]
        assert not (bob.models_dir() / mine.filename).exists()
        assert column(app, 0) == ["Alice's lines"]


def test_metadata_panel_lists_every_stored_key() -> None:
    from esctui.formats.kraken_model import NetInfo, TrainingInfo

    training = TrainingInfo(
        accuracy=0.9712,
        epochs=24,
        hyper_params={"lrate": 0.001, "batch_size": 8},
        license="CC-BY-4.0",
        authors=["Ada", "Ben"],
        description="Latin cursive, 16th c.",
        scripts=["Latn"],
        languages=["la"],
        name="cursive",
    )
    net = NetInfo(
        kind="recognition",
        tasks=["recognition"],
        model_class="TorchVGSLModel",
        seg_type="baselines",
        one_channel_mode="L",
        legacy_polygons=False,
        min_kraken_version="5.0.0",
        vgsl="[1,120,0,1 Cr3,13,32 O1c57]",
        classes={},
        alphabet="".join(chr(c) for c in range(ord("a"), ord("a") + 26)) * 3,
        parameters=4_000_000,
        training=training,
    )
    record = dataclasses.asdict(net)
    record["future_key"] = "kept"
    text = "\n".join(describe_net(record))
    for expected in (
        "recognition net",
        "seg type: baselines",
        "one-channel mode: L",
        "legacy polygons: no",
        "parameters: 4,000,000",
        "alphabet: 78 characters: abcdef",
        "(+18)",
        "accuracy: 97.12 %",
        "epochs: 24",
        "license: CC-BY-4.0",
        "authors: Ada, Ben",
        "description: Latin cursive, 16th c.",
        "scripts: Latn",
        "languages: la",
        "batch_size: 8",
        "future key: kept",
    ):
        assert expected in text, expected


# --------------------------------------------------------------------------- page view


def build_layout(store: Store, document_id: str, part_id: str) -> tuple[str, str, list[Line]]:
    """Two regions, three lines (one outside any region, stored out of order), two versions."""
    part = store.get_part(document_id, part_id)
    w, h = part.width, part.height
    head = Region(part_id, [(10, 10), (w - 10, 10), (w - 10, 60), (10, 60)], type="heading")
    body = Region(part_id, [(10, 80), (w - 10, 80), (w - 10, h - 10), (10, h - 10)], order=1)
    lines = [
        Line(part_id, [(20, 150), (w - 20, 150)], region_id=body.id, order=1),
        Line(part_id, [(20, 40), (w - 20, 40)], region_id=head.id, type="heading", order=0),
        Line(part_id, [(20, 250), (w - 20, 250)], order=2),
    ]
    first = store.create_transcription(document_id, "diplomatic", "xml")
    second = store.create_transcription(document_id, "normalised", "manual")
    texts = [
        LineText(lines[1].id, first.id, "Liber baptizatorum", 0.97),
        LineText(lines[0].id, first.id, "Anno domini 1642 die 3 mensis", 0.81),
        LineText(lines[2].id, first.id, "baptizatus est Joannes"),
        LineText(lines[1].id, second.id, "Liber baptizatorum"),
        LineText(lines[0].id, second.id, "Anno Domini 1642, die tertio mensis"),
    ]
    store.write_page_layout(document_id, part_id, PageLayout([head, body], lines, texts))
    return first.id, second.id, lines


async def test_page_screen_lines_versions_preview_and_paging(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("Register")
    await add_pages(store, doc.id, tmp_path / "scans", 2)
    first_part, second_part = store.list_parts(doc.id)
    build_layout(store, doc.id, first_part.id)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "enter")  # open the document, then its first page
        assert isinstance(app.screen, PageScreen)
        title = static_text(app, "#page-title")
        assert "page1" in title and "page 1 of 2" in title and "normalised" in title
        # reading order, region numbers, types, the newest version's text
        assert column(app, 0) == ["1", "2", "3"]
        assert column(app, 1) == ["1", "2", "–"]
        assert column(app, 2) == ["heading", "default", "default"]
        texts = column(app, 3)
        assert texts[0] == "Liber baptizatorum"
        assert texts[1].startswith("Anno Domini 1642") and texts[1].endswith("…")
        assert texts[2] == ""
        regions = static_text(app, "#regions")
        assert "2 regions, 3 lines" in regions
        assert "heading · 1 line" in regions and "text · 1 line" in regions
        assert "no region · 1 line" in regions
        await pilot.press("down")
        assert "Anno Domini 1642, die tertio mensis" in static_text(app, "#line-text")

        await pilot.press("v")  # cycles to the other version: texts and confidences change
        assert "diplomatic" in static_text(app, "#page-title")
        assert column(app, 3)[1].startswith("Anno domini 1642")
        assert column(app, 4) == ["0.97", "0.81", ""]
        await pilot.press("V")
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("down", "enter")
        assert "normalised" in static_text(app, "#page-title")

        preview = app.screen.query_one(LayoutPreview)
        drawn = str(preview.render())
        assert any(0x2800 < ord(c) <= 0x28FF for c in drawn)
        await pilot.press("p")  # hide the side panel: the texts get its room
        assert app.screen.query_one("#page-side").display is False
        assert column(app, 3) == [
            "Liber baptizatorum",
            "Anno Domini 1642, die tertio mensis",
            "",
        ]
        await pilot.press("p")
        assert app.screen.query_one("#page-side").display is True
        assert column(app, 3)[1].endswith("…")

        await pilot.press("right_square_bracket")  # next page: no layout yet
        assert "page2" in static_text(app, "#page-title")
        assert app.screen.part_id == second_part.id
        assert NO_LAYOUT in static_text(app, "#empty")
        assert app.screen.query_one("#lines", DataTable).display is False
        await pilot.press("right_square_bracket")
        assert any("last page" in m for m in messages(app))
        await pilot.press("left_square_bracket")
        assert "page1" in static_text(app, "#page-title")
        assert column(app, 0) == ["1", "2", "3"]
        await pilot.press("escape")
        assert isinstance(app.screen, ImagesScreen)


def test_layout_drawing_keeps_the_page_proportions() -> None:
    """A baseline across the middle of a square page lands in the middle rows of the canvas,
    inside the square on the left (a cell is 2x4 dots, so 10x5 cells are 20x20 dots)."""
    layout = PageLayout(
        regions=[Region("p", [(0, 0), (100, 0), (100, 100), (0, 100)])],
        lines=[Line("p", [(0, 50), (100, 50)])],
    )
    rows = draw_layout(20, 5, (100, 100), layout).plain.split("\n")
    assert len(rows) == 5 and all(len(r) == 20 for r in rows)
    blank = chr(0x2800)
    assert all(c != blank for c in rows[0][:10])  # top edge of the region
    assert all(c == blank for c in rows[0][11:])  # nothing right of the square page
    assert all(c != blank for c in rows[2][:10])  # the baseline (y 50 -> dot 10 -> row 2)
    assert rows[1][1:9] == blank * 8  # inside the region, between its edge and the baseline


# --------------------------------------------------------------------------- versions


async def test_versions_counts_rename_delete(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("Register")
    await add_pages(store, doc.id, tmp_path / "scans", 2)
    parts = store.list_parts(doc.id)
    first_id, second_id, lines = build_layout(store, doc.id, parts[0].id)
    # the first version also has a line on page 2
    line = Line(parts[1].id, [(5, 5), (50, 5)])
    store.write_page_layout(
        doc.id, parts[1].id, PageLayout([], [line], [LineText(line.id, first_id, "Amen")])
    )
    empty = store.create_transcription(doc.id, "empty", "manual")
    stats = version_stats(store, doc.id)
    assert (stats[first_id].pages, stats[first_id].lines) == (2, 4)
    assert stats[first_id].characters == len(
        "Liber baptizatorumAnno domini 1642 die 3 mensisbaptizatus est JoannesAmen"
    )
    assert (stats[empty.id].pages, stats[empty.id].lines) == (0, 0)  # listed, empty
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "t")
        assert isinstance(app.screen, VersionsScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert column(app, 0) == ["diplomatic", "normalised", "empty"]
        assert column(app, 1) == ["xml", "manual", "manual"]
        assert column(app, 3) == ["2", "1", "0"]
        assert column(app, 4) == ["4", "2", "0"]
        assert column(app, 5) == [str(stats[first_id].characters), "53", "0"]

        await pilot.press("down", "r")  # "normalised" -> "Diplomatic": taken (any case)
        prompt = app.screen
        prompt.query_one(Input).value = "Diplomatic"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is prompt  # stays open, says why, keeps the text
        assert "already exists" in static_text(app, "#prompt-error")
        assert prompt.query_one(Input).value == "Diplomatic"
        assert store.get_transcription(doc.id, second_id).name == "normalised"
        prompt.query_one(Input).value = ""
        await pilot.press("enter")
        await pilot.pause()
        assert "needs a name" in static_text(app, "#prompt-error")
        app.screen.query_one(Input).value = "regularised"
        await pilot.press("enter")
        await pilot.pause()
        assert store.get_transcription(doc.id, second_id).name == "regularised"
        assert column(app, 0)[1] == "regularised"

        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [v.name for v in store.list_transcriptions(doc.id)] == ["diplomatic", "empty"]
        assert all(
            t.transcription_id != second_id
            for t in store.read_page_layout(doc.id, parts[0].id).texts
        )
        assert column(app, 0) == ["diplomatic", "empty"]
        store.create_transcription(doc.id, "regularised", "manual")  # the name is free


async def test_compare_two_versions_side_by_side(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("Register")
    await add_pages(store, doc.id, tmp_path / "scans", 2)
    parts = store.list_parts(doc.id)
    build_layout(store, doc.id, parts[0].id)
    store.create_transcription(doc.id, "third", "manual")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "t", "c")  # compare "diplomatic" with …
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("enter")  # … "normalised"
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("enter")  # on page 1
        await pilot.pause()
        assert isinstance(app.screen, CompareScreen)
        title = static_text(app, "#compare-title")
        assert "diplomatic" in title and "normalised" in title
        assert "3 lines, 2 differ" in title
        assert column(app, 1) == ["", "≠", "≠"]
        assert column(app, 2)[0] == column(app, 3)[0] == "Liber baptizatorum"
        assert column(app, 3)[2] == ""
        # the differing characters carry the highlight style
        table = app.screen.query_one(DataTable)
        left = table.get_row_at(1)[2]
        assert any(span.style and "red" in str(span.style) for span in left.spans)
        await pilot.press("n")
        assert table.cursor_row == 1
        line = static_text(app, "#compare-line")
        assert "A: Anno domini 1642 die 3 mensis" in line
        assert "B: Anno Domini 1642, die tertio mensis" in line
        await pilot.press("n")
        assert table.cursor_row == 2
        await pilot.press("right_square_bracket")
        assert "page2" in static_text(app, "#compare-title")
        assert "0 lines, 0 differ" in static_text(app, "#compare-title")
        await pilot.press("escape")
        assert isinstance(app.screen, VersionsScreen)


async def test_compare_needs_two_versions(store: Store, tmp_path: Path) -> None:
    doc = store.create_document("Register")
    store.create_transcription(doc.id, "only", "manual")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "t", "c")
        assert isinstance(app.screen, VersionsScreen)
        assert any("needs two versions" in m for m in messages(app))
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, DocumentsScreen)
