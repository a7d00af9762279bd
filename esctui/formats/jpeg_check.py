"""Check that a JPEG is whole without decoding it: its markers walked from SOI to EOI.

A decode is what a thumbnail costs (10-30 ms a page even at 1/8 scale); this walk costs a scan
of the bytes for 0xFF (about 0.4 ms per MB) and catches what a decode reports as damage: a file
cut short (no EOI), a header segment running past the end, a marker that cannot stand inside the
image data (an SOI, a frame header, a byte of a marker that is not one). Like a decode, it cannot
see a flipped bit inside the compressed data itself (libjpeg only warns about those).

Fed in chunks (``JpegStructure.feed``) so that a file is checked while it is copied and hashed,
with memory bounded by one header segment (64 KB), never by the file.
"""

from __future__ import annotations

import re
from pathlib import Path

# Inside the compressed data 0xFF is followed by 0x00 (a stuffed byte), 0xD0-0xD7 (a restart
# marker) or more 0xFF (fill); anything else is a marker that ends the scan. (The pattern finds
# the last 0xFF of a fill run; "\xff+" instead would cost 20x the time on real scans.)
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
# Markers that may come between the scans of a progressive or multi-scan JPEG (tables, restart
# interval, number of lines, comments, application data) besides the next SOS and the EOI.
_BETWEEN_SCANS = {0xC4, 0xCC, 0xDB, 0xDC, 0xDD, 0xFE, *range(0xE0, 0xF0)}
_FRAME_HEADERS = {*range(0xC0, 0xD0)} - {0xC4, 0xC8, 0xCC}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}
CHECK_CHUNK = 1 << 20
JPEG_FORMATS = frozenset({"JPEG", "MPO"})  # Pillow's names of what this checks (MPO: JPEGs in one)


class JpegDamaged(ValueError):
    """The JPEG is not whole; the message says what is wrong, in words."""


class JpegStructure:
    """Walks a JPEG's markers as its bytes arrive; ``finish`` raises JpegDamaged unless the
    JPEG ended whole (trailing bytes after its EOI, as some cameras write, are allowed)."""

    def __init__(self) -> None:
        self._held = b""  # the bytes of a marker or length cut by a chunk's end
        self._skip = 0  # bytes of the current header segment still to pass over
        self._offset = 0  # of the first byte of _held, in the whole file
        self._started = False
        self._in_scan = False
        self._has_frame = False
        self._has_scan = False
        self.ended = False

    def feed(self, chunk: bytes | memoryview) -> None:
        if self.ended or not chunk:
            return
        if self._skip >= len(chunk):  # most of a large APP segment: passed over, not copied
            self._skip -= len(chunk)
            self._offset += len(chunk)
            return
        data = self._held + bytes(chunk) if self._held else bytes(chunk)
        position = self._skip
        self._skip = 0
        if not self._started:
            if len(data) < 2:
                self._hold(data, 0)
                return
            if data[:2] != b"\xff\xd8":
                raise JpegDamaged("it does not begin as a JPEG does")
            self._started = True
            position = 2
        while position < len(data) and not self.ended:
            position = (
                self._scan(data, position) if self._in_scan else self._segment(data, position)
            )
            if position < 0:  # the rest is held until the next chunk
                return
        if position > len(data):
            self._skip = position - len(data)
        self._offset += len(data)
        self._held = b""

    def finish(self) -> None:
        if self.ended:
            return
        if not self._has_scan:
            raise JpegDamaged("it ends before its image data begins")
        raise JpegDamaged("it ends before its end marker: the file is cut short")

    def _hold(self, data: bytes, position: int) -> None:
        self._held = data[position:]
        self._offset += position

    def _segment(self, data: bytes, position: int) -> int:
        """Read the marker (and length) at ``position``; the position after it, or -1.

        Bytes that are no marker where one belongs are passed over to the next 0xFF, as
        libjpeg does (it warns, "extraneous bytes before marker", and decodes the image)."""
        if data[position] != 0xFF:
            following = data.find(b"\xff", position)
            if following < 0:
                return len(data)
            position = following
        while position < len(data) and data[position] == 0xFF and position + 1 < len(data):
            if data[position + 1] != 0xFF:
                break
            position += 1  # fill bytes before a marker
        if len(data) - position < 2:
            self._hold(data, position)
            return -1
        marker = data[position + 1]
        if marker == 0x00:  # a stuffed zero outside the image data: extraneous too
            return position + 2
        if marker == _EOI:
            if not self._has_scan:
                raise JpegDamaged("it ends before its image data begins")
            self.ended = True
            return position + 2
        if marker in _STANDALONE:
            return position + 2
        if marker == _SOI:
            raise JpegDamaged("a second start marker stands where a header belongs")
        if len(data) - position < 4:
            self._hold(data, position)
            return -1
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if length < 2:
            raise JpegDamaged(f"a header segment has an impossible length ({length})")
        if marker in _FRAME_HEADERS:
            self._has_frame = True
        if marker == _SOS:
            if not self._has_frame:
                raise JpegDamaged("its image data comes before its frame header")
            self._in_scan = self._has_scan = True
        return position + 2 + length

    def _scan(self, data: bytes, position: int) -> int:
        """Pass over compressed data up to the marker that ends the scan."""
        found = _MARKER_IN_SCAN.search(data, position)
        if found is None:
            run = len(data) - len(data.rstrip(b"\xff"))  # a 0xFF cut from what follows it
            if run:
                self._hold(data, len(data) - run)
                return -1
            return len(data)
        marker = data[found.end() - 1]
        if marker == _EOI:
            self.ended = True
            return found.end()
        if marker == _SOS or marker in _BETWEEN_SCANS:
            self._in_scan = False
            return found.end() - 2
        raise JpegDamaged(
            f"its image data holds a marker that cannot stand there (0xFF{marker:02X} at offset "
            f"{self._offset + found.end() - 2:,}): the file is damaged"
        )


def check_jpeg(data: bytes | memoryview) -> None:
    """Raise JpegDamaged unless ``data`` is a whole JPEG."""
    structure = JpegStructure()
    structure.feed(data)
    structure.finish()


def check_jpeg_file(path: Path) -> None:
    """Raise JpegDamaged unless the file at ``path`` is a whole JPEG (read in chunks, up to its
    end marker)."""
    structure = JpegStructure()
    with path.open("rb") as handle:
        while not structure.ended and (chunk := handle.read(CHECK_CHUNK)):
            structure.feed(chunk)
    structure.finish()
