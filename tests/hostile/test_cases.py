"""Every hostile case through the real ``esctui`` command: an exit status of 1, 2 or 3 (0 for
what must now work), one plain sentence naming the file, no traceback, the store whole, and
the child's peak memory under its bound where the case has one (see ``cases.py``)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.cases import CASES, Case, Context, check_case, run_case
from tests.servers.faults import FaultServer


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture
def case_folder(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """tmp_path, or for a case run as the user nobody a folder nobody can reach (pytest's
    folders are root's alone)."""
    case: Case = request.node.callspec.params["case"]
    if case.needs != "nobody":
        yield tmp_path
        return
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("running the CLI as the user nobody needs root and setpriv")
    folder = Path(tempfile.mkdtemp(prefix="esctui-hostile-", dir="/tmp"))
    os.chmod(folder, 0o777)
    try:
        yield folder
    finally:
        for path in folder.rglob("*"):
            if path.is_dir():
                os.chmod(path, 0o777)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_case(case: Case, case_folder: Path, fault_server: FaultServer) -> None:
    context = Context(server=fault_server if case.needs == "server" else None)
    outcome = run_case(case, case_folder, context)
    check_case(outcome, case_folder / "data")
