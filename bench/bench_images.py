"""Importing page images: esctui against a minimal copy-and-thumbnail script, in the same run.

    .venv/bin/python bench/bench_images.py [--count 200] [--repeat 1] [--profile]

Generates ``--count`` JPEGs of 3000x4000 px (grain and text, quality 90, about 4 MB each) once
and keeps them in ``bench/out/`` (git-ignored); generation is not timed. All files are read once
before timing, so both contenders start with the same warm page cache. Then, per repeat:

(a) baseline: a minimal script that copies each file into a folder and writes its thumbnail with
    Pillow's draft mode (``img.draft('RGB', (320, 320)); img.thumbnail((320, 320))``, JPEG);
(b) esctui: ``run_job(LocalImagesImporter)`` into a fresh data folder, with default options
    (what ``esctui import images`` does: hash, check, copy, thumbnail, commit in batches);
(c) for information, (b) with one worker thread: esctui's cost per image without parallelism.

The ratio (b)/(a) is the number to watch (target <= 1.3); the best time of the repeats counts.
The last line printed is one JSON object. ``--profile`` adds a cProfile of (b)'s work run in
one thread (cProfile does not follow worker threads), sorted by cumulative time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's esctui, as the other benchmarks do
OUT = HERE / "out"
SIZE = (3000, 4000)
THUMB = (320, 320)
TARGET = 1.3


# ---------------------------------------------------------------------- test images


def generate(count: int) -> list[Path]:
    """``count`` distinct scan-like JPEGs, made once and cached."""
    folder = OUT / f"jpeg-{SIZE[0]}x{SIZE[1]}-q90"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"page{i:04d}.jpg" for i in range(1, count + 1)]
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"generating {len(missing)} images in {folder} (once) ...", file=sys.stderr)
        base = _paper()
        for n, path in enumerate(missing, 1):
            page = base.copy()
            draw = ImageDraw.Draw(page)
            index = int(path.stem[4:])
            for line in range(24):  # "text lines": dark strokes that differ per page
                y = 300 + line * 150
                x = 250 + (index * 37 + line * 91) % 400
                draw.rectangle((x, y, SIZE[0] - 250 - (index * line) % 500, y + 14), fill=40)
            draw.text((250, 120), f"folio {index}", fill=20, font_size=120)
            tmp = path.with_suffix(".part")
            page.save(tmp, "JPEG", quality=90)
            tmp.replace(path)
            if n % 20 == 0:
                print(f"  {n}/{len(missing)}", file=sys.stderr)
    return paths


def _paper() -> Image.Image:
    """A 3000x4000 sheet of off-white paper with grain, like a photographed page."""
    grain = [Image.effect_noise(SIZE, 18).point(lambda v, o=o: v + o) for o in (90, 82, 66)]
    return Image.merge("RGB", grain)


# ---------------------------------------------------------------------- contenders


def baseline(files: list[Path], target: Path) -> None:
    """The minimal script: copy each file, make its thumbnail with draft mode."""
    (target / "images").mkdir(parents=True)
    (target / "thumbs").mkdir()
    for path in files:
        shutil.copyfile(path, target / "images" / path.name)
        with Image.open(path) as img:
            img.draft("RGB", THUMB)
            img.thumbnail(THUMB)
            img.save(target / "thumbs" / f"{path.stem}.jpg", "JPEG")


def esctui_import(files: list[Path], data: Path, workers: int | None = None) -> None:
    from esctui.domain import JobStatus
    from esctui.jobs.imports.images import ImageImportOptions, LocalImagesImporter
    from esctui.jobs.runner import run_job
    from esctui.store import Store

    store = Store(data)
    doc = store.create_document("bench")
    options = ImageImportOptions() if workers is None else ImageImportOptions(workers=workers)
    importer = LocalImagesImporter(store, doc.id, [str(f) for f in files], options)
    job = asyncio.run(run_job(store, importer))
    if job.status != JobStatus.DONE.value or len(job.report.imported) != len(files):
        raise SystemExit(f"esctui import went wrong: {job.status} {job.report.summary()}")


def profile_esctui(files: list[Path], data: Path, top: int = 25) -> str:
    """cProfile of the importer's work done sequentially in this thread."""
    from esctui.jobs.imports.images import prepare_image
    from esctui.store import Store

    store = Store(data)
    doc = store.create_document("profile")
    staging = store.new_staging_dir(doc.id)
    profiler = cProfile.Profile()
    profiler.enable()
    batch = []
    for path in files:
        batch.extend(prepare_image(path, staging, 250_000_000))
        if len(batch) >= 50:
            store.add_parts(doc.id, batch)
            batch = []
    if batch:
        store.add_parts(doc.id, batch)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def _timed(function: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def _warm(files: list[Path]) -> None:
    for path in files:
        with open(path, "rb") as handle:
            while handle.read(1 << 22):
                pass


# ---------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="number of images (200)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; best counts (1)")
    parser.add_argument("--profile", action="store_true", help="also profile esctui's import")
    args = parser.parse_args(argv)

    files = generate(args.count)
    _warm(files)
    megabytes = sum(f.stat().st_size for f in files) / 1e6
    times: dict[str, list[float]] = {"baseline": [], "esctui": [], "esctui_1_worker": []}
    with tempfile.TemporaryDirectory(dir=OUT, prefix="run-") as tmp:
        work = Path(tmp)
        for run in range(args.repeat):
            for name, function, extra in (
                ("baseline", baseline, ()),
                ("esctui", esctui_import, ()),
                ("esctui_1_worker", esctui_import, (1,)),
            ):
                target = work / f"{name}-{run}"
                times[name].append(_timed(function, files, target, *extra))
                shutil.rmtree(target)
        profile = profile_esctui(files, work / "profile") if args.profile else ""

    best = {name: min(values) for name, values in times.items()}
    ratio = best["esctui"] / best["baseline"]
    workers = min(4, os.cpu_count() or 2)
    print(f"{args.count} JPEGs of {SIZE[0]}x{SIZE[1]} px, {megabytes:.0f} MB in all")
    print(f"baseline (copy + draft thumbnail, 1 thread): {best['baseline']:7.2f} s")
    print(f"esctui import ({workers} workers, default):     {best['esctui']:7.2f} s")
    print(f"esctui import (1 worker, for information):  {best['esctui_1_worker']:7.2f} s")
    verdict = "ok" if ratio <= TARGET else "OVER TARGET"
    print(f"ratio esctui/baseline: {ratio:.2f}x (target <= {TARGET}x) {verdict}")
    if profile:
        print(profile)
    result = {
        "bench": "images",
        "count": args.count,
        "size": f"{SIZE[0]}x{SIZE[1]}",
        "baseline_s": round(best["baseline"], 3),
        "esctui_s": round(best["esctui"], 3),
        "esctui_1_worker_s": round(best["esctui_1_worker"], 3),
        "workers": workers,
        "ratio": round(ratio, 3),
        "ratio_1_worker": round(best["esctui_1_worker"] / best["baseline"], 3),
        "target": TARGET,
        "ok": ratio <= TARGET,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
