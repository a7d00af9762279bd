"""CLI commands for pdf (filled in by its issue)."""


def register(commands, imports, common) -> None:  # noqa: ANN001 - argparse internals
    """Nothing yet."""
