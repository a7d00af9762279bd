"""How much text each transcription version of a document holds (for lists and dialogs)."""

from __future__ import annotations

from dataclasses import dataclass

from esctui.store.store import Store


@dataclass
class VersionStats:
    """Pages and lines with a non-empty text in one version, and its characters."""

    pages: int = 0
    lines: int = 0
    characters: int = 0


def version_stats(store: Store, document_id: str) -> dict[str, VersionStats]:
    """Version id -> its stats, for every version of the document (zeros when empty).

    From the counts the store keeps in the document's page rows; only pages written by an
    older esctui (no counts kept) have their layout read."""
    stats = {v.id: VersionStats() for v in store.list_transcriptions(document_id)}
    line_counts = {part.id: part.line_count for part in store.list_parts(document_id)}
    for part_id, counts in store.text_counts(document_id).items():
        if counts is None:
            if not line_counts.get(part_id):
                continue
            layout = store.read_page_layout(document_id, part_id)
            counts = {version: (n[0], n[1]) for version, n in layout.text_counts().items()}
        for version, (lines, characters) in counts.items():
            item = stats.get(version)
            if item is None or not lines:
                continue
            item.pages += 1
            item.lines += lines
            item.characters += characters
    return stats
