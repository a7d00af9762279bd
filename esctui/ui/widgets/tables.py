"""``RowTable``: the DataTable of every list, its rows keyed by object id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable


@dataclass(frozen=True)
class Row:
    """One row of a table: the id of what it shows, and its cells."""

    key: str
    cells: Sequence[RenderableType]


@dataclass(frozen=True)
class Column:
    """One column: its header, key and width (None: as wide as its cells)."""

    label: str | Text
    key: str
    width: int | None = None


def selected_row_key(table: DataTable) -> str | None:
    """The key of the row under the cursor, or None for an empty table."""
    if table.row_count == 0:
        return None
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


class RowTable(DataTable):
    """A DataTable of rows (a row cursor, zebra stripes) where Home and End go to the first
    and the last row, as in a file manager (DataTable's own Home/End scroll sideways)."""

    DEFAULT_CSS = "RowTable { height: 1fr; }"
    BINDINGS = [
        Binding("home", "scroll_top", "First row", show=False, id="table.first_row"),
        Binding("end", "scroll_bottom", "Last row", show=False, id="table.last_row"),
    ]

    def __init__(self, *, id: str | None = None) -> None:  # Textual's name
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        # what the last refill showed, while nothing else changed the table: a refill with
        # the same rows is skipped (DataTable measures every cell it is given: 1,000 pages
        # took ~150 ms each time the Images screen came back)
        self._shown_rows: list[Row] | None = None
        self._shown_columns: Sequence[Column] | None = None

    def clear(self, columns: bool = False) -> RowTable:
        self._shown_rows = None
        super().clear(columns)
        return self

    def update_cell(self, *args: Any, **kwargs: Any) -> None:
        self._shown_rows = None
        super().update_cell(*args, **kwargs)

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor (None: the table is empty)."""
        return selected_row_key(self)

    def refill(
        self,
        rows: Iterable[Row],
        *,
        keep: str | None = None,
        fallback_row: int | None = None,
        columns: Sequence[Column] | None = None,
    ) -> None:
        """Show ``rows`` instead of the rows there (and ``columns`` instead of the columns,
        when given). The cursor stays on the row ``keep`` (default: the row it is on); when
        that row is gone, it goes to ``fallback_row`` (default: the row number it is on, so
        after a delete it is on the row that came after), kept inside the table."""
        keep = keep or self.selected_key
        if fallback_row is None:
            fallback_row = self.cursor_row
        rows = list(rows)
        same_columns = columns is None or columns == self._shown_columns
        if rows != self._shown_rows or not same_columns:
            self.clear(columns=columns is not None)
            for column in columns or ():
                self.add_column(column.label, key=column.key, width=column.width)
            for row in rows:
                self.add_row(*row.cells, key=row.key)
            self._shown_rows = rows
            if columns is not None:
                self._shown_columns = columns
        if keep is not None and keep in self.rows:
            self.move_cursor(row=self.get_row_index(keep))
        elif fallback_row is not None and self.row_count:
            self.move_cursor(row=min(fallback_row, self.row_count - 1))
