"""File names as the store keeps them: always valid Unicode, turned back into the same bytes.

A POSIX file name is bytes. One that is not valid UTF-8 reaches Python with lone surrogates
(``os.fsdecode``), which no JSON file, XML export or terminal can hold. ``stored_name`` keeps
such a name as text: its valid UTF-8 as it is, each other byte written ``\\xNN`` and each
backslash doubled; ``name_bytes`` turns that back into the original bytes. A name that is valid
Unicode is kept unchanged.
"""

from __future__ import annotations

import os
import re

_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2})")


def has_surrogates(text: str) -> bool:
    """True when ``text`` came from bytes that are not UTF-8 (it cannot be encoded)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def stored_name(text: str) -> str:
    """``text`` (a file name or path from the file system) as valid Unicode, losslessly."""
    if not has_surrogates(text):
        return text
    raw = os.fsencode(text).replace(b"\\", b"\\\\")
    return raw.decode("utf-8", "backslashreplace")


def name_bytes(name: str) -> bytes:
    """The file system bytes of a name kept by ``stored_name``: of an escaped one the original
    bytes, of any other its UTF-8 (a valid name that itself holds the text ``\\xNN`` is the
    one case this cannot tell apart)."""
    if "\\x" not in name:
        return os.fsencode(name)
    out = bytearray()
    position = 0
    for match in _ESCAPE.finditer(name):
        out += name[position : match.start()].encode("utf-8")
        escape = match.group(1)
        out += b"\\" if escape == "\\" else bytes([int(escape[1:], 16)])
        position = match.end()
    out += name[position:].encode("utf-8")
    return bytes(out)
