"""Benchmark: importing a ZIP of 200 page images with their PAGE files and a METS (as an
export with images is) against the images import plus the XML import of the same files.

Run with `.venv/bin/python bench/bench_archive.py`. Makes (in a temporary folder) 200 page
images (PNG, A4 at 150 dpi) and 200 PAGE files of 40 lines (``bench_xml.page_xml``), a ZIP of
them with a ``METS.xml`` (``formats.mets.write_mets``), and the same files unpacked. Each round
times, in the same run, on fresh data folders:

- esctui archive: ``esctui import archive`` of the ZIP into an empty document (pages, then
  each page's XML, committed together);
- baseline: ``esctui import images`` of the unpacked images, then ``esctui import xml`` of a
  ZIP of the PAGE files into that document, one after the other.

Prints both times (median of the rounds), their ratio (target: at most 1.2x) and a one-line
JSON result. `--profile` prints where the archive import's time goes (threads included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_xml import IMAGE_SIZE, LINES_PER_PAGE, PAGES, page_xml  # noqa: E402

TARGET_RATIO = 1.2


def make_inputs(work: Path) -> tuple[Path, Path, Path]:
    """The archive (images, PAGE files, METS), the images unpacked, a ZIP of the PAGE files."""
    from esctui.formats.mets import ExportedMetsPage, write_mets

    images = work / "images"
    images.mkdir()
    archive = work / "export.zip"
    xml_zip = work / "xml.zip"
    pages = []
    with zipfile.ZipFile(archive, "w") as out, zipfile.ZipFile(xml_zip, "w") as xml_out:
        for number in range(1, PAGES + 1):
            name = f"page_{number:03d}"
            image = Image.new("L", IMAGE_SIZE, 230)
            ImageDraw.Draw(image).rectangle((number * 5, 10, number * 5 + 4, 14), fill=0)
            image.save(images / f"{name}.png", compress_level=1)
            out.write(images / f"{name}.png", f"{name}.png")
            text = page_xml(number)
            out.writestr(f"{name}.xml", text, compress_type=zipfile.ZIP_DEFLATED)
            xml_out.writestr(f"{name}.xml", text, compress_type=zipfile.ZIP_DEFLATED)
            pages.append(ExportedMetsPage(name, f"{name}.png", f"{name}.xml"))
        out.writestr("METS.xml", write_mets(pages, group="bench", fmt="page"))
    return archive, images, xml_zip


def _store(work: Path, name: str):
    import shutil

    from esctui.store import Store

    shutil.rmtree(work / name, ignore_errors=True)
    store = Store(work / name)
    return store, store.create_document("Bench")


def run_archive(work: Path, archive: Path) -> float:
    from esctui.jobs.imports.archive import ArchiveImporter
    from esctui.jobs.runner import run_job

    store, doc = _store(work, "data-archive")
    start = time.perf_counter()
    job = asyncio.run(run_job(store, ArchiveImporter(store, doc.id, archive)))
    seconds = time.perf_counter() - start
    check(job, store, doc.id)
    return seconds


def run_baseline(work: Path, images: Path, xml_zip: Path) -> float:
    from esctui.jobs.imports.images import LocalImagesImporter
    from esctui.jobs.imports.xml import XmlImporter
    from esctui.jobs.runner import run_job

    store, doc = _store(work, "data-baseline")
    start = time.perf_counter()
    first = asyncio.run(run_job(store, LocalImagesImporter(store, doc.id, [images])))
    job = asyncio.run(run_job(store, XmlImporter(store, doc.id, xml_zip, name="bench")))
    seconds = time.perf_counter() - start
    if first.status != "done":
        raise SystemExit(f"the images import failed: {first.error}")
    check(job, store, doc.id)
    return seconds


def check(job, store, document_id: str) -> None:
    if job.status != "done" or job.report.skipped:
        raise SystemExit(f"the import did not import everything: {job.status} {job.error}")
    if len(store.list_parts(document_id)) != PAGES:
        raise SystemExit("wrong number of pages")
    if job.report.counts.get("texts") != PAGES * LINES_PER_PAGE:
        raise SystemExit(f"wrong number of texts: {job.report.counts}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (median is kept)")
    parser.add_argument("--profile", action="store_true", help="profile one archive import")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="esctui-bench-archive-") as tmp:
        work = Path(tmp)
        archive, images, xml_zip = make_inputs(work)
        if args.profile:
            import cProfile
            import pstats
            import threading

            profiler = cProfile.Profile()
            threading.setprofile(lambda *a: None)
            profiler.enable()
            run_archive(work, archive)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            return 0
        archive_times: list[float] = []
        baseline_times: list[float] = []
        for _ in range(args.rounds):
            baseline_times.append(run_baseline(work, images, xml_zip))
            archive_times.append(run_archive(work, archive))
    archive_seconds = statistics.median(archive_times)
    baseline_seconds = statistics.median(baseline_times)
    ratio = archive_seconds / baseline_seconds
    print(
        f"{PAGES} pages (PNG {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} + PAGE x {LINES_PER_PAGE} lines), "
        f"{args.rounds} rounds (median); archive rounds: "
        f"{', '.join(f'{t:.2f}' for t in archive_times)} s"
    )
    print(f"esctui import archive (ZIP with METS):      {archive_seconds:.3f} s")
    print(f"esctui import images + import xml (apart):  {baseline_seconds:.3f} s")
    verdict = "OK" if ratio <= TARGET_RATIO else "SLOWER THAN TARGET"
    print(f"ratio archive / apart: {ratio:.2f}x (target <= {TARGET_RATIO}x) {verdict}")
    print(
        json.dumps(
            {
                "bench": "archive_import",
                "pages": PAGES,
                "archive_s": round(archive_seconds, 4),
                "apart_s": round(baseline_seconds, 4),
                "ratio": round(ratio, 3),
                "target_ratio": TARGET_RATIO,
                "ok": ratio <= TARGET_RATIO,
            }
        )
    )
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
