"""Line masks in the engine's worker processes against kraken's polygonizer called directly.

    .venv/bin/python bench/bench_masks_engine.py [--mode parallel|single|both]

1,000 lines: the pages of bench_masks.py (25 generated pages x 40 drawn lines). The baseline is
kraken's ``calculate_polygonal_environment`` in this one process, once per page with all its
baselines (kraken imported before the clock starts). The engine gets the same files and
baselines (``KrakenEngine.masks``: each page's lines shared among the workers); its workers are
started before the clock (a job's first page pays for that once; the time is printed apart).
The two alternate page by page, so both meet the same load when the cores are shared.

Modes: ``parallel`` (default): as many workers as cores (2 here), target <= 0.6x of the direct
time; ``single``: one worker, target <= 1.1x (the cost of the separate process). The masks must
be identical to kraken's. The processor time each side got is printed beside its wall time. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_masks import LINES, PAGES, load_polygonizer, page_image  # noqa: E402
from harness import own_session  # noqa: E402

from esctui.engine import KrakenEngine  # noqa: E402
from esctui.engine.limits import cpu_count  # noqa: E402

SLOW = True  # kraken: run_all.py runs it with --all only
TARGETS = {"parallel": 0.6, "single": 1.1}

Page = tuple[Path, list[list[tuple[int, int]]]]


def make_pages(folder: Path) -> list[Page]:
    pages = []
    for index in range(PAGES):
        path = folder / f"page{index}.png"
        pages.append((path, page_image(path, index)))
    return pages


def as_pixels(polygons: list[Any]) -> list[Any]:
    return [None if p is None else [(int(x), int(y)) for x, y in p] for p in polygons]


async def alternate(pages: list[Page], workers: int) -> dict[str, Any]:
    """Each page by kraken directly, then by the engine: both meet the same load of the
    machine (other work may share its cores)."""
    polygonize = load_polygonizer()  # imported before any clock starts
    side: dict[str, dict[str, Any]] = {
        name: {"seconds": 0.0, "cpu": 0.0, "polygons": []} for name in ("direct", "engine")
    }
    async with KrakenEngine(workers=workers) as engine:
        start = time.perf_counter()
        await engine.start()
        startup = time.perf_counter() - start
        peak = 0
        for path, baselines in pages:
            cpu = time.process_time()
            start = time.perf_counter()
            with Image.open(path) as image:
                image.load()
                found = polygonize(image, baselines, suppl_obj=[], topline=False)
            side["direct"]["seconds"] += time.perf_counter() - start
            side["direct"]["cpu"] += time.process_time() - cpu
            side["direct"]["polygons"].extend(as_pixels(found))

            start = time.perf_counter()
            result = await engine.masks(path, baselines, page=path.name)
            side["engine"]["seconds"] += time.perf_counter() - start
            side["engine"]["cpu"] += result.cpu_seconds
            side["engine"]["polygons"].extend(result.polygons)
            peak = max(peak, result.peak_memory)
    return {**side, "startup": startup, "peak_memory": peak}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["parallel", "single", "both"], default="parallel")
    args = parser.parse_args()
    own_session()  # the direct side gets a share as fair as each worker's
    modes = ["parallel", "single"] if args.mode == "both" else [args.mode]
    summary: dict[str, Any] = {"lines": PAGES * LINES}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        pages = make_pages(Path(tmp))
        print(f"lines: {PAGES * LINES} on {PAGES} pages; cores: {cpu_count()}")
        for mode in modes:
            workers = cpu_count() if mode == "parallel" else 1
            run = asyncio.run(alternate(pages, workers))
            direct, engine = run["direct"], run["engine"]
            identical = engine["polygons"] == direct["polygons"]
            ratio = engine["seconds"] / direct["seconds"]
            ok = ok and identical and ratio <= TARGETS[mode]
            print(
                f"[{mode}] direct calculate_polygonal_environment: {direct['seconds']:.1f} s "
                f"(processor {direct['cpu']:.1f} s: {direct['cpu'] / direct['seconds']:.2f} cores)"
            )
            print(
                f"[{mode}] engine, {workers} worker(s): {engine['seconds']:.1f} s (processor "
                f"{engine['cpu']:.1f} s: {engine['cpu'] / engine['seconds']:.2f} cores; "
                f"{run['startup']:.1f} s to start the workers, before the clock); peak memory per "
                f"worker {run['peak_memory'] / 2**20:.0f} MB; masks identical: {identical}"
            )
            print(f"[{mode}] ratio engine/direct: {ratio:.3f} (target <= {TARGETS[mode]})")
            summary[mode] = {
                "workers": workers,
                "direct_seconds": round(direct["seconds"], 2),
                "direct_cpu": round(direct["cpu"], 2),
                "engine_seconds": round(engine["seconds"], 2),
                "engine_cpu": round(engine["cpu"], 2),
                "startup_seconds": round(run["startup"], 2),
                "ratio": round(ratio, 3),
                "identical": identical,
                "peak_memory_mb": round(run["peak_memory"] / 2**20),
            }
    print(json.dumps(summary))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
