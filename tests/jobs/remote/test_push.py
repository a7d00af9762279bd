"""Push against a real eScriptorium, checked on the server's side with plain HTTP calls."""

from __future__ import annotations

import httpx
import pytest

from esctui.jobs.remote.common import RemoteTarget
from esctui.jobs.remote.push import PushJob
from esctui.store import Store
from esctui.store.remote_links import RemoteLinks
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
        # (the server trims spaces at the ends of a text: DRF's CharField does)
        assert remote_texts[sent["pk"]]["content"] == texts[line.id].text.strip()
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
