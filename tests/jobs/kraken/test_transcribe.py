"""The transcribe job with the corpus's recognition models on the corpus scan and its PAGE lines:
one real run through the CLI (a page read, masks computed first, a broken page skipped), then
reruns and refusals that need no kraken run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from esctui.domain import Job, Line, Model
from esctui.jobs.kraken.transcribe import TranscribeJob
from esctui.jobs.models import add_model
from esctui.jobs.runner import run_job
from esctui.store import PageLayout, Store
from tests.helpers import CORPUS, run_esctui, scan_pages

pytestmark = [
    pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not there"),
    pytest.mark.slow,
]

LINES = slice(10, 18)  # 8 lines of the scan's PAGE file
UNMASKED = 3  # the first lines lose their masks: the job computes them first


class Folder:
    """A data folder with the scan twice (the second page's image broken) and both models."""

    def __init__(self, root: Path) -> None:
        self.data = root / "data"
        store = Store(self.data)
        doc = store.create_document("Scan")
        self.document_id = doc.id
        self.good, self.broken = scan_pages(store, doc.id, root / "source", 2, lines=LINES)
        layout = store.read_page_layout(doc.id, self.good.id)
        for line in layout.lines[:UNMASKED]:
            line.mask = None
        store.write_page_layout(doc.id, self.good.id, layout)
        store.part_image_path(self.broken).write_bytes(b"this is not an image")
        self.baselines: Model = add_model(
            store, CORPUS / "models" / "overfit_bl.safetensors", name="Baselines"
        )
        self.boxes: Model = add_model(store, CORPUS / "models" / "overfit.mlmodel", name="Boxes")

    def store(self) -> Store:
        return Store(self.data)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    return Folder(tmp_path_factory.mktemp("transcribe"))


@pytest.fixture(scope="module")
def transcribed(folder: Folder) -> tuple[Folder, object]:
    result = run_esctui(folder.data, "transcribe", "Scan", "--model", "Baselines", timeout=600)
    return folder, result


def transcribe(store: Store, document_id: str, **options: object) -> Job:
    return asyncio.run(run_job(store, TranscribeJob(store, document_id, **options)))  # type: ignore[arg-type]


def test_a_baseline_model_reads_every_line_into_a_version(
    transcribed: tuple[Folder, object],
) -> None:
    folder, result = transcribed
    assert result.returncode == 3, result.stderr  # done, with the broken page skipped
    store = folder.store()
    version = store.get_transcription(folder.document_id, "Baselines")  # the model's name
    assert version.source == "kraken"
    layout = store.read_page_layout(folder.document_id, folder.good.id)
    texts = layout.texts_for(version.id)
    assert set(texts) == {line.id for line in layout.lines}
    for text in texts.values():
        assert text.text.strip()
        assert text.confidence is not None and 0.0 <= text.confidence <= 1.0
    # The lines without a mask got kraken's, around their baseline, and kept it.
    for line in layout.lines[:UNMASKED]:
        assert line.mask is not None and len(line.mask) >= 3
        assert min(y for _, y in line.mask) < min(y for _, y in line.baseline or [])
    [job] = [j for j in store.list_jobs() if j.kind == "transcribe"]
    assert job.report.counts == {"lines": len(layout.lines), "masks": UNMASKED}
    [read] = job.report.imported
    assert read.name == "scan 1" and read.reason.startswith(f"{len(layout.lines)} lines, mean")
    [skipped] = job.report.skipped
    assert skipped.name == "scan 2" and "image" in skipped.reason
    assert f"skipped   scan 2: {skipped.reason}" in result.stdout
    run = store.get_part(folder.document_id, folder.good.id).engine_runs[f"transcribe:{version.id}"]
    assert run["sha256"] == folder.baselines.sha256 and run["model"] == "Baselines"
    # The broken page is whole and untouched.
    assert store.read_page_layout(folder.document_id, folder.broken.id).texts == []


def test_a_rerun_skips_what_the_model_already_read(transcribed: tuple[Folder, object]) -> None:
    folder, _ = transcribed
    store = folder.store()
    before = store.read_page_layout(folder.document_id, folder.good.id)
    job = transcribe(store, folder.document_id, model="Baselines", part_ids=[folder.good.id])
    assert job.status == "done", job.error
    assert job.report.counts == {"already transcribed": 1} and not job.report.imported
    assert "1 page already transcribed with 'Baselines' (scan 1)" in job.report.notes[0]
    assert store.read_page_layout(folder.document_id, folder.good.id) == before


def test_a_box_model_refuses_baseline_lines_before_starting(
    transcribed: tuple[Folder, object],
) -> None:
    folder, _ = transcribed
    store = folder.store()
    job = transcribe(store, folder.document_id, model="Boxes", part_ids=[folder.good.id])
    assert job.status == "failed"
    assert job.error == (
        "No page can be read with 'Boxes': the model reads box lines (no baselines), and this "
        "page has only lines along baselines"
    )
    assert "Boxes" not in {v.name for v in store.list_transcriptions(folder.document_id)}


def test_every_reason_is_named_when_no_page_suits(folder: Folder, tmp_path: Path) -> None:
    """A page without lines and a page of baselines, a box model: both reasons, with their
    pages (only the first was named, so the baseline page's refusal was hidden)."""
    store = folder.store()
    doc = store.create_document("Mixed")
    scan_pages(store, doc.id, tmp_path / "lines", lines=LINES)
    scan_pages(store, doc.id, tmp_path / "empty", lines=slice(0, 0))
    first, second = store.list_parts(doc.id)
    job = transcribe(store, doc.id, model="Boxes")
    assert job.status == "failed"
    assert job.error == (
        f"No page can be read with 'Boxes': {first.name}: the model reads box lines (no "
        f"baselines), and this page has only lines along baselines; {second.name}: the page "
        "has no lines: segment it first"
    )


def test_a_baseline_model_refuses_box_only_pages(folder: Folder, tmp_path: Path) -> None:
    store = folder.store()
    doc = store.create_document("Boxes only")
    [part] = scan_pages(store, doc.id, tmp_path, lines=LINES)
    layout = store.read_page_layout(doc.id, part.id)
    boxes = [Line(part.id, None, line.mask, order=line.order) for line in layout.lines]
    store.write_page_layout(doc.id, part.id, PageLayout([], boxes, []))
    job = transcribe(store, doc.id, model="Baselines")
    assert job.status == "failed"
    assert job.error == (
        "No page can be read with 'Baselines': the model reads lines along baselines, and this "
        "page has only box lines (no baselines)"
    )


def test_a_model_file_gone_from_disk_ends_the_job(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    doc = store.create_document("Scan")
    [part] = scan_pages(store, doc.id, tmp_path / "source", lines=LINES)
    gone = add_model(store, CORPUS / "models" / "overfit_bl.safetensors", name="Gone")
    path = store.models_dir() / gone.filename
    path.unlink()
    before = store.read_page_layout(doc.id, part.id)
    result = run_esctui(tmp_path / "data", "transcribe", "Scan", "--model", "Gone")
    assert result.returncode == 1
    assert (
        f"The file of the model 'Gone' is missing from the data folder ({path}); delete the "
        "model and upload it again." in result.stderr
    )
    assert store.read_page_layout(doc.id, part.id) == before
    assert store.list_transcriptions(doc.id) == []
