"""Import > Export ZIP or METS, by keyboard: another tool's export (a Transkribus ZIP) or its
METS file brings the pages in the METS order with their transcriptions."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from esctui.store import Store
from esctui.ui.app import EsctuiApp
from esctui.ui.screens.file_picker import FilePickerScreen
from esctui.ui.screens.images import ImagesScreen
from esctui.ui.screens.progress import ProgressScreen
from tests.formats.mets_builders import transkribus_export
from tests.helpers import type_text
from tests.ui.support import jobs_finished

SIZE = (80, 24)
METS_ORDER = ["170025120000003,0074", "0014", "input"]  # image stems, not in natural order


@pytest.mark.parametrize("pick", ["zip", "mets"])
async def test_an_export_zip_or_its_mets_imports_pages_in_mets_order_with_their_text(
    store: Store, tmp_path: Path, corpus: Path, pick: str
) -> None:
    folder = tmp_path / "trp"
    transkribus_export(corpus, folder)
    path = Path(shutil.make_archive(str(tmp_path / "export"), "zip", folder))
    if pick == "mets":
        path = folder / "mets.xml"
    doc = store.create_document("Kirchenbuch")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "i")
        await pilot.press("down", "down", "down", "down", "enter")  # the fifth entry
        assert isinstance(app.screen, FilePickerScreen)
        await pilot.press("g")
        await type_text(pilot, str(path))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ProgressScreen)
        await jobs_finished(app)
        await pilot.pause()
        [job] = store.list_jobs()
        assert (job.kind, job.status) == ("archive" if pick == "zip" else "mets", "done"), job.error
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ImagesScreen)
    parts = store.list_parts(doc.id)
    expected = [
        hashlib.sha256((folder / f"{stem}.jpg").read_bytes()).hexdigest() for stem in METS_ORDER
    ]
    assert [p.sha256 for p in parts] == expected
    [version] = store.list_transcriptions(doc.id)
    first = store.read_page_layout(doc.id, parts[0].id)
    texts = first.texts_for(version.id)
    assert first.lines and sum(bool(t.text) for t in texts.values()) > 10
