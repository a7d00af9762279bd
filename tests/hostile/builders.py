"""Hostile input files, made in a test's folder: each function writes one and returns its path.

Real files of the kinds users bring, damaged or made to break readers the way the hardening
corpus did: names that are not UTF-8 or carry terminal sequences, sparse multi-gigabyte files,
TIFFs with thousands of frames or one bad frame, PDFs with page-tree cycles, huge pages or
damaged CCITT/JBIG2 images, JSON nested to exhaust a parser, safetensors headers with absurd
numbers.
"""

from __future__ import annotations

import io
import json
import os
import struct
from pathlib import Path

from PIL import Image

from tests.helpers import make_image

GB = 1024**3
# A name that would change the terminal's title, forge an output line and clear the screen.
ESCAPE_NAME = "evil\x1b]0;pwned\x07\nimported  forged\x1b[2J.png"


def bytes_name(folder: Path, raw: bytes, *, text: str = "x") -> Path:
    """A real PNG whose file name is the bytes ``raw`` (not necessarily UTF-8)."""
    target = os.path.join(os.fsencode(folder), raw)
    image = make_image(folder / "source.png", text=text, seed=len(raw) + raw[0])
    os.rename(os.fsencode(image), target)
    return Path(os.fsdecode(target))


def sparse_file(path: Path, size: int, head: bytes) -> Path:
    """``size`` bytes that take no disk space: ``head`` then zeros (a hole)."""
    with open(path, "wb") as handle:
        handle.write(head)
        handle.truncate(size)
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def many_frame_tiff(path: Path, frames: int) -> Path:
    """A tiny TIFF of ``frames`` 1x1 frames (a few KB holding thousands of pages)."""
    first = Image.new("1", (1, 1))
    rest = [Image.new("1", (1, 1)) for _ in range(frames - 1)]
    first.save(path, "TIFF", save_all=True, append_images=rest)
    return path


def tiff_with_bad_frame(path: Path, frames: int = 3, bad: int = 1) -> Path:
    """A multi-page TIFF whose frame ``bad`` (0-based) points its strip past the file's end."""
    pages = [
        make_image(path.with_suffix(f".{n}.png"), size=(64, 48), seed=n) for n in range(frames)
    ]
    images = [Image.open(p).convert("RGB") for p in pages]
    images[0].save(path, "TIFF", save_all=True, append_images=images[1:])
    for p in pages:
        p.unlink()
    data = bytearray(path.read_bytes())
    order = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack(order + "I", data[4:8])
    for _ in range(bad):
        (count,) = struct.unpack(order + "H", data[ifd : ifd + 2])
        (ifd,) = struct.unpack(order + "I", data[ifd + 2 + 12 * count : ifd + 6 + 12 * count])
    (count,) = struct.unpack(order + "H", data[ifd : ifd + 2])
    for entry in range(count):
        at = ifd + 2 + 12 * entry
        tag, kind, number = struct.unpack(order + "HHI", data[at : at + 8])
        if tag == 273 and number == 1:  # StripOffsets: one strip, value in the entry
            pack = order + ("I" if kind == 4 else "H")
            data[at + 8 : at + 8 + struct.calcsize(pack)] = struct.pack(pack, len(data) + 10**6)
            break
    else:
        raise AssertionError("the TIFF has no single StripOffsets entry to damage")
    path.write_bytes(bytes(data))
    return path


def bomb_png(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A small PNG whose header claims ``width`` x ``height`` pixels."""
    buffer = io.BytesIO()
    Image.new("1", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR's size (its CRC now wrong)
    import zlib

    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


def truncated_jpeg(path: Path) -> Path:
    make_image(path, size=(400, 300), noise=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


# -- PDF -------------------------------------------------------------------------------------


def raw_pdf(path: Path, objects: list[bytes]) -> Path:
    """A PDF of these numbered objects (1 is the catalog), with a correct xref table."""
    out = b"%PDF-1.7\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(out)
    return path


def page_tree_cycle_pdf(path: Path) -> Path:
    return raw_pdf(
        path,
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Pages /Kids [2 0 R 4 0 R] /Count 1 /Parent 2 0 R >>",
            b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 200 200] >>",
        ],
    )


def damaged_image_pdf(path: Path, filter_name: str) -> Path:
    """One page showing one 800x800 1-bit image whose CCITT or JBIG2 data is garbage."""
    garbage = bytes(range(256)) * 20
    content = b"q 200 0 0 200 0 0 cm /Im1 Do Q"
    parms = b" /DecodeParms << /K -1 /Columns 800 /Rows 800 >>" if "CCITT" in filter_name else b""
    image = (
        b"<< /Type /XObject /Subtype /Image /Width 800 /Height 800 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 1 /Filter /" + filter_name.encode() + parms
    )
    return raw_pdf(
        path,
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] "
            b"/Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            image + b" /Length %d >>\nstream\n" % len(garbage) + garbage + b"\nendstream",
        ],
    )


def vector_page_pdf(path: Path, points: float) -> Path:
    """One square vector page of ``points`` x ``points`` (a drawing, no image)."""
    import pymupdf

    document = pymupdf.open()
    page = document.new_page(width=points, height=points)
    page.draw_rect(pymupdf.Rect(10, 10, points - 10, points - 10), color=(1, 0, 0))
    document.save(path)
    document.close()
    return path


# -- JSON, XML, models -------------------------------------------------------------------------


def deep_json(depth: int = 200_000) -> bytes:
    return (
        b'{"@context": "http://iiif.io/api/presentation/3/context.json", "x": '
        + (b"[" * depth + b"]" * depth)
        + b"}"
    )


def billion_laughs_xml(path: Path) -> Path:
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
        "<PcGts>&lol2;</PcGts>\n",
        encoding="utf-8",
    )
    return path


def safetensors(path: Path, header: bytes) -> Path:
    """A safetensors file with this raw JSON header and 64 bytes of weights."""
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 64)
    return path


def safetensors_deep(path: Path) -> Path:
    return safetensors(path, b'{"w": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")


def safetensors_huge_number(path: Path) -> Path:
    offsets = "9" * 5000
    header = '{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, ' + offsets + "]}}"
    return safetensors(path, header.encode())


def safetensors_infinity(path: Path) -> Path:
    header = '{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, Infinity]}}'
    return safetensors(path, header.encode())


def manifest_json(base_url: str, canvases: list[tuple[str, str]], label: str = "Book") -> bytes:
    """A IIIF Presentation 3 manifest: one canvas per (label, image URL)."""
    items = []
    for number, (canvas_label, image) in enumerate(canvases, 1):
        canvas = f"{base_url}/canvas/{number}"
        items.append(
            {
                "id": canvas,
                "type": "Canvas",
                "label": {"none": [canvas_label]},
                "width": 100,
                "height": 80,
                "items": [
                    {
                        "id": f"{canvas}/page",
                        "type": "AnnotationPage",
                        "items": [
                            {
                                "id": f"{canvas}/anno",
                                "type": "Annotation",
                                "motivation": "painting",
                                "target": canvas,
                                "body": {"id": image, "type": "Image", "format": "image/png"},
                            }
                        ],
                    }
                ],
            }
        )
    return json.dumps(
        {
            "@context": "http://iiif.io/api/presentation/3/context.json",
            "id": f"{base_url}/manifest.json",
            "type": "Manifest",
            "label": {"none": [label]},
            "items": items,
        }
    ).encode()


def png_bytes(seed: int = 1, size: tuple[int, int] = (100, 80)) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 40 + seed).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()
