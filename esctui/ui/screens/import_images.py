"""The Import > Images (local files) dialog."""

from __future__ import annotations

from pathlib import Path

from esctui.jobs.imports.images import IMAGE_SUFFIXES, ImageImportOptions, LocalImagesImporter
from esctui.ui.screens.base import EsctuiScreen
from esctui.ui.screens.file_picker import FilePickerScreen


def open_dialog(screen: EsctuiScreen, document_id: str) -> None:
    """Pick image files in order, then run the import with live progress."""
    store = screen.store
    picker = FilePickerScreen(
        "Import images", suffixes=IMAGE_SUFFIXES, multiple=True, option="Allow duplicates"
    )

    def picked(paths: list[Path] | None) -> None:
        if paths:
            options = ImageImportOptions(allow_duplicates=picker.option_value)
            screen.start_job(lambda: LocalImagesImporter(store, document_id, list(paths), options))

    screen.app.push_screen(picker, picked)
