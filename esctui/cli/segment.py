"""``esctui segment DOC [--model NAME] [--pages N-M] [--lines-only|--regions-only]
[--override|--add] [--yes] [--force] [--workers N]``: regions and lines with kraken."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from esctui.cli.context import EXIT_FAILED, add_command
from esctui.cli.masks import add_workers_option

if TYPE_CHECKING:  # the CLI imports every command module at start-up: keep this one light
    from esctui.cli.context import CliContext, Subcommands


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``esctui segment``."""
    p = add_command(
        commands,
        "segment",
        segment,
        "find regions and lines (baselines, masks) with a kraken segmentation model",
        common,
        ("document", "document name or id"),
        description="Segment pages with kraken: regions and lines with baselines and masks, "
        "their types and reading order. Pages that already hold a segmentation are left alone "
        "unless --override (replace it: the lines removed take every version's texts with "
        "them; what goes is shown and asked first) or --add. Pages the same model already "
        "segmented with the same options are skipped (--force redoes them).",
    )
    p.add_argument(
        "--model",
        metavar="NAME",
        help="a stored segmentation model, by name or id (default: kraken's default, blla)",
    )
    p.add_argument("--pages", metavar="N,M-K", help="page numbers, e.g. 1,3-5 (default: all)")
    content = p.add_mutually_exclusive_group()
    content.add_argument("--lines-only", action="store_true", help="find lines only (no regions)")
    content.add_argument("--regions-only", action="store_true", help="find regions only (no lines)")
    existing = p.add_mutually_exclusive_group()
    existing.add_argument(
        "--override",
        action="store_true",
        help="replace what the pages hold (lines removed take their texts in every version)",
    )
    existing.add_argument(
        "--add", action="store_true", help="add the new regions and lines to what is there"
    )
    p.add_argument("--yes", action="store_true", help="replace without asking (for scripts)")
    p.add_argument("--force", action="store_true", help="redo pages this model already segmented")
    add_workers_option(p)


def segment(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.engine.data import SegmentationContent
    from esctui.jobs.kraken.segment import Existing, SegmentJob, replaces
    from esctui.jobs.losses import replace_losses, replace_question

    doc = cli.store.get_document(args.document)
    part_ids = cli.page_ids(doc.id, args.pages)
    content: SegmentationContent = (
        "lines" if args.lines_only else "regions" if args.regions_only else "both"
    )
    existing: Existing = "replace" if args.override else "add" if args.add else "keep"
    if existing == "replace":
        pages = part_ids if part_ids is not None else [p.id for p in cli.store.list_parts(doc.id)]
        regions, lines = replaces(content)
        losses = replace_losses(cli.store, doc.id, pages, regions=regions, lines=lines)
        question = replace_question(cli.store, doc.id, losses, len(pages))
        if question is not None:
            cli.print(question)
            if not cli.confirmed("Segment and replace?", yes=args.yes):
                return EXIT_FAILED
    job = SegmentJob(
        cli.store,
        doc.id,
        model=args.model,
        part_ids=part_ids,
        content=content,
        existing=existing,
        force=args.force,
        workers=args.workers,
    )
    return cli.run_job(job)
