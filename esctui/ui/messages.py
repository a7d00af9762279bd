"""Messages the app sends to screens about running jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from esctui.domain import Job
    from esctui.jobs.runner import JobProgress
    from esctui.ui.running import RunningJob


class JobUpdated(Message):
    """A running job made progress. Sent to every screen of the stack; a screen must cope with
    a job it does not list (not yet, or not any more)."""

    def __init__(self, progress: JobProgress, job: RunningJob) -> None:
        super().__init__()
        self.progress = progress
        self.job = job


class JobFinished(Message):
    """A job ended (done, failed or cancelled)."""

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
