"""Time to first frame: the ``esctui`` TUI against a hello-world Textual app, in the same run.

    .venv/bin/python bench/bench_startup.py [--runs 5] [--documents 0]

What is measured is what a user sees: each app is started as a real process (the same Python
interpreter, ``python -m esctui`` with ``ESCTUI_DATA`` on a temporary folder, and ``python -c``
for the hello-world app) on a pseudo-terminal of 100x30 with ``TERM=xterm-256color``. The clock
starts just before the process is spawned and stops when the bytes the app writes to the
terminal, with escape sequences removed, contain the text of its finished first screen: the
documents screen's empty-state line for esctui ("No documents yet", or the last document's name
with ``--documents N``), "Hello, world" for the baseline. Interpreter start-up, imports, opening
the data folder, CSS parsing, compose, mount and the first paint are all inside the interval.
Then Ctrl+Q is sent and the process must exit.

The two apps run alternately, ``--runs`` times each; the medians are compared (target <= 1.5x).
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

COLUMNS, ROWS = 100, 30
TARGET = 1.5
TIMEOUT = 60.0
ANSI = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|P[^\x1b]*\x1b\\|.)")

HELLO = """
from textual.app import App
from textual.widgets import Label

class Hello(App):
    BINDINGS = [("ctrl+q", "quit", "Quit")]

    def compose(self):
        yield Label("Hello, world")

Hello().run()
"""


def first_frame_seconds(command: list[str], marker: bytes, env: dict[str, str]) -> float:
    """Seconds from spawning ``command`` on a fresh pty until ``marker`` is on the screen."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(
        command,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,  # the pty becomes the app's own terminal session
        close_fds=True,
    )
    os.close(slave)
    output = b""
    elapsed = None
    try:
        while elapsed is None:
            if time.perf_counter() - start > TIMEOUT:
                raise RuntimeError(
                    f"no first frame within {TIMEOUT} s: {command}\n{output[-2000:]!r}"
                )
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # the app ended
                raise RuntimeError(f"{command} ended early:\n{output[-2000:]!r}") from None
            output += chunk
            if marker in ANSI.sub(b"", output):
                elapsed = time.perf_counter() - start
        os.write(master, b"\x11")  # Ctrl+Q
        _drain_until_exit(proc, master)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    return elapsed


def _drain_until_exit(proc: subprocess.Popen, master: int) -> None:
    deadline = time.monotonic() + 10
    while proc.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                os.read(master, 1 << 16)
            except OSError:
                break
    proc.wait(timeout=max(0.1, deadline - time.monotonic()))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each app (5)")
    parser.add_argument("--documents", type=int, default=0, help="documents in the data folder (0)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="esctui-startup-") as tmp:
        data = Path(tmp) / "data"
        marker = b"No documents yet"
        if args.documents:
            from esctui.store import Store

            store = Store(data)
            for i in range(args.documents):
                store.create_document(f"Register {i:04d}")
            marker = f"Register {args.documents - 1:04d}".encode()
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
            "COLUMNS": str(COLUMNS),
            "LINES": str(ROWS),
            "ESCTUI_DATA": str(data),
        }
        for key in ("TEXTUAL", "TEXTUAL_DRIVER", "NO_COLOR"):
            env.pop(key, None)
        contenders = {
            "hello": ([sys.executable, "-c", HELLO], b"Hello, world"),
            "esctui": ([sys.executable, "-m", "esctui"], marker),
        }
        for command, mark in contenders.values():  # warm-up: page cache and .pyc files
            first_frame_seconds(command, mark, env)
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.runs):
            for name, (command, mark) in contenders.items():
                times[name].append(first_frame_seconds(command, mark, env))

    median = {name: statistics.median(values) for name, values in times.items()}
    ratio = median["esctui"] / median["hello"]
    for name, values in times.items():
        runs = " ".join(f"{v * 1000:.0f}" for v in values)
        print(f"{name:7s} first frame: median {median[name] * 1000:6.0f} ms   (runs: {runs} ms)")
    verdict = "ok" if ratio <= TARGET else "OVER TARGET"
    print(f"ratio esctui/hello: {ratio:.2f}x (target <= {TARGET}x) {verdict}")
    result = {
        "bench": "startup",
        "runs": args.runs,
        "documents": args.documents,
        "terminal": f"{COLUMNS}x{ROWS}",
        "hello_ms": round(median["hello"] * 1000, 1),
        "esctui_ms": round(median["esctui"] * 1000, 1),
        "ratio": round(ratio, 3),
        "target": TARGET,
        "ok": ratio <= TARGET,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
