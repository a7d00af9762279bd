"""Fixtures of the TUI tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot

from tests.helpers import NOTIFIED
from tests.ui.support import settled


@pytest.fixture(autouse=True)
def record_notifications(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Record what every app tells the user (``App.notify``) for ``helpers.notifications``."""
    notify = App.notify

    def recorded(app: App[Any], message: str, **options: Any) -> None:
        NOTIFIED.setdefault(id(app), []).append((message, options.get("severity", "information")))
        notify(app, message, **options)

    monkeypatch.setattr(App, "notify", recorded)
    yield
    NOTIFIED.clear()


@pytest.fixture(autouse=True)
def wait_as_a_person_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """After Pilot's ``press`` and ``pause`` the test goes on once the app has done what the
    keys asked: screens read and write the store in threads, and Pilot's own wait (until the
    process is idle) can end while a thread waits on the disk. ``support.settled`` says when.
    ``run_test`` gives the pilot once the first screen shows its list."""
    press, pause, run_test = Pilot.press, Pilot.pause, App.run_test

    async def pressed(pilot: Pilot[Any], *keys: str) -> None:
        await press(pilot, *keys)
        await settled(pilot.app)

    async def paused(pilot: Pilot[Any], delay: float | None = None) -> None:
        await pause(pilot, delay)
        await settled(pilot.app)

    @asynccontextmanager
    async def running(app: App[Any], *args: Any, **kwargs: Any) -> AsyncIterator[Pilot[Any]]:
        async with run_test(app, *args, **kwargs) as pilot:
            await settled(app)  # the first screen has read its list
            yield pilot

    monkeypatch.setattr(App, "run_test", running)
    monkeypatch.setattr(Pilot, "press", pressed)
    monkeypatch.setattr(Pilot, "pause", paused)


@pytest.fixture(autouse=True)
def own_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app reads its keymap from a config folder of the test, never the user's own."""
    monkeypatch.setenv("ESCTUI_CONFIG", str(tmp_path / "config"))
