"""Staging a page image without a second copy: from memory (a PDF page's own JPEG) and by
renaming a download; a JPEG is checked by its markers (not decoded) and still refused when it is
cut short; its thumbnail is made from the stored page when it is first shown."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from esctui.formats.thumbnails import THUMBNAIL_SIZE, thumbnail_from_file
from esctui.jobs.imports.images import (
    DEFAULT_MAX_PIXELS,
    ImageRejectedError,
    prepare_encoded,
    prepare_image,
)
from tests.helpers import make_image


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    """An A4 page at 300 dpi as a JPEG (its thumbnail decode is the 1/8 draft)."""
    return make_image(tmp_path / "scan.jpg", size=(2480, 3508), quality=85)


def test_a_jpeg_from_memory_is_stored_unchanged_with_its_hash_and_its_thumbnail_made_later(
    scan: Path, tmp_path: Path
) -> None:
    data = scan.read_bytes()
    staging = tmp_path / "staging"
    staging.mkdir()
    staged = prepare_encoded(data, "book_1.jpg", staging, DEFAULT_MAX_PIXELS)
    assert staged.image.read_bytes() == data
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert (staged.width, staged.height, staged.format) == (2480, 3508, "JPEG")
    assert staged.thumbnail is None  # not decoded at import
    made = tmp_path / "thumb.jpg"
    made.write_bytes(thumbnail_from_file(staged.image, DEFAULT_MAX_PIXELS))
    with Image.open(made) as thumbnail:
        assert max(thumbnail.size) == max(THUMBNAIL_SIZE)  # the draft scale did not shrink it
        assert thumbnail.size == (226, 320)


def test_a_png_is_decoded_for_its_thumbnail_at_import(tmp_path: Path) -> None:
    png = make_image(tmp_path / "page.png", size=(640, 480))
    [staged] = prepare_image(png, tmp_path, DEFAULT_MAX_PIXELS)
    assert staged.thumbnail is not None
    with Image.open(staged.thumbnail) as thumbnail:
        assert thumbnail.size == (320, 240)


def test_a_truncated_jpeg_from_memory_is_refused_in_words(scan: Path, tmp_path: Path) -> None:
    data = scan.read_bytes()
    with pytest.raises(ImageRejectedError, match="corrupt or truncated"):
        prepare_encoded(data[: len(data) // 2], "book_2.jpg", tmp_path, DEFAULT_MAX_PIXELS)
    with pytest.raises(ImageRejectedError, match="empty"):
        prepare_encoded(b"", "book_3.jpg", tmp_path, DEFAULT_MAX_PIXELS)


def test_a_download_is_renamed_into_the_staging_folder_not_copied(
    scan: Path, tmp_path: Path
) -> None:
    download = tmp_path / "downloads" / "canvas_00001.jpg"
    download.parent.mkdir()
    download.write_bytes(scan.read_bytes())
    inode = download.stat().st_ino
    digest = hashlib.sha256(download.read_bytes()).hexdigest()
    [staged] = prepare_image(download, tmp_path, DEFAULT_MAX_PIXELS, move_sha256=digest)
    assert not download.exists()
    assert staged.image.stat().st_ino == inode  # the same file, renamed
    assert staged.sha256 == digest and staged.byte_size == scan.stat().st_size
    assert staged.image.read_bytes() == scan.read_bytes()


def test_a_cut_download_is_refused_and_left_where_it_was(scan: Path, tmp_path: Path) -> None:
    download = tmp_path / "canvas_00002.jpg"
    data = scan.read_bytes()[:-5000]
    download.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    with pytest.raises(ImageRejectedError, match="corrupt or truncated .*end marker"):
        prepare_image(download, tmp_path, DEFAULT_MAX_PIXELS, move_sha256=digest)
    assert download.exists()
