"""``esctui push DOC --remote NAME …`` and ``esctui pull NAME REMOTE_DOC …``.

Imported at CLI start-up: the jobs (and httpx) are imported only when a command runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from esctui.cli.context import CliContext, UsageError, add_command
from esctui.cli.remote import remote_target

if TYPE_CHECKING:
    from esctui.cli.context import Subcommands

PUSH_DESCRIPTION = """\
Send the document DOC to the eScriptorium server saved as NAME (esctui remote add): its page
images, regions, lines, types and the texts of each chosen version, as a transcription layer
of the same name. The first push creates the document on the server, in the project given by
--project (its slug or name) or in a new one (--new-project); later pushes update that same
document and send only what changed (a page edited, a page added). An interrupted push is
finished by running it again: nothing is sent twice.
"""

PULL_DESCRIPTION = """\
Bring the document REMOTE_DOC (its number on the server, see `esctui remote documents NAME`)
from the server NAME into a local document: page images at full size, regions, lines, types
and every transcription layer (or those of --versions) as named versions. Pulled into a new
document named as the remote one unless --into names a local document. Running it again
fetches only pages not pulled yet; a push after a pull sends nothing twice.
"""


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    p = add_command(
        commands, "push", push, "send a document to an eScriptorium server", common,
        ("document", "document name or id"),
        description=PUSH_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("--remote", required=True, metavar="NAME", help="a saved server")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--project", metavar="SLUG", help="the project for a first push")
    where.add_argument("--new-project", metavar="NAME", help="create a project for it")
    p.add_argument(
        "--versions", nargs="+", metavar="NAME", default=["all"],
        help="versions to send as layers: all (default) or their names",
    )  # fmt: skip
    p.add_argument("--pages", metavar="SPEC", help="only these pages, e.g. 1-50 or 1,3,7-9")
    p.add_argument("--script", metavar="NAME", help="main script (default: the document's)")
    p.add_argument(
        "--concurrency", type=_positive, default=4, metavar="N",
        help="requests at once (default 4)",
    )  # fmt: skip
    config_option(p)

    p = add_command(
        commands, "pull", pull, "bring a document from an eScriptorium server", common,
        ("remote", "a saved server"), ("remote_document", "the document's number on the server"),
        description=PULL_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("--into", metavar="DOC", help="a local document (default: a new one)")
    p.add_argument(
        "--layout", action="store_true",
        help="fetch the layout and texts of pages already here anew (after remote segment or "
        "transcribe); pages changed here are kept",
    )  # fmt: skip
    p.add_argument(
        "--versions", nargs="+", metavar="NAME", default=["all"],
        help="layers to bring as versions: all (default) or their names",
    )  # fmt: skip
    p.add_argument(
        "--concurrency", type=_positive, default=4, metavar="N",
        help="downloads at once (default 4)",
    )  # fmt: skip
    config_option(p)


def config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config-dir", metavar="DIR", default=argparse.SUPPRESS,
        help="config folder with the saved servers (default: $ESCTUI_CONFIG)",
    )  # fmt: skip


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 32:
        raise argparse.ArgumentTypeError("must be between 1 and 32")
    return value


def _versions(values: list[str]) -> list[str] | None:
    return None if values == ["all"] else values


def push(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.jobs.remote.push import PushJob

    target = remote_target(args, args.remote)
    document = cli.store.get_document(args.document)
    job = PushJob(
        cli.store, document.id, target, project=args.project, new_project=args.new_project,
        versions=_versions(args.versions), part_ids=cli.page_ids(document.id, args.pages),
        concurrency=args.concurrency, script=args.script,
    )  # fmt: skip
    return cli.run_job(job)


def pull(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.jobs.remote.pull import PullJob

    target = remote_target(args, args.remote)
    remote_document = remote_document_number(args)
    into = cli.store.get_document(args.into).id if args.into else None
    job = PullJob(
        cli.store, target, remote_document, into=into, versions=_versions(args.versions),
        concurrency=args.concurrency, refresh=args.layout,
    )  # fmt: skip
    return cli.run_job(job)


def remote_document_number(args: argparse.Namespace) -> int:
    """``REMOTE_DOC``: a document's number on the server (else a UsageError)."""
    try:
        return int(args.remote_document)
    except ValueError:
        raise UsageError(
            f"REMOTE_DOC is the document's number on the server, not {args.remote_document!r} "
            f"(see esctui remote documents {args.remote})"
        ) from None
