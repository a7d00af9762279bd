"""``esctui jobs [JOB]``: list import jobs, or show one job's report."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from esctui.cli.context import CliContext, add_command
from esctui.domain.text import local_time

if TYPE_CHECKING:
    from esctui.cli.context import Subcommands


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to ``esctui`` (``commands``) and ``esctui import``."""
    p = add_command(commands, "jobs", show_jobs, "list import jobs and their reports", common)
    p.add_argument("job", nargs="?", help="a job id (or its start) to show its full report")


def show_jobs(args: argparse.Namespace, cli: CliContext) -> int:
    if args.job:
        job = cli.store.get_job(args.job)
        return 0 if cli.report_job(job) in (0, 3) else 1
    return cli.show_list(
        cli.store.list_jobs(),
        ["JOB", "STARTED", "KIND", "STATUS", "RESULT", "TITLE"],
        lambda j: [j.id, local_time(j.started), j.kind, j.status, j.report.summary(), j.title],
        "No jobs yet.",
    )
