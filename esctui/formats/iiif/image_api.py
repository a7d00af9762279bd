"""IIIF Image API 1, 2 and 3: image services as a manifest lists them, and the best image URL
from a service's ``info.json``."""

from __future__ import annotations

import math
import re
from typing import Any

from esctui.formats.iiif.model import IiifError, ImageService
from esctui.formats.iiif.values import as_list, contexts, id_of, int_or_none, type_of


def image_api_version(obj: dict[str, Any]) -> int | None:
    """1, 2 or 3 for an image service or info.json (from type, @context, protocol or profile)."""
    kind = type_of(obj)
    match = re.fullmatch(r"ImageService([123])", kind)
    if match:
        return int(match.group(1))
    texts = contexts(obj) + [p for p in as_list(obj.get("profile")) if isinstance(p, str)]
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


def level_of(obj: dict[str, Any]) -> str:
    for profile in as_list(obj.get("profile")):
        if isinstance(profile, str):
            match = re.search(r"level([012])", profile)
            if match:
                return f"level{match.group(1)}"
    return ""


def best_service(raw: Any) -> ImageService | None:
    """The newest Image API service listed (a resource may offer several versions)."""
    found: list[ImageService] = []
    for candidate in as_list(raw):
        if not isinstance(candidate, dict):
            continue
        version = image_api_version(candidate)
        service_id = id_of(candidate).rstrip("/")
        if version is None or not service_id:
            continue
        if service_id.endswith("/info.json"):
            service_id = service_id[: -len("/info.json")]
        found.append(ImageService(service_id, version, level_of(candidate)))
    return max(found, key=lambda s: s.api_version, default=None)


def image_url_from_info(info: dict[str, Any], *, max_width: int | None = None) -> str:
    """The URL of the largest image the service allows (at most ``max_width`` wide if given).

    Reads width/height, maxWidth/maxHeight/maxArea, listed ``sizes``, the compliance level and
    supported features and formats of an Image API 1, 2 or 3 ``info.json``.
    Raises ``IiifError`` when the JSON is not an image service description.
    """
    if not isinstance(info, dict):
        raise IiifError("the image service description (info.json) is not a JSON object.")
    version = image_api_version(info) or 2
    base = id_of(info).rstrip("/")
    if not base:
        raise IiifError("the image service description (info.json) has no id.")
    width, height = int_or_none(info.get("width")), int_or_none(info.get("height"))

    details: dict[str, Any] = {}  # v2 keeps limits and features in the profile's second entry
    for profile in as_list(info.get("profile")):
        if isinstance(profile, dict):
            details.update(profile)
    features = set(as_list(details.get("supports"))) | set(as_list(info.get("extraFeatures")))
    level = level_of(info)
    limits = {
        k: int_or_none(info.get(k) or details.get(k)) for k in ("maxWidth", "maxHeight", "maxArea")
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
    for size in as_list(info.get("sizes")):
        if isinstance(size, dict):
            w, h = int_or_none(size.get("width")), int_or_none(size.get("height"))
            if w and h:
                sizes.append((w, h))
    return sizes


def _format_of(info: dict[str, Any], details: dict[str, Any]) -> str:
    """jpg (every level must serve it) unless the service lists formats without jpg."""
    listed = [str(f) for f in as_list(info.get("formats")) + as_list(details.get("formats"))]
    if listed and "jpg" not in listed and "level" not in level_of(info):
        return listed[0]
    return "jpg"
