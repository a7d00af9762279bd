"""The help screen (?): what this app does and the keys of the screen it was opened from."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

GENERAL = """\
[b]esctui[/b] imports pages, models and transcriptions for HTR projects.

Documents → Enter opens a document's pages → i imports (local images, PDF, IIIF, ALTO/PAGE \
XML). On a page list: Enter shows a page's lines, t its transcription versions, E exports, \
M computes line masks.
Imports run in the background: the progress window can be sent away with b and the Jobs \
screen (j) shows every import with its report. Models (m) lists and uploads kraken models.

Everywhere: Tab moves between widgets, Escape goes back, Ctrl+P opens the command palette, \
Ctrl+Q quits.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.for_screen = screen

    def compose(self) -> ComposeResult:
        keys = []
        for binding in self.for_screen.BINDINGS:
            if isinstance(binding, Binding):
                key = binding.key_display or binding.key.replace(",", " / ")
                keys.append(f"  [b]{key:<18}[/b] {binding.description}")
        with VerticalScroll(classes="dialog wide"):
            yield Static(GENERAL)
            yield Static(f"[b]Keys on {type(self.for_screen).__name__.removesuffix('Screen')}[/b]")
            yield Static("\n".join(keys) or "  (none)")
        yield Footer(compact=True)

    def action_close(self) -> None:
        self.dismiss(None)
