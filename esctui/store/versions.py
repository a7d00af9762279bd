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
    """Version id -> its stats, for every version of the document (zeros when empty)."""
    stats = {v.id: VersionStats() for v in store.list_transcriptions(document_id)}
    for part in store.list_parts(document_id):
        if not part.line_count:
            continue
        layout = store.read_page_layout(document_id, part.id)
        line_ids = {line.id for line in layout.lines}
        seen: set[str] = set()
        for text in layout.texts:
            item = stats.get(text.transcription_id)
            if item is None or not text.text or text.line_id not in line_ids:
                continue
            item.lines += 1
            item.characters += len(text.text)
            if text.transcription_id not in seen:
                seen.add(text.transcription_id)
                item.pages += 1
    return stats
