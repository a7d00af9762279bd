"""Recognition of whole pages with a corpus model: the transcribe job against ``kraken ... ocr``.

    .venv/bin/python bench/bench_transcribe.py [--pages 10] [--workers 1,2] [--rounds 2]

The pages are those of bench_segment.py (the corpus page scans, in turn). Untimed set-up: the
kraken CLI segments each distinct scan once into PAGE XML (``-x segment -bl``), and every page
gets a copy of its scan's XML. The baseline is one ``kraken -f page -I '*.xml' -o .txt ocr -m
overfit_bl.safetensors`` process over all pages (kraken's defaults: torch's threads, two
line-extraction helper processes). The job side is ``esctui transcribe Bench --model overfit
--workers N`` as a fresh process on a data folder where, before the clock, the same pages were
added, their lines (baselines and masks) read from the same XML with esctui's reader and the
model uploaded. Both clocks include starting Python, importing kraken and loading the model;
the job's also the store: reading the pages, writing the texts and the job's report.

The CLI and the one-worker job run in turn ``--rounds`` times (the cores may be shared with
other work; alternating exposes both to it alike) and the best round of each is compared; more
workers run once. Printed: wall and processor time (of all child processes) per side, the
ratio job/CLI (target <= 1.1 with one worker), the speed-up with more workers, and whether
every page's text is the CLI's. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_segment import (  # noqa: E402
    CORPUS,
    SCANS,
    add_pages,
    alternate_rounds,
    children_cpu,
    esctui,
    make_pages,
    print_speedups,
    run_kraken,
)

from esctui.domain import Line  # noqa: E402
from esctui.formats.xml import parse_layout_xml  # noqa: E402
from esctui.jobs.models import add_model  # noqa: E402
from esctui.store import PageLayout, Store  # noqa: E402

SLOW = True  # kraken: run_all.py runs it with --all only
MODEL = (
    Path(__file__).resolve().parents[2] / "shared" / "corpus" / "models" / "overfit_bl.safetensors"
)
TARGET = 1.1
MODEL_NAME = "overfit"


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


def add_lines(data: Path, pages: list[Path]) -> None:
    """The model, and each page's lines from its XML (esctui's reader), in the store."""
    store = Store(data)
    add_model(store, MODEL, name=MODEL_NAME)
    doc = store.get_document("Bench")
    for page, part in zip(pages, store.list_parts(doc.id), strict=True):
        parsed = parse_layout_xml(page.with_suffix(".xml"))
        lines = [
            Line(part.id, baseline=ln.baseline, mask=ln.mask, order=i)
            for i, ln in enumerate(parsed.lines)
        ]
        store.write_page_layout(doc.id, part.id, PageLayout([], lines, []))
    store.close()


def stored_texts(data: Path, pages: list[Path]) -> tuple[dict[str, str], int]:
    """Each page's text in the model's version (lines in order, as kraken's .txt), and the
    number of lines with a text."""
    store = Store(data)
    doc = store.get_document("Bench")
    [version] = [v for v in store.list_transcriptions(doc.id) if v.name == MODEL_NAME]
    texts: dict[str, str] = {}
    count = 0
    for page, part in zip(pages, store.list_parts(doc.id), strict=True):
        layout = store.read_page_layout(doc.id, part.id)
        by_line = {t.line_id: t.text for t in layout.texts if t.transcription_id == version.id}
        ordered = sorted(layout.lines, key=lambda ln: ln.order)
        texts[page.name] = "\n".join(by_line.get(ln.id, "") for ln in ordered)
        count += len(by_line)
    store.close()
    return texts, count


def with_job(pages: list[Path], workers: int) -> dict[str, Any]:
    """``esctui transcribe`` on a fresh data folder holding the pages and their lines."""
    data = Path(tempfile.mkdtemp(prefix=f"bench-transcribe-{workers}-"))
    try:
        add_pages(data, pages)
        add_lines(data, pages)
        cpu = children_cpu()
        start = time.perf_counter()
        esctui(data, "transcribe", "Bench", "--model", MODEL_NAME, "--workers", str(workers))
        seconds = time.perf_counter() - start
        cpu = children_cpu() - cpu  # the job's process and its workers, all reaped
        texts, lines = stored_texts(data, pages)
        return {"seconds": seconds, "cpu": cpu, "texts": texts, "lines": lines}
    finally:
        shutil.rmtree(data, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--workers", default="1,2", help="job runs, e.g. 1,2")
    parser.add_argument("--rounds", type=int, default=2, help="CLI / one-worker rounds")
    args = parser.parse_args()
    runs = [int(n) for n in args.workers.split(",")]
    summary: dict[str, Any] = {"pages": args.pages, "rounds": args.rounds, "target": TARGET}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pages"
        folder.mkdir()
        pages = make_pages(folder, args.pages)
        segment_scans(Path(tmp), pages)
        print(f"pages: {args.pages}; model: {MODEL.name}")
        clis, jobs = alternate_rounds(
            args.rounds,
            "kraken CLI ocr (batch)",
            lambda: with_cli(folder, pages),
            lambda workers: with_job(pages, workers),
            runs,
        )
        cli = min(clis, key=lambda run: run["seconds"])
        print(f"kraken CLI, best round: {cli['seconds']:.1f} s, processor {cli['cpu']:.1f} s")
        summary["cli"] = {"seconds": round(cli["seconds"], 1), "cpu": round(cli["cpu"], 1)}
        best: dict[int, float] = {}
        for workers, done in jobs.items():
            run = min(done, key=lambda r: r["seconds"])
            same = min(
                sum(r["texts"][name] == text for name, text in c["texts"].items())
                for r in done
                for c in clis
            )
            ratio = run["seconds"] / cli["seconds"]
            best[workers] = run["seconds"]
            print(
                f"job, {workers} worker(s), best round: {run['seconds']:.1f} s, processor "
                f"{run['cpu']:.1f} s, {run['lines']} lines; ratio job/CLI {ratio:.3f}"
                + (f" (target <= {TARGET})" if workers == 1 else "")
                + f"; pages with the CLI's text: {same}/{len(pages)}"
            )
            ok = ok and same == len(pages) and (workers != 1 or ratio <= TARGET)
            summary[f"job_{workers}"] = {
                "seconds": round(run["seconds"], 1),
                "cpu": round(run["cpu"], 1),
                "ratio": round(ratio, 3),
                "same_text_pages": same,
            }
            if workers == 1:
                summary["ratio"] = round(ratio, 3)
        print_speedups(best, summary)
    summary["ok"] = ok
    print(json.dumps(summary))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
