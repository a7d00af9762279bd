"""What the store takes from jobs and gives back besides the domain objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from esctui.domain import TAG_COUNT_KEYS, Line, LineText, Region, tag_labels


@dataclass
class StagedFile:
    """A page image prepared by an importer in the staging folder, not yet in the document."""

    image: Path
    thumbnail: Path | None  # None: made when first shown (``Store.ensure_thumbnail``)
    name: str
    original_filename: str
    width: int
    height: int
    format: str
    byte_size: int
    sha256: str
    source: str
    external_id: str = ""  # e.g. the IIIF canvas id, so a resumed import skips it


@dataclass
class PageLayout:
    """Everything stored for one page: regions, lines, and line texts of every version."""

    regions: list[Region] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    texts: list[LineText] = field(default_factory=list)

    def typology(self) -> dict[str, dict[str, int]]:
        """Region and line type counts of this page: {"regions": {...}, "lines": {...}}, and
        their tag counts ({"region tags": {"language:deu": 2}, "line tags": {...}})."""
        counts: dict[str, dict[str, int]] = {}
        for kind, items in (("regions", self.regions), ("lines", self.lines)):
            types: dict[str, int] = {}
            tags: dict[str, int] = {}
            for item in items:
                types[item.type] = types.get(item.type, 0) + 1
                if item.tags:
                    for label in tag_labels(item.tags):
                        tags[label] = tags.get(label, 0) + 1
            if types:
                counts[kind] = types
            if tags:
                counts[TAG_COUNT_KEYS[kind]] = tags
        return counts

    def text_counts(self) -> dict[str, list[int]]:
        """Version id -> [lines with a non-empty text, their characters], on this page (a
        text whose line is not on the page does not count)."""
        line_ids = {line.id for line in self.lines}
        counts: dict[str, list[int]] = {}
        for text in self.texts:
            if text.text and text.line_id in line_ids:
                item = counts.setdefault(text.transcription_id, [0, 0])
                item[0] += 1
                item[1] += len(text.text)
        return counts

    def texts_for(self, transcription_id: str) -> dict[str, LineText]:
        """Line id -> text, for one version."""
        return {t.line_id: t for t in self.texts if t.transcription_id == transcription_id}
