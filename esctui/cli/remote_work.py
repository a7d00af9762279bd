"""``esctui remote segment|transcribe NAME REMOTE_DOC`` and ``esctui models push MODEL``:
work done by an eScriptorium server, and the models it works with.

Imported at CLI start-up: the jobs (and httpx) are imported only when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from esctui.cli.context import CliContext, UsageError, add_command, parse_page_numbers
from esctui.cli.push import config_option, remote_document_number
from esctui.cli.remote import remote_target

if TYPE_CHECKING:
    from esctui.cli.context import Subcommands

TASKS_DESCRIPTION = """\
Start the server's own {what} of the pages of REMOTE_DOC (its number on the server, see
`esctui remote documents NAME`) and follow it until every page's task is over, with the
number of tasks queued and running. Crashed tasks are reported with the server's message.
Ctrl-C cancels the document's tasks on the server. Bring the result here with
`esctui pull NAME REMOTE_DOC`.
"""


def register_remote_actions(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """``esctui remote segment`` and ``esctui remote transcribe``."""
    for step, summary, what in (
        ("segment", "run the server's segmentation on a remote document", "segmentation"),
        ("transcribe", "run the server's recognition on a remote document", "recognition"),
    ):
        p = add_command(
            sub, step, run_remote_task, summary, common,
            ("remote", "a saved server"), ("remote_document", "the document's number there"),
            description=TASKS_DESCRIPTION.format(what=what),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip
        p.set_defaults(step=step)
        p.add_argument(
            "--model", metavar="MODEL",
            help="the model's number or name on the server"
            + (" (default: the server's own)" if step == "segment" else " (required)"),
        )  # fmt: skip
        p.add_argument("--pages", metavar="SPEC", help="only these pages, e.g. 1-50 or 1,3")
        if step == "transcribe":
            p.add_argument(
                "--version", metavar="NAME", help="the layer to write (default: the model's name)"
            )
        config_option(p)


def register_models_push(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """``esctui models push``."""
    p = add_command(
        sub, "push", push_model, "upload a model (.mlmodel) to an eScriptorium server", common,
        ("model", "a model file, or the name of a model added with esctui models add"),
    )  # fmt: skip
    p.add_argument("--remote", required=True, metavar="NAME", help="a saved server")
    p.add_argument(
        "--kind", choices=("segment", "recognize"),
        help="what the model is for (default: what the file says)",
    )  # fmt: skip
    p.add_argument("--name", help="its name on the server (default: the model's)")
    config_option(p)


def run_remote_task(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.jobs.remote.tasks import RemoteTaskJob

    target = remote_target(args, args.remote)
    pages = None
    if args.pages:
        try:
            pages = parse_page_numbers(args.pages, sys.maxsize)
        except ValueError as error:
            raise UsageError(f"--pages: {error}") from None
    job = RemoteTaskJob(
        target, remote_document_number(args), args.step, model=args.model, pages=pages,
        version=getattr(args, "version", None),
    )  # fmt: skip
    return cli.run_job(job)


def push_model(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.jobs.remote.models import ModelPushJob

    target = remote_target(args, args.remote)
    path = Path(args.model).expanduser()
    name = args.name
    if not path.is_file():  # a model esctui keeps
        model = cli.store.get_model(args.model)
        path = cli.store.models_dir() / model.filename
        name = name or model.name
    return cli.run_job(ModelPushJob(path, target, name=name, kind=args.kind))
