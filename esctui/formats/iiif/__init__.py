"""IIIF reading: Presentation 2.x/3.0 manifests and collections, Image API 1/2/3 image URLs.

Pure functions and dataclasses, no network: ``esctui.net.iiif_fetch`` does the fetching.

- ``parse_manifest(data, url=...)`` (``presentation``) turns a manifest or collection (bytes or
  parsed JSON) into an ``IiifManifest`` (canvases in order, each with its image and image
  service) or an ``IiifCollection`` (member manifests as ``(label, url)`` pairs); the records
  are in ``model``, the reading of labels and values in ``values``.
- ``ImageService.full_image_url()`` builds the full-image URL from what the manifest says;
  ``image_url_from_info()`` (``image_api``) builds the best URL from the service's
  ``info.json``.
"""

from esctui.formats.iiif.image_api import image_api_version, image_url_from_info
from esctui.formats.iiif.model import (
    CollectionMember,
    IiifCanvas,
    IiifCollection,
    IiifError,
    IiifManifest,
    ImageService,
)
from esctui.formats.iiif.presentation import check_source, parse_manifest, presentation_version
from esctui.formats.iiif.values import strip_html, text_of

__all__ = [
    "CollectionMember",
    "IiifCanvas",
    "IiifCollection",
    "IiifError",
    "IiifManifest",
    "ImageService",
    "check_source",
    "image_api_version",
    "image_url_from_info",
    "parse_manifest",
    "presentation_version",
    "strip_html",
    "text_of",
]
