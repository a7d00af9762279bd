"""The Import > Images (local files) dialog."""

from __future__ import annotations

from pathlib import Path

from textual.screen import Screen

from esctui.jobs.imports.images import IMAGE_SUFFIXES, LocalImagesImporter
from esctui.ui.screens.file_picker import FilePickerScreen


def open_dialog(screen: Screen, document_id: str) -> None:
    """Pick image files in order, then run the import with live progress."""

    def picked(paths: list[Path] | None) -> None:
        if paths:
            importer = LocalImagesImporter(screen.app.store, document_id, list(paths))  # type: ignore[attr-defined]
            screen.app.start_job(importer)  # type: ignore[attr-defined]

    screen.app.push_screen(
        FilePickerScreen("Import images", suffixes=IMAGE_SUFFIXES, multiple=True), picked
    )
