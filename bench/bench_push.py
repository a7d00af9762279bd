"""Benchmark: ``esctui push`` against eScriptorium's own route for the same pages.

A local document of N pages (copies of the corpus scan, distinct bytes each) with 40 lines a
page in two regions and one transcription version is generated. Then, on a real eScriptorium
(``ESCR_URL``/``ESCR_TOKEN``, e.g. ``source /tmp/escr-dev/run/escriptorium.env``):

* the server's own route: the images uploaded one at a time through the API (as the browser
  does), then the server's XML import of a ZIP of the PAGE files (esctui's own export of the
  same document), timed until its task has finished;
* esctui: ``PushJob`` (default settings) into another new document.

Prints the times, the ratio (esctui / server route; the target is <= 0.5), esctui's own CPU
time against its wall time (the server, not esctui, should be the limit), and one JSON line.
Everything is made in a new project, deleted at the end.

Run: ``.venv/bin/python bench/bench_push.py [--pages 200]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from esctui.domain import Line, LineText, Region  # noqa: E402
from esctui.jobs.export import ExportJob  # noqa: E402
from esctui.jobs.imports.images import DEFAULT_MAX_PIXELS, prepare_image  # noqa: E402
from esctui.jobs.remote.common import RemoteTarget  # noqa: E402
from esctui.jobs.remote.push import PushJob  # noqa: E402
from esctui.jobs.runner import run_job  # noqa: E402
from esctui.store import PageLayout, Store  # noqa: E402
from tests.helpers import CORPUS, jpeg_copies  # noqa: E402

TARGET_RATIO = 0.5
LINES = 40
SCAN = CORPUS / "images" / "170025120000003,0074.jpg"


def make_document(store: Store, folder: Path, pages: int) -> str:
    """``pages`` pages of the corpus scan, each with 40 lines in 2 regions and a text."""
    doc = store.create_document("Bench register", main_script="Latin")
    version = store.create_transcription(doc.id, "bench", "manual")
    staging = store.new_staging_dir(doc.id)
    staged = []
    for path in jpeg_copies(SCAN, folder, pages, name="f{:04d}.jpg"):
        staged.extend(prepare_image(path, staging, DEFAULT_MAX_PIXELS))
    parts, _ = store.add_parts(doc.id, staged)
    layouts = {}
    for part in parts:
        width, height = part.width, part.height
        half = LINES // 2
        regions = [
            Region(part.id, [(50, 50), (width // 2 - 20, 50), (width // 2 - 20, height - 50),
                             (50, height - 50)], type="paragraph", order=0),
            Region(part.id, [(width // 2 + 20, 50), (width - 50, 50), (width - 50, height - 50),
                             (width // 2 + 20, height - 50)], type="paragraph", order=1),
        ]  # fmt: skip
        lines, texts = [], []
        step = (height - 100) // half
        for index in range(LINES):
            region = regions[index // half]
            x0 = int(region.polygon[0][0]) + 10
            x1 = int(region.polygon[1][0]) - 10
            y = 60 + (index % half) * step + step - 10
            line = Line(part.id, baseline=[(x0, y), ((x0 + x1) // 2, y + 2), (x1, y)],
                        mask=[(x0, y - step + 15), (x1, y - step + 15), (x1, y + 5), (x0, y + 5)],
                        region_id=region.id, order=index)  # fmt: skip
            lines.append(line)
            texts.append(LineText(line.id, version.id, f"{part.name} line {index + 1} ꝑ ſ", 0.9))
        layouts[part.id] = PageLayout(regions, lines, texts)
    store.write_page_layouts(doc.id, layouts)
    return doc.id


def server_route(http: httpx.Client, slug: str, store: Store, doc_id: str, zip_path: Path) -> dict:
    """Upload one image at a time, then import the ZIP of PAGE files and wait for its task."""
    remote = http.post("documents/", json={"name": "server route", "project": slug,
                                           "main_script": "Latin"}).json()  # fmt: skip
    pk = remote["pk"]
    started = time.perf_counter()
    for part in store.list_parts(doc_id):
        with open(store.part_image_path(part), "rb") as handle:
            response = http.post(
                f"documents/{pk}/parts/",
                files={"image": (part.original_filename, handle, "image/jpeg")},
            )
        response.raise_for_status()
    uploaded = time.perf_counter()
    with open(zip_path, "rb") as handle:
        response = http.post(
            f"documents/{pk}/import/",
            data={"mode": "xml", "name": "bench"},
            files={"upload_file": ("page.zip", handle, "application/zip")},
        )
    response.raise_for_status()
    while True:
        tasks = http.get("tasks/", params={"document": pk}).json()["results"]
        imports = [t for t in tasks if t["method"] == "imports.tasks.document_import"]
        if imports and imports[0]["workflow_state"] in (2, 3, 4):
            break
        time.sleep(0.1)
    finished = time.perf_counter()
    if imports[0]["workflow_state"] != 3:
        raise SystemExit(f"the server's import did not finish: {imports[0]['messages']}")
    parts = http.get(f"documents/{pk}/parts/", params={"paginate_by": 1}).json()["count"]
    return {"upload": uploaded - started, "import": finished - uploaded,
            "total": finished - started, "parts": parts}  # fmt: skip


def esctui_route(store: Store, doc_id: str, target: RemoteTarget, slug: str) -> dict:
    job = PushJob(store, doc_id, target, project=slug)
    cpu, wall = time.process_time(), time.perf_counter()
    record = asyncio.run(run_job(store, job))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if record.status != "done" or record.report.skipped:
        raise SystemExit(f"the push did not finish: {record.error} {record.report.skipped[:3]}")
    return {"total": wall, "cpu": cpu, "counts": record.report.counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    url, token = os.environ.get("ESCR_URL"), os.environ.get("ESCR_TOKEN")
    if not url or not token:
        raise SystemExit("set ESCR_URL and ESCR_TOKEN (a running eScriptorium server)")
    with tempfile.TemporaryDirectory(prefix="esctui-bench-push-") as tmp:
        folder = Path(tmp)
        store = Store(folder / "data", durable=False)
        doc_id = make_document(store, folder / "images", args.pages)
        zip_path = folder / "page.zip"
        export = asyncio.run(
            run_job(
                store,
                ExportJob(store, doc_id, zip_path, format="page", version="bench", validate=False),
            )
        )
        assert export.status == "done", export.error
        target = RemoteTarget("bench", url.rstrip("/"), token)
        with httpx.Client(base_url=f"{url.rstrip('/')}/api/", timeout=600,
                          headers={"Authorization": f"Token {token}"}) as http:  # fmt: skip
            project = http.post("projects/", json={"name": f"bench-push-{uuid.uuid4().hex[:8]}"})
            project.raise_for_status()
            slug, project_id = project.json()["slug"], project.json()["id"]
            try:
                server = server_route(http, slug, store, doc_id, zip_path)
                ours = esctui_route(store, doc_id, target, slug)
            finally:
                http.delete(f"projects/{project_id}/")
    ratio = ours["total"] / server["total"]
    print(f"{args.pages} pages x {LINES} lines, 2 regions and 1 version a page")
    print(f"  server's route: upload one by one {server['upload']:6.2f} s + XML import task "
          f"{server['import']:6.2f} s = {server['total']:6.2f} s")  # fmt: skip
    print(
        f"  esctui push                         {ours['total']:6.2f} s   "
        f"ratio {ratio:.2f} (esctui CPU {ours['cpu']:.2f} s of {ours['total']:.2f} s wall)"
    )
    print(f"  target <= {TARGET_RATIO:g}: {'met' if ratio <= TARGET_RATIO else 'NOT met'}")
    result = {
        "bench": "push", "pages": args.pages, "lines_per_page": LINES,
        "server_upload_s": round(server["upload"], 3), "server_import_s": round(server["import"], 3),
        "server_total_s": round(server["total"], 3), "esctui_s": round(ours["total"], 3),
        "esctui_cpu_s": round(ours["cpu"], 3), "ratio": round(ratio, 3), "target": TARGET_RATIO,
    }  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
