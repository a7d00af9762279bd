"""What the PDF modules share about MuPDF: one lock for every call, its messages, the error.

PyMuPDF is not safe to use from two threads at once, even on different documents, so every
call into it holds ``MUPDF_LOCK``. Importing this module turns off MuPDF's printing of errors
to the terminal (it would garble the TUI); what MuPDF reports is collected instead.
"""

from __future__ import annotations

import threading

import pymupdf

from esctui.domain.errors import FormatError

MUPDF_LOCK = threading.RLock()

with MUPDF_LOCK:
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)


class PdfError(FormatError):
    """A PDF (or one of its pages) that cannot be read; the message names the file and says why."""


def page_error(name: str, index: int, error: BaseException) -> PdfError:
    """A page that MuPDF cannot read, in words."""
    return PdfError(f"Page {index + 1} of {name} cannot be read: it is damaged ({plain(error)}).")


def plain(error: BaseException) -> str:
    message = str(error).strip() or type(error).__name__
    return message.rstrip(".")


def mupdf_messages() -> list[str]:
    """MuPDF's warnings since the last call, each once (call with the lock held)."""
    seen: list[str] = []
    for line in pymupdf.TOOLS.mupdf_warnings().splitlines():
        line = line.strip()
        if line and line not in seen:
            seen.append(line)
    return seen


def with_reports(note: str, reported: list[str]) -> str:
    if not reported:
        return note
    shown = "; ".join(reported[:3]) + ("; ..." if len(reported) > 3 else "")
    return f"{note}. The PDF reader reported: {shown}"
