"""IIIF Presentation API 2.x and 3.0: a manifest or collection, from JSON to the records of
``model`` (canvases in order, each with its image and image service; collection members)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from esctui.formats.iiif.image_api import best_service
from esctui.formats.iiif.model import (
    CollectionMember,
    IiifCanvas,
    IiifCollection,
    IiifError,
    IiifManifest,
)
from esctui.formats.iiif.values import (
    as_list,
    contexts,
    id_of,
    int_or_none,
    pairs_of,
    text_of,
    type_of,
)
from esctui.formats.local_files import file_kind


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
    path = Path(source).expanduser()
    kind = file_kind(path)
    if kind == "":
        raise IiifError(f"there is no manifest file at {path}.")
    if kind != "file":  # a folder, or a FIFO that reading would wait on for ever
        raise IiifError(
            f"{path} is {'a folder' if kind == 'folder' else kind}, not a manifest file."
        )
    return source


def presentation_version(obj: dict[str, Any]) -> int:
    """2 or 3, from ``@context`` (or from the id/type spelling when the context is missing)."""
    for context in contexts(obj):
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
    the user when the data is not JSON, is an HTML page, has no canvases, is of an unknown type,
    or is nested too deeply to read (JSON made to exhaust the parser).
    """
    try:
        return _parse_any(data, url)
    except RecursionError:
        raise IiifError(
            f"{url} cannot be read as a IIIF manifest: its JSON is nested too deeply "
            "(no real manifest nests so deep)."
        ) from None


def _parse_any(data: bytes | str | dict[str, Any], url: str) -> IiifManifest | IiifCollection:
    obj = _load_json(data, url)
    version = presentation_version(obj)
    kind = type_of(obj)
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
        sequences = [s for s in as_list(obj.get("sequences")) if isinstance(s, dict)]
        raw_canvases = as_list(sequences[0].get("canvases")) if sequences else []
    else:
        raw_canvases = [c for c in as_list(obj.get("items")) if _is_type(c, "Canvas")]
    raw_canvases = [c for c in raw_canvases if isinstance(c, dict)]
    if not raw_canvases:
        raise IiifError(f"the IIIF manifest {url} is invalid: it lists no pages (no canvases).")
    read_canvas = _parse_canvas_v2 if version == 2 else _parse_canvas_v3
    canvases = [read_canvas(raw, index) for index, raw in enumerate(raw_canvases)]

    if version == 2:
        attribution = [("Attribution", text_of(obj.get("attribution")))]
        summary = text_of(obj.get("description"))
        rights = [text_of(lic) for lic in as_list(obj.get("license"))]
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
        id=id_of(obj),
        version=version,
        label=text_of(obj.get("label")),
        canvases=canvases,
        metadata=pairs_of(obj.get("metadata")),
        summary=summary,
        attribution=[(k, v) for k, v in attribution if v],
        rights=[r for r in rights if r],
        viewing_direction=str(direction or "left-to-right"),
    )


def _is_type(obj: Any, kind: str) -> bool:
    return isinstance(obj, dict) and type_of(obj) == kind


def _parse_canvas_v2(raw: dict[str, Any], index: int) -> IiifCanvas:
    resource: dict[str, Any] = {}
    for annotation in as_list(raw.get("images")):
        if isinstance(annotation, dict) and isinstance(annotation.get("resource"), dict):
            resource = annotation["resource"]
            break
    if type_of(resource) == "Choice":  # oa:Choice: "default" then "item"
        options = as_list(resource.get("default")) + as_list(resource.get("item"))
        resource = next((o for o in options if isinstance(o, dict)), {})
    return _canvas(raw, index, resource)


def _parse_canvas_v3(raw: dict[str, Any], index: int) -> IiifCanvas:
    body: dict[str, Any] = {}
    for page in as_list(raw.get("items")):
        for annotation in as_list(page.get("items") if isinstance(page, dict) else None):
            if not isinstance(annotation, dict):
                continue
            motivations = as_list(annotation.get("motivation"))
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
    for candidate in as_list(body):
        if not isinstance(candidate, dict):
            continue
        kind = type_of(candidate)
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
        id=id_of(raw),
        label=text_of(raw.get("label")),
        width=int_or_none(raw.get("width")),
        height=int_or_none(raw.get("height")),
        image_url=id_of(resource) or None,
        image_format=str(resource.get("format") or ""),
        image_width=int_or_none(resource.get("width")),
        image_height=int_or_none(resource.get("height")),
        service=best_service(resource.get("service")),
        metadata=tuple(pairs_of(raw.get("metadata"))),
    )


def _parse_collection(obj: dict[str, Any], url: str, version: int) -> IiifCollection:
    manifests: list[CollectionMember] = []
    collections: list[CollectionMember] = []
    if version == 2:
        entries = [(m, "Manifest") for m in as_list(obj.get("manifests"))]
        entries += [(c, "Collection") for c in as_list(obj.get("collections"))]
        entries += [
            (m, type_of(m) if isinstance(m, dict) else "") for m in as_list(obj.get("members"))
        ]
    else:
        entries = [
            (m, type_of(m) if isinstance(m, dict) else "") for m in as_list(obj.get("items"))
        ]
    seen: set[str] = set()
    for entry, kind in entries:
        member_url = id_of(entry)
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
        id=id_of(obj),
        version=version,
        label=text_of(obj.get("label")),
        manifests=manifests,
        collections=collections,
    )
