"""Pull from a real eScriptorium: push a corpus document, pull it into a new one, compare
them as the export round trip does (tests/jobs/test_roundtrip.py); rerun and push after pull
fetch and send nothing twice."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from esctui.jobs.remote.common import RemoteTarget
from esctui.jobs.remote.pull import PullJob
from esctui.jobs.remote.push import PushJob
from esctui.store import Store
from esctui.store.remote_links import RemoteLinks
from tests.jobs.remote.support import run, server_side
from tests.jobs.test_roundtrip import compare, stored

pytestmark = pytest.mark.remote


def pushed(store: Store, document: str, target: RemoteTarget, project: dict) -> int:
    job = run(store, PushJob(store, document, target, project=project["slug"]))
    assert job.status == "done" and not job.report.skipped, (job.error, job.report)
    pk = RemoteLinks(store, document, target.url).load().document
    assert pk is not None
    return pk


def test_push_then_pull_gives_back_the_same_document(
    store: Store, document: str, target: RemoteTarget, remote_project: dict
) -> None:
    remote = pushed(store, document, target, remote_project)
    # pulled without --into, it goes to the document it came from: nothing to fetch
    job = run(store, PullJob(store, target, remote))
    assert job.status == "done" and job.document_id == document, job.error
    assert job.report.imported == [] and job.report.counts["already here"] == 3

    b_doc = store.create_document("B")
    job = run(store, PullJob(store, target, remote, into=b_doc.id))
    assert job.status == "done", job.error
    assert not job.report.skipped
    a_doc, b_doc = store.get_document(document), store.get_document(b_doc.id)
    assert (b_doc.main_script, b_doc.read_direction, b_doc.line_offset) == (
        a_doc.main_script, a_doc.read_direction, a_doc.line_offset
    )  # fmt: skip
    assert sorted(v.name for v in store.list_transcriptions(b_doc.id)) == ["corpus", "manual"]

    a_parts, b_parts = store.list_parts(a_doc.id), store.list_parts(b_doc.id)
    assert [p.original_filename for p in b_parts] == [p.original_filename for p in a_parts]
    assert [p.sha256 for p in b_parts] == [p.sha256 for p in a_parts]  # the same image bytes
    for a_part, b_part in zip(a_parts, b_parts, strict=True):
        assert store.part_image_path(b_part).read_bytes() == store.part_image_path(
            a_part).read_bytes()  # fmt: skip
        a, a_texts = stored(store, a_doc.id, a_part.id, "corpus")
        b, b_texts = stored(store, b_doc.id, b_part.id, "corpus")
        compare(a, a_texts, b, b_texts, "alto", [])
    assert b_doc.typology == a_doc.typology
    assert len(store.read_page_layout(b_doc.id, b_parts[0].id).lines) == 44


def test_a_second_pull_fetches_nothing_and_a_push_after_pull_sends_nothing(
    store: Store, document: str, target: RemoteTarget, remote_project: dict, http: httpx.Client
) -> None:
    remote = pushed(store, document, target, remote_project)
    store.delete_document(document)  # pulled on another machine, say
    first = run(store, PullJob(store, target, remote))
    assert first.status == "done" and len(first.report.imported) == 3
    assert store.get_document(first.document_id).name == "Register"
    before = server_side(http, remote)

    again = run(store, PullJob(store, target, remote))
    assert again.status == "done", again.error
    assert again.document_id == first.document_id  # the same local document, continued
    assert again.report.imported == [] and again.report.counts["already here"] == 3
    assert len(store.list_parts(first.document_id)) == 3

    push = run(store, PushJob(store, first.document_id, target))
    assert push.status == "done", push.error
    assert push.report.notes[0] == "3 pages already there, 0 changed, 0 new"
    assert server_side(http, remote) == before


def test_pull_of_a_document_that_is_not_there(store: Store, target: RemoteTarget) -> None:
    job = run(store, PullJob(store, target, 999_999_999))
    assert job.status == "failed"
    host = urlsplit(target.url).netloc
    assert job.error == f"document 999999999 does not exist on {host}"


def test_pull_into_a_new_document_takes_the_remote_fields(
    store: Store, document: str, target: RemoteTarget, remote_project: dict, http: httpx.Client
) -> None:
    """A document made on the server (not pushed from here) pulled without --into: a new
    local document named as the remote one, with its script, direction and metadata."""
    remote = pushed(store, document, target, remote_project)
    RemoteLinks(store, document, target.url).forget()  # as if pushed from another machine
    job = run(store, PullJob(store, target, remote, versions=["corpus"]))
    assert job.status == "done", job.error
    pulled = store.get_document(job.document_id)
    source = store.get_document(document)
    assert pulled.id != source.id and pulled.name == "Register (2)"
    assert (pulled.main_script, pulled.description, pulled.metadata) == (
        "Latin", source.description, source.metadata
    )  # fmt: skip
    assert [v.name for v in store.list_transcriptions(pulled.id)] == ["corpus"]
    assert len(store.list_parts(pulled.id)) == 3


def test_pull_layout_brings_the_servers_changes_and_keeps_pages_changed_here(
    store: Store, document: str, target: RemoteTarget, remote_project: dict, http: httpx.Client
) -> None:
    from esctui.domain import Line

    remote = pushed(store, document, target, remote_project)
    parts = store.list_parts(document)
    pages = server_side(http, remote)["pages"]
    # on the server: one text of the scan changed, a line added to the second page
    scan = pages[0]
    first_line = sorted(scan["part"]["lines"], key=lambda x: x["order"])[0]
    text = scan["texts"]["corpus"][first_line["pk"]]
    d, p1, p2 = remote, scan["part"]["pk"], pages[1]["part"]["pk"]
    http.put(f"documents/{d}/parts/{p1}/transcriptions/bulk_update/",
             json={"lines": [{"pk": text["pk"], "content": "changed on the server"}]},
             ).raise_for_status()  # fmt: skip
    http.post(f"documents/{d}/parts/{p2}/lines/",
              json={"document_part": p2, "baseline": [[20, 50], [250, 52]]},
              ).raise_for_status()  # fmt: skip
    # here: a line added to the third page
    third = store.read_page_layout(document, parts[2].id)
    third.lines.append(Line(parts[2].id, baseline=[(10, 10), (200, 12)], order=0))
    store.write_page_layouts(document, {parts[2].id: third})
    before = store.read_page_layout(document, parts[0].id)

    job = run(store, PullJob(store, target, remote, refresh=True))
    assert job.status == "done", job.error
    assert [i.name for i in job.report.imported] == [parts[0].name, parts[1].name]
    [kept] = job.report.skipped
    assert kept.name == parts[2].name and "changed here" in kept.reason

    corpus = store.get_transcription(document, "corpus")
    after = store.read_page_layout(document, parts[0].id)
    assert [line.id for line in after.lines] == [line.id for line in before.lines]  # ids kept
    texts = after.texts_for(corpus.id)
    assert texts[after.lines[0].id].text == "changed on the server"
    assert texts[after.lines[1].id].text == before.texts_for(corpus.id)[before.lines[1].id].text
    [added] = store.read_page_layout(document, parts[1].id).lines
    assert added.baseline == [(20, 50), (250, 52)]
    assert len(store.read_page_layout(document, parts[2].id).lines) == 1  # still the local one

    push = run(store, PushJob(store, document, target))
    assert push.status == "done", push.error
    assert push.report.notes[0] == "2 pages already there, 1 changed, 0 new"
    assert len(server_side(http, remote)["pages"][2]["part"]["lines"]) == 1
