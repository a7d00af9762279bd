"""The ``esctui`` command, also ``python -m esctui``: the TUI without a sub-command, else the CLI.

The one module that sees both front ends: ``esctui.ui`` and ``esctui.cli`` never import each
other (an import-linter contract says so), so the CLI is given the way to open the TUI.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """The ``esctui`` command line (default: ``sys.argv[1:]``); the exit status."""
    from esctui.cli import main as run_command
    from esctui.runtime import collect_cycles_less_often

    collect_cycles_less_often()

    return run_command(argv, open_app=open_app)


def open_app(data_dir: str | None, user: str | None) -> int:
    """The TUI on the data folder (default: the usual one) as ``user``."""
    from esctui.ui.app import run_app

    return run_app(data_dir=data_dir, user=user)


if __name__ == "__main__":
    sys.exit(main())
