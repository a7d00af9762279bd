"""Transcribed documents made for the benchmarks, straight through the store (not timed)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = [
    "Item",
    "dem",
    "ersamen",
    "Rath",
    "zu",
    "Nürnberg",
    "sol",
    "man",
    "geben",
    "vnd",
    "bezalen",
    "an",
    "sant",
    "Merteins",
    "tag",
]
PAGE_SIZE = (2000, 3000)
BATCH = 100


def make_transcribed_document(
    data: Path, name: str, pages: int, lines: int, *, versions: int = 1
) -> str:
    """A document of ``pages`` pages of ``lines`` lines each (2 regions, baselines, masks),
    each line with a text in each of ``versions`` versions; returns its id."""
    from PIL import Image

    from esctui.domain import Line, LineText, Region, TranscriptionSource
    from esctui.store import PageLayout, StagedFile, Store

    store = Store(data, durable=False)
    document = store.create_document(name)
    staging = store.new_staging_dir(document.id)
    image = staging / "blank.png"
    Image.new("L", (PAGE_SIZE[0] // 10, PAGE_SIZE[1] // 10), 230).save(image)
    staged = []
    for number in range(1, pages + 1):
        copy = staging / f"page_{number:04d}.png"
        thumb = staging / f"page_{number:04d}.thumb.jpg"
        shutil.copyfile(image, copy)
        shutil.copyfile(image, thumb)
        staged.append(
            StagedFile(
                image=copy,
                thumbnail=thumb,
                name=f"page_{number:04d}",
                original_filename=copy.name,
                width=PAGE_SIZE[0],
                height=PAGE_SIZE[1],
                format="PNG",
                byte_size=copy.stat().st_size,
                sha256=f"{number:064x}",
                source="bench",
            )
        )
    parts = []
    for start in range(0, pages, BATCH):
        added, _ = store.add_parts(document.id, staged[start : start + BATCH])
        parts.extend(added)
    version_ids = [
        store.create_transcription(document.id, f"v{n}", TranscriptionSource.XML).id
        for n in range(1, versions + 1)
    ]
    width, height = PAGE_SIZE
    for start in range(0, pages, BATCH):
        layouts = {}
        for index, part in enumerate(parts[start : start + BATCH], start=start):
            regions = [
                Region(
                    part_id=part.id,
                    polygon=[(100, top), (1900, top), (1900, top + 1400), (100, top + 1400)],
                    order=r,
                )  # fmt: skip
                for r, top in enumerate((100, 1500))
            ]
            page_lines = []
            texts = []
            step = (height - 200) // lines
            for n in range(lines):
                y = 100 + (n + 1) * step - 10
                xs = range(150, width - 150, 200)
                line = Line(
                    part_id=part.id,
                    baseline=[(x, y + (x // 200) % 3) for x in xs],
                    mask=[(x, y - step + 12) for x in xs] + [(x, y + 8) for x in reversed(xs)],
                    region_id=regions[0 if n < lines // 2 else 1].id,
                    order=n,
                )
                page_lines.append(line)
                for v, version_id in enumerate(version_ids):
                    words = (WORDS[(index + n + v + j) % len(WORDS)] for j in range(9))
                    texts.append(LineText(line.id, version_id, " ".join(words), 0.93))
            layouts[part.id] = PageLayout(regions=regions, lines=page_lines, texts=texts)
        store.write_page_layouts(document.id, layouts)
    store.close()
    return document.id
