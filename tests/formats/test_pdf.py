"""Page images and text layers from PDF files (esctui.formats.pdf).

Real PDFs from the corpus, and PDFs built here with PyMuPDF and Pillow. Whatever comes out of a
page is checked against PyMuPDF's own rendering of that page, so a wrong orientation, colour or
mask shows as a difference.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from esctui.formats.pdf import PageImage, PdfError, PdfSource, open_pdf
from tests.helpers import CORPUS

THREE_SCANS = CORPUS / "pdf" / "three_scans.pdf"
SCAN_WITH_TEXT = CORPUS / "pdf" / "scan_with_text_layer.pdf"
THREE_SCANS_IMAGES = ["170025120000003,0074.jpg", "0014.jpg", "input.jpg"]

RED = (220, 30, 30)
BLUE = (30, 40, 200)
PAPER = (245, 235, 210)
# Size of the images made here, in pixels, and of their pages, in points (100 dpi).
IMAGE_SIZE = (240, 320)
PAGE_SIZE = (172.8, 230.4)


# -- helpers -------------------------------------------------------------------------------------


def marked_image(size: tuple[int, int] = IMAGE_SIZE) -> Image.Image:
    """A page-like RGB image that looks different after any turn or flip: a red block in its
    top-left corner, a blue block in its bottom-right corner, dark "text" stripes between."""
    width, height = size
    image = Image.new("RGB", size, PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width * 0.4, height * 0.25), fill=RED)
    draw.rectangle((width * 0.7, height * 0.8, width - 1, height - 1), fill=BLUE)
    for row in range(int(height * 0.35), int(height * 0.75), 12):
        draw.rectangle((width * 0.1, row, width * 0.8, row + 5), fill=(40, 30, 20))
    return image


def bilevel_image(size: tuple[int, int] = IMAGE_SIZE) -> Image.Image:
    """A black-and-white page: black block top left, black stripes."""
    width, height = size
    image = Image.new("1", size, 1)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width * 0.4, height * 0.25), fill=0)
    for row in range(int(height * 0.35), int(height * 0.75), 12):
        draw.rectangle((width * 0.1, row, width * 0.8, row + 5), fill=0)
    return image


def encoded(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def add_image_page(
    doc: pymupdf.Document,
    stream: bytes,
    keys: dict[str, str],
    *,
    placement: str | None = None,
    rotate: int = 0,
    page_size: tuple[float, float] = PAGE_SIZE,
    extra_content: str = "",
) -> pymupdf.Page:
    """A page showing one image XObject built by hand from `stream` (used as it is) and its
    dictionary `keys`, placed with the PDF matrix `placement` (default: fills the page)."""
    width, height = page_size
    page = doc.new_page(width=width, height=height)
    image_xref = doc.get_new_xref()
    doc.update_object(image_xref, "<<>>")
    doc.update_stream(image_xref, stream, new=True, compress=False)
    for key, value in {"Type": "/XObject", "Subtype": "/Image", **keys}.items():
        doc.xref_set_key(image_xref, key, value)
    placement = placement or f"{width} 0 0 {height} 0 0"
    content_xref = doc.get_new_xref()
    doc.update_object(content_xref, "<<>>")
    content = f"q {placement} cm /Im0 Do Q\n{extra_content}"
    doc.update_stream(content_xref, content.encode(), new=True)
    doc.xref_set_key(page.xref, "Contents", f"{content_xref} 0 R")
    doc.xref_set_key(
        page.xref,
        "Resources",
        f"<</XObject<</Im0 {image_xref} 0 R>>/Font<</F1<</Type/Font/Subtype/Type1"
        "/BaseFont/Helvetica>>>>>>",
    )
    if rotate:
        page.set_rotation(rotate)
    return page


def raw_image_keys(image: Image.Image, colour_space: str, bits: int = 8) -> dict[str, str]:
    width, height = image.size
    return {
        "Width": str(width),
        "Height": str(height),
        "ColorSpace": colour_space,
        "BitsPerComponent": str(bits),
    }


def save(doc: pymupdf.Document, path: Path) -> Path:
    doc.save(path)
    doc.close()
    return path


def one_page_pdf(tmp_path: Path, build: Callable[[pymupdf.Document], object]) -> Path:
    doc = pymupdf.open()
    build(doc)
    return save(doc, tmp_path / "built.pdf")


def decoded(page_image: PageImage) -> Image.Image:
    image = Image.open(io.BytesIO(page_image.data))
    image.load()
    assert image.size == (page_image.width, page_image.height)
    return image


def rendered_like(pdf: Path, index: int, size: tuple[int, int]) -> Image.Image:
    """PyMuPDF's rendering of the page at (about) `size` pixels."""
    with pymupdf.open(pdf) as doc:
        page = doc[index]
        matrix = pymupdf.Matrix(size[0] / page.rect.width, size[1] / page.rect.height)
        pix = page.get_pixmap(matrix=matrix, colorspace=pymupdf.csRGB, alpha=False)
        return Image.frombytes("RGB", (pix.width, pix.height), pix.samples)


def assert_looks_like_page(pdf: Path, index: int, page_image: PageImage) -> None:
    """The image shows what a PDF reader shows on that page (compared at thumbnail size)."""
    shown = decoded(page_image).convert("RGB")
    rendered = rendered_like(pdf, index, shown.size)
    thumb_size = (40, 40)
    difference = ImageChops.difference(
        shown.resize(thumb_size, Image.Resampling.BOX),
        rendered.resize(thumb_size, Image.Resampling.BOX),
    )
    mean_difference = sum(ImageStat.Stat(difference).mean) / 3
    assert mean_difference < 6, f"image differs from the page by {mean_difference:.1f}/255"


def extract_only_page(pdf: Path, dpi: int = 300) -> PageImage:
    with open_pdf(pdf) as source:
        assert source.page_count == 1
        return source.extract_page(0, dpi=dpi)


def near(colour: tuple[int, ...], expected: tuple[int, int, int], slack: int = 40) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(colour[:3], expected, strict=True))


# -- the corpus ----------------------------------------------------------------------------------


def test_three_scans_keeps_each_jpeg_byte_for_byte() -> None:
    with open_pdf(THREE_SCANS) as source:
        assert source.page_count == 3
        assert source.warnings == ()
        for index, name in enumerate(THREE_SCANS_IMAGES):
            original = (CORPUS / "images" / name).read_bytes()
            page_image = source.extract_page(index)
            assert page_image.ext == "jpg"
            assert page_image.lossless_extracted
            assert hashlib.sha256(page_image.data).digest() == hashlib.sha256(original).digest()
            assert (page_image.width, page_image.height) == Image.open(io.BytesIO(original)).size


def test_scan_with_text_layer_gives_its_lines_inside_the_image() -> None:
    with open_pdf(SCAN_WITH_TEXT) as source:
        assert source.page_count == 1
        page_image = source.extract_page(0, dpi=150)
        lines = source.text_lines(0, page_image.width, page_image.height)
    assert [line.text for line in lines] == ["hidden OCR text layer"]
    (line,) = lines
    assert len(line.box) == 4 and len(line.baseline) == 2
    for x, y in [*line.box, *line.baseline]:
        assert 0 <= x <= page_image.width and 0 <= y <= page_image.height
    top = min(y for _, y in line.box)
    bottom = max(y for _, y in line.box)
    assert top < line.baseline[0][1] <= bottom
    assert line.baseline[1][0] - line.baseline[0][0] > 50  # runs along the text, left to right


def test_scan_that_does_not_fill_its_page_is_rendered_whole() -> None:
    page_image = extract_only_page(SCAN_WITH_TEXT, dpi=72)
    assert not page_image.lossless_extracted
    assert (page_image.width, page_image.height) == (595, 842)
    assert "does not fill the page" in page_image.note
    assert_looks_like_page(SCAN_WITH_TEXT, 0, page_image)


# -- rendering -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("dpi", "size"), [(300, (600, 900)), (150, (300, 450))])
def test_vector_page_is_rendered_at_the_chosen_dpi(
    tmp_path: Path, dpi: int, size: tuple[int, int]
) -> None:
    def build(doc: pymupdf.Document) -> None:
        page = doc.new_page(width=144, height=216)  # 2 x 3 inches
        page.draw_rect(pymupdf.Rect(0, 0, 72, 72), color=None, fill=(1, 0, 0))
        page.insert_text((20, 150), "Vector text", fontsize=14)

    pdf = one_page_pdf(tmp_path, build)
    page_image = extract_only_page(pdf, dpi=dpi)
    assert page_image.ext == "png"
    assert not page_image.lossless_extracted
    assert (page_image.width, page_image.height) == size
    image = decoded(page_image)
    assert image.mode == "RGB"
    assert near(image.getpixel((5, 5)), (255, 0, 0), slack=2)  # the red square, top left
    assert near(image.getpixel((size[0] - 5, 5)), (255, 255, 255), slack=2)


def test_page_with_two_images_is_rendered(tmp_path: Path) -> None:
    def build(doc: pymupdf.Document) -> None:
        page = doc.new_page(width=PAGE_SIZE[0], height=PAGE_SIZE[1])
        top, bottom = pymupdf.Rect(page.rect), pymupdf.Rect(page.rect)
        top.y1 = bottom.y0 = page.rect.height / 2
        page.insert_image(
            top, stream=encoded(marked_image((240, 160)), "PNG"), keep_proportion=False
        )
        page.insert_image(
            bottom, stream=encoded(marked_image((240, 160)), "JPEG"), keep_proportion=False
        )

    pdf = one_page_pdf(tmp_path, build)
    page_image = extract_only_page(pdf, dpi=100)
    assert not page_image.lossless_extracted
    assert "2 images" in page_image.note
    assert_looks_like_page(pdf, 0, page_image)


def test_full_page_image_under_visible_text_is_rendered(tmp_path: Path) -> None:
    def build(doc: pymupdf.Document) -> None:
        image = marked_image()
        add_image_page(
            doc,
            encoded(image, "JPEG"),
            raw_image_keys(image, "/DeviceRGB") | {"Filter": "/DCTDecode"},
            extra_content="BT /F1 12 Tf 20 20 Td (Stamped) Tj ET",
        )

    page_image = extract_only_page(one_page_pdf(tmp_path, build), dpi=100)
    assert not page_image.lossless_extracted
    assert "besides its image" in page_image.note


# -- extraction of the one full-page image -------------------------------------------------------


def test_jpeg_with_invisible_text_and_small_margins_stays_the_same_jpeg(tmp_path: Path) -> None:
    jpeg = encoded(marked_image(), "JPEG", quality=90)
    width, height = PAGE_SIZE

    def build(doc: pymupdf.Document) -> None:
        # 1% margins all round, and an OCR layer in render mode 3 (invisible).
        add_image_page(
            doc,
            jpeg,
            raw_image_keys(marked_image(), "/DeviceRGB") | {"Filter": "/DCTDecode"},
            placement=f"{width * 0.98} 0 0 {height * 0.98} {width * 0.01} {height * 0.01}",
            extra_content="BT 3 Tr /F1 12 Tf 20 200 Td (Hidden words) Tj ET",
        )

    pdf = one_page_pdf(tmp_path, build)
    with open_pdf(pdf) as source:
        page_image = source.extract_page(0)
        lines = source.text_lines(0, page_image.width, page_image.height)
    assert page_image.data == jpeg
    assert page_image.lossless_extracted and page_image.ext == "jpg"
    assert [line.text for line in lines] == ["Hidden words"]


def test_rotated_page_turns_its_image_the_way_the_page_shows(tmp_path: Path) -> None:
    image = marked_image()

    def build(doc: pymupdf.Document) -> None:
        page = add_image_page(
            doc,
            encoded(image, "JPEG", quality=95),
            raw_image_keys(image, "/DeviceRGB") | {"Filter": "/DCTDecode"},
            # invisible words over the red block (top left of the unturned page)
            extra_content="BT 3 Tr /F1 10 Tf 10 210 Td (Red corner) Tj ET",
        )
        page.set_rotation(90)

    pdf = one_page_pdf(tmp_path, build)
    with open_pdf(pdf) as source:
        page_image = source.extract_page(0)
        lines = source.text_lines(0, page_image.width, page_image.height)
    assert (page_image.width, page_image.height) == (IMAGE_SIZE[1], IMAGE_SIZE[0])
    assert page_image.lossless_extracted
    assert page_image.ext == "png" and "turned 90° clockwise" in page_image.note
    shown = decoded(page_image).convert("RGB")
    # Turned 90° clockwise: the red corner is now top right, the blue one bottom left.
    assert near(shown.getpixel((page_image.width - 5, 5)), RED)
    assert near(shown.getpixel((5, page_image.height - 5)), BLUE)
    assert near(shown.getpixel((5, 5)), PAPER)
    assert_looks_like_page(pdf, 0, page_image)
    # The text layer turned with the page: the line's box lies on the red block.
    (line,) = lines
    centre_x = sum(x for x, _ in line.box) / 4
    centre_y = sum(y for _, y in line.box) / 4
    assert near(shown.getpixel((int(centre_x), int(centre_y))), RED)
    # The line now runs downwards: its baseline goes down the image.
    (start_x, start_y), (end_x, end_y) = line.baseline
    assert end_y - start_y > 20 and abs(end_x - start_x) < 2


@pytest.mark.parametrize(
    ("rotate", "placement", "turn"),
    [
        (180, None, "turned 180°"),
        (270, None, "turned 90° anticlockwise"),
        (0, "-172.8 0 0 230.4 172.8 0", "mirrored left to right"),
        (0, "172.8 0 0 -230.4 0 230.4", "flipped upside down"),
        # drawn turned a quarter anticlockwise on a landscape page...
        (0, "0 172.8 -230.4 0 230.4 0", "turned 90° anticlockwise"),
        # ...which the page's rotation turns back upright
        (90, "0 172.8 -230.4 0 230.4 0", None),
    ],
)
def test_image_turned_or_flipped_on_the_page_comes_out_as_shown(
    tmp_path: Path, rotate: int, placement: str | None, turn: str | None
) -> None:
    image = marked_image()
    page_size = PAGE_SIZE if placement is None or placement[0] != "0" else PAGE_SIZE[::-1]

    def build(doc: pymupdf.Document) -> None:
        add_image_page(
            doc,
            zlib.compress(image.tobytes()),
            raw_image_keys(image, "/DeviceRGB") | {"Filter": "/FlateDecode"},
            placement=placement,
            rotate=rotate,
            page_size=page_size,
        )

    pdf = one_page_pdf(tmp_path, build)
    page_image = extract_only_page(pdf)
    assert page_image.lossless_extracted
    if turn is None:
        assert page_image.note == "Flate image decoded without loss to PNG"
    else:
        assert f"{turn} to match the page" in page_image.note
    assert_looks_like_page(pdf, 0, page_image)


@pytest.mark.parametrize("maker", ["pymupdf", "by hand"])
def test_cmyk_jpeg_comes_out_as_rgb(tmp_path: Path, maker: str) -> None:
    image = marked_image().convert("CMYK")
    # Pillow writes Adobe-style (inverted) CMYK JPEGs; PDF makers then add a Decode array.
    jpeg = encoded(image, "JPEG", quality=95)

    def build(doc: pymupdf.Document) -> None:
        if maker == "pymupdf":  # ICC-based CMYK
            page = doc.new_page(width=PAGE_SIZE[0], height=PAGE_SIZE[1])
            page.insert_image(page.rect, stream=jpeg)
        else:
            keys = raw_image_keys(image, "/DeviceCMYK")
            keys |= {"Filter": "/DCTDecode", "Decode": "[1 0 1 0 1 0 1 0]"}
            add_image_page(doc, jpeg, keys)

    pdf = one_page_pdf(tmp_path, build)
    page_image = extract_only_page(pdf)
    assert page_image.ext == "png" and page_image.lossless_extracted
    assert "RGB" in page_image.note
    shown = decoded(page_image)
    assert shown.mode == "RGB" and shown.size == IMAGE_SIZE
    # CMYK to RGB goes through colour management: check the hue, not the exact colour.
    red, green, blue = shown.getpixel((5, 5))
    assert red > 150 and red > green + 80 and red > blue + 80
    red, green, blue = shown.getpixel((IMAGE_SIZE[0] - 5, IMAGE_SIZE[1] - 5))
    assert blue > red + 50 and blue > green + 50
    assert_looks_like_page(pdf, 0, page_image)


def test_png_with_alpha_is_flattened_onto_white(tmp_path: Path) -> None:
    image = marked_image().convert("RGBA")
    alpha = Image.new("L", IMAGE_SIZE, 255)
    ImageDraw.Draw(alpha).rectangle((0, IMAGE_SIZE[1] // 2, IMAGE_SIZE[0], IMAGE_SIZE[1]), fill=0)
    image.putalpha(alpha)  # the bottom half is transparent

    def build(doc: pymupdf.Document) -> None:
        page = doc.new_page(width=PAGE_SIZE[0], height=PAGE_SIZE[1])
        page.insert_image(page.rect, stream=encoded(image, "PNG"))

    pdf = one_page_pdf(tmp_path, build)
    page_image = extract_only_page(pdf)
    assert page_image.ext == "png" and page_image.lossless_extracted
    assert "white" in page_image.note
    shown = decoded(page_image)
    assert shown.mode == "RGB"
    assert shown.getpixel((5, 5)) == RED
    assert shown.getpixel((IMAGE_SIZE[0] - 5, IMAGE_SIZE[1] - 5)) == (255, 255, 255)
    assert_looks_like_page(pdf, 0, page_image)


def test_grey_image_comes_out_grey_and_unchanged(tmp_path: Path) -> None:
    image = marked_image().convert("L")

    def build(doc: pymupdf.Document) -> None:
        page = doc.new_page(width=PAGE_SIZE[0], height=PAGE_SIZE[1])
        page.insert_image(page.rect, stream=encoded(image, "PNG"))

    pdf = one_page_pdf(tmp_path, build)
    page_image = extract_only_page(pdf)
    assert page_image.ext == "png" and page_image.lossless_extracted
    shown = decoded(page_image)
    assert shown.mode == "L"
    assert shown.tobytes() == image.tobytes()


def test_inverted_grey_image_decode_array_is_applied(tmp_path: Path) -> None:
    image = marked_image().convert("L")
    inverted = Image.eval(image, lambda value: 255 - value)

    def build(doc: pymupdf.Document) -> None:
        add_image_page(
            doc,
            zlib.compress(inverted.tobytes()),
            raw_image_keys(image, "/DeviceGray") | {"Filter": "/FlateDecode", "Decode": "[1 0]"},
        )

    pdf = one_page_pdf(tmp_path, build)
    page_image = extract_only_page(pdf)
    assert decoded(page_image).tobytes() == image.tobytes()
    assert_looks_like_page(pdf, 0, page_image)


def pack_bits(image: Image.Image) -> bytes:
    """1-bit samples, rows padded to whole bytes, 1 = white (as Pillow's mode "1" stores them)."""
    return image.tobytes()


@pytest.mark.parametrize("kind", ["flate", "ccitt", "image mask"])
def test_one_bit_page_comes_out_as_the_same_black_and_white_image(
    tmp_path: Path, kind: str
) -> None:
    image = bilevel_image()
    width, height = image.size
    if kind == "flate":
        stream = zlib.compress(pack_bits(image))
        keys = raw_image_keys(image, "/DeviceGray", bits=1) | {"Filter": "/FlateDecode"}
    elif kind == "ccitt":
        stream = ccitt_group4_strip(image)
        keys = raw_image_keys(image, "/DeviceGray", bits=1) | {
            "Filter": "/CCITTFaxDecode",
            "DecodeParms": f"<</K -1/Columns {width}/Rows {height}/BlackIs1 true>>",
        }
    else:
        # A stencil mask paints the fill colour (black) where its samples are 0.
        stream = zlib.compress(pack_bits(image))
        keys = {
            "Width": str(width),
            "Height": str(height),
            "ImageMask": "true",
            "BitsPerComponent": "1",
            "Filter": "/FlateDecode",
        }

    pdf = one_page_pdf(tmp_path, lambda doc: add_image_page(doc, stream, keys))
    page_image = extract_only_page(pdf)
    assert page_image.ext == "png" and page_image.lossless_extracted
    shown = decoded(page_image)
    assert shown.mode == "1"
    assert shown.tobytes() == image.tobytes()
    assert_looks_like_page(pdf, 0, page_image)


def ccitt_group4_strip(image: Image.Image) -> bytes:
    """The CCITT group 4 data of `image`, taken out of a one-strip TIFF written by Pillow."""
    tiff = Image.open(io.BytesIO(encoded(image, "TIFF", compression="group4")))
    (offset,) = tiff.tag_v2[273]
    (length,) = tiff.tag_v2[279]
    assert tiff.tag_v2[278] >= image.height  # one strip
    tiff.fp.seek(offset)
    return tiff.fp.read(length)


def test_jpeg_2000_stays_the_same_jpx(tmp_path: Path) -> None:
    jpx = encoded(marked_image(), "JPEG2000")

    def build(doc: pymupdf.Document) -> None:
        add_image_page(
            doc,
            jpx,
            {"Width": str(IMAGE_SIZE[0]), "Height": str(IMAGE_SIZE[1]), "Filter": "/JPXDecode"},
        )

    pdf = one_page_pdf(tmp_path, build)
    page_image = extract_only_page(pdf)
    assert page_image.ext == "jp2" and page_image.lossless_extracted
    assert page_image.data == jpx
    assert decoded(page_image).tobytes() == marked_image().tobytes()


# -- bad files -----------------------------------------------------------------------------------


def test_encrypted_pdf_asks_for_its_password(tmp_path: Path) -> None:
    doc = pymupdf.open(THREE_SCANS)
    encrypted = tmp_path / "locked scans.pdf"
    doc.save(encrypted, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    doc.close()
    with pytest.raises(PdfError) as raised:
        open_pdf(encrypted)
    message = str(raised.value)
    assert "locked scans.pdf" in message
    assert "encrypted" in message and "password" in message
    with pytest.raises(PdfError, match="wrong"):
        open_pdf(encrypted, password="not it")
    with open_pdf(encrypted, password="u") as source:
        original = (CORPUS / "images" / THREE_SCANS_IMAGES[1]).read_bytes()
        assert source.extract_page(1).data == original


def test_truncated_pdf_is_refused(tmp_path: Path) -> None:
    data = THREE_SCANS.read_bytes()
    truncated = tmp_path / "half.pdf"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(PdfError, match=r"half\.pdf is truncated"):
        open_pdf(truncated)


def test_pdf_with_broken_cross_reference_is_repaired_with_a_warning(tmp_path: Path) -> None:
    data = THREE_SCANS.read_bytes()
    marker = data.rindex(b"startxref")
    broken = tmp_path / "broken.pdf"
    # point the cross-reference table at the wrong place; the file still ends properly
    broken.write_bytes(data[:marker] + b"startxref\n12\n%%EOF\n")
    with open_pdf(broken) as source:
        assert source.page_count == 3
        assert any("broken.pdf" in warning and "repaired" in warning for warning in source.warnings)
        original = (CORPUS / "images" / THREE_SCANS_IMAGES[2]).read_bytes()
        assert source.extract_page(2).data == original


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", r"notes\.pdf is empty"),
        (b"Minutes of the meeting, 12 May 1848.\n", r"notes\.pdf is not a PDF file: .*plain text"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", r"notes\.pdf is not a PDF file: it is a JPEG"),
        (b"<!DOCTYPE html><html><body>404</body></html>", r"notes\.pdf .*web page"),
    ],
)
def test_files_that_are_not_pdfs_are_refused(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "notes.pdf"
    path.write_bytes(content)
    with pytest.raises(PdfError, match=expected):
        open_pdf(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PdfError, match=r"gone\.pdf does not exist"):
        open_pdf(tmp_path / "gone.pdf")


def test_pdf_without_pages_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "no pages.pdf"
    empty.write_bytes(
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    with pytest.raises(PdfError, match=r"no pages\.pdf has no pages"):
        open_pdf(empty)


def test_bad_page_index_and_dpi_are_refused() -> None:
    with open_pdf(THREE_SCANS) as source:
        with pytest.raises(IndexError, match="3 pages"):
            source.extract_page(3)
        with pytest.raises(ValueError, match="dpi"):
            source.extract_page(0, dpi=0)


# -- use from threads, lazy import ---------------------------------------------------------------


def test_pages_can_be_taken_from_several_threads_at_once(tmp_path: Path) -> None:
    doc = pymupdf.open()
    for page_number in range(6):
        page = doc.new_page(width=PAGE_SIZE[0], height=PAGE_SIZE[1])
        if page_number % 2:
            page.insert_image(page.rect, stream=encoded(marked_image(), "PNG"))
        else:
            page.insert_text((20, 40), f"Page {page_number}", fontsize=20)
    pdf = save(doc, tmp_path / "mixed.pdf")
    with open_pdf(pdf) as source:
        one_by_one = [source.extract_page(index, dpi=100).data for index in range(6)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            at_once = list(
                pool.map(lambda index: source.extract_page(index, dpi=100).data, range(6))
            )
    assert at_once == one_by_one
    assert len(set(one_by_one)) == 4  # the three image pages are the same image


def test_closed_source_refuses_work() -> None:
    source = open_pdf(THREE_SCANS)
    assert isinstance(source, PdfSource)
    source.close()
    source.close()
    with pytest.raises(ValueError, match="closed"):
        source.extract_page(0)


def test_other_modules_do_not_import_pymupdf() -> None:
    code = (
        "import sys, esctui, esctui.formats, esctui.domain; "
        "assert 'pymupdf' not in sys.modules and 'fitz' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("mask_kind", ["stencil", "colour key"])
def test_masked_image_shows_white_where_masked(tmp_path: Path, mask_kind: str) -> None:
    image = marked_image()
    width, height = image.size
    keys = raw_image_keys(image, "/DeviceRGB") | {"Filter": "/FlateDecode"}
    if mask_kind == "colour key":
        keys["Mask"] = "[200 255 0 60 0 60]"  # the red block is left out
    masked_out = Image.new("1", image.size, 0)
    ImageDraw.Draw(masked_out).rectangle((0, height // 2, width, height), fill=1)

    def build(doc: pymupdf.Document) -> None:
        if mask_kind == "stencil":  # samples 1 (the bottom half) are not painted
            mask_xref = doc.get_new_xref()
            doc.update_object(mask_xref, "<<>>")
            doc.update_stream(
                mask_xref, zlib.compress(masked_out.tobytes()), new=True, compress=False
            )
            mask_keys = {"Type": "/XObject", "Subtype": "/Image", "Width": str(width)}
            mask_keys |= {"Height": str(height), "ImageMask": "true", "BitsPerComponent": "1"}
            for key, value in (mask_keys | {"Filter": "/FlateDecode"}).items():
                doc.xref_set_key(mask_xref, key, value)
            keys["Mask"] = f"{mask_xref} 0 R"
        add_image_page(doc, zlib.compress(image.tobytes()), keys)

    pdf = one_page_pdf(tmp_path, build)
    page_image = extract_only_page(pdf)
    assert page_image.lossless_extracted and "white" in page_image.note
    shown = decoded(page_image)
    if mask_kind == "stencil":
        assert shown.getpixel((5, 5)) == RED
        assert shown.getpixel((width - 5, height - 5)) == (255, 255, 255)
    else:
        assert shown.getpixel((5, 5)) == (255, 255, 255)
        assert shown.getpixel((width - 5, height - 5)) == BLUE
    assert_looks_like_page(pdf, 0, page_image)


def test_palette_image_comes_out_with_its_colours(tmp_path: Path) -> None:
    image = marked_image().quantize(8)

    def build(doc: pymupdf.Document) -> None:
        palette = image.getpalette()[: 8 * 3]
        colour_space = f"[/Indexed /DeviceRGB 7 <{bytes(palette).hex()}>]"
        add_image_page(
            doc,
            zlib.compress(image.tobytes()),
            raw_image_keys(image, colour_space) | {"Filter": "/FlateDecode"},
        )

    pdf = one_page_pdf(tmp_path, build)
    page_image = extract_only_page(pdf)
    assert page_image.lossless_extracted
    assert decoded(page_image).convert("RGB").tobytes() == image.convert("RGB").tobytes()


def test_jpeg_without_its_end_is_rendered_and_said_so(tmp_path: Path) -> None:
    image = marked_image()
    jpeg = encoded(image, "JPEG", quality=95)
    cut = jpeg[: len(jpeg) * 2 // 3]  # the file itself is whole; the image in it is not

    def build(doc: pymupdf.Document) -> None:
        add_image_page(doc, cut, raw_image_keys(image, "/DeviceRGB") | {"Filter": "/DCTDecode"})

    pdf = one_page_pdf(tmp_path, build)
    page_image = extract_only_page(pdf, dpi=100)
    assert not page_image.lossless_extracted
    assert "incomplete" in page_image.note
    assert_looks_like_page(pdf, 0, page_image)


def test_sixteen_bit_grey_is_reduced_to_eight_bits_and_said_so(tmp_path: Path) -> None:
    image = marked_image().convert("L")
    samples = b"".join(bytes((value, value)) for value in image.tobytes())  # big-endian 16-bit

    def build(doc: pymupdf.Document) -> None:
        keys = raw_image_keys(image, "/DeviceGray", bits=16) | {"Filter": "/FlateDecode"}
        add_image_page(doc, zlib.compress(samples), keys)

    page_image = extract_only_page(one_page_pdf(tmp_path, build))
    assert page_image.lossless_extracted
    assert "16-bit samples reduced to 8 bits" in page_image.note
    assert decoded(page_image).tobytes() == image.tobytes()


@pytest.mark.parametrize("inset", [0.01, 0.1])
def test_cropped_page_keeps_a_slightly_larger_scan_but_renders_a_cropped_one(
    tmp_path: Path, inset: float
) -> None:
    image = marked_image()
    width, height = PAGE_SIZE

    def build(doc: pymupdf.Document) -> None:
        page = add_image_page(
            doc,
            zlib.compress(image.tobytes()),
            raw_image_keys(image, "/DeviceRGB") | {"Filter": "/FlateDecode"},
            extra_content="BT 3 Tr /F1 10 Tf 30 190 Td (Red corner) Tj ET",
        )
        page.set_cropbox(
            pymupdf.Rect(width * inset, height * inset, width * (1 - inset), height * (1 - inset))
        )
        page.set_rotation(90)

    pdf = one_page_pdf(tmp_path, build)
    with open_pdf(pdf) as source:
        page_image = source.extract_page(0, dpi=100)
        lines = source.text_lines(0, page_image.width, page_image.height)
    shown = decoded(page_image).convert("RGB")
    if inset == 0.01:  # the scan overshoots the visible page by a hair: kept whole
        assert page_image.lossless_extracted
        assert shown.size == (IMAGE_SIZE[1], IMAGE_SIZE[0])
    else:
        assert not page_image.lossless_extracted
        assert_looks_like_page(pdf, 0, page_image)
    (line,) = lines
    centre_x = sum(x for x, _ in line.box) / 4
    centre_y = sum(y for _, y in line.box) / 4
    assert near(shown.getpixel((int(centre_x), int(centre_y))), RED)
