"""run_pages: a page waits in line for the engine, so no worker idles while a page commits."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from esctui.domain import Part
from esctui.jobs.kraken.pages import run_pages
from esctui.jobs.runner import JobContext, run_job
from esctui.store import Store
from tests.helpers import scan_pages

KRAKEN_SECONDS = 0.2
COMMIT_SECONDS = 0.3


class PagesJob:
    """Pages on ``workers`` slots standing for the engine's workers (kraken's part of a page
    holds one), each page committed in a thread after its slot is free, as the kraken jobs do."""

    kind = "masks"
    verb = "updated"
    title = "pages"

    def __init__(self, document_id: str, parts: list[Part], workers: int) -> None:
        self.document_id = document_id
        self.parts = parts
        self.workers = workers
        self.kraken: dict[str, tuple[float, float]] = {}  # page: start, end
        self.commits: dict[str, tuple[float, float]] = {}
        self.most_in_kraken = 0

    async def run(self, ctx: JobContext) -> None:
        slots = asyncio.Semaphore(self.workers)
        in_kraken = 0

        async def work(part: Part) -> None:
            nonlocal in_kraken
            async with slots:
                in_kraken += 1
                self.most_in_kraken = max(self.most_in_kraken, in_kraken)
                start = time.monotonic()
                await asyncio.sleep(KRAKEN_SECONDS)
                self.kraken[part.name] = (start, time.monotonic())
                in_kraken -= 1
            start = time.monotonic()
            await asyncio.to_thread(time.sleep, COMMIT_SECONDS)
            self.commits[part.name] = (start, time.monotonic())

        ctx.start(len(self.parts))
        await run_pages(ctx, self.parts, work, concurrency=self.workers)


async def test_the_next_page_starts_while_the_last_commits(store: Store, tmp_path: Path) -> None:
    document = store.create_document("Pages")
    parts = scan_pages(store, document.id, tmp_path / "scans", 3, lines=slice(0, 1))
    work = PagesJob(document.id, parts, workers=1)
    job = await run_job(store, work)
    assert job.status == "done" and job.done == 3
    assert work.most_in_kraken == 1  # never more pages in kraken than workers
    first, second = parts[0].name, parts[1].name
    assert work.kraken[second][0] < work.commits[first][1]  # no worker idles during a commit
    assert work.kraken[first][1] <= work.kraken[second][0]


async def test_two_workers_hold_two_pages_and_all_are_done(store: Store, tmp_path: Path) -> None:
    document = store.create_document("Pages")
    parts = scan_pages(store, document.id, tmp_path / "scans", 5, lines=slice(0, 1))
    work = PagesJob(document.id, parts, workers=2)
    job = await run_job(store, work)
    assert job.status == "done" and job.done == 5
    assert work.most_in_kraken == 2
    assert set(work.commits) == {part.name for part in parts}
