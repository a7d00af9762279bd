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


def test_escriptorium_export_and_ocrd_workspace(store: Store, tmp_path: Path, corpus: Path) -> None:
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


# --------------------------------------------------------------------------------------------
# A remote METS, served by a real HTTP server on 127.0.0.1
# --------------------------------------------------------------------------------------------

LIBRARY_IMAGES = {
    "0001.jpg": "images/input.jpg",
    "0002.jpg": "images/170025120000003,0074.jpg",
    "0003.jpg": "images/0014.jpg",
}


def _library(server, corpus: Path, *, shuffle: bool = True) -> str:
    """A digital library's METS (DFG profile) on ``server``: three pages listed in reverse
    div order (their ORDER gives the order), images in MAX/DEFAULT/MIN, ALTO for page 3."""
    from tests.formats.mets_builders import LibraryPage, library_mets

    for name, source in LIBRARY_IMAGES.items():
        for group in ("max", "default", "min"):
            server.image_sources[f"/lib/{group}/{name}"] = corpus / source
    server.add_document("/lib/alto/0003.xml", (corpus / "alto/0014.xml").read_bytes())
    pages = [
        LibraryPage(1, "[Ir]", "0001.jpg"),
        LibraryPage(2, "[Iv]", "0002.jpg"),
        LibraryPage(3, "1", "0003.jpg", fulltext="../lib/alto/0003.xml"),
    ]
    mets = library_mets(
        pages, image_base=f"{server.base_url}/lib/", groups=("DEFAULT", "MIN", "MAX"),
        shuffle=shuffle,
    )  # fmt: skip
    return server.add_document("/mets/PPN1642.xml", mets, "application/xml")


def test_remote_mets_pages_in_physical_order_images_from_max_resumed(
    store: Store, corpus: Path
) -> None:
    from tests.servers.iiif import IiifTestServer

    with IiifTestServer() as server:
        url = _library(server, corpus)
        doc = store.create_document("Library")
        job = run(store, MetsImporter(store, doc.id, url))
        assert job.status == JobStatus.DONE.value, (job.error, job.report.skipped)
        parts = store.list_parts(doc.id)
        assert [p.name for p in parts] == ["[Ir]", "[Iv]", "1"]
        assert [p.source for p in parts] == [
            f"{server.base_url}/lib/max/{name}" for name in LIBRARY_IMAGES
        ]
        assert server.count("/lib/default/") == 0 and server.count("/lib/min/") == 0
        assert [v.name for v in store.list_transcriptions(doc.id)] == ["METS Import | FULLTEXT"]
        assert len(store.read_page_layout(doc.id, parts[2].id).lines) == 2
        document = store.get_document(doc.id)
        assert "Das Kirchenbuch der Pfarre St. Stephan" in document.description
        assert document.metadata["Shelfmark"] == "KB 17/3"

        downloads = server.count("/lib/max/")
        again = run(store, MetsImporter(store, doc.id, url))
        assert again.status == JobStatus.DONE.value, again.error
        assert server.count("/lib/max/") == downloads  # resumed: nothing fetched again
        assert again.report.counts["already imported"] == 3
        assert len(store.list_parts(doc.id)) == 3


def test_oai_record_and_allowed_hosts(store: Store, corpus: Path) -> None:
    from tests.formats.mets_builders import oai_get_record
    from tests.servers.iiif import IiifTestServer

    with IiifTestServer() as server:
        url = _library(server, corpus)
        import httpx

        record = oai_get_record(httpx.get(url).content, "oai:example.org:PPN1642")
        oai = server.add_document("/oai/PPN1642", record, "text/xml")
        doc = store.create_document("OAI")
        job = run(store, MetsImporter(store, doc.id, oai))
        assert job.status == JobStatus.DONE.value, job.error
        assert len(store.list_parts(doc.id)) == 3
        assert "oai:example.org:PPN1642" in store.get_document(doc.id).description

        # Only files from an allowed host: every image here is on 127.0.0.1, so none is.
        other = store.create_document("Other hosts")
        job = run(
            store,
            MetsImporter(store, other.id, url, allowed_domains=("images.example.org",)),
        )
        assert job.status == JobStatus.FAILED.value
        assert "not among the allowed hosts (images.example.org)" in job.error
        assert store.list_parts(other.id) == []


# --------------------------------------------------------------------------------------------
# Hostile METS through the job and the command: a clear sentence, never a traceback
# --------------------------------------------------------------------------------------------


def _cli(store: Store, capsys, *args: str) -> tuple[int, str]:
    from esctui.cli import main as cli_main

    code = cli_main(["--data-dir", str(store.root), *args])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out + out.err


def test_hostile_mets_files_are_refused_with_a_reason(
    store: Store, tmp_path: Path, corpus: Path, capsys
) -> None:
    from tests.formats.mets_builders import LibraryPage, library_mets
    from tests.servers.iiif import IiifTestServer

    store.create_document("H")
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "max").mkdir()
    (folder / "max" / "0001.jpg").write_bytes((corpus / "images/input.jpg").read_bytes())
    good = library_mets([LibraryPage(1, "1", "0001.jpg")], groups=("MAX",)).decode()

    # XXE: an entity declared in a DOCTYPE.
    xxe = good.replace(
        "<mets:mets", '<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<mets:mets', 1
    )
    (folder / "xxe.xml").write_text(xxe)
    code, out = _cli(store, capsys, "import", "mets", "H", str(folder / "xxe.xml"))
    assert code == 1 and "declares XML entities" in out

    # file:// and ../ hrefs: left out with the reason, the good page imported (exit 3).
    pages = [LibraryPage(1, "1", "0001.jpg"), LibraryPage(2, "2", "0002.jpg")]
    escaping = library_mets(pages, groups=("MAX",)).decode()
    escaping = escaping.replace('"max/0002.jpg"', '"file:///etc/hostname"')
    escaping = escaping.replace(
        "</mets:fileGrp>",
        '<mets:file ID="UP" MIMETYPE="image/jpeg"><mets:FLocat LOCTYPE="URL" '
        'xlink:href="../../outside.jpg"/></mets:file></mets:fileGrp>',
        1,
    ).replace(
        '<mets:fptr FILEID="FILE_0001_MAX"/>',
        '<mets:fptr FILEID="FILE_0001_MAX"/><mets:fptr FILEID="UP"/>',
    )
    (folder / "escaping.xml").write_text(escaping)
    code, out = _cli(store, capsys, "import", "mets", "H", str(folder / "escaping.xml"))
    assert code == 3, out
    assert "file://" in out and "which a METS file may not do" in out
    assert "goes up with '..'" in out
    assert len(store.list_parts(store.get_document("H").id)) == 1

    # Too many pages: refused before anything is fetched.
    many = [LibraryPage(n, str(n), f"{n:05d}.jpg") for n in range(1, 10_002)]
    (folder / "many.xml").write_bytes(library_mets(many, groups=("MAX",)))
    code, out = _cli(store, capsys, "import", "mets", "H", str(folder / "many.xml"))
    assert code == 1 and "10,001 pages; at most 10,000" in out

    # A loop of mptr links between two remote METS files.
    def link(href: str) -> str:
        return (
            '      <mets:div ID="LOG_P" TYPE="volume" LABEL="Part">\n'
            f'        <mets:mptr LOCTYPE="URL" xlink:href="{href}"/>\n      </mets:div>\n'
        )

    with IiifTestServer() as server:
        server.add_document("/m/one.xml", library_mets([], groups=(), links=link("two.xml")))
        server.add_document("/m/two.xml", library_mets([], groups=(), links=link("one.xml")))
        code, out = _cli(store, capsys, "import", "mets", "H", f"{server.base_url}/m/one.xml")
    assert code == 1 and "lead in a loop" in out
