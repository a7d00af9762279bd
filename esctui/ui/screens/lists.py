"""``ListScreen``: a screen around one list read from the store (documents, pages, jobs,
models, versions, and the servers and projects of a remote).

A subclass says how to read its list (``load``, in a thread: store calls only), what the read
gives (``listed``, on the event loop: the items in order, and anything else it keeps, a title)
and how an item shows (``row``). The base reads off the event loop, one read at a time (a newer
reload replaces one still running, so an old list never shows over a newer one), refills the
table keeping the cursor on the same item, says ``EMPTY`` when there is nothing, and finds the
item under the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Generic, Protocol, TypeVar

from textual.widgets import Static
from textual.worker import Worker

from esctui.domain.errors import EsctuiError
from esctui.ui.screens.base import EsctuiScreen
from esctui.ui.widgets.tables import Column, Row, RowTable
from esctui.ui.widgets.text import safe


class Identified(Protocol):
    @property
    def id(self) -> str: ...


LoadedT = TypeVar("LoadedT")
ItemT = TypeVar("ItemT", bound=Identified)


class ListScreen(EsctuiScreen[None], Generic[LoadedT, ItemT]):
    """One ``RowTable`` of items (each with an ``id``: the row key) and an ``#empty`` note.

    compose() yields the ``RowTable`` and, for the ``EMPTY`` sentence, a
    ``Static("", id="empty", classes="empty")``.
    """

    EMPTY: ClassVar[str] = "Nothing here yet."  # markup: shown instead of an empty table
    RELOAD_GROUP: ClassVar[str] = "list-reload"

    def __init__(self) -> None:
        super().__init__()
        self.items: list[ItemT] = []
        self._wanted: tuple[str | None, int | None] = (None, None)  # of the reload under way

    # ------------------------------------------------------------------ what a list says

    def load(self) -> LoadedT:
        """Read the list (runs in a thread: store calls only, no widget)."""
        raise NotImplementedError

    def listed(self, loaded: LoadedT) -> Sequence[ItemT]:
        """Take what ``load`` read (on the event loop) and give the items, in order."""
        raise NotImplementedError

    def row(self, item: ItemT) -> Row:
        """How one item shows."""
        raise NotImplementedError

    def columns(self) -> Sequence[Column] | None:
        """The columns when they change with the items or the width (None: as they are)."""
        return None

    def load_failed(self, error: EsctuiError) -> None:
        """The list could not be read: said (a screen of something gone closes instead)."""
        self.notify(safe(error), severity="error", timeout=10)

    def shown(self) -> None:
        """Called after the table was refilled (a side panel follows the cursor)."""

    # ------------------------------------------------------------------ the base's work

    @property
    def table(self) -> RowTable:
        return self.query_one(RowTable)

    @property
    def selected_id(self) -> str | None:
        """The id of the item under the cursor (None: the list is empty)."""
        return self.table.selected_key

    def selected_item(self) -> ItemT | None:
        key = self.selected_id
        return next((item for item in self.items if item.id == key), None)

    def reload(
        self, select: str | None = None, *, fallback_row: int | None = None, hold_keys: bool = True
    ) -> Worker[None]:
        """Read the list again (off the event loop) and show it; the cursor stays on
        ``select`` (default: the item it is on then) or, when that one is gone, goes to the
        row ``fallback_row`` (the item after a deleted one). A reload that replaces one still
        running keeps what that one was to select (a new document, then the screen's return).
        ``hold_keys=False`` for a reload no key asked for (see ``store_call``)."""
        if select is None and fallback_row is None:
            select, fallback_row = self._wanted
        self._wanted = (select, fallback_row)

        def show(loaded: LoadedT) -> None:
            self._wanted = (None, None)
            self.show_items(self.listed(loaded), select, fallback_row)

        def failed(error: EsctuiError) -> None:
            self._wanted = (None, None)
            self.load_failed(error)

        return self.store_call(
            self.load, show, group=self.RELOAD_GROUP, failed=failed, hold_keys=hold_keys
        )

    def show_items(
        self,
        items: Sequence[ItemT] | None = None,
        select: str | None = None,
        fallback_row: int | None = None,
    ) -> None:
        """Fill the table with ``items`` (default: the items it shows, drawn again)."""
        if items is not None:
            self.items = list(items)
        table = self.table
        columns = self.columns()  # first: a row's cells may be cut to a column's width
        table.refill(
            [self.row(item) for item in self.items],
            keep=select,
            fallback_row=fallback_row,
            columns=columns,
        )
        for empty in self.query("#empty").results(Static):  # else the screen says it itself
            empty.update("" if self.items else self.EMPTY)
            empty.display = not self.items
        self.shown()
        table.focus()
