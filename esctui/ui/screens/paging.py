"""``PagedScreen``: a screen of one page of a document that turns pages with [ and ] (the Page
view, the Compare view).

Opening reads the document, its pages and what the screen needs besides (its versions) once;
turning a page reads that page's layout only. Both reads run off the event loop, the newer
replacing one still running; a document or page gone meanwhile closes the screen with a
sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from esctui.domain import Part
from esctui.domain.errors import EsctuiError
from esctui.domain.text import printable
from esctui.store import PageLayout
from esctui.ui.screens.base import EsctuiScreen
from esctui.ui.widgets.text import safe

ExtraT = TypeVar("ExtraT")
PAGE_GONE = "This page no longer exists."


@dataclass
class Opened(Generic[ExtraT]):
    """What opening reads: the document's name and pages, the screen's extra, the page."""

    document_name: str
    parts: list[Part]
    extra: ExtraT
    part: Part | None
    layout: PageLayout


class PagedScreen(EsctuiScreen[None], Generic[ExtraT]):
    """One page of ``document_id`` at a time; ``[``/``]`` (``action_page``) turn pages."""

    LOAD_GROUP = "page-load"

    def __init__(self, document_id: str, part_id: str) -> None:
        super().__init__()
        self.document_id = document_id
        self.part_id = part_id
        self.parts: list[Part] = []
        self.part: Part | None = None

    # ------------------------------------------------------------------ what a screen says

    def read_extra(self) -> ExtraT:
        """What the screen reads besides the pages when it opens (in a thread)."""
        raise NotImplementedError

    def opened(self, extra: ExtraT) -> None:
        """Take what ``read_extra`` read (on the event loop), before the page shows."""

    def show_page(self, part: Part, layout: PageLayout) -> None:
        """Show ``part`` with its regions, lines and texts."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the base's work

    def reload(self) -> None:
        """Read the document, its pages, the extra and the current page (off the loop)."""
        store, document_id, part_id = self.store, self.document_id, self.part_id

        def read() -> Opened[ExtraT]:
            parts = store.list_parts(document_id)
            name = store.get_document(document_id).name
            extra = self.read_extra()
            part = next((p for p in parts if p.id == part_id), None)
            layout = store.read_page_layout(document_id, part_id) if part else PageLayout()
            return Opened(name, parts, extra, part, layout)

        self.store_call(read, self._opened, group=self.LOAD_GROUP, failed=self._failed)

    def _opened(self, found: Opened[ExtraT]) -> None:
        self.parts = found.parts
        self.sub_title = printable(found.document_name)
        self.opened(found.extra)
        if found.part is None:
            self.leave(PAGE_GONE)
            return
        self._show(found.part, found.layout)

    def _show(self, part: Part, layout: PageLayout) -> None:
        self.part = part
        self.part_id = part.id
        self.show_page(part, layout)

    def _failed(self, error: EsctuiError) -> None:
        self.leave(safe(error))

    def action_page(self, delta: int) -> None:
        """The page ``delta`` pages on (its layout is the one thing read)."""
        index = next((i for i, p in enumerate(self.parts) if p.id == self.part_id), 0) + delta
        if not 0 <= index < len(self.parts):
            self.notify("This is the first page." if delta < 0 else "This is the last page.")
            return
        part = self.parts[index]
        self.part_id = part.id
        store, document_id = self.store, self.document_id
        self.store_call(
            lambda: store.read_page_layout(document_id, part.id),
            lambda layout: self._show(part, layout),
            group=self.LOAD_GROUP,
            failed=self._failed,
        )
