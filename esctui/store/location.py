"""Where the data folder is: ``--data-dir``, else ``ESCTUI_DATA``, else the user data dir."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir


def default_data_dir() -> Path:
    """platformdirs' user data folder for esctui (e.g. ~/.local/share/esctui)."""
    return Path(user_data_dir("esctui", appauthor=False))


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("ESCTUI_DATA")
    return Path(env).expanduser() if env else default_data_dir()
