"""The esctui Textual application."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from esctui.domain import JobStatus, new_id
from esctui.domain.errors import EsctuiError
from esctui.domain.text import plural, printable
from esctui.jobs.runner import CANCELLED_BY_USER
from esctui.store import Store, resolve_data_dir
from esctui.ui.messages import JobFinished, JobUpdated
from esctui.ui.running import (
    KEPT_ON_CANCEL,
    STOPPED_BY_CLOSE,
    STOPPED_BY_QUIT,
    RunningJob,
)
from esctui.ui.widgets.text import safe

if TYPE_CHECKING:
    from esctui.domain import Job
    from esctui.jobs.runner import JobKind, JobProgress

# A key is routed once the key before it has been handled: its message passes through the
# widgets from the focused one up to the app this many times (an action may post a message
# that posts another, e.g. Enter -> Input.Submitted -> the dialog closes).
SETTLE_PASSES = 3
SETTLE_TIMEOUT = 3.0  # seconds: a safety net, never reached unless a widget lost a message
KEY_WORK_POLL = 0.01  # seconds between looks at the store work a key started
# seconds keys typed as a screen is shown wait for its read at most (a commit holding the store
# would hold them too): then they go to what it shows
SHOWN_READ_WAIT = 0.4
STORE_WORK = "store:"  # the start of the name of every screen's store call (screens/base.py)
FINISHED_STATES = frozenset({WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED})
STOP_TIMEOUT = 30.0  # seconds to wait for stopped jobs to write their last pages


class EsctuiApp(App[int]):
    """Documents, pages, models and imports, by keyboard."""

    TITLE = "esctui"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere find it
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("ctrl+j", "jobs", "Jobs", show=False, id="app.jobs"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit"),
    ]

    def __init__(self, store: Store, *, config_dir: Path | None = None) -> None:
        super().__init__()
        self.store = store
        self.config_dir = config_dir  # where config.toml is read (None: ESCTUI_CONFIG, else
        self.keymap: dict[str, str] = {}  # the user config folder); binding id -> keys
        self._clashes_told: set[str] = set()
        self.sub_title = str(store.root)
        self.jobs: list[RunningJob] = []  # started here, not ended yet
        self._typed: deque[events.Key | events.Paste] = deque()
        self._typed_busy_since: float | None = None
        self._typed_token = 0  # which routed key a settle belongs to
        self._ready_screen: Screen | None = None  # drawn since it was shown: keys go to it
        # store work the typed keys wait for: a routed key's (no time limit), or a screen's
        # as it is shown (until the time given: keys go on to the rows shown by then)
        self._key_work: list[tuple[Worker[None], float | None]] = []
        self._quitting = False

    def on_mount(self) -> None:
        self.set_interval(SETTLE_TIMEOUT / 2, self._release_stuck_keys)
        self.load_keymap()

    # ------------------------------------------------------------------ keys remapped

    def load_keymap(self) -> None:
        """Apply the ``[keys]`` of config.toml (``esctui/ui/keymap.py``); an entry left out
        is said in a notification."""
        from esctui.store.config_location import resolve_config_dir
        from esctui.ui.keymap import read_keymap

        self.keymap, problems = read_keymap(resolve_config_dir(self.config_dir))
        self.set_keymap(self.keymap)
        for problem in problems:
            self.notify(safe(problem), severity="warning", timeout=20)

    def handle_bindings_clash(self, clashed_bindings: set[Binding], node: DOMNode) -> None:
        """A remapped key that another binding of the screen had: the remap wins, said once."""
        for binding in clashed_bindings:
            name = binding.id or binding.action
            if name in self._clashes_told:
                continue
            self._clashes_told.add(name)
            self.notify(
                f"Your keymap gives {safe(binding.key)} to another binding, so "
                f"'{safe(binding.description or name)}' ({safe(name)}) has no key on this screen; "
                "give it another one in config.toml.",
                severity="warning",
                timeout=20,
            )

    def keys_for(self, binding: Binding) -> list[str]:
        """The keys of ``binding`` as the user's keymap has them."""
        keys = self.keymap.get(binding.id or "") or binding.key
        return [key.strip() for key in keys.split(",")]

    def get_default_screen(self) -> Screen:
        """The Documents screen is the bottom of the stack (no blank screen under it)."""
        from esctui.ui.screens.documents import DocumentsScreen

        return DocumentsScreen()

    # ------------------------------------------------------------------ typing ahead

    async def on_event(self, event: events.Event) -> None:
        """Keys and pastes are handled one after the other: each goes to the widget that has
        the focus once the one before it has had its effect (Tab moved the focus, a key opened
        a dialog), so fast typing, type-ahead over a slow link and pasted keys land there."""
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded:
            self._typed.append(event)
            if self._typed_busy_since is None:
                await self._route_typed()
            return
        await super().on_event(event)

    async def _route_typed(self) -> None:
        while self._typed and self._typed_busy_since is None:
            screen = self.screen
            if screen is not self._ready_screen:  # just shown: typed keys wait until it is
                self._typed_busy_since = time.monotonic()
                self._typed_token += 1
                screen.call_after_refresh(self._typed_done, self._typed_token, screen)
                return
            event = self._typed.popleft()
            target: DOMNode = self.focused or screen
            await super().on_event(event)
            self._typed_busy_since = time.monotonic()
            self._typed_token += 1
            chain = list(target.ancestors_with_self)
            self._settle(chain, 0, SETTLE_PASSES, self._typed_token)

    def _settle(self, chain: list[DOMNode], index: int, passes: int, token: int) -> None:
        """Hop through ``chain`` (the focused widget up to the app) behind what was posted to
        each before; after ``passes`` rounds the key's effects are done."""
        while index < len(chain):
            if chain[index].call_later(self._settle, chain, index + 1, passes, token):
                return
            index += 1  # that widget is gone: nothing more can come from it
        if passes > 1:
            self._settle(chain, 0, passes - 1, token)
        else:  # a dialog that opened or closed meanwhile is waited for in _route_typed
            self._typed_done(token)

    def _typed_done(self, token: int, screen: Screen | None = None) -> None:
        if token != self._typed_token or self._typed_busy_since is None:
            return  # released already (by the safety net)
        if screen is not None:
            self._ready_screen = screen
        if self._key_work:  # the key started store work: the next key waits for it
            now = time.monotonic()
            if any(
                not worker.is_finished and (until is None or now < until)
                for worker, until in self._key_work
            ):
                self.set_timer(KEY_WORK_POLL, lambda: self._typed_done(token))
                return
            self._key_work.clear()  # done: what its result did settles too, then keys go on
            self._typed_token += 1
            focused: DOMNode = self.focused or self.screen
            self._settle(list(focused.ancestors_with_self), 0, SETTLE_PASSES, self._typed_token)
            return
        self._typed_busy_since = None
        if self._typed:
            self.call_later(self._route_typed)

    def hold_typed_keys_for(self, worker: Worker[None], *, showing: bool = False) -> None:
        """Store work started while a key is being handled is part of that key, and work a
        screen starts as it is shown (its list) part of showing it: the keys typed after wait
        until it is done (a screen's ``store_call`` says so; ``showing``: the screen has not
        been drawn since it was shown, and the keys wait ``SHOWN_READ_WAIT`` at most)."""
        busy = self._typed_busy_since is not None
        if busy or showing:
            self._key_work = [work for work in self._key_work if not work[0].is_finished]
            until = time.monotonic() + SHOWN_READ_WAIT if showing else None
            self._key_work.append((worker, until))

    @property
    def settled(self) -> bool:
        """No typed key waits and no screen's store call runs: what the keys asked is done
        (tests wait for this)."""
        if self._typed or self._typed_busy_since is not None:
            return False
        return not any(
            worker.name.startswith(STORE_WORK) and not worker.is_finished for worker in self.workers
        )

    def _release_stuck_keys(self) -> None:
        """A safety net: held keys go on after ``SETTLE_TIMEOUT`` whatever happened."""
        busy = self._typed_busy_since
        if busy is not None and time.monotonic() - busy > SETTLE_TIMEOUT:
            self._key_work.clear()
            self._typed_done(self._typed_token, self.screen)

    # ------------------------------------------------------------------ actions

    def action_help(self) -> None:
        from esctui.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_jobs(self) -> None:
        from esctui.ui.screens.jobs import JobsScreen

        if not isinstance(self.screen, JobsScreen):
            self.push_screen(JobsScreen())

    def action_models(self) -> None:
        from esctui.ui.screens.models import ModelsScreen

        if not isinstance(self.screen, ModelsScreen):
            self.push_screen(ModelsScreen())

    async def action_quit(self) -> None:
        """Quit at once when nothing runs; else name the running jobs and ask first."""
        running = self.running_jobs()
        if not running:
            self.exit()
            return
        if self._quitting:  # the question is on screen: a second Ctrl+Q answers yes
            await self._stop_and_quit()
            return
        from esctui.ui.screens.dialogs import ConfirmScreen

        self._quitting = True
        lines = [f"• {safe(job.summary())}: {KEPT_ON_CANCEL.get(job.kind, '')}" for job in running]
        question = (
            f"{plural(len(running), 'job')} still running:\n"
            + "\n".join(lines[:5])
            + (f"\n… and {len(lines) - 5} more" if len(lines) > 5 else "")
            + f"\nQuit and stop {'it' if len(running) == 1 else 'them'}?"
        )

        async def answered(yes: bool | None) -> None:
            self._quitting = False
            if yes:
                await self._stop_and_quit()

        self.push_screen(ConfirmScreen(question, yes_label="Stop and quit"), answered)

    async def _stop_and_quit(self) -> None:
        self.notify("Stopping the running jobs…", timeout=3)
        await self.stop_jobs(self.running_jobs(), STOPPED_BY_QUIT)
        self.exit()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Jobs", "Running and finished imports with their reports", self.action_jobs
        )
        yield SystemCommand("Models", "Upload and list kraken models", self.action_models)
        yield SystemCommand("Help", "Keys of the current screen", self.action_help)
        extra = getattr(screen, "palette_commands", None)
        if extra is not None:
            yield from extra()

    # ------------------------------------------------------------------ jobs

    def running_jobs(self) -> list[RunningJob]:
        """Jobs started in this window that have not ended, oldest first."""
        return [job for job in self.jobs if not job.worker.is_finished]

    def running_job(self, job_id: str) -> RunningJob | None:
        return next((job for job in self.jobs if job.job_id == job_id), None)

    def jobs_for_document(self, document_id: str) -> list[RunningJob]:
        """The running jobs that write into ``document_id``."""
        return [job for job in self.running_jobs() if document_id in job.document_ids()]

    @property
    def progress(self) -> dict[str, JobProgress]:
        """The last progress of every running job, by job id."""
        return {job.job_id: job.progress for job in self.jobs if job.progress}

    def describe_job(self, job_id: str) -> str | None:
        """The live progress line of a running job (None when it does not run here)."""
        job = self.running_job(job_id)
        return job.describe() if job is not None else None

    def start_job(self, work: JobKind, *, show_progress: bool = True) -> RunningJob:
        """Run a job in the background; show its progress window unless told not to."""
        from esctui.jobs.runner import run_job

        job_id = new_id()
        running: RunningJob

        def on_progress(progress: JobProgress) -> None:
            running.update(progress)
            for screen in self.screen_stack:  # the screens below a dialog show it too
                screen.post_message(JobUpdated(progress, running))

        def why_stopped() -> str:
            return running.stop_reason or STOPPED_BY_CLOSE

        async def run() -> Job:
            if get_current_worker().is_cancelled:  # cancelled before it started
                raise asyncio.CancelledError
            return await run_job(
                self.store, work, on_progress, job_id=job_id, cancel_reason=why_stopped
            )

        worker = self.run_worker(run(), name=work.title, group="jobs", exit_on_error=False)
        running = RunningJob(work, worker, job_id)
        self.jobs.append(running)
        if show_progress:
            from esctui.ui.screens.progress import ProgressScreen

            self.push_screen(ProgressScreen(running))
        return running

    def cancel_job(self, job_id: str, reason: str = CANCELLED_BY_USER) -> bool:
        """Cancel a job of this window; False when it does not run here (any more)."""
        job = self.running_job(job_id)
        if job is None or job.worker.is_finished:
            return False
        self.stop(job, reason)
        return True

    def stop(self, job: RunningJob, reason: str = CANCELLED_BY_USER) -> None:
        """Ask a job to stop (it finishes the page it is writing); ``reason`` is recorded."""
        if job.stop_reason is None:
            job.stop_reason = reason
        job.worker.cancel()

    async def stop_jobs(self, jobs: list[RunningJob], reason: str) -> bool:
        """Stop ``jobs`` and wait until they have ended (pages written whole); False if one
        is still running after ``STOP_TIMEOUT`` seconds."""
        for job in jobs:
            self.stop(job, reason)
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(not job.worker.is_finished for job in jobs):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        # The state of the message, not the worker's state now: a quick job is finished
        # already when its RUNNING message comes, and it must be told once.
        if worker.group != "jobs" or event.state not in FINISHED_STATES:
            return
        running = next((job for job in self.jobs if job.worker is worker), None)
        if running is not None:
            self.jobs.remove(running)
        job = worker.result
        if job is None and running is not None:
            try:
                job = self.store.get_job(running.job_id)
            except EsctuiError:
                job = None
        if job is None:
            if worker.error is not None:
                self.notify(f"The job stopped: {safe(worker.error)}", severity="error")
            return
        severity: SeverityLevel = "information"
        if job.status == JobStatus.FAILED.value:
            severity = "error"
        elif job.status == JobStatus.CANCELLED.value or job.report.skipped:
            severity = "warning"
        message = f"{safe(job.title)}: {job.status} — {safe(job.report.summary())}"
        if job.error:
            message += f"\n{safe(job.error)}"
        self.notify(message, severity=severity, timeout=8)
        for screen in self.screen_stack:
            screen.post_message(JobFinished(job))


def run_app(*, data_dir: str | Path | None = None, user: str | None = None) -> int:
    """Open the TUI on the data folder (the CLI's entry point without a sub-command)."""
    try:
        store = Store(resolve_data_dir(data_dir), user=user or "")
    except EsctuiError as error:
        import sys

        print(f"esctui: {printable(error)}", file=sys.stderr)
        return 1
    EsctuiApp(store).run()
    return 0
