"""Transcription versions of a document: counts, rename, delete, and a side-by-side compare."""

from __future__ import annotations

import datetime as dt
from difflib import SequenceMatcher

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState

from esctui.domain import Part, Transcription, describe_typology
from esctui.domain.errors import EsctuiError
from esctui.domain.text import shorten
from esctui.store.versions import VersionStats, version_stats
from esctui.ui.messages import JobFinished
from esctui.ui.screens.dialogs import Choice, ChoiceScreen, ConfirmScreen, TextPromptScreen
from esctui.ui.widgets.store_access import StoreAccess
from esctui.ui.widgets.tables import RowTable, selected_row_key

STATS_GROUP = "version-stats"
ONLY_A = "bold red reverse"  # text only in the left version (or replaced)
ONLY_B = "bold green reverse"  # text only in the right version (or replacing)


def diff_texts(a: str, b: str) -> tuple[Text, Text]:
    """The two texts with the characters that differ highlighted (left red, right green)."""
    left, right = Text(no_wrap=True), Text(no_wrap=True)
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            left.append(a[i1:i2])
            right.append(b[j1:j2])
        else:
            left.append(a[i1:i2], ONLY_A)
            right.append(b[j1:j2], ONLY_B)
    return left, right


def _created(version: Transcription) -> str:
    return dt.datetime.fromtimestamp(version.created).strftime("%Y-%m-%d %H:%M")


class VersionsScreen(StoreAccess, Screen[None]):
    """The document's transcription versions with what each one holds."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "rename", "Rename"),
        Binding("delete,x", "delete", "Delete"),
        Binding("c", "compare", "Compare"),
    ]

    def __init__(self, document_id: str) -> None:
        super().__init__()
        self.document_id = document_id
        self.versions: list[Transcription] = []
        self.stats: dict[str, VersionStats] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="versions-title", classes="title")
        yield RowTable(id="versions")
        yield Static("", id="empty", classes="empty")
        yield Static("", id="versions-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Name", key="name")
        table.add_column("Source", key="source")
        table.add_column("Created", key="created")
        table.add_column("Pages", key="pages")
        table.add_column("Lines", key="lines")
        table.add_column("Chars", key="chars")

    def on_screen_resume(self) -> None:
        """First shown, or back from a dialog: the texts are counted once, not on every return."""
        self.reload(recount=self.stats is None)

    def on_job_finished(self, message: JobFinished) -> None:
        if message.job.document_id == self.document_id:
            self.reload()

    def reload(self, select: str | None = None, *, recount: bool = True) -> None:
        """Show the versions; ``recount`` counts their texts again (reads every page)."""
        try:
            doc = self.store.get_document(self.document_id)
        except EsctuiError:
            self.app.pop_screen()
            return
        self.sub_title = doc.name
        typology = "\n".join(escape(line) for line in describe_typology(doc.typology))
        self.query_one("#versions-title", Static).update(
            f"Transcription versions of {escape(doc.name)}" + (f"\n{typology}" if typology else "")
        )
        table = self.query_one(DataTable)
        current = select or self.selected_id()
        self.versions = self.store.list_transcriptions(self.document_id)
        table.clear()
        for version in self.versions:
            table.add_row(
                version.name,
                version.source,
                _created(version),
                *self._counts(version.id),
                key=version.id,
            )
        empty = self.query_one("#empty", Static)
        empty.display = not self.versions
        empty.update(
            "No transcription versions yet. Import ALTO or PAGE XML with i on the Images screen."
        )
        if current is not None and any(v.id == current for v in self.versions):
            table.move_cursor(row=table.get_row_index(current))
        table.focus()
        if self.versions and recount:
            self.query_one("#versions-status", Static).update("Counting lines and characters…")
            store, document_id = self.store, self.document_id
            self.run_worker(
                lambda: version_stats(store, document_id),
                group=STATS_GROUP,
                thread=True,
                exclusive=True,
                exit_on_error=False,
            )

    def _counts(self, version_id: str) -> tuple[str, str, str]:
        if self.stats is None:
            return ("…", "…", "…")
        item = self.stats.get(version_id, VersionStats())
        return (f"{item.pages:,}", f"{item.lines:,}", f"{item.characters:,}")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != STATS_GROUP:
            return
        status = self.query_one("#versions-status", Static)
        if event.state == WorkerState.ERROR:
            status.update(f"Could not count the texts: {event.worker.error}")
            return
        if event.state != WorkerState.SUCCESS:
            return
        self.stats = event.worker.result
        status.update("")
        table = self.query_one(DataTable)
        for version in self.versions:
            if version.id not in table.rows:
                continue
            for column, value in zip(
                ("pages", "lines", "chars"), self._counts(version.id), strict=True
            ):
                table.update_cell(version.id, column, value)

    def selected_id(self) -> str | None:
        return selected_row_key(self.query_one(DataTable))

    def selected(self) -> Transcription | None:
        version_id = self.selected_id()
        version = next((v for v in self.versions if v.id == version_id), None)
        if version is None:
            self.notify("No transcription version selected.", severity="warning")
        return version

    # ------------------------------------------------------------------ actions

    def action_rename(self) -> None:
        version = self.selected()
        if version is None:
            return

        def renamed(name: str | None) -> None:
            name = (name or "").strip()
            if not name or name == version.name:
                return
            try:
                self.store.rename_transcription(self.document_id, version.id, name)
            except EsctuiError as error:
                self.notify(str(error), severity="error")
                return
            self.notify(f"Renamed to {name!r}.")
            self.reload(select=version.id, recount=False)  # a new name, the same texts

        self.app.push_screen(
            TextPromptScreen(f"New name for the version {version.name!r}", version.name), renamed
        )

    def action_delete(self) -> None:
        version = self.selected()
        if version is None:
            return

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.store.delete_transcription(self.document_id, version.id)
            except EsctuiError as error:
                self.notify(str(error), severity="error")
                return
            self.notify(f"Deleted the version {version.name!r}; its name is free again.")
            self.reload()

        lines = ""
        if self.stats is not None and version.id in self.stats:
            n = self.stats[version.id].lines
            lines = f" ({n:,} line{'s' * (n != 1)} of text)"
        self.app.push_screen(
            ConfirmScreen(
                f"Delete the version {version.name!r} and its text on every page{lines}? "
                "Regions and lines stay.",
                yes_label="Delete",
            ),
            confirmed,
        )

    def action_compare(self) -> None:
        first = self.selected()
        if first is None:
            return
        others = [v for v in self.versions if v.id != first.id]
        if not others:
            self.notify("Comparing needs two versions; this document has one.", severity="warning")
            return
        parts = self.store.list_parts(self.document_id)
        if not parts:
            self.notify("This document has no pages.", severity="warning")
            return

        def open_compare(second_id: str | None, part_id: str | None) -> None:
            if second_id is not None and part_id is not None:
                self.app.push_screen(CompareScreen(self.document_id, part_id, first.id, second_id))

        def pick_page(second_id: str | None) -> None:
            if second_id is None:
                return
            if len(parts) == 1:
                open_compare(second_id, parts[0].id)
                return
            choices = [
                Choice(p.id, f"{p.order + 1}. {p.name}", f"{p.line_count} lines") for p in parts
            ]
            self.app.push_screen(
                ChoiceScreen("Compare on which page?", choices),
                lambda part_id: open_compare(second_id, part_id),
            )

        if len(others) == 1:
            pick_page(others[0].id)
            return
        self.app.push_screen(
            ChoiceScreen(
                f"Compare {first.name!r} with which version?",
                [Choice(v.id, v.name, f"{v.source} · {_created(v)}") for v in others],
            ),
            pick_page,
        )

    def palette_commands(self) -> list[SystemCommand]:
        return [
            SystemCommand("Rename version", "Rename the selected version", self.action_rename),
            SystemCommand("Delete version", "Delete the selected version", self.action_delete),
            SystemCommand("Compare versions", "Two versions side by side", self.action_compare),
        ]


class CompareScreen(StoreAccess, Screen[None]):
    """One page, two versions side by side, line by line; differing lines highlighted."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("n", "next_difference", "Next difference"),
        Binding("left_square_bracket", "page(-1)", "Prev page", key_display="["),
        Binding("right_square_bracket", "page(1)", "Next page", key_display="]"),
    ]

    def __init__(self, document_id: str, part_id: str, left_id: str, right_id: str) -> None:
        super().__init__()
        self.document_id = document_id
        self.part_id = part_id
        self.left_id = left_id
        self.right_id = right_id
        self.parts: list[Part] = []
        self.rows: list[tuple[str, str, str]] = []  # line id, left text, right text
        self.differing: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="compare-title", classes="title")
        with Vertical():
            yield RowTable(id="compare")
            yield Static("", id="empty", classes="empty")
            yield Static("", id="compare-line")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        try:
            left = self.store.get_transcription(self.document_id, self.left_id)
            right = self.store.get_transcription(self.document_id, self.right_id)
            self.parts = self.store.list_parts(self.document_id)
            self.sub_title = self.store.get_document(self.document_id).name
        except EsctuiError as error:
            self.notify(str(error), severity="error")
            self.app.pop_screen()
            return
        part = next((p for p in self.parts if p.id == self.part_id), None)
        if part is None:
            self.notify("This page no longer exists.", severity="error")
            self.app.pop_screen()
            return
        layout = self.store.read_page_layout(self.document_id, part.id)
        left_texts, right_texts = layout.texts_for(left.id), layout.texts_for(right.id)
        self.rows = []
        for line in layout.lines:
            a = left_texts[line.id].text if line.id in left_texts else ""
            b = right_texts[line.id].text if line.id in right_texts else ""
            self.rows.append((line.id, a, b))
        self.differing = [line_id for line_id, a, b in self.rows if a != b]
        self.query_one("#compare-title", Static).update(
            f"{escape(part.name)} (page {part.order + 1}/{len(self.parts)}): "
            f"[red]{escape(left.name)}[/red] vs [green]{escape(right.name)}[/green] — "
            f"{len(self.rows)} lines, {len(self.differing)} differ"
        )
        table = self.query_one(DataTable)
        table.clear(columns=True)
        width = max(10, (self.size.width - 3 - 1 - 2 * 4 - 2) // 2)
        table.add_column("#", width=3, key="n")
        table.add_column("≠", width=1, key="mark")
        table.add_column(shorten(left.name, width), width=width, key="left")
        table.add_column(shorten(right.name, width), width=width, key="right")
        for number, (line_id, a, b) in enumerate(self.rows, 1):
            if a == b:
                cells: tuple[Text | str, Text | str] = (
                    Text(a, no_wrap=True),
                    Text(b, no_wrap=True),
                )
                mark: Text | str = ""
            else:
                cells = diff_texts(a, b)
                mark = Text("≠", style="bold red")
            for cell in cells:
                if isinstance(cell, Text):
                    cell.truncate(width, overflow="ellipsis")
            table.add_row(str(number), mark, *cells, key=line_id)
        empty = self.query_one("#empty", Static)
        empty.display = not self.rows
        empty.update("This page has no lines.")
        table.display = bool(self.rows)
        if self.rows:
            table.focus()
        self.show_selected()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_selected()

    def show_selected(self) -> None:
        box = self.query_one("#compare-line", Static)
        table = self.query_one(DataTable)
        line_id = selected_row_key(table) if self.rows else None
        row = next((r for r in self.rows if r[0] == line_id), None)
        if row is None:
            box.update("")
            return
        left, right = diff_texts(row[1], row[2])
        text = Text()
        text.append("A: ", "dim")
        text.append_text(left)
        text.append("\nB: ", "dim")
        text.append_text(right)
        box.update(text)

    def action_next_difference(self) -> None:
        if not self.differing:
            self.notify("The two versions agree on every line of this page.")
            return
        table = self.query_one(DataTable)
        ids = [r[0] for r in self.rows]
        start = table.cursor_row
        for offset in range(1, len(ids) + 1):
            index = (start + offset) % len(ids)
            if ids[index] in self.differing:
                table.move_cursor(row=index)
                return

    def action_page(self, delta: int) -> None:
        index = next((i for i, p in enumerate(self.parts) if p.id == self.part_id), 0) + delta
        if not 0 <= index < len(self.parts):
            self.notify("This is the first page." if delta < 0 else "This is the last page.")
            return
        self.part_id = self.parts[index].id
        self.reload()
