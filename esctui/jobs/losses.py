"""What replacing a page's segmentation takes away, counted and said in a sentence.

Replacing regions or lines (an XML import with override, a segmentation that replaces) removes
the lines other versions' texts hang on: this is the one place that counts it, for the question
asked before (the CLI, the TUI) and for the job report after.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from esctui.domain.text import plural
from esctui.store import PageLayout, Store


@dataclass
class Losses:
    """Regions, lines and texts (by transcription version id) that a replacement removes."""

    regions: int = 0
    lines: int = 0
    texts: Counter[str] = field(default_factory=Counter)

    def add(self, other: Losses) -> None:
        self.regions += other.regions
        self.lines += other.lines
        self.texts.update(other.texts)

    def __bool__(self) -> bool:
        return bool(self.regions or self.lines)

    def describe(self, version_names: dict[str, str]) -> str:
        """'44 lines and 2 regions, and with them the text of 1 version: 'HTR' (44 lines)'."""
        goes = [
            plural(n, word) for n, word in ((self.lines, "line"), (self.regions, "region")) if n
        ]
        text = " and ".join(goes) or "nothing"
        if self.texts:
            held = ", ".join(
                f"{version_names.get(version_id, version_id)!r} ({plural(count, 'line')})"
                for version_id, count in self.texts.most_common()
            )
            text += f", and with them the text of {plural(len(self.texts), 'version')}: {held}"
        return text


def layout_losses(layout: PageLayout, *, regions: bool, lines: bool) -> Losses:
    """What removing the page's regions and/or lines takes (texts go with their lines)."""
    losses = Losses(len(layout.regions) if regions else 0, len(layout.lines) if lines else 0)
    if lines:
        losses.texts.update(t.transcription_id for t in layout.texts if t.text)
    return losses


def replace_losses(
    store: Store,
    document_id: str,
    page_ids: Iterable[str],
    *,
    regions: bool = True,
    lines: bool = True,
) -> Losses:
    """The losses of replacing regions and/or lines on these pages (reads each page once)."""
    total = Losses()
    for page_id in page_ids:
        total.add(
            layout_losses(
                store.read_page_layout(document_id, page_id), regions=regions, lines=lines
            )
        )
    return total


def replace_question(store: Store, document_id: str, losses: Losses, pages: int) -> str | None:
    """The sentence to show before replacing (None: there is nothing to lose)."""
    if not losses:
        return None
    names = {v.id: v.name for v in store.list_transcriptions(document_id)}
    return (
        f"Replacing the segmentation of {plural(pages, 'page')} removes "
        f"{losses.describe(names)}. This cannot be undone."
    )
