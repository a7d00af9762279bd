"""An open PDF (``PdfSource``): checks on opening, page count, page images, text layer."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

import pymupdf

from esctui.formats.local_files import not_a_file
from esctui.formats.pdf.mupdf import MUPDF_LOCK, PdfError, page_error, plain
from esctui.formats.pdf.pages import (
    MAX_DPI,
    MAX_RENDER_PIXELS,
    MIN_DPI,
    NotExtractable,
    PageImage,
    PagePlan,
    extract_image,
    plan_page,
    render_page,
)
from esctui.formats.pdf.text import PdfTextLine, text_lines_on_image

_PDF_MAGIC = b"%PDF-"
_EOF_MARKER = b"%%EOF"
# PDF readers accept a file whose end-of-file marker is within its last 1024 bytes.
_EOF_SEARCH_BYTES = 1024


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
        with MUPDF_LOCK:
            doc = pymupdf.open(str(path), filetype="pdf")
            try:
                return bool(doc.needs_pass)
            finally:
                doc.close()
    except Exception:  # not readable: the import reports why
        return False


class PdfSource:
    """An open PDF: page count, page images, text layer. Safe to use from several threads."""

    def __init__(self, path: Path, *, password: str | None = None) -> None:
        self.path = path
        self.name = path.name
        self._plans: dict[int, PagePlan] = {}
        warnings: list[str] = []
        head, tail = _read_head_and_tail(path)
        if not head:
            raise PdfError(f"{self.name} is empty (0 bytes): it is not a PDF file.")
        if _PDF_MAGIC not in head:
            raise PdfError(f"{self.name} is not a PDF file: {_describe_non_pdf(head)}.")
        ends_properly = _EOF_MARKER in tail
        with MUPDF_LOCK:
            pymupdf.TOOLS.mupdf_warnings()  # forget earlier messages
            try:
                doc = pymupdf.open(str(path), filetype="pdf")
            except Exception as error:  # MuPDF raises several kinds; all mean "cannot read"
                raise PdfError(
                    f"{self.name} cannot be read as a PDF: it is damaged ({plain(error)})."
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
        with MUPDF_LOCK:
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

    def extract_page(
        self, index: int, *, dpi: int = 300, max_pixels: int = MAX_RENDER_PIXELS
    ) -> PageImage:
        """The page at `index` (0-based) as an image: its own full-page image when it has exactly
        one, taken out without loss; otherwise the page rendered at `dpi` as an RGB PNG.
        A page (or its image) of more than `max_pixels` pixels is refused before it is decoded.

        Raises PdfError when the page is damaged or too large, IndexError/ValueError for a bad
        index or dpi.
        """
        self._check_index(index)
        if not MIN_DPI <= dpi <= MAX_DPI:
            raise ValueError(f"dpi must be between {MIN_DPI} and {MAX_DPI}, not {dpi}")
        plan = self._plan(index)
        if plan.xref:
            try:
                return extract_image(self._document, self.name, index, plan, max_pixels)
            except NotExtractable as why:
                plan = PagePlan(0, None, self._page_rect(index), str(why))
                with MUPDF_LOCK:
                    self._plans[index] = plan
        return render_page(self._document, self.name, index, dpi, plan.reason, max_pixels)

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
        with MUPDF_LOCK:
            doc = self._document()
            try:
                page = doc[index]
                content = page.get_text("dict", flags=flags)
            except Exception as error:
                raise page_error(self.name, index, error) from error
            to_shown = page.rotation_matrix
            pymupdf.TOOLS.mupdf_warnings()
        return text_lines_on_image(content, to_shown, plan.shown, image_width, image_height)

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

    def _page_rect(self, index: int) -> pymupdf.Rect:
        with MUPDF_LOCK:
            doc = self._document()
            try:
                return pymupdf.Rect(doc[index].rect)
            except Exception as error:
                raise page_error(self.name, index, error) from error

    def _plan(self, index: int) -> PagePlan:
        with MUPDF_LOCK:
            plan = self._plans.get(index)
            if plan is None:
                doc = self._document()
                try:
                    plan = plan_page(doc[index])
                except Exception as error:
                    raise page_error(self.name, index, error) from error
                finally:
                    pymupdf.TOOLS.mupdf_warnings()
                self._plans[index] = plan
            return plan


def _read_head_and_tail(path: Path) -> tuple[bytes, bytes]:
    """The first and last 1024 bytes of the file (PdfError naming the file if it can't be read)."""
    if (problem := not_a_file(path, "a PDF file")) is not None:  # a FIFO would block open()
        raise PdfError(problem)
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
