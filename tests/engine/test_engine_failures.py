"""Every failure ends in a sentence and the engine stays usable; no worker is ever left behind.

Real workers, real kraken, real models and scans. One engine (two workers) serves most tests of
this module; each test checks the workers it killed are gone and that the next page works.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image

from esctui.engine import (
    EngineClosedError,
    EngineStartError,
    KrakenEngine,
    LineShape,
    LinesUnsuitableError,
    ModelUnusableError,
    PageImageError,
    PageTimeoutError,
    Progress,
    WorkerCrashedError,
    WorkerOutOfMemoryError,
)
from esctui.engine.data import STAGE_NETWORK
from esctui.formats.xml import parse_layout_xml
from tests.engine.engine_helpers import SCAN, group_members, is_running

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

#: A short line on a small page: the cheapest real request, to prove the engine still works.
PROBE_BASELINE = [(20, 60), (200, 60)]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine() -> AsyncIterator[KrakenEngine]:
    async with KrakenEngine(workers=2) as engine:
        await engine.start()
        yield engine
    assert engine.worker_pids == []


@pytest.fixture(scope="module")
def probe_image(pages: Path) -> Path:
    path = pages / "probe.png"
    Image.new("L", (240, 120), 230).save(path)
    return path


@pytest.fixture(scope="module")
def baseline_lines(pages: Path) -> list[LineShape]:
    """Three lines (baseline + mask) of the handwritten scan, from its PAGE file."""
    with Image.open(pages / "images" / f"{SCAN}.jpg") as scan:
        size = scan.size
    parsed = parse_layout_xml(pages / "page" / f"{SCAN}.xml", image_size=size)
    return [LineShape(ln.baseline, ln.mask) for ln in parsed.lines[:3]]


async def still_works(engine: KrakenEngine, probe_image: Path) -> int:
    """Masks on a small page succeed; returns the pid of the worker that did it."""
    result = await engine.masks(probe_image, [PROBE_BASELINE], page="probe")
    assert len(result.polygons) == 1
    return result.worker_pids[0]


async def assert_gone(pid: int, timeout: float = 5.0) -> None:
    """The worker and every process of its group have ended (within ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while (is_running(pid) or group_members(pid)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not is_running(pid) and group_members(pid) == []


async def test_a_model_removed_from_disk(
    engine: KrakenEngine, pages: Path, baseline_lines: list[LineShape], tmp_path: Path
) -> None:
    model = tmp_path / "removed.safetensors"
    shutil.copy(pages / "models" / "overfit_bl.safetensors", model)
    image = pages / "images" / f"{SCAN}.jpg"
    first = await engine.recognize(image, model, baseline_lines, page="f. 1")  # loaded, cached
    model.unlink()
    with pytest.raises(ModelUnusableError) as refused:
        await engine.recognize(image, model, baseline_lines, page="f. 1")
    assert str(refused.value) == (
        "The model file removed.safetensors is no longer on disk (it was removed or moved)."
    )
    # The worker that refused is still serving.
    assert first.worker_pid in engine.worker_pids


async def test_models_of_the_wrong_kind(
    engine: KrakenEngine, pages: Path, baseline_lines: list[LineShape], probe_image: Path
) -> None:
    image = pages / "images" / f"{SCAN}.jpg"
    pids = engine.worker_pids
    with pytest.raises(ModelUnusableError) as refused:
        await engine.segment(image, model=pages / "models" / "overfit_bl.safetensors")
    assert str(refused.value) == (
        "overfit_bl.safetensors is a recognition model: it cannot find the lines of a page. "
        "Choose a segmentation model."
    )
    import kraken

    blla = Path(kraken.__file__).parent / "blla.mlmodel"
    with pytest.raises(ModelUnusableError) as refused:
        await engine.recognize(image, blla, baseline_lines)
    assert str(refused.value) == (
        "blla.mlmodel is a segmentation model: it cannot read the text of lines. "
        "Choose a recognition model."
    )
    not_a_model = pages / "images" / "bw.png"
    with pytest.raises(ModelUnusableError, match=r"^kraken cannot load the model bw\.png: "):
        await engine.recognize(image, not_a_model, baseline_lines)
    assert engine.worker_pids == pids  # refused without a restart
    await still_works(engine, probe_image)


async def test_lines_that_do_not_suit_the_model(
    engine: KrakenEngine, pages: Path, baseline_lines: list[LineShape]
) -> None:
    image = pages / "images" / f"{SCAN}.jpg"
    boxes = [LineShape(bbox=(100, 100, 900, 160))]
    with pytest.raises(LinesUnsuitableError) as refused:
        await engine.recognize(
            image, pages / "models" / "overfit_bl.safetensors", boxes, page="f. 2"
        )
    assert str(refused.value) == (
        "overfit_bl.safetensors was trained on lines with baselines, but the lines of page f. 2 "
        "have only boxes. Segment the page with baselines first, or choose a model trained on "
        "boxes."
    )
    with pytest.raises(LinesUnsuitableError) as refused:
        await engine.recognize(image, pages / "models" / "overfit.mlmodel", baseline_lines)
    assert "overfit.mlmodel was trained on box lines (bbox)" in str(refused.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "The image of page p. 7 is missing (page.jpg)."),
        (
            b"not an image at all",
            "The image of page p. 7 (page.jpg) cannot be read: it is not an image, or it is "
            "damaged.",
        ),
        ("cut", "The image of page p. 7 (page.jpg) is damaged and cannot be decoded"),
    ],
)
async def test_an_image_that_cannot_be_read(
    engine: KrakenEngine,
    pages: Path,
    probe_image: Path,
    tmp_path: Path,
    content: bytes | str | None,
    message: str,
) -> None:
    path = tmp_path / "page.jpg"
    if content == "cut":  # a real scan cut in half, as by an interrupted download
        data = (pages / "images" / "input.jpg").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(PageImageError) as refused:
        await engine.segment(path, page="p. 7")
    assert str(refused.value).startswith(message)
    await still_works(engine, probe_image)


async def test_a_worker_killed_mid_page(
    engine: KrakenEngine, pages: Path, probe_image: Path
) -> None:
    network = asyncio.Event()
    stages: list[Progress] = []

    def progress(step: Progress) -> None:
        stages.append(step)
        if step.stage == STAGE_NETWORK:
            network.set()

    task = asyncio.ensure_future(
        engine.segment(pages / "images" / "input.jpg", page="input", progress=progress)
    )
    await asyncio.wait_for(network.wait(), 120)
    [victim] = engine.busy_worker_pids
    os.kill(victim, signal.SIGKILL)
    with pytest.raises(WorkerCrashedError) as crashed:
        await task
    assert str(crashed.value) == (
        "The kraken worker stopped unexpectedly (signal 9) while segmenting page input."
    )
    await assert_gone(victim)
    assert victim not in engine.worker_pids
    await still_works(engine, probe_image)


async def test_a_worker_killed_between_pages_is_replaced_silently(
    engine: KrakenEngine, probe_image: Path
) -> None:
    for pid in engine.worker_pids:
        os.kill(pid, signal.SIGKILL)
        await assert_gone(pid)
    pid = await still_works(engine, probe_image)
    assert is_running(pid)


async def test_a_hung_worker_is_stopped_at_the_time_limit(
    engine: KrakenEngine, pages: Path, probe_image: Path
) -> None:
    """The worker is frozen (SIGSTOP) mid-page, as a hang in kraken's C code would leave it."""
    await engine.start()  # the time limit is per page: starting a worker is not counted
    frozen: list[int] = []

    def freeze(step: Progress) -> None:
        if step.stage == STAGE_NETWORK and not frozen:
            frozen.extend(engine.busy_worker_pids)
            os.kill(frozen[0], signal.SIGSTOP)

    engine.page_timeout = 8
    try:
        started = time.monotonic()
        with pytest.raises(PageTimeoutError) as late:
            await engine.segment(pages / "images" / "input.jpg", page="input", progress=freeze)
        elapsed = time.monotonic() - started
    finally:
        engine.page_timeout = 600
    assert str(late.value) == (
        "kraken took longer than 8 s segmenting page input; its worker was stopped."
    )
    assert 8 <= elapsed < 12
    await assert_gone(frozen[0])
    assert frozen[0] not in engine.worker_pids
    await still_works(engine, probe_image)


async def test_cancelled_pages_leave_no_worker_behind(engine: KrakenEngine, pages: Path) -> None:
    running: set[str] = set()

    def progress(step: Progress) -> None:
        if step.stage == STAGE_NETWORK:
            running.add(step.page)

    images = [pages / "images" / "input.jpg", pages / "images" / "bw.png"]
    tasks = [
        asyncio.ensure_future(engine.segment(p, page=p.name, progress=progress)) for p in images
    ]
    deadline = time.monotonic() + 120
    while len(running) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert running == {"input.jpg", "bw.png"}  # two pages at once, on two workers
    busy = engine.worker_pids
    assert len(busy) == 2
    for task in tasks:
        task.cancel()
    for task in tasks:
        with pytest.raises(asyncio.CancelledError):
            await task
    for pid in busy:
        await assert_gone(pid, timeout=2.0)
    assert engine.worker_pids == []


async def test_closing_the_engine_ends_its_pages_and_workers(pages: Path) -> None:
    engine = KrakenEngine(workers=1)
    started = asyncio.Event()
    task = asyncio.ensure_future(
        engine.segment(
            pages / "images" / "input.jpg",
            page="input",
            progress=lambda step: started.set() if step.stage == STAGE_NETWORK else None,
        )
    )
    await asyncio.wait_for(started.wait(), 120)
    [pid] = engine.worker_pids
    await engine.close()
    with pytest.raises(EngineClosedError) as closed:
        await task
    assert str(closed.value) == "The kraken engine was closed while segmenting page input."
    await assert_gone(pid, timeout=2.0)
    with pytest.raises(EngineClosedError):
        await engine.segment(pages / "images" / "input.jpg")


async def test_a_worker_out_of_memory(pages: Path, probe_image: Path) -> None:
    """1.5 GB of address space loads kraken but not the energy map of a 144-megapixel page."""
    huge = pages / "huge.png"
    Image.new("L", (12000, 12000), 200).save(huge)
    async with KrakenEngine(workers=1, memory_limit=3 * 2**29) as small:
        with pytest.raises(WorkerOutOfMemoryError) as exhausted:
            await small.masks(huge, [[(10, 100), (5000, 100)]], page="huge")
        assert str(exhausted.value) == (
            "The kraken worker ran out of memory while computing the masks of page huge "
            "(a worker may use 1.5 GB); it was replaced."
        )
        assert small.worker_pids == []
        pid = await still_works(small, probe_image)
        assert is_running(pid)


async def test_too_little_memory_to_start_kraken(probe_image: Path) -> None:
    async with KrakenEngine(workers=1, memory_limit=2**29) as tiny:
        with pytest.raises(EngineStartError) as failed:
            await tiny.masks(probe_image, [PROBE_BASELINE])
        assert str(failed.value) == (
            "The kraken worker could not start: 512 MB of memory is not enough to load kraken."
        )
        assert tiny.worker_pids == []
