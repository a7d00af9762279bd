"""The Import > Images (local files) dialog."""

from __future__ import annotations

from pathlib import Path

from esctui.jobs.imports.images import IMAGE_SUFFIXES, LocalImagesImporter
from esctui.ui.screens.base import EsctuiScreen
from esctui.ui.screens.file_picker import FilePickerScreen


def open_dialog(screen: EsctuiScreen, document_id: str) -> None:
    """Pick image files in order, then run the import with live progress."""
    store = screen.store

    def picked(paths: list[Path] | None) -> None:
        if paths:
            screen.start_job(lambda: LocalImagesImporter(store, document_id, list(paths)))

    screen.app.push_screen(
        FilePickerScreen("Import images", suffixes=IMAGE_SUFFIXES, multiple=True), picked
    )
