"""Benchmark: esctui's IIIF downloader against a plain sequential httpx download.

A local IIIF server (tests/servers/iiif.py, in its own process, 127.0.0.1 only) adds 50 ms to
every request and serves 100 canvases (real corpus images behind Image API 3 services). The same
100 image URLs are downloaded by a plain sequential ``httpx.Client`` loop and by
``download_images`` (default settings, then variants for comparison). Prints the times, the
ratio, and one JSON line for a wrapper.

Run: ``.venv/bin/python bench/bench_iiif.py [--canvases 100] [--latency 0.05]``
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
from tests.servers.iiif import MANIFEST_DIR, serve_forever  # noqa: E402

TARGET_RATIO = 6.0


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


def esctui_import(manifest_path: Path, folder: Path) -> tuple[float, int]:
    """The whole IIIF importer into a fresh store (download, check, thumbnail, commit);
    returns (seconds, pages stored). The server has 4 distinct images; every canvas is a page
    (IIIF pages are told apart by canvas id, not image bytes), so all are stored."""
    from esctui.jobs.imports.iiif import IiifImporter
    from esctui.jobs.runner import run_job
    from esctui.store import Store

    store = Store(folder / "data")
    document = store.create_document("bench")
    started = time.perf_counter()
    job = asyncio.run(run_job(store, IiifImporter(store, document.id, str(manifest_path))))
    elapsed = time.perf_counter() - started
    failures = len(job.report.skipped) - job.report.counts.get("duplicates", 0)
    if job.status != "done" or failures:
        raise SystemExit(f"the import did not finish cleanly: {job.error or job.report.summary()}")
    return elapsed, len(store.list_parts(document.id))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--canvases", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per request")
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    server = context.Process(target=serve_forever, args=(0, args.latency, ready), daemon=True)
    server.start()
    try:
        base_url = ready.get(timeout=30)
        with tempfile.TemporaryDirectory(prefix="bench_iiif_") as tmp:
            folder = Path(tmp)
            manifest_path = write_manifest(base_url, args.canvases, folder)
            manifest = asyncio.run(fetch_manifest(str(manifest_path)))
            urls = [job.default_url() for job in download_jobs(manifest)]  # type: ignore[arg-type]
            # warm both paths once (server caches, lazy imports such as Pillow's plugins)
            sequential_download(urls[:3], folder / "warm-up")
            asyncio.run(esctui_download(manifest_path, folder / "warm-up-esctui"))
            sequential = sequential_download(urls, folder / "sequential")
            esctui = asyncio.run(esctui_download(manifest_path, folder / "esctui"))
            variants = {
                "concurrency 4": {"concurrency": 4},
                "concurrency 8, info.json always": {"info_json": "always"},
            }
            variant_times = {
                name: asyncio.run(esctui_download(manifest_path, folder / f"v{i}", **options))
                for i, (name, options) in enumerate(variants.items())
            }
            importer, stored_pages = esctui_import(manifest_path, folder / "import")
            total_bytes = sum(p.stat().st_size for p in (folder / "esctui").glob("*.jpg"))
    finally:
        server.terminate()
        server.join(5)

    ratio = sequential / esctui
    print(f"{args.canvases} canvases, {args.latency * 1000:.0f} ms added per request, "
          f"{total_bytes / 1e6:.1f} MB")  # fmt: skip
    print(f"  plain sequential httpx        {sequential:6.2f} s")
    print(
        f"  esctui (concurrency {DEFAULT_CONCURRENCY}, auto)  {esctui:6.2f} s   {ratio:4.1f}x faster"
    )
    for name, seconds in variant_times.items():
        print(f"  esctui ({name})".ljust(32) + f"{seconds:6.2f} s   {sequential / seconds:4.1f}x")
    print(
        f"  esctui full import (store)    {importer:6.2f} s   {sequential / importer:4.1f}x"
        f"   ({stored_pages} pages stored, one per canvas)"
    )
    print(f"  target >= {TARGET_RATIO:g}x: {'met' if ratio >= TARGET_RATIO else 'NOT met'}")
    result = {
        "bench": "iiif",
        "canvases": args.canvases,
        "latency_ms": round(args.latency * 1000),
        "sequential_s": round(sequential, 3),
        "esctui_s": round(esctui, 3),
        "ratio": round(ratio, 2),
        "target_ratio": TARGET_RATIO,
        "met": ratio >= TARGET_RATIO,
        "concurrency": DEFAULT_CONCURRENCY,
        "importer_s": round(importer, 3),
        "importer_ratio": round(sequential / importer, 2),
        "variants_s": {name: round(seconds, 3) for name, seconds in variant_times.items()},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
