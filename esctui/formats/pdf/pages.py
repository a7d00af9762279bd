"""How a PDF page becomes an image: its own full-page image taken out without loss, or the page
rendered at a chosen resolution.

``plan_page`` decides (once per page) whether the page shows exactly one image covering it, drawn
square to the page (maybe turned or mirrored), with nothing else visible on it. Then
``extract_image`` takes that image out: a JPEG keeps its very bytes, a JPEG 2000 its JPX bytes,
any other kind is decoded without loss into a PNG, turned to look as on the page. Otherwise
``render_page`` renders the page as an RGB PNG.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pymupdf
from PIL import Image, ImageChops

from esctui.formats.pdf.mupdf import (
    MUPDF_LOCK,
    PdfError,
    mupdf_messages,
    page_error,
    with_reports,
)

MIN_DPI = 10
MAX_DPI = 1200
# A rendered page larger than this (pixels) is refused: it would need gigabytes of memory.
MAX_RENDER_PIXELS = 400_000_000
# How far (as a fraction of the page's width or height) an image's edge may be from the page's edge
# and still count as covering the page: scanners and PDF makers leave small margins and round.
COVER_TOLERANCE = 0.03
_JPEG_EOI = b"\xff\xd9"
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_J2K_SIGNATURE = b"\xff\x4f\xff\x51"

# Colour spaces whose JPEG/JPX samples mean what any image viewer thinks they mean.
_PLAIN_COLOUR_SPACES = (
    "DeviceGray",
    "DeviceRGB",
    "ICCBased(Gray",
    "ICCBased(RGB",
    "CalGray",
    "CalRGB",
)

# What each turn of a stored image into the image as shown is called, for notes.
_TRANSPOSE_NAMES = {
    Image.Transpose.FLIP_LEFT_RIGHT: "mirrored left to right",
    Image.Transpose.FLIP_TOP_BOTTOM: "flipped upside down",
    Image.Transpose.ROTATE_180: "turned 180°",
    Image.Transpose.ROTATE_90: "turned 90° anticlockwise",
    Image.Transpose.ROTATE_270: "turned 90° clockwise",
    Image.Transpose.TRANSPOSE: "transposed",
    Image.Transpose.TRANSVERSE: "transversed",
}


@dataclass(frozen=True)
class PageImage:
    """One page as an image file's bytes.

    `lossless_extracted` is true when the page's own embedded image was taken out at its native
    resolution (never rendered or resampled); `note` says in plain words what was done.
    """

    data: bytes
    ext: str
    width: int
    height: int
    lossless_extracted: bool
    note: str
    warnings: tuple[str, ...] = ()  # what MuPDF reported while reading the page (damage)


@dataclass(frozen=True)
class PagePlan:
    """How one page becomes an image: its single full-page image, or a rendering."""

    xref: int  # 0: render the page
    transpose: Image.Transpose | None  # turns the stored image into the image as shown
    shown: pymupdf.Rect  # where the output image sits on the page as shown (rotated page space)
    reason: str  # why the page is rendered (empty when its image is extracted)
    bits_per_component: int = 8
    colour_space_name: str = ""
    colour_components: int = 0
    image_mask: bool = False
    image_pixels: int = 0  # the image's width x height, as its dictionary says


class NotExtractable(Exception):
    """The page's image cannot be taken out as it is: render the page instead (message says why)."""


def render_page(
    document: Callable[[], pymupdf.Document],
    name: str,
    index: int,
    dpi: int,
    reason: str,
    max_pixels: int = MAX_RENDER_PIXELS,
) -> PageImage:
    """The page rendered at ``dpi`` as an RGB PNG; ``reason`` says why it was not extracted.

    A page that would have more than ``max_pixels`` pixels at ``dpi`` is refused before
    anything is rendered (its size is known from the page's box)."""
    with MUPDF_LOCK:
        doc = document()
        try:
            page = doc[index]
        except Exception as error:
            raise page_error(name, index, error) from error
        rect = page.rect
        width, height = rect.width * dpi / 72, rect.height * dpi / 72
        if width * height > min(max_pixels, MAX_RENDER_PIXELS):
            raise too_large_error(name, index, dpi, rect, min(max_pixels, MAX_RENDER_PIXELS))
        pymupdf.TOOLS.mupdf_warnings()
        try:
            pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csRGB, alpha=False)
        except Exception as error:
            if "overly large" in str(error).lower():
                raise too_large_error(name, index, dpi, rect, max_pixels) from error
            raise page_error(name, index, error) from error
        reported = mupdf_messages()
        image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
        del pix
    note = f"page rendered at {dpi} dpi"
    if reason:
        note += f" ({reason})"
    return _png_page(image, lossless=False, note=with_reports(note, reported), reported=reported)


def too_large_error(
    name: str, index: int, dpi: int, rect: pymupdf.Rect, max_pixels: int
) -> PdfError:
    """A page too large to render at ``dpi``: it is not damaged, the resolution is too high."""
    width, height = rect.width * dpi / 72, rect.height * dpi / 72
    return PdfError(
        f"Page {index + 1} of {name} is too large to render at {dpi} dpi "
        f"({rect.width / 72:.0f} x {rect.height / 72:.0f} inches: {width:,.0f} x "
        f"{height:,.0f} pixels, over the limit of {max_pixels / 1e6:,.0f} megapixels); "
        "choose a lower resolution (--dpi)."
    )


def extract_image(
    document: Callable[[], pymupdf.Document],
    name: str,
    index: int,
    plan: PagePlan,
    max_pixels: int = MAX_RENDER_PIXELS,
) -> PageImage:
    """The page's own image (``plan.xref``), without loss; NotExtractable when it cannot be.

    An image of more than ``max_pixels`` pixels (its size is in its dictionary) is refused
    before it is decoded."""
    xref = plan.xref
    if plan.image_pixels > max_pixels:
        raise PdfError(
            f"Page {index + 1} of {name} holds an image of {plan.image_pixels / 1e6:,.0f} "
            f"megapixels, over the limit of {max_pixels / 1e6:,.0f} (change it with "
            "--max-pixels)."
        )
    with MUPDF_LOCK:
        doc = document()
        pymupdf.TOOLS.mupdf_warnings()
        try:
            keys = _image_keys(doc, xref)
            raw = _usable_raw_stream(doc, xref, keys, plan)
        except Exception as error:
            raise page_error(name, index, error) from error
        finally:
            reported = mupdf_messages()
    # Checking the bytes with Pillow (a JPEG 2000 is decoded) needs no lock.
    encoded = _readable_encoded_image(raw, keys.filters[0], plan) if raw is not None else None
    decoded: tuple[Image.Image, list[str]] | None = None
    if encoded is None:
        with MUPDF_LOCK:
            pymupdf.TOOLS.mupdf_warnings()
            try:
                decoded = _decode_image(document(), xref, keys, plan)
            except Exception as error:
                raise page_error(name, index, error) from error
            finally:
                reported += mupdf_messages()
    if encoded is not None:
        data, ext, image = encoded
        if plan.transpose is None:
            note = (
                "JPEG image extracted unchanged"
                if ext == "jpg"
                else "JPEG 2000 image extracted unchanged"
            )
            width, height = image.size
            return PageImage(
                data, ext, width, height, True, with_reports(note, reported), tuple(reported)
            )
        kind = "JPEG" if ext == "jpg" else "JPEG 2000"
        try:
            image.load()
        except Exception as error:
            raise page_error(name, index, error) from error
        note = (
            f"{kind} image {_TRANSPOSE_NAMES[plan.transpose]} to match the page and saved as "
            f"PNG (a {kind} cannot be turned without re-encoding it)"
        )
        return _png_page(
            image.transpose(plan.transpose),
            lossless=True,
            note=with_reports(note, reported),
            reported=reported,
        )
    assert decoded is not None
    image, steps = decoded
    if plan.transpose is not None:
        image = image.transpose(plan.transpose)
        steps.append(f"{_TRANSPOSE_NAMES[plan.transpose]} to match the page")
    note = "; ".join(steps)
    return _png_page(image, lossless=True, note=with_reports(note, reported), reported=reported)


# -- the page's plan -----------------------------------------------------------------------------


def plan_page(page: pymupdf.Page) -> PagePlan:
    """Decide whether the page is one full-page image, and find that image."""
    shown_page = pymupdf.Rect(page.rect)

    def render(reason: str) -> PagePlan:
        return PagePlan(0, None, shown_page, reason)

    infos = page.get_image_info()
    drawn = page.get_bboxlog()
    image_draws = [i for i, (kind, _) in enumerate(drawn) if kind in ("fill-image", "fill-imgmask")]
    if not infos or not image_draws:
        return render("the page has no image")
    if len(infos) > 1 or len(image_draws) > 1:
        return render(f"the page shows {max(len(infos), len(image_draws))} images")
    info = infos[0]
    placement = pymupdf.Matrix(info["transform"]) * page.rotation_matrix
    upright, transpose = _orientation(placement)
    if not upright:
        return render("the page's image is drawn at a slant")
    shown_image = pymupdf.Rect(0, 0, 1, 1) * placement
    if not _covers(shown_image, shown_page):
        return render("the page's image does not fill the page")
    xref = _find_xref(page, info)
    if not xref:
        return render("the page's image is stored inside the page's content")
    image_mask = drawn[image_draws[0]][0] == "fill-imgmask"
    masked = info.get("has-mask") or page.parent.xref_get_key(xref, "Mask")[0] != "null"
    opaque = not image_mask and not masked
    unrotated_page = shown_page * page.derotation_matrix
    for position, (kind, box) in enumerate(drawn):
        if position == image_draws[0] or kind == "ignore-text":
            continue
        visible = pymupdf.Rect(box) & unrotated_page
        if visible.is_empty:
            continue
        if position < image_draws[0] and opaque:
            continue  # painted under the image, hidden by it
        return render("the page has text or drawings besides its image")
    return PagePlan(
        xref=xref,
        transpose=transpose,
        shown=shown_image,
        reason="",
        bits_per_component=int(info.get("bpc", 8)),
        colour_space_name=str(info.get("cs-name", "")),
        colour_components=int(info.get("colorspace", 0)),
        image_mask=image_mask,
        image_pixels=int(info.get("width", 0)) * int(info.get("height", 0)),
    )


def _orientation(placement: pymupdf.Matrix) -> tuple[bool, Image.Transpose | None]:
    """Whether the image is drawn square to the page (turned by a multiple of 90°, maybe mirrored),
    and the transpose that turns the stored image into the shown one (None: shown as stored).

    The placement maps the stored image's unit square (x along columns, y down the rows) to the
    shown page.
    """
    a, b, c, d = placement.a, placement.b, placement.c, placement.d
    scale = max(abs(a), abs(b), abs(c), abs(d))
    if scale == 0:
        return False, None
    slack = scale * 1e-3
    if abs(b) <= slack and abs(c) <= slack:  # columns run along x, rows along y
        turns = {
            (True, True): None,
            (False, True): Image.Transpose.FLIP_LEFT_RIGHT,
            (True, False): Image.Transpose.FLIP_TOP_BOTTOM,
            (False, False): Image.Transpose.ROTATE_180,
        }
        return True, turns[(a > 0, d > 0)]
    if abs(a) <= slack and abs(d) <= slack:  # columns run along y, rows along x
        turns = {
            (True, True): Image.Transpose.TRANSPOSE,
            (True, False): Image.Transpose.ROTATE_270,
            (False, True): Image.Transpose.ROTATE_90,
            (False, False): Image.Transpose.TRANSVERSE,
        }
        return True, turns[(b > 0, c > 0)]
    return False, None


def _covers(image: pymupdf.Rect, page: pymupdf.Rect) -> bool:
    """True when each edge of the image is within the tolerance of the page's edge."""
    slack_x = page.width * COVER_TOLERANCE
    slack_y = page.height * COVER_TOLERANCE
    return (
        abs(image.x0 - page.x0) <= slack_x
        and abs(image.x1 - page.x1) <= slack_x
        and abs(image.y0 - page.y0) <= slack_y
        and abs(image.y1 - page.y1) <= slack_y
    )


def _find_xref(page: pymupdf.Page, info: dict) -> int:
    """The xref of the image described by `info` (0 for an inline image)."""
    candidates = {
        entry[0]
        for entry in page.get_images(full=True)
        if entry[2] == info["width"] and entry[3] == info["height"]
    }
    if len(candidates) == 1:
        return candidates.pop()
    if not candidates:
        return 0
    # Several images of the same size in the page's resources: tell them apart by content (this
    # decodes them, which is slow, but rare).
    for described in page.get_image_info(xrefs=True):
        if described.get("xref") and described["transform"] == info["transform"]:
            return int(described["xref"])
    return 0


# -- taking the image out ------------------------------------------------------------------------


@dataclass(frozen=True)
class _ImageKeys:
    """The entries of an image's dictionary that decide how it can be taken out."""

    filters: tuple[str, ...]
    decode_parms: str
    has_decode: bool
    smask: int
    mask: str  # "", "xref" or "array"
    mask_xref: int
    smask_in_data: bool


def _image_keys(doc: pymupdf.Document, xref: int) -> _ImageKeys:
    def key(name: str) -> tuple[str, str]:
        return doc.xref_get_key(xref, name)

    kind, value = key("Filter")
    if kind == "name":
        filters: tuple[str, ...] = (value.lstrip("/"),)
    elif kind == "array":
        filters = tuple(part.lstrip("/") for part in value.strip("[] ").split())
    else:
        filters = ()
    smask_kind, smask_value = key("SMask")
    mask_kind, mask_value = key("Mask")
    return _ImageKeys(
        filters=filters,
        decode_parms=key("DecodeParms")[1] if key("DecodeParms")[0] != "null" else "",
        has_decode=key("Decode")[0] != "null",
        smask=int(smask_value.split()[0]) if smask_kind == "xref" else 0,
        mask=mask_kind if mask_kind in ("xref", "array") else "",
        mask_xref=int(mask_value.split()[0]) if mask_kind == "xref" else 0,
        smask_in_data=key("SMaskInData")[1] not in ("", "0", "null"),
    )


def _usable_raw_stream(
    doc: pymupdf.Document, xref: int, keys: _ImageKeys, plan: PagePlan
) -> bytes | None:
    """The image's stored JPEG or JPX bytes when nothing in the PDF changes what they show."""
    if keys.filters not in (("DCTDecode",), ("JPXDecode",)):
        return None
    if keys.smask or keys.mask or keys.has_decode or keys.smask_in_data or plan.image_mask:
        return None
    if plan.bits_per_component != 8 or not plan.colour_space_name.startswith(_PLAIN_COLOUR_SPACES):
        return None
    if "ColorTransform" in keys.decode_parms:
        return None
    return doc.xref_stream_raw(xref)


def _readable_encoded_image(
    raw: bytes, filter_name: str, plan: PagePlan
) -> tuple[bytes, str, Image.Image] | None:
    """(bytes, extension, image) when `raw` is a complete JPEG or a JPEG 2000 that Pillow reads
    with the PDF's size and colours; None when the image must be decoded instead."""
    expected_mode = {1: "L", 3: "RGB"}.get(plan.colour_components)
    if filter_name == "DCTDecode" and raw.startswith(b"\xff\xd8"):
        ext, want_format = "jpg", "JPEG"
        if _JPEG_EOI not in raw[-64:]:
            raise NotExtractable("the page's JPEG image has no end marker: it may be incomplete")
    elif filter_name == "JPXDecode" and raw.startswith((_JP2_SIGNATURE, _J2K_SIGNATURE)):
        ext = "jp2" if raw.startswith(_JP2_SIGNATURE) else "j2k"
        want_format = "JPEG2000"
    else:
        return None
    try:
        image = Image.open(io.BytesIO(raw))
        if want_format == "JPEG2000":
            image.load()  # Pillow must be able to read it, not just its header
    except Exception:
        return None
    if image.format != want_format or image.mode != expected_mode:
        return None
    return raw, ext, image


def _decode_image(
    doc: pymupdf.Document, xref: int, keys: _ImageKeys, plan: PagePlan
) -> tuple[Image.Image, list[str]]:
    """Decode the image without loss into an RGB, grey or 1-bit Pillow image (as shown on a white
    page), with the steps taken, in words."""
    kind = "+".join(keys.filters) or "uncompressed"
    kind = {"DCTDecode": "JPEG", "JPXDecode": "JPEG 2000", "CCITTFaxDecode": "CCITT fax"}.get(
        kind, kind.removesuffix("Decode")
    )
    steps = [f"{kind} image decoded without loss to PNG"]
    pix = pymupdf.Pixmap(doc, xref)
    size = (pix.width, pix.height)
    if plan.image_mask or pix.colorspace is None:
        # A stencil mask: where its samples are set, the page is painted in the fill colour.
        painted = Image.frombytes(
            "L", size, pix.samples_mv.tobytes()[:: pix.n][: size[0] * size[1]]
        )
        steps.append("stencil mask painted in black on white")
        return _as_bilevel(Image.eval(painted, lambda value: 255 - value)), steps
    if pix.colorspace.n not in (1, 3):
        steps.append(f"{pix.colorspace.name} converted to RGB")
        pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
    mode = "L" if pix.colorspace.n == 1 else "RGB"
    samples = pix.samples
    alpha: Image.Image | None = None
    if pix.alpha:
        combined = Image.frombytes(mode + "A", size, samples)
        alpha = combined.getchannel("A")
        image = combined.convert(mode)
    else:
        image = Image.frombytes(mode, size, samples)
    del pix
    for mask_xref in (keys.smask, keys.mask_xref):
        if not mask_xref:
            continue
        mask_pix = pymupdf.Pixmap(doc, mask_xref)
        mask_mode = "L"
        mask = Image.frombytes(
            mask_mode,
            (mask_pix.width, mask_pix.height),
            mask_pix.samples_mv.tobytes()[:: mask_pix.n],
        )
        del mask_pix
        if mask.size != size:
            mask = mask.resize(size, Image.Resampling.BILINEAR)
        alpha = mask if alpha is None else ImageChops.multiply(alpha, mask)
    if alpha is not None and alpha.getextrema() != (255, 255):
        white = Image.new(mode, size, 255 if mode == "L" else (255, 255, 255))
        white.paste(image, mask=alpha)
        image = white
        steps.append("transparency flattened onto a white page")
    if plan.bits_per_component == 1 and mode == "L":
        image = _as_bilevel(image)
    elif plan.bits_per_component > 8:
        steps.append(f"{plan.bits_per_component}-bit samples reduced to 8 bits")
    return image, steps


def _as_bilevel(image: Image.Image) -> Image.Image:
    """A black-and-white grey image as a 1-bit image (smaller PNG); other images unchanged."""
    colours = image.getcolors(2)
    if colours is None or any(value not in (0, 255) for _, value in colours):
        return image
    return image.convert("1", dither=Image.Dither.NONE)


def _png_page(image: Image.Image, *, lossless: bool, note: str, reported: list[str]) -> PageImage:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    width, height = image.size
    return PageImage(buffer.getvalue(), "png", width, height, lossless, note, tuple(reported))
