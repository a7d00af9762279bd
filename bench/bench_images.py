"""`esctui import images` of 200 JPEGs of 3000x4000 px, against a copy-and-thumbnail script
with the same number of workers, each a whole fresh process.

    .venv/bin/python bench/bench_images.py [--count 200] [--rounds 1] [--profile]

Generates ``--count`` JPEGs (grain and text, quality 90, about 5 MB each) once and keeps them
in ``bench/out/`` (git-ignored); generation is not timed. All files are read once before timing,
so both contenders start with a warm page cache. Then, per round, alternately:

(a) baseline: a minimal script in a fresh Python process that copies each file into a folder
    and writes its thumbnail with Pillow's draft mode (``img.draft('RGB', (320, 320));
    img.thumbnail((320, 320))``, JPEG), on as many threads as esctui's default workers;
(b) esctui: ``python -m esctui import images DOC FOLDER`` into a fresh data folder (the
    document made first, untimed): check, hash, copy, thumbnail, commit in batches.

Target: (b) at most 1.0x (a). The last line printed is one JSON object (bench/harness.py).
``--profile`` adds a cProfile of (b)'s per-image work run in one thread, by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's esctui, as the other benchmarks do
sys.path.insert(0, str(HERE))

from harness import Timed, medians, report, run_command, run_esctui  # noqa: E402

OUT = HERE / "out"
SIZE = (3000, 4000)
THUMB = (320, 320)
TARGET = 1.0


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

BASELINE = """
import shutil, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from PIL import Image
target, workers, files = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
(target / "images").mkdir(parents=True)
(target / "thumbs").mkdir()
def one(name):
    path = Path(name)
    shutil.copyfile(path, target / "images" / path.name)
    with Image.open(path) as img:
        img.draft("RGB", (320, 320))
        img.thumbnail((320, 320))
        img.save(target / "thumbs" / f"{path.stem}.jpg", "JPEG")
with ThreadPoolExecutor(workers) as pool:
    list(pool.map(one, files))
"""


def baseline(files: list[Path], target: Path, workers: int) -> Timed:
    """The minimal script (copy, draft thumbnail) on ``workers`` threads, a fresh process."""
    shutil.rmtree(target, ignore_errors=True)
    return run_command(
        [sys.executable, "-c", BASELINE, str(target), str(workers), *map(str, files)]
    )


def esctui_import(folder: Path, data: Path, count: int) -> Timed:
    """The whole `esctui import images` command into a fresh data folder."""
    from esctui.store import Store

    shutil.rmtree(data, ignore_errors=True)
    store = Store(data)
    store.create_document("bench")
    store.close()
    run = run_esctui(["import", "images", "bench", str(folder)], data)
    (document,) = (data / "documents").iterdir()
    stored = len(list((document / "images").iterdir()))
    if stored != count:
        raise SystemExit(f"esctui stored {stored} images, not {count}:\n{run.stdout[-2000:]}")
    return run


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


def _warm(files: list[Path]) -> None:
    for path in files:
        with open(path, "rb") as handle:
            while handle.read(1 << 22):
                pass


# ---------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="number of images (200)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs; median (3)")
    parser.add_argument("--profile", action="store_true", help="also profile esctui's import")
    args = parser.parse_args(argv)

    from esctui.jobs.imports.images import ImageImportOptions

    workers = ImageImportOptions().workers
    files = generate(args.count)
    folder = files[0].parent
    if len(list(folder.glob("*.jpg"))) != args.count:
        raise SystemExit(f"{folder} holds other images than the {args.count} asked for")
    _warm(files)
    megabytes = sum(f.stat().st_size for f in files) / 1e6
    with tempfile.TemporaryDirectory(dir=OUT, prefix="run-") as tmp:
        work = Path(tmp)
        best = medians(
            args.rounds,
            {
                "esctui": lambda: esctui_import(folder, work / "data", args.count),
                "baseline": lambda: baseline(files, work / "baseline", workers),
            },
        )
        profile = profile_esctui(files, work / "profile") if args.profile else ""
    print(f"{args.count} JPEGs of {SIZE[0]}x{SIZE[1]} px, {megabytes:.0f} MB in all")
    if profile:
        print(profile)
    return report(
        "images",
        f"import images ({args.count} JPEGs {SIZE[0]}x{SIZE[1]})",
        best["esctui"],
        f"copy + draft thumbnail, {workers} threads",
        best["baseline"],
        TARGET,
        workers=workers,
        megabytes=round(megabytes),
    )


if __name__ == "__main__":
    main()
