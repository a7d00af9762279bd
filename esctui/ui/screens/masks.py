"""Compute line masks (M on the Images screen): which lines, then the kraken job.

kraken loads inside the job, in a thread, and only when a page has a line to compute.
"""

from __future__ import annotations

from esctui.domain.text import plural
from esctui.ui.screens.base import EsctuiScreen
from esctui.ui.screens.dialogs import Choice, ChoiceScreen

MISSING = "missing"
ALL = "all"


class MasksScreen(ChoiceScreen):
    """Lines without a mask (the default, first) or all lines (their masks replaced)."""

    def __init__(self, scope: str) -> None:
        super().__init__(
            f"Compute line masks with kraken for {scope}",
            [
                Choice(MISSING, "Lines without a mask", "the default; existing masks stay"),
                Choice(ALL, "All lines", "replaces every mask around a baseline"),
            ],
            hint="Up/Down to choose, Enter to compute, Escape to cancel.",
        )


def open_dialog(
    screen: EsctuiScreen, document_id: str, page_count: int, marked_ids: list[str] | None = None
) -> None:
    """Ask which lines, then run ``MasksJob`` on the marked pages (in page order) or on all
    ``page_count`` pages."""
    if not page_count:
        screen.notify("This document has no pages yet.", severity="warning")
        return
    part_ids = list(marked_ids) if marked_ids else None
    if part_ids:
        scope = f"the {plural(len(part_ids), 'marked page')}"
    else:
        scope = "the only page" if page_count == 1 else f"all {plural(page_count, 'page')}"
    store = screen.store

    def chosen(key: str | None) -> None:
        if key is None:
            return
        from esctui.jobs.masks import MasksJob  # kraken itself loads in the job

        screen.start_job(
            lambda: MasksJob(store, document_id, part_ids=part_ids, only_missing=key == MISSING)
        )

    screen.app.push_screen(MasksScreen(scope), chosen)
