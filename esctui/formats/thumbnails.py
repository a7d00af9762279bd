"""Page thumbnails: a small JPEG of the page, made from an image already decoded (a PNG, a TIFF
frame, a page turned upright) or, for a page stored as a JPEG, when it is first shown.

A JPEG page's thumbnail is not made at import: the JPEG is checked by its structure
(``jpeg_check``) and a thumbnail costs a decode (10-30 ms even at 1/8 scale) that a headless
import does not need. ``thumbnail_from_file`` makes it from the stored page, decoding the JPEG
at the smallest scale that still covers the thumbnail.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from PIL import Image

from esctui.formats.jpeg_check import JPEG_FORMATS

THUMBNAIL_SIZE = (320, 320)
THUMBNAIL_QUALITY = 80


def thumbnail_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size of the thumbnail of an image of ``size``: within THUMBNAIL_SIZE, same shape."""
    width, height = size
    scale = min(THUMBNAIL_SIZE[0] / width, THUMBNAIL_SIZE[1] / height, 1.0)
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def thumbnail_bytes(image: Image.Image) -> bytes:
    """The JPEG thumbnail of ``image`` (the image itself is left as it is)."""
    thumb = image.copy() if image.mode in ("RGB", "L") else image.convert("RGB")
    thumb.thumbnail(THUMBNAIL_SIZE)
    if thumb.mode not in ("RGB", "L"):
        thumb = thumb.convert("RGB")
    buffer = io.BytesIO()
    thumb.save(buffer, "JPEG", quality=THUMBNAIL_QUALITY)
    return buffer.getvalue()


def thumbnail_from_file(path: Path, max_pixels: int) -> bytes:
    """The thumbnail of the stored page image at ``path``; a JPEG is decoded at 1/2..1/8 scale.
    Raises OSError (or ValueError) when it cannot be read, ValueError when it has more than
    ``max_pixels`` pixels (never decoded)."""
    with Image.open(path) as image:
        width, height = image.size
        if width * height > max_pixels:
            raise ValueError(f"{width}x{height} is over the limit of {max_pixels:,} pixels")
        if image.format in JPEG_FORMATS:
            image.draft("RGB", thumbnail_size(image.size))
        return thumbnail_bytes(image)
