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
    for name, handler, summary in (
        ("history", line_history, "a line's text in a version and its earlier texts"),
        ("restore", restore_text, "make an earlier text of a line current again"),
    ):
        p = add_command(sub, name, handler, summary, common, ("document", "document name or id"))
        p.add_argument("--page", required=True, metavar="N", help="page number (from 1)")
        p.add_argument(
            "--line", required=True, metavar="M", help="line number on the page, or its XML ID"
        )
        p.add_argument(
            "--version", metavar="NAME", help="the version (default: the most recent one)"
        )
    p.add_argument(
        "--to",
        required=True,
        type=int,
        metavar="K",
        help="the earlier text to restore, as numbered by 'history' (1: the most recent)",
    )


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


def _line_of(args: argparse.Namespace, cli: CliContext) -> tuple[str, str, str, str, str]:
    """(document id, page id, line id, version id, version name) the options name."""
    from esctui.cli.context import UsageError
    from esctui.jobs.export import resolve_version

    doc = cli.store.get_document(args.document)
    parts = cli.store.list_parts(doc.id)
    if not args.page.isdigit() or not 1 <= int(args.page) <= len(parts):
        raise UsageError(f"--page {args.page}: the document has pages 1 to {len(parts)}")
    part = parts[int(args.page) - 1]
    lines = cli.store.read_page_layout(doc.id, part.id).lines
    number = int(args.line) if args.line.isdigit() else 0
    by_number = lines[number - 1] if 1 <= number <= len(lines) else None
    if by_number is None:
        by_number = next((line for line in lines if line.external_id == args.line), None)
    if by_number is None:
        raise UsageError(
            f"--line {args.line}: page {args.page} has lines 1 to {len(lines)} "
            "(or give a line's XML ID)"
        )
    version = resolve_version(cli.store, doc.id, args.version)
    if version is None:
        raise UsageError(f"{doc.name!r} has no transcription versions")
    return doc.id, part.id, by_number.id, version.id, version.name


def line_history(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.domain.text import printable

    doc_id, part_id, line_id, version_id, version_name = _line_of(args, cli)
    text = cli.store.line_text(doc_id, part_id, line_id, version_id)
    if cli.json_output:
        cli.emit_json(text.to_record() if text else None)
        return 0
    if text is None:
        cli.print(f"the line has no text in {printable(version_name)!r}")
        return 0
    rows = [["now", printable(text.text), printable(text.source), _when(text.time)]]
    rows += [
        [str(number), printable(old.text), printable(old.source), _when(old.time)]
        for number, old in enumerate(text.history, 1)
    ]
    cli.table(rows, ["#", "TEXT", "SOURCE", "TIME"])
    return 0


def restore_text(args: argparse.Namespace, cli: CliContext) -> int:
    from esctui.domain.text import printable

    doc_id, part_id, line_id, version_id, _name = _line_of(args, cli)
    text = cli.store.set_line_text(doc_id, part_id, line_id, version_id, "", restore=args.to - 1)
    if cli.json_output:
        cli.emit_json(text.to_record())
    else:
        cli.print(f"restored: {printable(text.text)}")
    return 0


def _when(timestamp: float) -> str:
    return local_time(timestamp) if timestamp else "-"
