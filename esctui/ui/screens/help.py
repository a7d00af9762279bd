"""The help screen (?): what this app does and the keys of the screen it was opened from."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from esctui.ui.screens.base import EsctuiModalScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.tables import RowTable

GENERAL = """\
[b]esctui[/b] imports pages, models and transcriptions for HTR projects.

Documents → Enter opens a document's pages → i imports (local images, PDF, IIIF, ALTO/PAGE \
XML). On a page list: Enter shows a page's lines, t its transcription versions, E exports, \
M computes line masks.
Imports run in the background: the progress window can be sent away with b and the Jobs \
screen (j) shows every job with its report. Models (m) lists and uploads kraken models.
eScriptorium: R lists the saved servers → their projects → documents (p pulls one here, s/t \
run the server's segmentation/recognition); P pushes the selected document to a server.
"""

# What works everywhere: (keys or the id of the binding whose keys are meant, what it does).
EVERYWHERE: list[tuple[str, str]] = [
    ("tab / shift+tab", "Next / previous field"),
    ("table.first_row / table.last_row", "First / last row of a list"),
    ("escape", "Back, or close a dialog"),
    ("app.help", "This help"),
    ("ctrl+p", "Command palette: every action by name"),
    ("app.jobs", "Jobs"),
    ("app.quit", "Quit (asks first while a job runs)"),
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


def binding_keys(binding: Binding, keymap: dict[str, str]) -> str:
    """The keys of a binding as shown in the help: remapped ones as the keymap gives them."""
    remapped = keymap.get(binding.id or "")
    names = [KEY_NAMES.get(k.strip(), k.strip()) for k in (remapped or binding.key).split(",")]
    if binding.key_display and len(names) == 1 and not remapped:
        names = [binding.key_display]
    return " / ".join(names)


def screen_keys(screen: Screen, keymap: dict[str, str]) -> list[tuple[str, str]]:
    """The keys a screen binds (its own and those it inherits), as (keys, description)."""
    keys: list[tuple[str, str]] = []
    seen: set[str] = set()
    for cls in type(screen).__mro__:
        for binding in cls.__dict__.get("BINDINGS", []):
            if not isinstance(binding, Binding) or binding.key in seen:
                continue
            seen.add(binding.key)
            keys.append((binding_keys(binding, keymap), binding.description))
    return keys


def everywhere_keys(bindings: list[Binding], keymap: dict[str, str]) -> list[tuple[str, str]]:
    """``EVERYWHERE`` with each binding id replaced by that binding's keys."""
    by_id = {b.id: b for b in bindings if b.id}
    return [
        (
            " / ".join(
                binding_keys(by_id[part], keymap) if part in by_id else part
                for part in keys.split(" / ")
            ),
            description,
        )
        for keys, description in EVERYWHERE
    ]


class HelpScreen(EsctuiModalScreen[None]):
    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close", key_display="esc", id="help.close")
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.for_screen = screen

    def compose(self) -> ComposeResult:
        name = type(self.for_screen).__name__.removesuffix("Screen")
        with VerticalScroll(classes="dialog wide"):  # the keys first: what ? is pressed for
            yield Static(Text(f"Keys on {name}", style="bold"))
            keymap = self.app.keymap
            yield Static(key_lines(screen_keys(self.for_screen, keymap)) or Text("  (none)"))
            yield Static(Text("\nEverywhere", style="bold"))
            common = [
                b for b in (*type(self.app).BINDINGS, *RowTable.BINDINGS) if isinstance(b, Binding)
            ]
            yield Static(key_lines(everywhere_keys(common, keymap)))
            yield Static("\n" + GENERAL)
            yield Static("↑/↓ or PgUp/PgDn scroll this help.", classes="hint")
        yield KeyFooter()

    def action_close(self) -> None:
        self.dismiss(None)
