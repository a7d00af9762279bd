"""``esctui import iiif DOC URL [--max-width N] [--concurrency N] [--each-manifest]``.

Imported at CLI start-up: the importer (and httpx) are imported only when the command runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from esctui.cli.context import (
    EXIT_CANCELLED,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    CliContext,
    add_command,
    exit_status,
    positive_int,
)

if TYPE_CHECKING:
    from esctui.cli.context import Subcommands
from esctui.domain import JobStatus

DESCRIPTION = """\
Download every page image of a IIIF manifest (Presentation API 2 or 3) into the document DOC,
in canvas order; canvas labels become page names. The manifest's title, summary, metadata,
attribution and rights go into the document's description and metadata (text written by hand
is kept). Running the same import again resumes it: pages already imported are not fetched
again.

URL is an http:// or https:// address, or a manifest file on this computer.

With --each-manifest, URL may be a IIIF collection: each of its manifests is imported into its
own document, named "DOC - <manifest label>" (just the label when DOC is ""). A document of
that name that already exists is continued (a resumed import), not duplicated.
"""


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to ``esctui`` (``commands``) and ``esctui import``."""
    p = add_command(
        imports,
        "iiif",
        import_iiif,
        "import the pages of a IIIF manifest (or of each manifest of a collection)",
        common,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "document",
        metavar="DOC",
        help='document name or id (with --each-manifest: a name prefix, or "")',
    )
    p.add_argument(
        "url", metavar="URL", help="manifest (or collection) address, or a local manifest file"
    )
    p.add_argument(
        "--max-width",
        type=positive_int,
        default=None,
        metavar="N",
        help="ask the image server for images at most N pixels wide (default: full size)",
    )
    p.add_argument(
        "--concurrency",
        type=positive_int,
        default=8,
        metavar="N",
        help="downloads at once (default 8; halved for a server that says it is busy)",
    )
    p.add_argument(
        "--max-image-mb",
        type=positive_int,
        default=200,
        metavar="N",
        help="refuse a page image larger than N MB, checked while it downloads (default 200)",
    )
    p.add_argument(
        "--deadline",
        type=positive_int,
        default=60,
        metavar="SECONDS",
        help="the longest a manifest request may take, and an image's (plus 1 s per 64 KB of "
        "it), however slowly the server sends (default 60)",
    )
    p.add_argument(
        "--each-manifest",
        action="store_true",
        help="URL is a collection: import each manifest into its own new document",
    )


def import_iiif(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.jobs.imports.iiif import IiifImporter

    if args.each_manifest:
        return _import_each_manifest(args, cli)
    doc = cli.store.get_document(args.document)
    importer = IiifImporter(
        cli.store,
        doc.id,
        args.url,
        max_width=args.max_width,
        concurrency=args.concurrency,
        max_image_mb=args.max_image_mb,
        deadline=args.deadline,
    )
    return cli.run_job(importer)


def _import_each_manifest(args: argparse.Namespace, cli: CliContext) -> int:
    """One document per manifest of the collection; the worst exit status of the imports."""
    import asyncio

    from esctui.jobs.imports.iiif import CollectionImport, collection_members

    members = asyncio.run(collection_members(args.url))
    collection = CollectionImport(
        cli.store,
        members,
        prefix=args.document,
        label=args.url,
        max_width=args.max_width,
        concurrency=args.concurrency,
        max_image_mb=args.max_image_mb,
    )
    job = cli.run(collection)
    codes = [exit_status(item.job) for item in collection.imports]
    if cli.json_output:
        cli.emit_json(
            [
                {"document": item.document_name, "created": item.created, **item.job.to_record()}
                for item in collection.imports
            ]
        )
    else:
        for item in collection.imports:
            cli.print(f"manifest  {item.member.label} -> document {item.document_name!r}")
            cli.report_job(item.job)
    if job is None:
        codes.append(EXIT_CANCELLED)
    elif job.status == JobStatus.FAILED.value:
        cli.error(job.error)
        codes.append(EXIT_FAILED)
    for worst in (EXIT_CANCELLED, EXIT_FAILED, EXIT_PARTIAL):
        if worst in codes:
            return worst
    return EXIT_OK
