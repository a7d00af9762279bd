"""IIIF import into the store (esctui.jobs.imports.iiif) and ``esctui import iiif`` (esctui.cli.iiif).

Everything runs against the real HTTP server of tests/servers/iiif.py on 127.0.0.1, serving the
corpus manifests (rewritten to point at it) and real corpus images; faults are injected there.
Each canvas is given its own image file (a copy of a corpus JPEG that differs in a comment), so
pages never share a SHA-256 by accident.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

from esctui.domain import Document, Job, JobStatus
from esctui.formats.iiif import CollectionMember, IiifManifest, parse_manifest
from esctui.jobs.imports.iiif import (
    BLOCK_END,
    IiifImporter,
    check_source,
    collection_members,
    image_file_name,
    member_document_names,
    merge_description,
)
from esctui.jobs.runner import JobProgress, run_job
from esctui.store import Store
from tests.helpers import jpeg_copies, make_image
from tests.helpers import run_esctui as esctui
from tests.servers.iiif import (
    BOOK_LABELS,
    CORPUS,
    MANIFEST_DIR,
    RTL_LABEL,
    Fault,
    IiifTestServer,
    add_collection,
    give_distinct_images,
    image_path,
    served,
)

SOURCES = [
    CORPUS / "images" / "input.jpg",
    CORPUS / "images" / "170025120000003,0074.jpg",
    CORPUS / "images" / "0014.jpg",
]


@pytest.fixture
def server():
    with IiifTestServer() as running:
        yield running


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def size_of(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def new_document(store: Store, name: str = "Book") -> Document:
    return store.create_document(name)


async def run(store: Store, document: Document, source: str, **options) -> Job:
    return await run_job(store, IiifImporter(store, document.id, source, **options))


def staging_left(store: Store, document: Document) -> list[Path]:
    staging = store.document_dir(document.id) / ".staging"
    return [p for p in staging.rglob("*")] if staging.exists() else []


# --------------------------------------------------------------------------------------------
# Importing manifests


async def test_v3_manifest_pages_in_canvas_order(server, store, tmp_path) -> None:
    files = give_distinct_images(server, "v3_book-1", tmp_path)
    manifest = served(server, "v3_book-1")
    server.inject(image_path(manifest.canvases[0]), Fault(delay=0.4))  # first page finishes last
    document = new_document(store)
    job = await run(store, document, server.manifest_url("v3_book-1"))
    assert job.status == JobStatus.DONE.value, job.error
    assert job.kind == "iiif" and job.title == "IIIF: Simple Manifest - Book into Book"
    parts = store.list_parts(document.id)
    assert [p.name for p in parts] == BOOK_LABELS
    assert [p.order for p in parts] == [0, 1, 2, 3, 4]
    assert [p.external_id for p in parts] == [c.key for c in manifest.canvases]
    assert [p.source for p in parts] == [c.full_image_url() for c in manifest.canvases]
    assert [p.original_filename for p in parts] == [
        f"{urlsplit(c.service.id).path.rsplit('/', 1)[1]}.jpg" for c in manifest.canvases
    ]
    for part, served_file in zip(parts, files, strict=True):
        stored = store.part_image_path(part)
        assert part.sha256 == sha256(stored) == sha256(served_file)  # the bytes the server sent
        assert (part.width, part.height) == size_of(served_file) == size_of(stored)
        assert store.ensure_thumbnail(part) == store.part_thumbnail_path(part)
    assert [item.name for item in job.report.imported] == BOOK_LABELS
    assert job.report.skipped == [] and job.total == 5 and job.done == 5
    described = store.get_document(document.id)
    assert described.metadata == {"IIIF manifest": server.manifest_url("v3_book-1")}
    assert "Simple Manifest - Book" in described.description
    assert described.read_direction == "ltr"
    assert staging_left(store, document) == []


async def test_v2_manifest_without_image_service(server, store) -> None:
    manifest = served(server, "v2_publishing")
    png = CORPUS / "images" / "bw.png"
    server.image_sources[image_path(manifest.canvases[0])] = png
    document = new_document(store)
    job = await run(store, document, server.manifest_url("v2_publishing"))
    assert job.status == JobStatus.DONE.value, job.error
    [part] = store.list_parts(document.id)
    assert (part.name, part.format, part.original_filename) == ("p. 1", "PNG", "page1-full.png")
    assert part.sha256 == sha256(png) and (part.width, part.height) == size_of(png)
    assert (
        part.source
        == f"{server.base_url}/presentation/2.1/example/fixtures/resources/page1-full.png"
    )


async def test_metadata_and_description_are_stored(server, store, tmp_path) -> None:
    give_distinct_images(server, "v3_metadata-anywhere", tmp_path)
    url = server.manifest_url("v3_metadata-anywhere")
    document = new_document(store)
    job = await run(store, document, url)
    assert job.status == JobStatus.DONE.value, job.error
    described = store.get_document(document.id)
    assert described.metadata == {
        "Creator": "Glindoni, Henry Gillard, 1852-1913",
        "Date": "1800-1899",
        "Physical Description": "1 painting : oil on canvas ; canvas 152 x 244.4 cm",
        "Reference": "Wellcome Library no. 47369i",
        "Attribution": "Wellcome Collection. Attribution-NonCommercial 4.0 International "
        "(CC BY-NC 4.0)",
        "IIIF manifest": url,
    }
    text = described.description
    assert text.startswith(f"--- from the IIIF manifest {url} ---\n")
    assert text.endswith(BLOCK_END)
    assert "John Dee performing an experiment before Queen Elizabeth I." in text
    assert "Creator: Glindoni, Henry Gillard, 1852-1913" in text
    assert f"IIIF manifest: {url}" in text
    names = [p.name for p in store.list_parts(document.id)]
    assert names == ["Painting under natural light", "X-ray view of painting"]


async def test_description_merge_keeps_what_the_user_wrote(server, store, tmp_path) -> None:
    give_distinct_images(server, "v3_metadata-anywhere", tmp_path)
    url = server.manifest_url("v3_metadata-anywhere")
    document = new_document(store)
    document.description = "My notes on this painting."
    document.metadata = {"Shelfmark": "MS 12", "Date": "about 1900"}
    store.update_document(document)
    job = await run(store, document, url)
    described = store.get_document(document.id)
    assert described.metadata["Shelfmark"] == "MS 12"  # kept
    assert described.metadata["Date"] == "1800-1899"  # the manifest's, and said so
    assert any("'Date' (was 'about 1900')" in note for note in job.report.notes)
    assert described.description.startswith("My notes on this painting.\n\n--- from the IIIF")
    # The user adds text after the block; a re-import replaces only its own block.
    described.description += "\n\nMore notes."
    store.update_document(described)
    again = await run(store, described, url)
    assert again.status == JobStatus.DONE.value
    text = store.get_document(document.id).description
    assert text.count("--- from the IIIF manifest") == 1 and text.count(BLOCK_END) == 1
    assert text.startswith("My notes on this painting.") and text.endswith("More notes.")


def test_merge_description_by_manifest_url() -> None:
    first = parse_manifest((MANIFEST_DIR / "v3_book-1.json").read_bytes(), url="https://a/m1")
    second = parse_manifest((MANIFEST_DIR / "v3_rtl.json").read_bytes(), url="https://a/m2")
    assert isinstance(first, IiifManifest) and isinstance(second, IiifManifest)

    def merge(current: str, manifest: IiifManifest) -> str:
        return merge_description(current, manifest.url, manifest.description_text())

    text = merge("", first)
    assert (
        text
        == f"--- from the IIIF manifest https://a/m1 ---\n{first.description_text()}\n{BLOCK_END}"
    )
    both = merge(text, second)
    assert both.startswith(text + "\n\n--- from the IIIF manifest https://a/m2 ---")
    assert merge(both, first) == both  # replaced in place, not added again
    no_end = merge("intro\n\n" + text.replace(BLOCK_END, ""), first)
    assert no_end == "intro\n\n" + text


async def test_right_to_left_manifest_sets_the_direction(server, store, tmp_path) -> None:
    give_distinct_images(server, "v3_rtl", tmp_path)
    empty = new_document(store, "Playbill")
    job = await run(store, empty, server.manifest_url("v3_rtl"), max_width=400)
    assert job.status == JobStatus.DONE.value, job.error
    assert store.get_document(empty.id).read_direction == "rtl"
    parts = store.list_parts(empty.id)
    assert [p.name for p in parts] == [
        "front cover", "pages 1–2", "pages 3–4", "pages 5–6", "back cover"
    ]  # fmt: skip
    assert all(p.width == 400 for p in parts)  # --max-width reached the image server
    assert any("right to left" in note for note in job.report.notes)

    give_distinct_images(server, "v3_image-service", tmp_path)
    with_pages = new_document(store, "Mixed")
    await run(store, with_pages, server.manifest_url("v3_image-service"))
    job = await run(store, with_pages, server.manifest_url("v3_rtl"), max_width=300)
    assert store.get_document(with_pages.id).read_direction == "ltr"
    assert any("already had pages" in note for note in job.report.notes)


async def test_local_manifest_file(server, store, tmp_path) -> None:
    give_distinct_images(server, "v3_book-1", tmp_path)
    local = tmp_path / "manifest.json"
    local.write_text(server.rewritten_manifest("v3_book-1"), encoding="utf-8")
    document = new_document(store)
    job = await run(store, document, str(local))
    assert job.status == JobStatus.DONE.value, job.error
    parts = store.list_parts(document.id)
    assert [p.name for p in parts] == BOOK_LABELS
    assert all(p.source.startswith(server.base_url + "/image/3.0/") for p in parts)
    assert store.get_document(document.id).metadata["IIIF manifest"] == str(local.resolve())


# --------------------------------------------------------------------------------------------
# Resume and duplicates


async def test_reimport_adds_and_fetches_nothing(server, store, tmp_path) -> None:
    give_distinct_images(server, "v3_book-1", tmp_path)
    document = new_document(store)
    url = server.manifest_url("v3_book-1")
    await run(store, document, url)
    before = store.list_parts(document.id)
    server.reset_stats()
    job = await run(store, document, url)
    assert job.status == JobStatus.DONE.value and job.report.skipped == []
    assert job.report.imported == [] and job.report.counts == {"already imported": 5}
    assert [p.id for p in store.list_parts(document.id)] == [p.id for p in before]
    assert server.requests == ["/manifests/v3_book-1.json"]  # no image asked for again


async def test_cancel_keeps_whole_pages_and_the_rerun_fetches_the_rest(
    server, store, tmp_path
) -> None:
    give_distinct_images(server, "v3_book-1", tmp_path)
    manifest = served(server, "v3_book-1")
    url = server.manifest_url("v3_book-1")
    document = new_document(store)
    server.latency = 0.3  # every request: a slow server
    two_done = asyncio.Event()

    def on_progress(progress: JobProgress) -> None:
        if progress.done >= 2:
            two_done.set()

    # No timed commit: the pages kept are those committed when the cancel arrives.
    importer = IiifImporter(store, document.id, url, concurrency=1, commit_every_seconds=60)
    task = asyncio.create_task(run_job(store, importer, on_progress))
    await asyncio.wait_for(two_done.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    kept = store.list_parts(document.id)
    assert 2 <= len(kept) < 5
    keys = [c.key for c in manifest.canvases]
    assert [p.external_id for p in kept] == keys[: len(kept)]
    [cancelled] = store.list_jobs()
    assert cancelled.status == JobStatus.CANCELLED.value
    assert staging_left(store, document) == []

    server.latency = 0.0
    server.reset_stats()
    job = await run(store, document, url)
    assert job.status == JobStatus.DONE.value, job.error
    parts = store.list_parts(document.id)
    assert [p.external_id for p in parts] == keys  # all five, once each, in canvas order
    assert [p.id for p in parts[: len(kept)]] == [p.id for p in kept]
    for canvas in manifest.canvases:
        expected = 0 if canvas.index < len(kept) else 1
        assert server.count(image_path(canvas)) == expected, canvas.label
    assert job.report.counts == {"already imported": len(kept)}
    assert len(job.report.imported) == 5 - len(kept)


async def test_failed_image_is_reported_and_fetched_on_the_next_run(
    server, store, tmp_path
) -> None:
    give_distinct_images(server, "v3_book-1", tmp_path)
    manifest = served(server, "v3_book-1")
    missing = image_path(manifest.canvases[2])
    server.inject(missing, Fault(status=404, body=b"Not Found"))
    document = new_document(store)
    url = server.manifest_url("v3_book-1")
    job = await run(store, document, url)
    assert job.status == JobStatus.DONE.value
    [skipped] = job.report.skipped
    assert skipped.name == "Title page (canvas 3)"
    host = server.base_url.removeprefix("http://")
    assert skipped.reason == f"{host} answered 404 Not Found to GET {server.base_url}{missing}"
    names = [p.name for p in store.list_parts(document.id)]
    assert names == ["Blank page", "Frontispiece", "Blank page", "Bookplate"]

    server.reset_stats()
    again = await run(store, document, url)  # the server has the page now
    assert [item.name for item in again.report.imported] == ["Title page"]
    assert server.count("/full/") == 1
    assert [p.name for p in store.list_parts(document.id)] == BOOK_LABELS  # canvas order again
    assert any("put back in the manifest's canvas order" in n for n in again.report.notes)


async def test_a_late_page_stays_last_when_the_document_holds_other_pages(
    server, store, tmp_path
) -> None:
    from esctui.jobs.imports.images import LocalImagesImporter

    give_distinct_images(server, "v3_book-1", tmp_path)
    manifest = served(server, "v3_book-1")
    server.inject(image_path(manifest.canvases[2]), Fault(status=404, body=b"Not Found"))
    document = new_document(store)
    cover = make_image(tmp_path / "cover.png", size=(300, 400), text="cover")
    await run_job(store, LocalImagesImporter(store, document.id, [cover]))
    url = server.manifest_url("v3_book-1")
    await run(store, document, url)
    again = await run(store, document, url)
    names = [p.name for p in store.list_parts(document.id)]
    assert names == ["cover", "Blank page", "Frontispiece", "Blank page", "Bookplate", "Title page"]
    assert any("move them with K/J" in note for note in again.report.notes)


async def test_canvases_sharing_one_image_are_all_kept(server, store, tmp_path) -> None:
    """A canvas is a page: a manifest whose canvases show one placeholder image keeps every
    canvas (IIIF pages are told apart by canvas id, never by image bytes)."""
    manifest = served(server, "v3_metadata-anywhere")
    [copy] = jpeg_copies(SOURCES[0], tmp_path, 1)
    for canvas in manifest.canvases:
        server.image_sources[urlsplit(canvas.service.id).path] = copy
    document = new_document(store)
    job = await run(store, document, server.manifest_url("v3_metadata-anywhere"))
    assert [p.name for p in store.list_parts(document.id)] == [
        "Painting under natural light",
        "X-ray view of painting",
    ]
    assert job.report.skipped == []
    assert len({p.sha256 for p in store.list_parts(document.id)}) == 1  # one image, two pages


async def test_stalled_image_times_out_and_the_rest_is_imported(server, store, tmp_path) -> None:
    give_distinct_images(server, "v3_book-1", tmp_path)
    manifest = served(server, "v3_book-1")
    slow = image_path(manifest.canvases[1])
    server.inject(slow, Fault(delay=2.0), times=None)
    document = new_document(store)
    job = await run(store, document, server.manifest_url("v3_book-1"), timeout=0.5, retries=0)
    [skipped] = job.report.skipped
    assert skipped.name == "Frontispiece (canvas 2)"
    host = server.base_url.removeprefix("http://")
    assert skipped.reason.startswith(
        f"{host} did not answer anything for 0.5 s during GET {server.base_url}{slow}"
    )
    assert len(store.list_parts(document.id)) == 4


# --------------------------------------------------------------------------------------------
# Whole-manifest failures: the job fails with a clear message, nothing is imported


def bad_sources(server: IiifTestServer) -> list[tuple[str, str]]:
    """(source, the start of the error) for addresses that cannot be imported."""
    html = server.add_document(
        "/ark:/12148/btv1b8490076p",
        "<!DOCTYPE html><html><head><title>Gallica</title>",
        "text/html",
    )
    text = server.add_document("/soon.txt", "manifest coming soon", "text/plain")
    no_pages = server.add_document(
        "/empty.json",
        {"@context": "http://iiif.io/api/presentation/3/context.json", "id": "x",
         "type": "Manifest", "items": []},
    )  # fmt: skip
    server.inject("/loop/a", Fault(redirect_to="/loop/b"), times=None)
    server.inject("/loop/b", Fault(redirect_to="/loop/a"), times=None)
    missing = f"{server.base_url}/manifests/missing.json"
    return [
        (html, f"the server sent an HTML page, not a IIIF manifest ({html})"),
        (text, f"{text} is not valid JSON, so not a IIIF manifest"),
        (no_pages, f"the IIIF manifest {no_pages} is invalid: it lists no pages"),
        (missing, f"{server.base_url.removeprefix('http://')} answered 404 Not Found to GET"),
        (f"{server.base_url}/loop/a", f"{server.base_url.removeprefix('http://')} redirected GET"),
        ("file:///etc/hostname", "cannot import 'file:///etc/hostname': only web addresses"),
        ("ftp://127.0.0.1/manifest.json", "cannot import 'ftp://127.0.0.1/manifest.json'"),
    ]


async def test_bad_manifests_fail_the_job_clearly(server, store) -> None:
    document = new_document(store)
    for source, message in bad_sources(server):
        job = await run(store, document, source)
        assert job.status == JobStatus.FAILED.value, source
        assert job.error.startswith(message), job.error
    assert store.list_parts(document.id) == []
    assert store.get_document(document.id).description == ""


async def test_sub_collections_are_followed_once_each_to_their_manifests(server) -> None:
    """A v2 top collection -> a v3 sub-collection (listing the top again: a loop) -> manifests."""
    sub = server.add_document(
        "/sub.json",
        {
            "@context": "http://iiif.io/api/presentation/3/context.json",
            "id": f"{server.base_url}/sub.json",
            "type": "Collection",
            "label": {"en": ["Shelf B"]},
            "items": [
                {"id": server.manifest_url("v3_rtl"), "type": "Manifest",
                 "label": {"en": [RTL_LABEL]}},
                {"id": f"{server.base_url}/top.json", "type": "Collection",
                 "label": {"en": ["back to the top"]}},
            ],
        },
    )  # fmt: skip
    top = server.add_document(
        "/top.json",
        {
            "@context": "http://iiif.io/api/presentation/2/context.json",
            "@id": f"{server.base_url}/top.json",
            "@type": "sc:Collection",
            "label": "Library",
            "manifests": [
                {"@id": server.manifest_url("v3_book-1"), "@type": "sc:Manifest",
                 "label": "Simple Manifest - Book"},
            ],
            "collections": [{"@id": sub, "@type": "sc:Collection", "label": "Shelf B"}],
        },
    )  # fmt: skip
    members = await collection_members(top)
    assert members == [
        CollectionMember("Simple Manifest - Book", server.manifest_url("v3_book-1")),
        CollectionMember(RTL_LABEL, server.manifest_url("v3_rtl")),
    ]
    assert server.count("/top.json") == 1 and server.count("/sub.json") == 1


async def test_collection_is_refused_by_the_importer_and_listed(server, store) -> None:
    url = add_collection(server)
    document = new_document(store)
    job = await run(store, document, url)
    assert job.status == JobStatus.FAILED.value
    assert job.error.startswith(
        f"{url} is a IIIF collection 'Two books' holding 2 manifests, not a single manifest."
    )
    assert await collection_members(url) == [
        CollectionMember("Simple Manifest - Book", server.manifest_url("v3_book-1")),
        CollectionMember(RTL_LABEL, server.manifest_url("v3_rtl")),
    ]
    one = server.manifest_url("v3_rtl")
    assert await collection_members(one) == [CollectionMember(RTL_LABEL, one)]


def test_check_source_needs_no_network(tmp_path) -> None:
    assert check_source(" https://example.org/m.json ") == "https://example.org/m.json"
    for bad in ("file:///etc/hostname", "ftp://host/m.json", "", str(tmp_path / "none.json")):
        with pytest.raises(Exception) as raised:
            check_source(bad)
        assert type(raised.value).__name__ == "IiifError"


def test_names_for_documents_and_files() -> None:
    members = [CollectionMember("Vol. 1", "u1"), CollectionMember("Vol.  1", "u2"),
               CollectionMember("", "https://x/m3")]  # fmt: skip
    assert member_document_names("Set", members) == [
        "Set - Vol. 1", "Set - Vol. 1 (2)", "Set - https://x/m3"
    ]  # fmt: skip
    assert member_document_names("", members)[0] == "Vol. 1"
    assert (
        image_file_name("https://h/iiif/ms%201_f3/full/max/0/default.jpg", "f. 3") == "ms 1_f3.jpg"
    )
    assert image_file_name("https://h/files/page1.png", "p") == "page1.png"
    assert image_file_name("https://h/", "f. 3") == "f. 3"


# --------------------------------------------------------------------------------------------
# The command line (a real subprocess; the server runs in this test process)


def shown(data: Path, document: str) -> dict:
    return json.loads(esctui(data, "documents", "show", document, "--json").stdout)


def test_cli_import_with_a_missing_image_exits_3(server, tmp_path) -> None:
    give_distinct_images(server, "v3_book-1", tmp_path)
    manifest = served(server, "v3_book-1")
    server.inject(image_path(manifest.canvases[2]), Fault(status=404, body=b"Not Found"))
    data = tmp_path / "data"
    assert esctui(data, "documents", "create", "Book").returncode == 0
    result = esctui(data, "import", "iiif", "Book", server.manifest_url("v3_book-1"))
    assert result.returncode == 3, result.stderr
    host = server.base_url.removeprefix("http://")
    assert f"skipped   Title page (canvas 3): {host} answered 404 Not Found" in result.stdout
    assert "imported  Bookplate" in result.stdout
    assert len(shown(data, "Book")["parts"]) == 4
    again = esctui(data, "import", "iiif", "Book", server.manifest_url("v3_book-1"), "--json")
    assert again.returncode == 0, again.stderr
    record = json.loads(again.stdout)
    assert record["kind"] == "iiif" and record["status"] == "done"
    assert [item["name"] for item in record["report"]["imported"]] == ["Title page"]
    assert record["report"]["counts"] == {"already imported": 4}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("ftp://127.0.0.1/manifest.json", "only web addresses starting with http:// or https://"),
        ("/nowhere/manifest.json", "there is no manifest file at /nowhere/manifest.json"),
    ],
)
def test_cli_refuses_what_it_cannot_import(tmp_path, source: str, message: str) -> None:
    data = tmp_path / "data"
    esctui(data, "documents", "create", "Book")
    result = esctui(data, "import", "iiif", "Book", source)
    assert result.returncode == 1
    assert message in result.stderr


def test_cli_each_manifest_of_a_collection(server, tmp_path) -> None:
    give_distinct_images(server, "v3_book-1", tmp_path)
    give_distinct_images(server, "v3_rtl", tmp_path)
    url = add_collection(server)
    data = tmp_path / "data"
    refused = esctui(data, "import", "iiif", "Set", url)
    assert refused.returncode == 1 and "No document named 'Set'" in refused.stderr
    result = esctui(
        data, "import", "iiif", "Set", url, "--each-manifest", "--max-width", "200", "--json"
    )
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    names = ["Set - Simple Manifest - Book", f"Set - {RTL_LABEL}"]
    assert [r["document"] for r in records] == names
    assert all(r["created"] and r["status"] == "done" for r in records)
    book, playbill = (shown(data, name) for name in names)
    assert [p["name"] for p in book["parts"]] == BOOK_LABELS
    assert all(p["width"] == 200 for p in book["parts"] + playbill["parts"])
    assert playbill["read_direction"] == "rtl"
    assert playbill["metadata"]["IIIF manifest"] == server.manifest_url("v3_rtl")
    # Again: the same documents are continued, nothing is added.
    again = json.loads(
        esctui(data, "import", "iiif", "Set", url, "--each-manifest", "--json").stdout
    )
    assert [(r["created"], r["report"]["counts"]) for r in again] == [
        (False, {"already imported": 5}), (False, {"already imported": 5})
    ]  # fmt: skip
    listed = json.loads(esctui(data, "documents", "list", "--json").stdout)
    assert sorted(d["name"] for d in listed) == sorted(names)


def test_cli_module_stays_light_at_start_up() -> None:
    probe = (
        "import sys, esctui.cli; esctui.cli.build_parser(); "
        "print(sorted(m for m in ('httpx', 'esctui.jobs.imports.iiif', 'esctui.net.iiif_fetch')"
        " if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr
