"""What the tests share besides fixtures (conftest.py): pictures and pages made on the fly,
typing in the TUI, what the TUI shows, and running ``python -m esctui`` as a real process.

Import it as ``from tests.helpers import ...``; helpers used by one test file stay in that file.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw

from esctui.domain import Part
from esctui.jobs.imports.images import DEFAULT_MAX_PIXELS, prepare_image
from esctui.store import StagedFile, Store

if TYPE_CHECKING:
    from textual.app import App
    from textual.pilot import Pilot

# The shared, read-only test corpus: ../shared/corpus beside the checkout (ESCTUI_CORPUS overrides).
CORPUS = Path(
    os.environ.get("ESCTUI_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
)

MakeImage = Callable[..., Path]


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


def make_pages(folder: Path, count: int, size: tuple[int, int] = (60, 80)) -> list[Path]:
    """``count`` PNG pages ``page1.png``... in ``folder``, each of a different width."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(1, count + 1):
        path = folder / f"page{i}.png"
        Image.new("RGB", (size[0] + i, size[1]), (i * 20 % 255, 90, 140)).save(path)
        paths.append(path)
    return paths


async def type_text(pilot: Pilot, text: str) -> None:
    """Type ``text`` key by key, as a person would."""
    for char in text:
        await pilot.press(char if char != " " else "space")


# What each app has told the user through App.notify: (message, severity) by id(app). Filled
# by the record_notifications fixture (tests/ui/conftest.py), emptied after each test.
NOTIFIED: dict[int, list[tuple[str, str]]] = {}


def notifications(app: App, severity: str | None = None) -> list[str]:
    """What ``app`` has told the user with ``notify`` (the toasts, which ``run_test`` does not
    draw); with ``severity`` ("information", "warning", "error") only those."""
    return [text for text, level in NOTIFIED.get(id(app), []) if severity in (None, level)]


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


# --------------------------------------------------------------------------------------------
# Pages and ALTO/PAGE files for the XML import tests (jobs and TUI)

PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"


def add_page(
    store: Store,
    document_id: str,
    folder: Path,
    filename: str,
    size: tuple[int, int] = (200, 100),
    *,
    original: str | None = None,
    source: Path | None = None,
) -> Part:
    """A real page: ``source`` (a corpus image) or a Pillow image of ``size`` named ``filename``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    if source is not None:
        shutil.copyfile(source, path)
    else:
        image = Image.new("L", size, 225)
        ImageDraw.Draw(image).text((2, 2), filename, fill=0)  # distinct bytes per page
        image.save(path, format="PNG" if filename.lower().endswith(".png") else "JPEG")
    staging = store.new_staging_dir(document_id)
    [staged] = prepare_image(path, staging, DEFAULT_MAX_PIXELS)
    if original is not None:
        staged.original_filename = original
    added, duplicates = store.add_parts(document_id, [staged])
    shutil.rmtree(staging, ignore_errors=True)
    assert not duplicates
    return added[0]


def page_xml(
    image: str | None,
    lines: list[tuple[str, str | None]],
    *,
    size: tuple[int, int] = (200, 100),
    region_id: str = "r1",
    line_type: str | None = None,
) -> bytes:
    """A small PAGE 2019 file: one region holding ``lines`` (id, text or None)."""
    width, height = size
    body = []
    for index, (line_id, text) in enumerate(lines):
        y = 10 + index * 8
        custom = f' custom="structure {{type:{line_type};}}"' if line_type else ""
        equiv = f"<TextEquiv><Unicode>{text}</Unicode></TextEquiv>" if text is not None else ""
        body.append(
            f'<TextLine id="{line_id}"{custom}><Coords points="5,{y - 6} 150,{y - 6} '
            f'150,{y + 1} 5,{y + 1}"/><Baseline points="5,{y} 150,{y}"/>{equiv}</TextLine>'
        )
    attr = f' imageFilename="{image}"' if image is not None else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><PcGts xmlns="{PAGE_NS}"><Metadata>'
        "<Creator>t</Creator><Created>2024-01-01T00:00:00</Created>"
        "<LastChange>2024-01-01T00:00:00</LastChange></Metadata>"
        f'<Page{attr} imageWidth="{width}" imageHeight="{height}">'
        f'<TextRegion id="{region_id}"><Coords points="0,0 190,0 190,90 0,90"/>'
        + "".join(body)
        + "</TextRegion></Page></PcGts>"
    ).encode()


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


# --------------------------------------------------------------------------------------------
# Pages staged and added as an import leaves them (the store tests)


def stage(store: Store, document_id: str, make_image, names: list[str]) -> list[StagedFile]:
    """Page images and thumbnails written into a staging folder, as an importer leaves them."""
    folder = store.new_staging_dir(document_id)
    staged = []
    for name in names:
        image = make_image(folder / f"{name}.png", size=(60, 80))
        thumb = make_image(folder / f"{name}.thumb.jpg", size=(30, 40), seed=name)
        data = image.read_bytes()
        staged.append(
            StagedFile(
                image=image,
                thumbnail=thumb,
                name=name,
                original_filename=f"{name}.png",
                width=60,
                height=80,
                format="PNG",
                byte_size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                source=f"/scans/{name}.png",
            )
        )
    return staged


def add_pages(store: Store, document_id: str, make_image, names: list[str]) -> list:
    added, duplicates = store.add_parts(document_id, stage(store, document_id, make_image, names))
    assert not duplicates
    return added


def read_json(path: Path) -> dict:
    return json.loads(path.read_bytes().decode("utf-8"))


# --------------------------------------------------------------------------------------------
# The corpus's handwritten scan with its PAGE lines (kraken job tests)

SCAN = "170025120000003,0074"  # handwritten page with a PAGE transcription of 44 lines


def scan_pages(
    store: Store,
    document_id: str,
    folder: Path,
    count: int = 1,
    *,
    lines: slice = slice(None),
    masks: bool = True,
) -> list[Part]:
    """``count`` pages of the corpus scan, each with the lines ``lines`` of its PAGE file
    (baselines, and their masks when ``masks``), no regions and no texts."""
    from esctui.domain import Line
    from esctui.formats.xml import parse_layout_xml
    from esctui.store import PageLayout

    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"{SCAN}.jpg"
    shutil.copyfile(CORPUS / "images" / f"{SCAN}.jpg", source)
    stagings = [store.new_staging_dir(document_id) for _ in range(count)]
    staged = [prepare_image(source, staging, DEFAULT_MAX_PIXELS)[0] for staging in stagings]
    for index, item in enumerate(staged, start=1):
        item.name = f"scan {index}"
    parts, _ = store.add_parts(document_id, staged, skip_duplicates=False)
    for staging in stagings:
        shutil.rmtree(staging, ignore_errors=True)
    parsed = parse_layout_xml(
        CORPUS / "page" / f"{SCAN}.xml", image_size=(parts[0].width, parts[0].height)
    )
    for part in parts:
        page_lines = [
            Line(part.id, pl.baseline, pl.mask if masks else None, None, pl.type, pl.id, i)
            for i, pl in enumerate(parsed.lines[lines])
        ]
        store.write_page_layout(document_id, part.id, PageLayout([], page_lines, []))
    return parts
