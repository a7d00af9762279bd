"""The Push dialog (P on Documents): send a document to a saved eScriptorium server.

Choose the server, the project a first push creates the document in (one of the server's, or
a new one named here; a document pushed there before goes to the same remote document, only
what changed is sent), and the versions sent as transcription layers. The server's projects
are read in a thread when a server is chosen; one that cannot be read is said in the dialog.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Input, Label, Select, SelectionList, Static
from textual.widgets.selection_list import Selection

from esctui.domain import Transcription
from esctui.domain.errors import EsctuiError
from esctui.domain.text import printable
from esctui.jobs.remote.common import target_for
from esctui.store.remotes import RemoteRegistry, RemoteServer
from esctui.ui.screens.base import EsctuiModalScreen, EsctuiScreen
from esctui.ui.screens.dialogs import show_error
from esctui.ui.screens.remotes import on_server, registry_of
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.inputs import TextInput
from esctui.ui.widgets.text import safe

NEW_PROJECT = "\0new"  # the project choice "a new project, named below"
LINKED = "\0linked"  # the document was pushed to this server before


@dataclass(frozen=True)
class Destinations:
    """What one server offers a push: the remote document pushed to before, its projects."""

    linked: int | None
    projects: list[tuple[str, str]]  # (name, slug)


def open_dialog(screen: EsctuiScreen, document_id: str) -> None:
    """Read the document, its versions and the saved servers (in a thread), then show the
    dialog; with no server saved, say how to add one."""
    store, registry = screen.store, registry_of(screen)

    def read() -> tuple[str, list[Transcription], list[RemoteServer]]:
        name = store.get_document(document_id).name
        return name, store.list_transcriptions(document_id), registry.servers()

    def show(found: tuple[str, list[Transcription], list[RemoteServer]]) -> None:
        name, versions, servers = found
        if not servers:
            screen.notify(
                "No eScriptorium server is saved yet: press R, then a, to add one.",
                severity="warning",
            )
            return
        screen.app.push_screen(PushScreen(document_id, name, versions, servers, registry))

    screen.store_call(read, show)


class PushScreen(EsctuiModalScreen[None]):
    """Server, project and versions; Ctrl+S pushes (a job with its progress window)."""

    DEFAULT_CSS = "#push-versions { height: auto; max-height: 6; }"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="push.cancel"),
        Binding("ctrl+s", "push", "Push", id="push.start"),
    ]

    def __init__(
        self,
        document_id: str,
        document_name: str,
        versions: list[Transcription],
        servers: list[RemoteServer],
        registry: RemoteRegistry,
    ) -> None:
        super().__init__()
        self.document_id = document_id
        self.document_name = document_name
        self.versions = versions
        self.servers = servers
        self.registry = registry
        self.destinations: Destinations | None = None  # of the chosen server, once read

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tight", id="push-dialog"):
            yield Label(f"Push {safe(self.document_name)} to eScriptorium", classes="title")
            with Grid(classes="form"):
                yield Label("Server", classes="field-label")
                yield Select(
                    [(f"{printable(s.name)}  {printable(s.url)}", s.name) for s in self.servers],
                    value=self.servers[0].name,
                    allow_blank=False,
                    id="push-server",
                )
                yield Label("Project", classes="field-label")
                yield Select(
                    [("a new project, named below", NEW_PROJECT)],
                    value=NEW_PROJECT,
                    allow_blank=False,
                    id="push-project",
                )
                yield Label("New project", classes="field-label")
                yield TextInput(printable(self.document_name), id="push-new-project")
            if self.versions:
                yield Label("Versions sent as layers (Space: in or out)")
                yield SelectionList[str](
                    *[Selection(printable(v.name), v.name, True) for v in self.versions],
                    id="push-versions",
                )
            else:
                yield Static("No versions yet: pages, regions and lines only.", classes="hint")
            yield Static("", id="push-status", classes="error")
            yield Static("Pushed before: only what changed is sent. Ctrl+S pushes.", classes="hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#push-status", Static).display = False
        self.query_one("#push-server", Select).focus()
        self.read_destinations(self.servers[0].name)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "push-server" and isinstance(event.value, str):
            self.read_destinations(event.value)
        elif event.select.id == "push-project":
            self.query_one("#push-new-project", Input).disabled = event.value != NEW_PROJECT

    def read_destinations(self, server: str) -> None:
        """The server's projects and whether this document went there before (a thread)."""
        from esctui.store.remote_links import RemoteLinks

        store, registry, document_id = self.store, self.registry, self.document_id
        self.destinations = None
        self._show_destinations(Destinations(None, []), reading=True)

        def read() -> Destinations:
            target = target_for(registry, server)
            linked = RemoteLinks(store, document_id, target.url).load().document
            projects = on_server(target, lambda escr: escr.projects())
            return Destinations(linked, [(p.name, p.slug) for p in projects])

        def failed(error: EsctuiError) -> None:
            self._show_destinations(Destinations(None, []))
            show_error(self.query_one("#push-status", Static), str(error))

        self.store_call(read, self._show_destinations, group="destinations", failed=failed)

    def _show_destinations(self, found: Destinations, *, reading: bool = False) -> None:
        if not reading:
            self.destinations = found
        status = self.query_one("#push-status", Static)
        status.display = False
        options: list[tuple[str, str]] = []
        if found.linked is not None:
            options.append((f"its document {found.linked} there (what changed)", LINKED))
        options.append(("a new project, named below", NEW_PROJECT))
        options += [(printable(name), slug) for name, slug in found.projects]
        if reading:
            options.append(("(reading the server's projects…)", ""))
        project = self.query_one("#push-project", Select)
        project.set_options(options)
        project.value = options[0][1]
        self.query_one("#push-new-project", Input).disabled = options[0][1] != NEW_PROJECT

    def chosen_versions(self) -> list[str] | None:
        """The versions ticked (None: every version, also those made after this dialog)."""
        if not self.versions:
            return None
        ticked = list(self.query_one("#push-versions", SelectionList).selected)
        return None if len(ticked) == len(self.versions) else [str(v) for v in ticked]

    def action_push(self) -> None:
        from esctui.jobs.remote.push import PushJob

        status = self.query_one("#push-status", Static)
        server = str(self.query_one("#push-server", Select).value)
        project = str(self.query_one("#push-project", Select).value)
        new_name = self.query_one("#push-new-project", Input).value.strip()
        versions = self.chosen_versions()
        if versions == []:
            show_error(status, "Tick at least one version, or all of them.")
            return
        if self.destinations is None or not project:
            show_error(status, "The server's projects are still being read; a moment.")
            return
        if project == NEW_PROJECT and not new_name:
            show_error(status, "Name the new project, or choose one of the server's.")
            return
        store, registry, document_id = self.store, self.registry, self.document_id
        app = self.app

        def build() -> PushJob:
            return PushJob(
                store,
                document_id,
                target_for(registry, server),
                project=None if project in (LINKED, NEW_PROJECT) else project,
                new_project=new_name if project == NEW_PROJECT else None,
                versions=versions,
            )

        def start(job: PushJob) -> None:
            self.dismiss(None)
            app.start_job(job)

        self.store_call(
            build, start, group="start", failed=lambda error: show_error(status, str(error))
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
