"""What push sends for a region, a line and a text, and the hashes a rerun compares.

Pure functions on the domain objects. Coordinates are sent as whole pixels (as eScriptorium's
own editor and imports store them). esctui's default region type ("text") and line type
("default") are sent as no type, which is what eScriptorium shows as the default; pull maps
them back. A hash covers what the server holds of an object in esctui's terms (local ids, not
remote pks), so the same local page gives the same hashes after a push or a pull.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from esctui.domain import (
    DEFAULT_LINE_TYPE,
    Document,
    Line,
    LineText,
    Part,
    Region,
    preferred_xml_id,
)
from esctui.store import PageLayout

DEFAULT_REGION_TYPE = "text"
DESCRIPTION_KEY = "description"  # eScriptorium has no description field: a metadata entry


def digest(value: Any) -> str:
    """A short hash of a JSON-ready value."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def pixels(points: Sequence[Sequence[float]] | None) -> list[list[int]] | None:
    """Points as whole pixels, or None."""
    if points is None:
        return None
    return [[round(x), round(y)] for x, y in points]


def region_type(name: str) -> str | None:
    """The type name to send (None: the default region)."""
    return None if not name or name == DEFAULT_REGION_TYPE else name


def line_type(name: str) -> str | None:
    return None if not name or name == DEFAULT_LINE_TYPE else name


def region_xml_id(region: Region) -> str:
    return preferred_xml_id("region", region.external_id, region.id)


def line_xml_id(line: Line) -> str:
    return preferred_xml_id("line", line.external_id, line.id)


def region_hash(region: Region) -> str:
    return digest([pixels(region.polygon), region_type(region.type), region_xml_id(region)])


def line_hash(line: Line, order: int) -> str:
    return digest(
        [
            pixels(line.baseline),
            pixels(line.mask),
            line.region_id,
            line_type(line.type),
            line_xml_id(line),
            order,
        ]
    )


def text_hash(text: LineText | None) -> str:
    """A missing text hashes as an empty one (push empties a text removed locally)."""
    if text is None:
        return digest(["", None])
    confidence = None if text.confidence is None else round(float(text.confidence), 4)
    return digest([text.text, confidence])


def page_hash(part: Part, layout: PageLayout, version_ids: Iterable[str]) -> str:
    """The whole page as push would send it for these versions."""
    versions = list(version_ids)
    texts = {v: layout.texts_for(v) for v in versions}
    return digest(
        [
            part.sha256,
            [[r.id, region_hash(r)] for r in layout.regions],
            [[line.id, line_hash(line, i)] for i, line in enumerate(layout.lines)],
            [[v, [[k, text_hash(t)] for k, t in sorted(texts[v].items())]] for v in versions],
        ]
    )


def document_fields(document: Document, script: str) -> dict[str, Any]:
    """The document's fields as sent (name, script, direction, offset)."""
    return {
        "name": document.name,
        "main_script": script,
        "read_direction": document.read_direction,
        "line_offset": document.line_offset,
    }


def document_metadata(document: Document) -> dict[str, str]:
    """The key/value entries sent: the metadata, and the description under its own key."""
    values = {str(k): str(v) for k, v in document.metadata.items()}
    if document.description.strip():
        values[DESCRIPTION_KEY] = document.description
    return values


def document_hash(document: Document, script: str) -> str:
    return digest([document_fields(document, script), document_metadata(document)])


def text_payload(text: LineText, layer: int) -> dict[str, Any]:
    payload: dict[str, Any] = {"transcription": layer, "content": text.text}
    if text.confidence is not None:
        payload["avg_confidence"] = float(text.confidence)
    return payload
