"""The Models screen: kraken models owned by or shared with the user."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static


class ModelsScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Models", classes="title")
        with Horizontal():
            yield DataTable(id="models", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(classes="side panel"):
                yield Static("", id="model-info")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Name", "Kind", "Access")
        store = self.app.store  # type: ignore[attr-defined]
        for model in store.list_models():
            access = "owner" if model.owner == store.user else f"shared by {model.owner}"
            table.add_row(model.name, ", ".join(model.kinds), access, key=model.id)
        if table.row_count == 0:
            self.query_one("#model-info", Static).update("No models yet.")
        table.focus()
