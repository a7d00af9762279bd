"""The server killed in the middle of a push, restarted, and the push run again: nothing lost,
nothing doubled. Runs only on a server the test session started (it kills its API process)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PIL import Image

from esctui.jobs.imports.images import LocalImagesImporter
from esctui.jobs.remote.common import RemoteTarget
from esctui.jobs.remote.push import PushJob
from esctui.jobs.runner import JobProgress, run_job
from esctui.store import Store
from esctui.store.remote_links import RemoteLinks
from tests.jobs.remote.support import corpus_document, run, server_side
from tests.servers.escriptorium import EscriptoriumServer

pytestmark = [pytest.mark.remote, pytest.mark.slow]


@pytest.mark.timeout(900)
def test_a_push_cut_by_the_server_dying_is_finished_by_a_rerun(
    store: Store, tmp_path: Path, corpus: Path, escriptorium: EscriptoriumServer
) -> None:
    escriptorium.require_own_server()
    document = corpus_document(store, tmp_path, corpus)
    noise = []
    for i in range(10):  # ~1 MB each: the uploads take long enough to be cut
        path = tmp_path / f"noise{i:02d}.png"
        Image.effect_noise((600, 800), 60).convert("RGB").save(path)
        noise.append(path)
    assert run(store, LocalImagesImporter(store, document, noise)).status == "done"
    with escriptorium.http() as http:
        project = http.post("projects/", json={"name": escriptorium.unique("faults")}).json()
    target = RemoteTarget("own", escriptorium.url, escriptorium.token)
    killed: list[int] = []

    def on_progress(progress: JobProgress) -> None:
        if progress.done >= 3 and not killed:
            killed.append(escriptorium.daphne_pid)
            escriptorium.kill_daphne()

    work = PushJob(store, document, target, project=project["slug"], concurrency=2)
    cut = asyncio.run(run_job(store, work, on_progress))
    assert killed
    assert cut.status == "failed" or cut.report.skipped, cut.report
    assert escriptorium.token not in (cut.error or "") + str(cut.report.to_record())

    escriptorium.restart()
    target = RemoteTarget("own", escriptorium.url, escriptorium.token)
    again = run(store, PushJob(store, document, target))
    assert again.status == "done", again.error
    assert not again.report.skipped, again.report.skipped

    parts = store.list_parts(document)
    links = RemoteLinks(store, document, target.url).load()
    with escriptorium.http() as http:
        remote = server_side(http, links.document)
    assert [p["part"]["original_filename"] for p in remote["pages"]] == [
        p.original_filename for p in parts
    ]  # every page once, in esctui's order
    assert [p["sha256"] for p in remote["pages"]] == [p.sha256 for p in parts]
    layout = store.read_page_layout(document, parts[0].id)
    scan = remote["pages"][0]
    assert len(scan["part"]["regions"]) == len(layout.regions) == 4
    assert len(scan["part"]["lines"]) == len(layout.lines) == 44
    assert len(scan["texts"]["corpus"]) == 44
    assert all(not p["part"]["lines"] for p in remote["pages"][1:])

    third = run(store, PushJob(store, document, target))
    assert third.status == "done", third.error
    assert third.report.notes[0] == f"{len(parts)} pages already there, 0 changed, 0 new"
    with escriptorium.http() as http:
        http.delete(f"projects/{project['id']}/")
