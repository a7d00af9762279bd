"""The masks job on the engine's workers, with real kraken, the corpus scan and its real
baselines (its PAGE file): kraken's own polygons, only what is asked, and each failure (a killed
worker, a page too large for a worker's memory, a cancel, Ctrl-C on the CLI) leaves whole pages.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import shapely.geometry as geom
from PIL import Image

from esctui.domain import Job, Line
from esctui.engine import KrakenEngine
from esctui.engine.masks import kraken_baseline, mask_from_kraken
from esctui.jobs.imports.images import DEFAULT_MAX_PIXELS, prepare_image
from esctui.jobs.masks import MasksJob
from esctui.jobs.runner import JobProgress, run_job
from esctui.store import PageLayout, Store
from tests.helpers import CORPUS, scan_pages

pytestmark = [
    pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not there"),
    pytest.mark.asyncio(loop_scope="module"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine() -> AsyncIterator[KrakenEngine]:
    """Two workers shared by the tests that need no engine of their own."""
    async with KrakenEngine(workers=2) as engine:
        yield engine


async def run_masks(store: Store, document_id: str, **options: Any) -> Job:
    return await run_job(store, MasksJob(store, document_id, **options))


def scan_document(
    store: Store, tmp_path: Path, count: int = 1, **options: Any
) -> tuple[str, list[str]]:
    doc = store.create_document("Scan")
    parts = scan_pages(store, doc.id, tmp_path / "source", count, **options)
    return doc.id, [part.id for part in parts]


def assert_mask_fits(line: Line) -> None:
    """A closed polygon of 3+ points that contains or touches the (pixel) baseline."""
    assert line.mask is not None and len(set(line.mask)) >= 3
    polygon = geom.Polygon(line.mask)
    assert polygon.is_valid and polygon.area > 0
    baseline = geom.LineString(kraken_baseline(line.baseline or [], 10**6, 10**6))
    assert polygon.buffer(1.0).covers(baseline), line.external_id


def masks_of(store: Store, document_id: str, part_id: str) -> list[Any]:
    return [line.mask for line in store.read_page_layout(document_id, part_id).lines]


@pytest.mark.slow
async def test_only_missing_masks_are_computed(
    store: Store, tmp_path: Path, engine: KrakenEngine
) -> None:
    document_id, [part_id] = scan_document(store, tmp_path)
    layout = store.read_page_layout(document_id, part_id)
    before = {line.id: line.mask for line in layout.lines}
    missing = {line.id for line in layout.lines[10:14]}
    for line in layout.lines:
        if line.id in missing:
            line.mask = None
    store.write_page_layout(document_id, part_id, layout)

    job = await run_masks(store, document_id, engine=engine)
    assert job.kind == "masks" and job.status == "done", job.error
    assert job.report.counts["masks"] == 4 and not job.report.skipped
    assert (job.total, job.done) == (1, 1)  # pages
    for line in store.read_page_layout(document_id, part_id).lines:
        if line.id in missing:
            assert_mask_fits(line)
            assert line.mask is not None
            assert min(y for _, y in line.mask) < min(y for _, y in line.baseline or []) - 5
        else:
            assert line.mask == before[line.id]  # untouched


@pytest.mark.slow
async def test_the_masks_are_kraken_s_own(
    store: Store, tmp_path: Path, engine: KrakenEngine
) -> None:
    """20 lines shared between two workers give exactly one direct kraken call's polygons,
    and an unusable baseline is reported."""
    document_id, [part_id] = scan_document(store, tmp_path, lines=slice(0, 20), masks=False)
    layout = store.read_page_layout(document_id, part_id)
    point = layout.lines[0].baseline[0]  # type: ignore[index]
    layout.lines.append(
        Line(part_id, [point, (point[0] + 0.2, point[1])], None, None, "default", "dot", 20)
    )
    store.write_page_layout(document_id, part_id, layout)

    job = await run_masks(store, document_id, only_missing=False, engine=engine)
    assert job.status == "done", job.error
    assert job.report.counts["masks"] == 20
    [skipped] = job.report.skipped
    assert skipped.name == "scan 1 line dot" and "too short" in skipped.reason

    from esctui.compat import torchvision_shim

    torchvision_shim.install()
    from kraken.lib.segmentation import calculate_polygonal_environment

    part = store.get_part(document_id, part_id)
    with Image.open(store.part_image_path(part)) as image:
        image.load()
        baselines = [kraken_baseline(ln.baseline or [], *image.size) for ln in layout.lines[:20]]
        direct = calculate_polygonal_environment(image, baselines, suppl_obj=[], topline=False)
    stored = store.read_page_layout(document_id, part_id).lines
    assert [ln.mask for ln in stored[:20]] == [mask_from_kraken(p) for p in direct]
    assert stored[20].mask is None


@pytest.mark.slow
async def test_a_worker_killed_mid_page_skips_that_page(store: Store, tmp_path: Path) -> None:
    document_id, part_ids = scan_document(store, tmp_path, 2, masks=False)
    killed: list[int] = []
    async with KrakenEngine(workers=1) as single:

        def kill_once(progress: JobProgress) -> None:
            if (
                not killed
                and progress.current.startswith("page 1: computing masks ")
                and (single.busy_worker_pids)
            ):
                killed.extend(single.busy_worker_pids)
                os.kill(killed[0], signal.SIGKILL)

        job = await run_job(store, MasksJob(store, document_id, engine=single), kill_once)
    assert killed and job.status == "done", job.error
    [skipped] = job.report.skipped
    assert skipped.name == "scan 1"
    assert skipped.reason == (
        "The kraken worker stopped unexpectedly (signal 9) while computing the masks of page 1."
    )
    assert all(mask is None for mask in masks_of(store, document_id, part_ids[0]))
    assert all(mask is not None for mask in masks_of(store, document_id, part_ids[1]))


@pytest.mark.slow
async def test_a_page_too_large_for_a_worker_s_memory_is_skipped(
    store: Store, tmp_path: Path
) -> None:
    """1.5 GB of address space loads kraken but not the energy map of a 144-megapixel page."""
    document_id, [scan_id] = scan_document(store, tmp_path, lines=slice(0, 3), masks=False)
    huge = tmp_path / "huge.png"
    Image.new("L", (12000, 12000), 200).save(huge)
    [staged] = prepare_image(huge, store.new_staging_dir(document_id), DEFAULT_MAX_PIXELS)
    [big], _ = store.add_parts(document_id, [staged])
    store.write_page_layout(
        document_id, big.id, PageLayout([], [Line(big.id, [(10.0, 100.0), (5000.0, 100.0)])], [])
    )
    async with KrakenEngine(workers=1, memory_limit=3 * 2**29) as small:
        job = await run_masks(store, document_id, engine=small)
    assert job.status == "done", job.error
    [skipped] = job.report.skipped
    assert skipped.name == big.name
    assert skipped.reason == (
        "The kraken worker ran out of memory while computing the masks of page 2 "
        "(a worker may use 1.5 GB); it was replaced."
    )
    assert masks_of(store, document_id, big.id) == [None]
    assert all(mask is not None for mask in masks_of(store, document_id, scan_id))


@pytest.mark.slow
async def test_a_cancel_keeps_the_pages_done_whole(
    store: Store, tmp_path: Path, engine: KrakenEngine
) -> None:
    document_id, part_ids = scan_document(store, tmp_path, 3, masks=False)
    first_page_done = asyncio.Event()

    def watch(progress: JobProgress) -> None:
        if progress.done >= 1:
            first_page_done.set()

    task = asyncio.ensure_future(
        run_job(store, MasksJob(store, document_id, engine=engine, workers=1), watch)
    )
    await asyncio.wait_for(first_page_done.wait(), 300)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [job] = store.list_jobs()
    assert job.status == "cancelled" and 1 <= job.done < 3
    pages = [masks_of(store, document_id, part_id) for part_id in part_ids]
    assert all(all(m is None for m in page) or all(m is not None for m in page) for page in pages)
    assert sum(all(m is not None for m in page) for page in pages) == job.done


def esctui(data: Path, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "esctui", "masks", *args]
    env = {**os.environ, "ESCTUI_DATA": str(data)}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


@pytest.mark.slow
async def test_cli_masks_and_ctrl_c(tmp_path: Path) -> None:
    data = tmp_path / "data"
    document_id, part_ids = scan_document(
        Store(data), tmp_path, 3, lines=slice(30, 33), masks=False
    )
    usage = esctui(data, document_id, "--pages", "4")
    assert usage.wait(60) == 2
    done = esctui(data, document_id, "--pages", "1", "--workers", "1")
    stdout, stderr = done.communicate(timeout=300)
    assert done.returncode == 0, stderr
    assert "masks: 3" in stdout
    for line in Store(data).read_page_layout(document_id, part_ids[0]).lines:
        assert_mask_fits(line)

    cancelled = esctui(data, document_id, "--all", "--workers", "1")
    assert cancelled.stderr is not None
    for line in cancelled.stderr:  # plain progress lines (not a terminal): the job has started
        if line.startswith("progress"):
            break
    cancelled.send_signal(signal.SIGINT)
    _, rest = cancelled.communicate(timeout=120)
    assert cancelled.returncode == 130, rest
    assert "cancelled" in rest
    store = Store(data)
    for part_id in part_ids:
        masks = masks_of(store, document_id, part_id)
        assert all(m is None for m in masks) or all(m is not None for m in masks)
    [job] = [j for j in store.list_jobs() if j.status == "cancelled"]
    assert job.kind == "masks"
