"""``esctui import xml DOC FILE [--name NAME] [--override] [--dry-run]``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from esctui.cli.context import EXIT_OK, EXIT_PARTIAL, CliContext, add_command
from esctui.domain.text import printable

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
    add_mapping_options(p)


def add_mapping_options(p: argparse.ArgumentParser) -> None:
    """``--map``, ``--match``, ``--match-regex``: how XML files find their pages."""
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FILE=PAGE",
        help="send the XML file FILE (its path or name) to PAGE (a page number from 1, or a "
        "page name); repeatable; tried before any other rule",
    )
    p.add_argument(
        "--match",
        choices=["exact", "basename", "stem"],
        default="stem",
        help="how loosely image names may match: exact (as written), basename (also ignoring "
        "folders and case), stem (also ignoring the extension, and the XML file's own name; "
        "the default)",
    )
    p.add_argument(
        "--match-regex",
        metavar="PATTERN",
        help="a regular expression with a group named page, e.g. '(?P<page>\\d{4})': a file "
        "whose name (else its image's) gives the same page as a page's name goes there; a "
        "number no page name gives is taken as the page number",
    )


def mapping_from(args: argparse.Namespace):  # -> PageMapping (lxml-free import at start-up)
    """The ``PageMapping`` the options ask for; a UsageError when one is malformed."""
    from esctui.cli.context import UsageError
    from esctui.formats.page_names import MatchLevel, compile_page_regex
    from esctui.jobs.imports.xml_plan import PageMapping, parse_map_option

    try:
        explicit = parse_map_option(args.map)
        pattern = compile_page_regex(args.match_regex) if args.match_regex else None
    except ValueError as error:
        raise UsageError(str(error)) from None
    return PageMapping(explicit, MatchLevel(args.match), pattern)


def import_xml(args: argparse.Namespace, cli: CliContext) -> int:
    doc = cli.store.get_document(args.document)
    mapping = mapping_from(args)
    if args.dry_run:
        return _dry_run(args, cli, doc.id, mapping)
    from esctui.jobs.imports.xml import XmlImporter  # lxml: only when importing

    importer = XmlImporter(
        cli.store, doc.id, args.file, name=args.name, override=args.override, mapping=mapping
    )
    return cli.run_job(importer)


def _dry_run(args: argparse.Namespace, cli: CliContext, document_id: str, mapping) -> int:
    from esctui.jobs.imports.xml import plan_xml_import

    plan = plan_xml_import(cli.store, document_id, args.file, mapping=mapping)
    problems = len(plan.not_matched) + len(plan.zip_skipped)
    if cli.json_output:
        cli.emit_json({**plan.to_record(), "mapping": mapping.describe()})
    else:
        for line in mapping.describe():
            cli.print(f"mapping: {printable(line)}")
        rows = [
            [
                entry.name,
                (entry.page_name or "-") if entry.matched else "-",
                str(entry.lines),
                str(entry.regions),
                entry.tags_text() or "-",
                entry.rule if entry.matched else f"{entry.status}: {entry.reason}",
            ]
            for entry in plan.entries
        ]
        rows += [
            [item.name, "-", "", "", "", f"skipped: {item.reason}"] for item in plan.zip_skipped
        ]
        cli.table(rows, ["FILE", "PAGE", "LINES", "REGIONS", "TAGS", "MATCHED BY / REASON"])
        cli.print(
            f"dry run: {len(plan.matched)} file(s) would be imported, {problems} skipped; "
            "nothing was written"
        )
    return EXIT_PARTIAL if problems else EXIT_OK
