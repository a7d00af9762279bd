"""Page images (and optionally the text layer) from PDF files, with PyMuPDF.

A scanned PDF usually holds one full-page image per page. When a page is exactly that, the image
itself is extracted: a JPEG keeps its very bytes, a JPEG 2000 its JPX bytes, and any other kind
(Flate, CCITT, JBIG2, CMYK, indexed, masked...) is decoded without loss into a PNG. Every other
page is rendered at a chosen resolution. The result always looks the way the page looks in a PDF
reader: page rotation and the image's own placement (flips, quarter turns) are applied.

This is the only esctui package that imports PyMuPDF; import it lazily. PyMuPDF is not
thread-safe, so every call into it holds one lock shared by all open PDFs (``mupdf``); Pillow
work runs outside the lock. MuPDF's printing of errors to the terminal is turned off (it would
garble the TUI); what MuPDF reports goes into `PdfSource.warnings` and `PageImage.note` instead.

``source``: the open PDF (``PdfSource``); ``pages``: a page as an image (extracted or rendered);
``text``: the text layer as lines on the page's image.
"""

from esctui.formats.pdf.mupdf import PdfError
from esctui.formats.pdf.pages import (
    COVER_TOLERANCE,
    MAX_DPI,
    MAX_RENDER_PIXELS,
    MIN_DPI,
    PageImage,
)
from esctui.formats.pdf.source import PdfSource, needs_password, open_pdf
from esctui.formats.pdf.text import PdfTextLine

__all__ = [
    "COVER_TOLERANCE",
    "MAX_DPI",
    "MAX_RENDER_PIXELS",
    "MIN_DPI",
    "PageImage",
    "PdfError",
    "PdfSource",
    "PdfTextLine",
    "needs_password",
    "open_pdf",
]
