"""Transcribe pages with a kraken recognition model into a named version; kind ``"transcribe"``.

The text and confidence of every line of the selected pages go into the transcription version
``version`` (default: the model's name; reused when it exists). A model reads either lines
along baselines (with masks) or boxes (kraken's ``seg_type``): the page's lines of the other
kind are left out, and a page with none of the model's kind is skipped with a sentence; when no
page suits the model the job refuses to start. A baseline line without a mask gets kraken's
mask first (through the engine, bounded by the page's other baselines) and keeps it. A rerun
skips the pages the same model already read into that version (``force`` redoes them).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from esctui.domain import Document, Line, LineText, ModelKind, Part, Polygon, TranscriptionSource
from esctui.domain.errors import JobError, NotFoundError
from esctui.domain.text import plural
from esctui.engine import KrakenEngine, LineShape, LinesUnsuitableError, text_direction_for
from esctui.engine.masks import kraken_baseline, mask_from_kraken
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
from esctui.jobs.masks import TOPLINE_FOR_OFFSET
from esctui.jobs.runner import JobContext, finish_in_thread
from esctui.store import PageLayout, Store

_KIND_WORDS = {"baselines": "lines along baselines", "bbox": "box lines (no baselines)"}


class TranscribeError(JobError):
    """The transcription cannot start (no pages, no page the model can read)."""


def line_kind(line: Line) -> str | None:
    """kraken's segmentation type of a stored line: "baselines", "bbox", None (no shape)."""
    if line.baseline:
        return "baselines"
    return "bbox" if line.mask else None


def readable_lines(layout: PageLayout, seg_type: str | None) -> tuple[str | None, list[Line]]:
    """The kind the model reads on this page and the lines of that kind, in reading order.

    ``seg_type`` None (the model does not say): the page's baseline lines if it has any."""
    kinds = {line_kind(line) for line in layout.lines} - {None}
    kind = seg_type or ("baselines" if "baselines" in kinds else "bbox" if kinds else None)
    return kind, [line for line in layout.lines if line_kind(line) == kind]


def why_unreadable(layout: PageLayout, seg_type: str | None) -> str:
    """Why no line of the page suits the model, in a sentence."""
    if not layout.lines:
        return "the page has no lines: segment it first"
    wanted = _KIND_WORDS.get(seg_type or "", "lines")
    has = {_KIND_WORDS[k] for ln in layout.lines if (k := line_kind(ln)) is not None}
    held = " and ".join(sorted(has)) or "lines without any shape"
    return f"the model reads {wanted}, and this page has only {held}"


@dataclass
class _PageWork:
    """What a page needs: its lines to read (with masks to compute first)."""

    lines: list[Line]
    masks: dict[str, Polygon | None] = field(default_factory=dict)


class TranscribeJob:
    """Read the text of a document's lines with a kraken recognition model."""

    kind = "transcribe"
    verb = "transcribed"

    def __init__(
        self,
        store: Store,
        document_id: str,
        *,
        model: str,
        version: str | None = None,
        part_ids: list[str] | None = None,
        force: bool = False,
        workers: int | None = None,
        engine: KrakenEngine | None = None,
    ) -> None:
        self.store = store
        self.document_id = document_id
        self.model_ref = model
        self.version_name = version
        self.part_ids = part_ids
        self.force = force
        self.workers = workers
        self.engine = engine  # the caller's (left running); None: one for this job
        self.document: Document = store.get_document(document_id)
        self.text_direction = text_direction_for(self.document.read_direction)
        self.title = f"Transcribe with {model}: {self.document.name}"
        self.version_id = ""

    @property
    def task(self) -> str:
        return f"transcribe:{self.version_id}"

    @property
    def options(self) -> dict[str, str]:
        return {"text_direction": self.text_direction}

    async def run(self, ctx: JobContext) -> None:
        run = PagesRun(
            self.store,
            self.document_id,
            self.part_ids,
            self.model_ref,
            ModelKind.RECOGNITION,
            "transcribe",
            self.verb,
            self.force,
            TranscribeError,
        )
        model, todo = await plan_pages(
            ctx, run, self._prepare, none_suits="No page can be read with {model}"
        )
        if not todo:
            return
        version = await asyncio.to_thread(
            self.store.create_transcription,
            self.document_id,
            self.version_name or model.name,
            TranscriptionSource.KRAKEN.value,
            reuse=True,
        )
        self.version_id = version.id
        ctx.working_on(f"starting kraken ({model.name})")
        topline = TOPLINE_FOR_OFFSET.get(self.document.line_offset, False)
        async with engine_for(self.engine, self.workers) as engine:

            async def transcribe(part: Part) -> None:
                layout = await asyncio.to_thread(
                    self.store.read_page_layout, self.document_id, part.id
                )
                _kind, lines = readable_lines(layout, model.seg_type)
                work = _PageWork(lines)
                image = self.store.part_image_path(part)
                progress = progress_to(ctx)
                unmasked = [ln for ln in lines if ln.baseline and not ln.mask]
                if unmasked:
                    work.masks = await self._masks(ctx, engine, part, layout, unmasked, topline)
                    lines = [ln for ln in lines if ln.mask or work.masks.get(ln.id) is not None]
                    work.lines = lines
                    if not lines:
                        raise LinesUnsuitableError(
                            f"kraken could not draw a mask around any line of {part.name}."
                        )
                shapes = [
                    LineShape.from_line(_with_mask(line, work.masks.get(line.id))) for line in lines
                ]
                read = await engine.recognize(
                    image,
                    model.path or "",
                    shapes,
                    text_direction=self.text_direction,
                    page=page_label(part),
                    progress=progress,
                )
                texts = {
                    line.id: (result.text, result.confidence)
                    for line, result in zip(lines, read.lines, strict=True)
                }
                await finish_in_thread(self._write, ctx, part, model, work, texts)

            await run_pages(ctx, todo, transcribe, concurrency=engine.workers)

    async def _masks(
        self,
        ctx: JobContext,
        engine: KrakenEngine,
        part: Part,
        layout: PageLayout,
        unmasked: list[Line],
        topline: bool | None,
    ) -> dict[str, Polygon | None]:
        """kraken's masks for baseline lines without one, bounded by the page's other lines."""
        wanted = {line.id for line in unmasked}
        todo: list[Line] = []
        baselines: list[list[tuple[int, int]]] = []
        boundaries: list[list[tuple[int, int]]] = []
        for line in layout.lines:
            points = kraken_baseline(line.baseline or [], part.width, part.height)
            if points is None:
                continue
            if line.id in wanted:
                todo.append(line)
                baselines.append(points)
            else:
                boundaries.append(points)
        found = await engine.masks(
            self.store.part_image_path(part),
            baselines,
            boundaries=boundaries,
            topline=topline,
            page=page_label(part),
            progress=progress_to(ctx),
        )
        return {
            line.id: mask_from_kraken(polygon)
            for line, polygon in zip(todo, found.polygons, strict=True)
        }

    def _prepare(self, model: ChosenModel) -> Prepared:
        """The version read into, if it exists (a version is made only when a page is read: a
        refused job leaves none), and how the planner looks at a page: one without a line of
        the model's kind is skipped (a thread)."""
        try:
            self.version_id = self.store.get_transcription(
                self.document_id, self.version_name or model.name
            ).id
        except NotFoundError:
            self.version_id = ""

        def look(part: Part, layout: PageLayout) -> str | None:
            _kind, lines = readable_lines(layout, model.seg_type)
            return None if lines else why_unreadable(layout, model.seg_type)

        return self.task, self.options, look

    def _write(
        self,
        ctx: JobContext,
        part: Part,
        model: ChosenModel,
        work: _PageWork,
        texts: dict[str, tuple[str, float | None]],
    ) -> None:
        """Store the page's texts (and new masks) in one transaction (whole or not at all).
        A line removed or moved meanwhile (an edit elsewhere) is left out."""
        read = {line.id: line for line in work.lines}
        with self.store.transaction():
            layout = self.store.read_page_layout(self.document_id, part.id)
            written: list[LineText] = []
            for line in layout.lines:
                before = read.get(line.id)
                if before is None or line.baseline != before.baseline:
                    continue
                if line.id in work.masks and line.mask is None:
                    line.mask = work.masks[line.id]
                text, confidence = texts[line.id]
                if text:
                    written.append(LineText(line.id, self.version_id, text, confidence))
            replaced = {text.line_id for text in written} | set(texts)
            layout.texts = [
                t
                for t in layout.texts
                if not (t.transcription_id == self.version_id and t.line_id in replaced)
            ] + written
            self.store.write_page_layout(self.document_id, part.id, layout)
            run = engine_run(model, self.options, layout, version=self.version_id)
            self.store.set_engine_run(self.document_id, part.id, self.task, run)
        confidences = [t.confidence for t in written if t.confidence is not None]
        detail = plural(len(written), "line")
        if confidences:
            detail += f", mean confidence {sum(confidences) / len(confidences):.2f}"
        masks = sum(1 for mask in work.masks.values() if mask is not None)
        if masks:
            detail += f"; {plural(masks, 'mask')} computed first"
        if left_out := len(work.masks) - masks:
            detail += f"; {plural(left_out, 'line')} left out (kraken drew no mask around it)"
        ctx.report.add_imported(part.name, detail)
        ctx.report.count("lines", len(written))
        if masks:
            ctx.report.count("masks", masks)


def _with_mask(line: Line, mask: Polygon | None) -> Line:
    """The line with ``mask`` when it has none (a copy; the stored line is not touched)."""
    if line.mask or mask is None:
        return line
    return Line(line.part_id, line.baseline, mask, line.region_id, line.type, line.external_id)
