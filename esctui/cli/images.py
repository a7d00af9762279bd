"""``esctui import images DOC PATH...``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from esctui.cli.context import CliContext, add_command, positive_int

if TYPE_CHECKING:
    from esctui.cli.context import Subcommands


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to ``esctui`` (``commands``) and ``esctui import``."""
    p = add_command(
        imports,
        "images",
        import_images,
        "import local image files (in the order given)",
        common,
        ("document", "document name or id"),
        description="Append images to a document in the order given. A folder adds its images "
        "in natural order (page2 before page10); a quoted glob ('scans/*.tif') too.",
    )
    p.add_argument("paths", nargs="+", help="image files, folders or glob patterns")
    p.add_argument(
        "--max-pixels",
        type=positive_int,
        default=None,
        metavar="N",
        help="refuse images larger than this many pixels (default 250 million)",
    )
    p.add_argument(
        "--max-frames",
        type=positive_int,
        default=None,
        metavar="N",
        help="take at most this many pages from one multi-page TIFF (default 1000)",
    )
    p.add_argument(
        "--allow-duplicates",
        action="store_true",
        help="add an image even when the same image is already a page of the document",
    )


def import_images(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.jobs.imports.images import ImageImportOptions, LocalImagesImporter

    doc = cli.store.get_document(args.document)
    options = ImageImportOptions()
    if args.max_pixels:
        options.max_pixels = args.max_pixels
    if args.max_frames:
        options.max_frames = args.max_frames
    options.allow_duplicates = args.allow_duplicates
    return cli.run_job(LocalImagesImporter(cli.store, doc.id, args.paths, options))
