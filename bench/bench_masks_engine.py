"""Line masks in the engine's worker processes against kraken's polygonizer called directly.

    .venv/bin/python bench/bench_masks_engine.py [--mode parallel|single|both]

1,000 lines: the pages of bench_masks.py (25 generated pages x 40 drawn lines). The baseline is
kraken's ``calculate_polygonal_environment`` in this one process, once per page with all its
baselines (kraken imported before the clock starts). The engine gets the same files and
baselines (``KrakenEngine.masks``, all pages submitted at once); its workers are started before
the clock (a job's first page pays for that once; the start-up time is printed apart).

Modes: ``parallel`` (default): as many workers as cores (2 here), target <= 0.6x of the direct
time; ``single``: one worker, target <= 1.1x (the cost of the separate process). The masks must
be identical to kraken's. The machine's cores may be shared with other work: the processor time
each side got is printed beside its wall time. The last line printed is one JSON object.
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

from bench_masks import LINES, PAGES, page_image  # noqa: E402

from esctui.engine import KrakenEngine  # noqa: E402
from esctui.engine.limits import cpu_count  # noqa: E402

TARGETS = {"parallel": 0.6, "single": 1.1}

Page = tuple[Path, list[list[tuple[int, int]]]]


def make_pages(folder: Path) -> list[Page]:
    pages = []
    for index in range(PAGES):
        path = folder / f"page{index}.png"
        pages.append((path, page_image(path, index)))
    return pages


def direct(pages: list[Page]) -> tuple[float, float, list[Any]]:
    """kraken in this process, one call per page: seconds, processor seconds, the polygons."""
    from esctui.compat import torchvision_shim

    torchvision_shim.install()
    from kraken.lib.segmentation import calculate_polygonal_environment

    polygons: list[Any] = []
    cpu = time.process_time()
    start = time.perf_counter()
    for path, baselines in pages:
        with Image.open(path) as image:
            image.load()
            found = calculate_polygonal_environment(image, baselines, suppl_obj=[], topline=False)
        polygons.extend(None if p is None else [(int(x), int(y)) for x, y in p] for p in found)
    return time.perf_counter() - start, time.process_time() - cpu, polygons


async def with_engine(pages: list[Page], workers: int) -> dict[str, Any]:
    async with KrakenEngine(workers=workers) as engine:
        start = time.perf_counter()
        await engine.start()
        startup = time.perf_counter() - start
        start = time.perf_counter()
        results = await asyncio.gather(
            *(engine.masks(path, baselines, page=path.name) for path, baselines in pages)
        )
        seconds = time.perf_counter() - start
    polygons = [p for result in results for p in result.polygons]
    return {
        "seconds": seconds,
        "startup": startup,
        "polygons": polygons,
        "cpu_seconds": sum(r.cpu_seconds for r in results),
        "peak_memory": max(r.peak_memory for r in results),
        "workers": len({pid for r in results for pid in r.worker_pids}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["parallel", "single", "both"], default="parallel")
    args = parser.parse_args()
    modes = ["parallel", "single"] if args.mode == "both" else [args.mode]
    summary: dict[str, Any] = {"lines": PAGES * LINES}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        pages = make_pages(Path(tmp))
        direct_seconds, direct_cpu, expected = direct(pages)
        summary["direct_seconds"] = round(direct_seconds, 2)
        summary["direct_cpu_seconds"] = round(direct_cpu, 2)
        print(f"lines: {PAGES * LINES} on {PAGES} pages; cores: {cpu_count()}")
        print(
            f"direct calculate_polygonal_environment: {direct_seconds:.1f} s "
            f"({direct_cpu:.1f} s of processor time: {direct_cpu / direct_seconds:.2f} cores)"
        )
        for mode in modes:
            workers = cpu_count() if mode == "parallel" else 1
            run = asyncio.run(with_engine(pages, workers))
            identical = run["polygons"] == expected
            ratio = run["seconds"] / direct_seconds
            passed = identical and ratio <= TARGETS[mode]
            ok = ok and passed
            print(
                f"engine, {workers} worker(s) [{mode}]: {run['seconds']:.1f} s "
                f"(+ {run['startup']:.1f} s to start the workers; {run['cpu_seconds']:.1f} s of "
                f"processor time: {run['cpu_seconds'] / run['seconds']:.2f} cores), peak memory per worker "
                f"{run['peak_memory'] / 2**20:.0f} MB, masks identical: {identical}"
            )
            print(f"ratio engine/direct [{mode}]: {ratio:.3f} (target <= {TARGETS[mode]})")
            summary[mode] = {
                "workers": workers,
                "seconds": round(run["seconds"], 2),
                "startup_seconds": round(run["startup"], 2),
                "cpu_seconds": round(run["cpu_seconds"], 2),
                "ratio": round(ratio, 3),
                "cold_ratio": round((run["seconds"] + run["startup"]) / direct_seconds, 3),
                "identical": identical,
                "peak_memory_mb": round(run["peak_memory"] / 2**20),
            }
    print(json.dumps(summary))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
