"""Live progress of one job: count, rate, ETA, current item; cancel or send to background."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import ProgressBar, Static

from esctui.domain import Job
from esctui.ui.messages import JobFinished, JobUpdated
from esctui.ui.running import KEPT_ON_CANCEL, RunningJob, job_noun
from esctui.ui.screens.base import EsctuiModalScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.text import safe

SKIPPED_SHOWN = 5


class ProgressScreen(EsctuiModalScreen[None]):
    """Shows one job while it runs, then its summary."""

    BINDINGS = [
        Binding("c", "cancel_job", "Cancel", id="progress.cancel"),
        Binding("b,escape", "background", "Background", key_display="b", id="progress.background"),
        Binding("escape", "close", "Close", id="progress.close"),
        Binding("r", "report", "Full report", id="progress.report"),
    ]

    def __init__(self, job: RunningJob) -> None:
        super().__init__()
        self.job = job
        self.finished_job: Job | None = None
        self.noun = job_noun(job.kind)

    @property
    def running(self) -> bool:
        return self.finished_job is None and not self.job.worker.is_finished

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="progress-dialog"):  # a long error scrolls
            yield Static(safe(self.job.title), id="progress-title", classes="title")
            yield ProgressBar(id="bar", show_eta=False)
            yield Static(safe(self.job.describe()), id="status")
            yield Static(
                f"c cancels the {self.noun}; b keeps it running in the background (j: Jobs).",
                classes="hint",
            )
        yield KeyFooter()

    def on_job_updated(self, message: JobUpdated) -> None:
        if message.job is not self.job or not self.running:
            return
        progress = message.progress
        self.query_one("#progress-title", Static).update(safe(self.job.title))
        self.query_one("#bar", ProgressBar).update(total=progress.total, progress=progress.done)
        self.query_one("#status", Static).update(safe(self.job.describe()))

    def on_job_finished(self, message: JobFinished) -> None:
        job = message.job
        if job.id != self.job.job_id and self.job.worker.result is not job:
            return
        self.finished_job = job
        # A definite bar at the end: a job that failed before it knew its size would spin on.
        self.query_one("#bar", ProgressBar).update(total=max(job.total, 1), progress=job.done)
        lines = [f"{job.status}: {safe(job.report.summary())}"]
        if job.error:
            lines.append(safe(job.error))
        for item in job.report.skipped[:SKIPPED_SHOWN]:
            lines.append(f"skipped {safe(item.name)}: {safe(item.reason)}")
        if len(job.report.skipped) > SKIPPED_SHOWN:
            more = len(job.report.skipped) - SKIPPED_SHOWN
            lines.append(f"… and {more} more (r for the full report)")
        self.query_one("#status", Static).update("\n".join(lines))
        self.query_one(".hint", Static).update("Escape closes; r shows the full report.")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Cancel and Background while the job runs; Close once it has ended."""
        if action in ("cancel_job", "background"):
            return self.running
        if action == "close":
            return not self.running
        return True

    def action_cancel_job(self) -> None:
        self.app.stop(self.job)
        kept = KEPT_ON_CANCEL.get(self.job.kind, "")
        self.query_one("#status", Static).update(f"cancelling… {kept}")

    def action_background(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_report(self) -> None:
        from esctui.ui.screens.jobs import JobsScreen

        job_id = self.finished_job.id if self.finished_job else self.job.job_id
        self.dismiss(None)
        self.app.push_screen(JobsScreen(select=job_id))
