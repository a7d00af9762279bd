"""The Remotes screens (R on Documents): saved eScriptorium servers, a server's projects, a
project's documents; pull a document here, run the server's segmentation or recognition on it.

Every call to a server runs in a thread (``on_server``, through ``store_call`` or a
``ListScreen``'s ``load``), never on the event loop; a server that cannot be reached or refuses
the token is said in a sentence on the screen. Names from a server are shown through ``cell``
and ``safe``. The client (and httpx) are imported only when a server is called.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import DataTable, Header, Input, Label, Static

from esctui.domain.errors import EsctuiError
from esctui.domain.text import plural, printable
from esctui.jobs.remote.common import NoTokenError, RemoteTarget, target_for
from esctui.store.remotes import RemoteRegistry, RemoteServer
from esctui.ui.screens.base import EsctuiModalScreen, EsctuiScreen
from esctui.ui.screens.dialogs import Choice, ChoiceScreen, ConfirmScreen, show_error
from esctui.ui.screens.lists import ListScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.inputs import TextInput
from esctui.ui.widgets.tables import Row, RowTable
from esctui.ui.widgets.text import cell, number, quoted, safe

if TYPE_CHECKING:
    from esctui.net.escriptorium import (
        EscriptoriumClient,
        ModelJob,
        RemoteDocument,
        RemoteProject,
    )

T = TypeVar("T")
CHECKING = "checking…"
STATE_WIDTH = 20  # "ok: <user> (staff)", "token refused", "cannot reach"
DEFAULT_MODEL = "-"  # the choice of the server's own segmentation model
STATUS_CSS = "#remote-status { height: auto; max-height: 4; padding: 0 1; }"


def registry_of(screen: EsctuiScreen) -> RemoteRegistry:
    """The saved servers of the app's config folder."""
    return RemoteRegistry(screen.app.config_dir)


def on_server(target: RemoteTarget, work: Callable[[EscriptoriumClient], Awaitable[T]]) -> T:
    """``work(client)`` on the server, run to its end in the calling thread (a screen's
    ``store_call`` or ``load``): few retries and a short deadline, as a person waits."""
    from esctui.net.http import RequestLimits

    limits = RequestLimits().with_(retries=1, connect_timeout=5.0, deadline=30.0)

    async def run() -> T:
        async with target.client(limits) as escr:
            return await work(escr)

    return asyncio.run(run())


def failure_word(error: EsctuiError) -> str:
    """A failed check in a word or two, for a table cell (the sentence is shown apart)."""
    from esctui.net.escriptorium import RemoteServerError, TokenRefusedError
    from esctui.net.http import CouldNotConnectError, DeadlineError

    if isinstance(error, CouldNotConnectError | DeadlineError | RemoteServerError):
        return "cannot reach"
    if isinstance(error, TokenRefusedError):
        return "token refused"
    if isinstance(error, NoTokenError):
        return "no token"
    return "failed"


def _list_screen(title: str) -> ComposeResult:
    """What a Remotes screen shows: its title, a sentence, the list, the keys."""
    yield Header()
    yield Static(title, classes="title")
    yield Static("", id="remote-status")
    yield RowTable(id="remote-list")
    yield Static("", id="empty", classes="empty")
    yield KeyFooter()


def _say(screen: EsctuiScreen, message: str) -> None:
    """A sentence above the list (never parsed as markup; control characters escaped)."""
    status = screen.query_one("#remote-status", Static)
    status.update(Text(printable(message), style="bold red"))
    status.display = bool(message)


# ---------------------------------------------------------------------------------- servers


@dataclass(frozen=True)
class ServerItem:
    server: RemoteServer
    has_token: bool

    @property
    def id(self) -> str:
        return self.server.name


class RemotesScreen(ListScreen[list[ServerItem], ServerItem]):
    """The saved servers, each checked (does it answer, is the token valid) when shown."""

    DEFAULT_CSS = STATUS_CSS
    BINDINGS = [
        Binding("enter", "open", "Open", priority=True, id="remotes.open"),
        Binding("escape", "app.pop_screen", "Back", id="remotes.back"),
        Binding("a", "add", "Add", id="remotes.add"),
        Binding("delete,x", "remove", "Remove", key_display="x", id="remotes.remove"),
        Binding("c", "check", "Check", id="remotes.check"),
    ]
    EMPTY = "No servers saved yet. Press a to add an eScriptorium server."

    def __init__(self) -> None:
        super().__init__()
        # name -> (what the check said, a word or two for the State column when it failed)
        self.states: dict[str, tuple[str, str | None]] = {}

    def compose(self) -> ComposeResult:
        yield from _list_screen("eScriptorium servers")

    def on_mount(self) -> None:
        self.table.add_column("Name", key="name")
        self.table.add_column("Address", key="url")
        self.table.add_column("State", key="state", width=STATE_WIDTH)  # a check changes it
        _say(self, "")
        self.reload()

    def load(self) -> list[ServerItem]:
        registry = registry_of(self)
        return [ServerItem(s, registry.has_token(s.name)) for s in registry.servers()]

    def listed(self, loaded: list[ServerItem]) -> list[ServerItem]:
        for item in loaded:
            if item.server.name not in self.states:
                self.check(item, hold_keys=False)
        return loaded

    def row(self, item: ServerItem) -> Row:
        state, short = self.states.get(item.server.name, (CHECKING, None))
        return Row(
            item.id, (cell(item.server.name, 16), cell(item.server.url, 34), cell(short or state))
        )

    def shown(self) -> None:
        self.show_state()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_state()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()  # a mouse click; Enter is the binding

    def show_state(self) -> None:
        """The whole sentence of the highlighted server's check, above the list."""
        item = self.selected_item()
        state, short = self.states.get(item.server.name, ("", None)) if item else ("", None)
        _say(self, f"{item.server.name}: {state}" if item and short else "")

    def check(self, item: ServerItem, *, hold_keys: bool = True) -> None:
        """Ask the server who the token belongs to; the answer shows in the State column."""
        name, registry = item.server.name, registry_of(self)
        self.states[name] = (CHECKING, None)

        def who() -> str:
            user = on_server(target_for(registry, name), lambda escr: escr.current_user())
            return f"ok: {user.username}" + (" (staff)" if user.is_staff else "")

        def said(state: str, short: str | None) -> None:
            self.states[name] = (state, short)
            if name in self.table.rows:
                self.show_items()

        self.store_call(
            who,
            lambda state: said(state, None),
            failed=lambda error: said(str(error), failure_word(error)),
            hold_keys=hold_keys,
        )

    def selected_server(self) -> ServerItem | None:
        item = self.selected_item()
        if item is None:
            self.notify("No server saved yet. Press a to add one.", severity="warning")
        return item

    # ------------------------------------------------------------------ actions

    def action_open(self) -> None:
        item = self.selected_server()
        if item is not None:
            self.app.push_screen(RemoteProjectsScreen(item.server.name))

    def action_check(self) -> None:
        item = self.selected_server()
        if item is not None:
            self.check(item)
            self.show_items()

    def action_add(self) -> None:
        def added(name: str | None) -> None:
            if name:
                self.notify(f"Saved {quoted(name)}.")
                self.reload(select=name)

        self.app.push_screen(AddServerScreen(registry_of(self)), added)

    def action_remove(self) -> None:
        item = self.selected_server()
        if item is None:
            return
        name, registry = item.server.name, registry_of(self)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.store_call(lambda: registry.remove(name), lambda _: removed())

        def removed() -> None:
            self.states.pop(name, None)
            self.notify(f"Removed {quoted(name)} and its token.")
            self.reload()

        self.app.push_screen(
            ConfirmScreen(
                f"Forget the server {quoted(name)} and its token?\n"
                "Nothing changes on the server itself.",
                yes_label="Remove",
            ),
            confirmed,
        )


class AddServerScreen(EsctuiModalScreen[str | None]):
    """Save a server: its name, address and token (typed hidden, never shown). Dismisses with
    the name; a refused name, address or token is said under the fields."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="add_server.cancel"),
        Binding("ctrl+s", "save", "Save", id="add_server.save"),
    ]

    def __init__(self, registry: RemoteRegistry) -> None:
        super().__init__()
        self.registry = registry

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Add an eScriptorium server", classes="title")
            with Grid(classes="form"):
                yield Label("Name", classes="field-label")
                yield TextInput(placeholder="a short name, e.g. lab", id="server-name")
                yield Label("Address", classes="field-label")
                yield TextInput(placeholder="https://escriptorium.example.org", id="server-url")
                yield Label("Token", classes="field-label")
                yield Input(placeholder="your profile page's API key", password=True, id="token")
            yield Static("", id="server-error", classes="error")
            yield Static(
                "The token is kept in your config folder, readable by you only. Tab: next "
                "field; Ctrl+S or Enter saves.",
                classes="hint",
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#server-error", Static).display = False
        self.query_one("#server-name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        name = self.query_one("#server-name", Input).value.strip()
        url = self.query_one("#server-url", Input).value.strip()
        token = self.query_one("#token", Input).value.strip() or None
        registry = self.registry

        def refused(error: EsctuiError) -> None:
            show_error(self.query_one("#server-error", Static), str(error))

        self.store_call(
            lambda: registry.add(RemoteServer(name, url), token).name,
            self.dismiss,
            group="save",
            failed=refused,
        )

    def action_cancel(self) -> None:
        self.dismiss(None)


# ---------------------------------------------------------------------------------- projects


@dataclass(frozen=True)
class _Item(Generic[T]):
    """One thing read from a server, keyed by its number there."""

    id: str
    value: T


class RemoteListScreen(ListScreen[list[T], _Item[T]]):
    """A list read from one server: what cannot be read is said above the (empty) list."""

    DEFAULT_CSS = STATUS_CSS

    def __init__(self, server: str) -> None:
        super().__init__()
        self.server = server

    def on_mount(self) -> None:
        _say(self, "")
        self.reload()

    def target(self) -> RemoteTarget:
        """The server with its token (in a thread: it reads the config folder)."""
        return target_for(registry_of(self), self.server)

    def listed(self, loaded: list[T]) -> list[_Item[T]]:
        _say(self, "")
        return [_Item(str(self.key(value)), value) for value in loaded]

    def key(self, value: T) -> int:
        raise NotImplementedError

    def load_failed(self, error: EsctuiError) -> None:
        self.show_items([])
        _say(self, str(error))

    def selected_value(self) -> T | None:
        item = self.selected_item()
        if item is None:
            self.notify("Nothing selected.", severity="warning")
        return item.value if item else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()  # a mouse click; Enter is the binding

    def action_open(self) -> None:
        """Open the highlighted item (a screen below it)."""


class RemoteProjectsScreen(RemoteListScreen["RemoteProject"]):
    """The projects of one server that the token's user may see."""

    BINDINGS = [
        Binding("enter", "open", "Open", priority=True, id="remote_projects.open"),
        Binding("escape", "app.pop_screen", "Back", id="remote_projects.back"),
    ]
    EMPTY = "No projects on this server that you may see."

    def compose(self) -> ComposeResult:
        yield from _list_screen(f"Projects on {safe(self.server)}")

    def on_mount(self) -> None:
        self.table.add_column("Project", key="name")
        self.table.add_column(Text("Documents", justify="right"), key="documents")
        self.table.add_column("Owner", key="owner")
        super().on_mount()

    def load(self) -> list[RemoteProject]:
        return on_server(self.target(), lambda escr: escr.projects())

    def key(self, value: RemoteProject) -> int:
        return value.id

    def row(self, item: _Item[RemoteProject]) -> Row:
        project = item.value
        count = "" if project.documents_count is None else project.documents_count
        return Row(item.id, (cell(project.name, 40), number(count), cell(project.owner, 16)))

    def action_open(self) -> None:
        project = self.selected_value()
        if project is not None:
            self.app.push_screen(RemoteDocumentsScreen(self.server, project))


# ---------------------------------------------------------------------------------- documents


class RemoteDocumentsScreen(RemoteListScreen["RemoteDocument"]):
    """The documents of one project: pull one here, or run the server's own segmentation or
    recognition on it."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="remote_documents.back"),
        Binding("p", "pull", "Pull here", id="remote_documents.pull"),
        Binding("s", "task('segment')", "Segment there", id="remote_documents.segment"),
        Binding("t", "task('transcribe')", "Transcribe there", id="remote_documents.transcribe"),
    ]
    EMPTY = "No documents in this project yet."

    def __init__(self, server: str, project: RemoteProject) -> None:
        super().__init__(server)
        self.project = project

    def compose(self) -> ComposeResult:
        yield from _list_screen(f"{safe(self.project.name)} on {safe(self.server)}")

    def on_mount(self) -> None:
        self.table.add_column(Text("No.", justify="right"), key="pk")
        self.table.add_column("Document", key="name")
        self.table.add_column(Text("Pages", justify="right"), key="pages")
        self.table.add_column("Script", key="script")
        self.table.add_column("Changed", key="changed")
        super().on_mount()

    def load(self) -> list[RemoteDocument]:
        project = self.project.id
        return on_server(self.target(), lambda escr: escr.documents(project))

    def key(self, value: RemoteDocument) -> int:
        return value.pk

    def row(self, item: _Item[RemoteDocument]) -> Row:
        doc = item.value
        pages = "" if doc.parts_count is None else doc.parts_count
        return Row(
            item.id,
            (
                number(doc.pk),
                cell(doc.name, 30),
                number(pages),
                cell(doc.main_script, 12),
                doc.updated_at[:16].replace("T", " "),
            ),
        )

    def action_pull(self) -> None:
        """Bring the highlighted document here: the Pull dialog asks into which local document
        (the one it was pulled into before, a new one, any other) and which layers."""
        doc = self.selected_value()
        if doc is None:
            return
        from esctui.ui.screens.pull import open_dialog

        open_dialog(self, self.target, doc)

    def action_task(self, step: str) -> None:
        """Choose one of the server's models, then start its segmentation or recognition."""
        doc = self.selected_value()
        if doc is None:
            return
        from esctui.net.escriptorium import ModelJob

        _say(self, "")
        job = ModelJob.SEGMENT if step == "segment" else ModelJob.RECOGNIZE
        self.store_call(
            lambda: self._models(job), lambda models: self._choose_model(doc, step, models)
        )

    def _models(self, job: ModelJob) -> list[Choice]:
        models = on_server(self.target(), lambda escr: escr.models(job))
        return [Choice(str(m.pk), m.name, f"model {m.pk}, {m.owner}") for m in models]

    def _choose_model(self, doc: RemoteDocument, step: str, models: list[Choice]) -> None:
        if step == "segment":
            models.insert(0, Choice(DEFAULT_MODEL, "the server's default segmentation model"))
        elif not models:
            _say(
                self,
                f"{self.server} has no recognition model you may use; upload one with "
                f"`esctui models push MODEL --remote {self.server}`.",
            )
            return

        def chosen(model: str | None) -> None:
            if model is None:
                return
            from esctui.jobs.remote.tasks import RemoteTaskJob

            pk = doc.pk
            self.start_job(
                lambda: RemoteTaskJob(
                    self.target(), pk, step, model=None if model == DEFAULT_MODEL else model
                )
            )

        what = "Segment" if step == "segment" else "Transcribe"
        pages = "" if doc.parts_count is None else f" ({plural(doc.parts_count, 'page')})"
        self.app.push_screen(
            ChoiceScreen(
                f"{what} {quoted(doc.name)}{pages} on the server with",
                models,
                hint="Up/Down to choose a model, Enter to start, Escape to cancel.",
            ),
            chosen,
        )
