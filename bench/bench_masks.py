"""Line masks: MasksJob (store, job, progress) against kraken's polygonizer called directly.

    .venv/bin/python bench/bench_masks.py [--workers N]

1,000 lines: PAGES pages x 40 lines on a generated page image with drawn text lines. The
baseline loads each page image and calls ``calculate_polygonal_environment`` once per page with
its baselines, in this one process (kraken imported before the clock). The job (``run_job``)
runs on the engine's worker processes (default: one per core), pages in parallel; their start
(importing kraken, once per job) is measured apart and printed. Prints the ratio job / direct
(target <= 0.6 on two cores) and each side's processor time. Uses a temporary data folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import own_session  # noqa: E402

from esctui.domain import Line  # noqa: E402
from esctui.engine import KrakenEngine  # noqa: E402
from esctui.jobs.imports.images import DEFAULT_MAX_PIXELS, prepare_image  # noqa: E402
from esctui.jobs.masks import MasksJob  # noqa: E402
from esctui.jobs.runner import run_job  # noqa: E402
from esctui.store import PageLayout, Store  # noqa: E402

SLOW = True  # kraken: run_all.py runs it with --all only
PAGES = 25
LINES = 40
SIZE = (1000, 1400)
TARGET = 0.6
Polygonizer = Any


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


def load_polygonizer() -> Polygonizer:
    """kraken's ``calculate_polygonal_environment``, imported in this process."""
    from esctui.compat import torchvision_shim

    torchvision_shim.install()
    from kraken.lib.segmentation import calculate_polygonal_environment

    return calculate_polygonal_environment


async def run_masks_job(store: Store, document_id: str, workers: int | None) -> dict[str, float]:
    """The job on an engine whose workers are started first (timed apart)."""
    async with KrakenEngine(workers) as engine:
        start = time.perf_counter()
        await engine.start()
        startup = time.perf_counter() - start
        pids = engine.worker_pids
        cpu = time.process_time() + workers_cpu(pids)
        start = time.perf_counter()
        job = await run_job(store, MasksJob(store, document_id, engine=engine))
        seconds = time.perf_counter() - start
        cpu = time.process_time() + workers_cpu(pids) - cpu
        assert engine.worker_pids == pids, "a worker was replaced during the job"
    assert job.status == "done", job.error
    return {"startup": startup, "seconds": seconds, "cpu": cpu, "workers": engine.workers}


def workers_cpu(pids: list[int]) -> float:
    """Processor seconds the running workers have used so far (user + system, from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    own_session()  # the direct side gets a share as fair as each worker's
    polygonize = load_polygonizer()  # kraken imported before the clock
    with tempfile.TemporaryDirectory() as tmp:
        store, document_id, pages = build_store(Path(tmp))
        cpu = time.process_time()
        start = time.perf_counter()
        computed = direct(polygonize, pages)
        direct_seconds = time.perf_counter() - start
        direct_cpu = time.process_time() - cpu
        result = asyncio.run(run_masks_job(store, document_id, args.workers))
        stored = sum(
            ln.mask is not None
            for part in store.list_parts(document_id)
            for ln in store.read_page_layout(document_id, part.id).lines
        )
    lines = PAGES * LINES
    job_seconds = result["seconds"]
    ratio = job_seconds / direct_seconds
    print(f"lines: {lines}; masks: direct {computed}, job {stored}")
    print(
        f"direct calculate_polygonal_environment: {direct_seconds:.1f} s (cpu {direct_cpu:.1f} s)"
    )
    print(
        f"MasksJob, {result['workers']:.0f} workers: {job_seconds:.1f} s "
        f"({lines / job_seconds:.1f} lines/s), processor {result['cpu']:.1f} s (job and "
        f"workers); workers' start {result['startup']:.1f} s apart"
    )
    print(f"ratio job/direct: {ratio:.3f} (target <= {TARGET})")
    print(f"load: {os.getloadavg()[0]:.1f}")
    print(
        json.dumps(
            {"direct": direct_seconds, "direct_cpu": direct_cpu, **result, "ratio": ratio}
            | {"target": TARGET, "identical_count": stored == computed}
        )
    )
    return 0 if ratio <= TARGET and stored == computed else 1


if __name__ == "__main__":
    sys.exit(main())
