"""The first screen: the list of documents."""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from esctui.domain import Document
from esctui.domain.errors import EsctuiError
from esctui.domain.text import plural
from esctui.ui.messages import JobFinished, JobUpdated
from esctui.ui.running import STOPPED_BY_DELETE
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.store_access import StoreAccess
from esctui.ui.widgets.tables import RowTable, selected_row_key
from esctui.ui.widgets.text import cell, number, quoted, safe

NAME_WIDTH = 34  # the Name column at 80 columns; the rest of a longer name shows as "…"


class DocumentsScreen(StoreAccess, Screen[None]):
    """Create, rename, describe, delete and open documents."""

    BINDINGS = [
        Binding("enter", "open", "Open", priority=True),
        Binding("n", "new", "New"),
        Binding("e", "settings", "Edit"),
        Binding("r", "rename", "Rename"),
        Binding("D", "describe", "Describe"),
        Binding("delete,x", "delete", "Delete", key_display="x"),
        Binding("i", "import_into", "Import"),
        Binding("j", "app.jobs", "Jobs"),
        Binding("m", "app.models", "Models"),
        Binding("q", "app.quit", "Quit"),  # Ctrl+Q too
    ]

    def __init__(self) -> None:
        super().__init__()
        self.page_counts: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Documents", classes="title")
        yield RowTable(id="documents")
        yield Static("", id="empty", classes="empty")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Name", key="name")
        table.add_column(Text("Pages", justify="right"), key="pages")
        table.add_column("Script", key="script")
        table.add_column("Dir", key="dir")
        table.add_column("Changed", key="changed")

    def on_screen_resume(self) -> None:
        """Fill the list when the screen is first shown, and again on return from another."""
        self.reload()

    def on_job_finished(self, message: JobFinished) -> None:
        self.reload()

    def on_job_updated(self, message: JobUpdated) -> None:
        """An import adds pages: their count follows (read when the job commits new pages)."""
        table = self.query_one(DataTable)
        for document_id in message.job.document_ids():
            if document_id not in table.rows:
                continue
            try:
                count = self.store.get_document(document_id).page_count
            except EsctuiError:
                continue
            if count != self.page_counts.get(document_id):
                self.page_counts[document_id] = count
                table.update_cell(document_id, "pages", number(count))

    def reload(self, select: str | None = None) -> None:
        table = self.query_one(DataTable)
        current = select or self.selected_id()
        table.clear()
        documents = self.store.list_documents()
        self.page_counts = {doc.id: doc.page_count for doc in documents}
        for doc in documents:
            table.add_row(
                cell(doc.name, NAME_WIDTH),
                number(doc.page_count),
                cell(doc.main_script, 12),
                doc.read_direction,
                dt.datetime.fromtimestamp(doc.updated).strftime("%Y-%m-%d %H:%M"),
                key=doc.id,
            )
        empty = self.query_one("#empty", Static)
        empty.update("" if documents else "No documents yet. Press n to create one.")
        empty.display = not documents
        if current is not None and current in table.rows:
            table.move_cursor(row=table.get_row_index(current))
        table.focus()

    def selected_id(self) -> str | None:
        return selected_row_key(self.query_one(DataTable))

    def selected(self) -> Document | None:
        doc_id = self.selected_id()
        if doc_id is None:
            self.notify("No document selected. Press n to create one.", severity="warning")
            return None
        try:
            return self.store.get_document(doc_id)
        except EsctuiError as error:
            self.notify(safe(error), severity="error")
            self.reload()
            return None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()  # a mouse click; Enter is the binding above

    # ------------------------------------------------------------------ actions

    def action_open(self) -> None:
        doc = self.selected()
        if doc is not None:
            from esctui.ui.screens.images import ImagesScreen

            self.app.push_screen(ImagesScreen(doc.id))

    def action_import_into(self) -> None:
        """Import into the selected document: its pages open with the Import menu on top."""
        doc = self.selected()
        if doc is None:
            return
        from esctui.ui.screens.images import ImagesScreen

        screen = ImagesScreen(doc.id)
        self.app.push_screen(screen, lambda _: None)
        screen.call_after_refresh(screen.action_import_menu)

    def action_new(self) -> None:
        def create(doc: Document) -> Document:
            return self.store.create_document(
                doc.name,
                main_script=doc.main_script,
                read_direction=doc.read_direction,
                line_offset=doc.line_offset,
            )

        def created(doc: Document | None) -> None:
            if doc is not None:
                self.notify(f"Created {quoted(doc.name)}.")
                self.reload(select=doc.id)

        from esctui.ui.screens.dialogs import DocumentFormScreen  # dialogs load on first use

        self.app.push_screen(DocumentFormScreen(save=create), created)

    def _saved(self, doc: Document | None) -> None:
        if doc is not None:
            self.notify(f"Saved {quoted(doc.name)}.")
            self.reload(select=doc.id)

    def action_rename(self) -> None:
        doc = self.selected()
        if doc is None:
            return
        saved: list[Document] = []

        def rename(name: str) -> None:
            if name.strip() != doc.name:
                saved.append(self.store.rename_document(doc.id, name))

        from esctui.ui.screens.dialogs import NAME_RULE, TextPromptScreen

        self.app.push_screen(
            TextPromptScreen(
                f"New name for {quoted(doc.name)}", doc.name, hint=NAME_RULE, apply=rename
            ),
            lambda _name: self._saved(saved[0] if saved else None),
        )

    def action_settings(self) -> None:
        doc = self.selected()
        if doc is not None:
            from esctui.ui.screens.dialogs import DocumentFormScreen

            self.app.push_screen(
                DocumentFormScreen(doc, save=self.store.update_document), self._saved
            )

    def action_describe(self) -> None:
        doc = self.selected()
        if doc is None:
            return
        from esctui.ui.screens.dialogs import DescriptionScreen

        def save(edited: Document | None) -> None:
            if edited is None:
                return
            try:
                self.store.update_document(edited)
            except EsctuiError as error:
                self.notify(safe(error), severity="error")
                return
            self._saved(edited)

        self.app.push_screen(DescriptionScreen(doc), save)

    def action_delete(self) -> None:
        doc = self.selected()
        if doc is None:
            return
        running = self.app.jobs_for_document(doc.id)  # type: ignore[attr-defined]

        async def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            if running:
                self.notify(f"Stopping {plural(len(running), 'job')} first…", timeout=3)
                stopped = await self.app.stop_jobs(running, STOPPED_BY_DELETE)  # type: ignore[attr-defined]
                if not stopped:
                    self.notify(
                        "The job did not stop; nothing was deleted. Try again in a moment.",
                        severity="error",
                    )
                    return
            try:
                self.store.delete_document(doc.id)
            except EsctuiError as error:
                self.notify(safe(error), severity="error", timeout=10)
                return
            self.notify(f"Deleted {quoted(doc.name)}.")
            self.reload()

        from esctui.ui.screens.dialogs import ConfirmScreen

        if doc.page_count:
            question = (
                f"Delete {quoted(doc.name)} with its {plural(doc.page_count, 'page')}, "
                "transcriptions and files?\nThis cannot be undone."
            )
        else:
            question = f"Delete {quoted(doc.name)}? It has no pages yet."
        if running:
            jobs = "\n".join(f"• {safe(job.summary())}" for job in running)
            question += (
                f"\n\n{'A job is' if len(running) == 1 else 'Jobs are'} running into it:\n"
                f"{jobs}\nDeleting stops {'it' if len(running) == 1 else 'them'} first."
            )
        self.app.push_screen(
            ConfirmScreen(question, yes_label="Stop and delete" if running else "Delete"),
            confirmed,
        )

    def palette_commands(self) -> list[SystemCommand]:
        return [
            SystemCommand("New document", "Create a document", self.action_new),
            SystemCommand("Open document", "Open the selected document", self.action_open),
            SystemCommand("Rename document", "Rename the selected document", self.action_rename),
            SystemCommand("Delete document", "Delete the selected document", self.action_delete),
            SystemCommand(
                "Import into document",
                "Images, PDF, IIIF or XML into the selected document",
                self.action_import_into,
            ),
        ]
