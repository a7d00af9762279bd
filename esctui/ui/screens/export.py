"""The Export dialog (E on the Images screen): format, version, pages and where to write.

The exporter (and lxml) load only when the export starts, never at start-up.
"""

from __future__ import annotations

import re
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Input, Label, Select, Static

from esctui.domain import Transcription
from esctui.domain.text import plural, printable
from esctui.ui.screens.base import EsctuiModalScreen, EsctuiScreen
from esctui.ui.screens.dialogs import ConfirmScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.inputs import TextInput
from esctui.ui.widgets.text import safe

FORMATS: list[tuple[str, str]] = [
    ("ALTO v4 XML", "alto"),
    ("PAGE 2019 XML", "page"),
    ("plain text", "text"),
]
NO_VERSION = "-"  # Select value when the document has no transcription version


def safe_file_stem(name: str) -> str:
    """A document name usable as a file name: no folders, no control or shell-awkward chars."""
    return re.sub(r"[\s\\/:*?\"<>|\x00-\x1f]+", "_", name).strip("_.") or "export"


def default_output(document_name: str, fmt: str) -> str:
    """``~/<document name>_<format>.zip`` (as typed, with the ~)."""
    return f"~/{safe_file_stem(document_name)}_{fmt}.zip"


def open_dialog(screen: EsctuiScreen, document_id: str, marked_ids: list[str]) -> None:
    """Read the document's name, versions and pages (in a thread), then show the dialog."""
    store = screen.store

    def read() -> tuple[str, list[Transcription], int]:
        name = store.get_document(document_id).name
        return name, store.list_transcriptions(document_id), len(store.list_parts(document_id))

    screen.store_call(
        read,
        lambda found: screen.app.push_screen(ExportScreen(document_id, *found, marked_ids)),
    )


class ExportScreen(EsctuiModalScreen[None]):
    """Choose format, version, pages and output; Ctrl+S (or Enter in the path) exports."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="export.cancel"),
        Binding("ctrl+s", "start", "Export", id="export.start"),
    ]

    def __init__(
        self,
        document_id: str,
        document_name: str,
        versions: list[Transcription],
        page_count: int,
        marked_ids: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.document_id = document_id
        self.document_name = document_name
        self.versions = versions  # oldest first
        self.page_count = page_count
        self.marked_ids = list(marked_ids or [])

    def compose(self) -> ComposeResult:
        versions, page_count = self.versions, self.page_count
        with Vertical(classes="dialog tight", id="export-dialog"):
            yield Label(f"Export {safe(self.document_name)}", classes="title")
            with Grid(id="export-form", classes="form"):
                yield Label("Format", classes="field-label")
                yield Select(FORMATS, value="alto", allow_blank=False, id="export-format")
                yield Label("Version", classes="field-label")
                if versions:
                    options = [(printable(v.name), v.id) for v in reversed(versions)]  # newest
                    yield Select(
                        options, value=versions[-1].id, allow_blank=False, id="export-version"
                    )
                else:
                    yield Select(
                        [("none yet: regions and lines only, no text", NO_VERSION)],
                        value=NO_VERSION,
                        allow_blank=False,
                        id="export-version",
                    )
                yield Label("Pages", classes="field-label")
                pages = [(f"all {plural(page_count, 'page')}", "all")]
                if self.marked_ids:
                    pages.insert(
                        0, (f"the {plural(len(self.marked_ids), 'marked page')}", "marked")
                    )
                yield Select(pages, value=pages[0][1], allow_blank=False, id="export-pages")
                yield Label("Write to", classes="field-label")
                yield TextInput(default_output(self.document_name, "alto"), id="export-path")
            yield Static(
                "A name ending in .zip writes one ZIP; any other name is a folder (made if "
                "needed), one file per page named after its image. Ctrl+S or Enter exports.",
                classes="hint",
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#export-format", Select).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id != "export-format":
            return
        path = self.query_one("#export-path", Input)
        defaults = {default_output(self.document_name, fmt) for _, fmt in FORMATS}
        if path.value.strip() in defaults:  # not typed by the user: follow the format
            path.value = default_output(self.document_name, str(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_start()

    def action_start(self) -> None:
        text = self.query_one("#export-path", Input).value.strip()
        if not text:
            self.notify("Say where to write the export (a folder, or a name ending in .zip).")
            self.query_one("#export-path", Input).focus()
            return
        out = Path(text).expanduser()
        if out.suffix.lower() == ".zip" and out.is_file():

            def answered(yes: bool | None) -> None:
                if yes:
                    self.start(out)

            self.app.push_screen(
                ConfirmScreen(f"{safe(out)} already exists. Replace it?", yes_label="Replace"),
                answered,
            )
            return
        self.start(out)

    def start(self, out: Path) -> None:
        from esctui.jobs.export import ExportJob

        fmt = str(self.query_one("#export-format", Select).value)
        version = str(self.query_one("#export-version", Select).value)
        pages = self.query_one("#export-pages", Select).value
        part_ids = self.marked_ids if pages == "marked" else None
        store, document_id = self.store, self.document_id
        app = self.app

        def build() -> ExportJob:
            return ExportJob(
                store,
                document_id,
                out,
                format=fmt,
                version=None if version == NO_VERSION else version,
                part_ids=part_ids,
            )

        def start(job: ExportJob) -> None:
            self.dismiss(None)
            app.start_job(job)

        self.store_call(build, start, group="start")

    def action_cancel(self) -> None:
        self.dismiss(None)
