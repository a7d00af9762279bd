"""IIIF against servers that stall, trickle or repeat one image (a real server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from esctui.jobs.imports.iiif import IiifImporter
from esctui.jobs.runner import run_job
from esctui.net.iiif_download import CanvasDownload, download_images
from esctui.net.iiif_fetch import make_client
from esctui.store import Store
from tests.helpers import run_esctui
from tests.hostile import builders as b
from tests.servers.faults import Answer, FaultServer


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


def serve_manifest(server: FaultServer, images: list[str], name: str = "book") -> str:
    canvases = [(f"f. {n}", server.url(path)) for n, path in enumerate(images, 1)]
    body = b.manifest_json(server.base_url, canvases, "Book")
    server.plan(f"/{name}/manifest.json", Answer(body=body, repeat=True))
    return server.url(f"/{name}/manifest.json")


def png(seed: int) -> Answer:
    return Answer(body=b.png_bytes(seed), content_type="image/png", repeat=True)


async def test_a_page_is_committed_while_the_next_download_stalls(
    server: FaultServer, store: Store
) -> None:
    """Canvas 1 arrives at once, canvas 2 stalls: page 1 is in the store within about a
    second, not when canvas 2 ends (the commit no longer waits for the next page)."""
    server.plan("/one.png", png(1))
    server.plan("/two.png", Answer(hang=6.0, repeat=True))
    url = serve_manifest(server, ["/one.png", "/two.png"])
    document = store.create_document("Book")
    importer = IiifImporter(store, document.id, url, retries=0, deadline=5.0)
    started = time.monotonic()
    job = asyncio.create_task(run_job(store, importer))
    committed_at = None
    while not job.done():
        parts = await asyncio.to_thread(store.list_parts, document.id)
        if parts and committed_at is None:
            committed_at = time.monotonic() - started
        await asyncio.sleep(0.05)
    finished = (await job).report
    assert committed_at is not None and committed_at < 2.5, committed_at
    assert time.monotonic() - started >= 4.5  # canvas 2 really stalled that long
    [skipped] = finished.skipped
    assert skipped.name == "f. 2 (canvas 2)" and "within 5 s" in skipped.reason


async def test_a_trickling_image_ends_at_its_deadline_and_says_which_limit(
    server: FaultServer, tmp_path: Path
) -> None:
    server.plan("/slow.png", Answer(body=b.png_bytes(1), trickle=0.05, repeat=True))
    job = CanvasDownload(index=0, key="c1", label="f. 1", resource_url=server.url("/slow.png"))
    started = time.monotonic()
    async with (
        make_client() as client,
        contextlib.aclosing(
            download_images([job], tmp_path, client=client, retries=0, image_deadline=1.0)
        ) as results,
    ):
        [result] = [r async for r in results]
    assert time.monotonic() - started < 5  # the idle timeout (30 s) never tripped
    assert not result.ok
    assert "did not finish answering GET" in result.error
    assert "the time esctui allows for this request (1 s, plus 1 s per 64 KB" in result.error
    assert list(tmp_path.glob(".*.part")) == []


def test_a_resumed_import_of_placeholder_canvases_adds_nothing_and_exits_0(
    server: FaultServer, tmp_path: Path
) -> None:
    """Three canvases sharing one placeholder image are three pages; running the import again
    finds them already imported: that is not a skipped page (exit 0, not 3)."""
    server.plan("/placeholder.png", png(7))
    url = serve_manifest(server, ["/placeholder.png"] * 3)
    data = tmp_path / "data"
    assert run_esctui(data, "documents", "create", "Book").returncode == 0
    first = run_esctui(data, "import", "iiif", "Book", url)
    assert first.returncode == 0, first.stdout + first.stderr
    again = run_esctui(data, "import", "iiif", "Book", url)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already imported: 3" in again.stdout
    store = Store(data)
    assert len(store.list_parts(store.get_document("Book").id)) == 3
