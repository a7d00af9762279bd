"""The first screen: the list of documents."""

from __future__ import annotations

import datetime as dt

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from esctui.domain import Document
from esctui.domain.errors import EsctuiError
from esctui.ui.messages import JobFinished
from esctui.ui.widgets.store_access import StoreAccess
from esctui.ui.widgets.tables import RowTable, selected_row_key


class DocumentsScreen(StoreAccess, Screen[None]):
    """Create, rename, describe, delete and open documents."""

    BINDINGS = [
        Binding("enter", "open", "Open", show=True, priority=False),
        Binding("n", "new", "New"),
        Binding("r", "rename", "Rename"),
        Binding("e", "settings", "Edit"),
        Binding("D", "describe", "Describe"),
        Binding("delete,x", "delete", "Delete"),
        Binding("j", "app.jobs", "Jobs"),
        Binding("m", "app.models", "Models"),
        Binding("q", "app.quit", "Quit", show=False),  # Ctrl+Q too; listed in Help
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Documents", classes="title")
        yield RowTable(id="documents")
        yield Static("", id="empty", classes="empty")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Name", "Pages", "Script", "Dir", "Changed")

    def on_screen_resume(self) -> None:
        """Fill the list when the screen is first shown, and again on return from another."""
        self.reload()

    def on_job_finished(self, message: JobFinished) -> None:
        self.reload()

    def reload(self, select: str | None = None) -> None:
        table = self.query_one(DataTable)
        current = select or self.selected_id()
        table.clear()
        documents = self.store.list_documents()
        for doc in documents:
            table.add_row(
                doc.name,
                str(doc.page_count),
                doc.main_script,
                doc.read_direction,
                dt.datetime.fromtimestamp(doc.updated).strftime("%Y-%m-%d %H:%M"),
                key=doc.id,
            )
        empty = self.query_one("#empty", Static)
        empty.update("" if documents else "No documents yet. Press n to create one.")
        empty.display = not documents
        if current is not None and any(d.id == current for d in documents):
            table.move_cursor(row=table.get_row_index(current))
        table.focus()

    def selected_id(self) -> str | None:
        return selected_row_key(self.query_one(DataTable))

    def selected(self) -> Document | None:
        doc_id = self.selected_id()
        if doc_id is None:
            self.notify("No document selected. Press n to create one.", severity="warning")
            return None
        return self.store.get_document(doc_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    # ------------------------------------------------------------------ actions

    def action_open(self) -> None:
        doc = self.selected()
        if doc is not None:
            from esctui.ui.screens.images import ImagesScreen

            self.app.push_screen(ImagesScreen(doc.id))

    def action_new(self) -> None:
        def created(doc: Document | None) -> None:
            if doc is None:
                return
            try:
                new = self.store.create_document(
                    doc.name,
                    main_script=doc.main_script,
                    read_direction=doc.read_direction,
                    line_offset=doc.line_offset,
                )
            except EsctuiError as error:
                self.notify(str(error), severity="error")
                return
            self.notify(f"Created {new.name!r}.")
            self.reload(select=new.id)

        from esctui.ui.screens.dialogs import DocumentFormScreen  # dialogs load on first use

        self.app.push_screen(DocumentFormScreen(), created)

    def _save(self, doc: Document | None) -> None:
        if doc is None:
            return
        try:
            self.store.update_document(doc)
        except EsctuiError as error:
            self.notify(str(error), severity="error")
            return
        self.notify(f"Saved {doc.name!r}.")
        self.reload(select=doc.id)

    def action_rename(self) -> None:
        doc = self.selected()
        if doc is None:
            return

        def renamed(name: str | None) -> None:
            if name:
                doc.name = name
                self._save(doc)

        from esctui.ui.screens.dialogs import TextPromptScreen

        self.app.push_screen(TextPromptScreen(f"New name for {doc.name!r}", doc.name), renamed)

    def action_settings(self) -> None:
        doc = self.selected()
        if doc is not None:
            from esctui.ui.screens.dialogs import DocumentFormScreen

            self.app.push_screen(DocumentFormScreen(doc), self._save)

    def action_describe(self) -> None:
        doc = self.selected()
        if doc is not None:
            from esctui.ui.screens.dialogs import DescriptionScreen

            self.app.push_screen(DescriptionScreen(doc), self._save)

    def action_delete(self) -> None:
        doc = self.selected()
        if doc is None:
            return

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.store.delete_document(doc.id)
            except EsctuiError as error:
                self.notify(str(error), severity="error")
                return
            self.notify(f"Deleted {doc.name!r}.")
            self.reload()

        from esctui.ui.screens.dialogs import ConfirmScreen

        self.app.push_screen(
            ConfirmScreen(
                f"Delete {doc.name!r} with its {doc.page_count} pages, transcriptions and files?\n"
                "This cannot be undone.",
                yes_label="Delete",
            ),
            confirmed,
        )

    def palette_commands(self) -> list[SystemCommand]:
        return [
            SystemCommand("New document", "Create a document", self.action_new),
            SystemCommand("Open document", "Open the selected document", self.action_open),
            SystemCommand("Rename document", "Rename the selected document", self.action_rename),
            SystemCommand("Delete document", "Delete the selected document", self.action_delete),
        ]
