"""Import the pages of a PDF as page images (named ``<pdf-stem>_<n>``), in page order.

Scanned pages are extracted losslessly (a JPEG stays the same bytes); other pages are rendered
at ``dpi``. Each page is then checked, hashed and thumbnailed like a local image, and committed
in batches: a cancel or failure leaves whole pages only.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from esctui.domain.errors import EsctuiError
from esctui.importers.images import DEFAULT_MAX_PIXELS, ImageRejectedError, prepare_image
from esctui.importers.jobs import JobContext, finish_in_thread
from esctui.store import StagedFile, Store


class PdfImportError(EsctuiError):
    """The PDF as a whole cannot be read (encrypted, broken, not a PDF)."""


class PdfImporter:
    kind = "pdf"

    def __init__(self, store: Store, document_id: str, path: str | Path, *, dpi: int = 300) -> None:
        self.store = store
        self.document_id = document_id
        self.path = Path(path).expanduser()
        self.dpi = dpi
        self.title = f"PDF: {self.path.name} into {store.get_document(document_id).name}"

    async def run(self, ctx: JobContext) -> None:
        from esctui.formats.pdf import PdfError, open_pdf  # pymupdf: never at start-up

        try:
            source = await asyncio.to_thread(open_pdf, self.path)
        except PdfError as error:
            raise PdfImportError(str(error)) from error
        staging = self.store.new_staging_dir(self.document_id)
        batch: list[StagedFile] = []
        last_commit = time.monotonic()
        try:
            for warning in source.warnings:
                ctx.report.notes.append(warning)
            ctx.start(source.page_count)
            for index in range(source.page_count):
                name = f"{self.path.stem}_{index + 1}"
                ctx.working_on(f"page {index + 1}")
                try:
                    staged = await asyncio.to_thread(self._stage_page, source, index, name, staging)
                except (PdfError, ImageRejectedError) as error:
                    ctx.report.add_skipped(f"{self.path.name} page {index + 1}", str(error))
                else:
                    batch.append(staged)
                ctx.advance(name)
                if batch and time.monotonic() - last_commit >= 1.0:
                    await finish_in_thread(self._commit, ctx, batch)
                    batch, last_commit = [], time.monotonic()
        except asyncio.CancelledError:
            if batch:
                await finish_in_thread(self._commit, ctx, batch)
            raise
        finally:
            source.close()
        if batch:
            await finish_in_thread(self._commit, ctx, batch)
        import shutil

        shutil.rmtree(staging, ignore_errors=True)

    def _stage_page(self, source, index: int, name: str, staging: Path) -> StagedFile:  # noqa: ANN001
        page = source.extract_page(index, dpi=self.dpi)
        raw = staging / f"{name}.{page.ext}"
        raw.write_bytes(page.data)
        [staged] = prepare_image(raw, staging, DEFAULT_MAX_PIXELS)
        raw.unlink(missing_ok=True)
        staged.original_filename = f"{self.path.name}#{index + 1}"
        staged.source = f"{self.path.resolve()}#page={index + 1}"
        return staged

    def _commit(self, ctx: JobContext, batch: list[StagedFile]) -> None:
        added, duplicates = self.store.add_parts(self.document_id, batch)
        for part in added:
            ctx.report.add_imported(part.name, f"page {part.order + 1}")
        for staged, existing in duplicates:
            ctx.report.add_skipped(staged.original_filename, f"same image as page {existing!r}")
