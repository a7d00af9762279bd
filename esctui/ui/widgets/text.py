"""Text for the screens: names made safe for markup, table cells that are never cut or parsed.

The plain helpers (``printable``, ``plural``, ``shorten``…) live in ``esctui.domain.text``, shared
with the CLI; this module adds what needs Rich.
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text

from esctui.domain.text import printable, shorten


def safe(text: object) -> str:
    """``text`` made printable and escaped for Rich/Textual markup (labels, notifications)."""
    return escape(printable(text))


def quoted(text: object) -> str:
    """A name in quotes for a sentence with markup: ``'Register 1642'``, made safe."""
    return f"'{safe(text)}'"


def cell(text: object, width: int | None = None) -> Text:
    """A table cell showing ``text`` as it is: printable, never parsed as markup, and cut to
    ``width`` with an ellipsis when given."""
    shown = printable(text)
    return Text(shorten(shown, width) if width else shown, no_wrap=True)


def number(value: int | str) -> Text:
    """A count for a table: grouped digits, right-aligned (give its column room: never cut)."""
    return Text(f"{value:,}" if isinstance(value, int) else value, no_wrap=True, justify="right")
