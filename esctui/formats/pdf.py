"""Page images (and optionally the text layer) from PDF files, with PyMuPDF.

A scanned PDF usually holds one full-page image per page. When a page is exactly that, the image
itself is extracted: a JPEG keeps its very bytes, a JPEG 2000 its JPX bytes, and any other kind
(Flate, CCITT, JBIG2, CMYK, indexed, masked...) is decoded without loss into a PNG. Every other
page is rendered at a chosen resolution. The result always looks the way the page looks in a PDF
reader: page rotation and the image's own placement (flips, quarter turns) are applied.

This is the only esctui module that imports PyMuPDF; import it lazily. PyMuPDF is not thread-safe,
so every call into it holds one lock shared by all open PDFs; Pillow work runs outside the lock.
Importing this module turns off MuPDF's printing of errors to the terminal (it would garble the
TUI); what MuPDF reports goes into `PdfSource.warnings` and `PageImage.note` instead.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import pymupdf
from PIL import Image, ImageChops

from esctui.domain import Point, Polygon
from esctui.domain.errors import FormatError

__all__ = ["PageImage", "PdfError", "PdfSource", "PdfTextLine", "open_pdf"]

# One lock for every call into MuPDF: PyMuPDF is not safe to use from two threads at once, even on
# different documents.
_MUPDF_LOCK = threading.RLock()

with _MUPDF_LOCK:
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)

MIN_DPI = 10
MAX_DPI = 1200
# A rendered page larger than this (pixels) is refused: it would need gigabytes of memory.
MAX_RENDER_PIXELS = 400_000_000
# How far (as a fraction of the page's width or height) an image's edge may be from the page's edge
# and still count as covering the page: scanners and PDF makers leave small margins and round.
COVER_TOLERANCE = 0.03

_PDF_MAGIC = b"%PDF-"
_EOF_MARKER = b"%%EOF"
# PDF readers accept a file whose end-of-file marker is within its last 1024 bytes.
_EOF_SEARCH_BYTES = 1024
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


class PdfError(FormatError):
    """A PDF (or one of its pages) that cannot be read; the message names the file and says why."""


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


@dataclass(frozen=True)
class PdfTextLine:
    """A line of the PDF's text layer in the page image's pixel space."""

    text: str
    box: Polygon  # 4 points: top-left, top-right, bottom-right, bottom-left (along the text)
    baseline: Polygon  # 2 points: start and end of the line's baseline


@dataclass(frozen=True)
class _PagePlan:
    """How one page becomes an image: its single full-page image, or a rendering."""

    xref: int  # 0: render the page
    transpose: Image.Transpose | None  # turns the stored image into the image as shown
    shown: pymupdf.Rect  # where the output image sits on the page as shown (rotated page space)
    reason: str  # why the page is rendered (empty when its image is extracted)
    bits_per_component: int = 8
    colour_space_name: str = ""
    colour_components: int = 0
    image_mask: bool = False


class _NotExtractable(Exception):
    """The page's image cannot be taken out as it is: render the page instead (message says why)."""


def open_pdf(path: Path, *, password: str | None = None) -> PdfSource:
    """Open a PDF for reading page images; use it as a context manager (or call `close()`).

    Raises PdfError when the file is missing, not a PDF, encrypted (without the right password),
    truncated or so damaged that no page can be read, or has no pages.
    """
    return PdfSource(Path(path), password=password)


def needs_password(path: Path) -> bool:
    """True for an encrypted PDF that cannot be opened without its password (False for
    anything else, readable or not: the import says what is wrong with it)."""
    try:
        with _MUPDF_LOCK:
            doc = pymupdf.open(str(path), filetype="pdf")
            try:
                return bool(doc.needs_pass)
            finally:
                doc.close()
    except Exception:  # noqa: BLE001 - not readable: the import reports why
        return False


class PdfSource:
    """An open PDF: page count, page images, text layer. Safe to use from several threads."""

    def __init__(self, path: Path, *, password: str | None = None) -> None:
        self.path = path
        self.name = path.name
        self._plans: dict[int, _PagePlan] = {}
        warnings: list[str] = []
        head, tail = _read_head_and_tail(path)
        if not head:
            raise PdfError(f"{self.name} is empty (0 bytes): it is not a PDF file.")
        if _PDF_MAGIC not in head:
            raise PdfError(f"{self.name} is not a PDF file: {_describe_non_pdf(head)}.")
        ends_properly = _EOF_MARKER in tail
        with _MUPDF_LOCK:
            pymupdf.TOOLS.mupdf_warnings()  # forget earlier messages
            try:
                doc = pymupdf.open(str(path), filetype="pdf")
            except Exception as error:  # MuPDF raises several kinds; all mean "cannot read"
                raise PdfError(
                    f"{self.name} cannot be read as a PDF: it is damaged ({_plain(error)})."
                ) from error
            try:
                if doc.needs_pass and not (password and doc.authenticate(password)):
                    what = "the password given is wrong" if password else "no password was given"
                    raise PdfError(
                        f"{self.name} is encrypted and needs a password to open ({what}). "
                        "Give its password (esctui import pdf --password; the import dialog "
                        "asks for it), or save an unprotected copy and import that."
                    )
                if doc.is_repaired and not ends_properly:
                    raise PdfError(
                        f"{self.name} is truncated: the file stops before its end (an incomplete "
                        "download or copy?). Get a complete copy of the file and import again."
                    )
                if doc.page_count == 0:
                    raise PdfError(f"{self.name} has no pages.")
                if doc.is_repaired:
                    warnings.append(
                        f"{self.name} is damaged and was repaired while opening it; its pages "
                        "were read, but check that none is missing or incomplete."
                    )
                elif not ends_properly:
                    warnings.append(
                        f"{self.name} does not end with a PDF end-of-file marker; it may be "
                        "incomplete."
                    )
                self._page_count = doc.page_count
            except BaseException:
                doc.close()
                raise
            finally:
                pymupdf.TOOLS.mupdf_warnings()
        self._doc: pymupdf.Document | None = doc
        self.warnings: tuple[str, ...] = tuple(warnings)

    # -- life cycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the file (idempotent)."""
        with _MUPDF_LOCK:
            if self._doc is not None:
                self._doc.close()
                self._doc = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def page_count(self) -> int:
        """Number of pages (at least 1)."""
        return self._page_count

    # -- page images -----------------------------------------------------------------------------

    def extract_page(self, index: int, *, dpi: int = 300) -> PageImage:
        """The page at `index` (0-based) as an image: its own full-page image when it has exactly
        one, taken out without loss; otherwise the page rendered at `dpi` as an RGB PNG.

        Raises PdfError when the page is damaged, IndexError/ValueError for a bad index or dpi.
        """
        self._check_index(index)
        if not MIN_DPI <= dpi <= MAX_DPI:
            raise ValueError(f"dpi must be between {MIN_DPI} and {MAX_DPI}, not {dpi}")
        plan = self._plan(index)
        if plan.xref:
            try:
                return self._extract_image(index, plan)
            except _NotExtractable as why:
                plan = _PagePlan(0, None, self._page_rect(index), str(why))
                with _MUPDF_LOCK:
                    self._plans[index] = plan
        return self._render(index, dpi, plan.reason)

    def text_lines(self, index: int, image_width: int, image_height: int) -> list[PdfTextLine]:
        """The page's text layer (visible or not) as lines in the pixel space of the page's image
        (as returned by `extract_page`, possibly scaled to `image_width` x `image_height`).

        Lines outside the image are left out; boxes are clipped to the image.
        """
        self._check_index(index)
        if image_width <= 0 or image_height <= 0:
            raise ValueError(f"image size must be positive, not {image_width}x{image_height}")
        plan = self._plan(index)
        flags = (
            pymupdf.TEXT_PRESERVE_LIGATURES
            | pymupdf.TEXT_PRESERVE_WHITESPACE
            | pymupdf.TEXT_MEDIABOX_CLIP
        )
        with _MUPDF_LOCK:
            page = self._document()[index]
            try:
                content = page.get_text("dict", flags=flags)
            except Exception as error:
                raise self._page_error(index, error) from error
            to_shown = page.rotation_matrix
            pymupdf.TOOLS.mupdf_warnings()
        shown = plan.shown
        if shown.is_empty:
            return []
        scale_x = image_width / shown.width
        scale_y = image_height / shown.height

        def to_pixels(point: pymupdf.Point) -> Point:
            on_page = point * to_shown
            x = (on_page.x - shown.x0) * scale_x
            y = (on_page.y - shown.y0) * scale_y
            return (
                round(min(max(x, 0.0), image_width), 2),
                round(min(max(y, 0.0), image_height), 2),
            )

        image_area = pymupdf.Rect(0, 0, image_width, image_height)
        lines: list[PdfTextLine] = []
        for block in content.get("blocks", []):
            for line in block.get("lines", []):
                spans = [span for span in line.get("spans", []) if span.get("text")]
                text = "".join(span["text"] for span in spans).strip()
                if not text:
                    continue
                quad = _line_quad(line, spans)
                corners = [quad.ul, quad.ur, quad.lr, quad.ll]
                outline = pymupdf.Rect(quad.rect) * to_shown
                outline = pymupdf.Rect(
                    (outline.x0 - shown.x0) * scale_x,
                    (outline.y0 - shown.y0) * scale_y,
                    (outline.x1 - shown.x0) * scale_x,
                    (outline.y1 - shown.y0) * scale_y,
                )
                if not outline.intersects(image_area):
                    continue
                start, end = _baseline(line, spans, corners)
                lines.append(
                    PdfTextLine(
                        text=text,
                        box=[to_pixels(corner) for corner in corners],
                        baseline=[to_pixels(start), to_pixels(end)],
                    )
                )
        return lines

    # -- internals -------------------------------------------------------------------------------

    def _document(self) -> pymupdf.Document:
        if self._doc is None:
            raise ValueError(f"{self.name} is closed")
        return self._doc

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self._page_count:
            raise IndexError(
                f"page index {index} is out of range: {self.name} has {self._page_count} pages"
            )

    def _page_error(self, index: int, error: BaseException) -> PdfError:
        return PdfError(
            f"Page {index + 1} of {self.name} cannot be read: it is damaged ({_plain(error)})."
        )

    def _page_rect(self, index: int) -> pymupdf.Rect:
        with _MUPDF_LOCK:
            return pymupdf.Rect(self._document()[index].rect)

    def _plan(self, index: int) -> _PagePlan:
        with _MUPDF_LOCK:
            plan = self._plans.get(index)
            if plan is None:
                page = self._document()[index]
                try:
                    plan = _plan_page(page)
                except Exception as error:
                    raise self._page_error(index, error) from error
                finally:
                    pymupdf.TOOLS.mupdf_warnings()
                self._plans[index] = plan
            return plan

    def _render(self, index: int, dpi: int, reason: str) -> PageImage:
        with _MUPDF_LOCK:
            page = self._document()[index]
            rect = page.rect
            pixels = (rect.width * dpi / 72) * (rect.height * dpi / 72)
            if pixels > MAX_RENDER_PIXELS:
                raise PdfError(
                    f"Page {index + 1} of {self.name} is too large to render at {dpi} dpi "
                    f"({rect.width / 72:.0f} x {rect.height / 72:.0f} inches); "
                    "choose a lower resolution."
                )
            pymupdf.TOOLS.mupdf_warnings()
            try:
                pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csRGB, alpha=False)
            except Exception as error:
                raise self._page_error(index, error) from error
            reported = _mupdf_messages()
            image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
            del pix
        note = f"page rendered at {dpi} dpi"
        if reason:
            note += f" ({reason})"
        return _png_page(image, lossless=False, note=_with_reports(note, reported))

    def _extract_image(self, index: int, plan: _PagePlan) -> PageImage:
        xref = plan.xref
        with _MUPDF_LOCK:
            doc = self._document()
            pymupdf.TOOLS.mupdf_warnings()
            try:
                keys = _image_keys(doc, xref)
                raw = _usable_raw_stream(doc, xref, keys, plan)
            except Exception as error:
                raise self._page_error(index, error) from error
            finally:
                reported = _mupdf_messages()
        # Checking the bytes with Pillow (a JPEG 2000 is decoded) needs no lock.
        encoded = _readable_encoded_image(raw, keys.filters[0], plan) if raw is not None else None
        decoded: tuple[Image.Image, list[str]] | None = None
        if encoded is None:
            with _MUPDF_LOCK:
                pymupdf.TOOLS.mupdf_warnings()
                try:
                    decoded = _decode_image(self._document(), xref, keys, plan)
                except Exception as error:
                    raise self._page_error(index, error) from error
                finally:
                    reported += _mupdf_messages()
        if encoded is not None:
            data, ext, image = encoded
            if plan.transpose is None:
                note = (
                    "JPEG image extracted unchanged"
                    if ext == "jpg"
                    else "JPEG 2000 image extracted unchanged"
                )
                width, height = image.size
                return PageImage(data, ext, width, height, True, _with_reports(note, reported))
            kind = "JPEG" if ext == "jpg" else "JPEG 2000"
            try:
                image.load()
            except Exception as error:
                raise self._page_error(index, error) from error
            note = (
                f"{kind} image {_TRANSPOSE_NAMES[plan.transpose]} to match the page and saved as "
                f"PNG (a {kind} cannot be turned without re-encoding it)"
            )
            return _png_page(
                image.transpose(plan.transpose), lossless=True, note=_with_reports(note, reported)
            )
        assert decoded is not None
        image, steps = decoded
        if plan.transpose is not None:
            image = image.transpose(plan.transpose)
            steps.append(f"{_TRANSPOSE_NAMES[plan.transpose]} to match the page")
        note = "; ".join(steps)
        return _png_page(image, lossless=True, note=_with_reports(note, reported))


# -- the page's plan -----------------------------------------------------------------------------


def _plan_page(page: pymupdf.Page) -> _PagePlan:
    """Decide whether the page is one full-page image, and find that image."""
    shown_page = pymupdf.Rect(page.rect)

    def render(reason: str) -> _PagePlan:
        return _PagePlan(0, None, shown_page, reason)

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
    return _PagePlan(
        xref=xref,
        transpose=transpose,
        shown=shown_image,
        reason="",
        bits_per_component=int(info.get("bpc", 8)),
        colour_space_name=str(info.get("cs-name", "")),
        colour_components=int(info.get("colorspace", 0)),
        image_mask=image_mask,
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
    doc: pymupdf.Document, xref: int, keys: _ImageKeys, plan: _PagePlan
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
    raw: bytes, filter_name: str, plan: _PagePlan
) -> tuple[bytes, str, Image.Image] | None:
    """(bytes, extension, image) when `raw` is a complete JPEG or a JPEG 2000 that Pillow reads
    with the PDF's size and colours; None when the image must be decoded instead."""
    expected_mode = {1: "L", 3: "RGB"}.get(plan.colour_components)
    if filter_name == "DCTDecode" and raw.startswith(b"\xff\xd8"):
        ext, want_format = "jpg", "JPEG"
        if _JPEG_EOI not in raw[-64:]:
            raise _NotExtractable("the page's JPEG image has no end marker: it may be incomplete")
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
    doc: pymupdf.Document, xref: int, keys: _ImageKeys, plan: _PagePlan
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


# -- small helpers -------------------------------------------------------------------------------


def _png_page(image: Image.Image, *, lossless: bool, note: str) -> PageImage:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    width, height = image.size
    return PageImage(buffer.getvalue(), "png", width, height, lossless, note)


def _read_head_and_tail(path: Path) -> tuple[bytes, bytes]:
    """The first and last 1024 bytes of the file (PdfError naming the file if it can't be read)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_EOF_SEARCH_BYTES)
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - _EOF_SEARCH_BYTES))
            tail = handle.read()
    except FileNotFoundError as error:
        raise PdfError(f"{path.name} does not exist (looked in {path.parent}).") from error
    except IsADirectoryError as error:
        raise PdfError(f"{path.name} is a folder, not a PDF file.") from error
    except PermissionError as error:
        raise PdfError(f"{path.name} cannot be read: permission denied.") from error
    except OSError as error:
        raise PdfError(f"{path.name} cannot be read: {error.strerror or error}.") from error
    return head, tail


def _describe_non_pdf(head: bytes) -> str:
    """What a file that is not a PDF seems to be, in words."""
    signatures = [
        (b"\xff\xd8\xff", "it is a JPEG image"),
        (b"\x89PNG", "it is a PNG image"),
        (b"II*\x00", "it is a TIFF image"),
        (b"MM\x00*", "it is a TIFF image"),
        (b"GIF8", "it is a GIF image"),
        (b"PK\x03\x04", "it is a ZIP archive (or a Word, EPUB or other zipped document)"),
        (b"%!PS", "it is a PostScript file"),
        (b"AT&TFORM", "it is a DjVu document"),
    ]
    for signature, description in signatures:
        if head.startswith(signature):
            return description
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "it is a web page (HTML), perhaps an error page saved instead of the PDF"
    if lowered.startswith(b"<?xml") or lowered.startswith(b"<"):
        return "it is an XML or HTML text file"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "it does not start with the PDF signature %PDF-"
    return "it contains plain text, not PDF data"


def _plain(error: BaseException) -> str:
    message = str(error).strip() or type(error).__name__
    return message.rstrip(".")


def _mupdf_messages() -> list[str]:
    """MuPDF's warnings since the last call, each once (call with the lock held)."""
    seen: list[str] = []
    for line in pymupdf.TOOLS.mupdf_warnings().splitlines():
        line = line.strip()
        if line and line not in seen:
            seen.append(line)
    return seen


def _with_reports(note: str, reported: list[str]) -> str:
    if not reported:
        return note
    shown = "; ".join(reported[:3]) + ("; ..." if len(reported) > 3 else "")
    return f"{note}. The PDF reader reported: {shown}"


def _line_quad(line: dict, spans: list[dict]) -> pymupdf.Quad:
    try:
        quad = pymupdf.recover_line_quad(line, spans=spans)
        if not quad.is_empty:
            return quad
    except Exception:
        pass
    return pymupdf.Rect(line["bbox"]).quad


def _baseline(
    line: dict, spans: list[dict], corners: list[pymupdf.Point]
) -> tuple[pymupdf.Point, pymupdf.Point]:
    """Start and end of the line's baseline (unrotated page space)."""
    direction = pymupdf.Point(line.get("dir", (1.0, 0.0)))
    origin = pymupdf.Point(spans[0]["origin"]) if spans else corners[3]
    along = [
        (corner - origin).x * direction.x + (corner - origin).y * direction.y for corner in corners
    ]
    return origin + direction * min(along), origin + direction * max(along)
