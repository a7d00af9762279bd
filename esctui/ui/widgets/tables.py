"""Helpers for DataTables whose rows are keyed by object id."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable


def selected_row_key(table: DataTable) -> str | None:
    """The key of the row under the cursor, or None for an empty table."""
    if table.row_count == 0:
        return None
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


class RowTable(DataTable):
    """A DataTable of rows (a row cursor, zebra stripes) where Home and End go to the first
    and the last row, as in a file manager (DataTable's own Home/End scroll sideways)."""

    BINDINGS = [
        Binding("home", "scroll_top", "First row", show=False),
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:  # Textual's name
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
