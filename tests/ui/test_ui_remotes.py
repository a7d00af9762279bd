"""The Remotes screens and the Push dialog, by keyboard, against a real eScriptorium: browse a
server's projects and documents, push from Documents (looked at on the server with plain
HTTP), pull into a new local document, and a wrong token said in a sentence."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from esctui.jobs.remote.common import target_for
from esctui.jobs.remote.push import PushJob
from esctui.store import Store
from esctui.store.remote_links import RemoteLinks
from esctui.store.remotes import RemoteRegistry, RemoteServer
from esctui.ui.app import EsctuiApp
from esctui.ui.screens.progress import ProgressScreen
from esctui.ui.screens.pull import PullScreen
from esctui.ui.screens.push import PushScreen
from esctui.ui.screens.remotes import (
    RemoteDocumentsScreen,
    RemoteProjectsScreen,
    RemotesScreen,
)
from esctui.ui.widgets.tables import RowTable
from tests.helpers import notifications, type_text
from tests.jobs.remote.support import all_pages, corpus_document, run
from tests.servers.escriptorium import EscriptoriumServer
from tests.ui.support import SIZE, jobs_finished, screen_text, shown, until


def save_server(escriptorium: EscriptoriumServer, token: str | None = None) -> RemoteRegistry:
    """The server saved as "dev" in the tests' config folder ($ESCTUI_CONFIG)."""
    registry = RemoteRegistry()
    registry.add(RemoteServer("dev", escriptorium.url), token or escriptorium.token)
    return registry


async def go_to_row(pilot, key: str) -> None:  # noqa: ANN001 - Pilot
    """Move the cursor of the screen's list down to the row of ``key``, by keys."""
    table = pilot.app.screen.query_one(RowTable)
    for _ in range(table.get_row_index(key)):
        await pilot.press("down")
    assert table.selected_key == key


async def pushed_corpus_document(
    store: Store, tmp_path: Path, corpus: Path, escriptorium: EscriptoriumServer,
    remote_project: dict, name: str,
) -> tuple[str, int]:  # fmt: skip
    """The corpus document ``name`` pushed into the test project, with the server saved as
    "dev": (its local id, its number on the server)."""
    registry = save_server(escriptorium)
    source = await asyncio.to_thread(corpus_document, store, tmp_path, corpus, name)
    job = PushJob(store, source, target_for(registry, "dev"), project=remote_project["slug"])
    pushed = await asyncio.to_thread(run, store, job)
    assert pushed.status == "done", pushed.error
    number = RemoteLinks(store, source, escriptorium.url).load().document
    assert number is not None
    return source, number


async def open_remote_document(pilot, remote_project: dict, number: int) -> None:  # noqa: ANN001
    """By keys: Remotes (R), the server, the test project, the cursor on document ``number``."""
    app = pilot.app
    await pilot.press("R")
    assert isinstance(app.screen, RemotesScreen)
    await until(pilot, lambda: "ok: admin" in "".join(screen_text(app)))
    await pilot.press("enter")
    assert isinstance(app.screen, RemoteProjectsScreen)
    await go_to_row(pilot, str(remote_project["id"]))
    await pilot.press("enter")
    assert isinstance(app.screen, RemoteDocumentsScreen)
    await go_to_row(pilot, str(number))


def server_parts(escriptorium: EscriptoriumServer, document: int) -> int:
    with escriptorium.http() as http:
        return len(all_pages(http, f"documents/{document}/parts/"))


async def test_push_from_documents_then_again_sends_nothing_new(
    store: Store, tmp_path: Path, corpus: Path, escriptorium: EscriptoriumServer
) -> None:
    save_server(escriptorium)
    doc_id = await asyncio.to_thread(corpus_document, store, tmp_path, corpus)  # own loop
    project = f"esctuitui{uuid.uuid4().hex[:10]}"
    app = EsctuiApp(store)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("P")
            assert isinstance(app.screen, PushScreen)
            await until(pilot, lambda: app.screen.destinations is not None)
            await pilot.press("tab", "tab", "ctrl+u")  # the new project's name
            await type_text(pilot, project)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, ProgressScreen)
            await jobs_finished(app)
            [job] = [j for j in store.list_jobs() if j.kind == "push"]
            assert job.status == "done", job.error
            assert job.report.notes[0] == "0 pages already there, 0 changed, 3 new"
            links = RemoteLinks(store, doc_id, escriptorium.url).load()
            assert links.document is not None
            assert server_parts(escriptorium, links.document) == 3  # seen by the server

            await pilot.press("escape", "P")  # again: the same remote document, nothing new
            await until(pilot, lambda: app.screen.destinations is not None)
            assert app.screen.destinations.linked == links.document
            await pilot.press("ctrl+s")
            await jobs_finished(app)
            again = next(j for j in store.list_jobs() if j.kind == "push" and j.id != job.id)
            assert again.status == "done", again.error
            assert again.report.notes[0] == "3 pages already there, 0 changed, 0 new"
            assert "nothing new to send" in again.report.notes
            assert server_parts(escriptorium, links.document) == 3
    finally:
        with escriptorium.http() as http:
            for found in all_pages(http, "projects/"):
                if found["name"] == project:
                    http.delete(f"projects/{found['id']}/")


async def test_browse_a_server_and_pull_a_document_into_a_new_one(
    store: Store, tmp_path: Path, corpus: Path, escriptorium: EscriptoriumServer,
    remote_project: dict,
) -> None:  # fmt: skip
    source, number = await pushed_corpus_document(
        store, tmp_path, corpus, escriptorium, remote_project, "Original"
    )
    target = Store(tmp_path / "other")  # another data folder: the pull makes a new document
    app = EsctuiApp(target)
    async with app.run_test(size=SIZE) as pilot:
        await open_remote_document(pilot, remote_project, number)
        assert "Original" in "".join(screen_text(app))
        row = app.screen.query_one(RowTable).get_row(str(number))
        assert str(row[2]) == "3"  # the page count, from the server
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PullScreen))
        assert "a new document, Original" in "".join(screen_text(app))
        await pilot.press("ctrl+s")  # as it is: a new document, every layer
        await pilot.pause()
        assert isinstance(app.screen, ProgressScreen)
        await jobs_finished(app)
        [job] = target.list_jobs()
        assert (job.kind, job.status) == ("pull", "done"), job.error
        await pilot.press("escape")
        assert isinstance(app.screen, RemoteDocumentsScreen)
    [pulled] = target.list_documents()
    assert pulled.name == "Original"
    ours = [p.sha256 for p in store.list_parts(source)]
    assert [p.sha256 for p in target.list_parts(pulled.id)] == ours


async def test_the_pull_dialog_brings_chosen_layers_into_a_chosen_document(
    store: Store, tmp_path: Path, corpus: Path, escriptorium: EscriptoriumServer,
    remote_project: dict,
) -> None:  # fmt: skip
    _source, number = await pushed_corpus_document(
        store, tmp_path, corpus, escriptorium, remote_project, "Source"
    )
    target = Store(tmp_path / "other")
    target.create_document("Elsewhere")
    here = target.create_document("Here")
    app = EsctuiApp(target)
    async with app.run_test(size=SIZE) as pilot:
        await open_remote_document(pilot, remote_project, number)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PullScreen))
        dialog = app.screen
        layers = dialog.layer_names
        assert "corpus" in layers
        others = [d.id for d in dialog.places.documents if d.id != dialog.places.linked]
        await pilot.press("enter")  # the Into list opens: the default first, then the others
        await pilot.press(*["down"] * (others.index(here.id) + 1), "enter")
        assert dialog.query_one("#pull-into").value == here.id
        await pilot.press("tab")  # the layers, every one ticked: untick all but "corpus"
        for name in layers:
            if name != "corpus":
                await pilot.press("space")
            await pilot.press("down")
        assert dialog.chosen_versions() == (None if layers == ["corpus"] else ["corpus"])
        await pilot.press("ctrl+s")
        await pilot.pause()
        await jobs_finished(app)
        [job] = target.list_jobs()
        assert (job.kind, job.status) == ("pull", "done"), job.error
    assert sorted(d.name for d in target.list_documents()) == ["Elsewhere", "Here"]  # no new one
    assert [v.name for v in target.list_transcriptions(here.id)] == ["corpus"]
    assert len(target.list_parts(here.id)) == 3


async def test_a_wrong_token_is_a_sentence_on_the_screen(
    store: Store, escriptorium: EscriptoriumServer
) -> None:
    save_server(escriptorium, token="0" * 40)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await until(pilot, lambda: "token refused" in "".join(screen_text(app)))
        assert "refused the token" in shown(app, "#remote-status")
        await pilot.press("enter")  # the projects cannot be read: said, no crash
        assert isinstance(app.screen, RemoteProjectsScreen)
        await until(pilot, lambda: "refused the token" in shown(app, "#remote-status"))
        assert app.screen.query_one(RowTable).row_count == 0
        await pilot.press("escape", "escape", "P")
        assert isinstance(app.screen, PushScreen) is False  # no document: said instead
        assert notifications(app, "warning")
    assert "0" * 40 not in "".join(notifications(app))


async def test_add_check_and_remove_a_server_by_keys(store: Store) -> None:
    """No server needed: an address where nothing listens is said to be out of reach."""
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        assert "No servers saved yet" in "".join(screen_text(app))
        await pilot.press("a")
        await type_text(pilot, "lab")
        await pilot.press("tab")
        await type_text(pilot, "ftp://nowhere")
        await pilot.press("enter")
        assert "is not a server address" in shown(app, "#server-error")  # the dialog stays
        await pilot.press("ctrl+u")  # the address field still has the focus
        await type_text(pilot, "http://127.0.0.1:9")
        await pilot.press("tab")
        await type_text(pilot, "secret42token")
        assert "secret42token" not in "".join(screen_text(app))  # typed hidden
        await pilot.press("enter")
        assert isinstance(app.screen, RemotesScreen)
        assert RemoteRegistry().token("lab") == "secret42token"
        await until(pilot, lambda: "cannot reach" in "".join(screen_text(app)))
        assert "could not connect to 127.0.0.1:9" in shown(app, "#remote-status")
        await pilot.press("c")
        await until(pilot, lambda: "cannot reach" in "".join(screen_text(app)))
        await pilot.press("x", "y")
        assert RemoteRegistry().servers() == []
        await until(pilot, lambda: "No servers saved yet" in "".join(screen_text(app)))


def unsegmented_on_server(
    store: Store, tmp_path: Path, corpus: Path, registry: RemoteRegistry, project: dict
) -> int | None:
    """A one-page local document (the corpus scan, no lines) pushed to ``project``: its
    remote number."""
    from esctui.jobs.imports.images import LocalImagesImporter
    from tests.jobs.remote.support import SCAN

    doc = store.create_document("Unsegmented", main_script="Latin")
    scan = tmp_path / f"{SCAN}.jpg"
    scan.write_bytes((corpus / "images" / f"{SCAN}.jpg").read_bytes())
    assert run(store, LocalImagesImporter(store, doc.id, [scan])).status == "done"
    job = PushJob(store, doc.id, target_for(registry, "dev"), project=project["slug"])
    assert run(store, job).status == "done"
    return RemoteLinks(store, doc.id, registry.get("dev").url).load().document


@pytest.mark.slow
async def test_segment_on_the_server_from_the_remote_documents(
    store: Store, tmp_path: Path, corpus: Path, escriptorium: EscriptoriumServer,
    remote_project: dict,
) -> None:  # fmt: skip
    registry = save_server(escriptorium)
    number = await asyncio.to_thread(
        unsegmented_on_server, store, tmp_path, corpus, registry, remote_project
    )
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R", "enter")
        await go_to_row(pilot, str(remote_project["id"]))
        await pilot.press("enter")
        await go_to_row(pilot, str(number))
        await pilot.press("s")  # the server's models, to choose from
        assert "the server's default segmentation model" in "".join(screen_text(app))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ProgressScreen)
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "jobs"])
        [job] = [j for j in store.list_jobs() if j.kind == "remote_segment"]
        assert job.status == "done", job.error
        assert not job.report.skipped, job.report.skipped
    with escriptorium.http() as http:
        [part] = all_pages(http, f"documents/{number}/parts/")
        lines = http.get(f"documents/{number}/parts/{part['pk']}/").json()["lines"]
    assert len(lines) > 20  # the register page has some 44 lines
