"""What the push/pull tests share: a realistic local document, running jobs, and reading
the server's side of a document with plain HTTP (never the client under test)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import httpx

from esctui.domain import Job
from esctui.jobs.imports.images import LocalImagesImporter
from esctui.jobs.imports.xml import XmlImporter
from esctui.jobs.runner import JobKind, run_job
from esctui.store import Store
from tests.helpers import make_image

SCAN = "170025120000003,0074"


def run(store: Store, work: JobKind) -> Job:
    return asyncio.run(run_job(store, work))


def corpus_document(store: Store, tmp_path: Path, corpus: Path, name: str = "Register") -> str:
    """The corpus scan and two small made pages; the PAGE file imported onto the scan."""
    doc = store.create_document(name, main_script="Latin", description="A test register")
    doc.metadata = {"archive": "Stadtarchiv", "shelfmark": "B 12"}
    store.update_document(doc)
    folder = tmp_path / "scans"
    folder.mkdir(exist_ok=True)
    scan = folder / f"{SCAN}.jpg"
    scan.write_bytes((corpus / "images" / f"{SCAN}.jpg").read_bytes())
    extra = [make_image(folder / f"extra{i}.png", size=(300, 400)) for i in (1, 2)]
    job = run(store, LocalImagesImporter(store, doc.id, [scan, *extra]))
    assert job.status == "done" and not job.report.skipped, job.report
    job = run(store, XmlImporter(store, doc.id, corpus / "page" / f"{SCAN}.xml", name="corpus"))
    assert job.status == "done", job.error
    return doc.id


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def all_pages(http: httpx.Client, path: str, **params: Any) -> list[dict]:
    """Every item of a paginated (or plain) list."""
    items: list[dict] = []
    url: str | None = path
    query: dict[str, Any] | None = {"paginate_by": 50, **params}
    while url:
        response = http.get(url, params=query)
        response.raise_for_status()
        body = response.json()
        if isinstance(body, list):
            return body
        items.extend(body["results"])
        url, query = body["next"], None
    return items


def server_side(http: httpx.Client, document: int) -> dict[str, Any]:
    """The remote document as plain data: parts in order, each with its regions, lines and
    the texts of every layer (by layer name), and the image's sha256."""
    doc = http.get(f"documents/{document}/")
    doc.raise_for_status()
    layers = {t["pk"]: t["name"] for t in doc.json()["transcriptions"]}
    parts = sorted(all_pages(http, f"documents/{document}/parts/"), key=lambda p: p["order"])
    pages = []
    for part in parts:
        detail = http.get(f"documents/{document}/parts/{part['pk']}/").json()
        texts: dict[str, dict[int, dict]] = {}
        for pk, name in layers.items():
            found = all_pages(
                http, f"documents/{document}/parts/{part['pk']}/transcriptions/", transcription=pk
            )
            if found:
                texts[name] = {t["line"]: t for t in found}
        image = http.get(http.base_url.join("/").join(detail["image"]["uri"]))
        image.raise_for_status()
        pages.append({"part": detail, "texts": texts, "sha256": sha256(image.content)})
    return {"document": doc.json(), "pages": pages}
