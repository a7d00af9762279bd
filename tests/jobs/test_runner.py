"""The job runner's own parts: progress snapshots, CommitBatches, JobSequence."""

from __future__ import annotations

import asyncio
import time

import pytest

from esctui.domain import JobStatus
from esctui.jobs.runner import CommitBatches, JobContext, JobProgress, JobSequence, run_job
from esctui.store import Store


class Steps:
    """A tiny job kind: ``count`` items, ``pause`` seconds after each (real asyncio sleeps)."""

    kind = "test"
    verb = "imported"
    document_id = None

    def __init__(self, title: str, count: int, pause: float = 0.0, fail: bool = False) -> None:
        self.title = title
        self.count = count
        self.pause = pause
        self.fail = fail

    async def run(self, ctx: JobContext) -> None:
        ctx.start(self.count)
        for i in range(self.count):
            ctx.advance(f"item {i}")
            ctx.report.add_imported(f"item {i}")
            await asyncio.sleep(self.pause)
        if self.fail:
            ctx.report.add_skipped("last", "made to fail")


async def test_a_held_back_snapshot_is_sent_without_waiting_for_the_next_item(
    store: Store,
) -> None:
    """Two quick items then a long wait: the UI must see 2 done during the wait, not after."""
    seen: list[JobProgress] = []

    class QuickThenSlow(Steps):
        async def run(self, ctx: JobContext) -> None:
            ctx.start(3)
            ctx.advance("a")
            ctx.advance("b")  # within 0.1 s of the first: held back
            await asyncio.sleep(1.0)
            ctx.advance("c")

    task = asyncio.create_task(run_job(store, QuickThenSlow("q", 3), seen.append))
    await asyncio.sleep(0.5)
    assert max(p.done for p in seen) == 2
    await task


async def test_commit_batches_commit_the_rest_when_cancelled() -> None:
    committed: list[list[int]] = []

    async def produce() -> None:
        async with CommitBatches(committed.append, every_seconds=60) as batches:
            for i in range(100):
                await batches.add(i)
                await asyncio.sleep(0.01)

    task = asyncio.create_task(produce())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [batch] = committed
    assert batch == list(range(len(batch))) and 0 < len(batch) < 100


async def test_commit_batches_commit_every_n_items() -> None:
    committed: list[list[int]] = []
    async with CommitBatches(committed.append, every_seconds=60, every_items=3) as batches:
        for i in range(7):
            await batches.add(i)
    assert committed == [[0, 1, 2], [3, 4, 5], [6]]


async def test_an_import_sequence_records_each_import_and_sums_them_up(store: Store) -> None:
    sequence = JobSequence(store, "two", [Steps("first", 2), Steps("second", 1, fail=True)])
    job = await run_job(store, sequence)
    assert job.status == JobStatus.DONE.value
    assert [i.name for i in job.report.imported] == ["first"]
    assert [i.name for i in job.report.skipped] == ["second"]
    assert "1 skipped" in job.report.skipped[0].reason
    kinds = sorted(j.title for j in store.list_jobs())
    assert kinds == ["first", "second", "two"]


def test_fewer_collections_nests_and_restores_the_thresholds() -> None:
    import gc

    from esctui.jobs.runner import fewer_collections

    before = gc.get_threshold()
    with fewer_collections(gen0=50_000):
        assert gc.get_threshold()[0] == max(50_000, before[0])
        with fewer_collections():
            assert gc.get_threshold()[0] == max(50_000, before[0])
        assert gc.get_threshold()[0] == max(50_000, before[0])  # the outer one still runs
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a failing job")
    assert gc.get_threshold() == before


async def test_a_staged_item_is_committed_within_a_second_while_the_next_one_stalls() -> None:
    """The timed flush: no add() follows the first item for 3 s (a stalled download), yet it is
    committed within about a second of being staged, not when the next item comes."""
    committed: list[tuple[float, list[int]]] = []
    started = time.monotonic()

    def commit(batch: list[int]) -> None:  # runs in a thread
        committed.append((time.monotonic(), batch))

    async with CommitBatches(commit, every_seconds=1.0) as batches:
        await batches.add(1)  # first add: within a second of the start, so not committed now
        staged_at = time.monotonic()
        await asyncio.sleep(3.0)  # the next download stalls
        assert committed, "the staged item waited for the next one"
        when, batch = committed[0]
        assert batch == [1] and when - staged_at < 1.5
        await batches.add(2)
    assert [batch for _, batch in committed] == [[1], [2]]
    assert committed[-1][0] - started >= 3.0


async def test_commits_record_the_jobs_counts(store: Store) -> None:
    """Each commit writes done/total to the job's record, so a record read mid-job (or after a
    kill) shows what was committed."""
    seen: list[tuple[int, int]] = []

    class Batched(Steps):
        async def run(self, ctx: JobContext) -> None:
            ctx.start(5)

            def commit(batch: list[int]) -> None:
                pass

            async with CommitBatches(commit, every_seconds=60, every_items=2) as batches:
                for i in range(5):
                    ctx.advance(f"item {i}")
                    await batches.add(i)
                    record = store.list_jobs()[0]
                    seen.append((record.done, record.total))

    job = await run_job(store, Batched("counted", 5))
    assert job.status == JobStatus.DONE.value
    assert seen == [(0, 0), (2, 5), (2, 5), (4, 5), (4, 5)]
