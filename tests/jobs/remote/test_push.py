"""Push against a real eScriptorium, checked on the server's side with plain HTTP calls."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from esctui.jobs.imports.images import LocalImagesImporter
from esctui.jobs.remote.common import RemoteTarget
from esctui.jobs.remote.push import PushJob
from esctui.jobs.runner import JobProgress, run_job
from esctui.store import Store
from esctui.store.remote_links import RemoteLinks
from tests.helpers import make_image
from tests.jobs.remote.support import run, server_side, sha256

pytestmark = pytest.mark.remote


def near(a: list | None, b: list | None, tolerance: float = 1.0) -> bool:
    if a is None or b is None:
        return a is b
    return len(a) == len(b) and all(
        abs(x1 - x2) <= tolerance and abs(y1 - y2) <= tolerance
        for (x1, y1), (x2, y2) in zip(a, b, strict=True)
    )


def test_push_sends_pages_in_order_with_layout_types_and_texts(
    store: Store, document: str, target: RemoteTarget, remote_project: dict, http: httpx.Client
) -> None:
    job = run(store, PushJob(store, document, target, project=remote_project["slug"]))
    assert job.status == "done", job.error
    assert not job.report.skipped
    assert job.report.notes[0] == "0 pages already there, 0 changed, 3 new"
    links = RemoteLinks(store, document, target.url).load()
    remote = server_side(http, links.document)
    doc = remote["document"]
    assert doc["name"] == "Register" and doc["main_script"] == "Latin"
    assert doc["project"] == remote_project["slug"]
    metadata = {m["key"]["name"]: m["value"] for m in http.get(
        f"documents/{doc['pk']}/metadata/").json()["results"]}  # fmt: skip
    assert metadata == {
        "archive": "Stadtarchiv", "shelfmark": "B 12", "description": "A test register"
    }  # fmt: skip

    parts = store.list_parts(document)
    assert [p["part"]["original_filename"] for p in remote["pages"]] == [
        p.original_filename for p in parts
    ]
    for page, part in zip(remote["pages"], parts, strict=True):
        assert page["sha256"] == sha256(store.part_image_path(part).read_bytes())
        assert page["sha256"] == part.sha256

    # the scan's page: every region and line, with types, baselines and texts
    layout = store.read_page_layout(document, parts[0].id)
    version = store.get_transcription(document, "corpus")
    texts = layout.texts_for(version.id)
    detail = remote["pages"][0]["part"]
    assert len(detail["regions"]) == len(layout.regions) == 4
    assert len(detail["lines"]) == len(layout.lines) == 44
    block_types = {t["pk"]: t["name"] for t in doc["valid_block_types"]}
    line_types = {t["pk"]: t["name"] for t in doc["valid_line_types"]}
    for region, sent in zip(layout.regions, detail["regions"], strict=True):
        assert near(sent["box"], region.polygon)
        want = None if region.type == "text" else region.type
        assert block_types.get(sent["typology"]) == want
    region_of = {r["pk"]: i for i, r in enumerate(detail["regions"])}
    local_region = {r.id: i for i, r in enumerate(layout.regions)}
    remote_texts = remote["pages"][0]["texts"]["corpus"]
    for line, sent in zip(layout.lines, sorted(detail["lines"], key=lambda x: x["order"]),
                          strict=True):  # fmt: skip
        assert near(sent["baseline"], line.baseline), line.external_id
        assert near(sent["mask"], line.mask), line.external_id
        assert region_of.get(sent["region"]) == local_region.get(line.region_id)
        assert line_types.get(sent["typology"]) == (None if line.type == "default" else line.type)
        assert remote_texts[sent["pk"]]["content"] == texts[line.id].text
    assert [p["texts"] for p in remote["pages"][1:]] == [{}, {}]  # no lines there


def test_a_second_push_sends_nothing_and_says_so(
    store: Store, document: str, target: RemoteTarget, remote_project: dict, http: httpx.Client
) -> None:
    run(store, PushJob(store, document, target, project=remote_project["slug"]))
    links = RemoteLinks(store, document, target.url).load()
    before = server_side(http, links.document)
    job = run(store, PushJob(store, document, target))
    assert job.status == "done", job.error
    assert job.report.notes[0] == "3 pages already there, 0 changed, 0 new"
    assert "image bytes sent" not in job.report.counts and "lines sent" not in job.report.counts
    assert server_side(http, links.document) == before


def test_after_local_edits_only_the_change_is_sent(
    store: Store,
    document: str,
    target: RemoteTarget,
    remote_project: dict,
    http: httpx.Client,
    tmp_path: Path,
) -> None:
    """Push, change a text and a baseline and add a page, push again: the second push sends
    that line, that text and the new page only, and nothing is duplicated on the server."""

    run(store, PushJob(store, document, target, project=remote_project["slug"]))
    parts = store.list_parts(document)
    layout = store.read_page_layout(document, parts[0].id)
    version = store.get_transcription(document, "corpus")
    edited_text = next(t for t in layout.texts if t.transcription_id == version.id)
    edited_text.text = "a new reading"
    moved = layout.lines[5]
    moved.baseline = [(x, y + 7) for x, y in moved.baseline]
    store.write_page_layout(document, parts[0].id, layout)
    added = make_image(tmp_path / "added.png", size=(200, 300))
    assert run(store, LocalImagesImporter(store, document, [added])).status == "done"

    job = run(store, PushJob(store, document, target))
    assert job.status == "done", job.error
    assert job.report.notes[0] == "2 pages already there, 1 changed, 1 new"
    assert job.report.counts["lines sent"] == 1 and job.report.counts["texts sent"] == 1
    assert "regions sent" not in job.report.counts
    assert job.report.counts["image bytes sent"] == store.list_parts(document)[-1].byte_size

    links = RemoteLinks(store, document, target.url).load()
    remote = server_side(http, links.document)
    assert [p["part"]["original_filename"] for p in remote["pages"]] == [
        p.original_filename for p in store.list_parts(document)
    ]
    detail = remote["pages"][0]["part"]
    assert len(detail["lines"]) == 44 and len(detail["regions"]) == 4
    line_pk = links.pages[parts[0].id].lines[moved.id][0]
    [sent] = [line for line in detail["lines"] if line["pk"] == line_pk]
    assert near(sent["baseline"], moved.baseline)
    texts = remote["pages"][0]["texts"]["corpus"]
    assert len(texts) == 44
    text_pk = links.pages[parts[0].id].lines[edited_text.line_id][0]
    assert texts[text_pk]["content"] == "a new reading"
    assert len(remote["document"]["transcriptions"]) == 2  # "manual" and "corpus", once


def test_an_unknown_script_is_refused_with_the_choices_and_nothing_is_made(
    store: Store, document: str, target: RemoteTarget, remote_project: dict, http: httpx.Client
) -> None:
    job = run(store, PushJob(store, document, target, project=remote_project["slug"],
                             script="Latn-ish"))  # fmt: skip
    assert job.status == "failed"
    assert "does not know the script 'Latn-ish'" in job.error and "Latin" in job.error
    documents = http.get("documents/", params={"project": remote_project["id"]}).json()
    assert documents["count"] == 0
    assert RemoteLinks(store, document, target.url).load().document is None


def test_a_first_push_needs_a_project(store: Store, document: str, target: RemoteTarget) -> None:
    job = run(store, PushJob(store, document, target))
    assert job.status == "failed"
    assert "--project SLUG, or --new-project NAME" in job.error


def test_a_remote_document_deleted_before_a_push_is_noticed_and_forgotten(
    store: Store, document: str, target: RemoteTarget, remote_project: dict, http: httpx.Client
) -> None:
    run(store, PushJob(store, document, target, project=remote_project["slug"]))
    first = RemoteLinks(store, document, target.url).load().document
    assert http.delete(f"documents/{first}/").status_code == 204

    job = run(store, PushJob(store, document, target))
    assert job.status == "failed"
    assert f"document {first} on dev" in job.error and "no longer exists" in job.error
    assert "push again with --project SLUG" in job.error
    assert not RemoteLinks(store, document, target.url).path.exists()

    job = run(store, PushJob(store, document, target, project=remote_project["slug"]))
    assert job.status == "done" and job.report.notes[0].endswith("3 new")
    second = RemoteLinks(store, document, target.url).load().document
    assert second != first
    assert len(server_side(http, second)["pages"]) == 3


def test_a_remote_document_deleted_during_a_push_ends_it_with_a_sentence(
    store: Store, target: RemoteTarget, remote_project: dict, http: httpx.Client, tmp_path: Path
) -> None:

    doc = store.create_document("Many pages", main_script="Latin")
    images = [make_image(tmp_path / f"p{i}.png", size=(200, 200)) for i in range(12)]
    run(store, LocalImagesImporter(store, doc.id, images))
    deleted: list[int] = []

    def on_progress(progress: JobProgress) -> None:
        remote = RemoteLinks(store, doc.id, target.url)
        if progress.done >= 2 and not deleted:
            pk = remote.load().document
            assert pk is not None
            http.delete(f"documents/{pk}/").raise_for_status()
            deleted.append(pk)

    work = PushJob(store, doc.id, target, project=remote_project["slug"], concurrency=1)
    job = asyncio.run(run_job(store, work, on_progress))
    assert deleted
    assert job.status == "failed", job.report
    assert f"document {deleted[0]} on dev" in job.error and "no longer exists" in job.error
    assert not RemoteLinks(store, doc.id, target.url).path.exists()


def test_a_page_the_server_refuses_is_skipped_and_the_others_are_sent(
    store: Store, document: str, target: RemoteTarget, remote_project: dict, http: httpx.Client
) -> None:
    parts = store.list_parts(document)
    store.part_image_path(parts[1]).write_bytes(b"not an image any more: the file was damaged")
    job = run(store, PushJob(store, document, target, project=remote_project["slug"]))
    assert job.status == "done"
    [skipped] = job.report.skipped
    assert skipped.name == parts[1].name
    assert "refused to add the page 'extra1.png'" in skipped.reason
    assert "valid image" in skipped.reason
    links = RemoteLinks(store, document, target.url).load()
    remote = server_side(http, links.document)
    assert [p["part"]["original_filename"] for p in remote["pages"]] == [
        parts[0].original_filename, parts[2].original_filename
    ]  # fmt: skip
    assert len(remote["pages"][0]["part"]["lines"]) == 44
