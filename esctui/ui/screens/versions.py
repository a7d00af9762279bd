"""Transcription versions of a document: counts, rename, delete, and a side-by-side compare."""

from __future__ import annotations

import datetime as dt
from difflib import SequenceMatcher

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker

from esctui.domain import Document, Part, Transcription, describe_typology
from esctui.domain.errors import EsctuiError
from esctui.domain.text import plural, printable
from esctui.store import PageLayout
from esctui.store.versions import VersionStats, version_stats
from esctui.ui.messages import JobFinished
from esctui.ui.screens.dialogs import Choice, ChoiceScreen, ConfirmScreen, TextPromptScreen
from esctui.ui.screens.lists import ListScreen
from esctui.ui.screens.paging import PagedScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.tables import Column, Row, RowTable
from esctui.ui.widgets.text import cell, number, quoted, safe

STATS_GROUP = "version-stats"
CREATED_WIDTH = 16
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


class VersionsScreen(ListScreen[tuple[Document, list[Transcription]], Transcription]):
    """The document's transcription versions with what each one holds."""

    DEFAULT_CSS = "#versions-status { height: auto; padding: 0 1; color: $warning; }"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="versions.back"),
        Binding("r", "rename", "Rename", id="versions.rename"),
        Binding("delete,x", "delete", "Delete", key_display="x", id="versions.delete"),
        Binding("c", "compare", "Compare", id="versions.compare"),
    ]
    EMPTY = "No transcription versions yet. Import ALTO or PAGE XML with i on the Images screen."

    def __init__(self, document_id: str) -> None:
        super().__init__()
        self.document_id = document_id
        self.stats: dict[str, VersionStats] | None = None
        self.recount = True
        self.name_width = self.source_width = 10  # set with the columns

    @property
    def versions(self) -> list[Transcription]:
        return self.items

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
            self.show_items()

    def on_job_finished(self, message: JobFinished) -> None:
        if message.job.document_id == self.document_id:
            self.reload(hold_keys=False)

    def reload(
        self,
        select: str | None = None,
        *,
        fallback_row: int | None = None,
        hold_keys: bool = True,
        recount: bool = True,
    ) -> Worker[None]:
        """Show the versions; ``recount`` counts their texts again (reads every page)."""
        self.recount = recount
        return super().reload(select, fallback_row=fallback_row, hold_keys=hold_keys)

    def load(self) -> tuple[Document, list[Transcription]]:
        doc = self.store.get_document(self.document_id)
        return doc, self.store.list_transcriptions(self.document_id)

    def load_failed(self, error: EsctuiError) -> None:
        if self.is_current:
            self.app.pop_screen()

    def listed(self, loaded: tuple[Document, list[Transcription]]) -> list[Transcription]:
        doc, versions = loaded
        self.sub_title = printable(doc.name)
        typology = "\n".join(safe(line) for line in describe_typology(doc.typology))
        self.query_one("#versions-title", Static).update(
            f"Transcription versions of {safe(doc.name)}" + (f"\n{typology}" if typology else "")
        )
        if versions and self.recount:
            self.count_texts()
        return versions

    def count_texts(self) -> None:
        """Count the lines and characters of every version (reads every page: a while)."""
        self.query_one("#versions-status", Static).update("Counting lines and characters…")
        store, document_id = self.store, self.document_id

        def failed(error: EsctuiError) -> None:
            self.query_one("#versions-status", Static).update(
                f"Could not count the texts: {safe(error)}"
            )

        self.store_call(
            lambda: version_stats(store, document_id),
            self._counted,
            group=STATS_GROUP,
            failed=failed,
        )

    def _counted(self, stats: dict[str, VersionStats]) -> None:
        self.stats = stats
        self.query_one("#versions-status", Static).update("")
        self.show_items()

    def _counts(self, version_id: str) -> tuple[str, str, str]:
        if self.stats is None:
            return ("…", "…", "…")
        item = self.stats.get(version_id, VersionStats())
        return (f"{item.pages:,}", f"{item.lines:,}", f"{item.characters:,}")

    def _widths(self) -> tuple[list[int], int, int]:
        """The widths of the counts, of Source and of Name: numbers whole, Name what is left."""
        rows = [self._counts(v.id) for v in self.versions]
        widths = [
            max([len(header)] + [len(counts[i]) for counts in rows])
            for i, header in enumerate(("Pages", "Lines", "Chars"))
        ]
        source_width = max([6] + [len(printable(v.source)) for v in self.versions])
        fixed = source_width + CREATED_WIDTH + sum(widths) + 2 * 6 + 2  # padding, scroll bar
        return widths, source_width, max(10, (self.size.width or 80) - fixed)

    def columns(self) -> list[Column]:
        widths, source_width, name_width = self._widths()
        self.name_width, self.source_width = name_width, source_width
        counts = [
            Column(Text(header, justify="right"), key, width)
            for (header, key), width in zip(
                (("Pages", "pages"), ("Lines", "lines"), ("Chars", "chars")), widths, strict=True
            )
        ]
        return [
            Column("Name", "name", name_width),
            Column("Source", "source", source_width),
            Column("Created", "created", CREATED_WIDTH),
            *counts,
        ]

    def row(self, version: Transcription) -> Row:
        return Row(
            version.id,
            (
                cell(version.name, self.name_width),
                cell(version.source, self.source_width),
                _created(version),
                *(number(count) for count in self._counts(version.id)),
            ),
        )

    def selected(self) -> Transcription | None:
        version = self.selected_item()
        if version is None:
            self.notify("No transcription version selected.", severity="warning")
        return version

    # ------------------------------------------------------------------ actions

    def action_rename(self) -> None:
        version = self.selected()
        if version is None:
            return

        store, document_id = self.store, self.document_id

        def rename(name: str) -> None:  # in the dialog's thread
            if name.strip() != version.name:
                store.rename_transcription(document_id, version.id, name)

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

        store, document_id = self.store, self.document_id

        def deleted(_: None) -> None:
            self.notify(f"Deleted the version {quoted(version.name)}; its name is free again.")
            self.reload()

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.store_call(
                    lambda: store.delete_transcription(document_id, version.id), deleted
                )

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
        store, document_id = self.store, self.document_id
        self.store_call(
            lambda: store.list_parts(document_id), lambda parts: self._compare(first, others, parts)
        )

    def _compare(
        self, first: Transcription, others: list[Transcription], parts: list[Part]
    ) -> None:
        """Ask which version to compare ``first`` with (if there are several), and on which page."""
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


class CompareScreen(PagedScreen[tuple[Transcription, Transcription]]):
    """One page, two versions side by side, line by line; differing lines highlighted."""

    DEFAULT_CSS = "#compare-line { height: 3; padding: 0 1; border-top: solid $primary-darken-2; }"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="compare.back"),
        Binding("n", "next_difference", "Next difference", id="compare.next_difference"),
        Binding(
            "left_square_bracket", "page(-1)", "Prev page", key_display="[", id="compare.previous"
        ),
        Binding("right_square_bracket", "page(1)", "Next page", key_display="]", id="compare.next"),
    ]

    def __init__(self, document_id: str, part_id: str, left_id: str, right_id: str) -> None:
        super().__init__(document_id, part_id)
        self.left_id = left_id
        self.right_id = right_id
        self.left: Transcription | None = None
        self.right: Transcription | None = None
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

    def read_extra(self) -> tuple[Transcription, Transcription]:
        return (
            self.store.get_transcription(self.document_id, self.left_id),
            self.store.get_transcription(self.document_id, self.right_id),
        )

    def opened(self, extra: tuple[Transcription, Transcription]) -> None:
        self.left, self.right = extra

    def show_page(self, part: Part, layout: PageLayout) -> None:
        left, right = self.left, self.right
        assert left is not None and right is not None  # read when the screen opened
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
        width = max(10, (self.size.width - 3 - 1 - 2 * 4 - 2) // 2)
        columns = [
            Column("#", "n", 3),
            Column("≠", "mark", 1),
            Column(cell(left.name, width), "left", width),
            Column(cell(right.name, width), "right", width),
        ]
        table = self.query_one(RowTable)
        table.refill(
            [self._row(number, row, width) for number, row in enumerate(self.rows, 1)],
            columns=columns,
            fallback_row=0,
        )
        empty = self.query_one("#empty", Static)
        empty.display = not self.rows
        empty.update("This page has no lines.")
        table.display = bool(self.rows)
        if self.rows:
            table.focus()
        self.show_selected()

    @staticmethod
    def _row(line_number: int, row: tuple[str, str, str], width: int) -> Row:
        line_id, a, b = row
        if a == b:
            cells: tuple[Text | str, Text | str] = (Text(a, no_wrap=True), Text(b, no_wrap=True))
            mark: Text | str = ""
        else:
            cells = diff_texts(a, b)
            mark = Text("≠", style="bold red")
        for text in cells:
            if isinstance(text, Text):
                text.truncate(width, overflow="ellipsis")
        return Row(line_id, (str(line_number), mark, *cells))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_selected()

    def show_selected(self) -> None:
        box = self.query_one("#compare-line", Static)
        line_id = self.query_one(RowTable).selected_key if self.rows else None
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
