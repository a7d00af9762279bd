"""Line masks around baselines, as kraken's ``calculate_polygonal_environment`` draws them.

Pure helpers (no kraken import): :func:`kraken_baseline` (a stored baseline as the whole pixels
kraken needs), :func:`mask_from_kraken` (kraken's ring as a stored mask) and
:func:`plan_page_masks` (which lines of a page to compute, which only bound the others); the
masks job (``esctui/jobs/masks.py``) and the transcribe job use them.

:func:`polygonize` runs in a worker process: it gives exactly the polygons of one
``calculate_polygonal_environment(image, baselines, suppl_obj=boundaries, topline=...)`` call,
but one line at a time (progress per line, and a page's lines can be shared among workers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from esctui.domain import Line, Polygon

PixelLine = list[tuple[int, int]]


def kraken_baseline(baseline: Polygon, width: int, height: int) -> PixelLine | None:
    """The baseline as whole pixels inside the image, as kraken needs; None if too short."""
    points: PixelLine = []
    for x, y in baseline:
        point = (min(max(round(x), 0), width - 1), min(max(round(y), 0), height - 1))
        if not points or points[-1] != point:
            points.append(point)
    return points if len(points) >= 2 else None


def mask_from_kraken(polygon: Any) -> Polygon | None:
    """kraken's closed ring (an int array) as a mask without the repeated last point."""
    if polygon is None:
        return None
    points = [(float(x), float(y)) for x, y in polygon]
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    unique = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    return unique if len(set(unique)) >= 3 else None


@dataclass
class MasksPlan:
    """The lines of a page whose masks are to be computed, with their kraken baselines; the
    baselines of the other lines (``boundaries``); lines whose baseline is unusable."""

    todo: list[Line] = field(default_factory=list)
    baselines: list[PixelLine] = field(default_factory=list)
    boundaries: list[PixelLine] = field(default_factory=list)
    unusable: list[Line] = field(default_factory=list)


def plan_page_masks(
    lines: Sequence[Line], width: int, height: int, *, only_missing: bool
) -> MasksPlan:
    """Sort a page's lines: to compute (all with a baseline, or those without a mask when
    ``only_missing``), boundaries only (the rest), unusable (a baseline under 2 pixels)."""
    plan = MasksPlan()
    for line in lines:
        if not line.baseline:
            continue
        points = kraken_baseline(line.baseline, width, height)
        wanted = not only_missing or not line.mask
        if points is None:
            if wanted:
                plan.unusable.append(line)
            continue
        if wanted:
            plan.todo.append(line)
            plan.baselines.append(points)
        else:
            plan.boundaries.append(points)
    return plan


# --------------------------------------------------------------------------- in a worker


def polygonize(
    image: Any,
    baselines: Sequence[Sequence[Sequence[int]]],
    boundaries: Sequence[Sequence[Sequence[int]]],
    topline: bool | None,
    indices: Sequence[int],
    on_line: Callable[[int], None] | None = None,
) -> list[PixelLine | None]:
    """kraken's polygons for ``baselines[i]`` for each i in ``indices``, in that order.

    The same as ``calculate_polygonal_environment(image, baselines, suppl_obj=boundaries,
    topline=topline)`` (the same image features, and for each line the other baselines then the
    boundaries, in kraken's order), computed one line at a time. ``on_line(done)`` follows each
    line. Imports kraken: call it in a worker.
    """
    import numpy as np
    from kraken.lib.segmentation import calculate_polygonal_environment
    from scipy.ndimage import gaussian_filter
    from skimage.filters import sobel

    # kraken's own default energy map when it is given an image (lib/segmentation.py).
    features = gaussian_filter(sobel(np.array(image.convert("L"))), 0.5)
    others = [list(b) for b in baselines]
    context = [list(b) for b in boundaries]
    polygons: list[PixelLine | None] = []
    for done, index in enumerate(indices, start=1):
        [polygon] = calculate_polygonal_environment(
            baselines=[others[index]],
            suppl_obj=others[:index] + others[index + 1 :] + context,
            im_feats=features,
            topline=topline,
        )
        polygons.append(None if polygon is None else [(int(x), int(y)) for x, y in polygon])
        if on_line is not None:
            on_line(done)
    return polygons
