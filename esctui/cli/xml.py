"""``esctui import xml DOC FILE [--name NAME] [--override] [--dry-run]``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from esctui.cli.context import EXIT_OK, EXIT_PARTIAL, CliContext, add_command

if TYPE_CHECKING:
    from esctui.cli.context import Subcommands


def register(commands: Subcommands, imports: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to ``esctui`` (``commands``) and ``esctui import``."""
    p = add_command(
        imports,
        "xml",
        import_xml,
        "import ALTO/PAGE transcriptions (one XML file or a ZIP of them)",
        common,
        ("document", "document name or id"),
        ("file", "an ALTO or PAGE .xml file, or a .zip of them"),
        description="Each XML file goes to the page whose image it names (then: ignoring "
        "folders, case, extension; then by the XML file's own name). The text goes into a "
        "named transcription version, reused when it exists.",
    )
    p.add_argument("--name", help="transcription version name (default: file name and time)")
    p.add_argument(
        "--override",
        action="store_true",
        help="replace the pages' regions, lines and all their texts (default: update lines "
        "with the same XML ID in place, add the others)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="show which file goes to which page; write nothing"
    )


def import_xml(args: argparse.Namespace, cli: CliContext) -> int:
    doc = cli.store.get_document(args.document)
    if args.dry_run:
        return _dry_run(args, cli, doc.id)
    from esctui.jobs.imports.xml import XmlImporter  # lxml: only when importing

    importer = XmlImporter(cli.store, doc.id, args.file, name=args.name, override=args.override)
    return cli.run_job(importer)


def _dry_run(args: argparse.Namespace, cli: CliContext, document_id: str) -> int:
    from esctui.jobs.imports.xml import plan_xml_import

    plan = plan_xml_import(cli.store, document_id, args.file)
    problems = len(plan.not_matched) + len(plan.zip_skipped)
    if cli.json_output:
        cli.emit_json(plan.to_record())
    else:
        rows = [
            [
                entry.name,
                (entry.page_name or "-") if entry.matched else "-",
                str(entry.lines),
                str(entry.regions),
                entry.rule if entry.matched else f"{entry.status}: {entry.reason}",
            ]
            for entry in plan.entries
        ]
        rows += [[item.name, "-", "", "", f"skipped: {item.reason}"] for item in plan.zip_skipped]
        cli.table(rows, ["FILE", "PAGE", "LINES", "REGIONS", "MATCHED BY / REASON"])
        cli.print(
            f"dry run: {len(plan.matched)} file(s) would be imported, {problems} skipped; "
            "nothing was written"
        )
    return EXIT_PARTIAL if problems else EXIT_OK
