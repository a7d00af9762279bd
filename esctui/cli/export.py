"""``esctui export DOC --format alto|page|text [--version NAME] [--out DIR|FILE.zip] [--pages ...]``."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING

from esctui.cli.context import add_command

if TYPE_CHECKING:  # the CLI imports every command module at start-up: keep this one light
    from esctui.cli.context import CliContext, Subcommands

FORMAT_HELP = """\
Formats (one file per page, named after the page image: scan_0012.jpg -> scan_0012.xml):
  alto   ALTO v4.3: regions as TextBlocks (types as OtherTag TYPE="region"), lines with
         BASELINE, Shape/Polygon, line types (OtherTag TYPE="type"), other tags (language,
         split, ...) as OtherTag/TAGREFS, a String per word (SP between) when the import had
         words, else one per line, with the text (CONTENT) and confidence (WC).
  page   PAGE 2019: TextRegion (@type or custom="structure {type:...;}"), TextLine with Coords,
         Baseline, TextEquiv/Unicode (@conf), tags as custom="kind {type:value;}", ReadingOrder
         of the regions.
  text   plain UTF-8, one .txt per page: one line of text per line of the page, in reading
         order; an empty line where a line has no text in the version.
Both XML formats are checked against the ALTO 4 / PAGE 2019 schemas shipped with esctui.
A line without a mask gets a box around its baseline as its outline; PAGE lines without a
region are put in a region made for them (the report says so).
"""


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to ``esctui`` (``commands``) and ``esctui import``."""
    p = add_command(
        commands,
        "export",
        export,
        "export pages as ALTO, PAGE or plain text (a folder or a .zip)",
        common,
        ("document", "document name or id"),
        description="Export the pages of a document with the text of one version.",
        epilog=FORMAT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--format", choices=["alto", "page", "text"], default="alto")
    p.add_argument(
        "--version", metavar="NAME", help="transcription version (default: the most recent one)"
    )
    p.add_argument(
        "--out",
        metavar="DIR|FILE.zip",
        help="a folder, or a ZIP when the name ends in .zip (default: ./<document>_<format>.zip)",
    )
    p.add_argument("--pages", metavar="N,M-K", help="page numbers, e.g. 1,3-5 (default: all)")
    p.add_argument(
        "--images",
        action="store_true",
        help="also write each page's image beside its XML and a METS.xml tying them together "
        "(esctui import archive and eScriptorium import it back)",
    )


def _default_out(document_name: str, fmt: str) -> Path:
    safe = re.sub(r"[^\w.-]+", "_", document_name).strip("._") or "export"
    return Path.cwd() / f"{safe}_{fmt}.zip"


def export(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.jobs.export import ExportJob

    doc = cli.store.get_document(args.document)
    part_ids = cli.page_ids(doc.id, args.pages)
    out = Path(args.out) if args.out else _default_out(doc.name, args.format)
    job = ExportJob(
        cli.store,
        doc.id,
        out,
        format=args.format,
        version=args.version,
        part_ids=part_ids,
        images=args.images,
    )
    return cli.run_job(job)
