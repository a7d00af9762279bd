"""One page: its lines in reading order with the text of a chosen version, its regions, and a
rough layout preview drawn with braille dots (``widgets/layout.py``); the highlighted line's
tags, and its earlier texts (``h``, ``page_history.py``) to restore one."""

from __future__ import annotations

from collections import Counter

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Static

from esctui.domain import Line, Part, Region, Transcription, tag_labels
from esctui.domain.text import plural
from esctui.store import PageLayout
from esctui.ui.screens.dialogs import Choice, ChoiceScreen
from esctui.ui.screens.paging import PagedScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.layout import LayoutPreview
from esctui.ui.widgets.tables import RowTable
from esctui.ui.widgets.text import cell, safe

NO_LAYOUT = "No regions or lines yet — import ALTO/PAGE XML with i on the Images screen."

SIDE_SHARE, SIDE_MIN = 0.35, 30  # the side panel: a third of the width, 30 columns at least


def side_width(screen_width: int) -> int:
    """Columns of the regions and layout panel for a terminal ``screen_width`` wide."""
    return max(SIDE_MIN, int(screen_width * SIDE_SHARE))


def default_version(versions: list[Transcription], layout: PageLayout) -> str | None:
    """The newest version with text on this page, else the newest version, else None."""
    with_text = {t.transcription_id for t in layout.texts if t.text}
    for version in reversed(versions):
        if version.id in with_text:
            return version.id
    return versions[-1].id if versions else None


class PageScreen(PagedScreen[list[Transcription]]):
    """Lines of one page in reading order, with a version switcher and a layout preview."""

    DEFAULT_CSS = """
    #page-side { width: 30; height: 1fr; }  /* set from the terminal width: a third of it */
    #regions { height: auto; max-height: 50%; }
    #line-text { height: 3; padding: 0 1; border-top: solid $primary-darken-2; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="page.back"),
        Binding(
            "left_square_bracket", "page(-1)", "Prev page", key_display="[", id="page.previous"
        ),
        Binding("right_square_bracket", "page(1)", "Next page", key_display="]", id="page.next"),
        Binding("v", "next_version", "Next version", id="page.next_version"),
        Binding("V", "choose_version", "Pick version", id="page.pick_version"),
        Binding("p", "toggle_preview", "Layout panel", id="page.layout_panel"),
        Binding("h", "history", "Text history", id="page.history"),
    ]

    def __init__(self, document_id: str, part_id: str) -> None:
        super().__init__(document_id, part_id)
        self.version_id: str | None = None
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

    def read_extra(self) -> list[Transcription]:
        return self.store.list_transcriptions(self.document_id)

    def opened(self, extra: list[Transcription]) -> None:
        self.versions = extra

    def show_page(self, part: Part, layout: PageLayout) -> None:
        """A page was read (opened, or turned to): its version is kept while it has one."""
        self.page_layout = layout
        if self.version_id not in {v.id for v in self.versions}:
            self.version_id = default_version(self.versions, layout)
        self.show_version()

    def version(self) -> Transcription | None:
        return next((v for v in self.versions if v.id == self.version_id), None)

    def show_version(self) -> None:
        part = self.part
        if part is None:
            return
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
        table = self.query_one("#lines", RowTable)
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
        table = self.query_one("#lines", RowTable)
        line_id = table.selected_key if self.page_layout.lines else None
        return next((line for line in self.page_layout.lines if line.id == line_id), None)

    def show_selected(self) -> None:
        line = self.selected_line()
        text = self.query_one("#line-text", Static)
        if line is None:
            text.update("")
        else:
            region = self._region(line.region_id)
            where = f"region {safe(region.type)}" if region else "no region"
            tags = ", ".join(tag_labels(line.tags))
            if tags:
                where += f", tags {safe(tags)}"
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
        self.query_one("#lines", RowTable).move_cursor(row=0)
        super().action_page(delta)

    def action_next_version(self) -> None:
        if not self.versions:
            self.notify("This document has no transcription versions yet.", severity="warning")
            return
        ids = [v.id for v in self.versions]
        index = ids.index(self.version_id) if self.version_id in ids else -1
        self.version_id = ids[(index + 1) % len(ids)]
        self.show_version()

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
                self.show_version()

        self.app.push_screen(ChoiceScreen("Show which version?", choices), chosen)

    def action_history(self) -> None:
        """The highlighted line's earlier texts in the version shown; restoring one reloads."""
        from esctui.ui.screens.page_history import LineHistoryScreen

        line, version = self.selected_line(), self.version()
        if line is None:
            self.notify("This page has no lines.", severity="warning")
            return
        if version is None:
            self.notify("This document has no transcription versions yet.", severity="warning")
            return
        number = self.page_layout.lines.index(line) + 1
        title = f"Line {number}: its texts in {safe(version.name)}"

        def closed(restored: bool | None) -> None:
            if restored:
                self.reload()

        self.app.push_screen(
            LineHistoryScreen(self.document_id, self.part_id, line.id, version.id, title=title),
            closed,
        )

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
            SystemCommand(
                "Text history", "The highlighted line's earlier texts", self.action_history
            ),
            SystemCommand("Next page", "Go to the next page", lambda: self.action_page(1)),
            SystemCommand("Previous page", "Go to the previous page", lambda: self.action_page(-1)),
        ]
