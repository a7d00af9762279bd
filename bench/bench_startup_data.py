"""Benchmark: the app's start with 100 documents against its start on an empty data folder.

    .venv/bin/python bench/bench_startup_data.py [--documents 100] [--rounds 7]

Each run is a fresh Python process doing what ``esctui`` does before its first screen: import
``esctui.__main__`` and the app module (``esctui.ui.app``: Textual and the screens), open the
data folder (``Store``: the lock, the session marker, the schema check) and read what the
Documents screen shows (``list_documents`` and each document's page count). The data folders
(one empty, one with ``--documents`` documents of 10 pages each) are made first and closed
cleanly, as a user's are. Medians of alternating runs; target: at most 1.5x the empty start.
bench_startup.py times the whole first frame on a pseudo-terminal against a hello-world app.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import esctui_env, medians, report, run_command  # noqa: E402

TARGET = 1.5
FIRST_SCREEN = """
import sys
import esctui.__main__
import esctui.ui.app
from esctui.store import Store
store = Store(sys.argv[1])
documents = store.list_documents()
pages = sum(d.page_count for d in documents)
store.close()
print(len(documents), "documents", pages, "pages")
with open("/proc/self/status", encoding="ascii") as status:  # this program's own peak
    print("VmHWM", next(line.split()[1] for line in status if line.startswith("VmHWM")))
"""


def make_folder(data: Path, documents: int) -> None:
    """A closed data folder with ``documents`` documents (created through the store)."""
    from esctui.store import Store

    store = Store(data, durable=False)
    for number in range(documents):
        store.create_document(f"Register {number:04d}", description="Ratsprotokolle " * 20)
    store.close()


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-startup-data-") as tmp:
        empty, full = Path(tmp) / "empty", Path(tmp) / "full"
        make_folder(empty, 0)
        make_folder(full, args.documents)
        command = [sys.executable, "-c", FIRST_SCREEN]
        for folder in (empty, full):  # warm: .pyc files, the page cache
            run_command([*command, str(folder)], env=esctui_env(folder))
        best = medians(
            args.rounds,
            {
                "full": lambda: run_command([*command, str(full)], env=esctui_env(full)),
                "empty": lambda: run_command([*command, str(empty)], env=esctui_env(empty)),
            },
        )
    if f"{args.documents} documents" not in best["full"].stdout:
        raise SystemExit(f"the start did not read {args.documents} documents")
    best["full"].rss_mb = int(best["full"].stdout.split("VmHWM")[1].split()[0]) / 1024
    return report(
        "startup_data",
        f"start-up + Documents list ({args.documents} documents)",
        best["full"],
        "the same on an empty folder",
        best["empty"],
        TARGET,
    )


if __name__ == "__main__":
    main()
