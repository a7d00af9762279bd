"""``esctui import pdf DOC FILE [--dpi N]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from esctui.cli.context import CliContext, add_command

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
    p.add_argument("--dpi", type=int, default=300, help="resolution for rendered pages (300)")
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


def import_pdf(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.jobs.imports.pdf import PdfImporter

    doc = cli.store.get_document(args.document)
    text_layer = args.text_layer
    if text_layer == "":
        text_layer = f"{Path(args.file).stem} (PDF text)"
    password = _read_password(args.file) if args.password else None
    return cli.run_job(
        PdfImporter(
            cli.store, doc.id, args.file, dpi=args.dpi, text_layer=text_layer, password=password
        )
    )


def _read_password(file: str) -> str:
    """From the terminal without echo, or the first line of standard input (scripts)."""
    import sys

    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"Password for {Path(file).name}: ")
    return sys.stdin.readline().rstrip("\n")
