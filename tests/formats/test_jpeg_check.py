"""The JPEG marker walk: whole JPEGs of every kind pass (corpus scans, progressive, restart
markers, CMYK, trailing bytes, fed in any chunk sizes); cut and damaged ones are named."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from esctui.formats.jpeg_check import (
    JpegDamaged,
    JpegStructure,
    check_jpeg,
    check_jpeg_file,
)
from tests.helpers import CORPUS, make_image

CORPUS_JPEGS = sorted((CORPUS / "images").glob("*.jpg"))


def _jpeg(tmp_path: Path, **options: object) -> bytes:
    path = make_image(tmp_path / "page.jpg", size=(600, 800), noise=True, **options)
    return path.read_bytes()


def _saved(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


@pytest.mark.parametrize("path", CORPUS_JPEGS, ids=lambda p: p.name)
def test_the_corpus_jpegs_are_whole(path: Path) -> None:
    check_jpeg_file(path)


def test_every_kind_of_whole_jpeg_passes(tmp_path: Path) -> None:
    with Image.open(make_image(tmp_path / "base.png", size=(600, 800), noise=True)) as image:
        image.load()
        kinds = {
            "baseline": _saved(image, quality=90),
            "progressive": _saved(image, quality=90, progressive=True),
            "restart markers": _saved(image, quality=90, restart_marker_blocks=4),
            "grey": _saved(image.convert("L"), quality=90),
            "CMYK": _saved(image.convert("CMYK"), quality=90),
            "with a comment and EXIF": _saved(
                image, quality=90, comment=b"scan", exif=Image.Exif().tobytes()
            ),
        }
    for kind, data in kinds.items():
        check_jpeg(data)  # raises, naming nothing, if the walk is wrong
        check_jpeg(data + b"\x00" * 100 + b"trailing bytes after EOI")
        assert data.count(b"\xff\xd9") >= 1, kind


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64, 4096])
def test_the_walk_does_not_depend_on_where_the_chunks_end(tmp_path: Path, chunk: int) -> None:
    with Image.open(make_image(tmp_path / "base.png", size=(300, 400), noise=True)) as image:
        data = _saved(image, quality=95, progressive=True, restart_marker_blocks=2)
    structure = JpegStructure()
    for start in range(0, len(data), chunk):
        structure.feed(data[start : start + chunk])
    structure.finish()
    assert structure.ended
    cut = JpegStructure()
    for start in range(0, len(data) - 10, chunk):
        cut.feed(data[start : min(start + chunk, len(data) - 10)])
    with pytest.raises(JpegDamaged, match="end marker"):
        cut.finish()


def test_a_jpeg_cut_anywhere_is_named_cut_short(tmp_path: Path) -> None:
    data = _jpeg(tmp_path)
    for length in (2, 20, 200, len(data) // 3, len(data) // 2, len(data) - 2, len(data) - 1):
        with pytest.raises(JpegDamaged, match="ends before"):
            check_jpeg(data[:length])


def test_damaged_markers_are_refused(tmp_path: Path) -> None:
    data = _jpeg(tmp_path)
    with pytest.raises(JpegDamaged, match="does not begin"):
        check_jpeg(b"GIF89a" + data)
    middle = len(data) // 2
    for marker in (0xC0, 0xD8, 0x42):  # a frame header, a second SOI, no marker at all
        damaged = data[:middle] + bytes([0xFF, marker]) + data[middle + 2 :]
        with pytest.raises(JpegDamaged, match="cannot stand there"):
            check_jpeg(damaged)
    header_end = data.index(b"\xff\xda")
    broken_header = data[:4] + b"\x00\x01" + data[6:header_end] + data[header_end:]
    with pytest.raises(JpegDamaged, match="impossible length"):
        check_jpeg(broken_header)


def test_image_data_before_its_frame_header_is_refused() -> None:
    with pytest.raises(JpegDamaged, match="before its frame header"):
        check_jpeg(b"\xff\xd8\xff\xda\x00\x02" + b"\x12" * 50 + b"\xff\xd9")


def test_extraneous_bytes_between_segments_pass_as_libjpeg_decodes_them(tmp_path: Path) -> None:
    data = _jpeg(tmp_path)
    start_of_scan = data.index(b"\xff\xda")
    padded = data[:start_of_scan] + b"\x00\x00\x12" + data[start_of_scan:]
    with Image.open(io.BytesIO(padded)) as image:
        image.load()  # Pillow (libjpeg) reads it: so must the check
    check_jpeg(padded)
