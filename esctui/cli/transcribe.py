"""``esctui transcribe DOC --model NAME [--version NAME] [--pages N-M] [--force]
[--workers N]``: the text of the lines with a kraken recognition model."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from esctui.cli.context import add_command
from esctui.cli.masks import add_workers_option

if TYPE_CHECKING:  # the CLI imports every command module at start-up: keep this one light
    from esctui.cli.context import CliContext, Subcommands


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``esctui transcribe``."""
    p = add_command(
        commands,
        "transcribe",
        transcribe,
        "read the lines' text with a kraken recognition model into a version",
        common,
        ("document", "document name or id"),
        description="Transcribe the lines of the pages with a kraken recognition model into a "
        "named transcription version (default: the model's name), with confidences. Lines "
        "without a mask get kraken's mask first. A model trained on baselines cannot read box "
        "lines, and the reverse. Pages the model already read into that version are skipped "
        "(--force redoes them).",
    )
    p.add_argument(
        "--model", metavar="NAME", required=True, help="a stored recognition model (name or id)"
    )
    p.add_argument("--version", metavar="NAME", help="transcription version (default: model name)")
    p.add_argument("--pages", metavar="N,M-K", help="page numbers, e.g. 1,3-5 (default: all)")
    p.add_argument("--force", action="store_true", help="redo pages this model already transcribed")
    add_workers_option(p)


def transcribe(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.jobs.kraken.transcribe import TranscribeJob

    doc = cli.store.get_document(args.document)
    job = TranscribeJob(
        cli.store,
        doc.id,
        model=args.model,
        version=args.version,
        part_ids=cli.page_ids(doc.id, args.pages),
        force=args.force,
        workers=args.workers,
    )
    return cli.run_job(job)
