"""Start-up stays light: the CLI and the TUI's first screen do not import kraken, torch or PyMuPDF.

Checked in a fresh interpreter, since this test process may have imported them already.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

HEAVY = ("kraken", "torch", "torchvision", "pymupdf", "fitz")

PROBE = """
import asyncio, json, sys
from pathlib import Path

import esctui.cli
import esctui.ui.app
from esctui.store import Store

esctui.cli.build_parser()  # imports every command module, as `esctui --help` does


async def mount_first_screen():
    app = esctui.ui.app.EsctuiApp(Store(Path(sys.argv[1])))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        return type(app.screen).__name__


screen = asyncio.run(mount_first_screen())
heavy = sorted(m for m in sys.modules if m.split(".")[0] in set(sys.argv[2:]))
print(json.dumps({"screen": screen, "heavy": heavy}))
"""


def test_cli_and_first_screen_do_not_import_heavy_libraries(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PROBE), str(tmp_path / "data"), *HEAVY],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["screen"] == "DocumentsScreen"
    assert found["heavy"] == []


def test_the_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    """The check above can fail: importing PyMuPDF shows up in sys.modules."""
    code = textwrap.dedent(PROBE).replace(
        "import esctui.cli\n", "import esctui.cli\nimport pymupdf\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "data"), *HEAVY],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "pymupdf" in json.loads(result.stdout.strip().splitlines()[-1])["heavy"]


ENGINE_PROBE = """
import json, sys

import esctui.engine
import esctui.jobs.kraken.segment
import esctui.jobs.kraken.transcribe
import esctui.jobs.masks
from esctui.jobs.kraken.choice import default_segmentation_model

esctui.engine.KrakenEngine(workers=1)  # workers start on the first page, not here
default_segmentation_model()  # finds kraken's blla.mlmodel without importing kraken
heavy = sorted(m for m in sys.modules if m.split(".")[0] in set(sys.argv[1:]))
print(json.dumps(heavy))
"""


def test_the_engine_and_the_kraken_jobs_import_no_kraken() -> None:
    """kraken runs only in the engine's worker processes: importing the engine and the jobs
    that use it (as the TUI and the CLI do when a job starts) loads neither kraken nor torch."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(ENGINE_PROBE), *HEAVY],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
