"""The PDF importer's optional text layer: lines with text in a named version, off by default."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from esctui.domain import JobStatus, TranscriptionSource
from esctui.jobs.imports.pdf import PdfImporter
from esctui.jobs.runner import run_job
from esctui.store import Store


def test_the_text_layer_is_ignored_by_default(store: Store, corpus: Path) -> None:
    doc = store.create_document("P")
    importer = PdfImporter(store, doc.id, corpus / "pdf" / "scan_with_text_layer.pdf")
    job = asyncio.run(run_job(store, importer))
    assert job.status == JobStatus.DONE.value
    [part] = store.list_parts(doc.id)
    assert store.read_page_layout(doc.id, part.id).lines == []
    assert store.list_transcriptions(doc.id) == []


def test_the_text_layer_becomes_a_version_with_boxes_and_baselines(
    store: Store, corpus: Path
) -> None:
    doc = store.create_document("P")
    importer = PdfImporter(
        store, doc.id, corpus / "pdf" / "scan_with_text_layer.pdf", text_layer="OCR layer"
    )
    job = asyncio.run(run_job(store, importer))
    assert job.status == JobStatus.DONE.value, job.error
    assert job.report.counts["text lines"] == 1
    [version] = store.list_transcriptions(doc.id)
    assert (version.name, version.source) == ("OCR layer", TranscriptionSource.PDF_TEXT.value)
    [part] = store.list_parts(doc.id)
    assert part.line_count == 1
    layout = store.read_page_layout(doc.id, part.id)
    [line] = layout.lines
    assert layout.texts_for(version.id)[line.id].text == "hidden OCR text layer"
    assert len(line.mask) == 4 and len(line.baseline) == 2
    for x, y in [*line.mask, *line.baseline]:
        assert 0 <= x <= part.width and 0 <= y <= part.height
    (x0, y0), (x1, y1) = line.baseline
    assert x1 > x0  # the baseline runs along the text, left to right


def test_cli_text_layer_option_names_the_version_after_the_file(
    tmp_path: Path, corpus: Path
) -> None:
    env = {**os.environ, "ESCTUI_DATA": str(tmp_path / "data")}

    def esctui(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "esctui", *args], capture_output=True, text=True, env=env
        )

    assert esctui("documents", "create", "P").returncode == 0
    pdf = corpus / "pdf" / "scan_with_text_layer.pdf"
    result = esctui("import", "pdf", "P", str(pdf), "--text-layer", "--json")
    assert result.returncode == 0, result.stderr
    store = Store(tmp_path / "data")
    doc = store.get_document("P")
    assert [v.name for v in store.list_transcriptions(doc.id)] == [
        "scan_with_text_layer (PDF text)"
    ]
    assert json.loads(result.stdout)["status"] == "done"


def test_an_impossible_resolution_fails_in_plain_words(store: Store, corpus: Path) -> None:
    doc = store.create_document("P")
    job = asyncio.run(
        run_job(store, PdfImporter(store, doc.id, corpus / "pdf" / "three_scans.pdf", dpi=0))
    )
    assert job.status == JobStatus.FAILED.value
    assert job.error == "The resolution for rendered pages must be from 10 to 1200 DPI, not 0."
    assert store.list_parts(doc.id) == []
