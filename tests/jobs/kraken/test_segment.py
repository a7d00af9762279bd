"""The segment job with kraken's default blla model on the corpus scan: one real segmentation
(module fixture), then what a rerun, the "keep" rule, the CLI's override question and a model
of the wrong kind do with it (no more kraken)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from esctui.domain import Job, LineText
from esctui.jobs.kraken.choice import DEFAULT_SEGMENTATION_NAME, default_segmentation_model
from esctui.jobs.kraken.segment import SegmentJob
from esctui.jobs.models import add_model
from esctui.jobs.runner import run_job
from esctui.store import Store
from tests.helpers import CORPUS, run_esctui, scan_pages

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not there")


def segment(store: Store, document_id: str, **options: object) -> Job:
    return asyncio.run(run_job(store, SegmentJob(store, document_id, **options)))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def segmented(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str, Job]:
    """A data folder with the scan segmented by blla (lines of the PAGE file removed first)."""
    folder = tmp_path_factory.mktemp("segment")
    store = Store(folder / "data")
    doc = store.create_document("Scan")
    [part] = scan_pages(store, doc.id, folder / "source", lines=slice(0, 0))
    job = segment(store, doc.id)
    return folder / "data", doc.id, part.id, job


@pytest.mark.slow
def test_blla_finds_the_lines_of_the_scan_whole(segmented: tuple[Path, str, str, Job]) -> None:
    data, document_id, part_id, job = segmented
    assert job.status == "done", job.error
    store = Store(data)
    part = store.get_part(document_id, part_id)
    layout = store.read_page_layout(document_id, part_id)
    # The PAGE transcription of this scan has 44 lines; blla finds about as many.
    assert 30 <= len(layout.lines) <= 70
    assert part.line_count == len(layout.lines) and part.region_count == len(layout.regions)
    assert layout.regions, "blla finds text regions on this page"
    region_ids = {region.id for region in layout.regions}
    for order, line in enumerate(layout.lines):
        assert line.order == order
        assert line.baseline is not None and len(line.baseline) >= 2
        assert all(0 <= x < part.width and 0 <= y < part.height for x, y in line.baseline)
        assert line.mask is not None and len(line.mask) >= 3
        assert line.region_id is None or line.region_id in region_ids
        assert line.type
    # Reading order: mostly top to bottom on this single-column page.
    tops = [min(y for _, y in line.baseline or []) for line in layout.lines]
    assert sum(a <= b for a, b in zip(tops, tops[1:], strict=False)) >= 0.8 * (len(tops) - 1)
    assert job.report.counts["lines"] == len(layout.lines)
    assert [item.name for item in job.report.imported] == [part.name]
    run = part.engine_runs["segment"]
    blla = default_segmentation_model()
    assert run["model"] == DEFAULT_SEGMENTATION_NAME == blla.name
    assert run["sha256"] == blla.sha256
    assert run["options"] == {"content": "both", "text_direction": "horizontal-lr"}


@pytest.mark.slow
def test_a_rerun_skips_the_page_and_force_is_needed(
    segmented: tuple[Path, str, str, Job],
) -> None:
    data, document_id, part_id, _ = segmented
    store = Store(data)
    before = store.read_page_layout(document_id, part_id)
    again = segment(store, document_id, existing="replace")
    assert again.status == "done", again.error
    assert again.report.counts == {"already segmented": 1}
    assert not again.report.imported and not again.report.skipped
    assert again.report.notes == [
        f"1 page already segmented with {DEFAULT_SEGMENTATION_NAME!r} (scan 1); --force redoes them"
    ]
    assert (again.total, again.done) == (1, 1)
    assert store.read_page_layout(document_id, part_id) == before


@pytest.mark.slow
def test_other_options_keep_a_segmented_page(segmented: tuple[Path, str, str, Job]) -> None:
    """Lines only is not what blla did: the page is not 'already done', and "keep" skips it."""
    data, document_id, part_id, _ = segmented
    store = Store(data)
    before = store.read_page_layout(document_id, part_id)
    job = segment(store, document_id, content="lines")
    assert job.status == "done" and not job.report.imported
    [skipped] = job.report.skipped
    assert skipped.name == "scan 1"
    assert skipped.reason.startswith(f"already holds {len(before.lines)} lines and ")
    assert store.read_page_layout(document_id, part_id) == before


@pytest.mark.slow
def test_the_cli_shows_what_override_removes_and_asks(
    segmented: tuple[Path, str, str, Job],
) -> None:
    data, document_id, part_id, _ = segmented
    store = Store(data)
    layout = store.read_page_layout(document_id, part_id)
    version = store.create_transcription(document_id, "Diplomatic", "manual")
    layout.texts = [
        LineText(line.id, version.id, f"line {i}") for i, line in enumerate(layout.lines[:3])
    ]
    store.write_page_layout(document_id, part_id, layout)

    refused = run_esctui(data, "segment", "Scan", "--override", "--force")
    assert refused.returncode == 2, refused.stderr
    assert (
        f"Replacing the segmentation of 1 page removes {len(layout.lines)} lines and "
        f"{len(layout.regions)} regions, and with them the text of 1 version: "
        "'Diplomatic' (3 lines). This cannot be undone."
    ) in refused.stdout
    assert "--yes" in refused.stderr
    assert store.read_page_layout(document_id, part_id) == layout

    # --yes, without --force: the page is already done with this model (exit 0, unchanged).
    done = run_esctui(data, "segment", "Scan", "--override", "--yes")
    assert done.returncode == 0, done.stderr
    assert "already segmented with 'kraken default (blla)'" in done.stdout


@pytest.mark.slow
def test_a_recognition_model_cannot_segment(segmented: tuple[Path, str, str, Job]) -> None:
    data, document_id, part_id, _ = segmented
    store = Store(data)
    model = add_model(store, CORPUS / "models" / "overfit_bl.safetensors", name="Reader")
    before = store.read_page_layout(document_id, part_id)
    result = run_esctui(data, "segment", "Scan", "--model", "Reader", "--force", "--add")
    assert result.returncode == 1
    assert (
        "The model 'Reader' is a recognition model; segmenting needs a segmentation model."
        in result.stderr
    )
    assert store.read_page_layout(document_id, part_id) == before
    assert model.kinds == ["recognition"]


def test_no_pages_is_a_sentence(store: Store) -> None:
    doc = store.create_document("Empty")
    job = segment(store, doc.id)
    assert (job.status, job.error) == ("failed", "The document has no pages to segment.")
