"""IIIF over HTTP: the client, failures in plain words, retries, and reading a manifest.

    async with make_client() as client:
        manifest = await fetch_manifest(url_or_path, client=client)  # or an IiifCollection

One connection pool with keep-alive; redirects followed (bounded); timeouts; a failure worth
trying again (a timeout, a cut connection, 5xx, 429) is retried with exponential backoff, a
server's Retry-After honoured. The images of a manifest are downloaded by ``iiif_download``.
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib.util
import random
import sys
import time
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from esctui.formats.iiif import (
    IiifCollection,
    IiifError,
    IiifManifest,
    check_source,
    parse_manifest,
)

# httpcore runs `import sniffio` on every async request; when sniffio is not installed each
# attempt searches the whole import path again (~0.2 ms of event-loop time per request, 15 % of
# a download run). Record it as absent: `import sniffio` then fails at once, as it would anyway.
# No effect when sniffio is installed.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

USER_AGENT = "esctui/0.1"
DEFAULT_CONCURRENCY = 8
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_REDIRECTS = 5
MAX_MANIFEST_BYTES = 100 * 1024 * 1024
MAX_INFO_BYTES = 2 * 1024 * 1024


def make_client(
    *,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float | None = None,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> httpx.AsyncClient:
    """An HTTP client for IIIF: redirects followed (bounded), timeouts, keep-alive pool."""
    return httpx.AsyncClient(
        follow_redirects=True,
        max_redirects=max_redirects,
        timeout=httpx.Timeout(timeout, connect=connect_timeout or timeout),
        limits=httpx.Limits(
            max_connections=max(concurrency * 2, 10),
            max_keepalive_connections=max(concurrency, 5),
        ),
        headers={"User-Agent": USER_AGENT, "Accept": "application/ld+json, application/json, */*"},
    )


# --------------------------------------------------------------------------------------------
# Failures, in plain words


class Retryable(Exception):
    """A failure worth trying again (timeout, cut connection, 5xx, 429)."""

    def __init__(self, message: str, *, retry_after: float | None = None, busy: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.busy = busy  # the server asked us to slow down (429/503)


class Permanent(Exception):
    """A failure that trying again will not fix (404, HTML page, not an image, ...)."""

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1):
        super().__init__(message)
        self.status = status  # the HTTP status when the server refused; None otherwise
        self.attempts = attempts


def _status_text(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def _retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date); None when absent/unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def check_status(response: httpx.Response, url: str) -> None:
    code = response.status_code
    if 200 <= code < 300 and code != 204:
        return
    message = f"the server answered {_status_text(code)} for {url}"
    if code in (429, 503):
        retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
        raise Retryable(message, retry_after=retry_after, busy=True)
    if (code >= 500 and code not in (501, 505)) or code == 408:
        raise Retryable(message)  # 501 Not Implemented: the Image API's "cannot do that size"
    raise Permanent(message, status=code)


def tried_times(attempts: int) -> str:
    return f" (tried {attempts} times)" if attempts > 1 else ""


def transport_failure(error: Exception, url: str, client: httpx.AsyncClient) -> Exception:
    """Turn an httpx error into a Retryable/Permanent with a sentence a historian can read."""
    host = urlsplit(url).netloc or url
    if isinstance(error, httpx.ConnectTimeout):
        return Retryable(f"could not connect to {host} within {client.timeout.connect:g} s ({url})")
    if isinstance(error, httpx.TimeoutException):
        return Retryable(f"the server did not answer within {client.timeout.read:g} s ({url})")
    if isinstance(error, httpx.TooManyRedirects):
        return Permanent(
            f"the server redirected too many times (more than {client.max_redirects}): "
            f"a redirect loop at {url}"
        )
    if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError):
        return Retryable(f"the connection was cut before everything arrived from {url}")
    if isinstance(error, httpx.ConnectError):
        return Retryable(f"could not connect to {host} ({error or 'connection refused'})")
    if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return Permanent(f"cannot download {url}: not a valid web address")
    return Retryable(f"network error for {url}: {error or type(error).__name__}")


@dataclass
class RetryPolicy:
    retries: int
    backoff: float
    max_retry_after: float

    def delay(self, attempt: int, failure: Retryable) -> float:
        if failure.retry_after is not None:
            return min(failure.retry_after, self.max_retry_after)
        jitter = 1 + random.random() * 0.25
        return min(self.backoff * (2**attempt) * jitter, self.max_retry_after)


async def get_bytes(
    client: httpx.AsyncClient, url: str, policy: RetryPolicy, *, limit: int
) -> bytes:
    """GET a small document (manifest, info.json) with retries; raises IiifError in words."""
    last: Retryable | None = None
    for attempt in range(policy.retries + 1):
        try:
            try:
                async with client.stream("GET", url) as response:
                    check_status(response, url)
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > limit:
                            raise Permanent(f"{url} is larger than {limit // 1048576} MB")
                    return bytes(body)
            except httpx.HTTPError as error:
                raise transport_failure(error, url, client) from None
        except Permanent as failure:
            raise IiifError(str(failure)) from None
        except Retryable as failure:
            last = failure
            if attempt < policy.retries:
                await asyncio.sleep(policy.delay(attempt, failure))
    assert last is not None
    raise IiifError(f"{last}{tried_times(policy.retries + 1)}")


# --------------------------------------------------------------------------------------------
# Manifests


async def fetch_manifest(
    source: str,
    *,
    client: httpx.AsyncClient | None = None,
    retries: int = 2,
    backoff: float = 0.5,
    max_retry_after: float = 60.0,
) -> IiifManifest | IiifCollection:
    """Read a manifest or collection from an http(s) URL or a local file path.

    Raises ``IiifError`` with a clear message: other schemes (file:, ftp:, ...), missing
    files, HTTP errors ("the server answered 404 Not Found for <url>"), timeouts, redirect
    loops, HTML pages, invalid manifests.
    """
    source = check_source(source)
    if urlsplit(source).scheme.lower() in ("http", "https"):
        policy = RetryPolicy(retries, backoff, max_retry_after)
        if client is None:
            async with make_client() as own_client:
                data = await get_bytes(own_client, source, policy, limit=MAX_MANIFEST_BYTES)
        else:
            data = await get_bytes(client, source, policy, limit=MAX_MANIFEST_BYTES)
        return parse_manifest(data, url=source)
    path = Path(source).expanduser()
    data = await asyncio.to_thread(path.read_bytes)
    return parse_manifest(data, url=str(path.resolve()))
