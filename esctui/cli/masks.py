"""``esctui masks DOC [--pages N,M-K] [--all] [--workers N]``: line masks around baselines."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from esctui.cli.context import add_command, positive_int

if TYPE_CHECKING:  # the CLI imports every command module at start-up: keep this one light
    from esctui.cli.context import CliContext, Subcommands


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to ``esctui`` (``commands``) and ``esctui import``."""
    p = add_command(
        commands,
        "masks",
        compute_masks,
        "compute line masks around baselines (kraken)",
        common,
        ("document", "document name or id"),
        description="Compute the mask (boundary polygon) of each line from its baseline and "
        "the page image, with kraken. By default only lines without a mask; --all replaces "
        "every mask. The document's line offset (baseline, topline, centered) says on which "
        "side of the baseline the text lies.",
    )
    p.add_argument("--pages", metavar="N,M-K", help="page numbers, e.g. 1,3-5 (default: all)")
    p.add_argument(
        "--all",
        dest="all_lines",
        action="store_true",
        help="recompute every line's mask, not only the missing ones",
    )
    add_workers_option(p)


def add_workers_option(p: argparse.ArgumentParser) -> None:
    """``--workers N``: kraken processes (the default depends on cores and free memory)."""
    p.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="kraken processes working at once, a page each (default: one per core, as many "
        "as the free memory holds at about 3 GB each)",
    )


def compute_masks(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.jobs.masks import MasksJob

    doc = cli.store.get_document(args.document)
    job = MasksJob(
        cli.store,
        doc.id,
        part_ids=cli.page_ids(doc.id, args.pages),
        only_missing=not args.all_lines,
        workers=args.workers,
    )
    return cli.run_job(job)
