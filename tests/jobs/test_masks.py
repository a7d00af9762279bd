"""Line masks with kraken on a real scan and its real baselines (corpus PAGE file of that scan)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
import shapely.geometry as geom

from esctui.domain import Job, Line
from esctui.engine.masks import kraken_baseline, mask_from_kraken
from esctui.formats.xml import parse_layout_xml
from esctui.jobs.imports.images import DEFAULT_MAX_PIXELS, prepare_image
from esctui.jobs.masks import MasksJob
from esctui.jobs.runner import run_job
from esctui.store import PageLayout, Store
from tests.helpers import CORPUS

SCAN = "170025120000003,0074"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not there")


def scan_page(store: Store, tmp_path: Path, keep: slice, *, masks: bool) -> tuple[str, str]:
    """A document with the real scan and the lines ``keep`` of its PAGE file (with masks or not)."""
    doc = store.create_document("Scan")
    source = tmp_path / f"{SCAN}.jpg"
    shutil.copy(CORPUS / "images" / f"{SCAN}.jpg", source)
    [staged] = prepare_image(source, store.new_staging_dir(doc.id), DEFAULT_MAX_PIXELS)
    [part], _ = store.add_parts(doc.id, [staged])
    parsed = parse_layout_xml(CORPUS / "page" / f"{SCAN}.xml", image_size=(part.width, part.height))
    lines = [
        Line(part.id, pl.baseline, pl.mask if masks else None, None, pl.type, pl.id, i)
        for i, pl in enumerate(parsed.lines[keep])
    ]
    store.write_page_layout(doc.id, part.id, PageLayout([], lines, []))
    return doc.id, part.id


def run_masks(store: Store, document_id: str, **options: Any) -> Job:
    return asyncio.run(run_job(store, MasksJob(store, document_id, **options)))


def assert_mask_fits(line: Line) -> None:
    """A closed polygon of 3+ points that contains or touches the (pixel) baseline."""
    assert line.mask is not None and len(set(line.mask)) >= 3
    polygon = geom.Polygon(line.mask)
    assert polygon.is_valid and polygon.area > 0
    baseline = geom.LineString(kraken_baseline(line.baseline, 10**6, 10**6))
    assert polygon.buffer(1.0).covers(baseline), line.external_id


@pytest.mark.slow
def test_only_missing_masks_are_computed(store: Store, tmp_path: Path) -> None:
    document_id, part_id = scan_page(store, tmp_path, slice(None), masks=True)
    layout = store.read_page_layout(document_id, part_id)
    before = {line.id: line.mask for line in layout.lines}
    missing = {line.id for line in layout.lines[10:14]}
    for line in layout.lines:
        if line.id in missing:
            line.mask = None
    store.write_page_layout(document_id, part_id, layout)

    job = run_masks(store, document_id)
    assert job.kind == "masks" and job.status == "done", job.error
    assert job.report.counts["masks"] == 4 and not job.report.skipped
    after = store.read_page_layout(document_id, part_id)
    for line in after.lines:
        if line.id in missing:
            assert_mask_fits(line)
            top = min(y for _, y in line.mask)
            assert top < min(y for _, y in line.baseline) - 5  # the text is above a baseline
        else:
            assert line.mask == before[line.id]  # untouched


@pytest.mark.slow
def test_all_replaces_every_mask_and_reports_what_fails(store: Store, tmp_path: Path) -> None:
    document_id, part_id = scan_page(store, tmp_path, slice(20, 25), masks=True)
    layout = store.read_page_layout(document_id, part_id)
    original = {line.id: line.mask for line in layout.lines}
    point = layout.lines[0].baseline[0]
    dot = Line(part_id, [point, (point[0] + 0.2, point[1])], None, None, "default", "dot", 5)
    layout.lines.append(dot)
    store.write_page_layout(document_id, part_id, layout)

    untouched = run_masks(store, document_id)  # nothing missing but the unusable dot
    assert [item.name for item in untouched.report.skipped] == [f"{SCAN} line dot"]
    assert (
        store.read_page_layout(document_id, part_id).lines[0].mask == original[layout.lines[0].id]
    )

    job = run_masks(store, document_id, only_missing=False)
    assert job.status == "done", job.error
    assert job.report.counts["masks"] == 5
    assert len(job.report.skipped) == 1 and "too short" in job.report.skipped[0].reason
    after = store.read_page_layout(document_id, part_id)
    for line in after.lines[:5]:
        assert_mask_fits(line)
        assert line.mask != original[line.id]  # replaced by kraken's polygon
    assert after.lines[5].mask is None


def test_helpers() -> None:
    assert kraken_baseline([(-3.4, 5.6), (10.2, 5.5), (10.4, 5.4), (20, 99)], 15, 50) == [
        (0, 6),
        (10, 6),
        (10, 5),
        (14, 49),
    ]
    assert kraken_baseline([(1.2, 1.0), (0.9, 1.1)], 10, 10) is None
    assert mask_from_kraken([[0, 0], [0, 5], [5, 5], [0, 0]]) == [(0, 0), (0, 5), (5, 5)]
    assert mask_from_kraken([[0, 0], [0, 5], [0, 0]]) is None
    assert mask_from_kraken(None) is None


@pytest.mark.slow
def test_cli_masks(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    data = tmp_path / "data"
    document_id, part_id = scan_page(Store(data), tmp_path, slice(30, 33), masks=False)
    env = {**os.environ, "ESCTUI_DATA": str(data)}

    def esctui(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "esctui", "masks", document_id, *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)

    assert esctui("--pages", "2").returncode == 2
    result = esctui("--pages", "1")
    assert result.returncode == 0, result.stderr
    assert "masks: 3" in result.stdout
    for line in Store(data).read_page_layout(document_id, part_id).lines:
        assert_mask_fits(line)
