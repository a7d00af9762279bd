"""Reading IIIF JSON values: single values or lists, ids, types, numbers, and labels or values
in any of their forms (strings, language maps, ``@value`` lists, HTML) as plain text."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment; keeps link targets; <br> and <p> become breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._links: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or (tag == "p" and self.parts):
            self.parts.append("\n")
        elif tag == "a":
            self._links.append((dict(attrs).get("href") or "", len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._links:
            href, start = self._links.pop()
            text = "".join(self.parts[start:]).strip()
            if href and href != text and not href.startswith(("javascript:", "mailto:")):
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")


def strip_html(text: str) -> str:
    """Plain text from a IIIF value that may hold HTML (tags dropped, entities decoded)."""
    if not _TAG.search(text):
        return html.unescape(text).strip() if "&" in text else text.strip()
    extractor = _TextExtractor()
    extractor.feed(text)
    extractor.close()
    lines = ("".join(extractor.parts)).splitlines()
    return "\n".join(" ".join(line.split()) for line in lines if line.strip())


def _language_values(value: Any) -> list[str]:
    """All strings of a label/value in any IIIF form, the preferred language first chosen."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (int, float)):
        return [str(value)]
    if isinstance(value, list):
        # v2: ["a", "b"] or [{"@value": "a", "@language": "en"}, ...]
        tagged = [v for v in value if isinstance(v, dict)]
        if tagged and len(tagged) == len(value):
            by_language: dict[str, list[str]] = {}
            for item in tagged:
                lang = str(item.get("@language") or "none")
                by_language.setdefault(lang, []).extend(_language_values(item.get("@value")))
            return _pick_language(by_language)
        return [s for v in value for s in _language_values(v)]
    if isinstance(value, dict):
        if "@value" in value:
            return _language_values(value["@value"])
        # v3 language map {"en": ["..."], "none": ["..."]}
        language_map = {
            str(k): [s for v in (vs if isinstance(vs, list) else [vs]) for s in _language_values(v)]
            for k, vs in value.items()
        }
        return _pick_language(language_map)
    return []


def _pick_language(by_language: dict[str, list[str]]) -> list[str]:
    """The values in 'none', else English, else the first language given."""
    for preferred in ("none", "en"):
        if by_language.get(preferred):
            return by_language[preferred]
    for lang, values in by_language.items():
        if lang.startswith("en") and values:
            return values
    return next((values for values in by_language.values() if values), [])


def text_of(value: Any) -> str:
    """One plain string from a IIIF label or value (language map, list, HTML)."""
    return "; ".join(s for s in (strip_html(v) for v in _language_values(value)) if s)


def pairs_of(entries: Any) -> list[tuple[str, str]]:
    """Metadata entries (``[{label, value}, ...]``) as (label, value) text pairs."""
    if not isinstance(entries, list):
        return []
    pairs = []
    for entry in entries:
        if isinstance(entry, dict):
            label, value = text_of(entry.get("label")), text_of(entry.get("value"))
            if label or value:
                pairs.append((label, value))
    return pairs


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def id_of(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    if isinstance(obj, dict):
        return str(obj.get("id") or obj.get("@id") or "")
    return ""


def type_of(obj: dict[str, Any]) -> str:
    """The type without a prefix: "sc:Manifest" -> "Manifest"."""
    raw = obj.get("type") or obj.get("@type") or ""
    if isinstance(raw, list):
        raw = raw[0] if raw else ""
    return str(raw).rsplit(":", 1)[-1]


def contexts(obj: dict[str, Any]) -> list[str]:
    return [c for c in as_list(obj.get("@context")) if isinstance(c, str)]


def int_or_none(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
