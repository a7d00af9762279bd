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

Transport: ``net.http.send`` (retries, Retry-After, redirects, errors in words). Each image has
a byte cap (``max_image_bytes``, counted after content decoding, so a gzip bomb stops there
too) and a total deadline that grows with its size (``IMAGE_DEADLINE`` plus 1 s per
``IMAGE_MIN_RATE`` bytes): an endless or trickling answer ends, a large image on a slow line
does not. A full disk stops the whole download (``OSError``), not just one page.

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

from PIL import Image

from esctui.domain.errors import is_disk_full
from esctui.formats.iiif import IiifError, IiifManifest, ImageService, image_url_from_info
from esctui.net.http import (
    MB,
    HttpClient,
    HttpStatusError,
    NetError,
    RequestLimits,
    ResponseTooLargeError,
    size_text,
)
from esctui.net.iiif_fetch import DEFAULT_CONCURRENCY, MAX_INFO_BYTES, get_bytes, make_client

DEFAULT_MAX_IMAGE_BYTES = 200 * MB  # one page image: far above any real scan, stops a flood
IMAGE_DEADLINE = 60.0  # seconds for one image, plus 1 s per IMAGE_MIN_RATE bytes of it
IMAGE_MIN_RATE = 64 * 1024  # bytes a second: slower than this, a large image times out
BUSY_STATUSES = frozenset({429, 503})

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


class _NotAnImage(Exception):
    """The first bytes of an answer are markup, or it is empty: another URL will not help."""


class _PartFile:
    """A ``.part`` file that ``send(into=...)`` writes: hashed as it is written, refused at the
    first chunk when it is markup (an HTML error page) instead of an image."""

    def __init__(self, handle: BinaryIO, url: str) -> None:
        self.handle = handle
        self.url = url
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        if self.size == 0 and (kind := _markup_kind(data)):
            what = "a web page (HTML)" if kind == "HTML" else "an XML document"
            raise _NotAnImage(f"the server sent {what} instead of an image for {self.url}")
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(data)

    def seek(self, offset: int) -> int:  # a retry starts again
        self.digest = hashlib.sha256()
        self.size = 0
        return self.handle.seek(offset)

    def truncate(self) -> int:
        return self.handle.truncate()

    def tell(self) -> int:
        return self.handle.tell()


class _Downloader:
    """Shared state of one download_images run."""

    def __init__(
        self,
        client: HttpClient,
        dest_dir: Path,
        limits: RequestLimits,
        concurrency: int,
        max_width: int | None,
        info_json: InfoJsonPolicy,
    ) -> None:
        self.client = client
        self.dest_dir = dest_dir
        self.limits = limits  # for one image
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
        except OSError as error:
            if is_disk_full(error):
                raise  # every page would fail the same way: the import stops, in words
            return self._failed(job, "", f"the image could not be saved: {error}", 0)
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
        first_error: Exception | None = None
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
            if urlsplit(url).scheme.lower() not in ("http", "https"):
                first_error = first_error or _NotAnImage(
                    f"cannot download {url}: not a valid web address"
                )
                continue
            try:
                fetched = await self._fetch_to_part_file(url, job)
            except _NotAnImage as failure:
                first_error = first_error or failure
                attempts += 1
                break  # not an image: another URL will not help
            except NetError as failure:
                first_error = first_error or failure
                attempts += failure.attempts
                refused = (
                    isinstance(failure, HttpStatusError)
                    and failure.status not in self.limits.retry_statuses
                )
                if not refused:
                    break  # gave up retrying, too large, too slow: another URL will not help
                continue  # refused (400, 404, 501, ...): info.json may give a URL that works
            attempts += fetched.attempts
            return await self._finish(job, fetched, attempts)
        assert first_error is not None
        return self._failed(job, tried[0], str(first_error), attempts)

    async def _url_from_info(self, service: ImageService) -> str | None:
        """The best URL per the service's info.json; None when it cannot be read."""
        limits = self.client.limits.with_(
            retries=1,
            backoff=self.limits.backoff,
            max_retry_after=5.0,
            max_bytes=MAX_INFO_BYTES,
        )
        try:
            async with self._host(service.info_url).slot():
                data = await get_bytes(self.client, service.info_url, limits)
            return image_url_from_info(_json_object(data), max_width=self.max_width)
        except (IiifError, ValueError, RecursionError):
            return None

    async def _fetch_to_part_file(self, url: str, job: CanvasDownload) -> _Fetched:
        """GET url into a hidden .part file (retries, deadline and cap: ``net.http``); raises
        NetError or _NotAnImage when it gives up. A full disk raises OSError."""
        part = self.dest_dir / f".canvas_{job.index + 1:05d}.{uuid.uuid4().hex[:8]}.part"
        host = self._host(url)

        def on_retry(error: NetError) -> None:
            if isinstance(error, HttpStatusError) and error.status in BUSY_STATUSES:
                host.slow_down()

        keep = False
        try:
            handle = await _open_for_writing(part)
            with handle:
                writer = _PartFile(handle, url)
                async with host.slot():
                    try:
                        response = await self.client.send(
                            "GET", url, limits=self.limits, into=writer, on_retry=on_retry
                        )
                    except ResponseTooLargeError as error:
                        error.args = (
                            f"{error} (the limit per image is {size_text(self.limits.max_bytes)}: "
                            "change it with --max-image-mb)",
                        )
                        raise
                    except HttpStatusError as error:
                        if error.status in BUSY_STATUSES:
                            host.slow_down()
                        raise
            if writer.size == 0:
                raise _NotAnImage(f"the server sent an empty file for {url}")
            keep = True
            return _Fetched(url, part, writer.size, writer.digest.hexdigest(), response.attempts)
        finally:
            if not keep:
                part.unlink(missing_ok=True)

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
    client: HttpClient | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    retries: int = 4,
    backoff: float = 0.5,
    max_retry_after: float = 60.0,
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
    image_deadline: float = IMAGE_DEADLINE,
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
    are retried ``retries`` times with exponential ``backoff`` (Retry-After honoured up to
    ``max_retry_after`` seconds). An image larger than ``max_image_bytes`` fails, as does one
    that does not arrive within ``image_deadline`` seconds plus 1 s per ``IMAGE_MIN_RATE``
    bytes. ``on_progress(finished, total)`` is called per result.
    ``info_json``: "auto" reads the service's info.json only when the manifest does not say
    enough or the first URL is refused; "always" reads it first; "never" does not.
    Use ``contextlib.aclosing`` (or let cancellation happen) so stopping early cleans up.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    done_keys = set(already_done)
    image_limits = dict(
        retries=retries,
        backoff=backoff,
        max_retry_after=max_retry_after,
        max_bytes=max_image_bytes,
        deadline=image_deadline,
        min_rate=IMAGE_MIN_RATE,
    )
    results = _download_unordered(
        jobs, dest_dir, client, concurrency, image_limits, max_width, info_json, done_keys
    )
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
    client: HttpClient | None,
    concurrency: int,
    image_limits: dict[str, float],
    max_width: int | None,
    info_json: InfoJsonPolicy,
    done_keys: set[str],
) -> AsyncGenerator[DownloadResult, None]:
    async with contextlib.AsyncExitStack() as stack:
        if client is None:
            client = await stack.enter_async_context(make_client(concurrency=concurrency))
        limits = client.limits.with_(**image_limits)
        downloader = _Downloader(client, dest_dir, limits, concurrency, max_width, info_json)
        pending: deque[CanvasDownload] = deque()
        for job in jobs:
            if job.key in done_keys:
                yield DownloadResult(job.index, job.key, job.label, DownloadStatus.SKIPPED)
            else:
                pending.append(job)
        finished: asyncio.Queue[DownloadResult | BaseException] = asyncio.Queue()

        async def worker() -> None:
            try:
                while pending:
                    await finished.put(await downloader.download(pending.popleft()))
            except asyncio.CancelledError:
                raise
            except BaseException as error:  # a full disk: every download stops, in words
                await finished.put(error)

        expected = len(pending)
        workers = [asyncio.create_task(worker()) for _ in range(min(concurrency, expected))]
        try:
            for _ in range(expected):
                result = await finished.get()
                if isinstance(result, BaseException):
                    raise result
                yield result
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
