"""A page preview drawn with half-block characters: two pixels per cell, works over any SSH."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from textual.widget import Widget

NO_PREVIEW = "(no preview)"


class HalfBlockImage:
    """A rich renderable: the image scaled to fit, upper/lower half blocks per cell."""

    def __init__(
        self, path: Path | None, *, width: int, height: int, note: str = NO_PREVIEW
    ) -> None:
        self.path = path
        self.width = max(1, width)
        self.height = max(1, height)
        self.note = note  # shown instead of the image when there is none

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.path is None or not self.path.exists():
            yield Segment(self.note)
            return
        from PIL import Image

        try:
            with Image.open(self.path) as image:
                image = image.convert("RGB")
                # cells are about twice as tall as wide: one cell = 1 px wide, 2 px tall
                scale = min(self.width / image.width, (self.height * 2) / image.height)
                size = (max(1, int(image.width * scale)), max(2, int(image.height * scale)))
                image = image.resize(size)
        except (OSError, ValueError, SyntaxError):  # a thumbnail cut short by a crash, say
            yield Segment(NO_PREVIEW)
            return
        pixels = image.load()
        for y in range(0, size[1] - 1, 2):
            for x in range(size[0]):
                top, bottom = pixels[x, y], pixels[x, y + 1]
                yield Segment(
                    "▀",
                    Style(
                        color=f"rgb({top[0]},{top[1]},{top[2]})",
                        bgcolor=f"rgb({bottom[0]},{bottom[1]},{bottom[2]})",
                    ),
                )
            yield Segment.line()


class PagePreview(Widget):
    """Shows the thumbnail of the selected page, fitted to the widget's size."""

    DEFAULT_CSS = "PagePreview { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:  # Textual's name
        super().__init__(id=id)
        self.path: Path | None = None
        self.note = NO_PREVIEW

    def show(self, path: Path | None, note: str = NO_PREVIEW) -> None:
        """Show the image at ``path``; ``note`` while there is none (e.g. "making preview…")."""
        self.path = path
        self.note = note
        self.refresh()

    def render(self) -> HalfBlockImage:
        return HalfBlockImage(
            self.path, width=self.size.width, height=self.size.height, note=self.note
        )
