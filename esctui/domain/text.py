"""Plain words the TUI, the CLI and the jobs share: names made printable, plurals, shortened
names, sizes, times."""

from __future__ import annotations

import datetime as dt
import re

# Characters that must never reach the terminal as they are: C0 and C1 controls (ESC starts
# terminal sequences, BEL ends an OSC title change, newlines break a one-line label), DEL, the
# line and paragraph separators, the bidi embeddings, overrides and isolates (they show text in
# another order than it is), and invisible characters that stand for nothing (zero-width space,
# byte-order mark, interlinear annotation marks). The joiners (ZWNJ, ZWJ) and the directional
# marks (LRM, RLM, ALM) are kept: Persian, Arabic, Hebrew and Indic names need them. Lone
# surrogates (the bytes of a file name that is not UTF-8, as os.fsdecode gives them) cannot be
# written to a terminal at all: shown as \udcXX.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufeff\ufff9-\ufffb]"
)
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` with every control or invisible format character shown as an escape.

    For any name that came from a file, a server or the user (file, page, document and IIIF
    names): ``"a\\x1b]0;x\\x07"`` is shown as the nine characters ``a\\x1b]0;x\\x07``, so it can
    neither drive the terminal nor hide what it is.
    """
    return _UNSAFE.sub(_escaped, str(text))


def printable_lines(text: object) -> str:
    """Like ``printable`` but keeping line breaks and tabs (a multi-line description)."""
    return "\n".join(printable(line).replace("\\t", "\t") for line in str(text).split("\n"))


# What json.dumps leaves as it is among those: it escapes U+0000-U+001F inside strings, and
# outside strings only its own indentation's newlines and spaces appear.
_UNSAFE_IN_JSON = re.compile(
    "[\x7f-\x9f\u200b\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufeff\ufff9-\ufffb]"
)


def terminal_safe_json(text: str) -> str:
    """Text from ``json.dumps(..., ensure_ascii=False)`` with the characters ``printable``
    escapes written as ``\\uXXXX``: still the same JSON value, nothing a terminal acts on."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the last one an ellipsis when it was cut."""
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 file', '3 files', '2,000 pages'; ``many`` for irregular plurals ('entries')."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def human_size(n: int) -> str:
    """A byte count as '512 B', '80.2 KB', '1.5 MB'."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def local_time(timestamp: float) -> str:
    """Seconds since the epoch as local time to the minute: '2024-05-01 14:03'."""
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")
