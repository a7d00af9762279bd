"""Segmentation with kraken's default blla model in a worker, on one real handwritten scan.

The page is segmented once per module (about a minute on 2 cores): by the engine, and at the
same time by kraken called directly in this process, so the engine's result can be compared
with kraken's own. A second, regions-only run shows that kraken then skips all line work.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import shapely.geometry as geom
from PIL import Image

from esctui.engine import KrakenEngine, PageSegmentation, Progress
from esctui.engine.data import (
    STAGE_BASELINES,
    STAGE_NETWORK,
    STAGE_POLYGONS,
    STAGE_REGIONS,
)
from esctui.engine.worker import segmentation_result
from esctui.formats.xml import parse_layout_xml
from tests.engine.engine_helpers import SCAN

pytestmark = pytest.mark.slow


@dataclass
class Segmented:
    image: Path
    size: tuple[int, int]
    both: PageSegmentation
    steps: list[Progress]
    direct: Any  # kraken.containers.Segmentation from kraken called in this process
    regions_only: PageSegmentation
    regions_steps: list[Progress]


def segment_directly(image: Path) -> Any:
    """kraken's own segmentation, as its CLI runs it (one torch thread, like the worker)."""
    from esctui.compat import torchvision_shim

    torchvision_shim.install()
    import torch
    from kraken.configs import SegmentationInferenceConfig
    from kraken.lib.util import open_image
    from kraken.tasks import SegmentationTaskModel

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = SegmentationTaskModel.load_model()
        return model.predict(open_image(str(image)), SegmentationInferenceConfig())
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def segmented(pages: Path) -> Segmented:
    image = pages / "images" / f"{SCAN}.jpg"

    async def run() -> Segmented:
        async with KrakenEngine(workers=1, threads=1) as engine:
            steps: list[Progress] = []
            both, direct = await asyncio.gather(
                engine.segment(image, page=SCAN, progress=steps.append),
                asyncio.to_thread(segment_directly, image),
            )
            regions_steps: list[Progress] = []
            regions_only = await engine.segment(
                image, content="regions", progress=regions_steps.append
            )
        with Image.open(image) as scan:
            size = scan.size
        return Segmented(image, size, both, steps, direct, regions_only, regions_steps)

    return asyncio.run(run())


def test_lines_lie_on_the_page_with_masks_around_their_baselines(segmented: Segmented) -> None:
    width, height = segmented.size
    assert segmented.both.lines
    for line in segmented.both.lines:
        assert len(line.baseline) >= 2
        assert all(0 <= x <= width and 0 <= y <= height for x, y in line.baseline)
        assert line.mask is not None and len(line.mask) >= 3
        mask = geom.Polygon(line.mask)
        assert mask.area > 0
        assert mask.buffer(2).covers(geom.LineString(line.baseline))


def test_the_line_count_is_plausible_and_kraken_finds_the_same(
    segmented: Segmented, pages: Path
) -> None:
    transcribed = parse_layout_xml(pages / "page" / f"{SCAN}.xml", image_size=segmented.size)
    assert len(transcribed.lines) == 44
    found = len(segmented.both.lines)
    assert 0.75 * 44 <= found <= 1.5 * 44
    assert found == len(segmented.direct.lines)


def test_the_result_is_kraken_own_in_kraken_reading_order(segmented: Segmented) -> None:
    expected = PageSegmentation.from_wire(segmentation_result(segmented.direct, "both"), {})
    assert segmented.both.lines == expected.lines
    assert segmented.both.regions == expected.regions
    for line, kraken_line in zip(segmented.both.lines, segmented.direct.lines, strict=True):
        assert line.baseline == [(float(x), float(y)) for x, y in kraken_line.baseline]
    assert [line.order for line in segmented.both.lines] == list(range(len(expected.lines)))


def test_regions_are_ordered_by_their_first_line(segmented: Segmented) -> None:
    both = segmented.both
    assert both.regions and all(r.type == "text" for r in both.regions)
    firsts = []
    for line in both.lines:
        if line.region is not None and line.region not in firsts:
            firsts.append(line.region)
    assert firsts == list(range(len(firsts)))
    for line in both.lines:
        if line.region is not None:
            region = geom.Polygon(both.regions[line.region].polygon)
            assert region.buffer(5).intersects(geom.LineString(line.baseline))


def test_progress_runs_through_the_stages_then_every_line(segmented: Segmented) -> None:
    stages = [step.stage for step in segmented.steps]
    first = {stage: stages.index(stage) for stage in dict.fromkeys(stages)}
    assert first[STAGE_NETWORK] < first[STAGE_REGIONS] < first[STAGE_BASELINES]
    assert first[STAGE_BASELINES] < first[STAGE_POLYGONS]
    polygons = [s for s in segmented.steps if s.stage == STAGE_POLYGONS]
    total = polygons[0].total
    assert [s.done for s in polygons] == list(range(1, total + 1))
    assert all(s.total == total for s in polygons)
    # Every baseline kraken found got a polygon step; lines without a polygon are dropped.
    assert total >= len(segmented.both.lines)
    assert all(s.page == SCAN for s in segmented.steps)


def test_regions_only_skips_the_line_work(segmented: Segmented) -> None:
    only = segmented.regions_only
    assert only.lines == []
    # The same regions; without lines to order them by, in kraken's own order.
    assert sorted(map(repr, only.regions)) == sorted(map(repr, segmented.both.regions))
    stages = {step.stage for step in segmented.regions_steps}
    assert STAGE_NETWORK in stages and STAGE_REGIONS in stages
    assert STAGE_POLYGONS not in stages  # no line was polygonized


def test_lines_only_and_regions_only_from_one_segmentation(segmented: Segmented) -> None:
    lines = segmentation_result(segmented.direct, "lines")
    assert lines["regions"] == [] and len(lines["lines"]) == len(segmented.direct.lines)
    assert all(line["region"] is None for line in lines["lines"])
    regions = segmentation_result(segmented.direct, "regions")
    assert regions["lines"] == [] and len(regions["regions"]) == len(segmented.both.regions)


def test_the_result_says_who_did_it_and_what_it_cost(segmented: Segmented) -> None:
    both = segmented.both
    assert both.worker_pid > 0 and both.worker_pid == segmented.regions_only.worker_pid
    assert both.seconds > 1
    assert 300 * 2**20 < both.peak_memory < 6 * 2**30
