"""One page: its lines in reading order with the text of a chosen version, its regions, and a
rough layout preview drawn with braille dots (works over any SSH connection)."""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Header, Static

from esctui.domain import Line, Part, Polygon, Region, Transcription
from esctui.domain.errors import EsctuiError
from esctui.domain.text import plural, printable
from esctui.store import PageLayout
from esctui.ui.screens.dialogs import Choice, ChoiceScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.store_access import StoreAccess
from esctui.ui.widgets.tables import RowTable, selected_row_key
from esctui.ui.widgets.text import cell, safe

NO_LAYOUT = "No regions or lines yet — import ALTO/PAGE XML with i on the Images screen."

# Braille dot bits by (row 0-3, column 0-1) inside one character cell.
_DOT_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
# Layers, drawn in this order; a cell takes the colour of the highest layer with a dot in it.
REGION, LINE, SELECTED = 1, 2, 3
_LAYER_STYLES = {REGION: "blue", LINE: "green", SELECTED: "bold yellow"}
SIDE_SHARE, SIDE_MIN = 0.35, 30  # the side panel: a third of the width, 30 columns at least


def side_width(screen_width: int) -> int:
    """Columns of the regions and layout panel for a terminal ``screen_width`` wide."""
    return max(SIDE_MIN, int(screen_width * SIDE_SHARE))


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

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
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


def default_version(versions: list[Transcription], layout: PageLayout) -> str | None:
    """The newest version with text on this page, else the newest version, else None."""
    with_text = {t.transcription_id for t in layout.texts if t.text}
    for version in reversed(versions):
        if version.id in with_text:
            return version.id
    return versions[-1].id if versions else None


class PageScreen(StoreAccess, Screen[None]):
    """Lines of one page in reading order, with a version switcher and a layout preview."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("left_square_bracket", "page(-1)", "Prev page", key_display="["),
        Binding("right_square_bracket", "page(1)", "Next page", key_display="]"),
        Binding("v", "next_version", "Next version"),
        Binding("V", "choose_version", "Pick version"),
        Binding("p", "toggle_preview", "Layout panel"),
    ]

    def __init__(self, document_id: str, part_id: str) -> None:
        super().__init__()
        self.document_id = document_id
        self.part_id = part_id
        self.version_id: str | None = None
        self.parts: list[Part] = []
        self.part: Part | None = None
        self.page_layout = PageLayout()
        self.versions: list[Transcription] = []
        self.texts: dict[str, str] = {}
        self._text_width = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="page-title", classes="title")
        with Horizontal():
            with Vertical(id="page-main"):
                yield RowTable(id="lines")
                yield Static("", id="empty", classes="empty")
                yield Static("", id="line-text")
            with Vertical(id="page-side", classes="panel"):
                yield Static("", id="regions")
                yield LayoutPreview(id="layout")
        yield KeyFooter()

    def on_mount(self) -> None:
        side = self.query_one("#page-side")
        side.border_title = "Regions · layout"
        side.styles.width = side_width(self.size.width)
        self.reload()

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        try:
            self.parts = self.store.list_parts(self.document_id)
            doc = self.store.get_document(self.document_id)
        except EsctuiError as error:
            self.notify(safe(error), severity="error")
            if self.is_current:
                self.app.pop_screen()
            return
        part = next((p for p in self.parts if p.id == self.part_id), None)
        if part is None:
            self.notify("This page no longer exists.", severity="error")
            if self.is_current:
                self.app.pop_screen()
            return
        self.part = part
        self.sub_title = printable(doc.name)
        self.page_layout = self.store.read_page_layout(self.document_id, part.id)
        self.versions = self.store.list_transcriptions(self.document_id)
        if self.version_id not in {v.id for v in self.versions}:
            self.version_id = default_version(self.versions, self.page_layout)
        self.show_page()

    def version(self) -> Transcription | None:
        return next((v for v in self.versions if v.id == self.version_id), None)

    def show_page(self) -> None:
        part = self.part
        assert part is not None
        version = self.version()
        if version is None:
            which = "no transcription yet"
        else:
            index = self.versions.index(version) + 1
            which = f"version {safe(version.name)} ({index}/{len(self.versions)}, v switches)"
        self.query_one("#page-title", Static).update(
            f"{safe(part.name)} — page {part.order + 1:,} of {len(self.parts):,} — {which}"
        )
        self.texts = (
            {k: t.text for k, t in self.page_layout.texts_for(version.id).items()}
            if version
            else {}
        )
        self.fill_table()
        self.show_regions()
        self.show_selected()

    def _wanted_text_width(self) -> int:
        fixed = self._number_width() + 3 + 8 + 4 + 2 * 5 + 2  # columns, padding, scroll bar
        side = side_width(self.size.width) if self.query_one("#page-side").display else 0
        return max(12, self.size.width - side - fixed)

    def _number_width(self) -> int:
        return max(2, len(str(len(self.page_layout.lines))))

    def fill_table(self) -> None:
        table = self.query_one("#lines", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        self._text_width = self._wanted_text_width()
        table.add_column("#", width=self._number_width(), key="n")
        table.add_column("Reg", width=3, key="region")
        table.add_column("Type", width=8, key="type")
        table.add_column("Text", width=self._text_width, key="text")
        table.add_column("Conf", width=4, key="conf")
        region_number = {r.id: str(i) for i, r in enumerate(self.page_layout.regions, 1)}
        confidences = (
            self.page_layout.texts_for(self.version_id) if self.version_id is not None else {}
        )
        for number, line in enumerate(self.page_layout.lines, 1):
            conf = confidences.get(line.id)
            table.add_row(
                str(number),
                region_number.get(line.region_id or "", "–"),
                cell(line.type, 8),
                cell(" ".join(self.texts.get(line.id, "").split()), self._text_width),
                f"{conf.confidence:.2f}" if conf and conf.confidence is not None else "",
                key=line.id,
            )
        has_layout = bool(self.page_layout.lines or self.page_layout.regions)
        empty = self.query_one("#empty", Static)
        empty.display = not self.page_layout.lines
        empty.update(NO_LAYOUT if not has_layout else "This page has regions but no lines.")
        table.display = bool(self.page_layout.lines)
        self.query_one("#line-text").display = bool(self.page_layout.lines)
        if self.page_layout.lines:
            table.move_cursor(row=min(max(row, 0), table.row_count - 1))
            table.focus()

    def show_regions(self) -> None:
        counts = Counter(line.region_id for line in self.page_layout.lines)
        regions, all_lines = len(self.page_layout.regions), len(self.page_layout.lines)
        lines = [f"[b]{plural(regions, 'region')}, {plural(all_lines, 'line')}[/b]"]
        for number, region in enumerate(self.page_layout.regions, 1):
            lines.append(
                f"{number:>2} {safe(region.type)} · {plural(counts.get(region.id, 0), 'line')}"
            )
        orphans = counts.get(None, 0)
        if orphans:
            lines.append(f" – no region · {plural(orphans, 'line')}")
        self.query_one("#regions", Static).update("\n".join(lines))

    def selected_line(self) -> Line | None:
        table = self.query_one("#lines", DataTable)
        line_id = selected_row_key(table) if self.page_layout.lines else None
        return next((line for line in self.page_layout.lines if line.id == line_id), None)

    def show_selected(self) -> None:
        line = self.selected_line()
        text = self.query_one("#line-text", Static)
        if line is None:
            text.update("")
        else:
            region = self._region(line.region_id)
            where = f"region {safe(region.type)}" if region else "no region"
            body = self.texts.get(line.id)
            shown = safe(body) if body else "[dim](no text in this version)[/dim]"
            text.update(f"[dim]line {line.order + 1}, {where}:[/dim] {shown}")
        part = self.part
        size = (part.width, part.height) if part else (0, 0)
        self.query_one(LayoutPreview).show(size, self.page_layout, line.id if line else None)

    def _region(self, region_id: str | None) -> Region | None:
        return next((r for r in self.page_layout.regions if r.id == region_id), None)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_selected()

    def on_resize(self) -> None:
        self.query_one("#page-side").styles.width = side_width(self.size.width)
        if self.part and self.page_layout.lines and self._wanted_text_width() != self._text_width:
            self.fill_table()

    # ------------------------------------------------------------------ actions

    def action_page(self, delta: int) -> None:
        index = next((i for i, p in enumerate(self.parts) if p.id == self.part_id), 0) + delta
        if not 0 <= index < len(self.parts):
            self.notify("This is the first page." if delta < 0 else "This is the last page.")
            return
        self.part_id = self.parts[index].id
        self.query_one("#lines", DataTable).move_cursor(row=0)
        self.reload()

    def action_next_version(self) -> None:
        if not self.versions:
            self.notify("This document has no transcription versions yet.", severity="warning")
            return
        ids = [v.id for v in self.versions]
        index = ids.index(self.version_id) if self.version_id in ids else -1
        self.version_id = ids[(index + 1) % len(ids)]
        self.show_page()

    def action_choose_version(self) -> None:
        if not self.versions:
            self.notify("This document has no transcription versions yet.", severity="warning")
            return
        counts = Counter(t.transcription_id for t in self.page_layout.texts if t.text)
        choices = [
            Choice(v.id, v.name, f"{v.source} · {counts.get(v.id, 0)} lines on this page")
            for v in self.versions
        ]

        def chosen(version_id: str | None) -> None:
            if version_id is not None:
                self.version_id = version_id
                self.show_page()

        self.app.push_screen(ChoiceScreen("Show which version?", choices), chosen)

    def action_toggle_preview(self) -> None:
        """Show or hide the side panel (regions and layout preview); hidden, texts get its room."""
        side = self.query_one("#page-side")
        side.display = not side.display
        if self.page_layout.lines:
            self.fill_table()

    def palette_commands(self) -> list[SystemCommand]:
        return [
            SystemCommand(
                "Pick version", "Show another transcription version", self.action_choose_version
            ),
            SystemCommand("Next page", "Go to the next page", lambda: self.action_page(1)),
            SystemCommand("Previous page", "Go to the previous page", lambda: self.action_page(-1)),
        ]
