"""The pages of one document: list, preview, reorder, delete, import."""

from __future__ import annotations

import importlib
import time
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Static

from esctui.domain import Document, Part, describe_typology
from esctui.domain.errors import EsctuiError
from esctui.domain.text import human_size, plural, printable
from esctui.ui.messages import JobFinished, JobUpdated
from esctui.ui.screens.dialogs import Choice, ChoiceScreen, ConfirmScreen, DescriptionScreen
from esctui.ui.screens.lists import ListScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.preview import PagePreview
from esctui.ui.widgets.tables import Column, Row, RowTable
from esctui.ui.widgets.text import cell, number, quoted, safe

SIDE_SHARE, SIDE_MIN = 0.4, 28  # app.tcss: .side (the info and preview panel)
SCROLLBAR = 2
MIN_PAGE_WIDTH = 8
LIVE_INTERVAL = 0.5  # seconds between looks at the page count while an import runs
MOVE = Binding.Group("Move")

# Import menu: key -> (label, help, "module:function"). The function takes (screen, document_id),
# the screen an EsctuiScreen, and opens that import's dialog; each importer's UI is its own module.
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
        "every canvas of an IIIF manifest, by its address",
        "esctui.ui.screens.import_iiif:open_dialog",
    ),
    "xml": (
        "Transcriptions (XML)",
        "ALTO or PAGE, one file or a ZIP",
        "esctui.ui.screens.import_xml:open_dialog",
    ),
    "archive": (
        "Export ZIP or METS",
        "pages with their ALTO/PAGE: Transkribus, eScriptorium, OCR-D",
        "esctui.ui.screens.import_archive:open_dialog",
    ),
}


class ImagesScreen(ListScreen[tuple[Document, list[Part]], Part]):
    """Pages of a document in order, with an info panel and a preview of the selected page."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="images.back"),
        Binding("enter", "open_page", "Open page", priority=True, id="images.open_page"),
        Binding("i", "import_menu", "Import", id="images.import"),
        Binding("space", "mark", "Mark", id="images.mark"),
        Binding(
            "K,shift+up", "move(-1)", "Move up", key_display="K", group=MOVE, id="images.move_up"
        ),
        Binding(
            "J,shift+down",
            "move(1)",
            "Move down",
            key_display="J",
            group=MOVE,
            id="images.move_down",
        ),
        Binding("delete,x", "delete", "Delete", key_display="x", id="images.delete"),
        Binding("t", "versions", "Versions", id="images.versions"),
        Binding("E", "export", "Export", id="images.export"),
        Binding("M", "masks", "Line masks", id="images.masks"),
        Binding("S", "segment", "Segment", id="images.segment"),
        Binding("T", "transcribe", "Transcribe", id="images.transcribe"),
        Binding("D", "describe", "Description", id="images.describe"),
        Binding("j", "app.jobs", "Jobs", id="images.jobs"),
    ]
    EMPTY = "No pages yet. Press i to import images, a PDF or an IIIF manifest."
    COUNT_GROUP = "page-count"

    def __init__(self, document_id: str) -> None:
        super().__init__()
        self.document_id = document_id
        self.marked: set[str] = set()
        self.document_name = ""
        self.page_width = 0  # of the Page column, set from the screen width
        self.last_look = 0.0  # when the page count was last read during an import
        self.look_pending = False

    @property
    def parts(self) -> list[Part]:
        """The pages, in order, as last read."""
        return self.items

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
        yield KeyFooter()

    def on_screen_resume(self) -> None:
        self.reload()

    def on_resize(self) -> None:
        if self.parts and self._column_widths()["page"] != self.page_width:
            self.show_items()

    def on_job_finished(self, message: JobFinished) -> None:
        if message.job.document_id in (self.document_id, None):  # None: a sequence of imports
            self.reload(hold_keys=False)

    def on_job_updated(self, message: JobUpdated) -> None:
        """Pages an import commits show up while it runs (looked for twice a second at most;
        a report coming sooner is looked at when the half second is over)."""
        if self.document_id not in message.job.document_ids():
            return
        wait = LIVE_INTERVAL - (time.monotonic() - self.last_look)
        if wait <= 0:
            self._look_for_pages()
        elif not self.look_pending:
            self.look_pending = True
            self.set_timer(wait, self._look_for_pages)

    def _look_for_pages(self) -> None:
        self.look_pending = False
        self.last_look = time.monotonic()
        store, document_id = self.store, self.document_id

        def changed(count: int) -> None:
            if count != len(self.parts):
                self.reload(hold_keys=False)

        self.store_call(
            lambda: store.get_document(document_id).page_count,
            changed,
            group=self.COUNT_GROUP,
            failed=lambda _error: None,  # the document is gone: the job's end says so
            hold_keys=False,
        )

    def _column_widths(self) -> dict[str, int]:
        """Widths of the # / Size / Regs / Lines columns, from their contents (never cut), and
        the Page column: what they and the side panel leave of the width.

        Given explicitly: a width DataTable works out itself comes only after the next idle
        moment, so a table refilled while an import runs showed cut sizes in between."""
        width = self.size.width or 80
        table = width - max(SIDE_MIN, int(width * SIDE_SHARE))
        widths = {
            "number": max(1, len(f"{len(self.parts):,}")),
            "size": max([4, *(len(f"{p.width}x{p.height}") for p in self.parts)]),
            "regions": max([4, *(len(f"{p.region_count:,}") for p in self.parts)]),
            "lines": max([5, *(len(f"{p.line_count:,}") for p in self.parts)]),
        }
        others = 1 + sum(widths.values())  # the mark column too
        widths["page"] = max(MIN_PAGE_WIDTH, table - others - 2 * 6 - SCROLLBAR)
        return widths

    def columns(self) -> list[Column]:
        widths = self._column_widths()
        self.page_width = widths["page"]
        return [
            Column(" ", "mark", 1),
            Column(Text("#", justify="right"), "number", widths["number"]),
            Column("Page", "page", self.page_width),
            Column("Size", "size", widths["size"]),
            Column(Text("Regs", justify="right"), "regions", widths["regions"]),
            Column(Text("Lines", justify="right"), "lines", widths["lines"]),
        ]

    def load(self) -> tuple[Document, list[Part]]:
        return self.store.get_document(self.document_id), self.store.list_parts(self.document_id)

    def load_failed(self, error: EsctuiError) -> None:
        if self.is_current:  # the document was deleted (by another esctui)
            self.app.pop_screen()

    def listed(self, loaded: tuple[Document, list[Part]]) -> list[Part]:
        doc, parts = loaded
        self.document_name = doc.name
        self.sub_title = printable(doc.name)
        self.marked &= {p.id for p in parts}
        return parts

    def row(self, part: Part) -> Row:
        return Row(
            part.id,
            (
                "●" if part.id in self.marked else " ",
                number(part.order + 1),
                cell(part.name, self.page_width),
                f"{part.width}x{part.height}",
                number(part.region_count),
                number(part.line_count),
            ),
        )

    def shown(self) -> None:
        self._show_title()
        self.show_info()

    def _show_title(self) -> None:
        marked = f", {len(self.marked):,} marked (Space)" if self.marked else ""
        self.query_one("#doc-title", Static).update(
            f"{safe(self.document_name)} — {plural(len(self.parts), 'page')}{marked}"
        )

    def selected_part(self) -> Part | None:
        return self.selected_item()

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
            f"[b]{safe(part.name)}[/b]\npage {part.order + 1:,} of {len(self.parts):,}\n"
            f"file: {safe(part.original_filename)}\n{part.width}x{part.height} {part.format}, "
            f"{human_size(part.byte_size)}\nsha256: {part.sha256[:16]}…\n"
            f"regions {part.region_count:,}, lines {part.line_count:,}"
            + "".join(f"\n{safe(line)}" for line in describe_typology(part.typology))
        )
        thumbnail = self.store.made_thumbnail(part)  # a stat: no read, no lock
        if thumbnail is not None:
            preview.show(thumbnail)
        else:  # a JPEG page's thumbnail is made when first shown, off the UI thread
            preview.show(None, "making preview…")
            self._make_thumbnail(part)

    @work(thread=True, exclusive=True, group="thumbnail", exit_on_error=False)
    def _make_thumbnail(self, part: Part) -> None:
        path = self.store.ensure_thumbnail(part)
        self.app.call_from_thread(self._thumbnail_made, part.id, path)

    def _thumbnail_made(self, part_id: str, path: Path | None) -> None:
        if not self.is_attached:  # the screen was closed while the thumbnail was made
            return
        part = self.selected_part()
        if part is not None and part.id == part_id:  # still the page the user is on
            self.query_one("#preview", PagePreview).show(path)

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
        store, document_id = self.store, self.document_id

        def moved(_: object) -> None:
            self.reload(select=part.id)

        def refused(error: EsctuiError) -> None:
            self.notify(safe(error), severity="error")
            self.reload(select=part.id)

        self.store_call(lambda: store.move_part(document_id, part.id, delta), moved, failed=refused)

    def action_mark(self) -> None:
        part = self.selected_part()
        if part is None:
            return
        self.marked ^= {part.id}
        table = self.table
        table.update_cell(part.id, "mark", "●" if part.id in self.marked else " ")
        self._show_title()
        if table.cursor_row + 1 < table.row_count:
            table.move_cursor(row=table.cursor_row + 1)

    def action_delete(self) -> None:
        targets = [p for p in self.parts if p.id in self.marked]
        if not targets:
            part = self.selected_part()
            targets = [part] if part else []
        if not targets:
            return
        names = ", ".join(quoted(p.name) for p in targets[:3]) + ("…" if len(targets) > 3 else "")
        first_row = min(self.parts.index(p) for p in targets)
        store, document_id = self.store, self.document_id

        def deleted(count: int) -> None:
            self.marked.clear()
            self.notify(f"Deleted {plural(count, 'page')}.")
            self.reload(fallback_row=first_row)  # on the page that came after

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.store_call(
                    lambda: store.delete_parts(document_id, [p.id for p in targets]), deleted
                )

        self.app.push_screen(
            ConfirmScreen(
                f"Delete {plural(len(targets), 'page')} ({names}) with "
                + (
                    "its image and transcriptions?"
                    if len(targets) == 1
                    else "their images and transcriptions?"
                ),
                yes_label="Delete",
            ),
            confirmed,
        )

    def action_describe(self) -> None:
        store, document_id = self.store, self.document_id

        def refused(error: EsctuiError) -> None:
            self.notify(safe(error), severity="error")
            self.reload()

        def saved(doc: Document | None) -> None:
            if doc is not None:
                self.store_call(
                    lambda: store.update_document(doc), lambda _: self.reload(), failed=refused
                )

        self.store_call(
            lambda: store.get_document(document_id),
            lambda doc: self.app.push_screen(DescriptionScreen(doc), saved),
        )

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
        from esctui.ui.screens.export import open_dialog

        open_dialog(self, self.document_id, self.marked_ids())

    def action_masks(self) -> None:
        from esctui.ui.screens.masks import open_dialog

        open_dialog(self, self.document_id, len(self.parts), self.marked_ids())

    def action_segment(self) -> None:
        from esctui.ui.screens.kraken_run import open_segment_dialog

        open_segment_dialog(self, self.document_id, len(self.parts), self.marked_ids())

    def action_transcribe(self) -> None:
        from esctui.ui.screens.kraken_run import open_transcribe_dialog

        open_transcribe_dialog(self, self.document_id, len(self.parts), self.marked_ids())

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
        commands.append(
            SystemCommand(
                "Segment with kraken",
                "regions and lines, all or the marked pages (S)",
                self.action_segment,
            )
        )
        commands.append(
            SystemCommand(
                "Transcribe with kraken",
                "a recognition model's text into a version, all or the marked pages (T)",
                self.action_transcribe,
            )
        )
        return commands
