"""Import page images from local files, in the order given.

Each file is read once in a worker thread: hashed, checked by Pillow (a full decode of a
reduced-size thumbnail, which catches truncated files), EXIF orientation applied, copied into a
staging folder with a thumbnail. Finished pages are committed to the store in input order, in
batches; a cancelled or failed run leaves only whole pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import hashlib
import io
import os
import shutil
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from natsort import natsorted, ns
from PIL import Image, ImageOps, UnidentifiedImageError

from esctui.domain.errors import JobError
from esctui.domain.text import plural
from esctui.formats.page_names import IMAGE_SUFFIXES
from esctui.jobs.runner import CommitBatches, JobContext
from esctui.store import StagedFile, Store

SUFFIX_FOR_FORMAT = {
    "JPEG": ".jpg",
    "MPO": ".jpg",
    "PNG": ".png",
    "TIFF": ".tif",
    "WEBP": ".webp",
    "BMP": ".bmp",
    "GIF": ".gif",
    "JPEG2000": ".jp2",
}
DEFAULT_MAX_PIXELS = 250_000_000  # 250 megapixels: larger than any real scan, stops bombs
THUMBNAIL_SIZE = (320, 320)
ORIENTATION_TAG = 0x0112


class ImageRejectedError(JobError):
    """A file that cannot become a page; the message is the reason shown in the report."""


@dataclass
class ImageImportOptions:
    max_pixels: int = DEFAULT_MAX_PIXELS
    workers: int = field(default_factory=lambda: min(4, os.cpu_count() or 2))
    commit_every_seconds: float = 1.0
    commit_every_pages: int = 50


def expand_inputs(inputs: list[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files in the order chosen; a folder gives its images in natural order (page2 before
    page10); a glob pattern gives its matches in natural order. Returns (files, problems)."""
    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    for raw in inputs:
        text = str(raw)
        path = Path(text).expanduser()
        if path.is_dir():
            found = [
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            ]
            if not found:
                problems.append((text, "the folder holds no image files"))
            files.extend(natsorted(found, key=lambda p: p.name, alg=ns.IGNORECASE))
        elif path.is_file():
            files.append(path)
        elif glob.has_magic(text):
            matches = [Path(m) for m in glob.glob(os.path.expanduser(text)) if Path(m).is_file()]
            if not matches:
                problems.append((text, "no file matches this pattern"))
            files.extend(natsorted(matches, key=lambda p: p.name, alg=ns.IGNORECASE))
        else:
            problems.append((text, "no such file or folder"))
    return files, problems


# esctui applies its own, configurable limit (``max_pixels``) before decoding; Pillow's fixed
# global limit would refuse large scans before that check could run.
Image.MAX_IMAGE_PIXELS = None


def prepare_image(path: Path, staging: Path, max_pixels: int) -> list[StagedFile]:
    """Check one file and stage its page(s). Raises ImageRejectedError with a plain reason."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageRejectedError(f"cannot read the file: {error.strerror or error}") from error
    if not data:
        raise ImageRejectedError("the file is empty")
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format or "?"
            if fmt not in SUFFIX_FOR_FORMAT:
                raise ImageRejectedError(f"{fmt} images are not supported")
            _check_pixels(image, max_pixels)
            frames = getattr(image, "n_frames", 1) if fmt == "TIFF" else 1
            if frames > 1:
                return [
                    _stage_frame(image, path, staging, index, frames, max_pixels)
                    for index in range(frames)
                ]
            return [_stage_single(image, data, path, staging, fmt)]
    except ImageRejectedError:
        raise
    except UnidentifiedImageError as error:
        raise ImageRejectedError("not an image file, or a corrupt one") from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageRejectedError(f"the image is corrupt or truncated ({error})") from error


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRejectedError(
            f"refused as a possible decompression bomb: {width}x{height} is "
            f"{width * height / 1e6:.0f} megapixels, over the limit of {max_pixels / 1e6:.0f} "
            "(change it with --max-pixels)"
        )
    if width == 0 or height == 0:
        raise ImageRejectedError("the image has no pixels")


def _stage_single(
    image: Image.Image, data: bytes, path: Path, staging: Path, fmt: str
) -> StagedFile:
    orientation = (
        image.getexif().get(ORIENTATION_TAG, 1)
        if fmt in {"JPEG", "MPO", "TIFF", "WEBP", "PNG"}
        else 1
    )
    token = hashlib.sha256(data).hexdigest()
    stem = staging / f"{token[:16]}-{os.urandom(3).hex()}"
    if orientation not in (1, None):
        # Apply EXIF orientation: the stored page is the way the page looks.
        image.load()
        upright = ImageOps.exif_transpose(image)
        data = _encode(upright, fmt)
        token = hashlib.sha256(data).hexdigest()
        thumb_source: Image.Image = upright
    else:
        if fmt in {"JPEG", "MPO"}:
            image.draft("RGB", THUMBNAIL_SIZE)  # decode at 1/2..1/8 scale: fast, still validates
        thumb_source = image
    target = stem.with_suffix(SUFFIX_FOR_FORMAT[fmt])
    thumbnail = stem.with_suffix(".thumb.jpg")
    _save_thumbnail(thumb_source, thumbnail)
    write_synced(target, data)
    width, height = thumb_source.size if orientation not in (1, None) else image.size
    if fmt in {"JPEG", "MPO"} and orientation in (1, None):
        width, height = _original_size(data)
    return StagedFile(
        image=target,
        thumbnail=thumbnail,
        name=path.stem,
        original_filename=path.name,
        width=width,
        height=height,
        format=fmt,
        byte_size=len(data),
        sha256=token,
        source=str(path.resolve()),
    )


def _original_size(data: bytes) -> tuple[int, int]:
    """Size from the header (``draft`` changed the decoded size of ``image``)."""
    with Image.open(io.BytesIO(data)) as fresh:
        return fresh.size


def _stage_frame(
    image: Image.Image, path: Path, staging: Path, index: int, frames: int, max_pixels: int
) -> StagedFile:
    image.seek(index)
    _check_pixels(image, max_pixels)
    frame = image.copy()
    data = _encode(frame, "TIFF")
    token = hashlib.sha256(data).hexdigest()
    stem = staging / f"{token[:16]}-{os.urandom(3).hex()}"
    target = stem.with_suffix(".tif")
    thumbnail = stem.with_suffix(".thumb.jpg")
    _save_thumbnail(frame, thumbnail)
    write_synced(target, data)
    return StagedFile(
        image=target,
        thumbnail=thumbnail,
        name=f"{path.stem}_{index + 1}",
        original_filename=f"{path.name}#{index + 1}",
        width=frame.width,
        height=frame.height,
        format="TIFF",
        byte_size=len(data),
        sha256=token,
        source=f"{path.resolve()}#{index + 1}",
    )


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt in {"JPEG", "MPO"}:
        image.convert("RGB" if image.mode not in ("L", "RGB", "CMYK") else image.mode).save(
            buffer, "JPEG", quality=95, subsampling=0
        )
    elif fmt == "TIFF":
        image.save(buffer, "TIFF", compression="tiff_lzw")
    elif fmt == "WEBP":
        image.save(buffer, "WEBP", lossless=True)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


@contextlib.asynccontextmanager
async def staging_folder(store: Store, document_id: str) -> AsyncIterator[Path]:
    """A private folder for an import's staged files (``Store.new_staging_dir``), removed when
    the block ends, however it ends: what was committed from it has been moved out."""
    folder = store.new_staging_dir(document_id)
    try:
        yield folder
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


def write_synced(target: Path, data: bytes) -> None:
    """Write a staged file and fsync it here, in the worker thread: the commit that later
    points at it must not find it empty after a power loss (kill -9 alone never could)."""
    with open(target, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _save_thumbnail(image: Image.Image, target: Path) -> None:
    thumb = image.copy() if image.mode in ("RGB", "L") else image.convert("RGB")
    thumb.thumbnail(THUMBNAIL_SIZE)
    if thumb.mode not in ("RGB", "L"):
        thumb = thumb.convert("RGB")
    buffer = io.BytesIO()
    thumb.save(buffer, "JPEG", quality=80)
    write_synced(target, buffer.getvalue())


class LocalImagesImporter:
    """Import images from local files into a document, in the given order."""

    kind = "images"
    verb = "imported"

    def __init__(
        self,
        store: Store,
        document_id: str,
        inputs: list[str | Path],
        options: ImageImportOptions | None = None,
    ) -> None:
        self.store = store
        self.document_id = document_id
        self.inputs = inputs
        self.options = options or ImageImportOptions()
        self.title = (
            f"Images: {plural(len(inputs), 'item')} into {store.get_document(document_id).name}"
        )

    async def run(self, ctx: JobContext) -> None:
        files, problems = await asyncio.to_thread(expand_inputs, self.inputs)
        for name, reason in problems:
            ctx.report.add_skipped(name, reason)
        ctx.start(len(files))
        async with staging_folder(self.store, self.document_id) as staging:
            workers = self.options.workers
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="esctui-img")
            try:
                await self._pipeline(ctx, files, staging, pool)
            finally:
                await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)

    async def _pipeline(
        self, ctx: JobContext, files: list[Path], staging: Path, pool: ThreadPoolExecutor
    ) -> None:
        window = self.options.workers * 2
        pending: deque[tuple[Path, Future[list[StagedFile]]]] = deque()
        queue = iter(files)

        def refill() -> None:
            while len(pending) < window:
                path = next(queue, None)
                if path is None:
                    return
                pending.append(
                    (path, pool.submit(prepare_image, path, staging, self.options.max_pixels))
                )

        refill()
        async with CommitBatches(
            partial(self._commit, ctx),
            every_seconds=self.options.commit_every_seconds,
            every_items=self.options.commit_every_pages,
        ) as batches:
            while pending:
                path, future = pending.popleft()
                ctx.working_on(path.name)
                try:
                    staged = await asyncio.wrap_future(future)
                except ImageRejectedError as error:
                    ctx.report.add_skipped(str(path), str(error))
                    staged = []
                refill()
                ctx.advance(path.name)
                await batches.add(*staged)

    def _commit(self, ctx: JobContext, batch: list[StagedFile]) -> None:
        added, duplicates = self.store.add_parts(self.document_id, batch)
        for part in added:
            ctx.report.add_imported(part.original_filename, f"page {part.order + 1}")
        for staged, existing in duplicates:
            ctx.report.add_skipped(
                staged.source, f"an exact duplicate of page {existing!r} already in the document"
            )
            ctx.report.count("duplicates")
