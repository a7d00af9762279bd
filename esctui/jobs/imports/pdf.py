"""Import the pages of a PDF as page images (named ``<pdf-stem>_<n>``), in page order.

Scanned pages are extracted losslessly (a JPEG stays the same bytes); other pages are rendered
at ``dpi``. Each page is then checked, hashed and thumbnailed like a local image, and committed
in batches: a cancel or failure leaves whole pages only.

With ``text_layer`` (a version name), the PDF's text layer becomes that transcription version:
one line per text line, its box as the mask and a baseline, committed with its page.
"""

from __future__ import annotations

import asyncio
import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from esctui.domain import (
    DEFAULT_LINE_TYPE,
    Line,
    LineText,
    Part,
    Transcription,
    TranscriptionSource,
)
from esctui.domain.errors import JobError
from esctui.jobs.imports.images import (
    DEFAULT_MAX_PIXELS,
    ImageRejectedError,
    prepare_image,
    staging_folder,
)
from esctui.jobs.runner import CommitBatches, JobContext
from esctui.store import PageLayout, StagedFile, Store
from esctui.store.names import stored_name

if TYPE_CHECKING:
    from esctui.formats.pdf import PdfSource, PdfTextLine


class PdfImportError(JobError):
    """The PDF import cannot start (a resolution out of range); an unreadable PDF is a PdfError."""


class PdfImporter:
    kind = "pdf"
    verb = "imported"

    def __init__(
        self,
        store: Store,
        document_id: str,
        path: str | Path,
        *,
        dpi: int = 300,
        text_layer: str | None = None,
        password: str | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        allow_duplicates: bool = False,
    ) -> None:
        self.store = store
        self.document_id = document_id
        self.path = Path(path).expanduser()
        self.dpi = dpi
        self.text_layer = text_layer.strip() if text_layer else None
        self.password = password or None  # for an encrypted PDF; never stored
        self.max_pixels = max_pixels  # a page (rendered or extracted) larger is refused
        self.allow_duplicates = allow_duplicates
        self.title = f"PDF: {self.path.name} into {store.get_document(document_id).name}"
        self._version: Transcription | None = None
        self._page_text: dict[int, list[PdfTextLine]] = {}  # id(StagedFile) -> its text lines
        self._text_errors: list[str] = []
        self._page_warnings: list[str] = []  # per page, what MuPDF reported (a worker thread)

    async def run(self, ctx: JobContext) -> None:
        from esctui.formats.pdf import (  # pymupdf: not at start-up
            MAX_DPI,
            MIN_DPI,
            open_pdf,
        )

        if not MIN_DPI <= self.dpi <= MAX_DPI:
            raise PdfImportError(
                f"The resolution for rendered pages must be from {MIN_DPI} to {MAX_DPI} DPI, "
                f"not {self.dpi}."
            )
        source = await asyncio.to_thread(
            functools.partial(open_pdf, self.path, password=self.password)
        )
        if self.text_layer:
            self._version = await asyncio.to_thread(
                self.store.create_transcription,
                self.document_id,
                self.text_layer,
                TranscriptionSource.PDF_TEXT.value,
                reuse=True,
            )
        async with staging_folder(self.store, self.document_id) as staging:
            try:
                await self._stage_and_commit(ctx, source, staging)
            finally:
                source.close()

    async def _stage_and_commit(self, ctx: JobContext, source: PdfSource, staging: Path) -> None:
        """Stage page after page in ``staging``; commit them in batches."""
        from esctui.formats.pdf import PdfError

        for warning in source.warnings:
            ctx.report.notes.append(warning)
        ctx.start(source.page_count)
        async with CommitBatches(functools.partial(self._commit, ctx)) as batches:
            for index in range(source.page_count):
                name = f"{self.path.stem}_{index + 1}"
                ctx.working_on(f"page {index + 1}")
                try:
                    staged = await asyncio.to_thread(self._stage_page, source, index, name, staging)
                except (PdfError, ImageRejectedError) as error:
                    ctx.report.add_skipped(f"{self.path.name} page {index + 1}", str(error))
                else:
                    await batches.add(staged)
                ctx.advance(name)

    def _stage_page(self, source: PdfSource, index: int, name: str, staging: Path) -> StagedFile:
        from esctui.formats.pdf import PdfError

        page = source.extract_page(index, dpi=self.dpi, max_pixels=self.max_pixels)
        raw = staging / f"{os.urandom(6).hex()}.{page.ext}"
        raw.write_bytes(page.data)
        warnings = page.warnings
        del page  # its bytes are in the file now: not held while the image is checked
        [staged] = prepare_image(raw, staging, self.max_pixels)
        raw.unlink(missing_ok=True)
        if warnings:  # a damaged image (JBIG2, CCITT...) can decode to a blank page
            shown = "; ".join(warnings[:3]) + ("; ..." if len(warnings) > 3 else "")
            self._page_warnings.append(
                f"{self.path.name} page {index + 1}: the PDF reader reported damage ({shown}); "
                "check that the page looks right"
            )
        staged.name = stored_name(name)
        staged.original_filename = stored_name(f"{self.path.name}#{index + 1}")
        staged.source = stored_name(f"{self.path.resolve()}#page={index + 1}")
        if self._version is not None:
            try:
                lines = source.text_lines(index, staged.width, staged.height)
            except PdfError as error:  # the image is fine: keep it, say the text was lost
                self._text_errors.append(f"page {index + 1}: text layer not read: {error}")
                lines = []
            self._page_text[id(staged)] = lines
        return staged

    def _commit(self, ctx: JobContext, batch: list[StagedFile]) -> None:
        with self.store.transaction():  # pages and their text layer together, or nothing
            added, duplicates = self.store.add_parts(
                self.document_id, batch, skip_duplicates=not self.allow_duplicates
            )
            skipped = {id(staged) for staged, _ in duplicates}
            kept = [staged for staged in batch if id(staged) not in skipped]
            layouts: dict[str, PageLayout] = {}
            if self._version is not None:
                for staged, part in zip(kept, added, strict=True):
                    layout = self._text_layout(part, self._page_text.pop(id(staged), []))
                    if layout.lines:
                        layouts[part.id] = layout
                self.store.write_page_layouts(self.document_id, layouts)  # one write per batch
        for part in added:
            ctx.report.add_imported(part.name, f"page {part.order + 1}")
        if self._page_warnings:
            ctx.report.notes.extend(self._page_warnings)
            ctx.report.count("pages with damage reported", len(self._page_warnings))
            self._page_warnings.clear()
        for staged, existing in duplicates:
            self._page_text.pop(id(staged), None)
            ctx.report.add_skipped(staged.original_filename, f"same image as page {existing!r}")
        if self._version is not None:
            ctx.report.count("text lines", sum(len(x.lines) for x in layouts.values()))
            ctx.report.notes.extend(self._text_errors)
            self._text_errors.clear()

    def _text_layout(self, part: Part, text_lines: list[PdfTextLine]) -> PageLayout:
        """One page's text layer as lines, with their texts in the version."""
        assert self._version is not None
        lines: list[Line] = []
        texts: list[LineText] = []
        for order, text_line in enumerate(text_lines):
            line = Line(
                part_id=part.id,
                baseline=list(text_line.baseline),
                mask=list(text_line.box),
                type=DEFAULT_LINE_TYPE,
                order=order,
            )
            lines.append(line)
            texts.append(LineText(line.id, self._version.id, text_line.text))
        return PageLayout(lines=lines, texts=texts)
