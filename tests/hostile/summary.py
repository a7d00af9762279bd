"""Run every hostile case through the real CLI and print the figures.

    .venv/bin/python -m tests.hostile.summary

Prints one line per case (exit status, peak memory of the child, the first line it printed)
and then: cases tried, cases that ended as they must (a sentence, no traceback, the store
whole), tracebacks, and the peak memory of the largest input against the setting that bounds
it. The same cases run as tests in ``test_cases.py``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from tests.hostile.cases import CASES, Context, check_case, run_case
from tests.servers.faults import FaultServer


def main() -> int:
    tried = clear = tracebacks = 0
    largest: tuple[int, str, str] = (0, "", "")
    with FaultServer() as server:
        for case in CASES:
            if case.needs == "nobody" and (os.geteuid() != 0 or not shutil.which("setpriv")):
                print(f"skipped  {case.name}: needs root and setpriv")
                continue
            folder = Path(tempfile.mkdtemp(prefix="esctui-hostile-", dir="/tmp"))
            os.chmod(folder, 0o777)
            try:
                outcome = run_case(case, folder, Context(server=server))
                tried += 1
                tracebacks += "Traceback" in outcome.output
                try:
                    check_case(outcome, folder / "data")
                    clear += 1
                    verdict = "ok"
                except AssertionError as error:
                    verdict = f"NOT OK: {str(error)[:200]!r}"
                lines = [
                    line
                    for line in outcome.output.splitlines()
                    if line and not line.startswith(("progress", "done:", "failed:"))
                ]
                rss = outcome.max_rss_kb // 1024
                print(
                    f"{outcome.result.returncode:>3} {rss:>5} MB  {case.name}: {verdict}\n"
                    f"              {lines[0][:150] if lines else ''}"
                )
                if outcome.built.max_rss_mb is not None and rss > largest[0]:
                    largest = (rss, case.name, outcome.built.setting)
            finally:
                for path in folder.rglob("*"):
                    if path.is_dir():
                        os.chmod(path, 0o777)
                shutil.rmtree(folder, ignore_errors=True)
    print(
        f"\n{tried} cases tried: {clear} ended as they must, {tracebacks} tracebacks; "
        f"the highest peak memory among the bounded cases: {largest[0]} MB "
        f"({largest[1]}; bounded by {largest[2]})"
    )
    return 0 if clear == tried and not tracebacks else 1


if __name__ == "__main__":
    sys.exit(main())
