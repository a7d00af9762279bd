"""kill -9 in the middle of an import: the job's record shows what was committed, not 0/0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from esctui.store import Store
from tests.helpers import make_pages, run_esctui
from tests.hostile.cases import store_problems


def test_a_killed_import_shows_the_pages_it_committed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_esctui(data, "documents", "create", "D").returncode == 0
    scans = tmp_path / "scans"
    scans.mkdir()
    make_pages(scans, 400)
    process = subprocess.Popen(
        [sys.executable, "-m", "esctui", "import", "images", "D", str(scans)],
        env={**os.environ, "ESCTUI_DATA": str(data)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # until a commit has recorded some pages
            jobs = Store(data).list_jobs()
            if jobs and jobs[0].done > 0:
                break
            assert process.poll() is None, "the import ended before it could be killed"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    store = Store(data)  # opening sweeps what the kill left
    [job] = store.list_jobs()
    parts = store.list_parts(store.get_document("D").id)
    assert job.status == "failed"
    assert 0 < len(parts) < 400
    assert (job.done, job.total) == (len(parts), 400)  # what was committed
    assert job.error == (
        f"interrupted (process ended) after {len(parts):,} of 400 items; what was committed "
        "until then is kept"
    )
    assert store_problems(data) == []
    listed = run_esctui(data, "jobs")
    assert f"failed  {len(parts)} imported, 0 skipped" in listed.stdout, listed.stdout
