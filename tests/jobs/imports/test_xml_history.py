"""Earlier texts kept per line when a version is imported into again (bounded), restored from
the store and the command line; the steering options of the matching (--map, --match,
--match-regex) in a dry run and an import; tags shown where layouts are described."""

from __future__ import annotations

import asyncio
from pathlib import Path

from esctui.cli import main as cli_main
from esctui.domain import Job
from esctui.formats.xml import parse_layout_xml
from esctui.jobs.imports.xml import XmlImporter, merge_layout
from esctui.jobs.runner import run_job
from esctui.store import PageLayout, Store
from tests.helpers import add_page, page_xml


def run(store: Store, importer: XmlImporter) -> Job:
    return asyncio.run(run_job(store, importer))


def test_reimports_keep_a_bounded_history_and_an_earlier_text_can_be_restored(
    store: Store, tmp_path: Path, capsys
) -> None:
    """eScriptorium ``app/apps/imports/parsers.py`` (``make_transcription``: the current text
    goes into the line's history before an import replaces it) and ``app/apps/versioning/
    tests.py`` (``test_max_history``: the oldest falls out; ``test_nominal``: a revert puts the
    current text on top of the history and takes the chosen one out)."""
    doc = store.create_document("D")
    page = add_page(store, doc.id, tmp_path, "p.jpg")
    for number in range(1, 14):  # 13 imports of the same version, each a new text for l1
        (tmp_path / f"v{number}.xml").write_bytes(page_xml("p.jpg", [("l1", f"text {number}")]))
        job = run(store, XmlImporter(store, doc.id, tmp_path / f"v{number}.xml", name="A"))
        assert job.status == "done"
    version = store.get_transcription(doc.id, "A")
    line = store.read_page_layout(doc.id, page.id).lines[0]
    text = store.line_text(doc.id, page.id, line.id, version.id)
    assert text is not None and text.text == "text 13" and text.source == "xml: v13.xml"
    assert [old.text for old in text.history] == [f"text {n}" for n in range(12, 2, -1)]
    assert all(old.time > 0 for old in text.history)

    # The same file again changes nothing: no new history entry.
    run(store, XmlImporter(store, doc.id, tmp_path / "v13.xml", name="A"))
    assert len(store.line_text(doc.id, page.id, line.id, version.id).history) == 10

    code = cli_main(
        ["--data-dir", str(store.root), "transcriptions", "history", "D", "--page", "1",
         "--line", "1", "--version", "A"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "text 13" in out and "xml: v12.xml" in out
    code = cli_main(
        ["--data-dir", str(store.root), "transcriptions", "restore", "D", "--page", "1",
         "--line", "l1", "--version", "A", "--to", "3"]
    )  # fmt: skip
    assert code == 0 and "restored: text 10" in capsys.readouterr().out
    restored = store.line_text(doc.id, page.id, line.id, version.id)
    assert restored.text == "text 10" and restored.source.startswith("restored")
    assert [old.text for old in restored.history][:3] == ["text 13", "text 12", "text 11"]
    assert "text 10" not in [old.text for old in restored.history]
    # An export writes the current text only.
    from esctui.jobs.export import ExportJob

    asyncio.run(run_job(store, ExportJob(store, doc.id, tmp_path / "out", format="page")))
    exported = (tmp_path / "out" / "p.xml").read_text()
    assert "text 10" in exported and "text 13" not in exported
    code = cli_main(
        ["--data-dir", str(store.root), "transcriptions", "restore", "D", "--page", "1",
         "--line", "1", "--to", "11"]
    )  # fmt: skip
    assert code == 1 and "no number 11" in capsys.readouterr().err


def test_override_keeps_the_history_of_lines_with_the_same_xml_id(tmp_path: Path) -> None:
    first = parse_layout_xml(page_xml("p.jpg", [("l1", "old")]), name="a.xml", validate=False)
    second = parse_layout_xml(page_xml("p.jpg", [("l1", "new")]), name="b.xml", validate=False)
    before = merge_layout(PageLayout(), first, "part", "v", override=False, source="a").layout
    after = merge_layout(before, second, "part", "v", override=True, source="b", history=1)
    [text] = after.layout.texts
    assert text.text == "new" and [(r.text, r.source) for r in text.history] == [("old", "a")]
    assert after.kept_in_history == 1


def test_map_match_and_regex_steer_the_matching(store: Store, tmp_path: Path, capsys) -> None:
    doc = store.create_document("M")
    for name in ("IMG_0001.jpg", "IMG_0002.jpg", "IMG_0003.jpg"):
        add_page(store, doc.id, tmp_path / "img", name)
    from tests.helpers import write_zip

    archive = write_zip(
        tmp_path / "x.zip",
        {
            "scan-0002.xml": page_xml("wrong.tif", [("a", "two")]),
            "other.xml": page_xml(None, [("b", "three")]),
            "img_0001.XML": page_xml("img_0001.png", [("c", "one")]),
        },
    )
    base = ["--data-dir", str(store.root), "import", "xml", "M", str(archive), "--dry-run"]
    code = cli_main(base)
    out = capsys.readouterr().out
    assert code == 3 and out.count("unmatched") == 2  # only img_0001 fits, ignoring extension

    code = cli_main([*base, "--map", "other.xml=3", "--match-regex", r"(?P<page>\d{4})", "--json"])
    import json

    plan = json.loads(capsys.readouterr().out)
    assert code == 0
    assert plan["mapping"] == ["--map other.xml=3", r"--match-regex (?P<page>\d{4})"]
    pages = {item["file"]: (item["page"], item["matched_by"]) for item in plan["files"]}
    assert pages == {
        "scan-0002.xml": ("IMG_0002", "--match-regex page 2"),
        "other.xml": ("IMG_0003", "--map 3"),
        "img_0001.XML": ("IMG_0001", "--match-regex page 1"),
    }
    code = cli_main([*base, "--match", "exact"])
    out = capsys.readouterr().out
    assert code == 3 and "(names compared: exact)" in out
    code = cli_main([*base, "--match-regex", r"\d+"])
    assert code == 2 and "no group named 'page'" in capsys.readouterr().err
    code = cli_main([*base[:-1], "--map", "other.xml=3", "--match-regex", r"(?P<page>\d{4})"])
    assert code == 0
    assert store.get_part(doc.id, store.list_parts(doc.id)[2].id).line_count == 1


def test_tags_are_shown_where_layouts_are_described(
    store: Store, tmp_path: Path, corpus: Path, capsys
) -> None:
    doc = store.create_document("T")
    add_page(store, doc.id, tmp_path, "bsb.jpg", (2000, 3000))
    alto = corpus / "alto" / "bsb00084914_00007.xml"
    base = [
        "--data-dir",
        str(store.root),
        "import",
        "xml",
        "T",
        str(alto),
        "--map",
        f"{alto.name}=1",
    ]
    assert cli_main([*base, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "split:train 2" in out and "language:deu 2" in out
    assert cli_main(base) == 0
    capsys.readouterr()
    assert cli_main(["--data-dir", str(store.root), "documents", "show", "T"]) == 0
    out = capsys.readouterr().out
    assert "line tags:" in out and "split:validation 1" in out and "region tags:" in out
