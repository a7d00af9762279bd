"""The per-version text counts the store keeps in each page row (``transcriptions list`` and the
Versions screen read them instead of every page): right after imports, overrides, deleted
pages, renamed and deleted versions, older data folders and a crash between the writes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from esctui.domain import Line, LineText, TranscriptionSource
from esctui.store import PageLayout, Store
from esctui.store.versions import VersionStats, version_stats
from tests.helpers import add_page, add_pages, page_xml, read_json, run_esctui, write_zip
from tests.store.test_recovery import leave_crash_marker


def counted_by_reading_every_page(store: Store, document_id: str) -> dict[str, VersionStats]:
    """The stats worked out the slow way, from every page's layout (what the counts replace)."""
    stats = {v.id: VersionStats() for v in store.list_transcriptions(document_id)}
    for part in store.list_parts(document_id):
        layout = store.read_page_layout(document_id, part.id)
        line_ids = {line.id for line in layout.lines}
        seen: set[str] = set()
        for text in layout.texts:
            if text.transcription_id in stats and text.text and text.line_id in line_ids:
                stats[text.transcription_id].lines += 1
                stats[text.transcription_id].characters += len(text.text)
                seen.add(text.transcription_id)
        for version in seen:
            stats[version].pages += 1
    return stats


def layout_with(part_id: str, version_ids: list[str], texts: list[str]) -> PageLayout:
    """A page of ``len(texts)`` lines, each with ``texts[i]`` in every version ("" = empty)."""
    lines = [Line(part_id=part_id, baseline=[(0, 10 * i), (50, 10 * i)], order=i) for i in range(len(texts))]  # fmt: skip
    return PageLayout(
        lines=lines,
        texts=[
            LineText(line.id, v, text)
            for line, text in zip(lines, texts, strict=True)
            for v in version_ids
        ],
    )


def test_counts_follow_writes_overrides_deleted_pages_and_deleted_versions(
    store: Store, make_image
) -> None:
    doc = store.create_document("Register")
    parts = add_pages(store, doc.id, make_image, ["p1", "p2", "p3"])
    first = store.create_transcription(doc.id, "first", TranscriptionSource.XML)
    second = store.create_transcription(doc.id, "second", TranscriptionSource.MANUAL)
    both = [first.id, second.id]
    store.write_page_layouts(
        doc.id,
        {
            parts[0].id: layout_with(parts[0].id, both, ["Item", "dem", ""]),
            parts[1].id: layout_with(parts[1].id, [first.id], ["ersamen Rath"]),
        },
    )
    stats = version_stats(store, doc.id)
    assert stats == counted_by_reading_every_page(store, doc.id)
    assert stats[first.id] == VersionStats(pages=2, lines=3, characters=4 + 3 + 12)
    assert stats[second.id] == VersionStats(pages=1, lines=2, characters=7)

    # an override of page 1: fewer lines, other texts
    store.write_page_layout(doc.id, parts[0].id, layout_with(parts[0].id, [second.id], ["zu"]))
    stats = version_stats(store, doc.id)
    assert stats == counted_by_reading_every_page(store, doc.id)
    assert stats[first.id] == VersionStats(pages=1, lines=1, characters=12)
    assert stats[second.id] == VersionStats(pages=1, lines=1, characters=2)

    store.delete_parts(doc.id, [parts[1].id])
    assert version_stats(store, doc.id)[first.id] == VersionStats()

    store.rename_transcription(doc.id, "second", "Zweite")
    assert version_stats(store, doc.id)[second.id] == VersionStats(pages=1, lines=1, characters=2)

    store.delete_transcription(doc.id, "Zweite")
    assert version_stats(store, doc.id) == {first.id: VersionStats()}
    rows = read_json(store.document_dir(doc.id) / "document.json")["parts"].values()
    assert all(second.id not in json.dumps(row) for row in rows)  # no count left behind
    # a new version of the same name starts at zero, not at the deleted one's counts
    again = store.create_transcription(doc.id, "Zweite", TranscriptionSource.MANUAL)
    assert version_stats(store, doc.id)[again.id] == VersionStats()


def test_transcriptions_list_counts_after_xml_imports_and_an_override(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Store(data)
    doc = store.create_document("Ratsbuch")
    for name in ("f1.png", "f2.png"):
        add_page(store, doc.id, tmp_path / "images", name)
    store.close()
    files = {
        "f1.xml": page_xml("f1.png", [("l1", "Item dem"), ("l2", "ersamen"), ("l3", None)]),
        "f2.xml": page_xml("f2.png", [("l1", "Rath")]),
    }
    archive = write_zip(tmp_path / "pages.zip", files)
    assert (
        run_esctui(data, "import", "xml", "Ratsbuch", str(archive), "--name", "A").returncode == 0
    )
    override = tmp_path / "f1.xml"
    override.write_bytes(page_xml("f1.png", [("x1", "zu Nürnberg")]))
    imported = run_esctui(data, "import", "xml", "Ratsbuch", str(override), "--name", "A", "--override")  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    listed = run_esctui(data, "--json", "transcriptions", "list", "Ratsbuch")
    assert listed.returncode == 0, listed.stderr
    [version] = json.loads(listed.stdout)
    assert (version["pages_with_text"], version["lines_with_text"]) == (2, 2)
    assert version["characters"] == len("zu Nürnberg") + len("Rath")


def test_pages_written_by_an_older_esctui_are_counted_from_their_layout(
    store: Store, make_image
) -> None:
    doc = store.create_document("Register")
    [part] = add_pages(store, doc.id, make_image, ["p1"])
    version = store.create_transcription(doc.id, "v", TranscriptionSource.XML)
    store.write_page_layout(doc.id, part.id, layout_with(part.id, [version.id], ["Item", "dem"]))
    store.close()
    document_file = store.document_dir(doc.id) / "document.json"
    data = read_json(document_file)
    for row in data["parts"].values():
        del row["text_counts"]  # as an esctui before the counts wrote it
    document_file.write_text(json.dumps(data), encoding="utf-8")
    reopened = Store(store.root)
    assert reopened.text_counts(doc.id) == {part.id: None}
    assert version_stats(reopened, doc.id)[version.id] == VersionStats(1, 2, 7)


def test_a_crash_between_the_page_write_and_the_document_write_is_recounted(
    store: Store, make_image
) -> None:
    doc = store.create_document("Register")
    [part] = add_pages(store, doc.id, make_image, ["p1"])
    version = store.create_transcription(doc.id, "v", TranscriptionSource.XML)
    store.write_page_layout(doc.id, part.id, layout_with(part.id, [version.id], ["Item"]))
    document_file = store.document_dir(doc.id) / "document.json"
    before = document_file.read_bytes()  # the document file as it was before the next commit
    store.write_page_layout(doc.id, part.id, layout_with(part.id, [version.id], ["a", "bc", ""]))
    store.close()
    # the crash: the page file is the new one, the document file still the old one (a commit
    # writes pages first, so the old document file is older than the new page file)
    page_file = store.document_dir(doc.id) / "pages" / f"{part.id}.json"
    stale = document_file.with_name("stale.json")
    stale.write_bytes(before)
    shutil.copystat(document_file, stale)
    stale.replace(document_file)
    page_ns = page_file.stat().st_mtime_ns
    os.utime(document_file, ns=(page_ns - 1_000_000_000, page_ns - 1_000_000_000))
    stale_store = Store(store.root)
    assert version_stats(stale_store, doc.id)[version.id].lines == 1  # what the crash left
    stale_store.close()

    leave_crash_marker(stale_store)
    recovered = Store(store.root)
    assert version_stats(recovered, doc.id)[version.id] == VersionStats(1, 2, 3)
    assert recovered.get_part(doc.id, part.id).line_count == 3
    assert version_stats(recovered, doc.id) == counted_by_reading_every_page(recovered, doc.id)
