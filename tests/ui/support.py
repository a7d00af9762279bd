"""What the TUI tests share: an app that keeps what it said, a job the test drives step by
step, keys sent in one burst (as a fast typist, a paste or a slow SSH link delivers them)."""

from __future__ import annotations

import asyncio
import html
import re
import time

from textual import events
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from esctui.jobs.runner import JobContext
from esctui.ui.app import EsctuiApp

SIZE = (80, 24)  # the smallest terminal we promise


class SteppedJob:
    """A job that does one item each time the test calls ``step`` (kind "images": an import
    into ``document_id``). ``delay`` makes each item take that long instead."""

    kind = "images"
    verb = "imported"

    def __init__(self, document_id: str | None, total: int = 5, *, delay: float = 0.0) -> None:
        self.document_id = document_id
        self.total = total
        self.delay = delay
        self.title = f"Stepped job ({total} items)"
        self.steps: asyncio.Queue[None] = asyncio.Queue()
        self.started = asyncio.Event()

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self.steps.put_nowait(None)

    async def run(self, ctx: JobContext) -> None:
        ctx.start(self.total)
        self.started.set()
        for index in range(1, self.total + 1):
            if self.delay:
                await asyncio.sleep(self.delay)
            else:
                await self.steps.get()
            ctx.advance(f"item{index}")
            ctx.report.add_imported(f"item{index}")


KEY_CHARACTERS = {"tab": "\t", "enter": "\r", "escape": "\x1b", "space": " "}


async def burst(app: EsctuiApp, *items: str) -> None:
    """Post keys at once, without waiting between them: typed ahead. An item in angle
    brackets is one key ("<tab>", "<enter>", "<ctrl+s>"); other items are typed character by
    character (letters, digits and spaces)."""
    for item in items:
        if item.startswith("<") and item.endswith(">"):
            name = item[1:-1]
            app.post_message(events.Key(name, KEY_CHARACTERS.get(name)))
            continue
        for char in item:
            assert char.isalnum() or char == " ", f"burst types letters and spaces: {char!r}"
            app.post_message(events.Key("space" if char == " " else char, char))


def cell_texts(app: EsctuiApp, column: int, selector: str = "DataTable") -> list[str]:
    """The plain text of one column of the table on the screen."""
    table = app.screen.query_one(selector, DataTable)
    return [str(table.get_row_at(i)[column]) for i in range(table.row_count)]


def shown(app: EsctuiApp, selector: str) -> str:
    """What a Static on the screen shows (its text, markup applied)."""
    return str(app.screen.query_one(selector, Static).render())


async def settled(app: App[object], timeout: float = 30.0) -> None:
    """Wait until an ``EsctuiApp`` has done what its keys asked (``EsctuiApp.settled``): no
    typed key waits, no screen's store call runs. Other apps: at once."""
    if not isinstance(app, EsctuiApp):
        return
    deadline = time.monotonic() + timeout
    while not app.settled and app.return_code is None and app.is_running:  # (quitting: done)
        if time.monotonic() > deadline:
            raise AssertionError(f"the app is still busy after {timeout} s")
        await asyncio.sleep(0.005)


async def jobs_finished(app: EsctuiApp) -> None:
    """Wait until every job the app started has ended, then until the screens have shown it
    (a screen's store call replaced by a newer one ends cancelled: not a job, not waited for)."""
    await app.workers.wait_for_complete([w for w in app.workers if w.group == "jobs"])
    await settled(app)


async def until(pilot: Pilot[object], condition, timeout: float = 30.0, step: float = 0.05) -> None:
    """Let the app run until ``condition()`` holds (fails after ``timeout`` seconds)."""
    for _ in range(int(timeout / step)):
        if condition():
            return
        await pilot.pause(step)
    raise AssertionError(f"still not true after {timeout} s: {condition}")


CELL_WIDTH, LINE_HEIGHT, FIRST_LINE = 12.2, 24.4, 20.0  # pixels in Rich's export_svg
_SVG_TEXT = re.compile(r'<text [^>]*x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>')


def screen_text(app: EsctuiApp) -> list[str]:
    """The terminal as a person sees it: one string per row, read from the app's screenshot
    (its public ``export_screenshot``). Control characters, if any reached it, stay in."""
    width, height = app.size
    rows = [[" "] * width for _ in range(height)]
    for x, y, text in _SVG_TEXT.findall(app.export_screenshot()):
        row = rows[min(round((float(y) - FIRST_LINE) / LINE_HEIGHT), height - 1)]
        column = round(float(x) / CELL_WIDTH)
        for offset, char in enumerate(html.unescape(text).replace("\xa0", " ")):
            if column + offset < width:
                row[column + offset] = char
    return ["".join(row) for row in rows]
