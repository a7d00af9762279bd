"""Compute line masks (boundary polygons) around baselines with kraken; kind ``"masks"``.

For each page: the lines with a baseline and no mask (or, with ``only_missing=False``, every
line with a baseline) get the polygon kraken's ``calculate_polygonal_environment`` finds around
the baseline. The page image is loaded once and all the page's lines go to kraken in one call;
the baselines of the other lines of the page are passed as boundaries (``suppl_obj``), so a mask
never grows into a neighbour. The document's line offset tells kraken where the text lies:
baseline -> above (``topline=False``), topline -> below (``True``), centered -> around
(``None``). A line kraken cannot compute keeps what it had and is reported as skipped.

The page is written whole or not at all; a line whose baseline changed meanwhile (an edit in
another window) is left alone. kraken is imported inside ``run`` and works in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from esctui.domain import Line, LineOffset, Part, Polygon
from esctui.domain.errors import JobError
from esctui.jobs.runner import JobContext, finish_in_thread
from esctui.store import Store

TOPLINE_FOR_OFFSET: dict[str, bool | None] = {
    LineOffset.BASELINE.value: False,
    LineOffset.TOPLINE.value: True,
    LineOffset.CENTERED.value: None,
}

Polygonizer = Callable[..., list[Any]]


class MasksError(JobError):
    """The masks job cannot start (no pages, kraken missing)."""


def load_polygonizer() -> Polygonizer:
    """kraken's ``calculate_polygonal_environment`` (imports kraken and torch: seconds)."""
    from esctui.compat import torchvision_shim

    torchvision_shim.install()
    try:
        from kraken.lib.segmentation import calculate_polygonal_environment
    except ImportError as error:
        raise MasksError(f"kraken cannot be loaded to compute masks ({error}).") from error
    return calculate_polygonal_environment


def kraken_baseline(baseline: Polygon, width: int, height: int) -> list[tuple[int, int]] | None:
    """The baseline as whole pixels inside the image, as kraken needs; None if too short."""
    points: list[tuple[int, int]] = []
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


LINES_PER_CALL = 8  # kraken is called for this many lines at a time: progress moves by lines


def lines_to_do(lines: Sequence[Line], only_missing: bool) -> list[Line]:
    """The lines a masks job computes: with a baseline, and (``only_missing``) without a mask."""
    return [ln for ln in lines if ln.baseline and (not only_missing or not ln.mask)]


def compute_page_masks(
    polygonize: Polygonizer,
    image: Any,
    lines: Sequence[Line],
    *,
    only_missing: bool,
    topline: bool | None,
    only: set[str] | None = None,
) -> tuple[dict[str, Polygon | None], list[Line]]:
    """Masks for the lines to do, in one kraken call; also returns lines whose baseline is unusable.

    ``image`` is a PIL image. The baselines of the lines not computed bound the others. With
    ``only``, just those lines are computed (the rest of the page still bounds them).
    """
    width, height = image.size
    todo: list[tuple[Line, list[tuple[int, int]]]] = []
    context: list[list[tuple[int, int]]] = []
    unusable: list[Line] = []
    for line in lines:
        if not line.baseline:
            continue
        points = kraken_baseline(line.baseline, width, height)
        wanted = (not only_missing or not line.mask) and (only is None or line.id in only)
        if points is None:
            if wanted:
                unusable.append(line)
            continue
        if wanted:
            todo.append((line, points))
        else:
            context.append(points)
    masks: dict[str, Polygon | None] = {}
    if todo:
        polygons = polygonize(
            image, [points for _line, points in todo], suppl_obj=context, topline=topline
        )
        for (line, _points), polygon in zip(todo, polygons, strict=True):
            masks[line.id] = mask_from_kraken(polygon)
    return masks, unusable


class MasksJob:
    """Compute missing (or all) line masks of a document's pages with kraken."""

    kind = "masks"
    verb = "updated"

    def __init__(
        self,
        store: Store,
        document_id: str,
        *,
        part_ids: list[str] | None = None,
        only_missing: bool = True,
    ) -> None:
        self.store = store
        self.document_id = document_id
        self.part_ids = part_ids
        self.only_missing = only_missing
        document = store.get_document(document_id)
        which = "missing line masks" if only_missing else "all line masks"
        self.title = f"Compute {which}: {document.name}"

    async def run(self, ctx: JobContext) -> None:
        document = await asyncio.to_thread(self.store.get_document, self.document_id)
        parts = await asyncio.to_thread(self.store.select_parts, self.document_id, self.part_ids)
        if not parts:
            raise MasksError(f"The document {document.name!r} has no pages.")
        topline = TOPLINE_FOR_OFFSET.get(document.line_offset, False)
        ctx.working_on("counting the lines")
        total = await asyncio.to_thread(self._count_lines, parts)
        ctx.start(total)  # lines, not pages: one page of 40 lines takes kraken many seconds
        polygonize: Polygonizer | None = None
        for part in parts:
            ctx.working_on(part.name)
            layout = await asyncio.to_thread(self.store.read_page_layout, self.document_id, part.id)
            todo = lines_to_do(layout.lines, self.only_missing)
            if not todo:
                continue
            if polygonize is None:  # only when a page needs it: kraken takes seconds
                ctx.working_on("loading kraken")
                polygonize = await asyncio.to_thread(load_polygonizer)
                ctx.working_on(part.name)
            image = await asyncio.to_thread(self._load_image, part)
            results: dict[str, tuple[Polygon, Polygon | None]] = {}
            unusable: list[Line] = []
            try:
                for start in range(0, len(todo), LINES_PER_CALL):
                    chunk = todo[start : start + LINES_PER_CALL]
                    masks, bad = await asyncio.to_thread(
                        self._compute, polygonize, image, layout.lines, topline, chunk
                    )
                    results.update(masks)
                    unusable.extend(bad)
                    ctx.advance(part.name, n=len(chunk))
            finally:
                image.close()
            await finish_in_thread(self._write, ctx, part, results, unusable)

    def _count_lines(self, parts: list[Part]) -> int:
        """How many lines the job will compute (reads every page once; a worker thread)."""
        return sum(
            len(
                lines_to_do(
                    self.store.read_page_layout(self.document_id, p.id).lines, self.only_missing
                )
            )
            for p in parts
        )

    def _load_image(self, part: Part) -> Any:
        from PIL import Image

        image = Image.open(self.store.part_image_path(part))
        image.load()
        return image

    def _compute(
        self,
        polygonize: Polygonizer,
        image: Any,
        lines: list[Line],
        topline: bool | None,
        chunk: list[Line],
    ) -> tuple[dict[str, tuple[Polygon, Polygon | None]], list[Line]]:
        """kraken on the ``chunk`` of the page's lines, the others bounding them (a thread)."""
        masks, unusable = compute_page_masks(
            polygonize,
            image,
            lines,
            only_missing=self.only_missing,
            topline=topline,
            only={line.id for line in chunk},
        )
        baselines = {ln.id: ln.baseline for ln in lines}
        return {
            line_id: (baselines[line_id] or [], mask) for line_id, mask in masks.items()
        }, unusable

    def _write(
        self,
        ctx: JobContext,
        part: Part,
        results: dict[str, tuple[Polygon, Polygon | None]],
        unusable: list[Line],
    ) -> None:
        """Store the page's new masks in one transaction (the page whole or not at all)."""
        written = failed = 0
        with self.store.transaction():
            layout = self.store.read_page_layout(self.document_id, part.id)
            for index, line in enumerate(layout.lines, start=1):
                if line.id not in results:
                    continue
                baseline, mask = results[line.id]
                if line.baseline != baseline:
                    continue  # edited meanwhile: the mask would not fit
                if mask is None:
                    failed += 1
                    ctx.report.add_skipped(
                        f"{part.name} line {line.external_id or index}",
                        "kraken could not compute a mask around this baseline",
                    )
                    continue
                line.mask = mask
                written += 1
            if written:
                self.store.write_page_layout(self.document_id, part.id, layout)
        for line in unusable:
            ctx.report.add_skipped(
                f"{part.name} line {line.external_id or line.order + 1}",
                "the baseline is too short (fewer than 2 distinct pixels)",
            )
        ctx.report.count("masks", written)
        if written or failed:
            ctx.report.add_imported(part.name, f"{written} masks")
