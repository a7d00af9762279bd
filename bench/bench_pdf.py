"""Benchmark: `esctui import pdf` of a 100-page scanned PDF, against poppler's `pdfimages -all`.

Run with `.venv/bin/python bench/bench_pdf.py`. The first run makes 100 different scan-like JPEGs
(2480 x 3508 pixels, A4 at 300 dpi) with Pillow and a PDF holding one per page, cached in
bench/out/. Each round then runs, alternately, each in a fresh process: the whole command
`python -m esctui import pdf DOC FILE.pdf` into a fresh data folder (check, hash, thumbnail,
commit: everything a user waits for) and `pdfimages -all FILE.pdf` into a fresh folder. Where
poppler is not installed, the baseline is its equivalent in a fresh Python process: MuPDF
copying each image's raw stream to a file (said so in the output). Both are checked to have
stored the very JPEG bytes that went into the PDF. Prints the medians, their ratio (target:
esctui at most 1.5x) and a one-line JSON result (bench/harness.py).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import Timed, medians, report, run_command, run_esctui  # noqa: E402

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


def run_import(pdf: Path) -> tuple[Timed, Path]:
    """The whole `esctui import pdf` command into a fresh data folder (the document made first,
    untimed); returns its run and the folder of stored page images."""
    from esctui.store import Store

    data = fresh_folder("pdf_data")
    store = Store(data)
    store.create_document("Scans")
    store.close()
    run = run_esctui(["import", "pdf", "Scans", str(pdf)], data)
    (document,) = (data / "documents").iterdir()
    return run, document / "images"


RAW_STREAMS = """
import sys, pymupdf
doc = pymupdf.open(sys.argv[1])
for number, page in enumerate(doc, 1):
    for image in page.get_images(full=True):
        with open(f"{sys.argv[2]}/img-{number:03d}.jpg", "wb") as out:
            out.write(doc.xref_stream_raw(image[0]))
"""


def run_baseline(pdf: Path) -> tuple[Timed, Path]:
    """`pdfimages -all` (or MuPDF's raw-stream copy where poppler is missing) into a fresh
    folder, in a fresh process."""
    folder = fresh_folder("run_pdfimages")
    if shutil.which("pdfimages"):
        run = run_command(["pdfimages", "-all", str(pdf), str(folder / "img")])
    else:
        run = run_command([sys.executable, "-c", RAW_STREAMS, str(pdf), str(folder)])
    return run, folder


def digests(folder: Path) -> list[str]:
    return sorted(hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.iterdir())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (median is kept)")
    args = parser.parse_args()
    baseline = "pdfimages -all" if shutil.which("pdfimages") else "MuPDF raw-stream copy"
    if not shutil.which("pdfimages"):
        print("pdfimages (poppler-utils) is not installed: the baseline is MuPDF copying each "
              "image's raw stream, in a fresh Python process.", file=sys.stderr)  # fmt: skip
    scans = make_scans(PAGES)
    pdf = make_pdf(scans)
    expected = sorted(hashlib.sha256(scan.read_bytes()).hexdigest() for scan in scans)

    def esctui() -> Timed:
        run, images = run_import(pdf)
        if digests(images) != expected:
            raise SystemExit("esctui did not store the JPEGs unchanged")
        return run

    def poppler() -> Timed:
        run, folder = run_baseline(pdf)
        if digests(folder) != expected:
            raise SystemExit(f"{baseline} did not write the JPEGs unchanged")
        return run

    best = medians(args.rounds, {"esctui": esctui, "baseline": poppler})
    size_mb = pdf.stat().st_size / 1e6
    print(f"PDF: {pdf.name}, {PAGES} pages, {size_mb:.0f} MB, {args.rounds} rounds (median)")
    result = report(
        "pdf",
        f"import pdf ({PAGES} scanned pages, {size_mb:.0f} MB)",
        best["esctui"],
        baseline,
        best["baseline"],
        TARGET_RATIO,
        pages=PAGES,
        pdf_mb=round(size_mb, 1),
    )
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
