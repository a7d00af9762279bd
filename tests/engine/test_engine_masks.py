"""Masks from the engine's workers are exactly kraken's ``calculate_polygonal_environment``'s.

Real scan, real baselines (its PAGE file). The engine shares a page's lines among two workers,
and runs two pages at once on two workers.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from esctui.engine import KrakenEngine, PageMasks, Progress
from esctui.engine.data import STAGE_MASKS
from esctui.engine.masks import kraken_baseline, mask_from_kraken
from esctui.formats.xml import parse_layout_xml
from tests.engine.engine_helpers import SCAN

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scan(pages: Path) -> tuple[Path, list[list[tuple[int, int]]]]:
    """The scan and its 44 baselines as whole pixels."""
    image = pages / "images" / f"{SCAN}.jpg"
    with Image.open(image) as opened:
        width, height = opened.size
    parsed = parse_layout_xml(pages / "page" / f"{SCAN}.xml", image_size=(width, height))
    baselines = [kraken_baseline(ln.baseline, width, height) for ln in parsed.lines]
    assert all(baselines)
    return image, baselines  # type: ignore[return-value]


def kraken_direct(
    image: Path, baselines: list[Any], boundaries: list[Any], topline: bool | None
) -> list[Any]:
    """One call of kraken's polygonizer on the whole page, in this process."""
    from esctui.compat import torchvision_shim

    torchvision_shim.install()
    from kraken.lib.segmentation import calculate_polygonal_environment

    with Image.open(image) as opened:
        opened.load()
        polygons = calculate_polygonal_environment(
            opened, baselines, suppl_obj=boundaries, topline=topline
        )
    return [None if p is None else [(int(x), int(y)) for x, y in p] for p in polygons]


@pytest.fixture(scope="module")
def computed(scan: tuple[Path, list[Any]]) -> dict[str, Any]:
    """Masks of some lines (bounded by the others), shared by two workers; then two pages at
    once; and kraken's direct results for the same calls."""
    image, baselines = scan
    todo, others = baselines[:9], baselines[9:]
    centered = baselines[20:24]

    async def run() -> dict[str, Any]:
        async with KrakenEngine(workers=2) as engine:
            await engine.start()
            steps: list[Progress] = []
            shared = await engine.masks(
                image, todo, boundaries=others, page=SCAN, progress=steps.append, shares=2
            )
            times: dict[str, list[float]] = {"a": [], "b": []}

            def stamp(name: str):  # noqa: ANN202
                return lambda step: times[name].append(time.monotonic())

            pair = await asyncio.gather(
                engine.masks(
                    image, centered, topline=None, page="a", progress=stamp("a"), shares=1
                ),
                engine.masks(
                    image, centered, topline=True, page="b", progress=stamp("b"), shares=1
                ),
            )
        return {"shared": shared, "steps": steps, "pair": pair, "times": times}

    result = asyncio.run(run())
    result["direct_shared"] = kraken_direct(image, todo, others, False)
    result["direct_centered"] = kraken_direct(image, centered, [], None)
    result["direct_topline"] = kraken_direct(image, centered, [], True)
    return result


def test_shared_page_masks_are_identical_to_kraken(computed: dict[str, Any]) -> None:
    shared: PageMasks = computed["shared"]
    assert len(set(shared.worker_pids)) == 2  # the page was split between the two workers
    assert shared.polygons == computed["direct_shared"]
    assert sum(p is not None for p in shared.polygons) >= 8
    assert shared.masks == [mask_from_kraken(p) for p in computed["direct_shared"]]


def test_toplines_and_centerlines_are_identical_to_kraken(computed: dict[str, Any]) -> None:
    centered, topline = computed["pair"]
    assert centered.polygons == computed["direct_centered"]
    assert topline.polygons == computed["direct_topline"]
    assert centered.polygons != topline.polygons  # the offset really changes the masks


def test_two_pages_run_on_two_workers_at_once(computed: dict[str, Any]) -> None:
    centered, topline = computed["pair"]
    assert len(centered.worker_pids) == len(topline.worker_pids) == 1
    assert centered.worker_pids != topline.worker_pids
    a, b = computed["times"]["a"], computed["times"]["b"]
    assert a[0] < b[-1] and b[0] < a[-1]  # each was in progress while the other was


def test_progress_counts_the_lines_of_all_shares(computed: dict[str, Any]) -> None:
    steps = [s for s in computed["steps"] if s.stage == STAGE_MASKS]
    done = [s.done for s in steps]
    assert done == sorted(done) and done[-1] == 9
    assert set(range(1, 10)) <= set(done)
    assert all(s.total == 9 and s.page == SCAN for s in steps)


async def test_a_worker_profiles_its_requests_when_asked(
    scan: tuple[Path, list[Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ESCTUI_WORKER_PROFILE (for benchmarks): each worker leaves its cProfile statistics."""
    import pstats

    from esctui.engine.worker import PROFILE_ENV

    image, baselines = scan
    monkeypatch.setenv(PROFILE_ENV, str(tmp_path))
    async with KrakenEngine(workers=1) as engine:
        found = await engine.masks(image, baselines[:2], page=SCAN)
        [pid] = engine.worker_pids
    assert len(found.polygons) == 2
    stats = pstats.Stats(str(tmp_path / f"worker-{pid}.prof"))
    assert any(name == "polygonize" for _, _, name in stats.stats)  # type: ignore[attr-defined]
