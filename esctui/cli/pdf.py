"""``esctui import pdf DOC FILE [--dpi N]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from esctui.cli.context import CliContext, add_command, positive_int

if TYPE_CHECKING:
    from esctui.cli.context import Subcommands


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to ``esctui`` (``commands``) and ``esctui import``."""
    p = add_command(
        imports,
        "pdf",
        import_pdf,
        "import the pages of a PDF as page images",
        common,
        ("document", "document name or id"),
        ("file", "the PDF file"),
        description="Scanned pages are extracted losslessly; other pages are rendered at --dpi.",
    )
    p.add_argument(
        "--dpi", type=_dpi, default=300, help="resolution for rendered pages (10 to 1200; 300)"
    )
    p.add_argument(
        "--max-pixels",
        type=positive_int,
        default=None,
        metavar="N",
        help="refuse pages larger than this many pixels (default 250 million)",
    )
    p.add_argument(
        "--allow-duplicates",
        action="store_true",
        help="add a page even when the same image is already a page of the document",
    )
    p.add_argument(
        "--text-layer",
        nargs="?",
        const="",
        default=None,
        metavar="VERSION",
        help="also import the PDF's text layer as a transcription version "
        "(default name: '<file stem> (PDF text)')",
    )
    p.add_argument(
        "--password",
        action="store_true",
        help="the PDF is encrypted: ask for its password (read from the terminal, or from the "
        "first line of standard input when it is not a terminal)",
    )


def _dpi(text: str) -> int:
    """--dpi: a whole number from 10 to 1200 (else a usage error, exit status 2)."""
    low, high = 10, 1200  # formats.pdf.MIN_DPI, MAX_DPI (not imported: pymupdf is heavy)
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be from {low} to {high} dpi, not {value}")
    return value


def import_pdf(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.jobs.imports.images import DEFAULT_MAX_PIXELS
    from esctui.jobs.imports.pdf import PdfImporter

    doc = cli.store.get_document(args.document)
    text_layer = args.text_layer
    if text_layer == "":
        text_layer = f"{Path(args.file).stem} (PDF text)"
    password = _read_password(args.file) if args.password else None
    return cli.run_job(
        PdfImporter(
            cli.store,
            doc.id,
            args.file,
            dpi=args.dpi,
            text_layer=text_layer,
            password=password,
            max_pixels=args.max_pixels or DEFAULT_MAX_PIXELS,
            allow_duplicates=args.allow_duplicates,
        )
    )


def _read_password(file: str) -> str:
    """From the terminal without echo, or the first line of standard input (scripts)."""
    import sys

    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"Password for {Path(file).name}: ")
    return sys.stdin.readline().rstrip("\n")
