"""The text layer of a PDF page as lines in the pixel space of the page's image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pymupdf

from esctui.domain import Point, Polygon


@dataclass(frozen=True)
class PdfTextLine:
    """A line of the PDF's text layer in the page image's pixel space."""

    text: str
    box: Polygon  # 4 points: top-left, top-right, bottom-right, bottom-left (along the text)
    baseline: Polygon  # 2 points: start and end of the line's baseline


def text_lines_on_image(
    content: dict[str, Any],
    to_shown: pymupdf.Matrix,
    shown: pymupdf.Rect,
    image_width: int,
    image_height: int,
) -> list[PdfTextLine]:
    """The lines of a page's text ``content`` (``get_text("dict")``) placed on its image.

    ``to_shown`` turns page space into the page as shown (its rotation), ``shown`` is where the
    image sits on the shown page. Lines outside the image are left out; boxes are clipped.
    """
    if shown.is_empty:
        return []
    scale_x = image_width / shown.width
    scale_y = image_height / shown.height

    def to_pixels(point: pymupdf.Point) -> Point:
        on_page = point * to_shown
        x = (on_page.x - shown.x0) * scale_x
        y = (on_page.y - shown.y0) * scale_y
        return (
            round(min(max(x, 0.0), image_width), 2),
            round(min(max(y, 0.0), image_height), 2),
        )

    image_area = pymupdf.Rect(0, 0, image_width, image_height)
    lines: list[PdfTextLine] = []
    for block in content.get("blocks", []):
        for line in block.get("lines", []):
            spans = [span for span in line.get("spans", []) if span.get("text")]
            text = "".join(span["text"] for span in spans).strip()
            if not text:
                continue
            quad = _line_quad(line, spans)
            corners = [quad.ul, quad.ur, quad.lr, quad.ll]
            outline = pymupdf.Rect(quad.rect) * to_shown
            outline = pymupdf.Rect(
                (outline.x0 - shown.x0) * scale_x,
                (outline.y0 - shown.y0) * scale_y,
                (outline.x1 - shown.x0) * scale_x,
                (outline.y1 - shown.y0) * scale_y,
            )
            if not outline.intersects(image_area):
                continue
            start, end = _baseline(line, spans, corners)
            lines.append(
                PdfTextLine(
                    text=text,
                    box=[to_pixels(corner) for corner in corners],
                    baseline=[to_pixels(start), to_pixels(end)],
                )
            )
    return lines


def _line_quad(line: dict, spans: list[dict]) -> pymupdf.Quad:
    try:
        quad = pymupdf.recover_line_quad(line, spans=spans)
        if not quad.is_empty:
            return quad
    except Exception:
        pass
    return pymupdf.Rect(line["bbox"]).quad


def _baseline(
    line: dict, spans: list[dict], corners: list[pymupdf.Point]
) -> tuple[pymupdf.Point, pymupdf.Point]:
    """Start and end of the line's baseline (unrotated page space)."""
    direction = pymupdf.Point(line.get("dir", (1.0, 0.0)))
    origin = pymupdf.Point(spans[0]["origin"]) if spans else corners[3]
    along = [
        (corner - origin).x * direction.x + (corner - origin).y * direction.y for corner in corners
    ]
    return origin + direction * min(along), origin + direction * max(along)
