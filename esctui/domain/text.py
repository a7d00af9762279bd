"""Plain words the TUI, the CLI and the jobs share: plurals, shortened names, sizes, times."""

from __future__ import annotations

import datetime as dt


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the last one an ellipsis when it was cut."""
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def plural(count: int, word: str) -> str:
    """'1 file', '3 files'."""
    return f"{count} {word}{'s' * (count != 1)}"


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
