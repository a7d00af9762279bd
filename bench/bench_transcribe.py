"""Recognition of whole pages with a corpus model: the engine against ``kraken ... ocr``.

    .venv/bin/python bench/bench_transcribe.py [--pages 10] [--workers 1,2]

The pages are those of bench_segment.py (the corpus page scans, in turn). Untimed set-up: the
kraken CLI segments each distinct scan once into PAGE XML (``-x segment -bl``), and every page
gets a copy of its scan's XML. The baseline is one ``kraken -f page -I '*.xml' -o .txt ocr -m
overfit_bl.safetensors`` process over all pages (kraken's defaults: one torch thread, two
line-extraction helper processes). Each engine run starts a fresh ``KrakenEngine``, reads the
same XML files with esctui's reader and submits every page at once; both clocks include
starting Python, importing kraken and loading the model.

Printed: wall and processor time per side, the ratio engine/CLI (target <= 1.1 with one
worker), and whether every page's text is the CLI's. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_segment import CORPUS, SCANS, make_pages, run_kraken  # noqa: E402

from esctui.domain import Line  # noqa: E402
from esctui.engine import KrakenEngine, LineShape  # noqa: E402
from esctui.formats.xml import parse_layout_xml  # noqa: E402

MODEL = (
    Path(__file__).resolve().parents[2] / "shared" / "corpus" / "models" / "overfit_bl.safetensors"
)
TARGET = 1.1


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def segment_scans(folder: Path, pages: list[Path]) -> None:
    """PAGE XML beside every page (kraken segments each distinct scan once)."""
    sources = folder / "scans"
    sources.mkdir()
    arguments = []
    for name in SCANS:
        shutil.copyfile(CORPUS / name, sources / name)
        arguments += ["-i", str(sources / name), str((sources / name).with_suffix(".xml"))]
    done = run_kraken([*arguments, "-x", "segment", "-bl"])
    if done.returncode != 0:
        raise SystemExit(f"kraken failed: {done.stderr[-2000:]}")
    for index, page in enumerate(pages):
        scan = sources / SCANS[index % len(SCANS)]
        xml = scan.with_suffix(".xml").read_text(encoding="utf-8")
        xml, found = re.subn(r'imageFilename="[^"]*"', f'imageFilename="{page.name}"', xml)
        assert found == 1, "kraken's PAGE XML names no image"
        page.with_suffix(".xml").write_text(xml, encoding="utf-8")


def with_cli(folder: Path, pages: list[Path]) -> dict[str, Any]:
    cpu = children_cpu()
    start = time.perf_counter()
    done = run_kraken(
        ["-f", "page", "-I", f"{folder}/page*.xml", "-o", ".txt", "ocr", "-m", str(MODEL)]
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"kraken failed: {done.stderr[-2000:]}")
    texts = {page.name: page.with_suffix(".txt").read_text(encoding="utf-8") for page in pages}
    return {"seconds": seconds, "cpu": children_cpu() - cpu, "texts": texts}


async def engine_run(pages: list[Path], workers: int) -> dict[str, Any]:
    async def page_text(engine: KrakenEngine, page: Path) -> tuple[str, Any]:
        parsed = await asyncio.to_thread(parse_layout_xml, page.with_suffix(".xml"))
        lines = [LineShape.from_line(Line("p", ln.baseline, ln.mask)) for ln in parsed.lines]
        result = await engine.recognize(page, MODEL, lines, page=page.name)
        return "\n".join(line.text for line in result.lines), result

    async with KrakenEngine(workers=workers, threads=1) as engine:
        done = await asyncio.gather(*(page_text(engine, page) for page in pages))
    return {
        "texts": {page.name: text for page, (text, _) in zip(pages, done, strict=True)},
        "lines": sum(len(result.lines) for _, result in done),
        "peak_memory": max(result.peak_memory for _, result in done),
    }


def with_engine(pages: list[Path], workers: int) -> dict[str, Any]:
    cpu = children_cpu()
    start = time.perf_counter()
    run = asyncio.run(engine_run(pages, workers))
    run["seconds"] = time.perf_counter() - start
    run["cpu"] = children_cpu() - cpu
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    summary: dict[str, Any] = {"pages": args.pages}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pages"
        folder.mkdir()
        pages = make_pages(folder, args.pages)
        segment_scans(Path(tmp), pages)
        cli = with_cli(folder, pages)
        print(f"pages: {args.pages}; model: {MODEL.name}")
        print(f"kraken CLI ocr (batch): {cli['seconds']:.1f} s, processor {cli['cpu']:.1f} s")
        summary["cli"] = {"seconds": round(cli["seconds"], 1), "cpu": round(cli["cpu"], 1)}
        for workers in [int(n) for n in args.workers.split(",")]:
            run = with_engine(pages, workers)
            same = sum(run["texts"][name] == text for name, text in cli["texts"].items())
            ratio = run["seconds"] / cli["seconds"]
            print(
                f"engine, {workers} worker(s) x 1 thread: {run['seconds']:.1f} s, processor "
                f"{run['cpu']:.1f} s, {run['lines']} lines; ratio engine/CLI {ratio:.3f}"
                + (f" (target <= {TARGET})" if workers == 1 else "")
                + f"; pages with the CLI's text: {same}/{len(pages)}; peak memory per worker "
                f"{run['peak_memory'] / 2**20:.0f} MB"
            )
            ok = ok and same == len(pages) and (workers != 1 or ratio <= TARGET)
            summary[f"engine_{workers}"] = {
                "seconds": round(run["seconds"], 1),
                "cpu": round(run["cpu"], 1),
                "ratio": round(ratio, 3),
                "same_text_pages": same,
                "peak_memory_mb": round(run["peak_memory"] / 2**20),
            }
    print(json.dumps(summary))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
