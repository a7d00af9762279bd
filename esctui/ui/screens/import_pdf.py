"""The Import > Images (PDF) dialog: pick a PDF, choose the DPI and the text layer, import."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from esctui.ui.screens.base import EsctuiModalScreen, EsctuiScreen
from esctui.ui.screens.file_picker import FilePickerScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.inputs import TextInput
from esctui.ui.widgets.text import safe

DEFAULT_DPI = 300
MIN_DPI = 72
MAX_DPI = 1200


def parse_dpi(text: str) -> int | None:
    """The DPI typed by the user (empty = the default), or None when it is out of range."""
    text = text.strip()
    if not text:
        return DEFAULT_DPI
    try:
        dpi = int(text)
    except ValueError:
        return None
    return dpi if MIN_DPI <= dpi <= MAX_DPI else None


@dataclass(frozen=True)
class PdfOptions:
    dpi: int = DEFAULT_DPI
    text_layer: str | None = None  # version name for the PDF's text layer; None: not imported
    password: str | None = None  # for an encrypted PDF (asked for only then)


class PdfOptionsScreen(EsctuiModalScreen[PdfOptions | None]):
    """Ask for the resolution of rendered pages and whether to keep the text layer."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="pdf_options.cancel"),
        Binding("ctrl+s", "start", "Import", id="pdf_options.start"),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Import {safe(self.path.name)}", classes="title")
            yield Label("Resolution for rendered pages (DPI)")
            yield TextInput(str(DEFAULT_DPI), type="integer", max_length=4, id="dpi")
            yield Static(
                "Scanned pages are extracted as they are stored in the PDF (no loss); other "
                f"pages are rendered at this resolution ({MIN_DPI}-{MAX_DPI}).",
                classes="hint",
            )
            yield Label("Text layer as transcription version (optional)")
            yield TextInput(placeholder="a version name; empty: text layer not imported", id="text")
            yield Static("Tab: next field; Enter imports; Escape cancels.", classes="hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#dpi", Input).focus()

    def on_input_submitted(self) -> None:
        self.action_start()

    def action_start(self) -> None:
        dpi = parse_dpi(self.query_one("#dpi", Input).value)
        if dpi is None:
            self.notify(
                f"The resolution must be a whole number from {MIN_DPI} to {MAX_DPI}.",
                severity="error",
            )
            return
        text_layer = self.query_one("#text", Input).value.strip() or None
        self.dismiss(PdfOptions(dpi, text_layer))

    def action_cancel(self) -> None:
        self.dismiss(None)


def open_dialog(screen: EsctuiScreen, document_id: str) -> None:
    """Pick one PDF, ask for its password if it is encrypted, then the DPI; run the import."""
    app = screen.app

    def ask_options(path: Path, password: str | None) -> None:
        def chosen(options: PdfOptions | None) -> None:
            if options is None:
                return
            from esctui.jobs.imports.pdf import PdfImporter  # pymupdf loads only when run

            store = screen.store
            screen.start_job(
                lambda: PdfImporter(
                    store,
                    document_id,
                    path,
                    dpi=options.dpi,
                    text_layer=options.text_layer,
                    password=password,
                )
            )

        app.push_screen(PdfOptionsScreen(path), chosen)

    async def check_encryption(path: Path) -> None:
        from esctui.formats.pdf import needs_password  # pymupdf, in a thread

        if not await asyncio.to_thread(needs_password, path):
            ask_options(path, None)
            return
        from esctui.ui.screens.dialogs import TextPromptScreen

        def typed(password: str | None) -> None:
            if password is not None:
                ask_options(path, password)

        app.push_screen(
            TextPromptScreen(
                f"{safe(path.name)} is encrypted: its password",
                hint="Used to open the file for this import only; it is not stored.",
                password=True,
            ),
            typed,
        )

    def picked(paths: list[Path] | None) -> None:
        if paths:
            app.run_worker(check_encryption(paths[0]), group="pdf-check")

    app.push_screen(FilePickerScreen("Import a PDF", suffixes={".pdf"}, multiple=False), picked)
