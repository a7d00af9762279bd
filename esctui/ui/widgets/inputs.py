"""``TextInput``: a one-line field that never holds a control character as it is.

A name pasted from a file or a server, or put in a field to be edited (a rename starts from the
old name), may carry ESC sequences; a field shows its value to the terminal as it is. Here a
control character becomes its escape (``\\x1b``) as it comes in: what the field shows is what it
holds, and what is saved.
"""

from __future__ import annotations

from textual.widgets import Input

from esctui.domain.text import printable


class TextInput(Input):
    """An Input whose value is always printable (not for passwords: they are kept as typed)."""

    def validate_value(self, value: str) -> str:
        return printable(value)
