"""A key's cost in the TUI: cursor keys typed ahead on the Documents screen, against a plain
Textual app with the same table, in the same run.

    .venv/bin/python bench/bench_keys.py [--runs 5] [--keys 200]

Both apps run headless under Textual's Pilot at 80x24 with the same rows (``--keys`` + 1
documents). A burst of ``--keys`` Down keys is posted at once, as a fast typist or a paste over
SSH delivers them; the clock stops when the cursor is on the last row, i.e. every key has been
handled. esctui routes each key once the one before it has had its effect (keys typed ahead
land where the focus then is): the ratio is what that costs per key. The two apps run
alternately, ``--runs`` times each; the medians are compared (target <= 1.5x). The last line
printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual import events  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import DataTable  # noqa: E402

from esctui.store import Store  # noqa: E402
from esctui.ui.app import EsctuiApp  # noqa: E402

TARGET = 1.5
SIZE = (80, 24)


class PlainTable(App[None]):
    """The baseline: one DataTable of the same rows, Textual's own key handling."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Name", "Pages")
        for name in self.names:
            table.add_row(name, "0", key=name)
        table.focus()


async def burst_seconds(app: App[object], keys: int) -> float:
    """Seconds from posting ``keys`` Down keys at once until the cursor is on the last row."""
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(200):  # the rows are there (esctui reads them in a worker)
            if app.screen.query(DataTable) and app.screen.query_one(DataTable).row_count > keys:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        start = time.perf_counter()
        for _ in range(keys):
            app.post_message(events.Key("down", None))
        while table.cursor_row < keys:
            await asyncio.sleep(0.001)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keys", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder), user="bench")
        names = [f"Register {n:04}" for n in range(args.keys + 1)]
        for name in names:
            store.create_document(name)
        ours: list[float] = []
        plain: list[float] = []
        for _ in range(args.runs):
            ours.append(asyncio.run(burst_seconds(EsctuiApp(Store(Path(folder))), args.keys)))
            plain.append(asyncio.run(burst_seconds(PlainTable(names), args.keys)))
    per_key = statistics.median(ours) / args.keys * 1000
    baseline = statistics.median(plain) / args.keys * 1000
    ratio = per_key / baseline
    print(f"esctui: {per_key:.2f} ms a key; plain Textual: {baseline:.2f} ms a key")
    print(f"ratio {ratio:.2f} (target <= {TARGET})")
    print(
        json.dumps(
            {
                "bench": "keys",
                "esctui_ms_per_key": round(per_key, 3),
                "textual_ms_per_key": round(baseline, 3),
                "ratio": round(ratio, 3),
                "target": TARGET,
                "ok": ratio <= TARGET,
            }
        )
    )


if __name__ == "__main__":
    main()
