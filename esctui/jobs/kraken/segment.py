"""Segment pages with a kraken segmentation model; kind ``"segment"``.

Regions and lines (baselines, masks, types from the model's classes, kraken's reading order)
for the selected pages, with kraken's default blla model or a stored one. ``content``: "both",
"lines" or "regions". ``existing`` says what happens on pages that already hold what is
segmented: "keep" (skip them, the default), "replace" (the same rule as the XML import's
override: the lines removed take every version's texts with them; the report says what went)
or "add" (the new regions and lines come after the existing ones). The document's reading
direction is kraken's text direction. A rerun skips the pages the same model already did with
the same options (``force`` redoes them).
"""

from __future__ import annotations

from typing import Literal

from esctui.domain import Line, ModelKind, Part, Region
from esctui.domain.errors import JobError
from esctui.domain.text import plural
from esctui.engine import KrakenEngine, PageSegmentation, text_direction_for
from esctui.engine.data import SegmentationContent
from esctui.jobs.kraken.choice import ChosenModel
from esctui.jobs.kraken.pages import (
    PagesRun,
    Prepared,
    engine_for,
    engine_run,
    page_label,
    plan_pages,
    progress_to,
    run_pages,
)
from esctui.jobs.losses import Losses, layout_losses
from esctui.jobs.runner import JobContext, finish_in_thread
from esctui.store import PageLayout, Store

Existing = Literal["keep", "replace", "add"]
TASK = "segment"


class SegmentError(JobError):
    """The segmentation cannot start (no pages)."""


def replaces(content: SegmentationContent) -> tuple[bool, bool]:
    """(regions, lines): what a segmentation of ``content`` replaces on a page."""
    return content in ("both", "regions"), content in ("both", "lines")


def holds(layout: PageLayout, content: SegmentationContent) -> bool:
    """Whether the page already holds what a segmentation of ``content`` makes."""
    regions, lines = replaces(content)
    return bool((regions and layout.regions) or (lines and layout.lines))


def merge_segmentation(
    old: PageLayout,
    found: PageSegmentation,
    part_id: str,
    *,
    content: SegmentationContent,
    replace: bool,
) -> tuple[PageLayout, Losses]:
    """The page after ``found``: replacing what ``content`` covers, or added after it; and what
    went (lines removed take their texts; lines kept lose a region that was removed)."""
    drop_regions, drop_lines = replaces(content) if replace else (False, False)
    losses = layout_losses(old, regions=drop_regions, lines=drop_lines)
    regions = [] if drop_regions else list(old.regions)
    kept_region_ids = {region.id for region in regions}
    lines = [] if drop_lines else list(old.lines)
    for line in lines:
        if line.region_id is not None and line.region_id not in kept_region_ids:
            line.region_id = None
    new_region_ids: list[str] = []
    for found_region in found.regions:
        region = Region(part_id, found_region.polygon, found_region.type, order=len(regions))
        regions.append(region)
        new_region_ids.append(region.id)
    for found_line in sorted(found.lines, key=lambda ln: ln.order):
        index = found_line.region
        region_id = (
            new_region_ids[index] if index is not None and index < len(new_region_ids) else None
        )
        lines.append(
            Line(
                part_id,
                baseline=found_line.baseline,
                mask=found_line.mask,
                region_id=region_id,
                type=found_line.type,
                order=len(lines),
            )
        )
    line_ids = {line.id for line in lines}
    texts = [text for text in old.texts if text.line_id in line_ids]
    return PageLayout(regions, lines, texts), losses


class SegmentJob:
    """Find regions and lines on a document's pages with a kraken segmentation model."""

    kind = "segment"
    verb = "segmented"

    def __init__(
        self,
        store: Store,
        document_id: str,
        *,
        model: str | None = None,
        part_ids: list[str] | None = None,
        content: SegmentationContent = "both",
        existing: Existing = "keep",
        force: bool = False,
        workers: int | None = None,
        engine: KrakenEngine | None = None,
    ) -> None:
        self.store = store
        self.document_id = document_id
        self.model_ref = model
        self.part_ids = part_ids
        self.content: SegmentationContent = content
        self.existing: Existing = existing
        self.force = force
        self.workers = workers
        self.engine = engine  # the caller's (left running); None: one for this job
        document = store.get_document(document_id)
        self.text_direction = text_direction_for(document.read_direction)
        what = {"both": "Segment", "lines": "Find lines", "regions": "Find regions"}[content]
        self.title = f"{what}: {document.name}"

    @property
    def options(self) -> dict[str, str]:
        """What, besides the model, makes two segmentations of a page the same."""
        return {"content": self.content, "text_direction": self.text_direction}

    async def run(self, ctx: JobContext) -> None:
        run = PagesRun(
            self.store,
            self.document_id,
            self.part_ids,
            self.model_ref,
            ModelKind.SEGMENTATION,
            "segment",
            self.verb,
            self.force,
            SegmentError,
        )
        model, todo = await plan_pages(ctx, run, self._prepare)
        if not todo:
            return
        ctx.working_on(f"starting kraken ({model.name})")
        async with engine_for(self.engine, self.workers) as engine:

            async def segment(part: Part) -> None:
                found = await engine.segment(
                    self.store.part_image_path(part),
                    model=model.path,
                    text_direction=self.text_direction,
                    content=self.content,
                    page=page_label(part),
                    progress=progress_to(ctx),
                )
                await finish_in_thread(self._write, ctx, part, model, found)

            await run_pages(ctx, todo, segment, concurrency=engine.workers)

    def _prepare(self, model: ChosenModel) -> Prepared:
        """How the planner looks at a page: one that holds a segmentation is skipped when
        ``existing`` is "keep"."""

        def look(part: Part, layout: PageLayout) -> str | None:
            if self.existing == "keep" and holds(layout, self.content):
                return (
                    f"already holds {plural(len(layout.lines), 'line')} and "
                    f"{plural(len(layout.regions), 'region')}: replace or add to them"
                )
            return None

        return TASK, self.options, look

    def _write(
        self, ctx: JobContext, part: Part, model: ChosenModel, found: PageSegmentation
    ) -> None:
        """Store the page's new segmentation in one transaction (whole or not at all)."""
        with self.store.transaction():
            old = self.store.read_page_layout(self.document_id, part.id)
            layout, losses = merge_segmentation(
                old, found, part.id, content=self.content, replace=self.existing == "replace"
            )
            self.store.write_page_layout(self.document_id, part.id, layout)
            run = engine_run(model, self.options, layout, lines=len(found.lines))
            self.store.set_engine_run(self.document_id, part.id, TASK, run)
        detail = f"{plural(len(found.lines), 'line')}, {plural(len(found.regions), 'region')}"
        if losses:
            names = {v.id: v.name for v in self.store.list_transcriptions(self.document_id)}
            detail += f"; replaced {losses.describe(names)}"
        ctx.report.add_imported(part.name, detail)
        ctx.report.count("lines", len(found.lines))
        ctx.report.count("regions", len(found.regions))
        if losses.lines:
            ctx.report.count("lines removed", losses.lines)
        for note in found.notes:
            ctx.report.notes.append(f"{part.name}: {note}")
