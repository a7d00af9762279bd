"""RowTable.refill: the same rows again are not re-added (DataTable measures every cell it is
given), yet a cell changed since (a mark) or new rows are always shown as they are."""

from __future__ import annotations

from textual.app import App, ComposeResult

from esctui.ui.widgets.tables import Column, Row, RowTable

COLUMNS = [Column("Mark", "mark", 1), Column("Name", "name")]


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield RowTable()


def rows(*names: str) -> list[Row]:
    return [Row(name, [" ", name]) for name in names]


async def test_a_refill_with_the_same_rows_keeps_the_table_and_a_changed_cell_is_redrawn() -> None:
    app = OneTable()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(RowTable)
        table.refill(rows("a", "b", "c"), columns=COLUMNS)
        await pilot.pause()
        first = table.rows["b"]
        table.refill(rows("a", "b", "c"), keep="c", columns=COLUMNS)
        await pilot.pause()
        assert table.rows["b"] is first  # not cleared and added again
        assert table.selected_key == "c"  # the cursor still goes where it is asked

        table.update_cell("b", "mark", "●")  # changed since the last refill
        table.refill(rows("a", "b", "c"), columns=COLUMNS)
        await pilot.pause()
        assert table.get_cell("b", "mark") == " "  # the rows given are what is shown

        table.refill(rows("a", "c"))  # other rows, the columns as they are
        await pilot.pause()
        assert [table.get_row_at(i)[1] for i in range(table.row_count)] == ["a", "c"]
        assert [c.label.plain for c in table.ordered_columns] == ["Mark", "Name"]
