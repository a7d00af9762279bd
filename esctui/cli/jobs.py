"""``esctui jobs [JOB]``: list import jobs, or show one job's report."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import TYPE_CHECKING

from esctui.cli.context import CliContext

if TYPE_CHECKING:
    from esctui.cli.context import Subcommands


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to ``esctui`` (``commands``) and ``esctui import``."""
    p = commands.add_parser("jobs", help="list import jobs and their reports", parents=[common])
    p.add_argument("job", nargs="?", help="a job id (or its start) to show its full report")
    p.set_defaults(handler=show_jobs)


def show_jobs(args: argparse.Namespace, cli: CliContext) -> int:
    if args.job:
        job = cli.store.get_job(args.job)
        return 0 if cli.report_job(job) in (0, 3) else 1
    jobs = cli.store.list_jobs()
    if cli.json_output:
        cli.emit_json([j.to_record() for j in jobs])
        return 0
    if not jobs:
        cli.print("No jobs yet.")
        return 0
    cli.table(
        [
            [
                j.id,
                dt.datetime.fromtimestamp(j.started).strftime("%Y-%m-%d %H:%M"),
                j.kind,
                j.status,
                j.report.summary(),
                j.title,
            ]
            for j in jobs
        ],
        ["JOB", "STARTED", "KIND", "STATUS", "RESULT", "TITLE"],
    )
    return 0
