"""The page picker: choose one page of a document by typing part of its name, image name or
number (the XML import's "Assign page": an XML file the names did not match goes to it)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from esctui.domain import Part
from esctui.domain.text import plural
from esctui.ui.screens.base import EsctuiModalScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.inputs import TextInput
from esctui.ui.widgets.tables import Column, Row, RowTable
from esctui.ui.widgets.text import cell, number

NAME_WIDTH = 28
IMAGE_WIDTH = 28


def page_matches(part: Part, page_number: int, wanted: str) -> bool:
    """Whether a filter ``wanted`` fits a page: its number starts with it, or its name or image
    file name holds it (case ignored)."""
    wanted = wanted.strip().casefold()
    if not wanted:
        return True
    if wanted.isdigit() and str(page_number).startswith(wanted):
        return True
    return wanted in part.name.casefold() or wanted in part.original_filename.casefold()


class PagePickerScreen(EsctuiModalScreen[int | None]):
    """Pick a page of ``document_id``; dismisses with its page number (from 1), or None."""

    DEFAULT_CSS = """
    #page-picker-pages { height: 1fr; min-height: 3; }
    """
    BINDINGS = [
        Binding("enter", "choose", "Choose", priority=True, id="page_picker.choose"),
        Binding("escape", "cancel", "Cancel", id="page_picker.cancel"),
        Binding("down", "move(1)", "Next", show=False, id="page_picker.down"),
        Binding("up", "move(-1)", "Previous", show=False, id="page_picker.up"),
    ]

    def __init__(self, document_id: str, title: str, *, current: int | None = None) -> None:
        super().__init__()
        self.document_id = document_id
        self.title_text = title
        self.current = current  # the page number the cursor starts on
        self.pages: list[Part] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide tight"):
            yield Label(self.title_text, classes="title")
            yield TextInput(placeholder="Type part of a page name or its number", id="page-filter")
            yield RowTable(id="page-picker-pages")
            yield Static("Reading the pages…", id="page-picker-hint", classes="hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#page-filter", Input).focus()
        store, document_id = self.store, self.document_id
        self.store_call(lambda: store.list_parts(document_id), self.listed, group="pages")

    def listed(self, parts: list[Part]) -> None:
        self.pages = sorted(parts, key=lambda p: p.order)
        self.loaded = True
        self.show(keep=str(self.current) if self.current else None)

    def show(self, keep: str | None = None) -> None:
        """The pages the filter fits, the cursor on ``keep`` (a page number) or the first."""
        wanted = self.query_one("#page-filter", Input).value
        rows = [
            Row(
                str(index),
                [
                    number(index),
                    cell(part.name, NAME_WIDTH),
                    cell(part.original_filename or "—", IMAGE_WIDTH),
                ],
            )
            for index, part in enumerate(self.pages, 1)
            if page_matches(part, index, wanted)
        ]
        table = self.query_one(RowTable)
        columns = [Column("#", "n"), Column("Page", "name"), Column("Image", "image")]
        table.refill(rows, keep=keep, fallback_row=0, columns=columns)
        if not self.pages:
            hint = "This document has no pages yet."
        elif not rows:
            hint = "No page fits what is typed."
        else:
            hint = (
                f"{len(rows)} of {plural(len(self.pages), 'page')}. Type to filter, Up/Down to "
                "choose, Enter to take it, Escape to cancel."
            )
        self.query_one("#page-picker-hint", Static).update(hint)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.loaded:
            self.show()

    def action_move(self, delta: int) -> None:
        table = self.query_one(RowTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.cursor_row + delta, table.row_count - 1)))

    def action_choose(self) -> None:
        key = self.query_one(RowTable).selected_key
        if key is None:
            self.notify("No page to choose: change what is typed.", severity="warning")
            return
        self.dismiss(int(key))

    def action_cancel(self) -> None:
        self.dismiss(None)
