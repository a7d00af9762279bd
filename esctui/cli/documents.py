"""``esctui documents list|create|rename|delete|show|describe``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from esctui.cli.context import CliContext, UsageError, add_command
from esctui.domain import LineOffset, ReadDirection, describe_typology
from esctui.domain.text import local_time

if TYPE_CHECKING:
    from esctui.cli.context import Subcommands


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to ``esctui`` (``commands``) and ``esctui import``."""
    parser = commands.add_parser("documents", help="list and manage documents", parents=[common])
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_command(sub, "list", list_documents, "list documents with page counts", common)
    p = add_command(sub, "create", create_document, "create a document", common, "name")
    p.add_argument("--script", default="", help="main script, e.g. Latin, Arabic")
    p.add_argument("--direction", choices=[d.value for d in ReadDirection], default="ltr")
    p.add_argument("--line-offset", choices=[o.value for o in LineOffset], default="baseline")
    p.add_argument("--description", default="")
    add_command(sub, "rename", rename_document, "rename a document", common, "document", "new_name")
    p = add_command(
        sub, "delete", delete_document, "delete a document and its files", common, "document"
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_command(
        sub, "show", show_document, "show a document's description and pages", common, "document"
    )
    p = add_command(
        sub, "describe", describe_document, "set description text or metadata", common, "document"
    )
    p.add_argument("--text", help="free-text description")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--unset", action="append", default=[], metavar="KEY")


def list_documents(args: argparse.Namespace, cli: CliContext) -> int:
    return cli.show_list(
        cli.store.list_documents(),
        ["NAME", "PAGES", "SCRIPT", "DIR", "CHANGED"],
        lambda d: [
            d.name,
            str(d.page_count),
            d.main_script,
            d.read_direction,
            local_time(d.updated),
        ],
        "No documents yet: esctui documents create NAME",
    )


def create_document(args: argparse.Namespace, cli: CliContext) -> int:
    doc = cli.store.create_document(
        args.name,
        main_script=args.script,
        read_direction=args.direction,
        line_offset=args.line_offset,
        description=args.description,
    )
    if cli.json_output:
        cli.emit_json(doc.to_record())
    else:
        cli.print(f"created {doc.name!r} [{doc.id}]")
    return 0


def rename_document(args: argparse.Namespace, cli: CliContext) -> int:
    doc = cli.store.rename_document(args.document, args.new_name)
    cli.emit_json(doc.to_record()) if cli.json_output else cli.print(f"renamed to {doc.name!r}")
    return 0


def delete_document(args: argparse.Namespace, cli: CliContext) -> int:
    doc = cli.store.get_document(args.document)
    if not cli.confirmed(f"Delete {doc.name!r} and its {doc.page_count} pages?", yes=args.yes):
        return 1
    cli.store.delete_document(doc.id)
    cli.print(f"deleted {doc.name!r}") if not cli.json_output else cli.emit_json(
        {"deleted": doc.id}
    )
    return 0


def show_document(args: argparse.Namespace, cli: CliContext) -> int:
    doc = cli.store.get_document(args.document)
    parts = cli.store.list_parts(doc.id)
    versions = cli.store.list_transcriptions(doc.id)
    if cli.json_output:
        cli.emit_json(
            {
                **doc.to_record(),
                "parts": [p.to_record() for p in parts],
                "transcriptions": [v.to_record() for v in versions],
            }
        )
        return 0
    cli.print(f"{doc.name}  [{doc.id}]")
    cli.print(
        f"script: {doc.main_script or '-'}  direction: {doc.read_direction}  "
        f"line offset: {doc.line_offset}"
    )
    if doc.description:
        cli.print_block(doc.description)
    for key, value in doc.metadata.items():
        cli.print(f"  {key}: {value}")
    cli.table(
        [
            [
                str(p.order + 1),
                p.name,
                f"{p.width}x{p.height}",
                p.format,
                str(p.region_count),
                str(p.line_count),
            ]
            for p in parts
        ],
        ["#", "PAGE", "SIZE", "FORMAT", "REGIONS", "LINES"],
    )
    if versions:
        cli.print("transcriptions: " + ", ".join(v.name for v in versions))
    for line in describe_typology(doc.typology):
        cli.print(line)
    return 0


def describe_document(args: argparse.Namespace, cli: CliContext) -> int:
    doc = cli.store.get_document(args.document)
    if args.text is not None:
        doc.description = args.text
    for pair in args.set:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"--set wants KEY=VALUE, got {pair!r}")
        doc.metadata[key.strip()] = value.strip()
    for key in args.unset:
        doc.metadata.pop(key, None)
    doc = cli.store.update_document(doc)
    cli.emit_json(doc.to_record()) if cli.json_output else cli.print(f"updated {doc.name!r}")
    return 0
