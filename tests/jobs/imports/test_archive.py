"""Archive and METS imports through the job: Transkribus, OCR-D and eScriptorium exports built
from corpus files (``tests/formats/mets_builders``), pages in the METS's order with their
versions, the XML import's merge (history kept on a second import), hostile METS refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

from esctui.domain import Job, JobStatus
from esctui.jobs.imports.archive import ArchiveImporter
from esctui.jobs.imports.mets import MetsImporter
from esctui.jobs.runner import run_job
from esctui.store import Store
from tests.formats.mets_builders import (
    escriptorium_export,
    ocrd_workspace,
    transkribus_export,
    zip_folder,
)


def run(store: Store, importer) -> Job:
    return asyncio.run(run_job(store, importer))


def texts(store: Store, document_id: str, part_id: str, version: str) -> list[str]:
    version_id = store.get_transcription(document_id, version).id
    layout = store.read_page_layout(document_id, part_id)
    by_line = layout.texts_for(version_id)
    return [by_line[line.id].text for line in layout.lines if line.id in by_line]


def test_transkribus_export_zip_gives_pages_in_mets_order_with_their_page_xml(
    store: Store, tmp_path: Path, corpus: Path
) -> None:
    folder = tmp_path / "trp"
    transkribus_export(corpus, folder)
    archive = zip_folder(folder, tmp_path / "export.zip", prefix="4711/Kirchenbuch/")
    doc = store.create_document("Kirchenbuch")

    job = run(store, ArchiveImporter(store, doc.id, archive))

    assert job.status == JobStatus.DONE.value, job.error
    parts = store.list_parts(doc.id)
    # The METS order (not the natural order of the names, which would put 0014 first).
    assert [p.original_filename for p in parts] == [
        "170025120000003,0074.jpg",
        "0014.jpg",
        "input.jpg",
    ]
    versions = [v.name for v in store.list_transcriptions(doc.id)]
    assert versions == ["METS Import | PAGEXML"]
    first = store.read_page_layout(doc.id, parts[0].id)
    assert len(first.lines) == 44 and len(first.regions) > 0
    assert all(text for text in texts(store, doc.id, parts[0].id, versions[0]))
    assert {r.type for r in first.regions} >= {"$pac", "$par"}
    document = store.get_document(doc.id)
    assert "Kirchenbuch Wien 1642" in document.description
    assert "--- from the METS" in document.description
    assert document.metadata.get("Author") == "Pfarre St. Stephan"
    assert job.report.counts["pages"] == 3


def test_second_import_of_the_same_archive_keeps_earlier_texts_in_the_history(
    store: Store, tmp_path: Path, corpus: Path
) -> None:
    folder = tmp_path / "trp"
    transkribus_export(corpus, folder)
    doc = store.create_document("K")
    run(store, ArchiveImporter(store, doc.id, folder))
    page_file = folder / "page" / "170025120000003,0074.xml"
    page_file.write_bytes(page_file.read_bytes().replace(b"<Unicode>", b"<Unicode>X ", 1))

    job = run(store, ArchiveImporter(store, doc.id, folder))

    assert job.status == JobStatus.DONE.value, job.error
    parts = store.list_parts(doc.id)
    assert len(parts) == 3  # the same images: no new pages, the XML went to them
    version = store.get_transcription(doc.id, "METS Import | PAGEXML")
    layout = store.read_page_layout(doc.id, parts[0].id)
    changed = [t for t in layout.texts_for(version.id).values() if t.history]
    assert len(changed) == 1
    assert changed[0].text.startswith("X ")
    assert changed[0].history[0].text == changed[0].text[2:]
    assert changed[0].history[0].source.startswith("xml: ")


def test_escriptorium_export_and_ocrd_workspace(
    store: Store, tmp_path: Path, corpus: Path
) -> None:
    archive = escriptorium_export(corpus, tmp_path / "esc.zip")
    doc = store.create_document("E")
    job = run(store, ArchiveImporter(store, doc.id, archive))
    assert job.status == JobStatus.DONE.value, job.error
    parts = store.list_parts(doc.id)
    assert [p.original_filename for p in parts] == ["0014.jpg", "input.jpg"]
    assert [v.name for v in store.list_transcriptions(doc.id)] == ["METS Import | export"]
    assert len(store.read_page_layout(doc.id, parts[0].id).lines) == 2

    ocrd_workspace(corpus, tmp_path / "ws")
    doc2 = store.create_document("O")
    job = run(store, MetsImporter(store, doc2.id, tmp_path / "ws" / "mets.xml"))
    assert job.status == JobStatus.DONE.value, job.error
    parts = store.list_parts(doc2.id)
    assert [p.original_filename for p in parts] == ["OCR-D-IMG_0001.jpg", "OCR-D-IMG_0002.jpg"]
    names = [v.name for v in store.list_transcriptions(doc2.id)]
    assert names == ["METS Import | OCR-D-GT-SEG-PAGE"]
    assert len(store.read_page_layout(doc2.id, parts[1].id).lines) == 44
