"""Messages the app sends to screens about running jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from esctui.domain import Job
    from esctui.jobs.runner import JobProgress


class JobUpdated(Message):
    """A running job made progress."""

    def __init__(self, progress: JobProgress) -> None:
        super().__init__()
        self.progress = progress


class JobFinished(Message):
    """A job ended (done, failed or cancelled)."""

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
