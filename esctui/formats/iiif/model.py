"""What a IIIF manifest or collection holds, as esctui reads it (plain dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from esctui.domain.errors import FormatError


class IiifError(FormatError):
    """A IIIF document that cannot be read or fetched; the message is meant for the user."""


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
