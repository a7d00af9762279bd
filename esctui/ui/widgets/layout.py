"""``LayoutPreview``: a page's regions and lines drawn with braille dots, scaled to the widget
(2x4 dots a cell: works over any SSH connection, in any font with braille)."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from esctui.domain import Line, Polygon
from esctui.store import PageLayout

# Braille dot bits by (row 0-3, column 0-1) inside one character cell.
_DOT_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
# Layers, drawn in this order; a cell takes the colour of the highest layer with a dot in it.
REGION, LINE, SELECTED = 1, 2, 3
_LAYER_STYLES = {REGION: "blue", LINE: "green", SELECTED: "bold yellow"}


class BrailleCanvas:
    """A grid of braille cells, 2x4 dots each, with a colour layer per cell."""

    def __init__(self, columns: int, rows: int) -> None:
        self.columns = max(1, columns)
        self.rows = max(1, rows)
        self.width = self.columns * 2
        self.height = self.rows * 4
        self.bits = [[0] * self.columns for _ in range(self.rows)]
        self.layers = [[0] * self.columns for _ in range(self.rows)]

    def dot(self, x: int, y: int, layer: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            row, column = y // 4, x // 2
            self.bits[row][column] |= _DOT_BITS[y % 4][x % 2]
            self.layers[row][column] = max(self.layers[row][column], layer)

    def line(self, x0: int, y0: int, x1: int, y1: int, layer: int) -> None:
        """Bresenham's line between two dots."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        error = dx + dy
        for _ in range(self.width + self.height + 2):
            self.dot(x0, y0, layer)
            if x0 == x1 and y0 == y1:
                return
            twice = 2 * error
            if twice >= dy:
                error += dy
                x0 += sx
            if twice <= dx:
                error += dx
                y0 += sy

    def to_text(self) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        for r in range(self.rows):
            if r:
                text.append("\n")
            for c in range(self.columns):
                bits = self.bits[r][c]
                text.append(chr(0x2800 + bits), _LAYER_STYLES.get(self.layers[r][c], ""))
        return text


def draw_layout(
    columns: int,
    rows: int,
    page_size: tuple[int, int],
    layout: PageLayout,
    selected_line: str | None = None,
) -> Text:
    """Region outlines and baselines (or line outlines) scaled to ``columns`` x ``rows`` cells.

    Braille dots are about square (a cell is half as wide as tall, with 2x4 dots), so the page
    keeps its proportions. The selected line is drawn last, in its own colour.
    """
    canvas = BrailleCanvas(columns, rows)
    width, height = float(page_size[0]), float(page_size[1])
    points = [p for r in layout.regions for p in r.polygon]
    for line in layout.lines:
        points.extend(line.baseline or [])
        points.extend(line.mask or [])
    if points:  # coordinates outside the image size (bad XML) still fit
        width = max(width, *(p[0] for p in points))
        height = max(height, *(p[1] for p in points))
    if width <= 0 or height <= 0:
        return canvas.to_text()
    scale = min((canvas.width - 1) / width, (canvas.height - 1) / height)

    def draw(poly: Polygon | None, layer: int, closed: bool) -> None:
        if not poly:
            return
        dots = [(round(x * scale), round(y * scale)) for x, y in poly]
        if len(dots) == 1:
            canvas.dot(*dots[0], layer)
        pairs = list(zip(dots, dots[1:], strict=False))
        if closed and len(dots) > 2:
            pairs.append((dots[-1], dots[0]))
        for (x0, y0), (x1, y1) in pairs:
            canvas.line(x0, y0, x1, y1, layer)

    for region in layout.regions:
        draw(region.polygon, REGION, True)
    chosen: Line | None = None
    for line in layout.lines:
        if line.id == selected_line:
            chosen = line
        elif line.baseline:
            draw(line.baseline, LINE, False)
        else:
            draw(line.mask, LINE, True)
    if chosen is not None:
        draw(chosen.mask, SELECTED, True)
        draw(chosen.baseline, SELECTED, False)
    return canvas.to_text()


class LayoutPreview(Widget):
    """The page's regions and lines, scaled to the widget."""

    DEFAULT_CSS = "LayoutPreview { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:  # Textual's name
        super().__init__(id=id)
        self.page_size = (0, 0)
        self.page_layout: PageLayout = PageLayout()
        self.selected_line: str | None = None

    def show(
        self, page_size: tuple[int, int], layout: PageLayout, selected_line: str | None
    ) -> None:
        self.page_size = page_size
        self.page_layout = layout
        self.selected_line = selected_line
        self.refresh()

    def render(self) -> Text:
        if not self.page_layout.regions and not self.page_layout.lines:
            return Text("(nothing to draw)", style="dim")
        return draw_layout(
            self.size.width, self.size.height, self.page_size, self.page_layout, self.selected_line
        )
