"""The Page view's text history (h): a re-import with new text keeps the earlier one; it shows
with its source, Enter restores it, the line shows it again, and the CLI's ``transcriptions
history`` agrees. The line's tags show in its details. A real corpus ALTO file, at 80x24."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from esctui.jobs.imports.xml import XmlImporter
from esctui.jobs.runner import run_job
from esctui.store import Store
from esctui.ui.app import EsctuiApp
from esctui.ui.screens.page import PageScreen
from esctui.ui.screens.page_history import LineHistoryScreen
from tests.helpers import add_page
from tests.ui.support import cell_texts, shown
from tests.ui.test_ui_xml import ALTO_IMAGE, ALTO_XML

SIZE = (80, 24)
OLD_TEXT = "Ꝙesãsͥ"  # the corpus file's first line
NEW_TEXT = "Quaesitum est"


def corrected_copy(corpus: Path, folder: Path) -> Path:
    """The corpus ALTO with a new text (and a language) on its first line, same file name."""
    folder.mkdir()
    data = (corpus / ALTO_XML).read_text(encoding="utf-8")
    assert data.count(f'CONTENT="{OLD_TEXT}"') == 1
    data = data.replace(f'CONTENT="{OLD_TEXT}"', f'CONTENT="{NEW_TEXT}"')
    data = data.replace(
        '<TextLine ID="eSc_line_0e5809e0"', '<TextLine LANG="lat" ID="eSc_line_0e5809e0"'
    )
    path = folder / Path(ALTO_XML).name
    path.write_text(data, encoding="utf-8")
    return path


async def test_an_earlier_text_is_shown_and_restored_from_the_page_view(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    doc = store.create_document("Register")
    part = add_page(
        store, doc.id, tmp_path / "img", ALTO_IMAGE, source=corpus / "images" / ALTO_IMAGE
    )
    for path in (corpus / ALTO_XML, corrected_copy(corpus, tmp_path / "corrected")):
        job = await run_job(store, XmlImporter(store, doc.id, path, name="diplomatic"))
        assert job.status == "done", job.error
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "enter")  # the document, its first page
        assert isinstance(app.screen, PageScreen)
        details = shown(app, "#line-text")
        assert "tags language:lat" in details and NEW_TEXT in details

        await pilot.press("h")
        assert isinstance(app.screen, LineHistoryScreen)
        assert cell_texts(app, 0) == ["now", "1"]
        assert cell_texts(app, 1) == ["xml: 0014.xml"] * 2
        assert cell_texts(app, 3) == [NEW_TEXT, OLD_TEXT]
        assert shown(app, "#history-text") == OLD_TEXT  # the cursor starts on the earlier one
        await pilot.press("enter")
        assert isinstance(app.screen, PageScreen)
        assert OLD_TEXT in shown(app, "#line-text")
        assert cell_texts(app, 3, "#lines")[0] == OLD_TEXT

        await pilot.press("h")  # the text restored over is the earlier one now
        assert cell_texts(app, 3) == [OLD_TEXT, NEW_TEXT]
        await pilot.press("escape")
        assert isinstance(app.screen, PageScreen)

    [version] = store.list_transcriptions(doc.id)
    layout = store.read_page_layout(doc.id, part.id)
    assert layout.texts_for(version.id)[layout.lines[0].id].text == OLD_TEXT
    command = [sys.executable, "-m", "esctui", "--json", "transcriptions", "history", "Register"]
    result = subprocess.run(
        [*command, "--page", "1", "--line", "1"],
        capture_output=True,
        text=True,
        env={**os.environ, "ESCTUI_DATA": str(store.root)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["text"] == OLD_TEXT
    assert [old["text"] for old in record["history"]] == [NEW_TEXT]
