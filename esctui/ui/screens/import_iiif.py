"""The Import > Images (IIIF) dialog: a manifest (or collection) address, then the import."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from esctui.domain.errors import EsctuiError
from esctui.domain.text import plural
from esctui.ui.screens.base import EsctuiModalScreen, EsctuiScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.inputs import TextInput
from esctui.ui.widgets.text import quoted, safe

if TYPE_CHECKING:
    from esctui.jobs.runner import JobKind


def open_dialog(screen: EsctuiScreen, document_id: str) -> None:
    """Ask for the manifest address; the dialog starts the import itself."""
    screen.app.push_screen(IiifImportScreen(document_id))


READY = "Enter to import, Escape to cancel."


class IiifImportScreen(EsctuiModalScreen[None]):
    """Read the address, look at what it is (manifest or collection), then import it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="iiif_import.cancel")]

    def __init__(self, document_id: str) -> None:
        super().__init__()
        self.document_id = document_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Import images from an IIIF manifest", classes="title")
            yield Static(
                "Every canvas's image is downloaded, in canvas order; the manifest's label and "
                "metadata go into the document's description (D). A collection offers to import "
                "each manifest as its own document. Importing again resumes: pages already "
                "here are not fetched twice.",
                classes="hint",
            )
            yield Label("Manifest or collection address (or a manifest file)")
            yield TextInput(placeholder="https://…/manifest.json", id="url")
            yield Label("Largest image width in pixels (empty: full size)")
            yield TextInput(placeholder="full size", id="max-width", type="integer")
            yield Static(READY, id="iiif-status", classes="hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#url", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in either field starts (Tab reaches the width field first if wanted)."""
        if not self.query_one("#url", Input).value.strip():
            self.query_one("#url", Input).focus()
            return
        self.start()

    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "iiif-inspect")  # only this dialog's: imports go on
        self.dismiss(None)

    def _say(self, text: str) -> None:
        self.query_one("#iiif-status", Static).update(text)

    def _reading(self, status: str) -> None:
        """While the manifest is read the fields are locked: keys typed then land nowhere."""
        for field in self.query(Input):
            field.disabled = True
        self._say(status)

    def _ready_again(self) -> None:
        """The fields open again (after a failure or a declined collection), the address focused."""
        for field in self.query(Input):
            field.disabled = False
        self.query_one("#url", Input).focus()
        self._say(READY)

    def start(self) -> None:
        from esctui.jobs.imports.iiif import check_source

        url = self.query_one("#url", Input).value
        width_text = self.query_one("#max-width", Input).value.strip()
        max_width = int(width_text) if width_text else None
        if max_width is not None and max_width < 1:
            self.notify("The largest width must be 1 pixel or more.", severity="error")
            return
        try:
            source = check_source(url)
        except EsctuiError as error:
            self.notify(safe(error), severity="error")
            self.query_one("#url", Input).focus()
            return
        self._reading("Reading the manifest… (Escape to stop)")
        self.inspect(source, max_width)

    @work(exclusive=True, group="iiif-inspect")
    async def inspect(self, source: str, max_width: int | None) -> None:
        """Fetch the manifest once to learn whether it is a collection; then import."""
        from esctui.formats.iiif import IiifCollection
        from esctui.net.iiif_fetch import fetch_manifest

        try:
            parsed = await fetch_manifest(source)
        except EsctuiError as error:
            self._ready_again()
            self.notify(safe(error), severity="error", timeout=10)
            return
        if isinstance(parsed, IiifCollection):
            from esctui.jobs.imports.iiif import collection_manifests

            self._reading("Reading the collection (and its sub-collections)…")
            try:
                members = await collection_manifests(parsed)
            except EsctuiError as error:
                self._ready_again()
                self.notify(safe(error), severity="error", timeout=10)
                return
            self._offer_collection(parsed.label, members, max_width)
            return
        from esctui.jobs.imports.iiif import IiifImporter

        store, document_id = self.store, self.document_id
        self._start(
            lambda: IiifImporter(store, document_id, source, max_width=max_width, manifest=parsed)
        )

    def _offer_collection(self, label: str, members: list, max_width: int | None) -> None:
        from esctui.ui.screens.dialogs import ConfirmScreen

        if not members:
            self.notify("This IIIF collection lists no manifests.", severity="error")
            self._ready_again()
            return
        shown = quoted(label) if label else "This collection"

        def answered(yes: bool | None) -> None:
            if yes:
                self._import_each(members, label or "collection", max_width)
            else:
                self._ready_again()

        self.app.push_screen(
            ConfirmScreen(
                f"{shown} is an IIIF collection of {plural(len(members), 'manifest')}.\n"
                "Import each manifest as its own document "
                "(named after its label; an existing document of that name is continued)?",
                yes_label="Import each",
            ),
            answered,
        )

    def _import_each(self, members: list, label: str, max_width: int | None) -> None:
        from esctui.jobs.imports.iiif import CollectionImport

        store = self.store
        self._start(lambda: CollectionImport(store, members, label=label, max_width=max_width))

    def _start(self, build: Callable[[], JobKind]) -> None:
        """Build the job (in a thread: it reads the store), close this dialog, run the job."""
        app = self.app

        def start(job: JobKind) -> None:
            self.dismiss(None)
            app.start_job(job)

        self.store_call(build, start, group="start")
