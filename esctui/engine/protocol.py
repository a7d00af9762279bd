"""The messages between the engine and its worker processes: length-prefixed JSON frames.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON (one object).
The parent writes requests to the worker's stdin; the worker answers on the file descriptor that
was its stdout (which it then points at stderr, so nothing a library prints can reach the
protocol).

Worker -> parent, in this order:

* once, at start: ``{"type": "ready", "pid", "kraken_version"}`` or ``{"type": "failed",
  "kind", "message"}``;
* per request: any number of ``{"type": "progress", "id", "stage", "done", "total"}``, then
  ``{"type": "result", "id", "result", "info"}`` or ``{"type": "error", "id", "kind",
  "message"}``. ``info`` holds the worker's pid, the seconds kraken took and its peak memory.

Parent -> worker: ``{"id", "op", "page", ...}`` with ``op`` one of ``segment``, ``recognize``,
``masks``, ``stop``.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO

#: No frame may be larger than this (a worker sending more is stopped): bounded parent memory.
MAX_FRAME_BYTES = 64 * 2**20
HEADER_BYTES = 4

#: Error kinds a worker reports; the parent turns each into an EngineError subclass.
KIND_MODEL = "model"  # missing, unloadable, wrong kind
KIND_IMAGE = "image"
KIND_LINES = "lines"
KIND_MEMORY = "memory"
KIND_REQUEST = "request"  # a malformed request: a bug in the parent
KIND_KRAKEN = "kraken"  # anything else kraken raised


class FrameError(Exception):
    """A frame that is too large or not a JSON object."""


def encode(message: dict[str, Any]) -> bytes:
    """One frame holding ``message``."""
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(body) > MAX_FRAME_BYTES:
        raise FrameError(f"a message of {len(body):,} bytes is over the limit")
    return len(body).to_bytes(HEADER_BYTES, "big") + body


def frame_length(header: bytes) -> int:
    """The body length announced by a header; FrameError if over the limit."""
    length = int.from_bytes(header, "big")
    if length > MAX_FRAME_BYTES:
        raise FrameError(f"a message of {length:,} bytes is over the limit")
    return length


def decode(body: bytes) -> dict[str, Any]:
    """The JSON object of a frame body."""
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FrameError(f"an unreadable message ({error})") from None
    if not isinstance(message, dict):
        raise FrameError("a message that is not a JSON object")
    return message


def read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    """The next message from a blocking stream; None at the end of the stream."""
    header = _read_exactly(stream, HEADER_BYTES)
    if header is None:
        return None
    body = _read_exactly(stream, frame_length(header))
    if body is None:
        raise FrameError("a message cut short")
    return decode(body)


def write_frame(stream: BinaryIO, message: dict[str, Any]) -> None:
    stream.write(encode(message))
    stream.flush()


def _read_exactly(stream: BinaryIO, count: int) -> bytes | None:
    chunks = []
    left = count
    while left:
        chunk = stream.read(left)
        if not chunk:
            if left == count:
                return None
            raise FrameError("a message cut short")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
