"""The Pull dialog (p on a server's documents): bring a remote document into a local one.

Choose the local document (the one it was pulled into before, else a new one named as on the
server, or any local document) and the server's transcription layers to bring as versions
(every one ticked at first). What ``esctui remote pull --into DOC --versions A,B`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Label, Select, SelectionList, Static
from textual.widgets.selection_list import Selection

from esctui.domain import Document
from esctui.domain.text import printable
from esctui.jobs.remote.common import RemoteTarget
from esctui.net.escriptorium import RemoteDocument
from esctui.ui.screens.base import EsctuiModalScreen, EsctuiScreen
from esctui.ui.screens.dialogs import show_error
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.text import safe

DEFAULT_PLACE = "\0default"  # PullJob's own choice: the document pulled into before, or a new one


@dataclass(frozen=True)
class Places:
    """Where a pull can go: the local documents, and the one this remote document went to."""

    documents: list[Document]
    linked: str | None  # a local document's id


def open_dialog(
    screen: EsctuiScreen, target_of: Callable[[], RemoteTarget], remote: RemoteDocument
) -> None:
    """Read the server's saved token (``target_of``), the local documents and which one the
    remote document was pulled into (a thread), then show the dialog."""
    from esctui.store.remote_links import find_linked_document

    store = screen.store

    def read() -> tuple[RemoteTarget, Places]:
        target = target_of()
        linked = find_linked_document(store, target.url, remote.pk)
        return target, Places(store.list_documents(), linked)

    def show(found: tuple[RemoteTarget, Places]) -> None:
        target, places = found
        screen.app.push_screen(PullScreen(target, remote, places))

    screen.store_call(read, show)


class PullScreen(EsctuiModalScreen[None]):
    """Local document and layers; Ctrl+S pulls (a job with its progress window)."""

    DEFAULT_CSS = "#pull-versions { height: auto; max-height: 6; }"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="pull.cancel"),
        Binding("ctrl+s", "pull", "Pull", id="pull.start"),
    ]

    def __init__(self, target: RemoteTarget, remote: RemoteDocument, places: Places) -> None:
        super().__init__()
        self.target = target
        self.remote = remote
        self.places = places
        self.layer_names = [layer.name for layer in remote.layers if not layer.archived]

    def compose(self) -> ComposeResult:
        remote, places = self.remote, self.places
        names = {d.id: d.name for d in places.documents}
        if places.linked in names:
            first = f"{printable(names[places.linked])} (pulled into before: what is new)"
        else:
            first = f"a new document, {printable(remote.name)}"
        options = [(first, DEFAULT_PLACE)] + [
            (printable(d.name), d.id) for d in places.documents if d.id != places.linked
        ]
        with Vertical(classes="dialog tight", id="pull-dialog"):
            yield Label(
                f"Pull {safe(remote.name)} (document {remote.pk} on {safe(self.target.name)})",
                classes="title",
            )
            with Grid(classes="form"):
                yield Label("Into", classes="field-label")
                yield Select(options, value=DEFAULT_PLACE, allow_blank=False, id="pull-into")
            if self.layer_names:
                yield Label("Layers brought as versions (Space: in or out)")
                yield SelectionList[str](
                    *[Selection(printable(name), name, True) for name in self.layer_names],
                    id="pull-versions",
                )
            else:
                yield Static(
                    "No transcription layers there: pages and layout only.", classes="hint"
                )
            yield Static("", id="pull-status", classes="error")
            yield Static("Pages already here are not fetched again. Ctrl+S pulls.", classes="hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#pull-status", Static).display = False
        self.query_one("#pull-into", Select).focus()

    def chosen_versions(self) -> list[str] | None:
        """The layers ticked (None: every layer, also those made there after this dialog)."""
        if not self.layer_names:
            return None
        ticked = [str(v) for v in self.query_one("#pull-versions", SelectionList).selected]
        return None if len(ticked) == len(self.layer_names) else ticked

    def action_pull(self) -> None:
        from esctui.jobs.remote.pull import PullJob

        versions = self.chosen_versions()
        if versions == []:
            show_error(self.query_one("#pull-status", Static), "Tick at least one layer.")
            return
        place = str(self.query_one("#pull-into", Select).value)
        job = PullJob(
            self.store,
            self.target,
            self.remote.pk,
            into=None if place == DEFAULT_PLACE else place,
            versions=versions,
        )  # (it reads nothing until it runs)
        app = self.app
        self.dismiss(None)
        app.start_job(job)

    def action_cancel(self) -> None:
        self.dismiss(None)
