"""The help screen (?): what this app does and the keys of the screen it was opened from."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from esctui.ui.widgets.footer import KeyFooter

GENERAL = """\
[b]esctui[/b] imports pages, models and transcriptions for HTR projects.

Documents → Enter opens a document's pages → i imports (local images, PDF, IIIF, ALTO/PAGE \
XML). On a page list: Enter shows a page's lines, t its transcription versions, E exports, \
M computes line masks.
Imports run in the background: the progress window can be sent away with b and the Jobs \
screen (j) shows every job with its report. Models (m) lists and uploads kraken models.
"""

EVERYWHERE: list[tuple[str, str]] = [
    ("tab / shift+tab", "Next / previous field"),
    ("home / end", "First / last row of a list"),
    ("escape", "Back, or close a dialog"),
    ("?", "This help"),
    ("ctrl+p", "Command palette: every action by name"),
    ("ctrl+j", "Jobs"),
    ("ctrl+q", "Quit (asks first while a job runs)"),
]
KEY_WIDTH = 18
KEY_NAMES = {
    "question_mark": "?",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
}


def key_lines(bindings: list[tuple[str, str]]) -> Text:
    """One line per key: the key in bold, padded, then what it does (no markup parsed)."""
    text = Text()
    for index, (key, description) in enumerate(bindings):
        if index:
            text.append("\n")
        text.append(f"  {key:<{KEY_WIDTH}}", "bold")
        text.append(f" {description}")
    return text


def screen_keys(screen: Screen) -> list[tuple[str, str]]:
    """The keys a screen binds (its own and those it inherits), as (keys, description)."""
    keys: list[tuple[str, str]] = []
    seen: set[str] = set()
    for cls in type(screen).__mro__:
        for binding in cls.__dict__.get("BINDINGS", []):
            if not isinstance(binding, Binding) or binding.key in seen:
                continue
            seen.add(binding.key)
            names = [KEY_NAMES.get(k, k) for k in binding.key.split(",")]
            if binding.key_display and len(names) == 1:
                names = [binding.key_display]
            keys.append((" / ".join(names), binding.description))
    return keys


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", key_display="esc")]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.for_screen = screen

    def compose(self) -> ComposeResult:
        name = type(self.for_screen).__name__.removesuffix("Screen")
        with VerticalScroll(classes="dialog wide"):  # the keys first: what ? is pressed for
            yield Static(Text(f"Keys on {name}", style="bold"))
            yield Static(key_lines(screen_keys(self.for_screen)) or Text("  (none)"))
            yield Static(Text("\nEverywhere", style="bold"))
            yield Static(key_lines(EVERYWHERE))
            yield Static("\n" + GENERAL)
            yield Static("↑/↓ or PgUp/PgDn scroll this help.", classes="hint")
        yield KeyFooter()

    def action_close(self) -> None:
        self.dismiss(None)
