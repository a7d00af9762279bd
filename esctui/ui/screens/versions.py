"""Transcription versions of a document: counts, rename, delete, and a side-by-side compare."""

from __future__ import annotations

import datetime as dt
from difflib import SequenceMatcher

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker, WorkerState

from esctui.domain import Part, Transcription, describe_typology
from esctui.domain.errors import EsctuiError
from esctui.domain.text import plural, printable
from esctui.store.versions import VersionStats, version_stats
from esctui.ui.messages import JobFinished
from esctui.ui.screens.dialogs import Choice, ChoiceScreen, ConfirmScreen, TextPromptScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.store_access import StoreAccess
from esctui.ui.widgets.tables import RowTable, selected_row_key
from esctui.ui.widgets.text import cell, number, quoted, safe

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
        Binding("delete,x", "delete", "Delete", key_display="x"),
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
        yield KeyFooter()

    def on_screen_resume(self) -> None:
        """First shown, or back from a dialog: the texts are counted once, not on every return."""
        self.reload(recount=self.stats is None)

    def on_resize(self) -> None:
        if self.versions:
            self.fill_table()

    def on_job_finished(self, message: JobFinished) -> None:
        if message.job.document_id == self.document_id:
            self.reload()

    def reload(self, select: str | None = None, *, recount: bool = True) -> None:
        """Show the versions; ``recount`` counts their texts again (reads every page)."""
        try:
            doc = self.store.get_document(self.document_id)
        except EsctuiError:
            if self.is_current:
                self.app.pop_screen()
            return
        self.sub_title = printable(doc.name)
        typology = "\n".join(safe(line) for line in describe_typology(doc.typology))
        self.query_one("#versions-title", Static).update(
            f"Transcription versions of {safe(doc.name)}" + (f"\n{typology}" if typology else "")
        )
        self.versions = self.store.list_transcriptions(self.document_id)
        self.fill_table(select)
        empty = self.query_one("#empty", Static)
        empty.display = not self.versions
        empty.update(
            "No transcription versions yet. Import ALTO or PAGE XML with i on the Images screen."
        )
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

    def fill_table(self, select: str | None = None) -> None:
        """The rows, numbers whole and right-aligned: the Name column gets what is left."""
        table = self.query_one(DataTable)
        current = select or self.selected_id()
        rows = [(v, self._counts(v.id)) for v in self.versions]
        widths = [
            max([len(header)] + [len(counts[i]) for _v, counts in rows])
            for i, header in enumerate(("Pages", "Lines", "Chars"))
        ]
        source_width = max([6] + [len(printable(v.source)) for v in self.versions])
        created_width = 16
        fixed = source_width + created_width + sum(widths) + 2 * 6 + 2  # padding, scroll bar
        name_width = max(10, (self.size.width or 80) - fixed)
        table.clear(columns=True)
        table.add_column("Name", key="name", width=name_width)
        table.add_column("Source", key="source", width=source_width)
        table.add_column("Created", key="created", width=created_width)
        for (header, key), width in zip(
            (("Pages", "pages"), ("Lines", "lines"), ("Chars", "chars")), widths, strict=True
        ):
            table.add_column(Text(header, justify="right"), key=key, width=width)
        for version, counts in rows:
            table.add_row(
                cell(version.name, name_width),
                cell(version.source, source_width),
                _created(version),
                *(number(count) for count in counts),
                key=version.id,
            )
        if current is not None and current in table.rows:
            table.move_cursor(row=table.get_row_index(current))
        table.focus()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != STATS_GROUP:
            return
        status = self.query_one("#versions-status", Static)
        if event.state == WorkerState.ERROR:
            status.update(f"Could not count the texts: {safe(event.worker.error)}")
            return
        if event.state != WorkerState.SUCCESS:
            return
        self.stats = event.worker.result
        status.update("")
        self.fill_table()

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

        def rename(name: str) -> None:
            if name.strip() != version.name:
                self.store.rename_transcription(self.document_id, version.id, name)

        def renamed(name: str | None) -> None:
            if name is not None and name.strip() != version.name:
                self.notify(f"Renamed to {quoted(name.strip())}.")
                self.reload(select=version.id, recount=False)  # a new name, the same texts

        from esctui.ui.screens.dialogs import NAME_RULE

        self.app.push_screen(
            TextPromptScreen(
                f"New name for the version {quoted(version.name)}",
                version.name,
                hint=NAME_RULE.replace("this data folder", "this document"),
                apply=rename,
            ),
            renamed,
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
                self.notify(safe(error), severity="error")
                return
            self.notify(f"Deleted the version {quoted(version.name)}; its name is free again.")
            self.reload()

        lines = ""
        if self.stats is not None and version.id in self.stats:
            lines = f" ({plural(self.stats[version.id].lines, 'line')} of text)"
        self.app.push_screen(
            ConfirmScreen(
                f"Delete the version {quoted(version.name)} and its text on every page{lines}? "
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
                Choice(p.id, f"{p.order + 1}. {p.name}", plural(p.line_count, "line"))
                for p in parts
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
                f"Compare {quoted(first.name)} with which version?",
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
        yield KeyFooter()

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        try:
            left = self.store.get_transcription(self.document_id, self.left_id)
            right = self.store.get_transcription(self.document_id, self.right_id)
            self.parts = self.store.list_parts(self.document_id)
            self.sub_title = printable(self.store.get_document(self.document_id).name)
        except EsctuiError as error:
            self.notify(safe(error), severity="error")
            if self.is_current:
                self.app.pop_screen()
            return
        part = next((p for p in self.parts if p.id == self.part_id), None)
        if part is None:
            self.notify("This page no longer exists.", severity="error")
            if self.is_current:
                self.app.pop_screen()
            return
        layout = self.store.read_page_layout(self.document_id, part.id)
        left_texts, right_texts = layout.texts_for(left.id), layout.texts_for(right.id)
        self.rows = []
        for line in layout.lines:
            a = left_texts[line.id].text if line.id in left_texts else ""
            b = right_texts[line.id].text if line.id in right_texts else ""
            self.rows.append((line.id, printable(a), printable(b)))
        self.differing = [line_id for line_id, a, b in self.rows if a != b]
        self.query_one("#compare-title", Static).update(
            f"{safe(part.name)} (page {part.order + 1}/{len(self.parts)}): "
            f"[red]{safe(left.name)}[/red] vs [green]{safe(right.name)}[/green] — "
            f"{plural(len(self.rows), 'line')}, {len(self.differing):,} differ"
        )
        table = self.query_one(DataTable)
        table.clear(columns=True)
        width = max(10, (self.size.width - 3 - 1 - 2 * 4 - 2) // 2)
        table.add_column("#", width=3, key="n")
        table.add_column("≠", width=1, key="mark")
        table.add_column(cell(left.name, width), width=width, key="left")
        table.add_column(cell(right.name, width), width=width, key="right")
        for line_number, (line_id, a, b) in enumerate(self.rows, 1):
            if a == b:
                cells: tuple[Text | str, Text | str] = (
                    Text(a, no_wrap=True),
                    Text(b, no_wrap=True),
                )
                mark: Text | str = ""
            else:
                cells = diff_texts(a, b)
                mark = Text("≠", style="bold red")
            for text in cells:
                if isinstance(text, Text):
                    text.truncate(width, overflow="ellipsis")
            table.add_row(str(line_number), mark, *cells, key=line_id)
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
