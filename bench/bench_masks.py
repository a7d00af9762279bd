"""Line masks: MasksJob (store, job, progress) against kraken's polygonizer called directly.

1,000 lines: PAGES pages x 40 lines on a generated page image with drawn text lines. Both sides
load each page image from the same stored file and call ``calculate_polygonal_environment`` once
per page with the same baselines; kraken is imported before either clock starts. Prints the
ratio job / direct (target <= 1.1). Uses a temporary data folder.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esctui.domain import Line  # noqa: E402
from esctui.jobs.imports.images import DEFAULT_MAX_PIXELS, prepare_image  # noqa: E402
from esctui.jobs.masks import MasksJob, Polygonizer, load_polygonizer  # noqa: E402
from esctui.jobs.runner import run_job  # noqa: E402
from esctui.store import PageLayout, Store  # noqa: E402

SLOW = True  # kraken: run_all.py runs it with --all only
PAGES = 25
LINES = 40
SIZE = (1000, 1400)
TARGET = 1.1


def page_image(path: Path, seed: int) -> list[list[tuple[int, int]]]:
    """A page with LINES lines of drawn 'words'; returns their baselines."""
    rng = random.Random(seed)
    image = Image.new("L", SIZE, 235)
    draw = ImageDraw.Draw(image)
    baselines = []
    for row in range(LINES):
        y = 50 + row * 32
        x = 60 + rng.randrange(20)
        end = SIZE[0] - 60 - rng.randrange(200)
        while x < end:
            word = "".join(
                rng.choice("abcdefghiklmnopqrstuvxyz") for _ in range(rng.randrange(2, 9))
            )
            draw.text((x, y - 18), word, fill=25, font_size=20)
            x += 12 * len(word) + 14
        baselines.append([(60, y), (end // 2, y + rng.randrange(-2, 3)), (end, y)])
    image.save(path)
    return baselines


def build_store(root: Path) -> tuple[Store, str, list[tuple[Path, list]]]:
    store = Store(root / "data", durable=False)
    doc = store.create_document("Bench masks")
    pages = []
    for index in range(PAGES):
        source = root / f"page{index}.png"
        baselines = page_image(source, index)
        [staged] = prepare_image(source, store.new_staging_dir(doc.id), DEFAULT_MAX_PIXELS)
        [part], _ = store.add_parts(doc.id, [staged])
        lines = [
            Line(part.id, [(float(x), float(y)) for x, y in b], order=i)
            for i, b in enumerate(baselines)
        ]
        store.write_page_layout(doc.id, part.id, PageLayout([], lines, []))
        pages.append((store.part_image_path(part), baselines))
    return store, doc.id, pages


def direct(polygonize: Polygonizer, pages: list[tuple[Path, list]]) -> int:
    count = 0
    for path, baselines in pages:
        with Image.open(path) as image:
            image.load()
            polygons = polygonize(image, baselines, suppl_obj=[], topline=False)
        count += sum(p is not None for p in polygons)
    return count


def main() -> int:
    polygonize = load_polygonizer()  # kraken imported before both clocks
    with tempfile.TemporaryDirectory() as tmp:
        store, document_id, pages = build_store(Path(tmp))
        start = time.perf_counter()
        computed = direct(polygonize, pages)
        direct_seconds = time.perf_counter() - start

        start = time.perf_counter()
        job = asyncio.run(run_job(store, MasksJob(store, document_id)))
        job_seconds = time.perf_counter() - start
        assert job.status == "done", job.error
        stored = sum(
            ln.mask is not None
            for part in store.list_parts(document_id)
            for ln in store.read_page_layout(document_id, part.id).lines
        )
    lines = PAGES * LINES
    ratio = job_seconds / direct_seconds
    print(f"lines: {lines}; masks: direct {computed}, job {stored}")
    print(f"direct calculate_polygonal_environment: {direct_seconds:.1f} s")
    print(f"MasksJob: {job_seconds:.1f} s ({lines / job_seconds:.1f} lines/s)")
    print(f"ratio job/direct: {ratio:.3f} (target <= {TARGET})")
    return 0 if ratio <= TARGET and stored == computed else 1


if __name__ == "__main__":
    sys.exit(main())
