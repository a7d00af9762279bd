"""Fixtures for the engine tests: the corpus files copied into a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def pages(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with copies of the corpus images and models (the corpus is read-only)."""
    folder = tmp_path_factory.mktemp("engine")
    for name in ("images", "models", "page", "alto"):
        shutil.copytree(corpus / name, folder / name)
    for path in folder.rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    return folder
