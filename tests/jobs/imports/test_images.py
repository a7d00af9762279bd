"""The local image importer, run as a job: formats, order, rejects, duplicates, cancel.

Every test imports real files (corpus scans copied to tmp_path, or pictures made with Pillow)
into a real store through ``run_job(LocalImagesImporter)``, then looks at the stored pages and
files.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from esctui.domain import Job, JobStatus, Part
from esctui.jobs.imports.images import ImageImportOptions, LocalImagesImporter
from esctui.jobs.runner import JobProgress, run_job
from esctui.store import Store


async def import_images(
    store: Store, document_id: str, inputs: list, on_progress=None, **options
) -> Job:
    importer = LocalImagesImporter(
        store, document_id, [str(p) for p in inputs], ImageImportOptions(**options)
    )
    return await run_job(store, importer, on_progress)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def skipped(job: Job) -> dict[str, str]:
    return {Path(item.name).name: item.reason for item in job.report.skipped}


def check_part_files(store: Store, part: Part) -> None:
    """The stored image is whole, matches its record, and has a thumbnail (a JPEG page's made
    when first asked for)."""
    path = store.part_image_path(part)
    assert path.is_file()
    assert sha256(path) == part.sha256
    assert path.stat().st_size == part.byte_size
    with Image.open(path) as image:
        assert image.format == part.format
        assert image.size == (part.width, part.height)
        image.load()
    thumbnail = store.ensure_thumbnail(part)
    assert thumbnail == store.part_thumbnail_path(part)
    with Image.open(thumbnail) as thumb:
        assert thumb.format == "JPEG"
        assert max(thumb.size) <= 320
        thumb.load()


@pytest.fixture
def doc_id(store: Store) -> str:
    return store.create_document("Codex").id


# ---------------------------------------------------------------------- formats


async def test_real_scans_are_stored_with_their_facts(
    store: Store, doc_id: str, corpus: Path, tmp_path: Path
) -> None:
    sources = sorted((corpus / "images").iterdir())
    inputs = []
    for source in sources:  # copies: the corpus is read-only and shared
        inputs.append(tmp_path / "in" / source.name)
        inputs[-1].parent.mkdir(exist_ok=True)
        shutil.copy2(source, inputs[-1])
    before = {p: (sha256(p), p.stat().st_mtime_ns) for p in inputs}

    job = await import_images(store, doc_id, inputs)

    assert (job.status, job.report.skipped, job.done, job.total) == ("done", [], 4, 4)
    parts = store.list_parts(doc_id)
    assert [p.original_filename for p in parts] == [p.name for p in inputs]
    for part, source in zip(parts, inputs, strict=True):
        with Image.open(source) as original:
            facts = (original.format, original.size)
        assert part.name == source.stem
        assert (part.format, (part.width, part.height)) == facts
        assert part.byte_size == source.stat().st_size
        assert part.sha256 == sha256(source)  # stored unchanged: the same bytes
        assert part.source == str(source.resolve())
        if part.format == "JPEG":  # checked by its markers, not decoded: no thumbnail yet
            assert not store.part_thumbnail_path(part).exists()
        check_part_files(store, part)
    assert {p: (sha256(p), p.stat().st_mtime_ns) for p in inputs} == before  # untouched
    assert store.get_document(doc_id).page_count == 4
    saved = store.get_job(job.id)
    assert (saved.status, len(saved.report.imported)) == ("done", 4)


FORMATS = [
    ("page.jpg", "JPEG", {"quality": 90}),
    ("page.png", "PNG", {}),
    ("page.tif", "TIFF", {"compression": "tiff_lzw"}),
    ("page.webp", "WEBP", {"quality": 80}),
    ("page.bmp", "BMP", {}),
    ("page.gif", "GIF", {}),
    ("page.jp2", "JPEG2000", {}),
]


@pytest.mark.parametrize(("filename", "fmt", "save"), FORMATS, ids=[f[1] for f in FORMATS])
async def test_each_format_becomes_a_page(
    store: Store, doc_id: str, make_image, tmp_path: Path, filename: str, fmt: str, save: dict
) -> None:
    source = make_image(tmp_path / filename, fmt, size=(210, 297), **save)
    job = await import_images(store, doc_id, [source])

    assert job.status == "done" and job.report.skipped == []
    [part] = store.list_parts(doc_id)
    assert (part.format, part.width, part.height) == (fmt, 210, 297)
    assert part.original_filename == filename
    check_part_files(store, part)
    assert store.part_image_path(part).read_bytes() == source.read_bytes()


async def test_each_frame_of_a_multi_page_tiff_is_a_page(
    store: Store, doc_id: str, make_image, tmp_path: Path
) -> None:
    source = make_image(tmp_path / "folio.tif", size=(120, 160), frames=3)
    with Image.open(source) as tiff:
        frames = []
        for index in range(3):
            tiff.seek(index)
            frames.append(tiff.convert("RGB").tobytes())
    assert len(set(frames)) == 3

    job = await import_images(store, doc_id, [source])

    assert job.status == "done"
    parts = store.list_parts(doc_id)
    assert [p.name for p in parts] == ["folio_1", "folio_2", "folio_3"]
    assert [p.source for p in parts] == [f"{source.resolve()}#{i}" for i in (1, 2, 3)]
    for part, pixels in zip(parts, frames, strict=True):
        check_part_files(store, part)
        with Image.open(store.part_image_path(part)) as page:
            assert page.convert("RGB").tobytes() == pixels  # each page is its own frame


async def test_exif_orientation_is_applied(store: Store, doc_id: str, tmp_path: Path) -> None:
    # Landscape as stored: left half red, right half blue; EXIF 6 says "rotate 90° clockwise".
    image = Image.new("RGB", (200, 100), (255, 0, 0))
    image.paste((0, 0, 255), (100, 0, 200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    source = tmp_path / "phone.jpg"
    image.save(source, "JPEG", quality=95, exif=exif)

    await import_images(store, doc_id, [source])

    [part] = store.list_parts(doc_id)
    assert (part.width, part.height) == (100, 200)
    check_part_files(store, part)
    with Image.open(store.part_image_path(part)) as stored:
        assert stored.getexif().get(0x0112, 1) == 1  # not rotated twice by a viewer
        upright = stored.convert("RGB")
    red, blue = upright.getpixel((50, 40)), upright.getpixel((50, 160))
    assert red[0] > 200 and red[2] < 60, red  # the left half went to the top
    assert blue[2] > 200 and blue[0] < 60, blue
    with Image.open(source) as original:
        assert ImageOps.exif_transpose(original).size == (100, 200)  # what a viewer shows
    with Image.open(store.part_thumbnail_path(part)) as thumb:  # made at import: it was decoded
        assert thumb.height > thumb.width


# ---------------------------------------------------------------------- rejects


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_1bit(width: int, height: int, pixel_data: bytes) -> bytes:
    """A 1-bit greyscale PNG of ``width`` x ``height`` with the given compressed rows."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", pixel_data)
        + png_chunk(b"IEND", b"")
    )


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` but that holds almost no pixel data."""
    return png_1bit(width, height, zlib.compress(b"\0" * 64))


def real_png_bomb(width: int, height: int) -> bytes:
    """A complete, valid all-white 1-bit PNG of ``width`` x ``height``: tiny on disk."""
    row = b"\0" + b"\xff" * ((width + 7) // 8)  # filter byte, packed pixels
    packer = zlib.compressobj(9)
    rows = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return png_1bit(width, height, rows)


async def test_bad_files_are_reported_and_the_others_still_import(
    store: Store, doc_id: str, corpus: Path, make_image, tmp_path: Path
) -> None:
    good1 = make_image(tmp_path / "good1.png")
    scan = (corpus / "images" / "input.jpg").read_bytes()
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(scan[: len(scan) // 2])
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"This is not a picture.\n" * 40)
    empty = tmp_path / "empty.png"
    empty.touch()
    text = tmp_path / "notes.txt"
    text.write_text("folio 3 is missing")
    small_limit = make_image(tmp_path / "large.png", size=(2100, 2000))
    good2 = make_image(tmp_path / "good2.jpg")

    job = await import_images(
        store,
        doc_id,
        [good1, truncated, junk, empty, text, small_limit, tmp_path / "missing.jpg", good2],
        max_pixels=4_000_000,
    )

    assert job.status == "done"
    assert [p.name for p in store.list_parts(doc_id)] == ["good1", "good2"]
    reasons = skipped(job)
    assert set(reasons) == {
        "truncated.jpg",
        "junk.jpg",
        "empty.png",
        "notes.txt",
        "large.png",
        "missing.jpg",
    }
    assert "truncated" in reasons["truncated.jpg"]
    assert "not an image" in reasons["junk.jpg"]
    assert "empty" in reasons["empty.png"]
    assert "not an image" in reasons["notes.txt"]
    assert "decompression bomb" in reasons["large.png"] and "2100x2000" in reasons["large.png"]
    assert "no such file" in reasons["missing.jpg"]
    assert job.total == 7  # the missing path never became an item
    assert store.get_job(job.id).report.skipped == job.report.skipped  # the report is kept


async def test_a_decompression_bomb_over_the_default_limit_is_refused(
    store: Store, doc_id: str, make_image, tmp_path: Path
) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(real_png_bomb(20_000, 20_000))  # 400 Mpx
    assert bomb.stat().st_size < 200_000
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Image, "MAX_IMAGE_PIXELS", None)
        with Image.open(bomb) as image:  # a well-formed PNG, not just a lying header
            assert (image.format, image.mode, image.size) == ("PNG", "1", (20_000, 20_000))
    good = make_image(tmp_path / "good.png")

    job = await import_images(store, doc_id, [bomb, good])

    assert [p.name for p in store.list_parts(doc_id)] == ["good"]
    reason = skipped(job)["bomb.png"]
    assert "decompression bomb" in reason and "20000x20000" in reason and "400 megapixels" in reason


async def test_the_pixel_limit_is_esctuis_not_pillows(
    store: Store, doc_id: str, tmp_path: Path
) -> None:
    big = tmp_path / "map.png"
    big.write_bytes(png_claiming(15_000, 12_000))  # 180 Mpx: under the 250 Mpx default

    job = await import_images(store, doc_id, [big])

    reason = skipped(job)["map.png"]
    assert "decompression bomb" not in reason  # it is refused for its missing pixel data


# ---------------------------------------------------------------------- order, duplicates


async def test_input_order_is_kept(store: Store, doc_id: str, make_image, tmp_path: Path) -> None:
    files = [make_image(tmp_path / f"{n}.png") for n in ("c", "a", "b10", "b9")]
    await import_images(store, doc_id, files)
    await import_images(store, doc_id, [make_image(tmp_path / "0.png")])
    parts = store.list_parts(doc_id)
    assert [p.name for p in parts] == ["c", "a", "b10", "b9", "0"]
    assert [p.order for p in parts] == [0, 1, 2, 3, 4]


async def test_a_folder_imports_in_natural_order(
    store: Store, doc_id: str, make_image, tmp_path: Path
) -> None:
    folder = tmp_path / "scans"
    for name in ("page10.jpg", "page2.JPG", "Page1.png", "page11.tif", "page3.webp"):
        make_image(folder / name)
    (folder / "readme.txt").write_text("not a page")
    (folder / "sub").mkdir()
    make_image(folder / "sub" / "page0.png")

    job = await import_images(store, doc_id, [folder])

    assert job.report.skipped == []
    assert [p.original_filename for p in store.list_parts(doc_id)] == [
        "Page1.png",
        "page2.JPG",
        "page3.webp",
        "page10.jpg",
        "page11.tif",
    ]


async def test_a_glob_imports_its_matches_in_natural_order(
    store: Store, doc_id: str, make_image, tmp_path: Path
) -> None:
    for name in ("f10.png", "f9.png", "f1.png", "other.png", "f2.jpg"):
        make_image(tmp_path / name)

    (tmp_path / "empty-dir").mkdir()

    job = await import_images(
        store,
        doc_id,
        [tmp_path / "f*.png", tmp_path / "nothing*.png", tmp_path / "empty-dir", tmp_path / "gone"],
    )

    assert [p.name for p in store.list_parts(doc_id)] == ["f1", "f9", "f10"]
    reasons = skipped(job)
    assert "no file matches" in reasons["nothing*.png"]
    assert "no image files" in reasons["empty-dir"]
    assert "no such file or folder" in reasons["gone"]


async def test_an_exact_duplicate_is_reported_not_added(
    store: Store, doc_id: str, make_image, tmp_path: Path
) -> None:
    first = make_image(tmp_path / "f1.png")
    copy = tmp_path / "copy of f1.png"
    shutil.copy(first, copy)
    other = make_image(tmp_path / "f2.png")

    job = await import_images(store, doc_id, [first, copy, other])
    again = await import_images(store, doc_id, [copy])

    assert [p.name for p in store.list_parts(doc_id)] == ["f1", "f2"]
    for result in (job, again):
        reason = skipped(result)["copy of f1.png"]
        assert "duplicate" in reason and "'f1'" in reason
        assert result.report.counts == {"duplicates": 1}


# ---------------------------------------------------------------------- cancel


async def test_cancel_mid_import_leaves_only_whole_pages(
    store: Store, doc_id: str, make_image, jpeg_copies, tmp_path: Path
) -> None:
    scan = make_image(tmp_path / "scan.jpg", size=(2400, 3200), noise=True, quality=90)
    files = jpeg_copies(scan, tmp_path / "in", 40)
    progress: list[JobProgress] = []
    task = asyncio.create_task(  # small batches: a JPEG is not decoded, 40 pages are quick
        import_images(
            store, doc_id, files, on_progress=progress.append, workers=2, commit_every_pages=2
        )
    )
    while not (progress and progress[-1].done >= 3) and not task.done():
        await asyncio.sleep(0.002)
    assert not task.done(), "the import ended before the cancel"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    parts = store.list_parts(doc_id)
    assert 0 < len(parts) < 40
    assert [p.name for p in parts] == [f.stem for f in files[: len(parts)]]  # a prefix
    for part in parts:
        check_part_files(store, part)
    doc_dir = store.document_dir(doc_id)
    assert sorted(p.name for p in (doc_dir / "images").iterdir()) == sorted(
        Path(p.filename).name for p in parts
    )
    assert list((doc_dir / ".staging").iterdir()) == []
    [job] = store.list_jobs()
    assert job.status == JobStatus.CANCELLED.value
    assert len(job.report.imported) == len(parts)
    assert store.get_document(doc_id).page_count == len(parts)
