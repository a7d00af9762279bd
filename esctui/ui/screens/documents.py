"""The first screen: the list of documents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.widgets import DataTable, Header, Static

from esctui.domain import Document
from esctui.domain.errors import EsctuiError
from esctui.domain.text import plural
from esctui.ui.messages import JobFinished, JobUpdated
from esctui.ui.running import STOPPED_BY_DELETE
from esctui.ui.screens.lists import ListScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.tables import Row, RowTable
from esctui.ui.widgets.text import cell, number, quoted, safe

NAME_WIDTH = 34  # the Name column at 80 columns; the rest of a longer name shows as "…"


class DocumentsScreen(ListScreen[list[Document], Document]):
    """Create, rename, describe, delete and open documents."""

    BINDINGS = [
        Binding("enter", "open", "Open", priority=True, id="documents.open"),
        Binding("n", "new", "New", id="documents.new"),
        Binding("e", "settings", "Edit", id="documents.edit"),
        Binding("r", "rename", "Rename", id="documents.rename"),
        Binding("D", "describe", "Describe", id="documents.describe"),
        Binding("delete,x", "delete", "Delete", key_display="x", id="documents.delete"),
        Binding("i", "import_into", "Import", id="documents.import"),
        Binding("j", "app.jobs", "Jobs", id="documents.jobs"),
        Binding("m", "app.models", "Models", id="documents.models"),
        Binding("R", "remotes", "Remotes", id="documents.remotes"),
        Binding("P", "push", "Push", id="documents.push"),
        Binding("q", "app.quit", "Quit", id="documents.quit"),  # Ctrl+Q too
    ]
    EMPTY = "No documents yet. Press n to create one."
    PAGES_GROUP = "page-counts"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Documents", classes="title")
        yield RowTable(id="documents")
        yield Static("", id="empty", classes="empty")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.table
        table.add_column("Name", key="name")
        table.add_column(Text("Pages", justify="right"), key="pages")
        table.add_column("Script", key="script")
        table.add_column("Dir", key="dir")
        table.add_column("Changed", key="changed")

    def on_screen_resume(self) -> None:
        """Fill the list when the screen is first shown, and again on return from another."""
        self.reload()

    def on_job_finished(self, message: JobFinished) -> None:
        self.reload(hold_keys=False)

    def on_job_updated(self, message: JobUpdated) -> None:
        """An import adds pages: their count follows (read when the job commits new pages)."""
        shown = [d for d in message.job.document_ids() if d in self.table.rows]
        if not shown:
            return
        store = self.store

        def counts() -> dict[str, int]:
            found: dict[str, int] = {}
            for document_id in shown:
                try:
                    found[document_id] = store.get_document(document_id).page_count
                except EsctuiError:
                    continue  # deleted meanwhile: the next reload drops it
            return found

        self.store_call(counts, self._show_counts, group=self.PAGES_GROUP, hold_keys=False)

    def _show_counts(self, counts: dict[str, int]) -> None:
        for document_id, count in counts.items():
            doc = next((d for d in self.items if d.id == document_id), None)
            if doc is not None and doc.page_count != count and document_id in self.table.rows:
                doc.page_count = count
                self.table.update_cell(document_id, "pages", number(count))

    def load(self) -> list[Document]:
        return self.store.list_documents()

    def listed(self, loaded: list[Document]) -> list[Document]:
        return loaded

    def row(self, doc: Document) -> Row:
        return Row(
            doc.id,
            (
                cell(doc.name, NAME_WIDTH),
                number(doc.page_count),
                cell(doc.main_script, 12),
                doc.read_direction,
                dt.datetime.fromtimestamp(doc.updated).strftime("%Y-%m-%d %H:%M"),
            ),
        )

    def selected(self) -> Document | None:
        """The document under the cursor, as last read."""
        doc = self.selected_item()
        if doc is None:
            self.notify("No document selected. Press n to create one.", severity="warning")
        return doc

    def with_selected(self, then: Callable[[Document], object]) -> None:
        """Read the selected document afresh (another esctui may have changed it), then
        ``then(document)``; one that is gone is said, and the list read again."""
        doc = self.selected()
        if doc is None:
            return

        def gone(error: EsctuiError) -> None:
            self.notify(safe(error), severity="error")
            self.reload()

        store = self.store
        self.store_call(lambda: store.get_document(doc.id), then, failed=gone)

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

    def action_remotes(self) -> None:
        """The saved eScriptorium servers, their projects and documents."""
        from esctui.ui.screens.remotes import RemotesScreen

        self.app.push_screen(RemotesScreen())

    def action_push(self) -> None:
        """Send the selected document to an eScriptorium server (the Push dialog)."""
        doc = self.selected()
        if doc is not None:
            from esctui.ui.screens.push import open_dialog

            open_dialog(self, doc.id)

    def action_new(self) -> None:
        store = self.store

        def create(doc: Document) -> Document:
            return store.create_document(
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
        self.with_selected(self._ask_name)

    def _ask_name(self, doc: Document) -> None:
        store = self.store
        saved: list[Document] = []

        def rename(name: str) -> None:  # in the dialog's thread
            if name.strip() != doc.name:
                saved.append(store.rename_document(doc.id, name))

        from esctui.ui.screens.dialogs import NAME_RULE, TextPromptScreen

        self.app.push_screen(
            TextPromptScreen(
                f"New name for {quoted(doc.name)}", doc.name, hint=NAME_RULE, apply=rename
            ),
            lambda _name: self._saved(saved[0] if saved else None),
        )

    def action_settings(self) -> None:
        from esctui.ui.screens.dialogs import DocumentFormScreen

        self.with_selected(
            lambda doc: self.app.push_screen(
                DocumentFormScreen(doc, save=self.store.update_document), self._saved
            )
        )

    def action_describe(self) -> None:
        from esctui.ui.screens.dialogs import DescriptionScreen

        def save(edited: Document | None) -> None:
            if edited is not None:
                self.store_call(lambda: self.store.update_document(edited), self._saved)

        self.with_selected(lambda doc: self.app.push_screen(DescriptionScreen(doc), save))

    def action_delete(self) -> None:
        self.with_selected(self._ask_delete)

    def _ask_delete(self, doc: Document) -> None:
        running = self.app.jobs_for_document(doc.id)

        async def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            if running:
                self.notify(f"Stopping {plural(len(running), 'job')} first…", timeout=3)
                if not await self.app.stop_jobs(running, STOPPED_BY_DELETE):
                    self.notify(
                        "The job did not stop; nothing was deleted. Try again in a moment.",
                        severity="error",
                    )
                    return
            store = self.store
            self.store_call(
                lambda: store.delete_document(doc.id),
                lambda _: self._deleted(doc),
            )

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

    def _deleted(self, doc: Document) -> None:
        self.notify(f"Deleted {quoted(doc.name)}.")
        self.reload()

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
            SystemCommand(
                "Push document", "Send the selected document to eScriptorium", self.action_push
            ),
            SystemCommand(
                "eScriptorium servers", "Servers, their projects and documents", self.action_remotes
            ),
        ]
