"""The pages of one document: list, preview, reorder, delete, import."""

from __future__ import annotations

import importlib

from rich.markup import escape
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from esctui.domain import Document, Part, describe_typology
from esctui.domain.errors import EsctuiError
from esctui.domain.text import human_size
from esctui.ui.messages import JobFinished
from esctui.ui.screens.dialogs import Choice, ChoiceScreen, ConfirmScreen, DescriptionScreen
from esctui.ui.widgets.preview import PagePreview
from esctui.ui.widgets.store_access import StoreAccess
from esctui.ui.widgets.tables import RowTable, selected_row_key

# Import menu: key -> (label, help, "module:function"). The function takes (screen, document_id)
# and opens that import's dialog; each importer's UI lives in its own module.
IMPORT_MENU: dict[str, tuple[str, str, str]] = {
    "images": (
        "Images (local files)",
        "JPEG, PNG, TIFF, WebP, … in the order you pick",
        "esctui.ui.screens.import_images:open_dialog",
    ),
    "pdf": (
        "Images (PDF)",
        "one page image per PDF page",
        "esctui.ui.screens.import_pdf:open_dialog",
    ),
    "iiif": (
        "Images (IIIF)",
        "every canvas of a IIIF manifest URL",
        "esctui.ui.screens.import_iiif:open_dialog",
    ),
    "xml": (
        "Transcriptions (XML)",
        "ALTO or PAGE, one file or a ZIP",
        "esctui.ui.screens.import_xml:open_dialog",
    ),
}


class ImagesScreen(StoreAccess, Screen[None]):
    """Pages of a document in order, with an info panel and a preview of the selected page."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("i", "import_menu", "Import"),
        Binding("enter", "open_page", "Page view"),
        Binding("K,shift+up", "move(-1)", "Move up", show=False),
        Binding("J,shift+down", "move(1)", "Move down", show=False),
        Binding("space", "mark", "Mark"),
        Binding("delete,x", "delete", "Delete"),
        Binding("D", "describe", "Description", show=False),
        Binding("t", "versions", "Versions"),  # short: the footer fits 80 columns
        Binding("E", "export", "Export"),
        Binding("M", "masks", "Line masks", show=False),
        Binding("j", "app.jobs", "Jobs", show=False),
    ]

    def __init__(self, document_id: str) -> None:
        super().__init__()
        self.document_id = document_id
        self.parts: list[Part] = []
        self.marked: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="doc-title", classes="title")
        with Horizontal():
            with Vertical():
                yield RowTable(id="pages")
                yield Static("", id="empty", classes="empty")
            with Vertical(classes="side panel"):
                yield Static("", id="info")
                yield PagePreview(id="preview")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(" ", "#", "Page", "Size", "Regions", "Lines")

    def on_screen_resume(self) -> None:
        self.reload()

    def on_job_finished(self, message: JobFinished) -> None:
        if message.job.document_id == self.document_id:
            self.reload()

    def reload(self, select: str | None = None) -> None:
        try:
            doc = self.store.get_document(self.document_id)
        except EsctuiError:
            self.app.pop_screen()
            return
        self.query_one("#doc-title", Static).update(
            f"{doc.name} — {doc.page_count} page{'s' * (doc.page_count != 1)}"
        )
        self.sub_title = doc.name
        table = self.query_one(DataTable)
        current = select or self.selected_id()
        self.parts = self.store.list_parts(self.document_id)
        self.marked &= {p.id for p in self.parts}
        table.clear()
        for part in self.parts:
            table.add_row(
                "●" if part.id in self.marked else " ",
                str(part.order + 1),
                part.name,
                f"{part.width}x{part.height}",
                str(part.region_count),
                str(part.line_count),
                key=part.id,
            )
        empty = self.query_one("#empty", Static)
        empty.display = not self.parts
        empty.update("No pages yet. Press i to import images, a PDF or a IIIF manifest.")
        if current is not None and any(p.id == current for p in self.parts):
            table.move_cursor(row=table.get_row_index(current))
        self.show_info()
        table.focus()

    def selected_id(self) -> str | None:
        return selected_row_key(self.query_one(DataTable))

    def selected_part(self) -> Part | None:
        part_id = self.selected_id()
        return next((p for p in self.parts if p.id == part_id), None)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_info()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_page()

    def show_info(self) -> None:
        part = self.selected_part()
        info = self.query_one("#info", Static)
        preview = self.query_one("#preview", PagePreview)
        if part is None:
            info.update("")
            preview.show(None)
            return
        info.update(
            f"[b]{escape(part.name)}[/b]\npage {part.order + 1} of {len(self.parts)}\n"
            f"file: {escape(part.original_filename)}\n{part.width}x{part.height} {part.format}, "
            f"{human_size(part.byte_size)}\nsha256: {part.sha256[:16]}…\n"
            f"regions {part.region_count}, lines {part.line_count}"
            + "".join(f"\n{escape(line)}" for line in describe_typology(part.typology))
        )
        preview.show(self.store.part_thumbnail_path(part))

    # ------------------------------------------------------------------ actions

    def action_import_menu(self) -> None:
        choices = [Choice(key, label, help_) for key, (label, help_, _) in IMPORT_MENU.items()]

        def chosen(key: str | None) -> None:
            if key is not None:
                self.open_import(key)

        self.app.push_screen(ChoiceScreen("Import into this document", choices), chosen)

    def open_import(self, key: str) -> None:
        module_name, _, function = IMPORT_MENU[key][2].partition(":")
        getattr(importlib.import_module(module_name), function)(self, self.document_id)

    def action_move(self, delta: int) -> None:
        part = self.selected_part()
        if part is None:
            return
        try:
            self.store.move_part(self.document_id, part.id, delta)
        except EsctuiError as error:
            self.notify(str(error), severity="error")
        self.reload(select=part.id)

    def action_mark(self) -> None:
        part = self.selected_part()
        if part is None:
            return
        self.marked ^= {part.id}
        table = self.query_one(DataTable)
        row = table.cursor_row
        self.reload(select=part.id)
        if row + 1 < table.row_count:
            table.move_cursor(row=row + 1)

    def action_delete(self) -> None:
        targets = [p for p in self.parts if p.id in self.marked]
        if not targets:
            part = self.selected_part()
            targets = [part] if part else []
        if not targets:
            return
        names = ", ".join(p.name for p in targets[:3]) + ("…" if len(targets) > 3 else "")

        def confirmed(yes: bool | None) -> None:
            if yes:
                count = self.store.delete_parts(self.document_id, [p.id for p in targets])
                self.marked.clear()
                self.notify(f"Deleted {count} page{'s' * (count != 1)}.")
                self.reload()

        self.app.push_screen(
            ConfirmScreen(
                f"Delete {len(targets)} page{'s' * (len(targets) != 1)} ({names}) with their "
                "images and transcriptions?",
                yes_label="Delete",
            ),
            confirmed,
        )

    def action_describe(self) -> None:
        doc = self.store.get_document(self.document_id)

        def saved(doc_: Document | None) -> None:
            if doc_ is not None:
                try:
                    self.store.update_document(doc_)
                except EsctuiError as error:
                    self.notify(str(error), severity="error")
                self.reload()

        self.app.push_screen(DescriptionScreen(doc), saved)

    def action_open_page(self) -> None:
        part = self.selected_part()
        if part is None:
            return
        from esctui.ui.screens.page import PageScreen

        self.app.push_screen(PageScreen(self.document_id, part.id))

    def action_versions(self) -> None:
        from esctui.ui.screens.versions import VersionsScreen

        self.app.push_screen(VersionsScreen(self.document_id))

    def marked_ids(self) -> list[str]:
        """The marked pages, in page order."""
        return [p.id for p in self.parts if p.id in self.marked]

    def action_export(self) -> None:
        if not self.parts:
            self.notify("This document has no pages to export yet.", severity="warning")
            return
        from esctui.ui.screens.export import ExportScreen

        self.app.push_screen(ExportScreen(self.document_id, self.marked_ids()))

    def action_masks(self) -> None:
        from esctui.ui.screens.masks import open_dialog

        open_dialog(self, self.document_id, self.marked_ids())

    def palette_commands(self) -> list[SystemCommand]:
        commands = [
            SystemCommand(f"Import {label}", help_, lambda k=key: self.open_import(k))
            for key, (label, help_, _) in IMPORT_MENU.items()
        ]
        commands.append(
            SystemCommand("Description", "Edit the document's description", self.action_describe)
        )
        commands.append(
            SystemCommand(
                "Export", "ALTO, PAGE or text of all or the marked pages (E)", self.action_export
            )
        )
        commands.append(
            SystemCommand(
                "Compute line masks",
                "kraken masks around baselines, all or the marked pages (M)",
                self.action_masks,
            )
        )
        return commands
