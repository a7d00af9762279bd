"""``esctui transcriptions list|rename|delete``: the named transcription versions of a document."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from esctui.cli.context import CliContext, add_command
from esctui.domain.text import local_time

if TYPE_CHECKING:
    from esctui.cli.context import Subcommands


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to ``esctui`` (``commands``) and ``esctui import``."""
    parser = commands.add_parser(
        "transcriptions", help="list and manage transcription versions", parents=[common]
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_command(
        sub,
        "list",
        list_versions,
        "versions with their pages, lines and characters",
        common,
        ("document", "document name or id"),
    )
    add_command(
        sub,
        "rename",
        rename_version,
        "rename a version",
        common,
        "document",
        ("old", "the version's name or id"),
        ("new", "the new name"),
    )
    p = add_command(
        sub,
        "delete",
        delete_version,
        "delete a version and its texts (its name becomes free)",
        common,
        "document",
        ("version", "the version's name or id"),
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def list_versions(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.store.versions import VersionStats, version_stats

    doc = cli.store.get_document(args.document)
    versions = cli.store.list_transcriptions(doc.id)
    stats = version_stats(cli.store, doc.id)
    if cli.json_output:
        cli.emit_json(
            [
                {
                    **v.to_record(),
                    "pages_with_text": stats.get(v.id, VersionStats()).pages,
                    "lines_with_text": stats.get(v.id, VersionStats()).lines,
                    "characters": stats.get(v.id, VersionStats()).characters,
                }
                for v in versions
            ]
        )
    elif not versions:
        cli.print(f"{doc.name!r} has no transcription versions yet: esctui import xml")
    else:
        rows = []
        for v in versions:
            item = stats.get(v.id, VersionStats())
            rows.append(
                [
                    v.name,
                    v.source,
                    local_time(v.created),
                    str(item.pages),
                    str(item.lines),
                    str(item.characters),
                ]
            )
        cli.table(rows, ["NAME", "SOURCE", "CREATED", "PAGES", "LINES", "CHARACTERS"])
    return 0


def rename_version(args: argparse.Namespace, cli: CliContext) -> int:
    doc = cli.store.get_document(args.document)
    cli.store.rename_transcription(doc.id, args.old, args.new)
    version = cli.store.get_transcription(doc.id, args.new.strip())
    if cli.json_output:
        cli.emit_json(version.to_record())
    else:
        cli.print(f"renamed to {version.name!r}")
    return 0


def delete_version(args: argparse.Namespace, cli: CliContext) -> int:
    doc = cli.store.get_document(args.document)
    version = cli.store.get_transcription(doc.id, args.version)
    question = f"Delete the version {version.name!r} and all its texts?"
    if not cli.confirmed(question, yes=args.yes):
        return 1
    cli.store.delete_transcription(doc.id, version.id)
    if cli.json_output:
        cli.emit_json({"deleted": version.id, "name": version.name})
    else:
        cli.print(f"deleted {version.name!r}")
    return 0
