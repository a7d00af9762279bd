"""The Import > Transcriptions (XML) dialog: pick an ALTO/PAGE file or a ZIP, preview which page
each XML file goes to, steer it (a file given a page by hand, how strictly names match: the
CLI's ``--map`` and ``--match``), name the version, choose merge or override, then import.

The importer (and lxml) load with this dialog, never at start-up.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, DataTable, Input, Label, Static
from textual.worker import Worker, WorkerState

from esctui.domain.errors import EsctuiError
from esctui.domain.text import plural
from esctui.formats.page_names import MatchLevel
from esctui.jobs.imports.xml import EntryStatus, PageMapping, XmlImportPlan, XmlPlanEntry
from esctui.jobs.losses import replace_losses, replace_question
from esctui.ui.screens.base import EsctuiModalScreen, EsctuiScreen
from esctui.ui.screens.file_picker import FilePickerScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.inputs import TextInput
from esctui.ui.widgets.tables import RowTable, selected_row_key
from esctui.ui.widgets.text import cell, number, safe

if TYPE_CHECKING:
    from esctui.store import Store

PLAN_GROUP = "xml-plan"
FILE_WIDTH = 18  # the table fits 80 columns; the line under it says the full names
PAGE_WIDTH = 14
OVERRIDE_GROUP = "xml-override-check"

# The importer's match rules, said in a few words for the preview table.
SHORT_RULES = {
    "image file name": "image",
    "image name ignoring folders": "no folder",
    "image name ignoring case": "any case",
    "image name ignoring extension": "no ext.",
    "XML file name": "file name",
}
STATUS_WORDS = {
    EntryStatus.MATCHED: "ok",
    EntryStatus.UNMATCHED: "no page",
    EntryStatus.AMBIGUOUS: "ambiguous",
    EntryStatus.DUPLICATE: "duplicate",
    EntryStatus.ERROR: "unreadable",
}
NOT_MATCHED = (
    EntryStatus.UNMATCHED,
    EntryStatus.AMBIGUOUS,
    EntryStatus.DUPLICATE,
    EntryStatus.ERROR,
)
LEFT_OUT = "left out"
BY_HAND = "by hand"
NEXT_LEVEL = {
    MatchLevel.STEM: MatchLevel.BASENAME,
    MatchLevel.BASENAME: MatchLevel.EXACT,
    MatchLevel.EXACT: MatchLevel.STEM,
}
LEVEL_WORDS = {
    MatchLevel.STEM: "names match ignoring folders, case and extension",
    MatchLevel.BASENAME: "names match ignoring folders and case",
    MatchLevel.EXACT: "names match exactly",
}


def rule_words(entry: XmlPlanEntry) -> str:
    """How a matched file found its page, in a few words for the table."""
    if entry.rule.startswith("--map"):
        return BY_HAND
    return SHORT_RULES.get(entry.rule, entry.rule)


def override_losses(store: Store, document_id: str, page_ids: list[str]) -> str | None:
    """What an override takes away from these pages, in a sentence (None: nothing there).

    Override replaces the regions and lines of each matched page, and with the lines go the
    texts every version has on them, not only the version being imported: counted and said by
    ``jobs.losses``, as for a segmentation that replaces.
    """
    losses = replace_losses(store, document_id, page_ids)
    return replace_question(store, document_id, losses, len(page_ids))


def plan_summary(plan: XmlImportPlan) -> str:
    """E.g. "12 of 14 files match a page; 1 unmatched, 1 ambiguous; 2 ZIP entries left out"."""
    total = len(plan.entries)
    matched = len(plan.matched)
    text = f"{matched} of {plural(total, 'file')} {'matches' if total == 1 else 'match'} a page"
    counts = Counter(e.status for e in plan.not_matched)
    others = [
        f"{counts[status]} {'unreadable' if status is EntryStatus.ERROR else status}"
        for status in NOT_MATCHED
        if counts[status]
    ]
    if others:
        text += "; " + ", ".join(others)
    if plan.zip_skipped:
        n = len(plan.zip_skipped)
        text += f"; {n} ZIP {'entry' if n == 1 else 'entries'} left out"
    return text


def open_dialog(screen: EsctuiScreen, document_id: str) -> None:
    """Pick one .xml or .zip file, then show the preview dialog."""
    app = screen.app

    def picked(paths: list[Path] | None) -> None:
        if paths:
            app.push_screen(XmlImportScreen(document_id, paths[0]))

    app.push_screen(
        FilePickerScreen(
            "Import ALTO or PAGE transcriptions (an .xml file or a .zip of them)",
            suffixes={".xml", ".zip"},
            multiple=False,
        ),
        picked,
    )


class XmlImportScreen(EsctuiModalScreen[None]):
    """Read the file, preview the mapping of XML files to pages, then start the import."""

    DEFAULT_CSS = """
    #xml-plan { height: 1fr; min-height: 3; }
    #xml-summary { height: auto; color: $accent; }
    /* a long reason is read whole; the table above gives up the room */
    #xml-detail { height: auto; min-height: 2; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="xml_import.cancel"),
        Binding("ctrl+s", "start", "Import", id="xml_import.start"),
        Binding("ctrl+o", "toggle_override", "Override", id="xml_import.override"),
        Binding("ctrl+t", "assign", "Assign page", id="xml_import.assign"),
        Binding("ctrl+r", "next_level", "Match rule", id="xml_import.match"),
    ]

    def __init__(self, document_id: str, path: Path) -> None:
        super().__init__()
        self.document_id = document_id
        self.path = Path(path).expanduser()
        self.plan: XmlImportPlan | None = None
        self.details: dict[str, str] = {}  # table row key -> a sentence about it
        self.assigned: dict[str, str] = {}  # XML file -> page number, given by hand (--map)
        self.level = MatchLevel.STEM  # how strictly names match (--match)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide tight", id="xml-dialog"):
            yield Label(f"Import transcriptions from {safe(self.path.name)}", classes="title")
            yield Static("Reading the file…", id="xml-summary")
            yield RowTable(id="xml-plan")
            yield Static("", id="xml-detail", classes="hint")
            with Horizontal(classes="field-row"):
                yield Label("Version name", classes="field-label")
                yield TextInput(id="xml-name")
            yield Checkbox(
                "Override: replace the regions and lines of the matched pages",
                id="xml-override",
            )
            yield Static(
                "Off (merge): lines with the same XML id get the text, others are added; an "
                "existing version of that name gets the text. Ctrl+T gives the file under the "
                "cursor a page, Ctrl+R changes the match rule; Ctrl+S or Enter imports.",
                classes="hint",
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        from esctui.jobs.imports.xml import default_version_name

        table = self.query_one(DataTable)
        table.add_column("File", key="file")
        table.add_column("Page", key="page")
        table.add_column("By", key="rule")
        table.add_column("Lines", key="lines")
        table.add_column("Regs", key="regions")
        table.add_column("Status", key="status")
        self.query_one("#xml-name", Input).value = default_version_name(self.path)
        self.query_one("#xml-name", Input).focus()
        self.read_plan()

    def mapping(self) -> PageMapping:
        """The files given a page by hand and the match rule, as ``--map``/``--match`` give."""
        return PageMapping(explicit=dict(self.assigned), level=self.level)

    @work(thread=True, exclusive=True, group=PLAN_GROUP, exit_on_error=False)
    def read_plan(self) -> XmlImportPlan:
        """Parse every XML file once and match it to a page (writes nothing)."""
        from esctui.jobs.imports.xml import plan_xml_import

        return plan_xml_import(self.store, self.document_id, self.path, mapping=self.mapping())

    def read_again(self) -> None:
        """The mapping changed: match the files again (Import waits for the new preview)."""
        self.plan = None
        self.query_one("#xml-summary", Static).update("Matching the files again…")
        self.read_plan()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != PLAN_GROUP:
            return
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            message = (
                str(error) if isinstance(error, EsctuiError) else f"{type(error).__name__}: {error}"
            )
            self.notify(
                f"Cannot read {safe(self.path.name)}: {safe(message)}", severity="error", timeout=15
            )
            self.dismiss(None)
        elif event.state == WorkerState.SUCCESS and event.worker.result is not None:
            self.show_plan(event.worker.result)

    def show_plan(self, plan: XmlImportPlan) -> None:
        self.plan = plan
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        self.details.clear()
        for index, entry in enumerate(plan.entries):
            key = f"e{index}"
            table.add_row(
                cell(entry.name, FILE_WIDTH),
                cell(entry.page_name or "—", PAGE_WIDTH),
                rule_words(entry) if entry.matched else "",
                number(entry.lines),
                number(entry.regions),
                STATUS_WORDS[entry.status],
                key=key,
            )
            if entry.matched:
                how = (
                    f"given by hand as page {self.assigned[entry.name]}"
                    if entry.name in self.assigned
                    else f"by {entry.rule}"
                )
                self.details[key] = (
                    f"{entry.name} → page {entry.page_name} ({how}): "
                    f"{plural(entry.lines, 'line')}, {entry.texts} with text"
                )
            else:
                self.details[key] = f"{entry.name}: {entry.reason or entry.status}"
        for index, skipped in enumerate(plan.zip_skipped):
            key = f"s{index}"
            table.add_row(cell(skipped.name, FILE_WIDTH), "—", "", "", "", LEFT_OUT, key=key)
            self.details[key] = f"{skipped.name}: {skipped.reason}"
        summary = plan_summary(plan)
        if self.assigned:
            summary += f"; {len(self.assigned)} given a page by hand"
        if self.level is not MatchLevel.STEM:
            summary += f"; {LEVEL_WORDS[self.level]}"
        if not plan.matched:
            summary += ". Nothing to import: no file matches a page of this document."
        self.query_one("#xml-summary", Static).update(safe(summary))
        if table.row_count:
            table.move_cursor(row=min(max(row, 0), table.row_count - 1))
        self.show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        key = selected_row_key(self.query_one(DataTable))
        self.query_one("#xml-detail", Static).update(safe(self.details.get(key or "", "")))

    # ------------------------------------------------------------------ actions

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_start()

    def action_assign(self) -> None:
        """Give the file under the cursor a page of the document, chosen from a list."""
        from esctui.ui.screens.page_picker import PagePickerScreen

        key = selected_row_key(self.query_one(DataTable))
        if self.plan is None or key is None:
            self.notify("Still reading the file; a moment please.", severity="warning")
            return
        if not key.startswith("e"):
            self.notify("That ZIP entry is not an XML file; it cannot go to a page.")
            return
        entry = self.plan.entries[int(key[1:])]
        if entry.status is EntryStatus.ERROR:
            self.notify(
                f"{safe(entry.name)} cannot be read, so it cannot go to a page.", severity="warning"
            )
            return
        name = entry.name
        earlier = self.assigned.get(name)

        def chosen(page_number: int | None) -> None:
            if page_number is not None:
                self.assigned[name] = str(page_number)
                self.read_again()

        self.app.push_screen(
            PagePickerScreen(
                self.document_id,
                f"Send {safe(name)} to which page?",
                current=int(earlier) if earlier else None,
            ),
            chosen,
        )

    def action_next_level(self) -> None:
        """Match names exactly, ignoring folders and case, or also the extension (the default)."""
        self.level = NEXT_LEVEL[self.level]
        self.notify(f"Match rule: {self.level.value} ({LEVEL_WORDS[self.level]}).")
        self.read_again()

    def action_toggle_override(self) -> None:
        self.query_one("#xml-override", Checkbox).toggle()

    def action_start(self) -> None:
        if self.plan is None:
            self.notify("Still reading the file; a moment please.", severity="warning")
            return
        if not self.plan.matched:
            self.notify(
                f"Nothing imported: no XML file in {safe(self.path.name)} matches a page of this "
                "document (see the Status column).",
                severity="error",
            )
            return
        if self.query_one("#xml-override", Checkbox).value:
            self.check_override([e.page_id for e in self.plan.matched if e.page_id])
            return
        self.start()

    @work(exclusive=True, group=OVERRIDE_GROUP)
    async def check_override(self, page_ids: list[str]) -> None:
        """Say what an override removes (read from the pages, in a thread), and ask."""
        from esctui.ui.screens.dialogs import ConfirmScreen

        losses = await asyncio.to_thread(override_losses, self.store, self.document_id, page_ids)
        if losses is None:  # the pages hold nothing yet: nothing to lose
            self.start()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.start()

        self.app.push_screen(
            ConfirmScreen(safe(losses) + "\nImport and replace?", yes_label="Replace"), answered
        )

    def start(self) -> None:
        from esctui.jobs.imports.xml import XmlImporter

        name = self.query_one("#xml-name", Input).value.strip() or None
        override = self.query_one("#xml-override", Checkbox).value
        store, document_id, path = self.store, self.document_id, self.path
        mapping = self.mapping()
        app = self.app

        def start(importer: XmlImporter) -> None:
            self.dismiss(None)
            app.start_job(importer)

        self.store_call(
            lambda: XmlImporter(
                store, document_id, path, name=name, override=override, mapping=mapping
            ),
            start,
            group="start",
        )

    def action_cancel(self) -> None:
        self.workers.cancel_group(self, PLAN_GROUP)
        self.workers.cancel_group(self, OVERRIDE_GROUP)
        self.dismiss(None)
