"""Shared fixtures: the read-only corpus, a fresh store, and a Pillow image maker.

Keep this file small; fixtures used by one test file belong in that file.
"""

from __future__ import annotations

import functools
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from esctui.store import Store

# the session fixture `escriptorium` (a real eScriptorium server) and `remote_project`
pytest_plugins = ["escriptorium_server"]

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

MakeImage = Callable[..., Path]


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


def make_image(
    path: Path,
    fmt: str | None = None,
    size: tuple[int, int] = (240, 320),
    *,
    mode: str = "RGB",
    seed: int | None = None,
    text: str | None = None,
    frames: int = 1,
    noise: bool = False,
    **save_options: object,
) -> Path:
    """Write a picture to ``path`` and return it.

    ``fmt`` is a Pillow format name (default: from the suffix). Each ``seed`` (default: from the
    file name) gives different pixels, so two files never share a SHA-256 by accident. ``frames``
    > 1 writes a multi-page image (TIFF, GIF, WebP); ``noise`` adds grain, like a real scan, which
    makes files as big as real ones. Other keywords go to ``Image.save``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed if seed is not None else path.name)
    pages = [_picture(size, mode, rng, text or path.stem, noise) for _ in range(frames)]
    if frames > 1:
        save_options = {"save_all": True, "append_images": pages[1:], **save_options}
    pages[0].save(path, fmt, **save_options)
    return path


def _picture(
    size: tuple[int, int], mode: str, rng: random.Random, text: str, noise: bool
) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size, tuple(rng.randrange(180, 256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(width), rng.randrange(height)
        colour = tuple(rng.randrange(0, 160) for _ in range(3))
        draw.rectangle((x, y, x + rng.randrange(4, width // 2 + 5), y + 3), fill=colour)
    draw.text((width // 10, height // 10), text, fill=(20, 20, 20), font_size=max(10, width // 20))
    if noise:
        image = Image.blend(image, _grain(size, rng.randrange(_TILE)), 0.25)
    return image if mode == "RGB" else image.convert(mode)


_TILE = 509  # a prime: the tiled grain does not line up with JPEG's 8x8 blocks


@functools.cache
def _noise_tile() -> Image.Image:
    return Image.effect_noise((_TILE, _TILE), 40).convert("RGB")


def _grain(size: tuple[int, int], offset: int) -> Image.Image:
    """Gaussian grain the size of the image (tiled: effect_noise on 12 Mpx takes a second)."""
    grain = Image.new("RGB", size)
    tile = _noise_tile()
    for x in range(-offset, size[0], _TILE):
        for y in range(-offset, size[1], _TILE):
            grain.paste(tile, (x, y))
    return grain


@pytest.fixture(name="make_image", scope="session")
def make_image_fixture() -> MakeImage:
    """``make_image(path, fmt=None, size=(240, 320), *, mode, seed, text, frames, noise, **save)``."""
    return make_image


def jpeg_copies(source: Path, folder: Path, count: int, name: str = "page{}.jpg") -> list[Path]:
    """``count`` copies of a JPEG that differ only in a comment segment naming their path:
    real-size pages with distinct SHA-256 for the cost of one encode. ``name`` is formatted
    with 1..count."""
    data = Path(source).read_bytes()
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(1, count + 1):
        path = folder / name.format(index)
        comment = f"copy of {Path(source).name} as {path}".encode()  # unique per target path
        segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        path.write_bytes(data[:2] + segment + data[2:])
        paths.append(path)
    return paths


@pytest.fixture(name="jpeg_copies", scope="session")
def jpeg_copies_fixture() -> Callable[..., list[Path]]:
    """``jpeg_copies(source, folder, count, name="page{}.jpg")``."""
    return jpeg_copies


def make_pages(folder: Path, count: int, size: tuple[int, int] = (60, 80)) -> list[Path]:
    """``count`` PNG pages ``page1.png``... in ``folder``, each of a different width."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(1, count + 1):
        path = folder / f"page{i}.png"
        Image.new("RGB", (size[0] + i, size[1]), (i * 20 % 255, 90, 140)).save(path)
        paths.append(path)
    return paths


async def type_text(pilot, text: str) -> None:  # noqa: ANN001 - Pilot
    """Type ``text`` key by key, as a person would."""
    for char in text:
        await pilot.press(char if char != " " else "space")


def run_esctui(
    data: Path, *args: str, input: str | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """``python -m esctui ARGS`` as a real process on the data folder ``data``."""
    return subprocess.run(
        [sys.executable, "-m", "esctui", *args],
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, "ESCTUI_DATA": str(data)},
        timeout=timeout,
    )
