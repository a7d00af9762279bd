"""``KeyFooter``: every key the current screen offers, on as many rows as they need.

Textual's Footer is one row that scrolls sideways, so at 80 columns the last keys of a busy
screen (the Images screen has twelve) are simply not there. This footer wraps instead: one row
where the keys fit, two where they do not. Keys of one ``Binding.Group`` share a description
("K/J Move").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.screen import Screen

SEPARATOR = "  "  # between two keys


def _binding_order(node: DOMNode) -> dict[str, int]:
    """Action -> its place in the BINDINGS of the node's class (inherited ones after)."""
    order: dict[str, int] = {}
    for cls in type(node).__mro__:
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding):
                order.setdefault(binding.action, len(order))
    return order


class KeyFooter(Widget):
    """The shown bindings of the screen (focused widget first), wrapped to the width."""

    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: auto;
        background: $footer-background;
        color: $footer-foreground;
        padding: 0 1;
    }
    KeyFooter > .key-footer--key {
        color: $footer-key-foreground;
        text-style: bold;
    }
    KeyFooter > .key-footer--description {
        color: $footer-description-foreground;
    }
    """
    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description"}

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def _bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh(layout=True)

    def items(self) -> list[tuple[str, str]]:
        """(keys, description) pairs: the focused widget's first, then its parents', the
        screen's and the app's, each in the order its class lists them."""
        chain: list[DOMNode] = (
            list(self.screen.focused.ancestors_with_self)
            if self.screen.focused
            else [self.screen, self.app]
        )
        entries: dict[tuple[int, str], tuple[DOMNode, Binding, list[str]]] = {}
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.show or not active.enabled:
                continue
            # One Binding of several keys ("delete,x") comes once per key: shown once.
            entry = entries.setdefault(
                (id(active.node), binding.action), (active.node, binding, [])
            )
            key = self.app.get_key_display(binding)
            if key not in entry[2] and (not binding.key_display or not entry[2]):
                entry[2].append(key)

        def place(item: tuple[DOMNode, Binding, list[str]]) -> tuple[int, int]:
            node, binding, _keys = item
            depth = chain.index(node) if node in chain else len(chain)
            return depth, _binding_order(node).get(binding.action, 999)

        shown: list[tuple[str, str]] = []
        groups: dict[tuple[int, str], int] = {}
        for node, binding, keys in sorted(entries.values(), key=place):
            key = "/".join(keys)
            if binding.group is None:
                shown.append((key, binding.description))
                continue
            group = (id(node), binding.group.description)
            if group in groups:
                index = groups[group]
                shown[index] = (f"{shown[index][0]}/{key}", shown[index][1])
            else:
                groups[group] = len(shown)
                shown.append((key, binding.group.description))
        if self.app.ENABLE_COMMAND_PALETTE and not isinstance(self.screen, ModalScreen):
            shown.append(("^p", "Commands"))
        return shown

    def rows(self, width: int) -> list[list[tuple[str, str]]]:
        """The items laid out greedily into rows of at most ``width`` columns."""
        rows: list[list[tuple[str, str]]] = [[]]
        used = 0
        for key, description in self.items():
            size = len(key) + 1 + len(description)
            extra = size + (len(SEPARATOR) if rows[-1] else 0)
            if rows[-1] and used + extra > width:
                rows.append([])
                used, extra = 0, size
            rows[-1].append((key, description))
            used += extra
        return rows

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return max(1, len(self.rows(width)))

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-footer--key")
        description_style = self.get_component_rich_style("key-footer--description")
        text = Text(no_wrap=True, overflow="crop")
        for number, row in enumerate(self.rows(self.content_size.width)):
            if number:
                text.append("\n")
            for index, (key, description) in enumerate(row):
                if index:
                    text.append(SEPARATOR)
                text.append(key, key_style)
                text.append(" " + description, description_style)
        return text
