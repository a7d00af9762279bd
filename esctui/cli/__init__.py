"""The headless ``esctui`` commands: documents, imports, exports, masks, models, jobs.

Without a sub-command the ``esctui`` command opens the TUI: ``main`` then calls the
``open_app`` it was given (``esctui.__main__`` gives it; this package never imports the TUI).

Each command module exposes ``register(commands, imports)``, adding its sub-parsers to the
top-level command list and to ``esctui import …``, and sets ``handler=`` on them. A handler
takes ``(args, cli: CliContext)`` and returns the exit status.
Exit status: 0 success; 1 failure; 2 usage error; 3 an import finished with items skipped;
130 cancelled (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from esctui.domain.errors import EsctuiError

COMMAND_MODULES = (
    "esctui.cli.documents",
    "esctui.cli.images",
    "esctui.cli.jobs",
    "esctui.cli.pdf",
    "esctui.cli.iiif",
    "esctui.cli.xml",
    "esctui.cli.archive",
    "esctui.cli.models",
    "esctui.cli.transcriptions",
    "esctui.cli.export",
    "esctui.cli.masks",
    "esctui.cli.segment",
    "esctui.cli.transcribe",
    "esctui.cli.remote",
    "esctui.cli.push",
)


def build_parser() -> argparse.ArgumentParser:
    # SUPPRESS: an option given before or after the sub-command is kept, never reset to None.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument(
        "--data-dir",
        metavar="DIR",
        help="data folder (default: $ESCTUI_DATA, else the user data folder)",
    )
    common.add_argument(
        "--user", help="user name for model ownership (default: $ESCTUI_USER or login)"
    )
    common.add_argument("--json", action="store_true", help="machine-readable output")
    parser = argparse.ArgumentParser(
        prog="esctui",
        description="Import images, PDFs, IIIF manifests, kraken models and ALTO/PAGE "
        "transcriptions for HTR projects. Without a command, opens the terminal app.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    import_parser = commands.add_parser(
        "import",
        help="run an import headless",
        parents=[common],
        description="Import into a document from the command line (for scripts and cron).",
    )
    imports = import_parser.add_subparsers(dest="import_kind", metavar="KIND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(commands, imports, common)
    return parser


def tui_options(argv: Sequence[str]) -> dict[str, str | None] | None:
    """``--data-dir``/``--user`` when ``argv`` asks for the TUI (no sub-command), else None.

    Lets ``esctui`` open the app without building the whole command tree (start-up time).
    Anything else (a command, ``--help``, a typo) goes through the full parser.
    """
    options: dict[str, str | None] = {"data_dir": None, "user": None}
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, equals, value = arg.partition("=")
        if name not in ("--data-dir", "--user"):
            return None
        if not equals:
            if not args:
                return None
            value = args.pop(0)
        options[name[2:].replace("-", "_")] = value
    return options


OpenApp = Callable[[str | None, str | None], int]
"""Opens the TUI on (data folder, user) and returns the exit status."""


def main(argv: Sequence[str] | None = None, *, open_app: OpenApp | None = None) -> int:
    """Run the command line ``argv``; without a command, ``open_app`` (the TUI) if given."""
    argv = sys.argv[1:] if argv is None else list(argv)
    tui = tui_options(argv)
    if tui is not None and open_app is not None:
        return open_app(tui["data_dir"], tui["user"])
    parser = build_parser()
    args = parser.parse_args(argv)
    data_dir, user = getattr(args, "data_dir", None), getattr(args, "user", None)
    from esctui.cli.context import EXIT_USAGE, CliContext, UsageError

    if args.command is None:
        if open_app is not None:
            return open_app(data_dir, user)
        parser.print_usage(sys.stderr)
        return EXIT_USAGE

    cli = CliContext(data_dir=data_dir, user=user, json_output=getattr(args, "json", False))
    try:
        return int(args.handler(args, cli) or 0)
    except UsageError as error:
        cli.error(str(error))
        return EXIT_USAGE
    except EsctuiError as error:
        cli.error(str(error))
        return 1
    except KeyboardInterrupt:
        cli.error("interrupted")
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:  # the disk is full, a file cannot be read: a sentence, not a trace
        from esctui.jobs.runner import os_error_sentence

        cli.error(os_error_sentence(error, cli.data_dir, in_job=False))
        return 1
