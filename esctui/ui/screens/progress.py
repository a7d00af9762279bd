"""Live progress of one import: count, rate, ETA, current item; cancel or send to background."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, ProgressBar, Static
from textual.worker import Worker

from esctui.domain import Job
from esctui.ui.messages import JobFinished, JobUpdated


class ProgressScreen(ModalScreen[None]):
    """Shows one job while it runs, then its summary."""

    BINDINGS = [
        Binding("c", "cancel_job", "Cancel import"),
        Binding("b,escape", "close", "Background / close"),
        Binding("r", "report", "Full report"),
    ]

    def __init__(self, title: str, worker: Worker[Job]) -> None:
        super().__init__()
        self.title_text = title
        self.worker = worker
        self.job_id: str | None = None
        self.finished_job: Job | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="title")
            yield ProgressBar(id="bar", show_eta=False)
            yield Static("starting…", id="status")
            yield Static(
                "c cancels; b keeps it running in the background (see Jobs).", classes="hint"
            )
        yield Footer(compact=True)

    def on_job_updated(self, message: JobUpdated) -> None:
        progress = message.progress
        if self.app.running.get(progress.job_id) is not self.worker:  # type: ignore[attr-defined]
            return
        self.job_id = progress.job_id
        bar = self.query_one("#bar", ProgressBar)
        bar.update(total=progress.total, progress=progress.done)
        self.query_one("#status", Static).update(progress.describe())

    def on_job_finished(self, message: JobFinished) -> None:
        job = message.job
        if job.id != self.job_id and self.worker.result is not job:
            return
        self.finished_job = job
        # A definite bar at the end: a job that failed before it knew its size would spin on.
        self.query_one("#bar", ProgressBar).update(total=max(job.total, 1), progress=job.done)
        lines = [f"{job.status}: {job.report.summary()}"]
        if job.error:
            lines.append(job.error)
        for item in job.report.skipped[:5]:
            lines.append(f"skipped {item.name}: {item.reason}")
        if len(job.report.skipped) > 5:
            lines.append(f"… and {len(job.report.skipped) - 5} more (r for the full report)")
        self.query_one("#status", Static).update("\n".join(lines))
        self.query_one(".hint", Static).update("Escape closes; r shows the full report.")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Cancel leaves the footer (and its key does nothing) once the job has ended."""
        if action == "cancel_job":
            return not self.worker.is_finished
        return True

    def action_cancel_job(self) -> None:
        self.worker.cancel()
        self.query_one("#status", Static).update("cancelling… pages already imported stay whole")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_report(self) -> None:
        from esctui.ui.screens.jobs import JobsScreen

        job_id = self.finished_job.id if self.finished_job else self.job_id
        self.dismiss(None)
        self.app.push_screen(JobsScreen(select=job_id))
