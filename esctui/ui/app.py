"""The esctui Textual application."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker

from esctui.domain import JobStatus, new_id
from esctui.domain.errors import EsctuiError
from esctui.store import Store, resolve_data_dir
from esctui.ui.messages import JobFinished, JobUpdated

if TYPE_CHECKING:
    from esctui.domain import Job
    from esctui.jobs.runner import JobKind, JobProgress


class EsctuiApp(App[int]):
    """Documents, pages, models and imports, by keyboard."""

    TITLE = "esctui"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+j", "jobs", "Jobs", show=False),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.sub_title = str(store.root)
        self.running: dict[str, Worker[Job]] = {}
        self.progress: dict[str, JobProgress] = {}

    def get_default_screen(self) -> Screen:
        """The Documents screen is the bottom of the stack (no blank screen under it)."""
        from esctui.ui.screens.documents import DocumentsScreen

        return DocumentsScreen()

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

    def start_job(self, work: JobKind, *, show_progress: bool = True) -> str:
        """Run a job in the background, show its progress unless told not to; its job id."""
        job_id = new_id()

        def on_progress(progress: JobProgress) -> None:
            self.progress[progress.job_id] = progress
            self.screen.post_message(JobUpdated(progress))

        async def run() -> Job:
            from textual.worker import get_current_worker

            from esctui.jobs.runner import run_job

            if get_current_worker().is_cancelled:  # cancelled before it started
                raise asyncio.CancelledError
            return await run_job(self.store, work, on_progress, job_id=job_id)

        worker = self.run_worker(run(), name=work.title, group="jobs", exit_on_error=False)
        self.running[job_id] = worker
        if show_progress:
            from esctui.ui.screens.progress import ProgressScreen

            self.push_screen(ProgressScreen(work.title, worker))
        return job_id

    def cancel_job(self, job_id: str) -> bool:
        worker = self.running.get(job_id)
        if worker is None or worker.is_finished:
            return False
        worker.cancel()
        return True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "jobs" or not worker.is_finished:
            return
        job_id = next((k for k, w in self.running.items() if w is worker), None)
        if job_id is not None:
            del self.running[job_id]
            self.progress.pop(job_id, None)
        job = worker.result
        if job is None and job_id:
            try:
                job = self.store.get_job(job_id)
            except EsctuiError:
                job = None
        if job is None:
            if worker.error is not None:
                self.notify(f"The import stopped: {worker.error}", severity="error")
            return
        severity: SeverityLevel = "information"
        if job.status == JobStatus.FAILED.value:
            severity = "error"
        elif job.status == JobStatus.CANCELLED.value or job.report.skipped:
            severity = "warning"
        message = f"{job.title}: {job.status} — {job.report.summary()}"
        if job.error:
            message += f"\n{job.error}"
        self.notify(message, severity=severity, timeout=8)
        for screen in self.screen_stack:
            screen.post_message(JobFinished(job))


def run_app(*, data_dir: str | Path | None = None, user: str | None = None) -> int:
    """Open the TUI on the data folder (the CLI's entry point without a sub-command)."""
    try:
        store = Store(resolve_data_dir(data_dir), user=user or "")
    except EsctuiError as error:
        import sys

        print(f"esctui: {error}", file=sys.stderr)
        return 1
    EsctuiApp(store).run()
    return 0
