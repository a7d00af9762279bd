"""IIIF image downloads: every canvas's image, concurrent, retried, verified. No store.

How an importer uses it::

    async with make_client() as client:
        manifest = await fetch_manifest(url_or_path, client=client)   # iiif_fetch
        jobs = download_jobs(manifest)
        async with contextlib.aclosing(
            download_images(jobs, staging_dir, client=client, already_done=keys_in_store,
                            in_order=True)
        ) as results:
            async for result in results:       # canvas order when in_order=True
                if result.status is DownloadStatus.DOWNLOADED:
                    store.add_page(result.path, result.index, result.label, result.url)
                elif result.status is DownloadStatus.FAILED:
                    report.add_skipped(result.label, result.error)

Every job yields exactly one ``DownloadResult``. Files appear in ``dest_dir`` only complete and
verified by Pillow (they are written to a hidden ``.part`` file first, then renamed); a cancelled
download removes its ``.part`` file.

Speed and politeness: one connection pool with keep-alive, ``concurrency`` downloads at once
(default 8, as many as a browser opens to one host), halved for a host that answers 429 or 503;
``info.json`` is fetched only when the manifest does not say enough (``info_json="auto"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import uuid
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO, Literal
from urllib.parse import urlsplit

import httpx
from PIL import Image

from esctui.formats.iiif import IiifError, IiifManifest, ImageService, image_url_from_info
from esctui.net.iiif_fetch import (
    DEFAULT_CONCURRENCY,
    MAX_INFO_BYTES,
    Permanent,
    Retryable,
    RetryPolicy,
    check_status,
    get_bytes,
    make_client,
    transport_failure,
    tried_times,
)

InfoJsonPolicy = Literal["auto", "always", "never"]
ProgressCallback = Callable[[int, int], None]

_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "TIFF": "tif", "JPEG2000": "jp2", "WEBP": "webp"}


@dataclass(frozen=True)
class CanvasDownload:
    """What to download for one canvas."""

    index: int  # canvas position in the manifest (0-based)
    key: str  # stable identity for resuming (the canvas id)
    label: str  # page name
    service: ImageService | None = None
    resource_url: str | None = None  # the image resource's own URL
    width: int | None = None  # image width as the manifest says (to skip info.json)

    def default_url(self, max_width: int | None = None) -> str | None:
        """The URL to try first, built from the manifest alone."""
        if self.service is not None:
            return self.service.full_image_url(max_width=max_width, width=self.width)
        return self.resource_url


def download_jobs(manifest: IiifManifest) -> list[CanvasDownload]:
    """One download per canvas, in canvas order."""
    return [
        CanvasDownload(
            index=canvas.index,
            key=canvas.key,
            label=canvas.page_name,
            service=canvas.service,
            resource_url=canvas.image_url,
            width=canvas.image_width or canvas.width,
        )
        for canvas in manifest.canvases
    ]


class DownloadStatus(StrEnum):
    DOWNLOADED = "downloaded"
    FAILED = "failed"
    SKIPPED = "skipped"  # key was in already_done


@dataclass(frozen=True)
class DownloadResult:
    """The outcome of one canvas: a verified image file in dest_dir, or the reason it failed."""

    index: int
    key: str
    label: str
    status: DownloadStatus
    url: str = ""  # where the image came from (or the URL that failed)
    path: Path | None = None
    error: str = ""
    width: int = 0
    height: int = 0
    format: str = ""  # Pillow's name: JPEG, PNG, ...
    byte_size: int = 0
    sha256: str = ""
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.status is DownloadStatus.DOWNLOADED


class _HostLimit:
    """At most ``limit`` requests at once to one host; halved when the host says it is busy."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._active = 0
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: self._active < self.limit)
            self._active += 1
        try:
            yield
        finally:
            async with self._changed:
                self._active -= 1
                self._changed.notify_all()

    def slow_down(self) -> None:
        self.limit = max(1, self.limit // 2)


@dataclass
class _Fetched:
    url: str
    path: Path
    byte_size: int
    sha256: str
    attempts: int


class _Downloader:
    """Shared state of one download_images run."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        dest_dir: Path,
        policy: RetryPolicy,
        concurrency: int,
        max_width: int | None,
        info_json: InfoJsonPolicy,
    ) -> None:
        self.client = client
        self.dest_dir = dest_dir
        self.policy = policy
        self.concurrency = concurrency
        self.max_width = max_width
        self.info_json = info_json
        self.hosts: dict[str, _HostLimit] = {}

    def _host(self, url: str) -> _HostLimit:
        host = urlsplit(url).netloc
        if host not in self.hosts:
            self.hosts[host] = _HostLimit(self.concurrency)
        return self.hosts[host]

    async def download(self, job: CanvasDownload) -> DownloadResult:
        """Try the candidate URLs of one canvas in turn; never raises except on cancel."""
        try:
            return await self._download(job)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a bug must not stop the other pages
            return self._failed(job, "", f"unexpected error: {error!r}", 0)

    async def _download(self, job: CanvasDownload) -> DownloadResult:
        first = job.default_url(self.max_width)
        if first is None:
            return self._failed(job, "", "this page has no image in the manifest", 0)
        service = job.service
        wants_info = service is not None and (
            self.info_json == "always"
            or (
                self.info_json == "auto"
                and self.max_width is not None
                and (job.width is None or service.profile == "level0")
            )
        )
        tried: list[str] = []
        attempts = 0
        first_error: Permanent | None = None
        info_done = False

        async def next_url() -> str | None:
            nonlocal info_done
            if service is not None and not info_done and (wants_info or tried):
                info_done = True
                if self.info_json != "never":
                    url = await self._url_from_info(service)
                    if url and url not in tried:
                        return url
            for url in (first, job.resource_url):
                if url and url not in tried:
                    return url
            return None

        while (url := await next_url()) is not None:
            tried.append(url)
            try:
                fetched = await self._fetch_to_part_file(url, job)
            except Permanent as failure:
                first_error = first_error or failure
                attempts += failure.attempts
                if failure.status is None:
                    break  # not an image, or gave up retrying: another URL will not help
                continue  # refused (400, 404, 501, ...): info.json may give a URL that works
            attempts += fetched.attempts
            return await self._finish(job, fetched, attempts)
        assert first_error is not None
        return self._failed(job, tried[0], str(first_error), attempts)

    async def _url_from_info(self, service: ImageService) -> str | None:
        """The best URL per the service's info.json; None when it cannot be read."""
        try:
            async with self._host(service.info_url).slot():
                data = await get_bytes(
                    self.client,
                    service.info_url,
                    RetryPolicy(1, self.policy.backoff, 5.0),
                    limit=MAX_INFO_BYTES,
                )
            return image_url_from_info(_json_object(data), max_width=self.max_width)
        except (IiifError, ValueError):
            return None

    async def _fetch_to_part_file(self, url: str, job: CanvasDownload) -> _Fetched:
        """GET url into a hidden .part file with retries; raises Permanent when it gives up."""
        last: Retryable | None = None
        for attempt in range(self.policy.retries + 1):
            part = self.dest_dir / f".canvas_{job.index + 1:05d}.{uuid.uuid4().hex[:8]}.part"
            keep = False
            try:
                size, digest = await self._stream_once(url, part)
                keep = True
                return _Fetched(url, part, size, digest, attempt + 1)
            except Permanent as failure:
                failure.attempts = attempt + 1
                raise
            except Retryable as failure:
                last = failure
                if failure.busy:
                    self._host(url).slow_down()
            finally:
                if not keep:
                    part.unlink(missing_ok=True)
            if attempt < self.policy.retries:
                await asyncio.sleep(self.policy.delay(attempt, last))
        assert last is not None
        attempts = self.policy.retries + 1
        raise Permanent(f"{last}{tried_times(attempts)}", attempts=attempts)

    async def _stream_once(self, url: str, part: Path) -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        async with self._host(url).slot():
            try:
                async with self.client.stream("GET", url) as response:
                    check_status(response, url)
                    with await _open_for_writing(part) as out:
                        async for chunk in response.aiter_bytes():
                            if size == 0 and (kind := _markup_kind(chunk)):
                                what = "a web page (HTML)" if kind == "HTML" else "an XML document"
                                raise Permanent(
                                    f"the server sent {what} instead of an image for {url}"
                                )
                            out.write(chunk)
                            digest.update(chunk)
                            size += len(chunk)
            except httpx.HTTPError as error:
                raise transport_failure(error, url, self.client) from None
        if size == 0:
            raise Permanent(f"the server sent an empty file for {url}")
        return size, digest.hexdigest()

    async def _finish(
        self, job: CanvasDownload, fetched: _Fetched, attempts: int
    ) -> DownloadResult:
        """Verify the .part file with Pillow and rename it into place."""
        try:
            try:
                fmt, width, height = await asyncio.to_thread(_verify_image, fetched.path)
            except Exception:
                return self._failed(
                    job,
                    fetched.url,
                    f"the file sent for {fetched.url} is not an image that can be read "
                    "(damaged or another kind of file)",
                    attempts,
                )
            final = (
                self.dest_dir / f"canvas_{job.index + 1:05d}.{_EXTENSIONS.get(fmt, fmt.lower())}"
            )
            os.replace(fetched.path, final)
        finally:
            fetched.path.unlink(missing_ok=True)
        return DownloadResult(
            index=job.index, key=job.key, label=job.label, status=DownloadStatus.DOWNLOADED,
            url=fetched.url, path=final, width=width, height=height, format=fmt,
            byte_size=fetched.byte_size, sha256=fetched.sha256, attempts=attempts,
        )  # fmt: skip

    @staticmethod
    def _failed(job: CanvasDownload, url: str, error: str, attempts: int) -> DownloadResult:
        return DownloadResult(
            index=job.index, key=job.key, label=job.label, status=DownloadStatus.FAILED,
            url=url, error=error, attempts=attempts,
        )  # fmt: skip


async def _open_for_writing(path: Path) -> BinaryIO:
    """Create ``path`` in a worker thread (file creation is slow on some disks and would stall
    every other download); if cancelled meanwhile, the file is still closed, never leaked."""
    opening = asyncio.ensure_future(asyncio.to_thread(path.open, "wb"))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            (await opening).close()  # the caller removes the file
        raise


def _markup_kind(chunk: bytes) -> str:
    """Whether a body starts with markup instead of image bytes: "HTML", "XML" or ""."""
    head = chunk[:512].lstrip().lower()
    if not head.startswith(b"<"):
        return ""
    if any(tag in head for tag in (b"<!doctype html", b"<html", b"<head", b"<body")):
        return "HTML"
    return "XML"


def _json_object(data: bytes) -> dict:
    parsed = json.loads(data)
    if not isinstance(parsed, dict):
        raise ValueError("not a JSON object")
    return parsed


def _verify_image(path: Path) -> tuple[str, int, int]:
    """Pillow's format name and size; raises when the file is not a readable image."""
    with Image.open(path) as image:
        fmt, (width, height) = image.format or "", image.size
        image.verify()
    if not fmt:
        raise ValueError("unknown image format")
    return fmt, width, height


async def download_images(
    jobs: list[CanvasDownload],
    dest_dir: Path,
    *,
    client: httpx.AsyncClient | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    retries: int = 4,
    backoff: float = 0.5,
    max_retry_after: float = 60.0,
    max_width: int | None = None,
    info_json: InfoJsonPolicy = "auto",
    already_done: Iterable[str] = (),
    on_progress: ProgressCallback | None = None,
    in_order: bool = False,
) -> AsyncGenerator[DownloadResult, None]:
    """Download the canvases' images into ``dest_dir``, ``concurrency`` at a time.

    Yields one ``DownloadResult`` per job: SKIPPED for keys in ``already_done`` (resume),
    DOWNLOADED with the verified file, or FAILED with a reason in words. Results come as they
    finish, or in canvas order with ``in_order=True``. Timeouts, cut connections, 5xx and 429
    are retried ``retries`` times with exponential ``backoff`` (Retry-After honoured, capped at
    ``max_retry_after`` seconds). ``on_progress(finished, total)`` is called per result.
    ``info_json``: "auto" reads the service's info.json only when the manifest does not say
    enough or the first URL is refused; "always" reads it first; "never" does not.
    Use ``contextlib.aclosing`` (or let cancellation happen) so stopping early cleans up.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    done_keys = set(already_done)
    results = _download_unordered(
        jobs, dest_dir, client, concurrency, RetryPolicy(retries, backoff, max_retry_after),
        max_width, info_json, done_keys,
    )  # fmt: skip
    if in_order:
        results = in_canvas_order(results, jobs)
    finished = 0
    try:
        async for result in results:
            finished += 1
            if on_progress is not None:
                on_progress(finished, len(jobs))
            yield result
    finally:
        await results.aclose()


async def _download_unordered(
    jobs: list[CanvasDownload],
    dest_dir: Path,
    client: httpx.AsyncClient | None,
    concurrency: int,
    policy: RetryPolicy,
    max_width: int | None,
    info_json: InfoJsonPolicy,
    done_keys: set[str],
) -> AsyncGenerator[DownloadResult, None]:
    async with contextlib.AsyncExitStack() as stack:
        if client is None:
            client = await stack.enter_async_context(make_client(concurrency=concurrency))
        downloader = _Downloader(client, dest_dir, policy, concurrency, max_width, info_json)
        pending: deque[CanvasDownload] = deque()
        for job in jobs:
            if job.key in done_keys:
                yield DownloadResult(job.index, job.key, job.label, DownloadStatus.SKIPPED)
            else:
                pending.append(job)
        finished: asyncio.Queue[DownloadResult] = asyncio.Queue()

        async def worker() -> None:
            while pending:
                await finished.put(await downloader.download(pending.popleft()))

        expected = len(pending)
        workers = [asyncio.create_task(worker()) for _ in range(min(concurrency, expected))]
        try:
            for _ in range(expected):
                yield await finished.get()
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)


async def in_canvas_order(
    results: AsyncGenerator[DownloadResult, None], jobs: list[CanvasDownload]
) -> AsyncGenerator[DownloadResult, None]:
    """Re-yield results in the order of ``jobs``, each as soon as all before it are done."""
    order = {job.index: position for position, job in enumerate(jobs)}
    waiting: dict[int, DownloadResult] = {}
    next_position = 0
    try:
        async for result in results:
            waiting[order[result.index]] = result
            while next_position in waiting:
                yield waiting.pop(next_position)
                next_position += 1
        for position in sorted(waiting):
            yield waiting.pop(position)
    finally:
        await results.aclose()
