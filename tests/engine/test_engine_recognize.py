"""Recognition in a worker with the corpus models, compared with kraken called in-process.

Baseline lines: the first lines of the handwritten scan's PAGE file, with the baseline model.
Box lines: the two lines of 0014.jpg's ALTO file (the boxes of their masks), with the box model.
The models are tiny and overfitted, so the text is not meant to be right; it must be kraken's.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from esctui.domain import Line
from esctui.engine import KrakenEngine, LineShape, PageRecognition, Progress
from esctui.engine.data import STAGE_RECOGNIZING
from esctui.formats.xml import parse_layout_xml
from tests.engine.engine_helpers import SCAN

pytestmark = pytest.mark.slow

BASELINE_LINES = 8


@dataclass
class Read:
    lines: list[LineShape]
    result: PageRecognition
    steps: list[Progress]
    direct: list[Any]  # kraken's ocr_records for the same lines


def stored_lines(xml: Path, size: tuple[int, int], count: int | None = None) -> list[LineShape]:
    parsed = parse_layout_xml(xml, image_size=size)
    return [LineShape.from_line(Line("p", ln.baseline, ln.mask)) for ln in parsed.lines[:count]]


def recognize_directly(image: Path, model: Path, lines: list[LineShape]) -> list[Any]:
    """kraken's RecognitionTaskModel on the same lines, in this process."""
    from esctui.compat import torchvision_shim

    torchvision_shim.install()
    from kraken.configs import RecognitionInferenceConfig
    from kraken.containers import BaselineLine, BBoxLine, Segmentation
    from kraken.lib.util import open_image
    from kraken.tasks import RecognitionTaskModel

    if lines[0].baseline is not None:
        kind = "baselines"
        records: list[Any] = [
            BaselineLine(id=f"l{i}", baseline=ln.baseline, boundary=ln.boundary)
            for i, ln in enumerate(lines)
        ]
    else:
        kind = "bbox"
        records = [BBoxLine(id=f"l{i}", bbox=ln.bbox) for i, ln in enumerate(lines)]
    segmentation = Segmentation(
        type=kind,
        imagename=str(image),
        text_direction="horizontal-lr",
        script_detection=False,
        lines=records,
    )
    task = RecognitionTaskModel.load_model(model)
    config = RecognitionInferenceConfig(num_line_workers=0)
    return list(task.predict(im=open_image(str(image)), segmentation=segmentation, config=config))


@pytest.fixture(scope="module")
def read(pages: Path) -> dict[str, Read]:
    from PIL import Image

    cases = {
        "baselines": (
            pages / "images" / f"{SCAN}.jpg",
            pages / "page" / f"{SCAN}.xml",
            pages / "models" / "overfit_bl.safetensors",
            BASELINE_LINES,
        ),
        "bbox": (
            pages / "images" / "0014.jpg",
            pages / "alto" / "0014.xml",
            pages / "models" / "overfit.mlmodel",
            None,
        ),
    }

    async def run() -> dict[str, Read]:
        results = {}
        async with KrakenEngine(workers=1) as engine:
            for name, (image, xml, model, count) in cases.items():
                with Image.open(image) as scan:
                    size = scan.size
                lines = stored_lines(xml, size, count)
                if name == "bbox":
                    lines = [LineShape(bbox=_box(ln)) for ln in lines]
                steps: list[Progress] = []
                result = await engine.recognize(
                    image, model, lines, page=name, progress=steps.append
                )
                direct = await asyncio.to_thread(recognize_directly, image, model, lines)
                results[name] = Read(lines, result, steps, direct)
        return results

    return asyncio.run(run())


def _box(line: LineShape) -> tuple[float, float, float, float]:
    """The box of a line's mask (0014's ALTO lines have baselines; the box model wants boxes)."""
    assert line.boundary is not None
    xs = [x for x, _ in line.boundary]
    ys = [y for _, y in line.boundary]
    return (min(xs), min(ys), max(xs), max(ys))


@pytest.mark.parametrize("kind", ["baselines", "bbox"])
def test_each_line_gets_kraken_text_and_mean_confidence(read: dict[str, Read], kind: str) -> None:
    case = read[kind]
    assert len(case.result.lines) == len(case.lines) == len(case.direct)
    assert any(line.text for line in case.result.lines)
    for line, record in zip(case.result.lines, case.direct, strict=True):
        assert line.text == record.prediction
        if record.confidences:
            mean = statistics.fmean(float(c) for c in record.confidences)
            assert line.confidence == pytest.approx(mean, rel=1e-6)
            assert 0.0 <= line.confidence <= 1.0
        else:
            assert line.text == "" and line.confidence is None


@pytest.mark.parametrize("kind", ["baselines", "bbox"])
def test_progress_comes_line_by_line(read: dict[str, Read], kind: str) -> None:
    case = read[kind]
    steps = [s for s in case.steps if s.stage == STAGE_RECOGNIZING]
    count = len(case.lines)
    assert [s.done for s in steps] == list(range(count + 1))
    assert all(s.total == count and s.page == kind for s in steps)


def test_kraken_warnings_come_back_as_notes(read: dict[str, Read]) -> None:
    notes = read["baselines"].result.notes
    assert any("legacy polygon extractor" in note for note in notes), notes


def test_one_worker_serves_both_models(read: dict[str, Read]) -> None:
    pids = {case.result.worker_pid for case in read.values()}
    assert len(pids) == 1 and 0 not in pids
