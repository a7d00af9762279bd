"""Fixtures of the TUI tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.app import App

from tests.helpers import NOTIFIED


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
