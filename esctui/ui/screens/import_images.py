"""The Import > Images (local files) dialog."""

from __future__ import annotations

from pathlib import Path

from textual.screen import Screen

from esctui.jobs.imports.images import IMAGE_SUFFIXES, ImageImportOptions, LocalImagesImporter
from esctui.ui.screens.file_picker import FilePickerScreen


def open_dialog(screen: Screen, document_id: str) -> None:
    """Pick image files in order, then run the import with live progress."""
    picker = FilePickerScreen(
        "Import images", suffixes=IMAGE_SUFFIXES, multiple=True, option="Allow duplicates"
    )

    def picked(paths: list[Path] | None) -> None:
        if paths:
            options = ImageImportOptions(allow_duplicates=picker.option_value)
            importer = LocalImagesImporter(screen.app.store, document_id, list(paths), options)  # type: ignore[attr-defined]
            screen.app.start_job(importer)  # type: ignore[attr-defined]

    screen.app.push_screen(picker, picked)
