"""``esctui export DOC --format alto|page|text [--version NAME] [--out DIR|FILE.zip] [--pages ...]``."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports every command module at start-up: keep this one light
    from esctui.cli.context import CliContext
    from esctui.domain import Part

EXIT_USAGE = 2

FORMAT_HELP = """\
Formats (one file per page, named after the page image: scan_0012.jpg -> scan_0012.xml):
  alto   ALTO v4.3: regions as TextBlocks (types as OtherTag TYPE="region"), lines with
         BASELINE, Shape/Polygon, line types (OtherTag TYPE="type"), one String per line with
         the text (CONTENT) and confidence (WC).
  page   PAGE 2019: TextRegion (@type or custom="structure {type:...;}"), TextLine with Coords,
         Baseline, TextEquiv/Unicode (@conf), ReadingOrder of the regions.
  text   plain UTF-8, one .txt per page: one line of text per line of the page, in reading
         order; an empty line where a line has no text in the version.
Both XML formats are checked against the ALTO 4 / PAGE 2019 schemas shipped with esctui.
A line without a mask gets a box around its baseline as its outline; PAGE lines without a
region are put in a region made for them (the report says so).
"""


def register(commands, imports, common) -> None:  # noqa: ANN001 - argparse internals
    p = commands.add_parser(
        "export",
        parents=[common],
        help="export pages as ALTO, PAGE or plain text (a folder or a .zip)",
        description="Export the pages of a document with the text of one version.",
        epilog=FORMAT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("document", help="document name or id")
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
    p.set_defaults(handler=export)


_PAGE_SPEC = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_page_numbers(spec: str, count: int) -> list[int]:
    """1-based page numbers from ``"1,3-5"`` (in the order given, each once).

    Raises ``ValueError`` with a plain message for a malformed spec or a page out of range.
    """
    numbers: list[int] = []
    for piece in spec.split(","):
        match = _PAGE_SPEC.match(piece)
        if not match:
            raise ValueError(f"{piece.strip()!r} is not a page number or a range like 3-5.")
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if first < 1 or last < first:
            raise ValueError(f"{piece.strip()!r} is not a valid range of pages.")
        if last > count:
            raise ValueError(f"page {last} does not exist; the document has {count} pages.")
        numbers.extend(n for n in range(first, last + 1) if n not in numbers)
    return numbers


def select_parts(parts: list[Part], spec: str | None) -> list[Part]:
    """The pages named by a ``--pages`` spec (all when None)."""
    if not spec:
        return parts
    return [parts[n - 1] for n in parse_page_numbers(spec, len(parts))]


def _default_out(document_name: str, fmt: str) -> Path:
    safe = re.sub(r"[^\w.-]+", "_", document_name).strip("._") or "export"
    return Path.cwd() / f"{safe}_{fmt}.zip"


def export(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.exporters.export import ExportJob

    doc = cli.store.get_document(args.document)
    parts = cli.store.list_parts(doc.id)
    try:
        chosen = select_parts(parts, args.pages)
    except ValueError as error:
        cli.error(f"--pages: {error}")
        return EXIT_USAGE
    out = Path(args.out) if args.out else _default_out(doc.name, args.format)
    job = ExportJob(
        cli.store,
        doc.id,
        out,
        format=args.format,
        version=args.version,
        part_ids=[p.id for p in chosen] if args.pages else None,
    )
    return cli.run_import(job)
