"""Text from elsewhere (a server, a file) made safe to show on a terminal.

A name that comes from a server may hold control characters: an escape sequence can move the
cursor, change the window title or hide what follows, a newline can forge an extra output line,
and the bidi overrides can show text in another order than it is. ``printable`` shows each of
them as a visible escape (``\\x1b``, ``\\n``, ``\\u202e``); every other character, in any script,
is kept. Call it when text is displayed, not when it is stored.
"""

from __future__ import annotations

import re

# C0 controls and DEL, C1 controls (U+0080-U+009F, e.g. U+009B is CSI), the line and paragraph
# separators, the bidi embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` (any object, via ``str``) with terminal-unsafe characters shown as escapes."""
    return _UNSAFE.sub(_escape, str(text))


# what json.dumps leaves as it is among those (it escapes U+0000-U+001F inside strings, and
# outside strings only its own indentation's newlines and spaces appear)
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def terminal_safe_json(text: str) -> str:
    """Text from ``json.dumps(..., ensure_ascii=False)`` with the characters ``printable``
    escapes written as ``\\uXXXX``: still the same JSON value, nothing a terminal acts on."""
    return _UNSAFE_IN_JSON.sub(_json_escape, text)
