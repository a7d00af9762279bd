"""``esctui import archive DOC ZIP|DIR`` and ``esctui import mets DOC FILE|ZIP|URL``.

Imported at CLI start-up: the importers (lxml, httpx) are imported only when a command runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from esctui.cli.context import CliContext, add_command
from esctui.cli.xml import add_mapping_options, mapping_from

if TYPE_CHECKING:
    from esctui.cli.context import Subcommands

ARCHIVE_DESCRIPTION = """\
Import a ZIP or a folder of page images with their ALTO/PAGE files (a Transkribus or
eScriptorium export, an OCR-D workspace) into DOC: the images become pages (in the natural
order of their names, or in the order of a METS file inside), the XML files their regions,
lines and texts. Each XML file goes to the page its METS says, else to the image it names (then
ignoring folders, case, extension; then by its own name). Each XML folder or METS file group
becomes a transcription version ("<name> | <group>"). An image already in DOC is not added
again; its XML goes to that page (earlier texts are kept in each line's history).
"""

METS_DESCRIPTION = """\
Import the document a METS file describes into DOC: a local mets.xml, a ZIP or folder holding
one, or an http(s) address (an OAI-PMH GetRecord answer too). Pages come in the order of the
PHYSICAL structMap, images from --image-group (default: the largest, MAX > DEFAULT > ...),
each ALTO/PAGE file group into a version "<name> | <USE>"; the MODS description goes into
the document's description and metadata. Remote images are downloaded several at a time;
running the same import again resumes it. Files on other hosts than --allow-domain, file://
addresses and paths leading out of the folder are left out, with the reason.
"""


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to ``esctui import``."""
    p = add_command(
        imports,
        "archive",
        import_archive,
        "import page images with their ALTO/PAGE files from a ZIP or a folder",
        common,
        ("document", "document name or id"),
        ("path", "a .zip file or a folder"),
        description=ARCHIVE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_options(p)
    p.add_argument("--mets", metavar="PATH", help="the METS file to follow, when it holds several")
    add_mapping_options(p)
    p = add_command(
        imports,
        "mets",
        import_mets,
        "import the pages, transcriptions and description of a METS file or address",
        common,
        ("document", "document name or id"),
        ("source", "a mets.xml file, a .zip or folder holding one, or an http(s) address"),
        description=METS_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_options(p)
    p.add_argument(
        "--allow-domain",
        action="append",
        metavar="HOST",
        help="fetch files only from this host and its subdomains (repeatable; default: any)",
    )
    p.add_argument(
        "--concurrency", type=int, default=8, metavar="N", help="downloads at once (default 8)"
    )


def _common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--name", help='transcription version name (default: "METS Import", or the file name)'
    )
    p.add_argument(
        "--image-group", metavar="USE", help="the METS file group to take the images from"
    )
    p.add_argument(
        "--override",
        action="store_true",
        help="replace the layouts of pages that already have some (default: update in place)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="show what would be imported; write nothing"
    )


def import_archive(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.jobs.imports.archive import ArchiveImporter

    doc = cli.store.get_document(args.document)
    mapping = mapping_from(args)
    for line in mapping.describe():
        cli.print(f"mapping: {line}")
    importer = ArchiveImporter(
        cli.store,
        doc.id,
        args.path,
        name=args.name,
        image_group=args.image_group,
        mets_path=args.mets,
        override=args.override,
        dry_run=args.dry_run,
        mapping=mapping if mapping.describe() else None,
    )
    return cli.run_job(importer)


def import_mets(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.jobs.imports.mets import MetsImporter

    doc = cli.store.get_document(args.document)
    importer = MetsImporter(
        cli.store,
        doc.id,
        args.source,
        name=args.name,
        image_group=args.image_group,
        allowed_domains=tuple(args.allow_domain) if args.allow_domain else None,
        override=args.override,
        dry_run=args.dry_run,
        concurrency=max(1, args.concurrency),
    )
    return cli.run_job(importer)
