"""Where the config folder is: ``ESCTUI_CONFIG``, else platformdirs' user config dir.

The config folder holds what belongs to the person, not to a data folder: the eScriptorium
servers they use and their tokens (``store/remotes.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_dir


def default_config_dir() -> Path:
    """platformdirs' user config folder for esctui (e.g. ~/.config/esctui)."""
    return Path(user_config_dir("esctui", appauthor=False))


def resolve_config_dir(explicit: str | Path | None = None) -> Path:
    """``explicit``, else ``$ESCTUI_CONFIG``, else the user config folder."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("ESCTUI_CONFIG")
    return Path(env).expanduser() if env else default_config_dir()
