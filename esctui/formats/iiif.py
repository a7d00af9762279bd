"""IIIF reading: Presentation 2.x/3.0 manifests and collections, Image API 1/2/3 image URLs.

Pure functions and dataclasses, no network: ``esctui.net.iiif_fetch`` does the fetching.

- ``parse_manifest(data, url=...)`` turns a manifest or collection (bytes or parsed JSON) into an
  ``IiifManifest`` (canvases in order, each with its image and image service) or an
  ``IiifCollection`` (member manifests as ``(label, url)`` pairs).
- ``ImageService.full_image_url()`` builds the full-image URL from what the manifest says;
  ``image_url_from_info()`` builds the best URL from the service's ``info.json``.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from esctui.domain.errors import FormatError


class IiifError(FormatError):
    """A IIIF document that cannot be read or fetched; the message is meant for the user."""


# --------------------------------------------------------------------------------------------
# Data model


@dataclass(frozen=True)
class ImageService:
    """A IIIF Image API service: the base URL an image can be asked for at any size."""

    id: str  # base URL, no trailing slash
    api_version: int  # 1, 2 or 3
    profile: str = ""  # "level0", "level1", "level2" or "" when unknown

    @property
    def info_url(self) -> str:
        """Where the service describes itself (sizes, formats, limits)."""
        return f"{self.id}/info.json"

    def full_image_url(self, *, max_width: int | None = None, width: int | None = None) -> str:
        """The full image URL built without ``info.json``.

        ``width`` is the image's width as the manifest states it; with ``max_width`` the image is
        asked for at that width, but only when it is known to be wider and the service can scale
        (level0 services serve only listed sizes, which only ``info.json`` tells).
        """
        quality = "native" if self.api_version == 1 else "default"
        size = "max" if self.api_version >= 3 else "full"
        if max_width and width and width > max_width and self.profile != "level0":
            size = f"{max_width},"
        return f"{self.id}/full/{size}/0/{quality}.jpg"


@dataclass(frozen=True)
class IiifCanvas:
    """One canvas (a page) of a manifest and the image painted on it."""

    index: int  # 0-based position in the manifest
    id: str
    label: str
    width: int | None
    height: int | None
    image_url: str | None  # the image resource's own URL (used when there is no service)
    image_format: str = ""
    image_width: int | None = None
    image_height: int | None = None
    service: ImageService | None = None
    metadata: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """A stable identity for resuming: the canvas id, or its position when it has none."""
        return self.id or f"#canvas-{self.index + 1}"

    @property
    def page_name(self) -> str:
        """The canvas label, or "page N" when the canvas has no label."""
        return self.label or f"page {self.index + 1}"

    def full_image_url(self, *, max_width: int | None = None) -> str | None:
        """The URL of the full image, from the service when there is one, else the resource."""
        if self.service is not None:
            known_width = self.image_width or self.width
            return self.service.full_image_url(max_width=max_width, width=known_width)
        return self.image_url


@dataclass
class IiifManifest:
    """A IIIF manifest: a document's pages (canvases) and its descriptive metadata."""

    url: str
    id: str
    version: int  # Presentation API 2 or 3
    label: str
    canvases: list[IiifCanvas]
    metadata: list[tuple[str, str]] = field(default_factory=list)
    summary: str = ""
    attribution: list[tuple[str, str]] = field(default_factory=list)  # (label, text)
    rights: list[str] = field(default_factory=list)
    viewing_direction: str = "left-to-right"

    def metadata_pairs(self) -> dict[str, str]:
        """Metadata as label -> value (repeated labels joined with "; "), plus source fields."""
        pairs: dict[str, str] = {}
        entries = [*self.metadata, *self.attribution]
        entries += [("Rights", text) for text in self.rights]
        entries.append(("IIIF manifest", self.url))
        for label, value in entries:
            if not value:
                continue
            key = label or "Note"
            pairs[key] = f"{pairs[key]}; {value}" if key in pairs else value
        return pairs

    def description_text(self) -> str:
        """A human-readable description block: title, summary, metadata, rights, source."""
        blocks: list[str] = []
        if self.label:
            blocks.append(self.label)
        if self.summary:
            blocks.append(self.summary)
        if self.metadata:
            blocks.append("\n".join(f"{k}: {v}" if k else v for k, v in self.metadata))
        tail = [f"{k or 'Attribution'}: {v}" for k, v in self.attribution]
        tail += [f"Rights: {text}" for text in self.rights]
        tail.append(f"IIIF manifest: {self.url}")
        blocks.append("\n".join(tail))
        return "\n\n".join(blocks)


class CollectionMember(NamedTuple):
    """A manifest or sub-collection listed in a collection."""

    label: str
    url: str


@dataclass
class IiifCollection:
    """A IIIF collection: a list of manifests (and maybe sub-collections)."""

    url: str
    id: str
    version: int
    label: str
    manifests: list[CollectionMember]
    collections: list[CollectionMember] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Text helpers: labels (strings, language maps, @value lists) and HTML values


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


def _pairs_of(entries: Any) -> list[tuple[str, str]]:
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


# --------------------------------------------------------------------------------------------
# Parsing


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _id_of(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    if isinstance(obj, dict):
        return str(obj.get("id") or obj.get("@id") or "")
    return ""


def _type_of(obj: dict[str, Any]) -> str:
    """The type without a prefix: "sc:Manifest" -> "Manifest"."""
    raw = obj.get("type") or obj.get("@type") or ""
    if isinstance(raw, list):
        raw = raw[0] if raw else ""
    return str(raw).rsplit(":", 1)[-1]


def _contexts(obj: dict[str, Any]) -> list[str]:
    return [c for c in _as_list(obj.get("@context")) if isinstance(c, str)]


def _int_or_none(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _load_json(data: bytes | str | dict[str, Any], url: str) -> dict[str, Any]:
    if isinstance(data, dict):
        return data
    raw = data.encode("utf-8") if isinstance(data, str) else data
    text = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()
    if not text:
        raise IiifError(f"{url} is empty, not a IIIF manifest.")
    if text.startswith(b"<"):
        if any(tag in text for tag in (b"<!doctype html", b"<html", b"<head", b"<body")):
            raise IiifError(
                f"the server sent an HTML page, not a IIIF manifest ({url}). "
                "The address may point at a viewer page rather than at the manifest itself."
            )
        raise IiifError(f"{url} is an XML document, not a IIIF manifest (JSON).")
    try:
        parsed = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IiifError(f"{url} is not valid JSON, so not a IIIF manifest ({error}).") from None
    if not isinstance(parsed, dict):
        raise IiifError(f"{url} holds JSON, but not a IIIF manifest (no manifest object).")
    return parsed


def check_source(source: str) -> str:
    """The source stripped, or IiifError for what cannot be imported (no network used):
    another scheme than http/https (file:, ftp:, ...), or a local file that is not there."""
    source = source.strip()
    if not source:
        raise IiifError("give the address of a IIIF manifest (http:// or https://) or a file.")
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        return source
    if len(scheme) > 1:  # one letter is a Windows drive (C:\...)
        raise IiifError(
            f"cannot import '{source}': only web addresses starting with http:// or https:// "
            f"(or a manifest file on this computer) can be imported, not '{scheme}:' addresses."
        )
    if not Path(source).expanduser().is_file():
        raise IiifError(f"there is no manifest file at {Path(source).expanduser()}.")
    return source


def presentation_version(obj: dict[str, Any]) -> int:
    """2 or 3, from ``@context`` (or from the id/type spelling when the context is missing)."""
    for context in _contexts(obj):
        if "presentation/3" in context:
            return 3
        if "presentation/2" in context or "shared-canvas" in context:
            return 2
    return 2 if ("@id" in obj or "@type" in obj) and "items" not in obj else 3


def parse_manifest(
    data: bytes | str | dict[str, Any], *, url: str
) -> IiifManifest | IiifCollection:
    """Read a IIIF Presentation 2.x/3.0 manifest or collection.

    ``url`` is where it came from (kept as the source). Raises ``IiifError`` with a message for
    the user when the data is not JSON, is an HTML page, has no canvases or is of an unknown type.
    """
    obj = _load_json(data, url)
    version = presentation_version(obj)
    kind = _type_of(obj)
    if kind == "Collection":
        return _parse_collection(obj, url, version)
    if kind == "Manifest" or (not kind and ("sequences" in obj or "items" in obj)):
        return _parse_manifest(obj, url, version)
    if kind:
        raise IiifError(
            f"{url} is a IIIF '{kind}', not a manifest or a collection: nothing to import from it."
        )
    raise IiifError(f"{url} is JSON but not a IIIF manifest (it has no IIIF type).")


def _parse_manifest(obj: dict[str, Any], url: str, version: int) -> IiifManifest:
    if version == 2:
        sequences = [s for s in _as_list(obj.get("sequences")) if isinstance(s, dict)]
        raw_canvases = _as_list(sequences[0].get("canvases")) if sequences else []
    else:
        raw_canvases = [c for c in _as_list(obj.get("items")) if _is_type(c, "Canvas")]
    raw_canvases = [c for c in raw_canvases if isinstance(c, dict)]
    if not raw_canvases:
        raise IiifError(f"the IIIF manifest {url} is invalid: it lists no pages (no canvases).")
    read_canvas = _parse_canvas_v2 if version == 2 else _parse_canvas_v3
    canvases = [read_canvas(raw, index) for index, raw in enumerate(raw_canvases)]

    if version == 2:
        attribution = [("Attribution", text_of(obj.get("attribution")))]
        summary = text_of(obj.get("description"))
        rights = [text_of(lic) for lic in _as_list(obj.get("license"))]
        direction = obj.get("viewingDirection") or (sequences[0].get("viewingDirection") or "")
    else:
        statement = obj.get("requiredStatement") or {}
        statement = statement if isinstance(statement, dict) else {}
        attribution = [(text_of(statement.get("label")), text_of(statement.get("value")))]
        summary = text_of(obj.get("summary"))
        rights = [text_of(obj.get("rights"))]
        direction = obj.get("viewingDirection") or ""
    return IiifManifest(
        url=url,
        id=_id_of(obj),
        version=version,
        label=text_of(obj.get("label")),
        canvases=canvases,
        metadata=_pairs_of(obj.get("metadata")),
        summary=summary,
        attribution=[(k, v) for k, v in attribution if v],
        rights=[r for r in rights if r],
        viewing_direction=str(direction or "left-to-right"),
    )


def _is_type(obj: Any, kind: str) -> bool:
    return isinstance(obj, dict) and _type_of(obj) == kind


def _parse_canvas_v2(raw: dict[str, Any], index: int) -> IiifCanvas:
    resource: dict[str, Any] = {}
    for annotation in _as_list(raw.get("images")):
        if isinstance(annotation, dict) and isinstance(annotation.get("resource"), dict):
            resource = annotation["resource"]
            break
    if _type_of(resource) == "Choice":  # oa:Choice: "default" then "item"
        options = _as_list(resource.get("default")) + _as_list(resource.get("item"))
        resource = next((o for o in options if isinstance(o, dict)), {})
    return _canvas(raw, index, resource)


def _parse_canvas_v3(raw: dict[str, Any], index: int) -> IiifCanvas:
    body: dict[str, Any] = {}
    for page in _as_list(raw.get("items")):
        for annotation in _as_list(page.get("items") if isinstance(page, dict) else None):
            if not isinstance(annotation, dict):
                continue
            motivations = _as_list(annotation.get("motivation"))
            if motivations and "painting" not in [str(m).rsplit(":", 1)[-1] for m in motivations]:
                continue
            body = _image_body(annotation.get("body"))
            if body:
                break
        if body:
            break
    return _canvas(raw, index, body)


def _image_body(body: Any) -> dict[str, Any]:
    """The image of a painting annotation body: first Choice item, SpecificResource source."""
    for candidate in _as_list(body):
        if not isinstance(candidate, dict):
            continue
        kind = _type_of(candidate)
        if kind == "Choice":
            found = _image_body(candidate.get("items"))
        elif kind == "SpecificResource":
            found = _image_body(candidate.get("source"))
        elif kind in ("Image", "") or kind.endswith("Image"):
            found = candidate
        else:
            found = {}
        if found:
            return found
    return {}


def _canvas(raw: dict[str, Any], index: int, resource: dict[str, Any]) -> IiifCanvas:
    return IiifCanvas(
        index=index,
        id=_id_of(raw),
        label=text_of(raw.get("label")),
        width=_int_or_none(raw.get("width")),
        height=_int_or_none(raw.get("height")),
        image_url=_id_of(resource) or None,
        image_format=str(resource.get("format") or ""),
        image_width=_int_or_none(resource.get("width")),
        image_height=_int_or_none(resource.get("height")),
        service=_best_service(resource.get("service")),
        metadata=tuple(_pairs_of(raw.get("metadata"))),
    )


def image_api_version(obj: dict[str, Any]) -> int | None:
    """1, 2 or 3 for an image service or info.json (from type, @context, protocol or profile)."""
    kind = _type_of(obj)
    match = re.fullmatch(r"ImageService([123])", kind)
    if match:
        return int(match.group(1))
    texts = _contexts(obj) + [p for p in _as_list(obj.get("profile")) if isinstance(p, str)]
    for text in texts:
        if "iiif.io/api/image/3" in text:
            return 3
        if "iiif.io/api/image/2" in text:
            return 2
        if "iiif.io/api/image/1" in text or "library.stanford.edu/iiif/image-api" in text:
            return 1
    if obj.get("protocol") == "http://iiif.io/api/image":
        return 3 if "id" in obj and "@id" not in obj else 2
    return None


def _level_of(obj: dict[str, Any]) -> str:
    for profile in _as_list(obj.get("profile")):
        if isinstance(profile, str):
            match = re.search(r"level([012])", profile)
            if match:
                return f"level{match.group(1)}"
    return ""


def _best_service(raw: Any) -> ImageService | None:
    """The newest Image API service listed (a resource may offer several versions)."""
    found: list[ImageService] = []
    for candidate in _as_list(raw):
        if not isinstance(candidate, dict):
            continue
        version = image_api_version(candidate)
        service_id = _id_of(candidate).rstrip("/")
        if version is None or not service_id:
            continue
        if service_id.endswith("/info.json"):
            service_id = service_id[: -len("/info.json")]
        found.append(ImageService(service_id, version, _level_of(candidate)))
    return max(found, key=lambda s: s.api_version, default=None)


def _parse_collection(obj: dict[str, Any], url: str, version: int) -> IiifCollection:
    manifests: list[CollectionMember] = []
    collections: list[CollectionMember] = []
    if version == 2:
        entries = [(m, "Manifest") for m in _as_list(obj.get("manifests"))]
        entries += [(c, "Collection") for c in _as_list(obj.get("collections"))]
        entries += [
            (m, _type_of(m) if isinstance(m, dict) else "") for m in _as_list(obj.get("members"))
        ]
    else:
        entries = [
            (m, _type_of(m) if isinstance(m, dict) else "") for m in _as_list(obj.get("items"))
        ]
    seen: set[str] = set()
    for entry, kind in entries:
        member_url = _id_of(entry)
        if not member_url or member_url in seen:
            continue
        seen.add(member_url)
        label = text_of(entry.get("label")) if isinstance(entry, dict) else ""
        member = CollectionMember(label or member_url, member_url)
        if kind == "Manifest":
            manifests.append(member)
        elif kind == "Collection":
            collections.append(member)
    if not manifests and not collections:
        raise IiifError(f"the IIIF collection {url} lists no manifests.")
    return IiifCollection(
        url=url,
        id=_id_of(obj),
        version=version,
        label=text_of(obj.get("label")),
        manifests=manifests,
        collections=collections,
    )


# --------------------------------------------------------------------------------------------
# info.json -> best image URL


def image_url_from_info(info: dict[str, Any], *, max_width: int | None = None) -> str:
    """The URL of the largest image the service allows (at most ``max_width`` wide if given).

    Reads width/height, maxWidth/maxHeight/maxArea, listed ``sizes``, the compliance level and
    supported features and formats of an Image API 1, 2 or 3 ``info.json``.
    Raises ``IiifError`` when the JSON is not an image service description.
    """
    if not isinstance(info, dict):
        raise IiifError("the image service description (info.json) is not a JSON object.")
    version = image_api_version(info) or 2
    base = _id_of(info).rstrip("/")
    if not base:
        raise IiifError("the image service description (info.json) has no id.")
    width, height = _int_or_none(info.get("width")), _int_or_none(info.get("height"))

    details: dict[str, Any] = {}  # v2 keeps limits and features in the profile's second entry
    for profile in _as_list(info.get("profile")):
        if isinstance(profile, dict):
            details.update(profile)
    features = set(_as_list(details.get("supports"))) | set(_as_list(info.get("extraFeatures")))
    level = _level_of(info)
    limits = {
        k: _int_or_none(info.get(k) or details.get(k)) for k in ("maxWidth", "maxHeight", "maxArea")
    }
    quality = "native" if version == 1 else "default"
    extension = _format_of(info, details)

    def url(size: str) -> str:
        return f"{base}/full/{size}/0/{quality}.{extension}"

    full_size = "max" if version >= 3 else "full"
    if not width or not height:
        return url(full_size)

    allowed = _largest_allowed_width(width, height, **limits)
    target = min(allowed, max_width) if max_width else allowed
    can_scale = level in ("level1", "level2") or bool({"sizeByW", "sizeByWh"} & features)
    if version == 1 and not level:
        can_scale = True  # Image API 1 services scale unless they say otherwise
    if target >= width:
        return url(full_size)
    if not can_scale:
        listed = _listed_sizes(info)
        if listed:
            fitting = [s for s in listed if s[0] <= target] or [min(listed)]
            w, h = max(fitting)
            return url(f"{w},{h}" if version >= 3 else f"{w},")
        return url(full_size)
    if target == allowed and (version >= 3 or "max" in features):
        return url("max")  # the server's own largest size: no rounding trouble
    return url(f"{target},")


def _largest_allowed_width(
    width: int, height: int, maxWidth: int | None, maxHeight: int | None, maxArea: int | None
) -> int:
    """The widest image the limits allow, keeping the aspect ratio (never upscaled)."""
    allowed = float(width)
    max_w = maxWidth or None
    max_h = maxHeight or (
        maxWidth if maxWidth else None
    )  # Image API: maxHeight defaults to maxWidth
    if max_w:
        allowed = min(allowed, max_w)
    if max_h:
        allowed = min(allowed, max_h * width / height)
    if maxArea:
        allowed = min(allowed, math.sqrt(maxArea * width / height))
    return max(1, math.floor(allowed))


def _listed_sizes(info: dict[str, Any]) -> list[tuple[int, int]]:
    sizes = []
    for size in _as_list(info.get("sizes")):
        if isinstance(size, dict):
            w, h = _int_or_none(size.get("width")), _int_or_none(size.get("height"))
            if w and h:
                sizes.append((w, h))
    return sizes


def _format_of(info: dict[str, Any], details: dict[str, Any]) -> str:
    """jpg (every level must serve it) unless the service lists formats without jpg."""
    listed = [str(f) for f in _as_list(info.get("formats")) + _as_list(details.get("formats"))]
    if listed and "jpg" not in listed and "level" not in _level_of(info):
        return listed[0]
    return "jpg"
