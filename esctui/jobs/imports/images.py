"""Import page images from local files, in the order given.

Each file is read once in a worker thread: hashed, checked, EXIF orientation applied, copied
into a staging folder. A JPEG is checked by walking its markers while it is copied
(``formats.jpeg_check``: a cut or damaged file is refused) and its thumbnail is made when the
page is first shown; any other format is decoded for its thumbnail, which is its check.
Finished pages are committed to the store in input order, in batches; a cancelled or failed run
leaves only whole pages.
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
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from esctui.domain import DEFAULT_MAX_PIXELS
from esctui.domain.errors import JobError, is_disk_full
from esctui.domain.text import plural
from esctui.formats.jpeg_check import (
    JPEG_FORMATS,
    JpegDamaged,
    JpegStructure,
    check_jpeg,
    check_jpeg_file,
)
from esctui.formats.local_files import file_kind
from esctui.formats.page_names import IMAGE_SUFFIXES
from esctui.formats.thumbnails import thumbnail_bytes
from esctui.jobs.runner import CommitBatches, JobContext
from esctui.store import StagedFile, Store
from esctui.store.names import stored_name

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
DEFAULT_MAX_FRAMES = 1000  # pages of one multi-page TIFF: more is a bomb, not a register
ORIENTATION_TAG = 0x0112


class ImageRejectedError(JobError):
    """A file that cannot become a page; the message is the reason shown in the report."""


@dataclass
class ImageImportOptions:
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_frames: int = DEFAULT_MAX_FRAMES
    workers: int = field(default_factory=lambda: min(4, os.cpu_count() or 2))
    commit_every_seconds: float = 1.0
    commit_every_pages: int = 50
    allow_duplicates: bool = False  # add an image even when the same bytes are a page already


def expand_inputs(inputs: list[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files in the order chosen; a folder gives its images in natural order (page2 before
    page10); a glob pattern gives its matches in natural order. Returns (files, problems)."""
    from natsort import natsorted, ns  # not at start-up

    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    for raw in inputs:
        text = str(raw)
        path = Path(text).expanduser()
        kind = file_kind(path)
        if kind == "folder":
            try:
                found = [
                    p
                    for p in path.iterdir()
                    if p.suffix.lower() in IMAGE_SUFFIXES and file_kind(p) == "file"
                ]
            except OSError as error:
                problems.append((stored_name(text), f"the folder cannot be read: {_why(error)}"))
                continue
            if not found:
                problems.append((stored_name(text), "the folder holds no image files"))
            files.extend(natsorted(found, key=lambda p: p.name, alg=ns.IGNORECASE))
        elif kind == "file":
            files.append(path)
        elif kind:
            problems.append((stored_name(text), f"{kind}, not an image file"))
        elif glob.has_magic(text):
            matches = [Path(m) for m in glob.glob(os.path.expanduser(text)) if Path(m).is_file()]
            if not matches:
                problems.append((stored_name(text), "no file matches this pattern"))
            files.extend(natsorted(matches, key=lambda p: p.name, alg=ns.IGNORECASE))
        else:
            problems.append((stored_name(text), "no such file or folder"))
    return files, problems


def _why(error: OSError) -> str:
    if isinstance(error, PermissionError):
        return "permission denied"
    return (error.strerror or type(error).__name__).lower()


# esctui applies its own, configurable limit (``max_pixels``) before decoding; Pillow's fixed
# global limit would refuse large scans before that check could run.
Image.MAX_IMAGE_PIXELS = None


def prepare_image(
    path: Path,
    staging: Path,
    max_pixels: int,
    *,
    max_frames: int = DEFAULT_MAX_FRAMES,
    frame_problems: list[tuple[str, str]] | None = None,
    move_sha256: str | None = None,
    sync: bool = True,
) -> list[StagedFile]:
    """Check one file and stage its page(s). Raises ImageRejectedError with a plain reason.

    With ``move_sha256`` (its SHA-256, known already) the file is the caller's own, e.g. a
    download in the staging folder: a page staged unchanged is then renamed into place
    (fsynced there) rather than copied.

    The format and size are read from the file's header before anything else, so a huge file
    that is no image (or too many pixels) is refused without being read; a good image is then
    copied and hashed in one streaming pass. Memory is bounded by ``max_pixels``, not by the
    file. A multi-page TIFF gives a page per frame, at most ``max_frames``; a damaged frame is
    left out and named in ``frame_problems`` (name, reason), the others kept. A full disk is
    not the image's fault: that OSError is raised as it is.

    ``sync=False`` leaves fsyncing a single page's files to the caller (``sync_staged``, just
    before the commit that points at them), so that a worker decodes the next image meanwhile.
    """
    with _rejected_in_words(lambda: _is_empty(path)), Image.open(path) as image:
        fmt = _supported_format(image, max_pixels)
        if fmt == "TIFF" and _has_second_frame(image):
            return _stage_frames(image, path, staging, max_pixels, max_frames, frame_problems)
        return [_stage_single(image, path, staging, fmt, move_sha256=move_sha256, sync=sync)]


def prepare_encoded(data: bytes, name: str, staging: Path, max_pixels: int) -> StagedFile:
    """Stage one page image held in memory (e.g. a PDF page's own JPEG) as ``prepare_image``
    stages a file: checked the same way, written once (fsynced) and hashed from memory, with
    no temporary copy. ``name`` (a file name) names the page until the caller renames it."""
    with _rejected_in_words(lambda: not data), Image.open(io.BytesIO(data)) as image:
        fmt = _supported_format(image, max_pixels)
        return _stage_single(image, Path(name), staging, fmt, data=data)


@contextlib.contextmanager
def _rejected_in_words(empty: Callable[[], bool]) -> Iterator[None]:
    """Raise what reading an image raised as an ImageRejectedError with a plain reason (a full
    disk is raised as it is); ``empty`` tells whether the input had no bytes at all."""
    try:
        yield
    except ImageRejectedError:
        raise
    except JpegDamaged as error:
        raise ImageRejectedError(f"the image is corrupt or truncated ({error})") from error
    except FileNotFoundError as error:
        raise ImageRejectedError("the file is no longer there") from error
    except OSError as error:
        if is_disk_full(error):
            raise
        if isinstance(error, UnidentifiedImageError):
            if empty():
                raise ImageRejectedError("the file is empty") from error
            raise ImageRejectedError("not an image file, or a corrupt one") from error
        if error.errno is not None and error.filename is not None:
            raise ImageRejectedError(f"cannot read the file: {_why(error)}") from error
        raise ImageRejectedError(f"the image is corrupt or truncated ({error})") from error
    except (SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as error:
        raise ImageRejectedError(f"the image is corrupt or truncated ({error})") from error


def _supported_format(image: Image.Image, max_pixels: int) -> str:
    """The image's format, once it is known to be one esctui stores and not too large."""
    fmt = image.format or "?"
    if fmt not in SUFFIX_FOR_FORMAT:
        raise ImageRejectedError(f"{fmt} images are not supported")
    _check_pixels(image, max_pixels)
    return fmt


def _is_empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


def _has_second_frame(image: Image.Image) -> bool:
    """Whether a TIFF has more than one frame (without walking every frame)."""
    try:
        image.seek(1)
    except EOFError:
        return False
    finally:
        with contextlib.suppress(EOFError, OSError, ValueError):
            image.seek(0)
    return True


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
    image: Image.Image,
    path: Path,
    staging: Path,
    fmt: str,
    *,
    data: bytes | None = None,
    move_sha256: str | None = None,
    sync: bool = True,
) -> StagedFile:
    """Stage the file ``path`` (copied; renamed with ``move_sha256``, its hash), or ``data``
    (the image's bytes, written) named so."""
    orientation = (
        image.getexif().get(ORIENTATION_TAG, 1)
        if fmt in {"JPEG", "MPO", "TIFF", "WEBP", "PNG"}
        else 1
    )
    stem = staging / f"{os.urandom(8).hex()}"
    target = stem.with_suffix(SUFFIX_FOR_FORMAT[fmt])
    thumb_path = stem.with_suffix(".thumb.jpg")
    thumbnail: Path | None = thumb_path
    width, height = image.size
    if orientation not in (1, None):
        # Apply EXIF orientation: the stored page is the way the page looks.
        image.load()
        upright = ImageOps.exif_transpose(image)
        data = _encode(upright, fmt)
        token = hashlib.sha256(data).hexdigest()
        write_synced(thumb_path, thumbnail_bytes(upright), sync=sync)
        write_synced(target, data, sync=sync)
        width, height, byte_size = upright.width, upright.height, len(data)
    else:
        jpeg = fmt in JPEG_FORMATS
        if move_sha256 is not None:
            if jpeg:
                check_jpeg_file(path)
            token, byte_size = move_sha256, move_synced(path, target)
        elif data is None:  # copied, hashed and (a JPEG) checked in one pass
            structure = JpegStructure() if jpeg else None
            token, byte_size = copy_synced(path, target, sync=sync, structure=structure)
        else:
            if jpeg:
                check_jpeg(data)
            write_synced(target, data, sync=sync)
            token, byte_size = hashlib.sha256(data).hexdigest(), len(data)
        if jpeg:  # checked by its markers, not decoded: its thumbnail is made when shown
            thumbnail = None
        else:  # the decode for its thumbnail is its check
            write_synced(thumb_path, thumbnail_bytes(image), sync=sync)
    name = stored_name(path.name)
    return StagedFile(
        image=target,
        thumbnail=thumbnail,
        name=stored_name(path.stem),
        original_filename=name,
        width=width,
        height=height,
        format=fmt,
        byte_size=byte_size,
        sha256=token,
        source=stored_name(str(path.resolve())),
    )


def _stage_frames(
    image: Image.Image,
    path: Path,
    staging: Path,
    max_pixels: int,
    max_frames: int,
    problems: list[tuple[str, str]] | None,
) -> list[StagedFile]:
    """A page per frame of a multi-page TIFF; a damaged frame is left out and named."""
    staged: list[StagedFile] = []
    index = 0
    while True:
        try:
            image.seek(index)
        except EOFError:
            break
        except (OSError, SyntaxError, ValueError) as error:  # the frame list itself is damaged
            _frame_problem(problems, path, index, f"the frame cannot be read ({error})")
            break
        if index >= max_frames:
            raise ImageRejectedError(
                f"the TIFF has more than {max_frames:,} frames (pages), the most esctui takes "
                "from one file (change it with --max-frames)"
            )
        try:
            staged.append(_stage_frame(image, path, staging, index, max_pixels))
        except ImageRejectedError as error:
            _frame_problem(problems, path, index, str(error))
        except OSError as error:
            if is_disk_full(error):
                raise
            _frame_problem(problems, path, index, f"the frame is corrupt or truncated ({error})")
        except (SyntaxError, ValueError, EOFError) as error:
            _frame_problem(problems, path, index, f"the frame is corrupt or truncated ({error})")
        index += 1
    if not staged:
        raise ImageRejectedError(f"none of its {plural(index, 'frame')} can be read")
    return staged


def _frame_problem(
    problems: list[tuple[str, str]] | None, path: Path, index: int, reason: str
) -> None:
    if problems is not None:
        problems.append((f"{stored_name(path.name)}#{index + 1}", reason))


def _stage_frame(
    image: Image.Image, path: Path, staging: Path, index: int, max_pixels: int
) -> StagedFile:
    _check_pixels(image, max_pixels)
    frame = image.copy()
    data = _encode(frame, "TIFF")
    token = hashlib.sha256(data).hexdigest()
    stem = staging / f"{token[:16]}-{os.urandom(3).hex()}"
    target = stem.with_suffix(".tif")
    thumbnail = stem.with_suffix(".thumb.jpg")
    write_synced(thumbnail, thumbnail_bytes(frame))
    write_synced(target, data)
    return StagedFile(
        image=target,
        thumbnail=thumbnail,
        name=f"{stored_name(path.stem)}_{index + 1}",
        original_filename=f"{stored_name(path.name)}#{index + 1}",
        width=frame.width,
        height=frame.height,
        format="TIFF",
        byte_size=len(data),
        sha256=token,
        source=f"{stored_name(str(path.resolve()))}#{index + 1}",
    )


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt in JPEG_FORMATS:
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


def write_synced(target: Path, data: bytes, *, sync: bool = True) -> None:
    """Write a staged file and fsync it here, in the worker thread: the commit that later
    points at it must not find it empty after a power loss (kill -9 alone never could).
    ``sync=False``: the caller fsyncs it before that commit (``sync_staged``)."""
    with open(target, "wb") as handle:
        handle.write(data)
        handle.flush()
        if sync:
            os.fsync(handle.fileno())


def sync_staged(files: Iterable[StagedFile]) -> None:
    """Fsync staged pages' images and thumbnails (staged with ``sync=False``): called just
    before the commit that points at them, after their whole batch was written, so the disk
    writes them in one go while the workers decode the next images."""
    for staged in files:
        for path in (staged.image, staged.thumbnail):
            if path is None:
                continue
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


COPY_CHUNK = 1 << 20


def copy_synced(
    source: Path, target: Path, *, sync: bool = True, structure: JpegStructure | None = None
) -> tuple[str, int]:
    """Copy ``source`` to ``target`` in chunks, fsynced (unless ``sync=False``); returns
    (SHA-256, size): the file is read once and never held whole in memory. ``structure``
    walks a JPEG's markers on the way (JpegDamaged when it is not whole)."""
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as reading, open(target, "wb") as writing:
        while chunk := reading.read(COPY_CHUNK):
            digest.update(chunk)
            writing.write(chunk)
            if structure is not None:
                structure.feed(chunk)
            size += len(chunk)
        if size and structure is not None:
            structure.finish()
        writing.flush()
        if sync:
            os.fsync(writing.fileno())
    if size == 0:
        raise ImageRejectedError("the file is empty")
    return digest.hexdigest(), size


def move_synced(source: Path, target: Path) -> int:
    """Fsync ``source`` and rename it to ``target`` (the same file system); returns its size."""
    with open(source, "rb+") as handle:
        size = os.fstat(handle.fileno()).st_size
        os.fsync(handle.fileno())
    if size == 0:
        raise ImageRejectedError("the file is empty")
    os.replace(source, target)
    return size


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
        pending: deque[tuple[Path, list[tuple[str, str]], Future[list[StagedFile]]]] = deque()
        queue = iter(files)
        prepare = partial(
            prepare_image,
            max_pixels=self.options.max_pixels,
            max_frames=self.options.max_frames,
            sync=False,  # fsynced per batch by _commit
        )

        def refill() -> None:
            while len(pending) < window:
                path = next(queue, None)
                if path is None:
                    return
                problems: list[tuple[str, str]] = []
                future = pool.submit(prepare, path, staging, frame_problems=problems)
                pending.append((path, problems, future))

        refill()
        async with CommitBatches(
            partial(self._commit, ctx),
            every_seconds=self.options.commit_every_seconds,
            every_items=self.options.commit_every_pages,
        ) as batches:
            while pending:
                path, problems, future = pending.popleft()
                name = stored_name(path.name)
                ctx.working_on(name)
                try:
                    staged = await asyncio.wrap_future(future)
                except ImageRejectedError as error:
                    ctx.report.add_skipped(stored_name(str(path)), str(error))
                    staged = []
                for frame, reason in problems:
                    ctx.report.add_skipped(frame, reason)
                refill()
                ctx.advance(name)
                await batches.add(*staged)

    def _commit(self, ctx: JobContext, batch: list[StagedFile]) -> None:
        sync_staged(batch)  # durable before the commit that points at them
        added, duplicates = self.store.add_parts(
            self.document_id, batch, skip_duplicates=not self.options.allow_duplicates
        )
        for part in added:
            ctx.report.add_imported(part.original_filename, f"page {part.order + 1}")
        for staged, existing in duplicates:
            ctx.report.add_skipped(
                staged.source,
                f"an exact duplicate of page {existing!r} already in the document "
                "(--allow-duplicates adds it anyway)",
            )
            ctx.report.count("duplicates")
