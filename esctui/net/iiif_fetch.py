"""IIIF over HTTP: the client and reading a manifest, on the shared transport (``net.http``).

    async with make_client() as client:
        manifest = await fetch_manifest(url_or_path, client=client)  # or an IiifCollection

Every request goes through ``net.http.send``: one keep-alive pool, a total deadline (a minute
for a manifest), a byte cap, retries with backoff and Retry-After, bounded redirects (followed
to other hosts: IIIF image servers are often not the manifest's host; no token is sent), and
failures as sentences naming the host and the limit that was hit. The images of a manifest are
downloaded by ``iiif_download``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from urllib.parse import urlsplit

from esctui.formats.iiif import (
    IiifCollection,
    IiifError,
    IiifManifest,
    check_source,
    parse_manifest,
)
from esctui.formats.local_files import not_a_file
from esctui.net.http import MB, RETRY_STATUSES, HttpClient, NetError, RequestLimits

# httpcore runs `import sniffio` on every async request; when sniffio is not installed each
# attempt searches the whole import path again (~0.2 ms of event-loop time per request, 15 % of
# a download run). Record it as absent: `import sniffio` then fails at once, as it would anyway.
# No effect when sniffio is installed.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

USER_AGENT = "esctui/0.1"
ACCEPT = "application/ld+json, application/json, */*"
DEFAULT_CONCURRENCY = 8
DEFAULT_TIMEOUT = 30.0  # the longest silence of a server (idle timeout)
DEFAULT_MAX_REDIRECTS = 5
MANIFEST_DEADLINE = 60.0  # a manifest (or collection, info.json): the whole request
MAX_MANIFEST_BYTES = 100 * MB
MAX_INFO_BYTES = 2 * MB
# Image servers answer 500 for passing overloads more often than other servers (not 501: the
# Image API's "cannot make that size", which another URL may fix).
IIIF_RETRY_STATUSES = RETRY_STATUSES | {500}


def make_client(
    *,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float | None = None,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> HttpClient:
    """A client for IIIF: ``timeout`` the longest silence, redirects followed (bounded, also to
    other hosts), a keep-alive pool for ``concurrency`` downloads at once."""
    limits = RequestLimits(
        connect_timeout=connect_timeout or timeout,
        idle_timeout=timeout,
        deadline=MANIFEST_DEADLINE,
        max_bytes=MAX_MANIFEST_BYTES,
        max_redirects=max_redirects,
        follow_other_hosts=True,
        retry_statuses=IIIF_RETRY_STATUSES,
    )
    return HttpClient(limits, headers={"Accept": ACCEPT}, max_connections=max(concurrency * 2, 10))


async def get_bytes(client: HttpClient, url: str, limits: RequestLimits) -> bytes:
    """GET a small document (manifest, info.json) under ``limits``; raises IiifError in words."""
    try:
        response = await client.send("GET", url, limits=limits)
    except NetError as error:
        raise IiifError(str(error)) from None
    return response.content


async def fetch_manifest(
    source: str,
    *,
    client: HttpClient | None = None,
    retries: int = 2,
    backoff: float = 0.5,
    max_retry_after: float = 60.0,
    deadline: float = MANIFEST_DEADLINE,
) -> IiifManifest | IiifCollection:
    """Read a manifest or collection from an http(s) URL or a local file path.

    Raises ``IiifError`` with a clear message: other schemes (file:, ftp:, ...), missing
    files, HTTP errors, the deadline or byte cap hit, redirect loops, HTML pages, invalid or
    too deeply nested manifests.
    """
    source = check_source(source)
    if urlsplit(source).scheme.lower() in ("http", "https"):
        async with _client_or_own(client) as http:
            limits = http.limits.with_(
                retries=retries,
                backoff=backoff,
                max_retry_after=max_retry_after,
                deadline=deadline,
                max_bytes=MAX_MANIFEST_BYTES,
            )
            data = await get_bytes(http, source, limits)
        return parse_manifest(data, url=source)
    path = Path(source).expanduser()
    if (problem := not_a_file(path, "a manifest file")) is not None and path.exists():
        raise IiifError(problem)  # a folder or a FIFO (reading a FIFO would wait for ever)
    size = await asyncio.to_thread(lambda: path.stat().st_size if path.is_file() else 0)
    if size > MAX_MANIFEST_BYTES:
        raise IiifError(
            f"{path.name} is {size / MB:,.0f} MB, larger than the {MAX_MANIFEST_BYTES // MB} MB "
            "esctui reads as a manifest"
        )
    data = await asyncio.to_thread(path.read_bytes)
    return parse_manifest(data, url=str(path.resolve()))


class _client_or_own:  # noqa: N801 (used as a context manager, like contextlib's)
    """The caller's client (left open), or a new one closed at the end."""

    def __init__(self, client: HttpClient | None) -> None:
        self.given = client
        self.own: HttpClient | None = None

    async def __aenter__(self) -> HttpClient:
        if self.given is not None:
            return self.given
        self.own = make_client()
        return self.own

    async def __aexit__(self, *exc: object) -> None:
        if self.own is not None:
            await self.own.aclose()
