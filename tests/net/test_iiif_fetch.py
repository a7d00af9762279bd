"""IIIF over HTTP (esctui.net.iiif_fetch, iiif_download): manifests and image downloads.

Everything runs against a real HTTP server on 127.0.0.1 (tests/servers/iiif.py) serving the
corpus manifests rewritten to point at it and real corpus images; every fault is injected by
that server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

import pytest
from PIL import Image

from esctui.formats.iiif import (
    IiifCollection,
    IiifError,
    IiifManifest,
)
from esctui.net.iiif_download import (
    CanvasDownload,
    DownloadResult,
    DownloadStatus,
    download_images,
    download_jobs,
)
from esctui.net.iiif_fetch import DEFAULT_CONCURRENCY, USER_AGENT, fetch_manifest, make_client
from tests.servers.iiif import (
    BOOK,
    CONTEXTS,
    CORPUS,
    CORPUS_EXPECTED,
    DEE,
    MANIFEST_DIR,
    Fault,
    IiifTestServer,
    ImageOptions,
    path_of,
)

INPUT_JPG = CORPUS / "images" / "input.jpg"  # 1456 x 2184


# --------------------------------------------------------------------------------------------
# The real server


@pytest.fixture
def server():
    with IiifTestServer() as running:
        yield running


@pytest.fixture
async def client():
    async with make_client(timeout=5.0) as http:
        yield http


async def served_manifest(server: IiifTestServer, client, name: str) -> IiifManifest:
    manifest = await fetch_manifest(server.manifest_url(name), client=client)
    assert isinstance(manifest, IiifManifest)
    return manifest


async def run_downloads(jobs: list[CanvasDownload], dest: Path, **options) -> list[DownloadResult]:
    async with contextlib.aclosing(download_images(jobs, dest, **options)) as results:
        return [result async for result in results]


def assert_clean(dest: Path) -> None:
    assert not list(dest.glob(".*.part")), "a partial file was left behind"


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTED))
async def test_every_corpus_manifest_from_the_server(server, client, name: str) -> None:
    version, label, canvases, first_url = CORPUS_EXPECTED[name]
    manifest = await served_manifest(server, client, name)
    assert (manifest.version, manifest.label) == (version, label)
    assert [(c.label, c.width, c.height) for c in manifest.canvases] == canvases
    rewritten = first_url.replace("https://iiif.io/api/", f"{server.base_url}/")
    assert manifest.canvases[0].full_image_url() == rewritten
    assert manifest.url == server.manifest_url(name)
    assert USER_AGENT in server.user_agents


async def test_download_v3_book(server, client, tmp_path: Path) -> None:
    manifest = await served_manifest(server, client, "v3_book-1")
    progress: list[tuple[int, int]] = []
    results = await run_downloads(
        download_jobs(manifest), tmp_path, client=client, on_progress=lambda *p: progress.append(p)
    )
    assert sorted(r.index for r in results) == [0, 1, 2, 3, 4]
    assert all(r.status is DownloadStatus.DOWNLOADED for r in results), results
    assert progress[-1] == (5, 5) and len(progress) == 5
    for result in results:
        assert result.path is not None and result.path.parent == tmp_path
        with Image.open(result.path) as image:
            assert image.size == (result.width, result.height)
            assert image.format == result.format == "JPEG"
        assert result.label == CORPUS_EXPECTED["v3_book-1"][2][result.index][0]
        assert (
            result.url
            == f"{server.base_url}/image/3.0/example/reference/{BOOK}{18 + result.index}/full/max/0/default.jpg"
        )
        assert result.byte_size == result.path.stat().st_size and len(result.sha256) == 64
    assert server.count("info.json") == 0  # the manifest said enough
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"canvas_{n:05d}.jpg" for n in range(1, 6)
    ]


async def test_download_without_service_uses_the_resource(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v2_publishing")
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client)
    assert result.ok and result.format == "PNG" and result.path.suffix == ".png"
    assert result.label == "p. 1"
    assert path_of(result.url) == "/presentation/2.1/example/fixtures/resources/page1-full.png"


async def test_download_choice_gets_the_default_item(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_choice")
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client)
    assert result.ok and f"{DEE}natural/full/max" in result.url
    assert server.count("xray") == 0


def with_service(server: IiifTestServer, service: dict) -> str:
    """The served v2_publishing manifest with an image service added to its resource."""
    data = json.loads(server.rewritten_manifest("v2_publishing"))
    data["sequences"][0]["canvases"][0]["images"][0]["resource"]["service"] = service
    return server.add_document(f"/variants/{abs(hash(json.dumps(service)))}.json", data)


@pytest.mark.parametrize(
    ("version", "max_width", "expected_path", "expected_width"),
    [
        (1, None, "/image/1.1/ref/p1/full/full/0/native.jpg", 1456),
        (1, 300, "/image/1.1/ref/p1/full/300,/0/native.jpg", 300),
        (2, None, "/image/2.1/ref/p1/full/full/0/default.jpg", 1456),
        (2, 300, "/image/2.1/ref/p1/full/300,/0/default.jpg", 300),
    ],
)
async def test_image_api_1_and_2_services(
    server, client, tmp_path, version, max_width, expected_path, expected_width
) -> None:
    folder = {1: "1.1", 2: "2.1"}[version]
    profile = {
        1: "http://library.stanford.edu/iiif/image-api/1.1/compliance.html#level1",
        2: "http://iiif.io/api/image/2/level1.json",
    }[version]
    service_path = f"/image/{folder}/ref/p1"
    server.image_sources[service_path] = INPUT_JPG
    url = with_service(
        server,
        {"@context": CONTEXTS[version], "@id": server.base_url + service_path, "profile": profile},
    )
    manifest = await fetch_manifest(url, client=client)
    [result] = await run_downloads(
        download_jobs(manifest), tmp_path, client=client, max_width=max_width
    )
    assert result.ok, result.error
    assert path_of(result.url) == expected_path
    assert result.width == expected_width
    assert server.count("info.json") == 0


@pytest.mark.parametrize(("supports_max", "size"), [(False, "333,"), (True, "max")])
async def test_server_size_limit_read_from_info_json(
    server, client, tmp_path, supports_max, size
) -> None:
    service_path = "/image/2.1/ref/limited"
    server.image_sources[service_path] = INPUT_JPG
    server.image_options[service_path] = ImageOptions(max_width=500, supports_max=supports_max)
    url = with_service(
        server,
        {
            "@context": CONTEXTS[2],
            "@id": server.base_url + service_path,
            "profile": "http://iiif.io/api/image/2/level1.json",
        },
    )
    manifest = await fetch_manifest(url, client=client)
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client)
    assert result.ok, result.error
    # full refused (400), then info.json says maxWidth 500 (and so maxHeight 500): 333 x 500
    assert server.requests[-3:] == [
        f"{service_path}/full/full/0/default.jpg",
        f"{service_path}/info.json",
        f"{service_path}/full/{size}/0/default.jpg",
    ]
    assert (result.width, result.height) == (333, 500)


async def test_level0_server_sizes_from_info_json(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    service_path = path_of(manifest.canvases[0].service.id)
    server.image_sources[service_path] = INPUT_JPG
    server.image_options[service_path] = ImageOptions(level=0, sizes=[(364, 546), (728, 1092)])
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client, max_width=500)
    assert result.ok, result.error
    assert server.requests[-3:] == [
        f"{service_path}/full/500,/0/default.jpg",  # the manifest says level1: tried, refused
        f"{service_path}/info.json",
        f"{service_path}/full/364,546/0/default.jpg",
    ]
    assert (result.width, result.height) == (364, 546)


async def test_max_width_skips_info_json_when_manifest_gives_sizes(
    server, client, tmp_path
) -> None:
    manifest = await served_manifest(server, client, "v3_book-1")
    results = await run_downloads(download_jobs(manifest), tmp_path, client=client, max_width=200)
    assert len(results) == 5
    for result in results:  # served images are 228 to 1456 wide: all scaled by the server
        assert result.ok and result.width == 200 and "/full/200,/0/default.jpg" in result.url
    assert server.count("info.json") == 0


async def test_info_json_failure_falls_back_to_the_default_url(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    service = manifest.canvases[0].service
    server.inject(path_of(service.info_url), Fault(status=500), times=None)
    [result] = await run_downloads(
        download_jobs(manifest), tmp_path, client=client, info_json="always", backoff=0.01
    )
    assert result.ok and result.url == service.full_image_url()
    assert server.count("info.json") == 2  # tried, retried once, then gave up on it


async def test_500_then_success_is_retried(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    image = path_of(manifest.canvases[0].full_image_url())
    server.inject(image, Fault(status=500, body=b"Internal error"), times=2)
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client, backoff=0.01)
    assert result.ok and result.attempts == 3
    assert server.count(image) == 3
    assert_clean(tmp_path)


async def test_persistent_500_is_reported(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    image = path_of(manifest.canvases[0].full_image_url())
    server.inject(image, Fault(status=502), times=None)
    [result] = await run_downloads(
        download_jobs(manifest), tmp_path, client=client, retries=2, backoff=0.01
    )
    assert result.status is DownloadStatus.FAILED and result.attempts == 3
    host = server.base_url.removeprefix("http://")
    assert result.error == (
        f"{host} answered 502 Bad Gateway to GET {server.base_url}{image} (tried 3 times)"
    )
    assert list(tmp_path.iterdir()) == []
    assert server.count("info.json") == 0  # a server error: info.json would not help


async def test_501_not_implemented_is_not_retried(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    service_path = path_of(manifest.canvases[0].service.id)
    server.image_sources[service_path] = INPUT_JPG  # 1456 x 2184
    scaled = f"{service_path}/full/1000,/0/default.jpg"
    server.inject(scaled, Fault(status=501), times=None)
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client, max_width=1000)
    assert result.ok, result.error
    # the manifest says 4032 wide: "1000," asked and refused (not retried); info.json leads to
    # the same URL, so the body's own URL (full size) is the last resort
    assert server.requests[-3:] == [
        scaled,
        f"{service_path}/info.json",
        f"{service_path}/full/max/0/default.jpg",
    ]
    assert result.attempts == 2 and result.width == 1456


@pytest.mark.parametrize(
    ("retry_after", "cap", "least", "most"), [("1", 60, 0.95, 3), ("3600", 0.2, 0.0, 1)]
)
async def test_429_honours_retry_after(
    server, client, tmp_path, retry_after, cap, least, most
) -> None:
    """A wait the server asks for is honoured; one longer than the cap fails the page at once
    (the next run resumes it), saying how long the server asked to wait."""
    manifest = await served_manifest(server, client, "v3_image-service")
    image = path_of(manifest.canvases[0].full_image_url())
    server.inject(image, Fault(status=429, headers={"Retry-After": retry_after}))
    started = time.monotonic()
    [result] = await run_downloads(
        download_jobs(manifest), tmp_path, client=client, backoff=0.01, max_retry_after=cap
    )
    elapsed = time.monotonic() - started
    if cap > 1:
        assert result.ok and result.attempts == 2
    else:
        assert not result.ok and "asked to wait 3600 s before trying again" in result.error
    assert least <= elapsed < most


async def test_404_image_is_reported_and_others_download(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_book-1")
    missing = path_of(manifest.canvases[2].full_image_url())
    server.inject(missing, Fault(status=404, body=b"Not Found"), times=None)
    results = {
        r.index: r for r in await run_downloads(download_jobs(manifest), tmp_path, client=client)
    }
    assert [i for i, r in sorted(results.items()) if r.ok] == [0, 1, 3, 4]
    assert results[2].status is DownloadStatus.FAILED
    host = server.base_url.removeprefix("http://")
    assert results[2].error == f"{host} answered 404 Not Found to GET {server.base_url}{missing}"
    assert results[2].label == "Title page" and results[2].path is None
    assert not (tmp_path / "canvas_00003.jpg").exists()
    assert server.count(missing) == 1  # a 404 is not retried


async def test_html_page_instead_of_image(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    image = path_of(manifest.canvases[0].full_image_url())
    page = b"<!DOCTYPE html>\n<html><body><h1>Too many requests, come back later</h1></body></html>"
    server.inject(image, Fault(body=page, content_type="text/html"), times=None)
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client)
    assert not result.ok
    assert (
        result.error
        == f"the server sent a web page (HTML) instead of an image for {server.base_url}{image}"
    )
    assert list(tmp_path.iterdir()) == []


async def test_bytes_that_are_not_an_image(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    image = path_of(manifest.canvases[0].full_image_url())
    server.inject(image, Fault(body=b"\x00\x01 definitely not a picture " * 50), times=None)
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client)
    assert not result.ok and "is not an image that can be read" in result.error
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("times", [1, None])
async def test_partial_body(server, client, tmp_path, times) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    image = path_of(manifest.canvases[0].full_image_url())
    server.inject(image, Fault(partial=True), times=times)
    [result] = await run_downloads(
        download_jobs(manifest), tmp_path, client=client, retries=1, backoff=0.01
    )
    if times == 1:
        assert result.ok and result.attempts == 2
        with Image.open(result.path) as downloaded:
            downloaded.load()  # the whole image arrived
    else:
        assert not result.ok
        host = server.base_url.removeprefix("http://")
        assert result.error.startswith(f"the connection to {host} was cut during GET")
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("times", [1, None])
async def test_image_delay_beyond_timeout(server, tmp_path, times) -> None:
    async with make_client(timeout=0.3) as impatient:
        manifest = await served_manifest(server, impatient, "v3_image-service")
        image = path_of(manifest.canvases[0].full_image_url())
        server.inject(image, Fault(delay=1.0), times=times)
        [result] = await run_downloads(
            download_jobs(manifest), tmp_path, client=impatient, retries=1, backoff=0.01
        )
    if times == 1:
        assert result.ok and result.attempts == 2
    else:
        host = server.base_url.removeprefix("http://")
        assert result.error == (
            f"{host} did not answer anything for 0.3 s during GET {server.base_url}{image}; "
            "the server may be overloaded (tried 2 times)"
        )
    assert_clean(tmp_path)


async def test_resume_skips_canvases_already_done(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_book-1")
    jobs = download_jobs(manifest)
    done = {jobs[0].key, jobs[2].key}
    results = await run_downloads(jobs, tmp_path, client=client, already_done=done, in_order=True)
    assert [(r.index, r.status) for r in results] == [
        (0, DownloadStatus.SKIPPED),
        (1, DownloadStatus.DOWNLOADED),
        (2, DownloadStatus.SKIPPED),
        (3, DownloadStatus.DOWNLOADED),
        (4, DownloadStatus.DOWNLOADED),
    ]
    assert server.count(f"{BOOK}18/") == 0 and server.count(f"{BOOK}20/") == 0
    assert server.count(f"{BOOK}19/") == 1
    assert jobs[0].key == f"{server.base_url}/manifests/v3_book-1/canvas/p1"


async def test_results_in_canvas_order_on_request(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_book-1")
    first = path_of(manifest.canvases[0].full_image_url())
    server.inject(first, Fault(delay=0.4))
    unordered = await run_downloads(download_jobs(manifest), tmp_path / "a", client=client)
    assert unordered[-1].index == 0  # the slow first page finished last
    server.inject(first, Fault(delay=0.4))
    ordered = await run_downloads(
        download_jobs(manifest), tmp_path / "b", client=client, in_order=True
    )
    assert [r.index for r in ordered] == [0, 1, 2, 3, 4]


def many_canvases(server: IiifTestServer, count: int) -> str:
    """A v3 manifest of ``count`` canvases shaped like v3_book-1's (one image service each)."""
    data = json.loads(server.rewritten_manifest("v3_book-1"))
    template = json.dumps(data["items"][0])
    data["items"] = [
        json.loads(
            template.replace("canvas/p1", f"canvas/p{n}").replace(f"{BOOK}18", f"{BOOK}18-{n}")
        )
        for n in range(1, count + 1)
    ]
    return server.add_document("/variants/many.json", data)


@pytest.mark.parametrize("concurrency", [3, None])
async def test_concurrency_is_bounded(server, client, tmp_path, concurrency) -> None:
    manifest = await fetch_manifest(many_canvases(server, 20), client=client)
    server.latency = 0.15
    server.reset_stats()
    options = {"concurrency": concurrency} if concurrency else {}
    results = await run_downloads(download_jobs(manifest), tmp_path, client=client, **options)
    assert len(results) == 20 and all(r.ok for r in results)
    limit = concurrency or DEFAULT_CONCURRENCY
    assert server.max_in_flight == limit
    assert server.connections <= limit  # keep-alive: connections are reused


@pytest.mark.parametrize("busy", [False, True])
async def test_busy_server_gets_fewer_requests_at_once(server, client, tmp_path, busy) -> None:
    manifest = await fetch_manifest(many_canvases(server, 16), client=client)
    server.latency = 0.1
    if busy:  # two 503 answers halve the limit twice: 4 -> 2 -> 1
        for canvas in manifest.canvases[:2]:
            busy_answer = Fault(status=503, headers={"Retry-After": "0"})
            server.inject(path_of(canvas.full_image_url()), busy_answer)
    server.reset_stats()
    results = await run_downloads(download_jobs(manifest), tmp_path, client=client, concurrency=4)
    assert all(r.ok for r in results)
    first = server.starts[0][0]
    later = [in_flight for started, in_flight in server.starts if started - first > 0.35]
    assert later and max(later) == (1 if busy else 4)


async def test_cancel_leaves_no_partial_files(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    service_path = path_of(manifest.canvases[0].service.id)
    server.image_sources[service_path] = INPUT_JPG
    server.inject(path_of(manifest.canvases[0].full_image_url()), Fault(stall=3.0))

    async def consume() -> None:
        await run_downloads(download_jobs(manifest), tmp_path, client=client)

    task = asyncio.create_task(consume())
    for _ in range(100):
        if list(tmp_path.glob(".*.part")) and list(tmp_path.glob(".*.part"))[0].stat().st_size:
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail("the download never started writing")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(tmp_path.iterdir()) == []


async def test_canvas_without_image_is_reported(tmp_path) -> None:
    job = CanvasDownload(index=0, key="c1", label="f. 1v")
    [result] = await run_downloads([job], tmp_path)
    assert result.status is DownloadStatus.FAILED
    assert result.error == "this page has no image in the manifest"


@pytest.mark.parametrize("url", ["file:///etc/hostname", "ftp://127.0.0.1/f1.jpg"])
async def test_image_urls_that_are_not_http_are_refused(tmp_path, url: str) -> None:
    job = CanvasDownload(index=0, key="c1", label="f. 1r", resource_url=url)
    [result] = await run_downloads([job], tmp_path, retries=0)
    assert not result.ok
    assert result.error == f"cannot download {url}: not a valid web address"
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# fetch_manifest: sources and faults


async def test_local_manifest_file() -> None:
    manifest = await fetch_manifest(str(MANIFEST_DIR / "v3_rtl.json"))
    assert isinstance(manifest, IiifManifest) and len(manifest.canvases) == 5
    assert manifest.url == str((MANIFEST_DIR / "v3_rtl.json").resolve())


@pytest.mark.parametrize(
    "source",
    [
        f"file://{MANIFEST_DIR}/v3_rtl.json",
        "ftp://127.0.0.1/manifest.json",
        "javascript:alert(1)",
        "data:application/json,{}",
    ],
)
async def test_other_schemes_are_refused(source: str) -> None:
    with pytest.raises(IiifError) as raised:
        await fetch_manifest(source)
    assert "only web addresses starting with http:// or https://" in str(raised.value)
    assert f"not '{source.split(':')[0]}:' addresses" in str(raised.value)


async def test_missing_local_file(tmp_path) -> None:
    with pytest.raises(IiifError, match="there is no manifest file at"):
        await fetch_manifest(str(tmp_path / "nothing.json"))


async def test_manifest_404(server, client) -> None:
    url = f"{server.base_url}/manifests/missing.json"
    with pytest.raises(IiifError) as raised:
        await fetch_manifest(url, client=client)
    host = server.base_url.removeprefix("http://")
    assert str(raised.value) == f"{host} answered 404 Not Found to GET {url}"


async def test_manifest_500_retried_then_reported(server, client) -> None:
    url = server.manifest_url("v3_rtl")
    server.inject("/manifests/v3_rtl.json", Fault(status=500))
    assert isinstance(await fetch_manifest(url, client=client, backoff=0.01), IiifManifest)
    server.inject("/manifests/v3_rtl.json", Fault(status=500), times=None)
    with pytest.raises(IiifError) as raised:
        await fetch_manifest(url, client=client, backoff=0.01)
    host = server.base_url.removeprefix("http://")
    assert (
        str(raised.value)
        == f"{host} answered 500 Internal Server Error to GET {url} (tried 3 times)"
    )


async def test_html_page_instead_of_manifest(server, client) -> None:
    url = server.add_document(
        "/ark:/12148/btv1b8490076p",
        "<!DOCTYPE html><html><head><title>Gallica</title></head>",
        "text/html",
    )
    with pytest.raises(IiifError) as raised:
        await fetch_manifest(url, client=client)
    assert str(raised.value).startswith(
        f"the server sent an HTML page, not a IIIF manifest ({url})"
    )


async def test_not_json_manifest(server, client) -> None:
    url = server.add_document("/plain.txt", "manifest coming soon", "text/plain")
    with pytest.raises(IiifError, match="is not valid JSON"):
        await fetch_manifest(url, client=client)


async def test_redirects_followed_and_loops_reported(server, client) -> None:
    server.inject("/old/manifest.json", Fault(redirect_to="/manifests/v3_rtl.json"))
    manifest = await fetch_manifest(f"{server.base_url}/old/manifest.json", client=client)
    assert isinstance(manifest, IiifManifest) and len(manifest.canvases) == 5
    server.inject("/loop/a", Fault(redirect_to="/loop/b"), times=None)
    server.inject("/loop/b", Fault(redirect_to="/loop/a"), times=None)
    with pytest.raises(IiifError) as raised:
        await fetch_manifest(f"{server.base_url}/loop/a", client=client)
    assert "more than 5 times (a redirect loop?)" in str(raised.value)
    assert server.count("/loop/") == 6  # the first request and 5 redirects


async def test_manifest_delay_beyond_timeout(server) -> None:
    server.inject("/manifests/v3_rtl.json", Fault(delay=1.0), times=None)
    url = server.manifest_url("v3_rtl")
    started = time.monotonic()
    async with make_client(timeout=0.3) as impatient:
        with pytest.raises(IiifError) as raised:
            await fetch_manifest(url, client=impatient, retries=0)
    host = server.base_url.removeprefix("http://")
    assert str(raised.value) == (
        f"{host} did not answer anything for 0.3 s during GET {url}; the server may be overloaded"
    )
    assert time.monotonic() - started < 0.9


async def test_collection_from_the_server(server, client) -> None:
    collection_url = server.add_document(
        "/collection.json",
        {
            "@context": "http://iiif.io/api/presentation/3/context.json",
            "id": f"{server.base_url}/collection.json",
            "type": "Collection",
            "label": {"en": ["Cookbook examples"]},
            "items": [
                {"id": server.manifest_url(n), "type": "Manifest", "label": {"en": [n]}}
                for n in ("v3_book-1", "v3_rtl")
            ],
        },
    )
    collection = await fetch_manifest(collection_url, client=client)
    assert isinstance(collection, IiifCollection)
    assert collection.label == "Cookbook examples"
    assert [label for label, _ in collection.manifests] == ["v3_book-1", "v3_rtl"]
    for _, url in collection.manifests:
        member = await fetch_manifest(url, client=client)
        assert isinstance(member, IiifManifest) and len(member.canvases) == 5
