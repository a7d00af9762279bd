"""Compute line masks (boundary polygons) around baselines with kraken; kind ``"masks"``.

For each page: the lines with a baseline and no mask (or, with ``only_missing=False``, every
line with a baseline) get the polygon kraken's ``calculate_polygonal_environment`` finds around
the baseline, exactly (the engine's masks, :mod:`esctui.engine.masks`); the baselines of the
page's other lines bound them, so a mask never grows into a neighbour. The document's line
offset tells kraken where the text lies: baseline -> above (``topline=False``), topline ->
below (``True``), centered -> around (``None``). A line kraken cannot compute keeps what it had
and is reported as skipped.

kraken runs in the engine's worker processes: pages in parallel, and a page's lines shared
among the idle workers when there are fewer pages than workers. Progress counts pages and names
the line in work ("page 3: computing masks 12/51"). Each page is written whole or not at all; a
line whose baseline changed meanwhile (an edit in another window) is left alone.
"""

from __future__ import annotations

import asyncio

from esctui.domain import Line, LineOffset, Part, Polygon
from esctui.domain.errors import JobError
from esctui.engine import KrakenEngine
from esctui.engine.masks import plan_page_masks
from esctui.jobs.kraken.pages import engine_for, page_label, progress_to, run_pages
from esctui.jobs.runner import JobContext, finish_in_thread
from esctui.store import Store

TOPLINE_FOR_OFFSET: dict[str, bool | None] = {
    LineOffset.BASELINE.value: False,
    LineOffset.TOPLINE.value: True,
    LineOffset.CENTERED.value: None,
}


class MasksError(JobError):
    """The masks job cannot start (no pages)."""


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
        workers: int | None = None,
        engine: KrakenEngine | None = None,
    ) -> None:
        self.store = store
        self.document_id = document_id
        self.part_ids = part_ids
        self.only_missing = only_missing
        self.workers = workers
        self.engine = engine  # the caller's (left running); None: one for this job
        document = store.get_document(document_id)
        which = "missing line masks" if only_missing else "all line masks"
        self.title = f"Compute {which}: {document.name}"

    async def run(self, ctx: JobContext) -> None:
        document = await asyncio.to_thread(self.store.get_document, self.document_id)
        parts = await asyncio.to_thread(self.store.select_parts, self.document_id, self.part_ids)
        if not parts:
            raise MasksError(f"The document {document.name!r} has no pages.")
        topline = TOPLINE_FOR_OFFSET.get(document.line_offset, False)
        ctx.start(len(parts))
        async with engine_for(self.engine, self.workers) as engine:

            async def compute(part: Part) -> None:
                layout = await asyncio.to_thread(
                    self.store.read_page_layout, self.document_id, part.id
                )
                plan = plan_page_masks(
                    layout.lines, part.width, part.height, only_missing=self.only_missing
                )
                results: dict[str, tuple[Polygon, Polygon | None]] = {}
                if plan.todo:
                    found = await engine.masks(
                        self.store.part_image_path(part),
                        plan.baselines,
                        boundaries=plan.boundaries,
                        topline=topline,
                        page=page_label(part),
                        progress=progress_to(ctx),
                    )
                    results = {
                        line.id: (line.baseline or [], mask)
                        for line, mask in zip(plan.todo, found.masks, strict=True)
                    }
                if results or plan.unusable:
                    await finish_in_thread(self._write, ctx, part, results, plan.unusable)

            await run_pages(ctx, parts, compute, concurrency=engine.workers)

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
