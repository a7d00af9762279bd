"""The bases of every esctui screen: the typed app, its store, jobs, and store work off the
event loop.

The store takes an inter-process file lock: while an import commits a batch, a read waits for
it. A screen never calls the store on the event loop (keys would wait too): ``store_call`` runs
the work in a thread and hands the result back on the loop; an ``EsctuiError`` becomes a
notification. Calls of one ``group`` replace each other (the last one wins), so a slow read
never shows over a newer one. Keys typed after a key that started store work wait for it (and
for what its result does: a dialog that closes, a list that refills), so they land where the
focus then is, as they would have had the work been instant; so do keys typed while a screen
that is being shown reads what it shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from textual import getters
from textual.screen import ModalScreen, Screen
from textual.worker import Worker

from esctui.domain.errors import EsctuiError
from esctui.ui.app import STORE_WORK, EsctuiApp
from esctui.ui.widgets.text import safe

if TYPE_CHECKING:
    from esctui.jobs.runner import JobKind
    from esctui.store import Store
    from esctui.ui.running import RunningJob

ResultT = TypeVar("ResultT")
T = TypeVar("T")
JobT = TypeVar("JobT", bound="JobKind")

STORE_GROUP = "store"  # store calls that may run side by side


class EsctuiScreen(Screen[ResultT]):
    """A screen of esctui: ``self.app`` is the ``EsctuiApp``, ``self.store`` its store."""

    app = getters.app(EsctuiApp)  # Textual's property, typed as esctui's app
    drawn = False  # drawn since it was last shown (store work started before: its showing)

    def on_screen_resume(self) -> None:
        """Drawn at the next refresh (Textual calls this after the subclass's own handler)."""
        self.call_after_refresh(setattr, self, "drawn", True)

    def on_screen_suspend(self) -> None:
        self.drawn = False

    @property
    def store(self) -> Store:
        return self.app.store

    def store_call(
        self,
        work: Callable[[], T],
        done: Callable[[T], object] | None = None,
        *,
        group: str | None = None,
        failed: Callable[[EsctuiError], object] | None = None,
        hold_keys: bool = True,
    ) -> Worker[None]:
        """Run ``work`` (store reads or writes, nothing of Textual) in a thread; then, on the
        event loop, ``done(result)``. An ``EsctuiError`` goes to ``failed``, by default a
        notification. With a ``group`` a new call cancels the one still running (its result
        is dropped); without, calls run side by side. Any other exception is a bug: it stops
        the app with its traceback, as it would on the loop. ``hold_keys=False``: work that no
        key asked for (a running job's news), which the keys typed meanwhile never wait for."""

        async def run() -> None:
            try:
                result = await asyncio.to_thread(work)
            except EsctuiError as error:
                if failed is not None:
                    failed(error)
                else:
                    self.notify(safe(error), severity="error", timeout=10)
                return
            if done is not None:
                done(result)

        worker: Worker[None] = self.run_worker(
            run,  # called when the worker starts: none made if replaced before
            name=f"{STORE_WORK}{getattr(work, '__name__', '')}",
            group=group or STORE_GROUP,
            exclusive=group is not None,
        )
        if hold_keys:
            self.app.hold_typed_keys_for(worker, showing=not self.drawn)
        return worker

    def start_job(
        self,
        build: Callable[[], JobT],
        *,
        show_progress: bool = True,
        started: Callable[[RunningJob], object] | None = None,
        failed: Callable[[EsctuiError], object] | None = None,
    ) -> Worker[None]:
        """Build a job (its constructor reads the store: in a thread) and run it in the
        background with its progress window (unless ``show_progress`` is False); then
        ``started(running)``. A job that cannot be built (an ``EsctuiError``) is said."""

        def start(job: JobT) -> None:
            running = self.app.start_job(job, show_progress=show_progress)
            if started is not None:
                started(running)

        return self.store_call(build, start, failed=failed)

    def leave(self, message: str) -> None:
        """Say why this screen cannot show what it was opened for, and close it."""
        self.notify(message, severity="error")
        if self.is_current:
            self.app.pop_screen()


class EsctuiModalScreen(ModalScreen[ResultT], EsctuiScreen[ResultT]):
    """A dialog of esctui (modal), with what ``EsctuiScreen`` gives. (ModalScreen first:
    Textual takes a class's CSS type names along its first bases.)"""
