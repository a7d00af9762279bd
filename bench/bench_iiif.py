"""Benchmark: `esctui import iiif` of 100 distinct canvases against a plain sequential httpx
download of the same images.

A local IIIF server (tests/servers/iiif.py, in its own process, 127.0.0.1 only) adds 50 ms to
every request and serves 100 canvases, each a different JPEG (a corpus page with its number
written on it, made once in bench/out/), behind Image API 3 services. Contenders, alternately:
a plain sequential ``httpx.Client`` loop over the 100 image URLs (in this process), and the
whole command ``python -m esctui import iiif DOC manifest.json`` in a fresh process into a fresh
data folder (manifest, downloads, checks, thumbnails, commits). The downloader alone is timed
once for information. Target: the command at least 6x faster. One JSON line at the end.

Run: ``.venv/bin/python bench/bench_iiif.py [--canvases 100] [--latency 0.05] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from esctui.net.iiif_download import download_images, download_jobs  # noqa: E402
from esctui.net.iiif_fetch import DEFAULT_CONCURRENCY, fetch_manifest, make_client  # noqa: E402
from tests.servers.iiif import MANIFEST_DIR, SOURCE_IMAGES, IiifTestServer  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from harness import OUT, Timed, medians, report, run_esctui  # noqa: E402

TARGET_RATIO = 6.0
SERVICE = "/image/3.0/example/reference/59d09e6773341f28ea166e9f3c1e674f-gallica_ark_12148_bpt6k1526005v_f18"


def distinct_images(count: int) -> dict[str, str]:
    """Service path -> a JPEG of its own for each canvas (made once, cached in bench/out/)."""
    from PIL import Image, ImageDraw

    folder = OUT / "iiif_pages"
    folder.mkdir(parents=True, exist_ok=True)
    sources = {}
    page = None
    for n in range(1, count + 1):
        path = folder / f"canvas_{n:04d}.jpg"
        if not path.exists():
            if page is None:
                with Image.open(SOURCE_IMAGES[2]) as source:
                    page = source.convert("RGB")
            image = page.copy()
            ImageDraw.Draw(image).text((40, 40), f"canvas {n}", fill=(20, 20, 20), font_size=80)
            image.save(path, "JPEG", quality=85)
        sources[f"{SERVICE}-{n}"] = str(path)
    return sources


def serve_distinct(latency: float, sources: dict[str, str], ready: object) -> None:
    """Run a server with one image per canvas until killed (the separate process)."""
    import threading

    server = IiifTestServer(latency=latency)
    server.image_sources.update({key: Path(value) for key, value in sources.items()})
    server.start()
    ready.put(server.base_url)  # type: ignore[attr-defined]
    threading.Event().wait()


def write_manifest(base_url: str, canvases: int, folder: Path) -> Path:
    """A v3 manifest of ``canvases`` canvases shaped like the corpus's v3_book-1."""
    text = (MANIFEST_DIR / "v3_book-1.json").read_text(encoding="utf-8")
    text = text.replace("{{ id.url }}", f"{base_url}/bench/manifest.json")
    text = text.replace("{{ id.path }}", f"{base_url}/bench")
    data = json.loads(text.replace("https://iiif.io/api/", f"{base_url}/"))
    template = json.dumps(data["items"][0])
    data["items"] = [
        json.loads(template.replace("canvas/p1", f"canvas/p{n}").replace("_f18", f"_f18-{n}"))
        for n in range(1, canvases + 1)
    ]
    path = folder / "manifest.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def sequential_download(urls: list[str], folder: Path) -> float:
    """The plain way: one httpx.Client, one image after the other."""
    folder.mkdir()
    started = time.perf_counter()
    with httpx.Client(timeout=30.0) as client:
        for number, url in enumerate(urls, 1):
            response = client.get(url)
            response.raise_for_status()
            (folder / f"{number:05d}.jpg").write_bytes(response.content)
    return time.perf_counter() - started


async def esctui_download(manifest_path: Path, folder: Path, **options: object) -> float:
    """esctui's downloader; returns seconds, checks that every canvas arrived."""
    concurrency = int(options.get("concurrency", DEFAULT_CONCURRENCY))  # type: ignore[arg-type]
    started = time.perf_counter()
    async with make_client(concurrency=concurrency) as client:
        manifest = await fetch_manifest(str(manifest_path), client=client)
        jobs = download_jobs(manifest)  # type: ignore[arg-type]
        async with contextlib.aclosing(
            download_images(jobs, folder, client=client, **options)  # type: ignore[arg-type]
        ) as results:
            failed = [r async for r in results if not r.ok]
    elapsed = time.perf_counter() - started
    if failed:
        raise SystemExit(f"{len(failed)} downloads failed, first: {failed[0].error}")
    return elapsed


def esctui_command(manifest_path: Path, data: Path, canvases: int, concurrency: int) -> Timed:
    """The whole `esctui import iiif` command into a fresh data folder."""
    import shutil

    from esctui.store import Store

    shutil.rmtree(data, ignore_errors=True)
    store = Store(data)
    store.create_document("bench")
    store.close()
    command = ["import", "iiif", "bench", str(manifest_path), "--concurrency", str(concurrency)]
    run = run_esctui(command, data)
    (document,) = (data / "documents").iterdir()
    stored = len(list((document / "images").iterdir()))
    if stored != canvases:
        raise SystemExit(f"esctui stored {stored} pages, not {canvases}:\n{run.stdout[-2000:]}")
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--canvases", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per request")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY,
        help=f"requests at once to the server (esctui's default: {DEFAULT_CONCURRENCY})",
    )  # fmt: skip
    args = parser.parse_args()

    sources = distinct_images(args.canvases)
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    server = context.Process(
        target=serve_distinct, args=(args.latency, sources, ready), daemon=True
    )
    server.start()
    try:
        base_url = ready.get(timeout=30)
        with tempfile.TemporaryDirectory(prefix="bench_iiif_") as tmp:
            folder = Path(tmp)
            manifest_path = write_manifest(base_url, args.canvases, folder)
            manifest = asyncio.run(fetch_manifest(str(manifest_path)))
            urls = [job.default_url() for job in download_jobs(manifest)]  # type: ignore[arg-type]
            # warm both paths once (the server's caches, the page cache, .pyc files)
            sequential_download(urls, folder / "warm-up")
            downloader = asyncio.run(
                esctui_download(manifest_path, folder / "downloader", concurrency=args.concurrency)
            )
            total_bytes = sum(p.stat().st_size for p in (folder / "downloader").glob("*.jpg"))
            rounds = iter(range(args.rounds))

            def sequential() -> float:
                return sequential_download(urls, folder / f"sequential-{next(rounds)}")

            best = medians(
                args.rounds,
                {
                    "esctui": lambda: esctui_command(
                        manifest_path, folder / "data", args.canvases, args.concurrency
                    ),
                    "sequential": sequential,
                },
            )
    finally:
        server.terminate()
        server.join(5)
    print(f"{args.canvases} distinct canvases, {args.latency * 1000:.0f} ms added per request, "
          f"{total_bytes / 1e6:.1f} MB")  # fmt: skip
    print(f"downloader alone (concurrency {args.concurrency}): {downloader:.2f} s")
    report(
        "iiif",
        f"import iiif ({args.canvases} distinct canvases, {args.latency * 1000:.0f} ms latency)",
        best["esctui"],
        "sequential httpx download",
        best["sequential"],
        TARGET_RATIO,
        higher_is_better=True,
        downloader_s=round(downloader, 3),
        concurrency=args.concurrency,
    )


if __name__ == "__main__":
    main()
