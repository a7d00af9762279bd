"""Import > Transcriptions (XML), steered by hand: a file the names do not match is given a page
from the page picker (Ctrl+T), the preview follows, and the import sends its lines there; the
match rule (Ctrl+R) makes names match more strictly. Real corpus files, at 80x24."""

from __future__ import annotations

import shutil
from pathlib import Path

from esctui.formats.xml import parse_layout_xml
from esctui.store import Store
from esctui.ui.app import EsctuiApp
from esctui.ui.screens.import_xml import XmlImportScreen
from esctui.ui.screens.page_picker import PagePickerScreen
from tests.helpers import add_page, type_text
from tests.ui.support import cell_texts, shown
from tests.ui.test_ui_xml import (
    ALTO_IMAGE,
    ALTO_XML,
    PAGE_IMAGE,
    finish_job,
    open_xml_preview,
    settle,
)

SIZE = (80, 24)


async def test_an_unmatched_file_assigned_to_page_2_by_hand_lands_on_page_2(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    doc = store.create_document("Register")
    images = tmp_path / "img"
    first = add_page(store, doc.id, images, PAGE_IMAGE, source=corpus / "images" / PAGE_IMAGE)
    # the ALTO's own image under a name it does not give: nothing matches by name
    second = add_page(store, doc.id, images, "scan-b.jpg", source=corpus / "images" / ALTO_IMAGE)
    xml = tmp_path / "mystery.xml"
    shutil.copyfile(corpus / ALTO_XML, xml)
    expected = parse_layout_xml(xml, image_size=(second.width, second.height))
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_xml_preview(pilot, app, xml)
        assert cell_texts(app, 5, "#xml-plan") == ["no page"]
        assert shown(app, "#xml-summary").startswith("0 of 1 file matches a page; 1 unmatched")

        await pilot.press("ctrl+t")
        assert isinstance(app.screen, PagePickerScreen)
        assert cell_texts(app, 1) == [first.name, second.name]  # every page, in order
        await type_text(pilot, "scan")
        assert cell_texts(app, 0) == ["2"]  # the filter leaves the one page it fits
        await pilot.press("enter")
        await settle(pilot, app)  # the preview is read again

        assert isinstance(app.screen, XmlImportScreen)
        table = [cell_texts(app, column, "#xml-plan") for column in (1, 2, 5)]
        assert table == [[second.name], ["by hand"], ["ok"]]
        summary = shown(app, "#xml-summary")
        assert summary == "1 of 1 file matches a page; 1 given a page by hand"
        assert f"→ page {second.name} (given by hand as page 2)" in shown(app, "#xml-detail")
        await pilot.press("ctrl+s")
        await finish_job(pilot, app)
    [job] = store.list_jobs()
    assert (job.kind, job.status) == ("xml", "done"), job.error
    assert store.read_page_layout(doc.id, first.id).lines == []
    layout = store.read_page_layout(doc.id, second.id)
    assert [line.external_id for line in layout.lines] == [line.id for line in expected.lines]
    [version] = store.list_transcriptions(doc.id)
    texts = layout.texts_for(version.id)
    assert [texts[line.id].text for line in layout.lines] == [ln.text for ln in expected.lines]


async def test_the_match_rule_exact_leaves_out_a_file_matched_only_by_its_stem(
    store: Store, corpus: Path, tmp_path: Path
) -> None:
    doc = store.create_document("Register")
    # the XML names "0014.jpg"; the page's image is "0014.jpeg": the same but for the extension
    image = corpus / "images" / ALTO_IMAGE
    part = add_page(store, doc.id, tmp_path / "img", "0014.jpeg", source=image)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_xml_preview(pilot, app, corpus / ALTO_XML)
        assert cell_texts(app, 1, "#xml-plan") == [part.name]
        assert cell_texts(app, 2, "#xml-plan") == ["no ext."]
        await pilot.press("ctrl+r")  # basename: folders and case ignored, not the extension
        await settle(pilot, app)  # the preview is read again
        assert cell_texts(app, 5, "#xml-plan") == ["no page"]
        assert "; names match ignoring folders and case." in shown(app, "#xml-summary")
        await pilot.press("ctrl+r", "ctrl+r")  # exact, then stem again
        await settle(pilot, app)  # the preview is read again
        assert cell_texts(app, 5, "#xml-plan") == ["ok"]
