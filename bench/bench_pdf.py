"""Benchmark: page images out of a 100-page scanned PDF, esctui against poppler's `pdfimages -all`.

Run with `.venv/bin/python bench/bench_pdf.py`. The first run makes 100 different scan-like JPEGs
(about 2500 x 3500 pixels) with Pillow and a PDF holding one per page, cached in bench/out/. Each
round then extracts every page into a fresh folder twice: with esctui (open the PDF, take each
page's image, write it to a file, as the importer will) and with `pdfimages -all` on the same file.
Both are checked to write the very JPEG bytes that went into the PDF. Prints both times (median of
the rounds), their ratio (target: esctui at most 1.5x pdfimages' time) and a one-line JSON result.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out"
JPEG_DIR = OUT / "pdf_scans"
PAGES = 100
SCAN_SIZE = (2480, 3508)  # A4 at 300 dpi
TARGET_RATIO = 1.5


def make_scans(count: int) -> list[Path]:
    """`count` different scan-like JPEGs (paper grain, lines of 'writing', page numbers)."""
    JPEG_DIR.mkdir(parents=True, exist_ok=True)
    paths = [JPEG_DIR / f"scan_{number:03d}.jpg" for number in range(1, count + 1)]
    if all(path.exists() for path in paths):
        return paths
    width, height = SCAN_SIZE
    grain = Image.effect_noise((width // 4, height // 4), 12).resize(SCAN_SIZE)
    paper = Image.merge(
        "RGB",
        [
            grain.point(lambda value, shift=shift: min(255, value + shift))
            for shift in (110, 100, 75)
        ],
    )
    for number, path in enumerate(paths, start=1):
        if path.exists():
            continue
        rng = random.Random(number)
        page = paper.copy()
        draw = ImageDraw.Draw(page)
        ink = (rng.randint(20, 60), rng.randint(15, 40), rng.randint(10, 30))
        top = rng.randint(250, 400)
        for row in range(top, height - 300, rng.randint(90, 120)):
            x = rng.randint(180, 260)
            while x < width - 250:
                word = rng.randint(60, 260)
                draw.rectangle((x, row, x + word, row + rng.randint(28, 40)), fill=ink)
                x += word + rng.randint(25, 50)
        draw.text((width // 2, height - 180), f"{number}", fill=ink, font_size=60)
        page = page.filter(ImageFilter.GaussianBlur(1.2))
        page.save(path, "JPEG", quality=85)
        print(f"\rmaking scans: {number}/{count}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return paths


def make_pdf(scans: list[Path]) -> Path:
    """A PDF with one scan per page, each embedded unchanged (cached)."""
    import pymupdf

    pdf = OUT / f"scans_{len(scans)}.pdf"
    if pdf.exists():
        with pymupdf.open(pdf) as doc:
            if doc.page_count == len(scans):
                return pdf
    doc = pymupdf.open()
    for scan in scans:
        width, height = Image.open(scan).size
        page = doc.new_page(width=width * 72 / 300, height=height * 72 / 300)
        page.insert_image(page.rect, stream=scan.read_bytes())
    doc.save(pdf)
    doc.close()
    return pdf


def fresh_folder(name: str) -> Path:
    folder = OUT / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def run_esctui(pdf: Path) -> tuple[float, Path]:
    """Seconds to write every page image to a folder with esctui."""
    from esctui.formats.pdf import open_pdf

    folder = fresh_folder("run_esctui")
    start = time.perf_counter()
    with open_pdf(pdf) as source:
        for index in range(source.page_count):
            page_image = source.extract_page(index)
            (folder / f"{pdf.stem}_{index + 1}.{page_image.ext}").write_bytes(page_image.data)
    return time.perf_counter() - start, folder


def run_pdfimages(pdf: Path) -> tuple[float, Path]:
    """Seconds for `pdfimages -all` to write every image to a folder."""
    folder = fresh_folder("run_pdfimages")
    start = time.perf_counter()
    subprocess.run(["pdfimages", "-all", str(pdf), str(folder / "img")], check=True)
    return time.perf_counter() - start, folder


def digests(folder: Path) -> list[str]:
    return [hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (median is kept)")
    args = parser.parse_args()
    if shutil.which("pdfimages") is None:
        print(
            "pdfimages (poppler) is not installed; it is the baseline of this benchmark.\n"
            "Install it with: apt-get install poppler-utils",
            file=sys.stderr,
        )
        return 2
    scans = make_scans(PAGES)
    pdf = make_pdf(scans)
    expected = sorted(hashlib.sha256(scan.read_bytes()).hexdigest() for scan in scans)
    esctui_times: list[float] = []
    poppler_times: list[float] = []
    for _ in range(args.rounds):
        seconds, poppler_folder = run_pdfimages(pdf)
        poppler_times.append(seconds)
        seconds, esctui_folder = run_esctui(pdf)
        esctui_times.append(seconds)
        if sorted(digests(esctui_folder)) != expected:
            print("esctui did not write the JPEGs unchanged", file=sys.stderr)
            return 1
        if sorted(digests(poppler_folder)) != expected:
            print("pdfimages did not write the JPEGs unchanged", file=sys.stderr)
            return 1
    esctui_seconds = statistics.median(esctui_times)
    poppler_seconds = statistics.median(poppler_times)
    ratio = esctui_seconds / poppler_seconds
    size_mb = pdf.stat().st_size / 1e6
    print(f"PDF: {pdf.name}, {PAGES} pages, {size_mb:.0f} MB, {args.rounds} rounds (median)")
    print(f"esctui (extract + write each page):  {esctui_seconds:.3f} s")
    print(f"pdfimages -all:                       {poppler_seconds:.3f} s")
    verdict = "OK" if ratio <= TARGET_RATIO else "SLOWER THAN TARGET"
    print(f"ratio esctui / pdfimages: {ratio:.2f}x (target <= {TARGET_RATIO}x) {verdict}")
    print(
        json.dumps(
            {
                "bench": "pdf_extract",
                "pages": PAGES,
                "pdf_mb": round(size_mb, 1),
                "esctui_s": round(esctui_seconds, 4),
                "pdfimages_s": round(poppler_seconds, 4),
                "ratio": round(ratio, 3),
                "target_ratio": TARGET_RATIO,
                "ok": ratio <= TARGET_RATIO,
            }
        )
    )
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
