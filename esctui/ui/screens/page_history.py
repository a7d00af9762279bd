"""A line's earlier texts in one version (the Page view's ``h``): where each came from, when,
and the text; Enter makes the chosen one current again (``Store.set_line_text(restore=…)``, as
``esctui transcriptions restore`` does), the current text going into the history."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, Static

from esctui.domain import LineText
from esctui.domain.text import local_time, plural
from esctui.ui.screens.base import EsctuiModalScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.tables import Column, Row, RowTable
from esctui.ui.widgets.text import cell, safe

SOURCE_WIDTH = 16
TIME_WIDTH = 16
TEXT_WIDTH = 28
NOW = "now"


def when(timestamp: float) -> str:
    return local_time(timestamp) if timestamp else "–"


class LineHistoryScreen(EsctuiModalScreen[bool]):
    """The current text of a line and its earlier ones; dismisses True once one is restored."""

    DEFAULT_CSS = """
    #history-texts { height: auto; max-height: 14; min-height: 3; }
    #history-text { height: auto; min-height: 2; }
    """
    BINDINGS = [
        Binding("enter", "restore", "Restore", priority=True, id="line_history.restore"),
        Binding("escape", "close", "Close", id="line_history.close"),
    ]

    def __init__(
        self,
        document_id: str,
        part_id: str,
        line_id: str,
        version_id: str,
        *,
        title: str,
    ) -> None:
        super().__init__()
        self.document_id = document_id
        self.part_id = part_id
        self.line_id = line_id
        self.version_id = version_id
        self.title_text = title
        self.text: LineText | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide tight"):
            yield Label(self.title_text, classes="title")
            yield RowTable(id="history-texts")
            yield Static("", id="history-text")
            yield Static("Reading the line…", id="history-hint", classes="hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        store = self.store
        ids = (self.document_id, self.part_id, self.line_id, self.version_id)
        self.store_call(lambda: store.line_text(*ids), self.show, group="history", failed=self.gone)

    def gone(self, error: Exception) -> None:
        self.notify(safe(error), severity="error", timeout=10)
        self.dismiss(False)

    def show(self, text: LineText | None) -> None:
        self.text = text
        table = self.query_one(RowTable)
        rows = []
        if text is not None:
            rows.append(self.row(NOW, text.source, text.time, text.text))
            rows += [
                self.row(str(number), old.source, old.time, old.text)
                for number, old in enumerate(text.history, 1)
            ]
        columns = [
            Column("#", "n"),
            Column("Source", "source", SOURCE_WIDTH),
            Column("Time", "time", TIME_WIDTH),
            Column("Text", "text", TEXT_WIDTH),
        ]
        table.refill(rows, keep="1" if len(rows) > 1 else None, fallback_row=0, columns=columns)
        table.focus()
        if text is None:
            hint = "The line has no text in this version, so no earlier texts. Escape closes."
        elif not text.history:
            hint = "The line has no earlier texts in this version. Escape closes."
        else:
            hint = (
                f"{plural(len(text.history), 'earlier text')}, the most recent first. Enter "
                "makes the one under the cursor current (the current one is kept in the history)."
            )
        self.query_one("#history-hint", Static).update(hint)
        self.show_whole()

    @staticmethod
    def row(key: str, source: str, time: float, text: str) -> Row:
        return Row(
            key,
            [
                cell(key),
                cell(source or "–", SOURCE_WIDTH),
                cell(when(time), TIME_WIDTH),
                cell(" ".join(text.split()) or "(empty)", TEXT_WIDTH),
            ],
        )

    def on_data_table_row_highlighted(self) -> None:
        self.show_whole()

    def chosen_text(self) -> str | None:
        key = self.query_one(RowTable).selected_key
        if self.text is None or key is None:
            return None
        return self.text.text if key == NOW else self.text.history[int(key) - 1].text

    def show_whole(self) -> None:
        """The text under the cursor in full (the table cuts it)."""
        text = self.chosen_text()
        self.query_one("#history-text", Static).update(safe(text) if text else "")

    def action_restore(self) -> None:
        key = self.query_one(RowTable).selected_key
        if self.text is None or key is None or key == NOW:
            self.notify("Choose an earlier text (a numbered row) to restore.", severity="warning")
            return
        index = int(key) - 1
        store = self.store
        ids = (self.document_id, self.part_id, self.line_id, self.version_id)

        def restored(text: LineText) -> None:
            self.notify(f"Restored: {safe(' '.join(text.text.split()))}")
            self.dismiss(True)

        self.store_call(
            lambda: store.set_line_text(*ids, "", restore=index), restored, group="restore"
        )

    def action_close(self) -> None:
        self.dismiss(False)
