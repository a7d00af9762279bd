"""Fixtures of the command-line tests that run ``esctui`` as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "config"


@pytest.fixture
def outputs() -> list[str]:
    """Everything the commands of one test printed (to look for the token in)."""
    return []


@pytest.fixture
def esctui(config_dir: Path, tmp_path: Path, outputs: list[str]) -> Run:
    """``esctui(*args, input="", env={})``: the command, its config folder in tmp."""

    def run(*args: str, input: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
        full_env = {
            **os.environ, "ESCTUI_CONFIG": str(config_dir), "ESCTUI_DATA": str(tmp_path / "data"),
            "COLUMNS": "200", **(env or {}),
        }  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-m", "esctui", *args], capture_output=True, text=True,
            env=full_env, input=input, timeout=180,
        )  # fmt: skip
        outputs.extend([result.stdout, result.stderr])
        return result

    return run
