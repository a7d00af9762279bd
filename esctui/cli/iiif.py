"""CLI commands for iiif (filled in by its issue)."""


def register(commands, imports, common) -> None:  # noqa: ANN001 - argparse internals
    """Nothing yet."""
