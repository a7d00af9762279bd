"""Fixtures shared by all tests: the read-only corpus, a fresh store, a Pillow image maker.

Keep this file to fixtures; the functions behind them and other shared helpers are in
``tests/helpers.py``. Fixtures used by one test file belong in that file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from esctui.store import Store
from tests.helpers import CORPUS, MakeImage, jpeg_copies, make_image

# the session fixture `escriptorium` (a real eScriptorium server) and `remote_project`
pytest_plugins = ["tests.servers.escriptorium"]


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared test corpus (read-only: copy files into tmp_path before changing them)."""
    if not (CORPUS / "images").is_dir():
        pytest.skip(f"the shared test corpus is missing (looked for {CORPUS})")
    return CORPUS


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A store on a fresh data folder, ``tmp_path / "data"``."""
    return Store(tmp_path / "data")


@pytest.fixture(name="make_image", scope="session")
def make_image_fixture() -> MakeImage:
    """``make_image(path, fmt=None, size=(240, 320), *, mode, seed, text, frames, noise, **save)``."""
    return make_image


@pytest.fixture(name="jpeg_copies", scope="session")
def jpeg_copies_fixture() -> Callable[..., list[Path]]:
    """``jpeg_copies(source, folder, count, name="page{}.jpg")``."""
    return jpeg_copies
