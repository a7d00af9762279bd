"""What the TUI knows about the jobs it runs: the importer, its worker, its last progress, a
progress line with an honest ETA, and why it was stopped if it was.

The job runner below the UI records every cancel as "cancelled by the user"; the TUI knows
better (the user quit, or deleted the document) and writes the true reason after the runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from esctui.ui.widgets.text import printable

if TYPE_CHECKING:
    from textual.worker import Worker

    from esctui.domain import ImportJob
    from esctui.importers.jobs import Importer, JobProgress

CANCELLED_BY_USER = "cancelled by the user"  # what the runner records for every cancel
STOPPED_BY_QUIT = "stopped: you quit esctui while it ran"
STOPPED_BY_DELETE = "stopped: its document was deleted"
STOPPED_BY_CLOSE = "stopped: esctui closed while it ran"

# An ETA needs a few items measured after the first one (the first one also pays for the
# start: reading a manifest, opening connections, loading kraken) and a second of them.
ETA_MIN_ITEMS = 2
ETA_MIN_SECONDS = 1.0

# What a job of each kind is called in sentences, and what stays when it is cancelled.
JOB_NOUNS = {
    "images": "import",
    "pdf": "import",
    "iiif": "import",
    "xml": "import",
    "sequence": "import",
    "export": "export",
    "masks": "line masks job",
    "model": "model upload",
}
KEPT_ON_CANCEL = {
    "images": "pages already imported stay whole",
    "pdf": "pages already imported stay whole",
    "iiif": "pages already imported stay whole; importing again resumes",
    "xml": "pages already imported stay whole",
    "sequence": "documents already imported stay whole",
    "export": "nothing is written: the ZIP or file being written is removed",
    "masks": "pages already done keep their new masks",
    "model": "the model is not added",
}


def job_noun(kind: str) -> str:
    """'import', 'export', 'line masks job'… for the kind of a job."""
    return JOB_NOUNS.get(kind, "job")


def format_seconds(seconds: float) -> str:
    """'9 s', '2 min 05 s', '1 h 04 min'."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass
class EtaEstimate:
    """Rate and time left measured from the first finished item on, not from the start.

    The runner's own rate counts the start (a manifest read, the first connections) as if it
    were work on items, so its first ETA is many times too long: a 15 s import said 2 min.
    """

    first: tuple[float, int] | None = None  # (elapsed, done) when the first item was done
    rate: float | None = None  # items per second, once measured
    seconds_left: float | None = None

    def update(self, progress: JobProgress) -> None:
        if progress.done <= 0:
            return
        if self.first is None:
            self.first = (progress.elapsed, progress.done)
            return
        elapsed = progress.elapsed - self.first[0]
        items = progress.done - self.first[1]
        if items < ETA_MIN_ITEMS or elapsed < ETA_MIN_SECONDS:
            return
        self.rate = items / elapsed
        if progress.total is not None:
            self.seconds_left = max(0, progress.total - progress.done) / self.rate


def describe_progress(progress: JobProgress, eta: EtaEstimate) -> str:
    """One line: '12/40 · 3.1/s · about 9 s left · page12.jpg' (printable)."""
    count = f"{progress.done:,}" + (f"/{progress.total:,}" if progress.total is not None else "")
    parts = [count]
    if eta.rate is not None:
        parts.append(f"{eta.rate:.1f}/s")
    if eta.seconds_left is not None and progress.done != progress.total:
        parts.append(f"about {format_seconds(eta.seconds_left)} left")
    if progress.current:
        parts.append(printable(progress.current))
    return " · ".join(parts)


@dataclass(eq=False)
class RunningJob:
    """One job started by this window and not yet ended."""

    importer: Importer
    worker: Worker[ImportJob]
    job_id: str | None = None  # known from its first progress report
    progress: JobProgress | None = None
    stop_reason: str | None = None  # set when this window stops it
    eta: EtaEstimate = field(default_factory=EtaEstimate)

    @property
    def kind(self) -> str:
        return self.importer.kind

    @property
    def title(self) -> str:
        """The job's title; an IIIF import renames itself once it has read the label."""
        return self.progress.title if self.progress and self.progress.title else self.importer.title

    def document_ids(self) -> set[str]:
        """The documents the job writes to (each one of a sequence of imports too)."""
        ids = {self.importer.document_id} if self.importer.document_id else set()
        for inner in getattr(self.importer, "importers", []):
            if inner.document_id:
                ids.add(inner.document_id)
        return ids

    def update(self, progress: JobProgress) -> None:
        self.job_id = progress.job_id
        self.progress = progress
        self.eta.update(progress)

    def describe(self) -> str:
        """The progress line, or 'starting…' before the first report."""
        return describe_progress(self.progress, self.eta) if self.progress else "starting…"

    def summary(self) -> str:
        """Its title and where it is, for a question: "'IIIF: … into Book' (3/5)"."""
        where = ""
        if self.progress is not None:
            total = self.progress.total
            where = f" ({self.progress.done:,}" + (f"/{total:,}" if total is not None else "") + ")"
        return f"'{printable(self.title)}'{where}"
