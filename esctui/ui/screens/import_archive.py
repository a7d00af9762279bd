"""The Import > Export ZIP or METS dialog: pick another tool's export (a Transkribus,
eScriptorium or OCR-D ZIP) or a METS file, then import its pages with their transcriptions."""

from __future__ import annotations

from pathlib import Path

from esctui.ui.screens.base import EsctuiScreen
from esctui.ui.screens.file_picker import FilePickerScreen

ARCHIVE_SUFFIXES = frozenset({".zip", ".xml"})


def open_dialog(screen: EsctuiScreen, document_id: str) -> None:
    """Pick one ZIP (pages in METS or natural order, their ALTO/PAGE beside them) or one METS
    file (its images and transcriptions), and run the import with live progress."""
    store = screen.store

    def picked(paths: list[Path] | None) -> None:
        if not paths:
            return
        path = paths[0]
        if path.suffix.lower() == ".zip":
            from esctui.jobs.imports.archive import ArchiveImporter

            screen.start_job(lambda: ArchiveImporter(store, document_id, path))
        else:
            from esctui.jobs.imports.mets import MetsImporter

            screen.start_job(lambda: MetsImporter(store, document_id, path))

    screen.app.push_screen(
        FilePickerScreen(
            "Import an export ZIP or a METS file", suffixes=ARCHIVE_SUFFIXES, multiple=False
        ),
        picked,
    )
