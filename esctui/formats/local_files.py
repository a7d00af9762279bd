"""What a local path is, in words, before a reader opens it: opening a named pipe would wait
for a writer for ever, and "no such file" would be the wrong word for a folder or a socket."""

from __future__ import annotations

import stat
from pathlib import Path


def file_kind(path: Path) -> str:
    """ "file", "folder", "" (nothing there), or what else it is: "a named pipe (FIFO)",
    "a socket", "a device", "a special file"."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return ""
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def not_a_file(path: Path, what: str) -> str | None:
    """Why ``path`` cannot be read as ``what`` ("a PDF file"), or None when it is a file."""
    kind = file_kind(path)
    if kind == "file":
        return None
    if kind == "":
        return f"{path.name} does not exist (looked in {path.parent})."
    if kind == "folder":
        return f"{path.name} is a folder, not {what}."
    return f"{path.name} is {kind}, not {what}."
